//! [`Transport`]: many peers through one object. It joins a room of a `strata` signaling
//! server, connects to every other participant (a full mesh forms by itself), accepts
//! their connections up to `max_peers`, sends and broadcasts messages, carries tracks,
//! watches each link's quality, and recovers from lost paths and lost signaling.
//!
//! ```
//! use strata::{Message, Transport, TransportConfig, TransportEvent};
//! use strata_server::{Server, ServerConfig};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A signaling server in this process (dev mode: no room tokens).
//! let server = Server::start(ServerConfig {
//!     listen: "127.0.0.1:0".parse()?,
//!     dev_mode: true,
//!     ..ServerConfig::default()
//! })
//! .await?;
//!
//! let mut config = TransportConfig::new(server.ws_url(), "lobby");
//! config.include_loopback = true; // both peers run on this machine
//! let (alice, mut alice_events) = Transport::new(config.clone())?;
//! let (bob, mut bob_events) = Transport::new(config)?;
//! alice.start().await?;
//! bob.start().await?; // the newcomer connects to everyone in the room
//!
//! // Alice learns of Bob's connection from her events, and greets him.
//! let bob_id = loop {
//!     if let Some(TransportEvent::PeerConnected { peer }) = alice_events.recv().await {
//!         break peer;
//!     }
//! };
//! alice.send_text_to_peer(&bob_id, "hello").await?;
//! let (from, message) = loop {
//!     if let Some(TransportEvent::Message { peer, message }) = bob_events.recv().await {
//!         break (peer, message);
//!     }
//! };
//! assert_eq!(Some(from), alice.peer_id());
//! assert_eq!(message, Message::Text("hello".into()));
//! assert_eq!(bob.broadcast(&b"to everyone"[..]).await.sent, 1);
//!
//! alice.shutdown().await; // tells Bob, closes the connection, leaves the room
//! bob.shutdown().await;
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Game developers keep the configuration next to their binary:
//! [`TransportConfig::from_file`] reads JSON or TOML (`p2p_config.json`), and
//! [`Transport::new`] refuses anything that cannot work, naming the field.
//!
//! The crate's integration tests (a mesh of eight, glare, crashes, a server restart) each
//! run against a real server started in-process.
//!
//! # How it works
//!
//! One task (the mesh) owns the `strata-signal` client; one task per peer (its link)
//! owns that peer's [`PeerConnection`](crate::PeerConnection). Links negotiate with
//! perfect negotiation (the polite side, the one with the smaller peer id, rolls back
//! on a collision), so two transports connecting to each other at once end up with one
//! connection. Sends go straight from the caller to the peer's data channel.
//!
//! Wire compatibility with the server's demo page: the channel is labelled
//! [`CHANNEL_LABEL`] (`"chat"`), offers, answers and candidates have the page's shapes,
//! and the join metadata carries `{"name": ...}`. Two transports recognise each other
//! from their join metadata and give their channel the sub-protocol
//! [`FRAMED_PROTOCOL`], whose frames add splitting of large messages and round-trip
//! probes; toward a browser, messages go raw (and [`PeerInfo::rtt`] stays `None`).
//!
//! # Recovery
//!
//! - A connection that loses its path (ICE `disconnected` after `ice_timeout_ms`) is
//!   retried with ICE restarts, then — between two transports — with a fresh connection
//!   (the impolite side announces it with a `reset` control message), waiting
//!   exponentially longer between attempts ([`ReconnectConfig`]); when the policy gives
//!   up the peer is reported [`TransportEvent::PeerFailed`].
//! - A peer nothing was heard from (no message, no probe answer) for
//!   `stale_peer_timeout_ms` is reported disconnected and removed.
//! - When the signaling connection drops, peer connections go on; the client
//!   reconnects with backoff and rejoins under the same id, and the mesh connects to
//!   whoever it is missing.
//!
//! # Bounds
//!
//! Events wait in a queue of `TransportConfig`-independent size [`EVENT_QUEUE`]; while it
//! is full, channel readers stop reading (backpressure to the peers). Each link's
//! signaling queue holds [`LINK_COMMAND_QUEUE`] messages (excess dropped and counted in
//! [`TransportStats::signaling_dropped`]). A split message is reassembled up to
//! `max_message_size` bytes, one at a time per channel. Links are at most `max_peers`.
//!
//! # Where it departs from expectations
//!
//! - Tracks added with [`Transport::add_track`] live on the peer's current connection:
//!   a fresh connection after a failed recovery carries data only until they are added
//!   again.
//! - Browser peers get ICE restarts but no fresh connection (the demo page cannot follow
//!   one).

