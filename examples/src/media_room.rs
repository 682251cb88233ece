//! A room of a `strata` server as the media programs (`reflect`, `record`,
//! `play-from-disk`) see it: participants arrive and leave, and the program decides whom
//! to connect to, with which tracks.
//!
//! [`MediaRoom::join`] joins through `strata-signal`'s client. [`MediaRoom::next`] then
//! yields [`RoomEvent`]s: a participant is there (listed when we joined, so we are the
//! newcomer, or joined later, or sent us signaling first), a connection changed state, a
//! track arrived, a participant left. The program answers an arrival with
//! [`MediaRoom::connect`] (a [`PeerConnection`] with its local tracks, negotiated by a
//! [`MediaLink`]) or [`MediaRoom::decline`]. Signaling for a participant that has no link
//! yet waits (at most [`SIGNALING_QUEUE`] messages) until the program decides.
//!
//! The room never waits for a link: signaling for one goes through its bounded queue,
//! and what does not fit is dropped and counted ([`MediaRoomStats`]).

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use strata::{
    Configuration, PeerConnection, PeerConnectionState, SdpType, TrackLocal, TrackLocalInit,
    TrackRemote,
};
use strata_signal::client::{Client, ClientConfig, ClientEvent, Events};
use strata_signal::{Participant, PeerId, RoomName};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::chat_message::{display_name, join_metadata};
use crate::error::Error;
use crate::media_link::{MediaLink, MediaLinkEvent, MediaLinkEventKind};
use crate::peer_link::{LinkId, Refused, SIGNALING_QUEUE};
use crate::room::LINK_EVENT_QUEUE;

/// How long leaving may take: closing every connection and the signaling client.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(15);

/// Where and as whom to join.
#[derive(Debug, Clone)]
pub struct RoomConfig {
    /// The server's WebSocket URL (`ws://127.0.0.1:8080/ws`).
    pub server: String,
    /// The room to join.
    pub room: RoomName,
    /// The room token, when the server requires one.
    pub token: Option<String>,
    /// The name announced to the others (join metadata `{"name": ...}`).
    pub name: String,
    /// Configuration of every peer connection.
    pub peer: Configuration,
}

/// Counters of one room session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaRoomStats {
    /// Signaling messages dropped because a link's (or an undecided participant's)
    /// queue was full.
    pub signaling_dropped: u64,
    /// Signaling messages from declined participants, ignored.
    pub signaling_ignored: u64,
}

/// What happens in the room.
#[derive(Debug)]
#[non_exhaustive]
pub enum RoomEvent {
    /// A participant is there and has no connection: [`MediaRoom::connect`] or
    /// [`MediaRoom::decline`] it.
    Arrived {
        /// Its peer id.
        peer: PeerId,
        /// The name it announced.
        name: String,
        /// We are the newcomer to it (it was in the room when we joined or rejoined): by
        /// the room's convention, we make the first offer.
        newcomer: bool,
    },
    /// A connection's aggregate state changed.
    Connection {
        /// The participant.
        peer: PeerId,
        /// Its new state.
        state: PeerConnectionState,
    },
    /// A participant started sending a track.
    Track {
        /// The participant.
        peer: PeerId,
        /// The track.
        track: TrackRemote,
    },
    /// A participant's connection ended (closed or failed for good).
    Disconnected {
        /// The participant.
        peer: PeerId,
    },
    /// A participant left the room (its connection, if any, is closed).
    Left {
        /// The participant.
        peer: PeerId,
    },
}

struct Linked {
    link: MediaLink,
}

/// A joined room: participants as [`RoomEvent`]s, a connection per participant the
/// program connects to.
pub struct MediaRoom {
    me: PeerId,
    client: Client,
    events: Events,
    config: Configuration,
    links: HashMap<PeerId, Linked>,
    declined: HashSet<PeerId>,
    /// Signaling from participants the program has not decided on yet.
    undecided: HashMap<PeerId, VecDeque<ClientEvent>>,
    tasks: JoinSet<()>,
    link_events_tx: mpsc::Sender<MediaLinkEvent>,
    link_events: mpsc::Receiver<MediaLinkEvent>,
    queue: VecDeque<RoomEvent>,
    next_link: u64,
    stats: MediaRoomStats,
}

