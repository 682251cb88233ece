//! The mesh task: owns the signaling client, admits and starts links, routes signaling
//! to them, and turns their endings into events.
//!
//! Who connects follows presence, as on the demo page: on joining (and on rejoining after
//! a signaling loss) we connect to everyone in the room we have no link to; a newcomer
//! connects to us. Offers from peers without a link are accepted while fewer than
//! `max_peers` links exist, and refused with a `refused` control message otherwise.
//! A peer whose signaling connection drops keeps its link while the connection is up
//! (signaling is not needed once connected); stale-link detection ends it if the peer
//! is really gone.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use strata_signal::client::{Client, ClientEvent, Events};
use strata_signal::{LeaveReason, Participant, PeerId};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::config::ValidConfig;
use super::events::{DisconnectReason, TransportEvent};
use super::link::{self, LINK_COMMAND_QUEUE, LinkCommand, LinkReport, LinkRequest, LinkSetup};
use super::peer_slot::{Ending, EventSink, LinkStatus, PeerSlot, Registry, lock};
use super::signaling::{Control, parse_control, send_control, transport_session};
use crate::description::{IceCandidateInit, SdpType, SessionDescription};
use crate::error::Error;

/// Link endings waiting for the mesh.
const REPORT_QUEUE: usize = 256;

