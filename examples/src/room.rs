//! The `chat` program's room: joins through the signaling server, keeps one
//! [`PeerLink`] per other participant, sends every input line to every open `chat`
//! channel and prints every line that arrives.
//!
//! Who creates the channel follows presence, as on the demo page: when we join (or
//! rejoin after a lost signaling connection), we are the newcomer to everyone listed and
//! open a link to each; a `peer_joined` makes us wait for that peer's offer. A peer that
//! leaves has its link closed. Since the others drop their connection to us when our
//! signaling connection drops (they see us leave), a rejoin replaces every link.
//!
//! The room never waits for a link: signaling for a link and lines for a channel go
//! through bounded queues, and what does not fit is dropped and counted in
//! [`ChatStats`] (and reported on stderr).

use std::collections::HashMap;
use std::time::Duration;

use strata::{Configuration, PeerConnectionState, SdpType};
use strata_signal::client::{Client, ClientConfig, ClientEvent, Events};
use strata_signal::{Participant, PeerId, RoomName};
use tokio::io::{AsyncBufRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::chat_message::{display_name, encode_chat, join_metadata, printable};
use crate::error::Error;
use crate::peer_link::{
    FLUSH_TIMEOUT, LinkEvent, LinkEventKind, LinkId, LinkSetup, Outgoing, PeerLink, Refused,
};
use crate::signaling::{LineReader, MAX_CHAT_LINE, write_line};

/// Link events waiting for the room; links wait while it is full.
pub const LINK_EVENT_QUEUE: usize = 1024;

/// How long leaving may take: flushing what was sent, closing every connection.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(15);

/// What the `chat` program needs to join a room.
#[derive(Debug, Clone)]
pub struct ChatConfig {
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

/// Counters of one chat session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChatStats {
    /// Input lines sent (to at least one peer).
    pub lines_sent: u64,
    /// Input lines that reached nobody (no channel was open, or the line was too long).
    pub lines_unsent: u64,
    /// Times a line was not queued for one peer because its queue was full.
    pub lines_dropped: u64,
    /// Lines received and printed.
    pub lines_received: u64,
    /// Messages from peers that were not chat lines (skipped).
    pub malformed_received: u64,
    /// Signaling messages for a link whose queue was full (dropped).
    pub signaling_dropped: u64,
}

/// How a chat session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatEnd {
    /// Standard input ended: what we sent was flushed and we left the room.
    InputEnded,
    /// Interrupted (Ctrl-C).
    Interrupted,
}

struct Peer {
    name: String,
    link: PeerLink,
    /// The open channel lines go to, with its number within the link.
    outgoing: Option<(u64, mpsc::Sender<Outgoing>)>,
    state: PeerConnectionState,
}

/// Joins `config.room`, then chats: lines from `input` go to every peer, lines from peers
/// go to `output` (`name: text`), and what happens in the room goes to stderr. Returns
/// when `input` ends (after flushing) or on Ctrl-C; an error when the server cannot be
/// joined or ends the session for good (kicked, room closed, reconnection given up).
pub async fn run_chat<R, W>(
    config: ChatConfig,
    input: LineReader<R>,
    output: W,
) -> Result<(ChatEnd, ChatStats), Error>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut client_config = ClientConfig::new(config.server.clone(), config.room.clone());
    client_config.session.token.clone_from(&config.token);
    client_config.session.metadata = Some(join_metadata(&config.name));
    let (client, events) = Client::connect(client_config)
        .await
        .map_err(Error::Signaling)?;
    let (link_events_tx, link_events) = mpsc::channel(LINK_EVENT_QUEUE);
    let mut room = Room {
        me: client.peer_id().clone(),
        client,
        config: config.peer,
        peers: HashMap::new(),
        links: JoinSet::new(),
        link_events_tx,
        next_link: 0,
        stats: ChatStats::default(),
        output,
    };
    // The room as the join found it; later arrivals come as events.
    let participants = room.client.join_result().participants.clone();
    system(&format!(
        "joined room {} as {} ({}); {}",
        room.client.room(),
        printable(&config.name),
        room.me,
        who_is_here(&participants)
    ));
    room.newcomer_to(&participants);
    let result = room.chat(input, events, link_events).await;
    room.leave().await;
    result.map(|end| (end, room.stats))
}