impl std::fmt::Debug for MediaRoom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaRoom")
            .field("me", &self.me)
            .field("links", &self.links.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl MediaRoom {
    /// Joins `config.room`; everyone already there is reported as
    /// [`RoomEvent::Arrived`] with `newcomer: true`.
    pub async fn join(config: RoomConfig) -> Result<Self, Error> {
        let mut client_config = ClientConfig::new(config.server.clone(), config.room.clone());
        client_config.session.token.clone_from(&config.token);
        client_config.session.metadata = Some(join_metadata(&config.name));
        let (client, events) = Client::connect(client_config)
            .await
            .map_err(Error::Signaling)?;
        let (link_events_tx, link_events) = mpsc::channel(LINK_EVENT_QUEUE);
        let mut room = Self {
            me: client.peer_id().clone(),
            client,
            events,
            config: config.peer,
            links: HashMap::new(),
            declined: HashSet::new(),
            undecided: HashMap::new(),
            tasks: JoinSet::new(),
            link_events_tx,
            link_events,
            queue: VecDeque::new(),
            next_link: 0,
            stats: MediaRoomStats::default(),
        };
        let participants = room.client.join_result().participants.clone();
        eprintln!(
            "joined room {} as {} ({})",
            room.client.room(),
            config.name,
            room.me
        );
        room.newcomer_to(&participants);
        Ok(room)
    }

    /// Our own peer id.
    pub fn me(&self) -> &PeerId {
        &self.me
    }

    /// What was dropped and ignored so far.
    pub fn stats(&self) -> MediaRoomStats {
        self.stats
    }

    /// The next thing that happens in the room. Cancel-safe. An error when the server
    /// ends the session for good (kicked, room closed, reconnection given up).
    pub async fn next(&mut self) -> Result<RoomEvent, Error> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Ok(event);
            }
            tokio::select! {
                event = self.events.recv() => match event {
                    Some(event) => self.signaling(event)?,
                    None => return Err(Error::Signaling(strata_signal::Error::Closed {
                        reason: "the signaling client stopped".to_owned(),
                    })),
                },
                Some(event) = self.link_events.recv() => self.link_event(event),
                Some(_) = self.tasks.join_next(), if !self.tasks.is_empty() => {}
            }
        }
    }

    /// Connects to `peer` with a new connection carrying `tracks` (added before any
    /// description is applied, so a first offer or answer already sends them). Signaling
    /// `peer` sent before is applied now; the first offer comes from whichever side
    /// needs negotiation first.
    pub async fn connect(
        &mut self,
        peer: &PeerId,
        tracks: Vec<TrackLocalInit>,
    ) -> Result<(PeerConnection, Vec<TrackLocal>), strata::Error> {
        let (pc, pc_events) = PeerConnection::new(self.config.clone()).await?;
        let mut locals = Vec::with_capacity(tracks.len());
        for init in tracks {
            locals.push(pc.add_track(init).await?);
        }
        self.declined.remove(peer);
        self.next_link += 1;
        let link = MediaLink::spawn(
            LinkId(self.next_link),
            &self.me,
            peer.clone(),
            pc.clone(),
            pc_events,
            self.client.clone(),
            self.link_events_tx.clone(),
            &mut self.tasks,
        );
        // Replacing a link drops the old one, which closes its connection.
        self.links.insert(peer.clone(), Linked { link });
        for event in self.undecided.remove(peer).unwrap_or_default() {
            self.route(event);
        }
        Ok((pc, locals))
    }

    /// Does not connect to `peer`: its signaling is ignored until it leaves.
    pub fn decline(&mut self, peer: &PeerId) {
        self.undecided.remove(peer);
        self.declined.insert(peer.clone());
    }

    /// Closes the connection to `peer`, if any.
    pub fn disconnect(&mut self, peer: &PeerId) {
        self.links.remove(peer);
    }

    /// Leaves the room and closes every connection (within 15 s).
    pub async fn leave(mut self) -> MediaRoomStats {
        self.links.clear();
        let stats = self.stats;
        let closing = async {
            self.client.close().await;
            while self.tasks.join_next().await.is_some() {}
        };
        if tokio::time::timeout(LEAVE_TIMEOUT, closing).await.is_err() {
            tracing::warn!("leaving took longer than {LEAVE_TIMEOUT:?}; stopping anyway");
            self.tasks.shutdown().await;
        }
        stats
    }

    fn newcomer_to(&mut self, participants: &[Participant]) {
        for participant in participants {
            if participant.peer_id == self.me {
                continue;
            }
            self.queue.push_back(RoomEvent::Arrived {
                peer: participant.peer_id.clone(),
                name: display_name(participant.metadata.as_ref(), participant.peer_id.as_str()),
                newcomer: true,
            });
        }
    }

    fn name_of(&self, peer: &PeerId) -> String {
        self.client
            .participants()
            .iter()
            .find(|p| p.peer_id == *peer)
            .map_or_else(
                || peer.to_string(),
                |p| display_name(p.metadata.as_ref(), peer.as_str()),
            )
    }

    fn signaling(&mut self, event: ClientEvent) -> Result<(), Error> {
        match event {
            ClientEvent::PeerJoined(participant) => {
                let name =
                    display_name(participant.metadata.as_ref(), participant.peer_id.as_str());
                eprintln!("{name} joined");
                // A link we had to it belonged to its last visit.
                self.forget(&participant.peer_id);
                self.queue.push_back(RoomEvent::Arrived {
                    peer: participant.peer_id,
                    name,
                    newcomer: false,
                });
            }
            ClientEvent::PeerLeft(left) => {
                eprintln!("{} left", self.name_of(&left.peer_id));
                self.forget(&left.peer_id);
                self.queue.push_back(RoomEvent::Left { peer: left.peer_id });
            }
            event
            @ (ClientEvent::Offer(_) | ClientEvent::Answer(_) | ClientEvent::Candidate(_)) => {
                self.route(event);
            }
            ClientEvent::Disconnected { reason } => {
                eprintln!("lost the signaling server ({reason}); connections go on peer-to-peer");
            }
            ClientEvent::Rejoined(joined) => {
                eprintln!("back in room {}", joined.room);
                // The others saw us leave and dropped their connections to us.
                let gone: Vec<PeerId> = self.links.keys().cloned().collect();
                for peer in gone {
                    self.forget(&peer);
                    self.queue.push_back(RoomEvent::Left { peer });
                }
                self.newcomer_to(&joined.participants);
            }
            ClientEvent::Kicked(kicked) => eprintln!(
                "removed from the room: {}",
                kicked.reason.as_deref().unwrap_or("no reason given")
            ),
            ClientEvent::Closed { reason } => return Err(Error::Signaling(reason)),
            _ => {}
        }
        Ok(())
    }

    fn forget(&mut self, peer: &PeerId) {
        self.links.remove(peer);
        self.declined.remove(peer);
        self.undecided.remove(peer);
    }

    /// Hands a description or candidate to its participant's link, or keeps it until
    /// the program decides on that participant.
    fn route(&mut self, event: ClientEvent) {
        let from = match &event {
            ClientEvent::Offer(offer) => offer.from.clone(),
            ClientEvent::Answer(answer) => answer.from.clone(),
            ClientEvent::Candidate(candidate) => candidate.from.clone(),
            _ => return,
        };
        if self.declined.contains(&from) {
            self.stats.signaling_ignored += 1;
            return;
        }
        let Some(linked) = self.links.get(&from) else {
            if !self.undecided.contains_key(&from) {
                // Signaling from someone we have not heard join, as after a rejoin.
                self.queue.push_back(RoomEvent::Arrived {
                    peer: from.clone(),
                    name: self.name_of(&from),
                    newcomer: false,
                });
            }
            let waiting = self.undecided.entry(from).or_default();
            if waiting.len() < SIGNALING_QUEUE {
                waiting.push_back(event);
            } else {
                self.stats.signaling_dropped += 1;
            }
            return;
        };
        let result = match event {
            ClientEvent::Offer(offer) => linked.link.description(SdpType::Offer, offer.sdp),
            ClientEvent::Answer(answer) => linked.link.description(SdpType::Answer, answer.sdp),
            ClientEvent::Candidate(candidate) => linked.link.candidate(&candidate),
            _ => Ok(()),
        };
        match result {
            Ok(()) => {}
            Err(Refused::Full) => {
                self.stats.signaling_dropped += 1;
                eprintln!("{from} sends signaling faster than it can be applied; dropped one");
            }
            Err(Refused::Ended) => tracing::debug!(peer = %from, "signaling for a link that ended"),
        }
    }

    fn link_event(&mut self, event: MediaLinkEvent) {
        let current = self
            .links
            .get(&event.peer)
            .is_some_and(|linked| linked.link.id() == event.link);
        if !current {
            // From a link that was replaced or closed.
            return;
        }
        let peer = event.peer;
        match event.kind {
            MediaLinkEventKind::Track(track) => {
                self.queue.push_back(RoomEvent::Track { peer, track });
            }
            MediaLinkEventKind::State(state) => {
                self.queue.push_back(RoomEvent::Connection { peer, state });
            }
            MediaLinkEventKind::Problem(problem) => {
                eprintln!("with {}: {problem}", self.name_of(&peer));
            }
            MediaLinkEventKind::Ended => {
                self.links.remove(&peer);
                self.queue.push_back(RoomEvent::Disconnected { peer });
            }
        }
    }
}
