//! One peer connection to one other participant of the room, negotiated over the
//! signaling server with "perfect negotiation", the way the demo page does it.
//!
//! A [`PeerLink`] is a task that owns the [`PeerConnection`]: it applies the peer's
//! descriptions and candidates, sends ours through the signaling [`Client`], and runs the
//! `chat` channels. Per pair of participants:
//!
//! - The **newcomer** (the one that found the other already in the room) creates the
//!   `chat` channel; the offer that follows starts the negotiation.
//! - The side with the smaller peer id is **polite**. An offer that collides with our
//!   own (we are not `stable`) is ignored by the impolite side; the polite side rolls its
//!   own offer back and answers.
//! - Candidates are trickled with `sdp_mid`/`sdp_mline_index`, and an empty candidate
//!   ends them once gathering is complete.
//!
//! Everything the link observes goes to the room as [`LinkEvent`]s. Each channel has a
//! reader (messages out to the room) and a writer (lines in from the room through a
//! bounded queue, sent with backpressure). Dropping the [`PeerLink`] closes the
//! connection.

use std::fmt;
use std::time::Duration;

use strata::{
    ChannelEvent, ChannelOptions, ChannelState, Configuration, DataChannel, IceCandidateInit,
    IceGatheringState, Message, PeerConnection, PeerConnectionEvent, PeerConnectionEvents,
    PeerConnectionState, SdpType, SessionDescription, SignalingState,
};
use strata_signal::client::Client;
use strata_signal::{IceCandidate, PeerId, RelayedCandidate};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::chat_message::{CHAT_LABEL, decode_chat};
use crate::error::Error;
use crate::peer::send_with_backpressure;

/// Signaling messages (descriptions, candidates) waiting for one link. A peer that sends
/// more than this before its link catches up has the excess refused ([`Refused::Full`]),
/// which the room drops, counts and reports; the room never waits for a link.
pub const SIGNALING_QUEUE: usize = 256;

/// Chat lines waiting to be sent on one channel. When a peer does not keep up, further
/// lines for it are dropped and counted by the room; the others still get them.
pub const OUTGOING_QUEUE: usize = 256;

/// How long a flush waits for what was sent on a channel to be acknowledged.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// How long closing a connection may take before the link gives up on it.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Names one link; a peer that leaves and comes back gets a new one, so events of the
/// old link can be told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(pub u64);

impl fmt::Display for LinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "link {}", self.0)
    }
}

/// What the room hands to one of a link's channel writers.
#[derive(Debug)]
pub enum Outgoing {
    /// An encoded chat message to send.
    Chat(String),
    /// Resolve once everything queued before has been sent and acknowledged (or
    /// [`FLUSH_TIMEOUT`] passed).
    Flush(oneshot::Sender<()>),
}

/// What a link reports to the room.
#[derive(Debug)]
pub struct LinkEvent {
    /// The link it comes from.
    pub link: LinkId,
    /// The participant at the other end.
    pub peer: PeerId,
    /// What happened.
    pub kind: LinkEventKind,
}

/// The things a link reports.
#[derive(Debug)]
#[non_exhaustive]
pub enum LinkEventKind {
    /// A `chat` channel opened: lines for this peer go into `outgoing`.
    ChannelOpen {
        /// The channel's number within the link.
        channel: u64,
        /// Its writer's queue.
        outgoing: mpsc::Sender<Outgoing>,
    },
    /// A `chat` channel closed.
    ChannelClosed {
        /// The channel's number within the link.
        channel: u64,
    },
    /// A chat line arrived.
    Chat(String),
    /// A message that is not a chat line arrived; it was skipped.
    Malformed(Error),
    /// The connection's aggregate state changed.
    State(PeerConnectionState),
    /// Something went wrong that the link survives (a description or candidate refused,
    /// a signaling request failed, a channel of another label refused).
    Problem(String),
    /// The link ended: its connection is closed.
    Ended,
}

/// A command from the room to a link.
#[derive(Debug)]
enum Command {
    Description(SessionDescription),
    Candidate(IceCandidateInit),
}

/// Why the room could not hand a signaling message to a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Its queue is full ([`SIGNALING_QUEUE`]).
    Full,
    /// The link has ended.
    Ended,
}

