//! One peer as the transport's handles see it: the channel to send on, its counters and
//! link quality, and the link task's command queue. Shared by the mesh task, the link
//! task, the channel readers and the application's sends; no lock is held across an
//! `.await`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use strata_datachannel as dc;
use strata_signal::PeerId;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::events::{DisconnectReason, PeerInfo, PeerState, TransportEvent, TransportStats};
use super::framing::{FIRST_HEADER, encode_pieces, encode_probe, encode_whole};
use super::link::LinkCommand;
use super::quality::ProbeTracker;
use crate::data_channel::{ChannelState, DataChannel, Message};
use crate::error::Error;

/// Locks a mutex whose data stays consistent even if a holder panicked.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How a link ended, as [`connect_peer`](super::Transport::connect_peer) reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    Disconnected(DisconnectReason),
    RefusedByPeer { limit: usize },
    NatTraversal,
    Failed(&'static str),
}

impl Ending {
    pub(crate) fn into_error(self, peer: &PeerId) -> Error {
        match self {
            Self::Disconnected(_) => Error::ConnectionFailed {
                peer: peer.clone(),
                reason: "the connection closed before it came up",
            },
            Self::RefusedByPeer { limit } => Error::MaxPeersReached {
                peer: peer.clone(),
                limit,
                remote: true,
            },
            Self::NatTraversal => Error::NatTraversalFailed { peer: peer.clone() },
            Self::Failed(reason) => Error::ConnectionFailed {
                peer: peer.clone(),
                reason,
            },
        }
    }
}

/// The link's progress, watched by callers of `connect_peer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LinkStatus {
    Connecting,
    Connected,
    Ended(Ending),
}

/// Where events go: the application's bounded queue. A full queue makes the sender
/// wait (the channel readers then stop reading, which backpressures the peer); a dropped
/// one counts what is lost.
#[derive(Debug, Clone)]
pub(crate) struct EventSink {
    pub(crate) events: mpsc::Sender<TransportEvent>,
    pub(crate) counters: Arc<SharedCounters>,
}

impl EventSink {
    pub(crate) async fn send(&self, event: TransportEvent) {
        if self.events.send(event).await.is_err() {
            self.counters.events_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Transport-wide counters.
#[derive(Debug, Default)]
pub(crate) struct SharedCounters {
    pub(crate) connections_created: AtomicU64,
    pub(crate) refused_incoming: AtomicU64,
    pub(crate) signaling_dropped: AtomicU64,
    pub(crate) events_dropped: AtomicU64,
    pub(crate) offer_collisions: AtomicU64,
}

impl SharedCounters {
    pub(crate) fn snapshot(&self) -> TransportStats {
        TransportStats {
            connections_created: self.connections_created.load(Ordering::Relaxed),
            refused_incoming: self.refused_incoming.load(Ordering::Relaxed),
            signaling_dropped: self.signaling_dropped.load(Ordering::Relaxed),
            events_dropped: self.events_dropped.load(Ordering::Relaxed),
            offer_collisions: self.offer_collisions.load(Ordering::Relaxed),
        }
    }
}

/// Every peer with a link, by id.
pub(crate) type Registry = Mutex<HashMap<PeerId, Arc<PeerSlot>>>;

#[derive(Clone)]
struct Outgoing {
    channel: DataChannel,
    framed: bool,
}

struct Quality {
    state: PeerState,
    connected_since: Option<Instant>,
    last_heard: Instant,
    probes: ProbeTracker,
    warned: bool,
}

/// One peer.
pub(crate) struct PeerSlot {
    pub(crate) peer: PeerId,
    pub(crate) link: u64,
    pub(crate) commands: mpsc::Sender<LinkCommand>,
    pub(crate) status: watch::Sender<LinkStatus>,
    /// Cancelled when the mesh ends the link.
    pub(crate) closing: CancellationToken,
    outgoing: Mutex<Option<Outgoing>>,
    quality: Mutex<Quality>,
    connected: AtomicBool,
    /// The peer's `max-message-size` once a send learned it (0: not yet).
    remote_limit: AtomicUsize,
    /// Serializes split sends, whose pieces must not interleave.
    split_sends: tokio::sync::Mutex<()>,
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
    messages_sent: AtomicU64,
    messages_received: AtomicU64,
    malformed_received: AtomicU64,
}

impl std::fmt::Debug for PeerSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerSlot")
            .field("peer", &self.peer)
            .field("link", &self.link)
            .field("connected", &self.is_connected())
            .finish_non_exhaustive()
    }
}

impl PeerSlot {
    pub(crate) fn new(
        peer: PeerId,
        link: u64,
        commands: mpsc::Sender<LinkCommand>,
        probe_expiry: Duration,
        now: Instant,
    ) -> Self {
        Self {
            peer,
            link,
            commands,
            status: watch::Sender::new(LinkStatus::Connecting),
            closing: CancellationToken::new(),
            outgoing: Mutex::new(None),
            quality: Mutex::new(Quality {
                state: PeerState::Connecting,
                connected_since: None,
                last_heard: now,
                probes: ProbeTracker::new(probe_expiry),
                warned: false,
            }),
            connected: AtomicBool::new(false),
            remote_limit: AtomicUsize::new(0),
            split_sends: tokio::sync::Mutex::new(()),
            bytes_sent: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
            messages_sent: AtomicU64::new(0),
            messages_received: AtomicU64::new(0),
            malformed_received: AtomicU64::new(0),
        }
    }