mod config;
mod events;
mod framing;
mod link;
mod mesh;
mod peer_slot;
mod quality;
mod signaling;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use strata_signal::ReconnectPolicy;
use strata_signal::client::{Client, ClientConfig};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

#[cfg(feature = "fuzzing")]
pub(crate) use config::fuzz_config;
pub use config::{
    CHANNEL_LABEL, ChannelMode, IceServerEntry, MAX_CONFIG_FILE, MAX_DURATION_MS,
    QualityThresholds, ReconnectConfig, TransportConfig, Urls,
};
pub use events::{
    BroadcastStats, DisconnectReason, PeerInfo, PeerState, TransportEvent, TransportEvents,
    TransportStats,
};
pub use framing::FRAMED_PROTOCOL;
#[cfg(feature = "fuzzing")]
pub(crate) use framing::fuzz_reassembler;
pub use link::LINK_COMMAND_QUEUE;
pub use peer_slot::SEND_STALL_LIMIT;
pub use strata_signal::PeerId;

use crate::data_channel::Message;
use crate::driver::PeerConnectionStats;
use crate::error::Error;
use crate::track::{TrackLocal, TrackLocalInit};
use config::ValidConfig;
use link::LinkRequest;
use mesh::{Mesh, MeshCommand};
use peer_slot::{EventSink, LinkStatus, PeerSlot, Registry, SharedCounters, lock};

/// Events waiting for the application.
pub const EVENT_QUEUE: usize = 4096;

/// The largest `max_peers` accepted.
pub const MAX_PEERS_LIMIT: usize = 1024;

/// Commands waiting for the mesh task.
const COMMAND_QUEUE: usize = 64;

/// A multi-peer transport: one room, one connection per other participant.
///
/// Cheap to clone; every clone is the same transport. Dropping the last clone without
/// [`shutdown`](Self::shutdown) stops everything at once (the others see the
/// connections go silent or close).
#[derive(Clone, Debug)]
pub struct Transport {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Arc<ValidConfig>,
    registry: Arc<Registry>,
    counters: Arc<SharedCounters>,
    lifecycle: Mutex<Lifecycle>,
    cancel: CancellationToken,
}

