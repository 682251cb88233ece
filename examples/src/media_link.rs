//! One media connection to one participant of a room, negotiated over the signaling
//! server with "perfect negotiation", as the demo page and `chat` do it.
//!
//! A [`MediaLink`] is a task that owns the connection's event stream: it applies the
//! peer's descriptions and candidates, sends ours (an offer whenever the connection asks
//! for negotiation, for instance after the program added a track), trickles candidates,
//! and reports tracks the peer sends and state changes as [`MediaLinkEvent`]s. The
//! program holds the [`PeerConnection`] itself, to add tracks and read stats. Dropping
//! the [`MediaLink`] closes the connection.
//!
//! Per pair of participants the side with the smaller peer id is polite: an offer that
//! collides with our own is ignored by the impolite side, and the polite side rolls its
//! own back and answers.

use std::fmt;
use std::time::Duration;

use strata::{
    IceCandidateInit, IceGatheringState, PeerConnection, PeerConnectionEvent, PeerConnectionEvents,
    PeerConnectionState, SdpType, SessionDescription, SignalingState, TrackRemote,
};
use strata_signal::client::Client;
use strata_signal::{IceCandidate, PeerId, RelayedCandidate};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::peer_link::{LinkId, Refused, SIGNALING_QUEUE, is_polite};

/// How long closing a connection may take before the link gives up on it.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// What a media link reports.
#[derive(Debug)]
pub struct MediaLinkEvent {
    /// The link it comes from.
    pub link: LinkId,
    /// The participant at the other end.
    pub peer: PeerId,
    /// What happened.
    pub kind: MediaLinkEventKind,
}

/// The things a media link reports.
#[derive(Debug)]
#[non_exhaustive]
pub enum MediaLinkEventKind {
    /// The peer started sending a track.
    Track(TrackRemote),
    /// The connection's aggregate state changed.
    State(PeerConnectionState),
    /// Something went wrong that the link survives (a description or candidate refused,
    /// a signaling request failed).
    Problem(String),
    /// The link ended: its connection is closed.
    Ended,
}

#[derive(Debug)]
enum Command {
    Description(SessionDescription),
    Candidate(IceCandidateInit),
}

/// The room's handle on a media link's task. Dropping it closes the connection.
#[derive(Debug)]
pub struct MediaLink {
    id: LinkId,
    commands: mpsc::Sender<Command>,
}

impl MediaLink {
    /// Starts the link's task in `tasks` over `pc` (whose events are `pc_events`): it
    /// negotiates with `peer` through `client` and reports on `events` until the
    /// connection ends or the handle is dropped.
    #[allow(clippy::too_many_arguments)]
    pub fn spawn(
        id: LinkId,
        me: &PeerId,
        peer: PeerId,
        pc: PeerConnection,
        pc_events: PeerConnectionEvents,
        client: Client,
        events: mpsc::Sender<MediaLinkEvent>,
        tasks: &mut JoinSet<()>,
    ) -> Self {
        let (commands, commands_rx) = mpsc::channel(SIGNALING_QUEUE);
        let link = Link {
            polite: is_polite(me, &peer),
            report: Reporter {
                link: id,
                peer: peer.clone(),
                events,
            },
            peer,
            pc,
            client,
            ignore_offer: false,
        };
        tasks.spawn(link.run(commands_rx, pc_events));
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

#[derive(Debug, Clone)]
struct Reporter {
    link: LinkId,
    peer: PeerId,
    events: mpsc::Sender<MediaLinkEvent>,
}

impl Reporter {
    /// Reports to the room, waiting while its queue is full; a room that is gone no
    /// longer listens.
    async fn send(&self, kind: MediaLinkEventKind) {
        let _ = self
            .events
            .send(MediaLinkEvent {
                link: self.link,
                peer: self.peer.clone(),
                kind,
            })
            .await;
    }

    async fn problem(&self, what: &str, error: impl fmt::Display) {
        self.send(MediaLinkEventKind::Problem(format!("{what}: {error}")))
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
}

impl Link {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut pc_events: PeerConnectionEvents,
    ) {
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
            }
        }
        if tokio::time::timeout(CLOSE_TIMEOUT, self.pc.close())
            .await
            .is_err()
        {
            tracing::warn!(peer = %self.peer, "closing the connection timed out");
        }
        self.report.send(MediaLinkEventKind::Ended).await;
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
                self.signal_candidate(IceCandidate::end_of_candidates(None, None))
                    .await;
            }
            PeerConnectionEvent::ConnectionStateChange(state) => {
                self.report.send(MediaLinkEventKind::State(state)).await;
            }
            PeerConnectionEvent::Track(track) => {
                self.report.send(MediaLinkEventKind::Track(track)).await;
            }
            PeerConnectionEvent::DataChannel(channel) => {
                // Media programs carry no data; the channel is refused.
                let label = channel.label().to_owned();
                let _ = channel.close().await;
                tracing::debug!(peer = %self.peer, %label, "refused a data channel");
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
}