fn who_is_here(participants: &[Participant]) -> String {
    if participants.is_empty() {
        return "nobody else is here yet".to_owned();
    }
    let names: Vec<_> = participants
        .iter()
        .map(|p| display_name(p.metadata.as_ref(), p.peer_id.as_str()))
        .collect();
    format!("here: {}", names.join(", "))
}

/// A line about the room, on stderr.
fn system(line: &str) {
    eprintln!("{line}");
}

struct Room<W> {
    me: PeerId,
    client: Client,
    config: Configuration,
    peers: HashMap<PeerId, Peer>,
    links: JoinSet<()>,
    link_events_tx: mpsc::Sender<LinkEvent>,
    next_link: u64,
    stats: ChatStats,
    output: W,
}

impl<W: AsyncWrite + Unpin> Room<W> {
    async fn chat<R: AsyncBufRead + Unpin>(
        &mut self,
        mut input: LineReader<R>,
        mut events: Events,
        mut link_events: mpsc::Receiver<LinkEvent>,
    ) -> Result<ChatEnd, Error> {
        // Set once input has ended: resolves when every channel has been flushed.
        let mut flushed: Option<oneshot::Receiver<()>> = None;
        loop {
            tokio::select! {
                line = input.next_line(MAX_CHAT_LINE), if flushed.is_none() => match line {
                    Ok(Some(line)) => self.say(&line),
                    Ok(None) => flushed = Some(self.flush()),
                    Err(error @ (Error::LineTooLong { .. } | Error::NotUtf8)) => {
                        self.stats.lines_unsent += 1;
                        system(&error.to_string());
                    }
                    Err(error) => return Err(error),
                },
                () = async {
                    match flushed.as_mut() {
                        Some(done) => { let _ = done.await; }
                        None => std::future::pending().await,
                    }
                }, if flushed.is_some() => {
                    return Ok(ChatEnd::InputEnded);
                }
                event = events.recv() => match event {
                    Some(event) => self.signaling(event)?,
                    None => return Err(Error::Signaling(strata_signal::Error::Closed {
                        reason: "the signaling client stopped".to_owned(),
                    })),
                },
                Some(event) = link_events.recv() => self.link_event(event).await?,
                Some(_) = self.links.join_next() => {}
                _ = tokio::signal::ctrl_c() => return Ok(ChatEnd::Interrupted),
            }
        }
    }

