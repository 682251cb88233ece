//! One peer's link: a task that owns its [`PeerConnection`], negotiates it with perfect
//! negotiation over the signaling client, runs its channel readers, probes the link,
//! and recovers it (ICE restart, then a fresh connection) when the path is lost.
//!
//! Per pair of peers, the side with the smaller id is **polite**: an offer that collides
//! with its own makes it roll back and answer; the impolite side ignores the colliding
//! offer. The side that connects (the newcomer to a room, or the caller of
//! `connect_peer`) creates the channel, whose negotiation-needed starts the offer; when
//! both connect at once, the collision resolves to one connection.

use std::sync::Arc;
use std::time::{Duration, Instant};

use strata_signal::client::Client;
use strata_signal::{IceCandidate, PeerId};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use super::config::{CHANNEL_LABEL, ValidConfig};
use super::events::{DisconnectReason, PeerState, TransportEvent};
use super::framing::{FRAMED_PROTOCOL, Frame, Reassembler, encode_probe};
use super::peer_slot::{Ending, EventSink, PeerSlot};
use crate::data_channel::{ChannelEvent, DataChannel, Message};
use crate::description::{IceCandidateInit, SdpType, SessionDescription};
use crate::driver::PeerConnectionStats;
use crate::error::Error;
use crate::events::{IceGatheringState, PeerConnectionEvent, PeerConnectionState, SignalingState};
use crate::peer_connection::{PeerConnection, PeerConnectionEvents};
use crate::track::{TrackLocal, TrackLocalInit};
use crate::transport::signaling::{Control, send_control};

/// Signaling messages and commands waiting for one link. A peer that sends more before
/// its link catches up has the excess dropped (counted in
/// [`TransportStats::signaling_dropped`](super::TransportStats)).
pub const LINK_COMMAND_QUEUE: usize = 256;

/// How long closing a connection may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// What the mesh tells a link.
#[derive(Debug)]
pub(crate) enum LinkCommand {
    Description(SessionDescription),
    Candidate(IceCandidateInit),
    /// The peer started over with a fresh connection: drop ours and wait for its offer.
    Reset,
    Request(LinkRequest),
}

/// What the application asks of one peer's connection.
#[derive(Debug)]
pub(crate) enum LinkRequest {
    AddTrack(TrackLocalInit, oneshot::Sender<Result<TrackLocal, Error>>),
    RemoveTrack(TrackLocal, oneshot::Sender<Result<(), Error>>),
    Stats(oneshot::Sender<Result<PeerConnectionStats, Error>>),
}

impl LinkRequest {
    /// Answers with `error` instead.
    pub(crate) fn refuse(self, error: Error) {
        match self {
            Self::AddTrack(_, reply) => drop(reply.send(Err(error))),
            Self::RemoveTrack(_, reply) => drop(reply.send(Err(error))),
            Self::Stats(reply) => drop(reply.send(Err(error))),
        }
    }

    async fn answer(self, pc: &PeerConnection) {
        match self {
            Self::AddTrack(init, reply) => drop(reply.send(pc.add_track(init).await)),
            Self::RemoveTrack(track, reply) => drop(reply.send(pc.remove_track(&track).await)),
            Self::Stats(reply) => drop(reply.send(pc.stats().await)),
        }
    }
}

/// What a link reports when it ends.
#[derive(Debug)]
pub(crate) struct LinkReport {
    pub(crate) peer: PeerId,
    pub(crate) link: u64,
    pub(crate) ending: Ending,
}

/// How to start a link.
pub(crate) struct LinkSetup {
    pub(crate) me: PeerId,
    pub(crate) slot: Arc<PeerSlot>,
    /// We connect (create the channel and offer) rather than wait for the peer's offer.
    pub(crate) initiator: bool,
    /// The peer is a transport: our channel speaks the framing.
    pub(crate) framed: bool,
    pub(crate) config: Arc<ValidConfig>,
    pub(crate) client: Client,
    pub(crate) events: EventSink,
    pub(crate) reports: mpsc::Sender<LinkReport>,
}

