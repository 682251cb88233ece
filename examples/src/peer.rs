//! Reading a connection's events, and the data-channel chores both examples share.

use std::time::Duration;

use strata::{
    ChannelCloseReason, ChannelEvent, DataChannel, Message, PeerConnectionEvent,
    PeerConnectionEvents, PeerConnectionState,
};
use tokio::sync::{mpsc, watch};

/// How many channels the peer opened that wait for the application; the connection's
/// events pause (and with them the peer's new channels) while they are not taken.
pub const CHANNEL_QUEUE: usize = 16;

/// Above this many bytes waiting to be sent on a channel, a sender waits for the channel
/// to drain to [`LOW_WATER`] before it sends more (backpressure instead of an unbounded
/// send buffer).
pub const HIGH_WATER: usize = 1024 * 1024;

/// The buffered amount a waiting sender resumes at.
pub const LOW_WATER: usize = 256 * 1024;

/// How long a connection may take from applying the remote description to its first
/// channel being open.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long candidate gathering may take (STUN and TURN servers that do not answer are
/// given up on well before).
pub const GATHERING_TIMEOUT: Duration = Duration::from_secs(30);

/// What the event pump hands to the application.
#[derive(Debug)]
pub struct PeerEvents {
    /// The aggregate connection state, as last reported.
    pub state: watch::Receiver<PeerConnectionState>,
    /// Data channels the peer opened. Drop it to refuse them (each is closed).
    pub channels: mpsc::Receiver<DataChannel>,
}

/// Reads every event of a connection on a task of its own (a connection pauses while its
/// events go unread): logs candidates errors and state changes to stderr, publishes the
/// connection state, and forwards the channels the peer opens. The task ends with the
/// connection.
pub fn spawn_event_pump(mut events: PeerConnectionEvents) -> PeerEvents {
    let (state_tx, state) = watch::channel(PeerConnectionState::New);
    let (channels_tx, channels) = mpsc::channel(CHANNEL_QUEUE);
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            match event {
                PeerConnectionEvent::ConnectionStateChange(new) => {
                    tracing::info!(state = ?new, "connection state");
                    state_tx.send_replace(new);
                }
                PeerConnectionEvent::IceConnectionStateChange(new) => {
                    tracing::debug!(state = ?new, "ICE connection state");
                }
                PeerConnectionEvent::IceGatheringStateChange(new) => {
                    tracing::debug!(state = ?new, "ICE gathering state");
                }
                PeerConnectionEvent::IceServerError { server, reason } => {
                    tracing::warn!(%server, %reason, "ICE server unusable");
                }
                PeerConnectionEvent::IceCandidate(candidate) => {
                    // Not trickled: the description sent after gathering carries it.
                    tracing::debug!(candidate = %candidate.candidate, "local candidate");
                }
                PeerConnectionEvent::DataChannel(channel) => {
                    tracing::info!(label = channel.label(), "the peer opened a channel");
                    // When the application refused channels, this one is dropped: closed.
                    let _ = channels_tx.send(channel).await;
                }
                _ => {}
            }
        }
        state_tx.send_replace(PeerConnectionState::Closed);
    });
    PeerEvents { state, channels }
}

/// Resolves when the connection has failed or closed, with that state.
pub async fn ended(state: &mut watch::Receiver<PeerConnectionState>) -> PeerConnectionState {
    let ended = |s: &PeerConnectionState| {
        matches!(s, PeerConnectionState::Failed | PeerConnectionState::Closed)
    };
    match state.wait_for(ended).await {
        Ok(state) => *state,
        Err(_) => PeerConnectionState::Closed,
    }
}

/// Waits until `channel` is open. `Err` carries why it never opened.
pub async fn wait_open(channel: &DataChannel) -> Result<(), Option<ChannelCloseReason>> {
    loop {
        match channel.recv().await {
            Some(ChannelEvent::Open) => return Ok(()),
            Some(ChannelEvent::Closed(reason)) => return Err(Some(reason)),
            None => return Err(None),
            // A message before the open cannot come (the peer's first message is what
            // acknowledges the open); low-buffer notices are of no interest here.
            Some(_) => {}
        }
    }
}

/// Sends `message` once the channel has room: above [`HIGH_WATER`] buffered bytes it first
/// waits for the buffer to drain to [`LOW_WATER`].
pub async fn send_with_backpressure(
    channel: &DataChannel,
    message: Message,
) -> Result<(), strata::Error> {
    if channel.buffered_amount() > HIGH_WATER {
        channel.set_buffered_amount_low_threshold(LOW_WATER)?;
        channel.buffered_amount_low().await?;
    }
    channel.send_message(message).await
}

/// Sends every message that arrives on `channel` back on it unchanged (text as text,
/// binary as binary) until the channel closes; returns how many it echoed and why the
/// channel closed.
pub async fn echo(
    channel: DataChannel,
) -> Result<(u64, Option<ChannelCloseReason>), strata::Error> {
    let mut echoed = 0;
    loop {
        match channel.recv().await {
            Some(ChannelEvent::Message(message)) => {
                send_with_backpressure(&channel, message).await?;
                echoed += 1;
            }
            Some(ChannelEvent::Closed(reason)) => return Ok((echoed, Some(reason))),
            None => return Ok((echoed, None)),
            // The open (already past for a channel the peer opened), low-buffer notices.
            Some(_) => {}
        }
    }
}