    /// Sends an input line to every peer with an open channel.
    fn say(&mut self, line: &str) {
        let json = match encode_chat(line) {
            Ok(json) => json,
            Err(error) => {
                self.stats.lines_unsent += 1;
                system(&error.to_string());
                return;
            }
        };
        let mut sent = 0;
        for peer in self.peers.values_mut() {
            let Some((_, outgoing)) = &peer.outgoing else {
                continue;
            };
            match outgoing.try_send(Outgoing::Chat(json.clone())) {
                Ok(()) => sent += 1,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    self.stats.lines_dropped += 1;
                    system(&format!(
                        "{} is not keeping up: this line was not sent to them",
                        peer.name
                    ));
                }
                Err(mpsc::error::TrySendError::Closed(_)) => peer.outgoing = None,
            }
        }
        if sent == 0 {
            self.stats.lines_unsent += 1;
            system("nobody is connected yet: the line was not sent");
        } else {
            self.stats.lines_sent += 1;
        }
    }

    /// Asks every open channel to flush; the receiver resolves when all have (each
    /// within [`FLUSH_TIMEOUT`]).
    fn flush(&mut self) -> oneshot::Receiver<()> {
        let (done_tx, done) = oneshot::channel();
        let mut acks = Vec::new();
        for peer in self.peers.values() {
            if let Some((_, outgoing)) = &peer.outgoing {
                let (ack, acked) = oneshot::channel();
                if outgoing.try_send(Outgoing::Flush(ack)).is_ok() {
                    acks.push(acked);
                }
            }
        }
        self.links.spawn(async move {
            let all = async {
                for acked in acks {
                    let _ = acked.await;
                }
            };
            // A full queue still drains within the flush timeout of what is ahead.
            let _ = tokio::time::timeout(FLUSH_TIMEOUT * 2, all).await;
            let _ = done_tx.send(());
        });
        done
    }

    fn signaling(&mut self, event: ClientEvent) -> Result<(), Error> {
        match event {
            ClientEvent::PeerJoined(participant) => {
                let name =
                    display_name(participant.metadata.as_ref(), participant.peer_id.as_str());
                system(&format!("{name} joined"));
                // The newcomer offers; a link we had to it belonged to its last visit.
                self.open_link(participant.peer_id, name, false);
            }
            ClientEvent::PeerLeft(left) => {
                if let Some(peer) = self.peers.remove(&left.peer_id) {
                    system(&format!(
                        "{} left ({})",
                        peer.name,
                        format!("{:?}", left.reason).to_lowercase()
                    ));
                }
            }
            ClientEvent::Offer(offer) => {
                let result = self
                    .link_for(&offer.from)
                    .description(SdpType::Offer, offer.sdp);
                self.deliver(&offer.from, result);
            }
            ClientEvent::Answer(answer) => {
                let result = self
                    .link_for(&answer.from)
                    .description(SdpType::Answer, answer.sdp);
                self.deliver(&answer.from, result);
            }
            ClientEvent::Candidate(candidate) => {
                let result = self.link_for(&candidate.from).candidate(&candidate);
                self.deliver(&candidate.from, result);
            }
            ClientEvent::Message(message) => {
                // App-level relay through the server; the chat goes peer-to-peer.
                tracing::debug!(from = %message.from, "ignored a relayed message");
            }
            ClientEvent::Disconnected { reason } => system(&format!(
                "lost the signaling server ({reason}); the chat goes on peer-to-peer"
            )),
            ClientEvent::Reconnecting { attempt, delay } => {
                tracing::info!(attempt, ?delay, "reconnecting to the signaling server");
            }
            ClientEvent::ServerShutdown => system("the signaling server is restarting"),
            ClientEvent::Rejoined(joined) => {
                system(&format!(
                    "back in room {}; {}",
                    joined.room,
                    who_is_here(&joined.participants)
                ));
                // The others saw us leave and dropped their connections to us: we are
                // the newcomer to everyone again.
                self.peers.clear();
                self.newcomer_to(&joined.participants);
            }
            ClientEvent::Kicked(kicked) => system(&format!(
                "removed from the room: {}",
                kicked.reason.as_deref().unwrap_or("no reason given")
            )),
            ClientEvent::Closed { reason } => return Err(Error::Signaling(reason)),
            _ => {}
        }
        Ok(())
    }

    /// Opens a link to each of `participants`, as the newcomer.
    fn newcomer_to(&mut self, participants: &[Participant]) {
        for participant in participants {
            let name = display_name(participant.metadata.as_ref(), participant.peer_id.as_str());
            self.open_link(participant.peer_id.clone(), name, true);
        }
    }

    /// The link to `peer`, opened (waiting for its offer) when there is none: signaling
    /// can come from a participant we have not heard join, as after a rejoin.
    fn link_for(&mut self, peer: &PeerId) -> &PeerLink {
        if !self.peers.contains_key(peer) {
            let name = self
                .client
                .participants()
                .iter()
                .find(|p| p.peer_id == *peer)
                .map_or_else(
                    || peer.to_string(),
                    |p| display_name(p.metadata.as_ref(), peer.as_str()),
                );
            self.open_link(peer.clone(), name, false);
        }
        &self.peers[peer].link
    }

    fn open_link(&mut self, peer: PeerId, name: String, initiator: bool) {
        if peer == self.me {
            return;
        }
        self.next_link += 1;
        let setup = LinkSetup {
            id: LinkId(self.next_link),
            me: self.me.clone(),
            peer: peer.clone(),
            initiator,
            config: self.config.clone(),
        };
        let link = PeerLink::spawn(
            setup,
            self.client.clone(),
            self.link_events_tx.clone(),
            &mut self.links,
        );
        // Replacing a peer drops its old link, which closes that connection.
        self.peers.insert(
            peer,
            Peer {
                name,
                link,
                outgoing: None,
                state: PeerConnectionState::New,
            },
        );
    }

    fn deliver(&mut self, from: &PeerId, result: Result<(), Refused>) {
        match result {
            Ok(()) => {}
            Err(Refused::Full) => {
                self.stats.signaling_dropped += 1;
                let name = self.peers.get(from).map_or(from.as_str(), |p| &p.name);
                system(&format!(
                    "{name} sends signaling faster than it can be applied; a message was dropped"
                ));
            }
            Err(Refused::Ended) => {
                tracing::debug!(peer = %from, "signaling for a link that ended");
            }
        }
    }

    async fn link_event(&mut self, event: LinkEvent) -> Result<(), Error> {
        let Some(peer) = self.peers.get_mut(&event.peer) else {
            return Ok(());
        };
        if peer.link.id() != event.link {
            // From a link that was replaced or closed.
            return Ok(());
        }
        match event.kind {
            LinkEventKind::ChannelOpen { channel, outgoing } => {
                if peer.outgoing.is_none() {
                    system(&format!("connected to {} peer-to-peer", peer.name));
                }
                // The newest open channel carries our lines, as on the page.
                peer.outgoing = Some((channel, outgoing));
            }
            LinkEventKind::ChannelClosed { channel } => {
                if peer
                    .outgoing
                    .as_ref()
                    .is_some_and(|(open, _)| *open == channel)
                {
                    peer.outgoing = None;
                    system(&format!("the chat channel with {} closed", peer.name));
                }
            }
            LinkEventKind::Chat(text) => {
                self.stats.lines_received += 1;
                let line = format!("{}: {}", peer.name, printable(&text));
                write_line(&mut self.output, &line)
                    .await
                    .map_err(Error::Output)?;
            }
            LinkEventKind::Malformed(error) => {
                self.stats.malformed_received += 1;
                system(&format!(
                    "{} sent a message that was skipped: {error}",
                    peer.name
                ));
            }
            LinkEventKind::State(state) => {
                if state != peer.state {
                    peer.state = state;
                    if matches!(
                        state,
                        PeerConnectionState::Connected
                            | PeerConnectionState::Disconnected
                            | PeerConnectionState::Failed
                    ) {
                        system(&format!(
                            "connection to {}: {}",
                            peer.name,
                            format!("{state:?}").to_lowercase()
                        ));
                    }
                }
            }
            LinkEventKind::Problem(problem) => {
                system(&format!("with {}: {problem}", peer.name));
            }
            LinkEventKind::Ended => {
                peer.outgoing = None;
                tracing::debug!(peer = %event.peer, "link ended");
            }
        }
        Ok(())
    }

    /// Leaves the room and closes every connection (bounded by [`LEAVE_TIMEOUT`]).
    async fn leave(&mut self) {
        self.peers.clear();
        let closing = async {
            self.client.close().await;
            while self.links.join_next().await.is_some() {}
        };
        if tokio::time::timeout(LEAVE_TIMEOUT, closing).await.is_err() {
            tracing::warn!("leaving took longer than {LEAVE_TIMEOUT:?}; stopping anyway");
            self.links.shutdown().await;
        }
    }
}