/// The link's task: runs until the connection ends for good or the mesh drops the
/// command queue, then reports how it ended.
pub(crate) async fn run(setup: LinkSetup, mut commands: mpsc::Receiver<LinkCommand>) {
    let mut link = Link {
        pairing: Pairing {
            polite: setup.me.as_str() < setup.slot.peer.as_str(),
            framed: setup.framed,
        },
        peer: setup.slot.peer.clone(),
        slot: setup.slot,
        config: setup.config,
        client: setup.client,
        events: setup.events,
        ignore_offer: false,
        attempt: 0,
        ever_connected: false,
    };
    let mut initiator = setup.initiator;
    let ending = loop {
        let (pc, pc_events) = match PeerConnection::new(link.config.peer.clone()).await {
            Ok(pair) => pair,
            Err(error) => {
                tracing::warn!(peer = %link.peer, %error, "cannot create a peer connection");
                break Ending::Failed("cannot create a peer connection");
            }
        };
        link.events
            .counters
            .connections_created
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut readers = JoinSet::new();
        let outcome = link
            .drive(&pc, pc_events, initiator, &mut commands, &mut readers)
            .await;
        link.slot.channels_lost();
        if tokio::time::timeout(CLOSE_TIMEOUT, pc.close())
            .await
            .is_err()
        {
            tracing::warn!(peer = %link.peer, "closing the connection timed out");
        }
        readers.shutdown().await;
        match outcome {
            Outcome::End(ending) => break ending,
            Outcome::Renegotiate { initiator: next } => {
                tracing::debug!(peer = %link.peer, initiator = next, "starting over with a fresh connection");
                initiator = next;
            }
        }
    };
    let _ = setup
        .reports
        .send(LinkReport {
            peer: link.peer.clone(),
            link: link.slot.link,
            ending,
        })
        .await;
}

enum Outcome {
    End(Ending),
    Renegotiate { initiator: bool },
}

struct Link {
    peer: PeerId,
    pairing: Pairing,
    slot: Arc<PeerSlot>,
    config: Arc<ValidConfig>,
    client: Client,
    events: EventSink,
    /// The last offer was ignored (a collision on the impolite side): its candidates may
    /// fail to apply.
    ignore_offer: bool,
    /// Recovery attempts since the connection was last up.
    attempt: u32,
    ever_connected: bool,
}

/// Who we are to the peer.
#[derive(Debug, Clone, Copy)]
struct Pairing {
    /// We have the smaller id: we roll back on a collision.
    polite: bool,
    /// The peer is a transport (frames, probes, fresh connections).
    framed: bool,
}

/// Where one connection stands, for the link's timers.
struct Progress {
    started: Instant,
    ice_connected: bool,
    connected_now: bool,
    next_probe: Instant,
    /// Since when the path is lost (ICE disconnected or failed).
    lost_since: Option<Instant>,
    /// When the next recovery step is due, while the path is lost.
    next_recovery: Option<Instant>,
}