    /// A channel opened: the first one carries our sends. Returns whether the peer just
    /// became connected (report it).
    pub(crate) fn channel_opened(&self, channel: &DataChannel, framed: bool, now: Instant) -> bool {
        {
            let mut outgoing = lock(&self.outgoing);
            let usable = outgoing
                .as_ref()
                .is_some_and(|o| o.channel.state() == ChannelState::Open);
            if !usable {
                *outgoing = Some(Outgoing {
                    channel: channel.clone(),
                    framed,
                });
            }
        }
        {
            let mut quality = lock(&self.quality);
            quality.state = PeerState::Connected;
            quality.last_heard = now;
            quality.connected_since.get_or_insert(now);
        }
        let first = !self.connected.swap(true, Ordering::AcqRel);
        if first {
            self.status.send_replace(LinkStatus::Connected);
        }
        first
    }

    /// The connection is gone (renegotiation or end): nothing to send on until a new
    /// channel opens.
    pub(crate) fn channels_lost(&self) {
        *lock(&self.outgoing) = None;
    }

    pub(crate) fn set_state(&self, state: PeerState) {
        lock(&self.quality).state = state;
    }

    /// Whether the channel we send on speaks the transport framing.
    pub(crate) fn is_framed(&self) -> bool {
        lock(&self.outgoing).as_ref().is_some_and(|o| o.framed)
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    /// Something arrived from the peer.
    pub(crate) fn heard(&self, now: Instant) {
        lock(&self.quality).last_heard = now;
    }

    pub(crate) fn silent_for(&self, now: Instant) -> Duration {
        now.saturating_duration_since(lock(&self.quality).last_heard)
    }

    pub(crate) fn received(&self, message: &Message) {
        self.messages_received.fetch_add(1, Ordering::Relaxed);
        self.bytes_received
            .fetch_add(message.len() as u64, Ordering::Relaxed);
    }

    pub(crate) fn malformed(&self) {
        self.malformed_received.fetch_add(1, Ordering::Relaxed);
    }

    /// Sends a probe if the peer speaks the framing; best effort.
    pub(crate) async fn probe(&self, now: Instant) {
        let Some(out) = lock(&self.outgoing).clone().filter(|o| o.framed) else {
            return;
        };
        let seq = lock(&self.quality).probes.probe_sent(now);
        let _ = out.channel.send(encode_probe(seq, false)).await;
    }

    /// Handles the answer to a probe.
    pub(crate) fn probe_answered(&self, now: Instant, seq: u32) {
        lock(&self.quality).probes.handle_answer(now, seq);
    }

    /// Whether quality just crossed a threshold (report once per crossing), with the
    /// figures to report.
    pub(crate) fn quality_crossed(
        &self,
        now: Instant,
        max_loss: f64,
        max_rtt: Duration,
    ) -> Option<(Option<Duration>, f64)> {
        let mut quality = lock(&self.quality);
        let rtt = quality.probes.rtt();
        let loss = quality.probes.loss(now);
        let bad = loss > max_loss || rtt.is_some_and(|rtt| rtt > max_rtt);
        let report = bad && !quality.warned;
        quality.warned = bad;
        report.then_some((rtt, loss))
    }

    pub(crate) fn info(&self, now: Instant) -> PeerInfo {
        let framed = lock(&self.outgoing).as_ref().is_some_and(|o| o.framed);
        let quality = lock(&self.quality);
        PeerInfo {
            peer: self.peer.clone(),
            state: quality.state,
            rtt: quality.probes.rtt(),
            jitter: quality.probes.jitter(),
            loss: quality.probes.loss(now),
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
            bytes_received: self.bytes_received.load(Ordering::Relaxed),
            messages_sent: self.messages_sent.load(Ordering::Relaxed),
            messages_received: self.messages_received.load(Ordering::Relaxed),
            malformed_received: self.malformed_received.load(Ordering::Relaxed),
            connected_since: quality.connected_since,
            framed,
        }
    }

    /// Sends one application message: whole when it fits the peer's `max-message-size`,
    /// split when it does not and the channel is reliable and ordered (and the peer
    /// reassembles), refused otherwise.
    pub(crate) async fn send(
        &self,
        message: Message,
        max_message_size: usize,
    ) -> Result<(), Error> {
        let size = message.len();
        if size > max_message_size {
            return Err(Error::MessageTooLarge {
                size,
                limit: max_message_size,
            });
        }
        let out = lock(&self.outgoing)
            .clone()
            .ok_or(Error::InvalidState("the channel to this peer is not open"))?;
        let reliable = is_reliable_ordered(&out.channel);
        if !out.framed {
            send_waiting(&out.channel, message, reliable).await?;
            self.sent(size);
            return Ok(());
        }
        let whole = encode_whole(&message);
        let known = self.remote_limit.load(Ordering::Relaxed);
        if known == 0 || whole.len() <= known {
            match send_waiting(&out.channel, Message::Binary(whole), reliable).await {
                Ok(()) => {
                    self.sent(size);
                    return Ok(());
                }
                Err(Error::MessageTooLarge { limit, .. }) => {
                    self.remote_limit.store(limit, Ordering::Relaxed);
                }
                Err(error) => return Err(error),
            }
        }
        let limit = self.remote_limit.load(Ordering::Relaxed);
        if !reliable || limit <= FIRST_HEADER {
            return Err(Error::MessageTooLarge {
                size,
                limit: limit.saturating_sub(1),
            });
        }
        let _order = self.split_sends.lock().await;
        for piece in encode_pieces(&message, limit) {
            send_waiting(&out.channel, Message::Binary(piece), true).await?;
        }
        self.sent(size);
        Ok(())
    }

    fn sent(&self, size: usize) {
        self.messages_sent.fetch_add(1, Ordering::Relaxed);
        self.bytes_sent.fetch_add(size as u64, Ordering::Relaxed);
    }

    /// Closes every channel we send on (graceful shutdown).
    pub(crate) async fn close_channels(&self) {
        let out = lock(&self.outgoing).take();
        if let Some(out) = out {
            let _ = out.channel.close().await;
        }
    }
}

fn is_reliable_ordered(channel: &DataChannel) -> bool {
    let options = channel.options();
    options.ordered && options.max_retransmits.is_none() && options.max_packet_life_time.is_none()
}

/// How long a send waits for a full send buffer to drain before giving up on the peer.
pub const SEND_STALL_LIMIT: Duration = Duration::from_secs(30);

/// Sends one message; on a reliable channel a full send buffer is waited out (up to
/// [`SEND_STALL_LIMIT`]), on an unreliable one it is an error (the message is dropped: it
/// would be stale).
async fn send_waiting(channel: &DataChannel, message: Message, wait: bool) -> Result<(), Error> {
    loop {
        match channel.send_message(message.clone()).await {
            Ok(()) => return Ok(()),
            Err(Error::DataChannel(dc::Error::MessageTooLarge { size, limit })) => {
                return Err(Error::MessageTooLarge { size, limit });
            }
            Err(Error::DataChannel(dc::Error::SendBufferFull { buffered, .. })) if wait => {
                channel.set_buffered_amount_low_threshold(buffered / 2)?;
                tokio::time::timeout(SEND_STALL_LIMIT, channel.buffered_amount_low())
                    .await
                    .map_err(|_| Error::InvalidState("the peer stopped taking data"))??;
            }
            Err(error) => return Err(error),
        }
    }
}
