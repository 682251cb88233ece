//! What a [`Transport`](super::Transport) reports and the state it shows.

use std::time::{Duration, Instant};

use strata_signal::PeerId;
use tokio::sync::mpsc;

use crate::data_channel::Message;
use crate::error::Error;
use crate::track::TrackRemote;

/// Everything a transport reports, in order per peer.
#[derive(Debug)]
#[non_exhaustive]
pub enum TransportEvent {
    /// A peer's channel opened: messages can go both ways.
    PeerConnected {
        /// The peer.
        peer: PeerId,
    },
    /// A peer is gone: it left, closed the connection, or went silent.
    PeerDisconnected {
        /// The peer.
        peer: PeerId,
        /// Why.
        reason: DisconnectReason,
    },
    /// A connection could not be set up or recovered, or was refused.
    PeerFailed {
        /// The peer.
        peer: PeerId,
        /// What went wrong ([`Error::MaxPeersReached`], [`Error::NatTraversalFailed`],
        /// [`Error::ConnectionFailed`], ...).
        error: Error,
    },
    /// A connection lost its path and recovery (ICE restart, then renegotiation) started.
    PeerReconnecting {
        /// The peer.
        peer: PeerId,
        /// Recovery attempts so far, from 1.
        attempt: u32,
    },
    /// A message from a peer.
    Message {
        /// Who sent it.
        peer: PeerId,
        /// The message, text or binary, whole (large ones reassembled).
        message: Message,
    },
    /// A peer started sending a track.
    TrackReceived {
        /// The peer.
        peer: PeerId,
        /// Read its samples from here.
        track: TrackRemote,
    },
    /// A peer's link got worse than the configured thresholds (reported once each time it
    /// crosses them).
    QualityWarning {
        /// The peer.
        peer: PeerId,
        /// The smoothed round-trip time.
        rtt: Option<Duration>,
        /// The share of probes lost recently.
        loss: f64,
    },
    /// The signaling connection dropped; peer-to-peer connections go on, and the client
    /// reconnects.
    SignalingLost,
    /// Back in the room after a signaling loss; missing peers reconnect.
    SignalingRestored,
    /// Signaling stopped for good (kicked, room closed, reconnection given up): existing
    /// connections go on, new ones cannot be made.
    SignalingClosed {
        /// Why.
        reason: Error,
    },
}

/// Why a peer is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// We called [`disconnect_peer`](super::Transport::disconnect_peer).
    Local,
    /// The peer disconnected from us or shut down.
    Remote,
    /// The peer left the room (or its signaling connection dropped while the connection
    /// was not up).
    LeftRoom,
    /// Nothing heard from the peer for `stale_peer_timeout_ms`.
    Stale,
    /// The peer joined again as a new session, which replaces this one.
    Replaced,
    /// The connection closed underneath.
    Closed,
}

/// Where a peer's connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PeerState {
    /// Negotiating or checking connectivity.
    Connecting,
    /// The channel is open.
    Connected,
    /// The path was lost; ICE restart or renegotiation under way.
    Reconnecting,
}

/// A connected (or connecting) peer and its link's metrics.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PeerInfo {
    /// The peer.
    pub peer: PeerId,
    /// Its state.
    pub state: PeerState,
    /// Smoothed round-trip time of the probes transports exchange every
    /// `probe_interval_ms` (`None` until one is answered, and for peers that do not
    /// speak the transport framing, such as browsers on the demo page).
    pub rtt: Option<Duration>,
    /// Variation of the round-trip time (RFC 3550-style smoothed deviation).
    pub jitter: Duration,
    /// Share of recent probes lost (0.0 to 1.0).
    pub loss: f64,
    /// Application bytes sent to the peer.
    pub bytes_sent: u64,
    /// Application bytes received from the peer.
    pub bytes_received: u64,
    /// Messages sent to the peer.
    pub messages_sent: u64,
    /// Messages received from the peer.
    pub messages_received: u64,
    /// Frames from the peer that broke the framing (dropped).
    pub malformed_received: u64,
    /// When the channel opened.
    pub connected_since: Option<Instant>,
    /// Whether the peer speaks the transport framing (splitting large messages, probes).
    pub framed: bool,
}

/// The outcome of a [`broadcast`](super::Transport::broadcast).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BroadcastStats {
    /// Peers the message was handed to.
    pub sent: usize,
    /// Connected peers it could not be sent to (full send buffer, too large, closing).
    pub failed: usize,
}

/// Counters of a transport.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransportStats {
    /// Peer connections created (each attempt, incoming or outgoing, and each full
    /// renegotiation).
    pub connections_created: u64,
    /// Incoming connections refused because `max_peers` was reached.
    pub refused_incoming: u64,
    /// Signaling messages for peers without a link, dropped.
    pub signaling_dropped: u64,
    /// Events dropped because the application dropped [`TransportEvents`].
    pub events_dropped: u64,
    /// Offers that crossed one of ours (glare): rolled back on the polite side, ignored
    /// on the impolite one.
    pub offer_collisions: u64,
}

/// The events of a transport, in order.
#[derive(Debug)]
pub struct TransportEvents {
    pub(crate) events: mpsc::Receiver<TransportEvent>,
}

impl TransportEvents {
    /// The next event; `None` after shutdown (or once the transport is dropped).
    pub async fn recv(&mut self) -> Option<TransportEvent> {
        self.events.recv().await
    }
}