/// The room's handle on a link's task. Dropping it closes the connection.
#[derive(Debug)]
pub struct PeerLink {
    id: LinkId,
    commands: mpsc::Sender<Command>,
}

/// How to start a link.
#[derive(Debug, Clone)]
pub struct LinkSetup {
    /// This link's id.
    pub id: LinkId,
    /// Our own peer id in the room.
    pub me: PeerId,
    /// The participant at the other end.
    pub peer: PeerId,
    /// Whether we are the newcomer, which creates the `chat` channel and offers.
    pub initiator: bool,
    /// The connection's configuration.
    pub config: Configuration,
}

/// Whether we are the polite side of the pair: the one with the smaller peer id, as the
/// demo page decides (its `<` on ids, which are ASCII, orders them as bytes).
pub fn is_polite(me: &PeerId, peer: &PeerId) -> bool {
    me.as_str() < peer.as_str()
}

impl PeerLink {
    /// Starts the link's task in `tasks`: it creates the connection (and, for the
    /// initiator, the `chat` channel) and reports on `events` until it ends.
    pub fn spawn(
        setup: LinkSetup,
        client: Client,
        events: mpsc::Sender<LinkEvent>,
        tasks: &mut JoinSet<()>,
    ) -> Self {
        let (commands, commands_rx) = mpsc::channel(SIGNALING_QUEUE);
        let id = setup.id;
        tasks.spawn(run(setup, client, commands_rx, events));
        Self { id, commands }
    }

    /// This link's id.
    pub fn id(&self) -> LinkId {
        self.id
    }

    /// Hands the peer's offer or answer to the link.
    pub fn description(&self, kind: SdpType, sdp: String) -> Result<(), Refused> {
        self.command(Command::Description(SessionDescription { kind, sdp }))
    }

    /// Hands the peer's candidate (or end-of-candidates) to the link.
    pub fn candidate(&self, candidate: &RelayedCandidate) -> Result<(), Refused> {
        self.command(Command::Candidate(IceCandidateInit {
            candidate: candidate.candidate.clone(),
            sdp_mid: candidate.sdp_mid.clone(),
            sdp_mline_index: candidate.sdp_mline_index,
            username_fragment: None,
        }))
    }

    fn command(&self, command: Command) -> Result<(), Refused> {
        self.commands
            .try_send(command)
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => Refused::Full,
                mpsc::error::TrySendError::Closed(_) => Refused::Ended,
            })
    }
}

/// The link's task.
async fn run(
    setup: LinkSetup,
    client: Client,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<LinkEvent>,
) {
    let report = Reporter {
        link: setup.id,
        peer: setup.peer.clone(),
        events,
    };
    match PeerConnection::new(setup.config.clone()).await {
        Ok((pc, pc_events)) => {
            let mut link = Link {
                polite: is_polite(&setup.me, &setup.peer),
                peer: setup.peer,
                pc,
                client,
                report: report.clone(),
                ignore_offer: false,
                channels: JoinSet::new(),
                next_channel: 0,
            };
            link.run(setup.initiator, commands, pc_events).await;
            // Channel tasks end with the connection; abort whatever is left.
            link.channels.shutdown().await;
        }
        Err(error) => {
            report
                .send(LinkEventKind::Problem(format!(
                    "cannot create a peer connection: {error}"
                )))
                .await;
        }
    }
    report.send(LinkEventKind::Ended).await;
}

#[derive(Debug, Clone)]
struct Reporter {
    link: LinkId,
    peer: PeerId,
    events: mpsc::Sender<LinkEvent>,
}

impl Reporter {
    /// Reports to the room; waits while the room's queue is full (the room never waits
    /// for links, so this only slows a peer that floods us). A room that is gone no
    /// longer listens.
    async fn send(&self, kind: LinkEventKind) {
        let _ = self
            .events
            .send(LinkEvent {
                link: self.link,
                peer: self.peer.clone(),
                kind,
            })
            .await;
    }

    async fn problem(&self, what: &str, error: impl fmt::Display) {
        self.send(LinkEventKind::Problem(format!("{what}: {error}")))
            .await;
    }
}

