//! The application's handle on a peer connection.

use std::fmt;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::config::Configuration;
use crate::data_channel::{ChannelOptions, DataChannel};
use crate::description::{IceCandidateInit, SessionDescription};
use crate::driver::{Command, Driver, PeerConnectionStats, Reply, Shared};
use crate::error::Error;
use crate::events::{
    IceConnectionState, IceGatheringState, PeerConnectionEvent, PeerConnectionState, SignalingState,
};
use crate::track::{TrackLocal, TrackLocalInit};

/// Commands waiting for the driver.
const COMMAND_QUEUE: usize = 64;

/// A WebRTC peer connection (W3C `RTCPeerConnection`).
///
/// Cheap to clone; every clone drives the same connection, whose work runs in one task.
/// Events arrive on the [`PeerConnectionEvents`] returned with it, and must be read (the
/// connection pauses while they queue up). Dropping every clone closes the connection, as
/// does [`close`](Self::close).
#[derive(Clone)]
pub struct PeerConnection {
    commands: mpsc::Sender<Command>,
    shared: Arc<Shared>,
}

impl fmt::Debug for PeerConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let states = self.shared.states();
        f.debug_struct("PeerConnection")
            .field("connection", &states.connection)
            .field("signaling", &states.signaling)
            .finish_non_exhaustive()
    }
}

/// A handle that does not keep its [`PeerConnection`] open, from
/// [`PeerConnection::downgrade`]: for tasks and callbacks that act on a connection for as
/// long as the application holds it, such as one forwarding the remote side's candidates.
#[derive(Clone, Debug)]
pub struct WeakPeerConnection {
    commands: mpsc::WeakSender<Command>,
    shared: std::sync::Weak<Shared>,
}

impl WeakPeerConnection {
    /// The connection, unless every [`PeerConnection`] handle was dropped.
    pub fn upgrade(&self) -> Option<PeerConnection> {
        Some(PeerConnection {
            commands: self.commands.upgrade()?,
            shared: self.shared.upgrade()?,
        })
    }
}

/// The events of one peer connection, in order.
#[derive(Debug)]
pub struct PeerConnectionEvents {
    events: mpsc::Receiver<Box<PeerConnectionEvent>>,
}

impl PeerConnectionEvents {
    /// The next event; `None` once the connection is closed and every event was read.
    pub async fn recv(&mut self) -> Option<PeerConnectionEvent> {
        self.events.recv().await.map(|event| *event)
    }
}

impl PeerConnection {
    /// Creates a connection: binds its UDP socket and starts its task. Nothing is sent
    /// until a local description is set.
    pub async fn new(config: Configuration) -> Result<(Self, PeerConnectionEvents), Error> {
        let (commands_tx, commands_rx) = mpsc::channel(COMMAND_QUEUE);
        let (events_tx, events_rx) = mpsc::channel(config.event_queue.max(1));
        let shared = Arc::new(Shared::new());
        let driver = Driver::new(config, Arc::clone(&shared), commands_rx, events_tx).await?;
        tokio::spawn(driver.run());
        Ok((
            Self {
                commands: commands_tx,
                shared,
            },
            PeerConnectionEvents { events: events_rx },
        ))
    }

    /// A handle that does not keep the connection open.
    pub fn downgrade(&self) -> WeakPeerConnection {
        WeakPeerConnection {
            commands: self.commands.downgrade(),
            shared: Arc::downgrade(&self.shared),
        }
    }

    async fn request<T>(&self, command: impl FnOnce(Reply<T>) -> Command) -> Result<T, Error> {
        let (reply, result) = oneshot::channel();
        self.commands
            .send(command(reply))
            .await
            .map_err(|_| Error::Closed)?;
        result.await.map_err(|_| Error::Closed)?
    }

    /// Creates an offer for what the connection carries (call
    /// [`set_local_description`](Self::set_local_description) with it).
    pub async fn create_offer(&self) -> Result<SessionDescription, Error> {
        self.request(Command::CreateOffer).await
    }

    /// Creates an answer to the remote offer.
    pub async fn create_answer(&self) -> Result<SessionDescription, Error> {
        self.request(Command::CreateAnswer).await
    }

    /// Applies a local description (an offer, answer, or rollback). The first one starts
    /// candidate gathering.
    pub async fn set_local_description(
        &self,
        description: SessionDescription,
    ) -> Result<(), Error> {
        self.request(|reply| Command::SetLocalDescription(Some(Box::new(description)), reply))
            .await
    }