impl Link {
    async fn drive(
        &mut self,
        pc: &PeerConnection,
        mut pc_events: PeerConnectionEvents,
        initiator: bool,
        commands: &mut mpsc::Receiver<LinkCommand>,
        readers: &mut JoinSet<()>,
    ) -> Outcome {
        if initiator {
            let mut options = self.config.raw.channel.options();
            if self.pairing.framed {
                FRAMED_PROTOCOL.clone_into(&mut options.protocol);
            }
            match pc.create_data_channel(CHANNEL_LABEL, options).await {
                Ok(channel) => self.attach(channel, readers),
                Err(error) => {
                    tracing::warn!(peer = %self.peer, %error, "cannot create the channel");
                    return Outcome::End(Ending::Failed("cannot create the channel"));
                }
            }
        }
        let mut tick =
            tokio::time::interval(self.config.probe_interval().min(Duration::from_millis(250)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let now = Instant::now();
        let mut progress = Progress {
            started: now,
            ice_connected: false,
            connected_now: false,
            next_probe: now,
            lost_since: None,
            next_recovery: None,
        };
        if self.ever_connected {
            // A fresh connection after a lost one: still lost until it comes up, and
            // recovery goes on if it does not.
            progress.lost_since = Some(now);
            progress.next_recovery = Some(now + self.recovery_delay());
        }
        loop {
            let outcome = tokio::select! {
                () = self.slot.closing.cancelled() => {
                    Some(Outcome::End(Ending::Disconnected(DisconnectReason::Local)))
                }
                command = commands.recv() => match command {
                    Some(command) => self.command(pc, command).await,
                    None => Some(Outcome::End(Ending::Disconnected(DisconnectReason::Local))),
                },
                event = pc_events.recv() => match event {
                    Some(PeerConnectionEvent::ConnectionStateChange(state)) => {
                        self.state_changed(&mut progress, state)
                    }
                    Some(event) => {
                        self.event(pc, event, readers).await;
                        None
                    }
                    None => Some(Outcome::End(Ending::Disconnected(DisconnectReason::Closed))),
                },
                // A closed channel alone ends nothing: a peer that closes says so (a
                // `bye`), and one that vanishes goes stale.
                Some(_) = readers.join_next() => None,
                _ = tick.tick() => self.tick(pc, &mut progress).await,
            };
            if let Some(outcome) = outcome {
                return outcome;
            }
        }
    }

    async fn command(&mut self, pc: &PeerConnection, command: LinkCommand) -> Option<Outcome> {
        match command {
            LinkCommand::Description(description) => self.description(pc, description).await,
            LinkCommand::Candidate(candidate) => {
                if let Err(error) = pc.add_ice_candidate(candidate).await
                    && !self.ignore_offer
                {
                    tracing::debug!(peer = %self.peer, %error, "the peer's candidate was refused");
                }
            }
            LinkCommand::Reset => return Some(Outcome::Renegotiate { initiator: false }),
            LinkCommand::Request(request) => request.answer(pc).await,
        }
        None
    }

    fn state_changed(
        &mut self,
        progress: &mut Progress,
        state: PeerConnectionState,
    ) -> Option<Outcome> {
        match state {
            PeerConnectionState::Connected => {
                progress.ice_connected = true;
                progress.connected_now = true;
                progress.lost_since = None;
                progress.next_recovery = None;
                self.ever_connected = true;
                self.attempt = 0;
                if self.slot.is_connected() {
                    self.slot.set_state(PeerState::Connected);
                }
            }
            PeerConnectionState::Disconnected | PeerConnectionState::Failed => {
                progress.connected_now = false;
                progress.lost_since.get_or_insert_with(Instant::now);
                if progress.next_recovery.is_none() {
                    progress.next_recovery = Some(Instant::now() + self.recovery_delay());
                }
                if self.slot.is_connected() {
                    self.slot.set_state(PeerState::Reconnecting);
                }
            }
            PeerConnectionState::Closed => {
                return Some(Outcome::End(Ending::Disconnected(DisconnectReason::Closed)));
            }
            PeerConnectionState::New | PeerConnectionState::Connecting => {}
        }
        None
    }

    /// The link's timers: setup timeout, stale peer, probes and quality, recovery.
    async fn tick(&mut self, pc: &PeerConnection, progress: &mut Progress) -> Option<Outcome> {
        let now = Instant::now();
        if !self.ever_connected
            && now.duration_since(progress.started) > self.config.connection_timeout()
        {
            return Some(Outcome::End(if progress.ice_connected {
                Ending::Failed("the connection did not come up in time")
            } else {
                Ending::NatTraversal
            }));
        }
        // Stale: a transport answers probes, so silence means it is gone; a browser may
        // stay silent for long, so only a path lost for that long counts.
        let stale = self.config.stale_timeout();
        let silent = self.slot.is_framed() && self.slot.silent_for(now) > stale;
        let lost = progress
            .lost_since
            .is_some_and(|since| now.duration_since(since) > stale);
        if self.slot.is_connected() && (silent || lost) {
            return Some(Outcome::End(Ending::Disconnected(DisconnectReason::Stale)));
        }
        if now >= progress.next_probe && progress.connected_now {
            progress.next_probe = now + self.config.probe_interval();
            self.slot.probe(now).await;
            let thresholds = self.config.raw.quality;
            if let Some((rtt, loss)) = self.slot.quality_crossed(
                now,
                thresholds.max_loss,
                Duration::from_millis(thresholds.max_rtt_ms),
            ) {
                self.events
                    .send(TransportEvent::QualityWarning {
                        peer: self.peer.clone(),
                        rtt,
                        loss,
                    })
                    .await;
            }
        }
        let due = progress.next_recovery.is_some_and(|due| now >= due);
        if !due {
            return None;
        }
        match self.recover(pc).await {
            Recovery::Wait => {
                progress.next_recovery = Some(now + self.recovery_delay());
                None
            }
            Recovery::Renegotiate => Some(Outcome::Renegotiate { initiator: true }),
            Recovery::GiveUp => Some(Outcome::End(if self.ever_connected {
                Ending::Failed("the connection was lost and could not be recovered")
            } else {
                Ending::NatTraversal
            })),
        }
    }

    /// The wait before the next recovery step; the polite side waits twice as long so
    /// the impolite one's restart usually comes first.
    fn recovery_delay(&self) -> Duration {
        let delay = self.config.raw.reconnect.delay(self.attempt);
        if self.pairing.polite {
            delay * 2
        } else {
            delay
        }
    }

    /// One recovery step: ICE restarts first, then a fresh connection (which the
    /// impolite side of two transports starts), until the policy gives up.
    async fn recover(&mut self, pc: &PeerConnection) -> Recovery {
        let reconnect = &self.config.raw.reconnect;
        if self.attempt >= reconnect.max_attempts {
            return Recovery::GiveUp;
        }
        self.attempt += 1;
        self.events
            .send(TransportEvent::PeerReconnecting {
                peer: self.peer.clone(),
                attempt: self.attempt,
            })
            .await;
        if self.attempt <= reconnect.ice_restarts {
            tracing::debug!(peer = %self.peer, attempt = self.attempt, "restarting ICE");
            if let Err(error) = pc.restart_ice().await {
                tracing::debug!(peer = %self.peer, %error, "ICE restart refused");
            }
            return Recovery::Wait;
        }
        if !self.pairing.framed {
            // A browser on the demo page cannot follow a fresh connection under the same
            // link; ICE restarts were all we could try.
            return Recovery::GiveUp;
        }
        if self.pairing.polite {
            // The impolite side starts the fresh connection.
            return Recovery::Wait;
        }
        if let Err(error) = send_control(&self.client, &self.peer, Control::Reset).await {
            tracing::debug!(peer = %self.peer, %error, "cannot announce a fresh connection");
            return Recovery::Wait;
        }
        Recovery::Renegotiate
    }

    /// Perfect negotiation, the receiving half.
    async fn description(&mut self, pc: &PeerConnection, description: SessionDescription) {
        let offer = description.kind == SdpType::Offer;
        let collision = offer && pc.signaling_state() != SignalingState::Stable;
        if collision {
            self.events
                .counters
                .offer_collisions
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        self.ignore_offer = !self.pairing.polite && collision;
        if self.ignore_offer {
            tracing::debug!(peer = %self.peer, "offer collision: ignoring the peer's offer");
            return;
        }
        if collision
            && let Err(error) = pc
                .set_local_description(SessionDescription::rollback())
                .await
        {
            tracing::warn!(peer = %self.peer, %error, "cannot roll back our offer");
            return;
        }
        let kind = description.kind;
        if let Err(error) = pc.set_remote_description(description).await {
            tracing::warn!(peer = %self.peer, %error, ?kind, "the peer's description was refused");
            return;
        }
        if offer {
            match local_sdp(pc).await {
                Ok(sdp) => {
                    if let Err(error) = self.client.send_answer(self.peer.clone(), sdp).await {
                        tracing::debug!(peer = %self.peer, %error, "cannot send our answer");
                    }
                }
                Err(error) => tracing::warn!(peer = %self.peer, %error, "cannot answer"),
            }
        }
    }

    async fn event(
        &mut self,
        pc: &PeerConnection,
        event: PeerConnectionEvent,
        readers: &mut JoinSet<()>,
    ) {
        match event {
            PeerConnectionEvent::NegotiationNeeded => {
                // Perfect negotiation, the sending half: events are handled one at a
                // time, so no description of the peer's is applied while we offer.
                if pc.signaling_state() != SignalingState::Stable {
                    return;
                }
                match local_sdp(pc).await {
                    Ok(sdp) => {
                        if let Err(error) = self.client.send_offer(self.peer.clone(), sdp).await {
                            tracing::debug!(peer = %self.peer, %error, "cannot send our offer");
                        }
                    }
                    Err(error) => tracing::warn!(peer = %self.peer, %error, "cannot make an offer"),
                }
            }
            PeerConnectionEvent::IceCandidate(candidate) => {
                self.signal_candidate(IceCandidate {
                    candidate: candidate.candidate,
                    sdp_mid: candidate.sdp_mid,
                    sdp_mline_index: candidate.sdp_mline_index,
                })
                .await;
            }
            PeerConnectionEvent::IceGatheringStateChange(IceGatheringState::Complete) => {
                self.signal_candidate(IceCandidate::end_of_candidates(None, None))
                    .await;
            }
            PeerConnectionEvent::DataChannel(channel) if channel.label() == CHANNEL_LABEL => {
                self.attach(channel, readers);
            }
            PeerConnectionEvent::DataChannel(channel) => {
                tracing::debug!(peer = %self.peer, label = channel.label(), "refused a channel of another label");
                let _ = channel.close().await;
            }
            PeerConnectionEvent::Track(track) => {
                self.events
                    .send(TransportEvent::TrackReceived {
                        peer: self.peer.clone(),
                        track,
                    })
                    .await;
            }
            _ => {}
        }
    }

    async fn signal_candidate(&self, candidate: IceCandidate) {
        if let Err(error) = self
            .client
            .send_candidate(self.peer.clone(), candidate)
            .await
        {
            tracing::debug!(peer = %self.peer, %error, "cannot send a candidate");
        }
    }

    fn attach(&self, channel: DataChannel, readers: &mut JoinSet<()>) {
        readers.spawn(read_channel(
            channel,
            Arc::clone(&self.slot),
            self.events.clone(),
            self.config.raw.max_message_size,
        ));
    }
}

enum Recovery {
    Wait,
    Renegotiate,
    GiveUp,
}

/// Applies the description the state calls for and returns its SDP.
async fn local_sdp(pc: &PeerConnection) -> Result<String, Error> {
    pc.set_local_description_implicit().await?;
    let description = pc.local_description().await?;
    Ok(description.map(|d| d.sdp).unwrap_or_default())
}

/// Reads one channel until it closes: reports the peer connected at the first open,
/// delivers messages (reassembling split ones), answers probes.
async fn read_channel(channel: DataChannel, slot: Arc<PeerSlot>, events: EventSink, limit: usize) {
    let framed = channel.protocol() == FRAMED_PROTOCOL;
    let mut reassembler = Reassembler::new(limit);
    let mut opened = false;
    let open = async |opened: &mut bool| {
        if !*opened {
            *opened = true;
            if slot.channel_opened(&channel, framed, Instant::now()) {
                events
                    .send(TransportEvent::PeerConnected {
                        peer: slot.peer.clone(),
                    })
                    .await;
            }
        }
    };
    // A channel the peer opened is open already and reports no `Open`.
    if channel.state() == crate::data_channel::ChannelState::Open {
        open(&mut opened).await;
    }
    loop {
        let message = match channel.recv().await {
            Some(ChannelEvent::Open) => {
                open(&mut opened).await;
                continue;
            }
            Some(ChannelEvent::Message(message)) => message,
            Some(ChannelEvent::Closed(_)) | None => break,
            Some(_) => continue,
        };
        let now = Instant::now();
        slot.heard(now);
        if !framed {
            slot.received(&message);
            let peer = slot.peer.clone();
            events.send(TransportEvent::Message { peer, message }).await;
            continue;
        }
        let Message::Binary(frame) = message else {
            slot.malformed();
            continue;
        };
        match reassembler.handle_frame(&frame) {
            Ok(Frame::Message(message)) => {
                slot.received(&message);
                let peer = slot.peer.clone();
                events.send(TransportEvent::Message { peer, message }).await;
            }
            Ok(Frame::Piece) => {}
            Ok(Frame::Probe(seq)) => {
                let _ = channel.send(encode_probe(seq, true)).await;
            }
            Ok(Frame::ProbeAnswer(seq)) => slot.probe_answered(now, seq),
            Err(error) => {
                tracing::debug!(peer = %slot.peer, %error, "malformed frame dropped");
                slot.malformed();
            }
        }
    }
}