struct Link {
    peer: PeerId,
    polite: bool,
    pc: PeerConnection,
    client: Client,
    report: Reporter,
    /// The last offer was ignored (a collision on the impolite side): its candidates may
    /// fail to apply without that being worth a report.
    ignore_offer: bool,
    channels: JoinSet<()>,
    next_channel: u64,
}

impl Link {
    async fn run(
        &mut self,
        initiator: bool,
        mut commands: mpsc::Receiver<Command>,
        mut pc_events: PeerConnectionEvents,
    ) {
        if initiator {
            // The newcomer opens the channel; the negotiation-needed event it causes
            // starts the offer.
            match self
                .pc
                .create_data_channel(CHAT_LABEL, ChannelOptions::default())
                .await
            {
                Ok(channel) => self.attach(channel),
                Err(error) => {
                    self.report
                        .problem("cannot create the chat channel", error)
                        .await;
                }
            }
        }
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::Description(description)) => self.description(description).await,
                    Some(Command::Candidate(candidate)) => self.candidate(candidate).await,
                    // The room dropped the link: the peer left or was replaced.
                    None => break,
                },
                event = pc_events.recv() => match event {
                    Some(event) => self.event(event).await,
                    None => break,
                },
                Some(_) = self.channels.join_next() => {}
            }
        }
        if tokio::time::timeout(CLOSE_TIMEOUT, self.pc.close())
            .await
            .is_err()
        {
            tracing::warn!(peer = %self.peer, "closing the connection timed out");
        }
    }

    /// Perfect negotiation, the receiving half.
    async fn description(&mut self, description: SessionDescription) {
        let offer = description.kind == SdpType::Offer;
        let collision = offer && self.pc.signaling_state() != SignalingState::Stable;
        self.ignore_offer = !self.polite && collision;
        if self.ignore_offer {
            tracing::debug!(peer = %self.peer, "offer collision: ignoring the peer's offer");
            return;
        }
        if collision {
            tracing::debug!(peer = %self.peer, "offer collision: rolling back our offer");
            if let Err(error) = self
                .pc
                .set_local_description(SessionDescription::rollback())
                .await
            {
                self.report
                    .problem("cannot roll back our offer", error)
                    .await;
                return;
            }
        }
        let kind = description.kind;
        if let Err(error) = self.pc.set_remote_description(description).await {
            self.report
                .problem(&format!("the peer's {kind:?} was refused"), error)
                .await;
            return;
        }
        if offer {
            match self.local_sdp().await {
                Ok(sdp) => {
                    if let Err(error) = self.client.send_answer(self.peer.clone(), sdp).await {
                        self.report.problem("cannot send our answer", error).await;
                    }
                }
                Err(error) => self.report.problem("cannot answer", error).await,
            }
        }
    }

    async fn candidate(&mut self, candidate: IceCandidateInit) {
        if let Err(error) = self.pc.add_ice_candidate(candidate).await
            && !self.ignore_offer
        {
            self.report
                .problem("the peer's candidate was refused", error)
                .await;
        }
    }

    /// Applies the description the state calls for and returns its SDP.
    async fn local_sdp(&self) -> Result<String, strata::Error> {
        self.pc.set_local_description_implicit().await?;
        let description = self.pc.local_description().await?;
        Ok(description.map(|d| d.sdp).unwrap_or_default())
    }

    async fn event(&mut self, event: PeerConnectionEvent) {
        match event {
            PeerConnectionEvent::NegotiationNeeded => {
                // Perfect negotiation, the sending half. Events are handled one at a
                // time, so no description of the peer's arrives while we make the offer.
                if self.pc.signaling_state() != SignalingState::Stable {
                    return;
                }
                match self.local_sdp().await {
                    Ok(sdp) => {
                        if let Err(error) = self.client.send_offer(self.peer.clone(), sdp).await {
                            self.report.problem("cannot send our offer", error).await;
                        }
                    }
                    Err(error) => self.report.problem("cannot make an offer", error).await,
                }
            }
            PeerConnectionEvent::IceCandidate(candidate) => {
                let candidate = IceCandidate {
                    candidate: candidate.candidate,
                    sdp_mid: candidate.sdp_mid,
                    sdp_mline_index: candidate.sdp_mline_index,
                };
                self.signal_candidate(candidate).await;
            }
            PeerConnectionEvent::IceGatheringStateChange(IceGatheringState::Complete) => {
                // End-of-candidates for every section, as the page sends it.
                self.signal_candidate(IceCandidate::end_of_candidates(None, None))
                    .await;
            }
            PeerConnectionEvent::ConnectionStateChange(state) => {
                self.report.send(LinkEventKind::State(state)).await;
            }
            PeerConnectionEvent::DataChannel(channel) if channel.label() == CHAT_LABEL => {
                self.attach(channel);
            }
            PeerConnectionEvent::DataChannel(channel) => {
                let label = channel.label().to_owned();
                let _ = channel.close().await;
                self.report
                    .problem(
                        "refused a channel",
                        format!("label {label:?} is not {CHAT_LABEL:?}"),
                    )
                    .await;
            }
            PeerConnectionEvent::IceServerError { server, reason } => {
                self.report
                    .problem(&format!("ICE server {server} unusable"), reason)
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
            self.report.problem("cannot send a candidate", error).await;
        }
    }

    /// Starts a `chat` channel's reader and writer.
    fn attach(&mut self, channel: DataChannel) {
        let number = self.next_channel;
        self.next_channel += 1;
        let (outgoing, queue) = mpsc::channel(OUTGOING_QUEUE);
        self.channels.spawn(write_channel(channel.clone(), queue));
        self.channels
            .spawn(read_channel(channel, number, outgoing, self.report.clone()));
    }
}