/// How long a graceful shutdown waits for links to close.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// What the application's handles ask of the mesh.
#[derive(Debug)]
pub(crate) enum MeshCommand {
    Connect {
        peer: PeerId,
        reply: oneshot::Sender<Result<watch::Receiver<LinkStatus>, Error>>,
    },
    Disconnect {
        peer: PeerId,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    /// Something only the peer's link can answer.
    Link {
        peer: PeerId,
        request: LinkRequest,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

pub(crate) struct Mesh {
    pub(crate) me: PeerId,
    pub(crate) config: Arc<ValidConfig>,
    pub(crate) client: Client,
    pub(crate) registry: Arc<Registry>,
    pub(crate) events: EventSink,
    pub(crate) links: JoinSet<()>,
    pub(crate) reports: mpsc::Sender<LinkReport>,
    pub(crate) next_link: u64,
    /// The transport session of every participant in the room (`None`: not a
    /// transport). Bounded by the room's size, which the server limits.
    pub(crate) sessions: HashMap<PeerId, Option<String>>,
    pub(crate) closing: bool,
}

impl Mesh {
    pub(crate) fn new(
        config: Arc<ValidConfig>,
        client: Client,
        registry: Arc<Registry>,
        events: EventSink,
    ) -> (Self, mpsc::Receiver<LinkReport>) {
        let (reports, reports_rx) = mpsc::channel(REPORT_QUEUE);
        let mesh = Self {
            me: client.peer_id().clone(),
            config,
            client,
            registry,
            events,
            links: JoinSet::new(),
            reports,
            next_link: 0,
            sessions: HashMap::new(),
            closing: false,
        };
        (mesh, reports_rx)
    }

    pub(crate) async fn run(
        mut self,
        mut commands: mpsc::Receiver<MeshCommand>,
        mut signaling: Events,
        mut reports: mpsc::Receiver<LinkReport>,
        cancel: CancellationToken,
    ) {
        let participants = self.client.join_result().participants.clone();
        self.joined(&participants).await;
        let mut signaling_open = true;
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                command = commands.recv() => match command {
                    Some(MeshCommand::Shutdown { reply }) => {
                        self.shutdown().await;
                        let _ = reply.send(());
                        return;
                    }
                    Some(command) => self.command(command).await,
                    // Every handle is gone without a shutdown: stop where we are.
                    None => return,
                },
                event = signaling.recv(), if signaling_open => match event {
                    Some(event) => self.signaling(event).await,
                    None => signaling_open = false,
                },
                Some(report) = reports.recv() => self.report(report).await,
                Some(_) = self.links.join_next() => {}
            }
        }
    }

    /// Connects to everyone in `participants` we have no link to (when auto-connecting).
    async fn joined(&mut self, participants: &[Participant]) {
        for participant in participants {
            self.sessions
                .insert(participant.peer_id.clone(), transport_session(participant));
        }
        if !self.config.raw.auto_connect {
            return;
        }
        for participant in participants {
            let peer = &participant.peer_id;
            if *peer == self.me || lock(&self.registry).contains_key(peer) {
                continue;
            }
            if let Err(error) = self.admit(peer.clone(), true) {
                self.events
                    .send(TransportEvent::PeerFailed {
                        peer: peer.clone(),
                        error,
                    })
                    .await;
            }
        }
    }

    /// Starts a link to `peer` if `max_peers` allows.
    fn admit(&mut self, peer: PeerId, initiator: bool) -> Result<Arc<PeerSlot>, Error> {
        let limit = self.config.raw.max_peers;
        if lock(&self.registry).len() >= limit {
            return Err(Error::MaxPeersReached {
                peer,
                limit,
                remote: false,
            });
        }
        self.next_link += 1;
        let (commands, commands_rx) = mpsc::channel(LINK_COMMAND_QUEUE);
        let slot = Arc::new(PeerSlot::new(
            peer.clone(),
            self.next_link,
            commands,
            self.config.probe_interval() * 3,
            Instant::now(),
        ));
        lock(&self.registry).insert(peer.clone(), Arc::clone(&slot));
        let framed = self.sessions.get(&peer).is_some_and(Option::is_some);
        let setup = LinkSetup {
            me: self.me.clone(),
            slot: Arc::clone(&slot),
            initiator,
            framed,
            config: Arc::clone(&self.config),
            client: self.client.clone(),
            events: self.events.clone(),
            reports: self.reports.clone(),
        };
        self.links.spawn(link::run(setup, commands_rx));
        Ok(slot)
    }

    /// Ends the link to `peer` (if any) and reports it.
    async fn end_link(&mut self, peer: &PeerId, ending: Ending) {
        let Some(slot) = lock(&self.registry).remove(peer) else {
            return;
        };
        slot.closing.cancel();
        slot.status.send_replace(LinkStatus::Ended(ending));
        let event = match ending {
            Ending::Disconnected(reason) => TransportEvent::PeerDisconnected {
                peer: peer.clone(),
                reason,
            },
            other => TransportEvent::PeerFailed {
                peer: peer.clone(),
                error: other.into_error(peer),
            },
        };
        self.events.send(event).await;
    }

    fn slot(&self, peer: &PeerId) -> Option<Arc<PeerSlot>> {
        lock(&self.registry).get(peer).cloned()
    }

    fn forward(&self, peer: &PeerId, command: LinkCommand) {
        let delivered = self
            .slot(peer)
            .is_some_and(|slot| slot.commands.try_send(command).is_ok());
        if !delivered {
            self.events
                .counters
                .signaling_dropped
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    async fn command(&mut self, command: MeshCommand) {
        match command {
            MeshCommand::Connect { peer, reply } => {
                let result = self.connect(peer);
                let _ = reply.send(result);
            }
            MeshCommand::Disconnect { peer, reply } => {
                if self.slot(&peer).is_none() {
                    let _ = reply.send(Err(Error::PeerNotFound(peer)));
                    return;
                }
                self.say(&peer, Control::Bye);
                self.end_link(&peer, Ending::Disconnected(DisconnectReason::Local))
                    .await;
                let _ = reply.send(Ok(()));
            }
            MeshCommand::Link { peer, request } => match self.slot(&peer) {
                Some(slot) => {
                    // The link answers the request; a full queue is the caller's error.
                    if let Err(error) = slot.commands.try_send(LinkCommand::Request(request)) {
                        let (mpsc::error::TrySendError::Full(command)
                        | mpsc::error::TrySendError::Closed(command)) = error;
                        if let LinkCommand::Request(request) = command {
                            request
                                .refuse(Error::InvalidState("the peer's link is busy or closing"));
                        }
                    }
                }
                None => request.refuse(Error::PeerNotFound(peer)),
            },
            MeshCommand::Shutdown { .. } => {}
        }
    }

    fn connect(&mut self, peer: PeerId) -> Result<watch::Receiver<LinkStatus>, Error> {
        if self.closing {
            return Err(Error::ShutDown);
        }
        if let Some(slot) = self.slot(&peer) {
            return Ok(slot.status.subscribe());
        }
        let in_room =
            peer != self.me && self.client.participants().iter().any(|p| p.peer_id == peer);
        if !in_room {
            return Err(Error::PeerNotFound(peer));
        }
        if !self.sessions.contains_key(&peer)
            && let Some(participant) = self
                .client
                .participants()
                .into_iter()
                .find(|p| p.peer_id == peer)
        {
            self.sessions
                .insert(peer.clone(), transport_session(&participant));
        }
        Ok(self.admit(peer, true)?.status.subscribe())
    }

    /// Sends a control message without holding up the mesh.
    fn say(&mut self, peer: &PeerId, control: Control) {
        let client = self.client.clone();
        let peer = peer.clone();
        self.links.spawn(async move {
            if let Err(error) = send_control(&client, &peer, control).await {
                tracing::debug!(%peer, %error, ?control, "control message not delivered");
            }
        });
    }

    async fn report(&mut self, report: LinkReport) {
        let current = self
            .slot(&report.peer)
            .is_some_and(|slot| slot.link == report.link);
        if current {
            self.end_link(&report.peer, report.ending).await;
        }
    }

    async fn signaling(&mut self, event: ClientEvent) {
        match event {
            ClientEvent::PeerJoined(participant) => {
                let peer = participant.peer_id.clone();
                let session = transport_session(&participant);
                let previous = self.sessions.insert(peer.clone(), session.clone());
                // The same transport back after a signaling loss keeps its connection;
                // a new run of it, or a browser (which drops its connections when it
                // rejoins), replaces it.
                let same = session.is_some() && previous.flatten() == session;
                if !same && self.slot(&peer).is_some() {
                    self.end_link(&peer, Ending::Disconnected(DisconnectReason::Replaced))
                        .await;
                }
            }
            ClientEvent::PeerLeft(left) => {
                self.sessions.remove(&left.peer_id);
                let keep = left.reason == LeaveReason::Disconnected
                    && self
                        .slot(&left.peer_id)
                        .is_some_and(|slot| slot.is_connected());
                if !keep {
                    self.end_link(
                        &left.peer_id,
                        Ending::Disconnected(DisconnectReason::LeftRoom),
                    )
                    .await;
                }
            }
            ClientEvent::Offer(offer) => self.offer(offer.from, offer.sdp).await,
            ClientEvent::Answer(answer) => {
                let description = SessionDescription {
                    kind: SdpType::Answer,
                    sdp: answer.sdp,
                };
                self.forward(&answer.from, LinkCommand::Description(description));
            }
            ClientEvent::Candidate(candidate) => {
                let init = IceCandidateInit {
                    candidate: candidate.candidate,
                    sdp_mid: candidate.sdp_mid,
                    sdp_mline_index: candidate.sdp_mline_index,
                    username_fragment: None,
                };
                self.forward(&candidate.from, LinkCommand::Candidate(init));
            }
            ClientEvent::Message(message) => match parse_control(&message.data) {
                Some(Control::Bye) => {
                    self.end_link(
                        &message.from,
                        Ending::Disconnected(DisconnectReason::Remote),
                    )
                    .await;
                }
                Some(Control::Reset) => self.forward(&message.from, LinkCommand::Reset),
                Some(Control::Refused { limit }) => {
                    self.end_link(&message.from, Ending::RefusedByPeer { limit })
                        .await;
                }
                None => tracing::debug!(from = %message.from, "ignored a relayed message"),
            },
            ClientEvent::Disconnected { reason } => {
                tracing::info!(%reason, "signaling lost; peer connections go on");
                self.events.send(TransportEvent::SignalingLost).await;
            }
            ClientEvent::Rejoined(joined) => {
                self.events.send(TransportEvent::SignalingRestored).await;
                self.joined(&joined.participants).await;
            }
            ClientEvent::Closed { reason } => {
                self.events
                    .send(TransportEvent::SignalingClosed {
                        reason: Error::SignalingUnavailable(reason),
                    })
                    .await;
            }
            _ => {}
        }
    }

    async fn offer(&mut self, from: PeerId, sdp: String) {
        if self.closing {
            return;
        }
        if self.slot(&from).is_none() {
            match self.admit(from.clone(), false) {
                Ok(_) => {}
                Err(error) => {
                    self.events
                        .counters
                        .refused_incoming
                        .fetch_add(1, Ordering::Relaxed);
                    let limit = self.config.raw.max_peers;
                    self.say(&from, Control::Refused { limit });
                    self.events
                        .send(TransportEvent::PeerFailed { peer: from, error })
                        .await;
                    return;
                }
            }
        }
        let description = SessionDescription {
            kind: SdpType::Offer,
            sdp,
        };
        self.forward(&from, LinkCommand::Description(description));
    }

    /// Graceful shutdown: tells every peer, closes every channel and connection, leaves
    /// the room.
    async fn shutdown(&mut self) {
        self.closing = true;
        let peers: Vec<PeerId> = lock(&self.registry).keys().cloned().collect();
        let mut farewells = JoinSet::new();
        for peer in &peers {
            let client = self.client.clone();
            let to = peer.clone();
            farewells.spawn(async move { send_control(&client, &to, Control::Bye).await });
            if let Some(slot) = self.slot(peer) {
                slot.close_channels().await;
            }
        }
        let _ = tokio::time::timeout(SHUTDOWN_TIMEOUT, farewells.join_all()).await;
        for peer in &peers {
            self.end_link(peer, Ending::Disconnected(DisconnectReason::Local))
                .await;
        }
        let links = std::mem::take(&mut self.links);
        let _ = tokio::time::timeout(SHUTDOWN_TIMEOUT, links.join_all()).await;
        self.client.close().await;
    }
}