#[derive(Debug)]
enum Lifecycle {
    Created(mpsc::Sender<TransportEvent>),
    Starting,
    Running {
        me: PeerId,
        commands: mpsc::Sender<MeshCommand>,
    },
    ShutDown,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl Transport {
    /// Checks `config` and creates the transport; nothing connects until
    /// [`start`](Self::start). Invalid configuration is
    /// [`Error::InvalidTransportConfig`] naming the field.
    pub fn new(config: TransportConfig) -> Result<(Self, TransportEvents), Error> {
        let config = Arc::new(config.into_valid()?);
        let (events_tx, events) = mpsc::channel(EVENT_QUEUE);
        let inner = Inner {
            config,
            registry: Arc::new(Mutex::new(HashMap::new())),
            counters: Arc::new(SharedCounters::default()),
            lifecycle: Mutex::new(Lifecycle::Created(events_tx)),
            cancel: CancellationToken::new(),
        };
        Ok((
            Self {
                inner: Arc::new(inner),
            },
            TransportEvents { events },
        ))
    }

    /// Joins the room and starts the mesh: connects to everyone there (with
    /// `auto_connect`) and accepts connections. [`Error::SignalingUnavailable`] when the
    /// server cannot be reached or refuses the join.
    pub async fn start(&self) -> Result<(), Error> {
        let events = {
            let mut lifecycle = lock(&self.inner.lifecycle);
            match std::mem::replace(&mut *lifecycle, Lifecycle::Starting) {
                Lifecycle::Created(events) => events,
                Lifecycle::ShutDown => {
                    *lifecycle = Lifecycle::ShutDown;
                    return Err(Error::ShutDown);
                }
                other => {
                    *lifecycle = other;
                    return Err(Error::InvalidState("the transport is already started"));
                }
            }
        };
        let config = &self.inner.config;
        let raw = &config.raw;
        let mut client_config = ClientConfig::new(raw.signaling_url.clone(), config.room.clone());
        let session = format!("{:016x}", rand::random::<u64>());
        let peer_id =
            match config.peer_id.clone() {
                Some(id) => id,
                None => PeerId::new(format!("peer-{:012x}", rand::random::<u64>() >> 16)).map_err(
                    |e| Error::InvalidTransportConfig {
                        field: "peer_id",
                        reason: e.to_string(),
                    },
                )?,
            };
        let name = raw.name.clone().unwrap_or_else(|| peer_id.to_string());
        client_config.session.peer_id = Some(peer_id);
        client_config.session.token.clone_from(&raw.token);
        client_config.session.metadata = Some(signaling::join_metadata(&name, &session));
        client_config.connect_timeout = config.connection_timeout();
        client_config.reconnect = ReconnectPolicy {
            initial_delay: Duration::from_millis(raw.reconnect.initial_delay_ms),
            max_delay: Duration::from_millis(raw.reconnect.max_delay_ms),
            multiplier: raw.reconnect.multiplier,
            max_attempts: raw.reconnect.signaling_max_attempts,
            ..ReconnectPolicy::default()
        };
        let (client, signaling) = match Client::connect(client_config).await {
            Ok(connected) => connected,
            Err(error) => {
                *lock(&self.inner.lifecycle) = Lifecycle::Created(events);
                return Err(Error::SignalingUnavailable(error));
            }
        };
        let me = client.peer_id().clone();
        let sink = EventSink {
            events,
            counters: Arc::clone(&self.inner.counters),
        };
        let (mesh, reports) = Mesh::new(
            Arc::clone(config),
            client,
            Arc::clone(&self.inner.registry),
            sink,
        );
        let (commands, commands_rx) = mpsc::channel(COMMAND_QUEUE);
        tokio::spawn(mesh.run(commands_rx, signaling, reports, self.inner.cancel.clone()));
        *lock(&self.inner.lifecycle) = Lifecycle::Running { me, commands };
        Ok(())
    }

    /// Our id in the room, once started.
    pub fn peer_id(&self) -> Option<PeerId> {
        match &*lock(&self.inner.lifecycle) {
            Lifecycle::Running { me, .. } => Some(me.clone()),
            _ => None,
        }
    }

    fn commands(&self) -> Result<mpsc::Sender<MeshCommand>, Error> {
        match &*lock(&self.inner.lifecycle) {
            Lifecycle::Running { commands, .. } => Ok(commands.clone()),
            Lifecycle::ShutDown => Err(Error::ShutDown),
            _ => Err(Error::InvalidState("the transport is not started")),
        }
    }

    async fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<Result<T, Error>>) -> MeshCommand,
    ) -> Result<T, Error> {
        let (reply, result) = oneshot::channel();
        self.commands()?
            .send(command(reply))
            .await
            .map_err(|_| Error::ShutDown)?;
        result.await.map_err(|_| Error::ShutDown)?
    }

    fn slot(&self, peer: &PeerId) -> Result<Arc<PeerSlot>, Error> {
        self.commands()?;
        lock(&self.inner.registry)
            .get(peer)
            .cloned()
            .ok_or_else(|| Error::PeerNotFound(peer.clone()))
    }

    /// Connects to `peer` (a participant of the room) and waits until its channel is
    /// open, or returns at once when it is. Two transports calling this for each other
    /// at the same time get one connection.
    ///
    /// Errors: [`Error::PeerNotFound`] (not in the room), [`Error::MaxPeersReached`]
    /// (ours, or the peer's refusal), [`Error::NatTraversalFailed`],
    /// [`Error::ConnectionFailed`] (including `connection_timeout_ms` passing).
    pub async fn connect_peer(&self, peer: &PeerId) -> Result<PeerId, Error> {
        let mut status = self
            .ask(|reply| MeshCommand::Connect {
                peer: peer.clone(),
                reply,
            })
            .await?;
        // The link enforces the connection timeout; the margin covers its last step.
        let limit = self.inner.config.connection_timeout() + Duration::from_secs(5);
        let settled =
            tokio::time::timeout(limit, status.wait_for(|s| *s != LinkStatus::Connecting)).await;
        match settled {
            Ok(Ok(state)) => match *state {
                LinkStatus::Connected => Ok(peer.clone()),
                LinkStatus::Ended(ending) => Err(ending.into_error(peer)),
                LinkStatus::Connecting => Err(Error::ConnectionFailed {
                    peer: peer.clone(),
                    reason: "the connection did not come up in time",
                }),
            },
            Ok(Err(_)) => Err(Error::ConnectionFailed {
                peer: peer.clone(),
                reason: "the link ended",
            }),
            Err(_) => Err(Error::ConnectionFailed {
                peer: peer.clone(),
                reason: "the connection did not come up in time",
            }),
        }
    }

    /// Sends binary data to one peer (split and reassembled when larger than the peer's
    /// `max-message-size`, on a reliable ordered channel between transports).
    pub async fn send_to_peer(&self, peer: &PeerId, data: impl Into<Bytes>) -> Result<(), Error> {
        self.send_message_to_peer(peer, Message::Binary(data.into()))
            .await
    }

    /// Sends text to one peer (what the demo page's browsers read: `{"text": "..."}`).
    pub async fn send_text_to_peer(
        &self,
        peer: &PeerId,
        text: impl Into<String>,
    ) -> Result<(), Error> {
        self.send_message_to_peer(peer, Message::Text(text.into()))
            .await
    }

    /// Sends one message to one peer. [`Error::MessageTooLarge`] for a message above
    /// `max_message_size`, or above the peer's `max-message-size` where it cannot be
    /// split (unreliable channels, browsers).
    pub async fn send_message_to_peer(&self, peer: &PeerId, message: Message) -> Result<(), Error> {
        let slot = self.slot(peer)?;
        slot.send(message, self.inner.config.raw.max_message_size)
            .await
    }

    /// Sends binary data to every connected peer.
    pub async fn broadcast(&self, data: impl Into<Bytes>) -> BroadcastStats {
        self.broadcast_message(Message::Binary(data.into())).await
    }

    /// Sends text to every connected peer.
    pub async fn broadcast_text(&self, text: impl Into<String>) -> BroadcastStats {
        self.broadcast_message(Message::Text(text.into())).await
    }

    /// Sends one message to every connected peer; peers still connecting are skipped.
    pub async fn broadcast_message(&self, message: Message) -> BroadcastStats {
        let slots: Vec<Arc<PeerSlot>> = lock(&self.inner.registry)
            .values()
            .filter(|slot| slot.is_connected())
            .cloned()
            .collect();
        let mut stats = BroadcastStats::default();
        for slot in slots {
            match slot
                .send(message.clone(), self.inner.config.raw.max_message_size)
                .await
            {
                Ok(()) => stats.sent += 1,
                Err(error) => {
                    tracing::debug!(peer = %slot.peer, %error, "broadcast not sent");
                    stats.failed += 1;
                }
            }
        }
        stats
    }

    /// Every peer with a link (connected, connecting or reconnecting), by id, with its
    /// metrics.
    pub fn list_peers(&self) -> Vec<PeerInfo> {
        let now = Instant::now();
        let mut peers: Vec<PeerInfo> = lock(&self.inner.registry)
            .values()
            .map(|slot| slot.info(now))
            .collect();
        peers.sort_by(|a, b| a.peer.cmp(&b.peer));
        peers
    }

    /// Closes the connection to `peer` (it is told, and reports
    /// [`DisconnectReason::Remote`]). [`Error::PeerNotFound`] when there is none.
    pub async fn disconnect_peer(&self, peer: &PeerId) -> Result<(), Error> {
        self.ask(|reply| MeshCommand::Disconnect {
            peer: peer.clone(),
            reply,
        })
        .await
    }

    /// Adds an audio or video track toward `peer` and returns once it is negotiated on
    /// the peer's connection, ready for [`TrackLocal::write_sample`] (in the codec
    /// [`TrackLocal::codec`] names); the peer reports [`TransportEvent::TrackReceived`]
    /// when the first sample arrives. [`Error::ConnectionFailed`] when negotiation does
    /// not finish within `connection_timeout_ms`.
    pub async fn add_track(
        &self,
        peer: &PeerId,
        init: TrackLocalInit,
    ) -> Result<TrackLocal, Error> {
        let track = self
            .ask(|reply| MeshCommand::Link {
                peer: peer.clone(),
                request: LinkRequest::AddTrack(init, reply),
            })
            .await?;
        let failed = |reason| Error::ConnectionFailed {
            peer: peer.clone(),
            reason,
        };
        let negotiated =
            tokio::time::timeout(self.inner.config.connection_timeout(), track.negotiated()).await;
        let failure = match negotiated {
            Ok(Ok(_)) => return Ok(track),
            Ok(Err(_)) => failed("the connection closed before the track was negotiated"),
            Err(_) => failed("the track was not negotiated in time"),
        };
        // The caller never gets the track: take it off the connection again.
        let _ = self.remove_track(peer, &track).await;
        Err(failure)
    }

    /// Stops sending `track` to `peer` and takes its section out of the connection (one
    /// more negotiation, which the link runs); the peer's `TrackRemote` ends.
    /// [`Error::PeerNotFound`] when there is no connection to `peer`.
    pub async fn remove_track(&self, peer: &PeerId, track: &TrackLocal) -> Result<(), Error> {
        self.ask(|reply| MeshCommand::Link {
            peer: peer.clone(),
            request: LinkRequest::RemoveTrack(track.clone(), reply),
        })
        .await
    }

    /// The full statistics of the connection to `peer`: ICE, DTLS, SCTP, and every audio
    /// and video stream (`inbound-rtp`, `outbound-rtp`, `remote-inbound-rtp`).
    /// [`Error::PeerNotFound`] when there is no connection.
    pub async fn peer_stats(&self, peer: &PeerId) -> Result<PeerConnectionStats, Error> {
        self.ask(|reply| MeshCommand::Link {
            peer: peer.clone(),
            request: LinkRequest::Stats(reply),
        })
        .await
    }

    /// Counters.
    pub fn stats(&self) -> TransportStats {
        self.inner.counters.snapshot()
    }

    /// Shuts down gracefully: tells every peer, closes every channel and connection,
    /// leaves the room. The event stream ends. Idempotent.
    pub async fn shutdown(&self) {
        let commands = {
            let mut lifecycle = lock(&self.inner.lifecycle);
            match std::mem::replace(&mut *lifecycle, Lifecycle::ShutDown) {
                Lifecycle::Running { commands, .. } => Some(commands),
                _ => None,
            }
        };
        if let Some(commands) = commands {
            let (reply, done) = oneshot::channel();
            if commands.send(MeshCommand::Shutdown { reply }).await.is_ok() {
                let _ = done.await;
            }
        }
        self.inner.cancel.cancel();
    }
}