    /// Creates and applies the description the state calls for: an answer when the peer
    /// offered, an offer otherwise (W3C `setLocalDescription()` without arguments).
    pub async fn set_local_description_implicit(&self) -> Result<(), Error> {
        self.request(|reply| Command::SetLocalDescription(None, reply))
            .await
    }

    /// Applies the peer's description (offer, answer, or rollback). An offer that arrives
    /// while ours is pending rolls ours back first.
    pub async fn set_remote_description(
        &self,
        description: SessionDescription,
    ) -> Result<(), Error> {
        self.request(|reply| Command::SetRemoteDescription(Box::new(description), reply))
            .await
    }

    /// Adds a candidate the peer trickled; before or after its description.
    pub async fn add_ice_candidate(&self, candidate: IceCandidateInit) -> Result<(), Error> {
        self.request(|reply| Command::AddIceCandidate(Box::new(candidate), reply))
            .await
    }

    /// Creates a data channel. Before the connection is up it is `Connecting`; the first
    /// channel makes [`PeerConnectionEvent::NegotiationNeeded`] fire.
    pub async fn create_data_channel(
        &self,
        label: impl Into<String>,
        options: ChannelOptions,
    ) -> Result<DataChannel, Error> {
        let label = label.into();
        self.request(|reply| Command::CreateDataChannel(Box::new((label, options)), reply))
            .await
    }

    /// Adds an audio or video track to send (W3C `addTrack`). Like the first data
    /// channel, it makes [`PeerConnectionEvent::NegotiationNeeded`] fire: its media section
    /// joins the BUNDLE with the next offer, on a new connection or a connected one. When
    /// the peer's offer brought a section of the same kind we do not send on yet, the
    /// track takes it (so an answer can carry it).
    ///
    /// The track sends once negotiated and connected; write samples encoded in
    /// [`TrackLocal::codec`].
    pub async fn add_track(&self, init: TrackLocalInit) -> Result<TrackLocal, Error> {
        self.request(|reply| Command::AddTrack(Box::new(init), reply))
            .await
    }

    /// Stops sending a track (W3C `removeTrack` + `stop`): an RTCP BYE for its streams
    /// now, and its section is rejected with the next exchange, which
    /// [`PeerConnectionEvent::NegotiationNeeded`] asks for. The peer's track ends.
    pub async fn remove_track(&self, track: &TrackLocal) -> Result<(), Error> {
        let id = track.id;
        self.request(|reply| Command::RemoveTrack(id, reply)).await
    }

    /// Restarts ICE with fresh credentials; negotiate again afterwards.
    pub async fn restart_ice(&self) -> Result<(), Error> {
        self.request(Command::RestartIce).await
    }

    /// The current local description, with every candidate gathered so far (after
    /// gathering completes, what a peer that does not trickle needs).
    pub async fn local_description(&self) -> Result<Option<SessionDescription>, Error> {
        self.request(Command::LocalDescription).await
    }

    /// The current remote description.
    pub async fn remote_description(&self) -> Result<Option<SessionDescription>, Error> {
        self.request(Command::RemoteDescription).await
    }

    /// Waits until candidate gathering is complete (or the connection closes).
    pub async fn gathering_complete(&self) {
        let mut gathering = self.shared.gathering.subscribe();
        let _ = gathering
            .wait_for(|state| *state == IceGatheringState::Complete)
            .await;
    }

    /// Counters of every layer.
    pub async fn stats(&self) -> Result<PeerConnectionStats, Error> {
        self.request(Command::Stats).await
    }

    /// The aggregate state.
    pub fn connection_state(&self) -> PeerConnectionState {
        self.shared.states().connection
    }

    /// The ICE connection state.
    pub fn ice_connection_state(&self) -> IceConnectionState {
        self.shared.states().ice_connection
    }

    /// The gathering state.
    pub fn ice_gathering_state(&self) -> IceGatheringState {
        self.shared.states().ice_gathering
    }

    /// The signaling state.
    pub fn signaling_state(&self) -> SignalingState {
        self.shared.states().signaling
    }

    /// Closes the connection: channels, DTLS and ICE, every task and the socket. Idempotent.
    pub async fn close(&self) {
        let _ = self.request(Command::Close).await;
    }
}