/// Reads a channel until it closes: reports the open (handing over the writer's queue),
/// every chat line, every malformed message, and the close.
async fn read_channel(
    channel: DataChannel,
    number: u64,
    outgoing: mpsc::Sender<Outgoing>,
    report: Reporter,
) {
    let mut outgoing = Some(outgoing);
    // A channel the peer opened is open already and reports no `Open`; ours reports it
    // (unless it opened before this task started: the queue is handed over only once).
    let mut opened = channel.state() == ChannelState::Open;
    loop {
        if opened && let Some(outgoing) = outgoing.take() {
            report
                .send(LinkEventKind::ChannelOpen {
                    channel: number,
                    outgoing,
                })
                .await;
        }
        match channel.recv().await {
            Some(ChannelEvent::Open) => opened = true,
            Some(ChannelEvent::Message(message)) => {
                let kind = match decode_chat(&message) {
                    Ok(text) => LinkEventKind::Chat(text),
                    Err(error) => LinkEventKind::Malformed(error),
                };
                report.send(kind).await;
            }
            Some(ChannelEvent::Closed(_)) | None => break,
            Some(_) => {}
        }
    }
    report
        .send(LinkEventKind::ChannelClosed { channel: number })
        .await;
}

/// Sends what the room queues for a channel until the queue closes.
async fn write_channel(channel: DataChannel, mut queue: mpsc::Receiver<Outgoing>) {
    while let Some(outgoing) = queue.recv().await {
        match outgoing {
            Outgoing::Chat(json) => {
                if let Err(error) = send_with_backpressure(&channel, Message::Text(json)).await {
                    tracing::debug!(%error, "the chat channel stopped sending");
                    break;
                }
            }
            Outgoing::Flush(done) => {
                let drained = async {
                    channel.set_buffered_amount_low_threshold(0)?;
                    channel.buffered_amount_low().await
                };
                let _ = tokio::time::timeout(FLUSH_TIMEOUT, drained).await;
                let _ = done.send(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> PeerId {
        PeerId::new(s).unwrap()
    }

    #[test]
    fn exactly_one_side_of_a_pair_is_polite() {
        let pairs = [
            ("peer-0a", "peer-0b"),
            ("alice", "bob"),
            ("Z", "a"),
            ("peer-1", "peer-10"),
        ];
        for (a, b) in pairs {
            assert!(is_polite(&id(a), &id(b)), "{a} < {b}");
            assert!(!is_polite(&id(b), &id(a)), "{b} > {a}");
        }
    }
}
