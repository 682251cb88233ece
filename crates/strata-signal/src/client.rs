//! The async WebSocket client (feature `client`): a [`Session`] driven over
//! `tokio-tungstenite`, with heartbeats and automatic reconnection.
//!
//! [`Client::connect`] connects, joins the room and returns a cloneable [`Client`] handle
//! and the [`Events`] stream. One driver task owns the socket and the session; handles
//! send it commands over a bounded channel and await their responses. When the
//! connection drops (server restart, network loss, heartbeat timeout) the driver waits
//! for the [`ReconnectPolicy`]'s next delay, reconnects and rejoins with the same peer
//! id, reporting [`ClientEvent::Reconnecting`] and then [`ClientEvent::Rejoined`].
//!
//! ```no_run
//! use strata_signal::client::{Client, ClientConfig, ClientEvent};
//! use strata_signal::RoomName;
//!
//! # async fn run() -> Result<(), strata_signal::Error> {
//! let mut config = ClientConfig::new("ws://127.0.0.1:8080/ws", RoomName::new("lobby")?);
//! config.session.token = Some("eyJ...".to_owned());
//! let (client, mut events) = Client::connect(config).await?;
//! println!("joined as {} with {:?}", client.peer_id(), client.participants());
//! client.send_message(None, serde_json::json!({"text": "hello"})).await?;
//! while let Some(event) = events.recv().await {
//!     match event {
//!         ClientEvent::Offer(offer) => { /* set_remote_description, answer */ }
//!         ClientEvent::Message(message) => println!("{}: {}", message.from, message.data),
//!         ClientEvent::Closed { reason } => { eprintln!("{reason}"); break }
//!         _ => {}
//!     }
//! }
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{SinkExt, Stream, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::Error;
use crate::backoff::{Backoff, ReconnectPolicy};
use crate::ids::{PeerId, RequestId, RoomName};
use crate::limits::MAX_SERVER_FRAME_BYTES;
use crate::message::{
    IceCandidate, JoinResult, Kicked, Participant, PeerLeft, Permissions, RelayedCandidate,
    RelayedMessage, RelayedSdp, RoomClosed, RoomClosedReason,
};
use crate::session::{Event, Output, Reply, Session, SessionConfig, SessionState, SessionStats};

/// Commands that may wait for the driver at once; further callers wait for room.
pub const COMMAND_QUEUE: usize = 256;

/// Default bound of the [`Events`] queue.
pub const DEFAULT_EVENT_QUEUE: usize = 1024;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Where and how a [`Client`] connects.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The server's WebSocket URL (`ws://host:port/ws`).
    pub url: String,
    /// The room, token, identity and timing of the session.
    pub session: SessionConfig,
    /// How lost connections are retried.
    pub reconnect: ReconnectPolicy,
    /// Seed for the reconnection jitter; `None` draws one at random.
    pub seed: Option<u64>,
    /// How long one connection attempt (TCP + WebSocket handshake) may take.
    pub connect_timeout: Duration,
    /// Bound of the [`Events`] queue. When it is full the driver stops reading the socket
    /// until the application catches up (backpressure; nothing is dropped).
    pub event_queue: usize,
}

impl ClientConfig {
    /// Defaults for joining `room` on the server at `url`.
    pub fn new(url: impl Into<String>, room: RoomName) -> Self {
        Self {
            url: url.into(),
            session: SessionConfig::new(room),
            reconnect: ReconnectPolicy::default(),
            seed: None,
            connect_timeout: Duration::from_secs(10),
            event_queue: DEFAULT_EVENT_QUEUE,
        }
    }
}

/// What the client reports to the application.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientEvent {
    /// Someone entered the room.
    PeerJoined(Participant),
    /// Someone left the room.
    PeerLeft(PeerLeft),
    /// A peer sent an offer.
    Offer(RelayedSdp),
    /// A peer sent an answer.
    Answer(RelayedSdp),
    /// A peer sent an ICE candidate or end-of-candidates.
    Candidate(RelayedCandidate),
    /// A peer sent application data.
    Message(RelayedMessage),
    /// The connection dropped; a reconnection follows unless the client is closing.
    Disconnected {
        /// What ended it.
        reason: Error,
    },
    /// The next connection attempt starts after `delay`.
    Reconnecting {
        /// Attempts since the connection was lost, from 1.
        attempt: u32,
        /// The wait before it.
        delay: Duration,
    },
    /// The client is back in its room; `participants` is the room as it is now.
    Rejoined(JoinResult),
    /// The server shut down the room for a restart; the client reconnects.
    ServerShutdown,
    /// The client was removed from the room.
    Kicked(Kicked),
    /// The driver stopped for good (closed, kicked, room closed, rejoin refused, or
    /// reconnection gave up). The last event.
    Closed {
        /// Why.
        reason: Error,
    },
}

/// Counters of one client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Successful rejoins after lost connections.
    pub rejoins: u64,
    /// Connection attempts that failed.
    pub failed_connects: u64,
    /// Events dropped because the application dropped [`Events`].
    pub dropped_events: u64,
    /// The session's own counters.
    pub session: SessionStats,
}

#[derive(Debug, Clone)]
struct Snapshot {
    permissions: Permissions,
    participants: Vec<Participant>,
    joined: bool,
    stats: ClientStats,
}

#[derive(Debug)]
enum Call {
    Offer(PeerId, String),
    Answer(PeerId, String),
    Candidate(PeerId, IceCandidate),
    Message(Option<PeerId>, Value),
    Kick(PeerId, Option<String>),
    Ping,
    Leave,
    SetToken(Option<String>),
}

#[derive(Debug)]
struct Command {
    call: Call,
    reply: oneshot::Sender<Result<Reply, Error>>,
}

/// A handle on a joined signaling session. Cheap to clone; the driver task stops when
/// [`close`](Self::close) is called or the last handle is dropped.
#[derive(Debug, Clone)]
pub struct Client {
    room: RoomName,
    peer_id: PeerId,
    joined: Arc<JoinResult>,
    commands: mpsc::Sender<Command>,
    snapshot: watch::Receiver<Snapshot>,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

/// The stream of [`ClientEvent`]s; also a [`Stream`].
#[derive(Debug)]
pub struct Events {
    rx: mpsc::Receiver<ClientEvent>,
}

impl Events {
    /// The next event; `None` after [`ClientEvent::Closed`].
    pub async fn recv(&mut self) -> Option<ClientEvent> {
        self.rx.recv().await
    }
}

impl Stream for Events {
    type Item = ClientEvent;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ClientEvent>> {
        self.rx.poll_recv(cx)
    }
}

impl Client {
    /// Connects to `config.url`, joins `config.session.room`, and starts the driver.
    ///
    /// The first connection is not retried: an unreachable server or a refused join is
    /// returned as the error. Later losses are retried per `config.reconnect`.
    pub async fn connect(config: ClientConfig) -> Result<(Self, Events), Error> {
        if config.event_queue == 0 {
            return Err(Error::InvalidArgument {
                what: "event_queue",
                reason: "must be at least 1".to_owned(),
            });
        }
        let socket = open(&config.url, config.connect_timeout).await?;
        let (commands_tx, commands_rx) = mpsc::channel(COMMAND_QUEUE);
        let (events_tx, events_rx) = mpsc::channel(config.event_queue);
        let (ready_tx, ready_rx) = oneshot::channel();
        let placeholder = Snapshot {
            permissions: Permissions::PARTICIPANT,
            participants: Vec::new(),
            joined: false,
            stats: ClientStats::default(),
        };
        let (snapshot_tx, snapshot_rx) = watch::channel(placeholder);
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        let seed = config.seed.unwrap_or_else(rand::random);
        let room = config.session.room.clone();
        let driver = Driver {
            session: Session::new(config.session.clone()),
            backoff: Backoff::new(config.reconnect.clone(), seed),
            config,
            commands: commands_rx,
            events: events_tx,
            snapshot: snapshot_tx,
            replies: HashMap::new(),
            ready: Some(ready_tx),
            cancel: cancel.clone(),
            stats: ClientStats::default(),
            events_open: true,
        };
        tracker.spawn(driver.run(socket));
        tracker.close();
        match ready_rx.await {
            Ok(Ok(joined)) => Ok((
                Self {
                    room,
                    peer_id: joined.peer_id.clone(),
                    joined: Arc::new(joined),
                    commands: commands_tx,
                    snapshot: snapshot_rx,
                    cancel,
                    tracker,
                },
                Events { rx: events_rx },
            )),
            Ok(Err(error)) => {
                tracker.wait().await;
                Err(error)
            }
            Err(_) => Err(Error::Closed {
                reason: "the driver stopped before joining".to_owned(),
            }),
        }
    }

    /// The room this client is in.
    pub fn room(&self) -> &RoomName {
        &self.room
    }

    /// This client's id in the room (stable across reconnections).
    pub fn peer_id(&self) -> &PeerId {
        &self.peer_id
    }

    /// The answer to the first join: the participants who were in the room before this
    /// client, exactly those that precede every [`ClientEvent::PeerJoined`] on
    /// [`Events`] (unlike [`participants`](Self::participants), which may already
    /// include peers whose arrival is still queued there). Rejoins report theirs in
    /// [`ClientEvent::Rejoined`].
    pub fn join_result(&self) -> &JoinResult {
        &self.joined
    }

    /// What the room token grants.
    pub fn permissions(&self) -> Permissions {
        self.snapshot.borrow().permissions
    }

    /// The other participants as last known.
    pub fn participants(&self) -> Vec<Participant> {
        self.snapshot.borrow().participants.clone()
    }

    /// Whether the client is in its room right now (not reconnecting, not closed).
    pub fn is_joined(&self) -> bool {
        self.snapshot.borrow().joined
    }

    /// Counters.
    pub fn stats(&self) -> ClientStats {
        self.snapshot.borrow().stats
    }

    /// Sends an offer to `to`; resolves when the server has relayed it.
    pub async fn send_offer(&self, to: PeerId, sdp: impl Into<String>) -> Result<(), Error> {
        self.call(Call::Offer(to, sdp.into())).await.map(drop)
    }

    /// Sends an answer to `to`.
    pub async fn send_answer(&self, to: PeerId, sdp: impl Into<String>) -> Result<(), Error> {
        self.call(Call::Answer(to, sdp.into())).await.map(drop)
    }

    /// Sends an ICE candidate (or end-of-candidates) to `to`.
    pub async fn send_candidate(&self, to: PeerId, candidate: IceCandidate) -> Result<(), Error> {
        self.call(Call::Candidate(to, candidate)).await.map(drop)
    }

    /// Sends application data to `to`, or to every other participant when `None`.
    pub async fn send_message(&self, to: Option<PeerId>, data: Value) -> Result<(), Error> {
        self.call(Call::Message(to, data)).await.map(drop)
    }

    /// Removes `peer_id` from the room (needs the `admin` permission).
    pub async fn kick(&self, peer_id: PeerId, reason: Option<String>) -> Result<(), Error> {
        self.call(Call::Kick(peer_id, reason)).await.map(drop)
    }

    /// Round-trip time of one `ping` through the server.
    pub async fn ping(&self) -> Result<Duration, Error> {
        let started = Instant::now();
        self.call(Call::Ping).await?;
        Ok(started.elapsed())
    }

    /// Replaces the room token used when the client rejoins after a lost connection
    /// (tokens expire; a rejoin with an expired one is refused and ends the client).
    pub async fn set_token(&self, token: impl Into<String>) -> Result<(), Error> {
        self.call(Call::SetToken(Some(token.into())))
            .await
            .map(drop)
    }

    /// Leaves the room, stops the driver and waits for it. Idempotent.
    pub async fn close(&self) {
        let (reply, done) = oneshot::channel();
        let leave = Command {
            call: Call::Leave,
            reply,
        };
        // Best effort: a leave that cannot be delivered in a second is skipped.
        if self.commands.try_send(leave).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(1), done).await;
        }
        self.cancel.cancel();
        self.tracker.wait().await;
    }

    async fn call(&self, call: Call) -> Result<Reply, Error> {
        let (reply, response) = oneshot::channel();
        self.commands
            .send(Command { call, reply })
            .await
            .map_err(|_| closed("the client is closed"))?;
        response
            .await
            .map_err(|_| closed("the client closed before the response"))?
    }
}

fn closed(reason: &str) -> Error {
    Error::Closed {
        reason: reason.to_owned(),
    }
}

async fn open(url: &str, limit: Duration) -> Result<Socket, Error> {
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_SERVER_FRAME_BYTES))
        .max_frame_size(Some(MAX_SERVER_FRAME_BYTES))
        .read_buffer_size(16 * 1024)
        .write_buffer_size(0);
    match tokio::time::timeout(
        limit,
        tokio_tungstenite::connect_async_with_config(url, Some(config), true),
    )
    .await
    {
        Ok(Ok((socket, _response))) => Ok(socket),
        Ok(Err(error)) => Err(Error::Transport {
            reason: format!("cannot connect to {url}"),
            source: Some(Box::new(error)),
        }),
        Err(_) => Err(Error::Transport {
            reason: format!("connecting to {url} took longer than {limit:?}"),
            source: None,
        }),
    }
}

/// Why one connection ended.
enum Ending {
    /// Transport lost or stale: reconnect.
    Lost(Error),
    /// The session ended or the client is closing: stop.
    Stop(Error),
}

struct Driver {
    config: ClientConfig,
    session: Session,
    backoff: Backoff,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<ClientEvent>,
    snapshot: watch::Sender<Snapshot>,
    replies: HashMap<RequestId, oneshot::Sender<Result<Reply, Error>>>,
    ready: Option<oneshot::Sender<Result<JoinResult, Error>>>,
    cancel: CancellationToken,
    stats: ClientStats,
    events_open: bool,
}

impl Driver {
    async fn run(mut self, first: Socket) {
        let mut socket = Some(first);
        let reason = loop {
            let ending = match socket.take() {
                Some(socket) => self.connection(socket).await,
                None => Ending::Lost(closed("no connection")),
            };
            self.session.handle_disconnected(Instant::now().into_std());
            self.drain_outputs_offline().await;
            let reason = match ending {
                Ending::Stop(reason) => break reason,
                Ending::Lost(reason) => reason,
            };
            if let Some(ready) = self.ready.take() {
                // The first connection failed before joining: report, do not retry.
                let _ = ready.send(Err(reason));
                return;
            }
            tracing::debug!(error = %reason, "signaling connection lost");
            self.publish(false);
            self.emit(ClientEvent::Disconnected { reason }).await;
            match self.reconnect().await {
                Some(next) => socket = Some(next),
                None => {
                    break if self.cancel.is_cancelled() {
                        closed("closed by the application")
                    } else {
                        closed("gave up reconnecting")
                    };
                }
            }
        };
        self.publish(false);
        for (_, reply) in self.replies.drain() {
            let _ = reply.send(Err(closed("the client closed")));
        }
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(Err(reason));
        } else {
            self.emit(ClientEvent::Closed { reason }).await;
        }
    }

    /// Waits out the backoff and connects; `None` when giving up or cancelled.
    async fn reconnect(&mut self) -> Option<Socket> {
        loop {
            let delay = self.backoff.next_delay()?;
            self.emit(ClientEvent::Reconnecting {
                attempt: self.backoff.attempts(),
                delay,
            })
            .await;
            tokio::select! {
                () = self.cancel.cancelled() => return None,
                () = tokio::time::sleep(delay) => {}
            }
            // Fail what callers queued meanwhile: they would wait a whole reconnection.
            while let Ok(command) = self.commands.try_recv() {
                let result = match command.call {
                    Call::SetToken(token) => self.session.set_token(token).map(|()| Reply::Ack),
                    _ => Err(Error::NotJoined),
                };
                let _ = command.reply.send(result);
            }
            match open(&self.config.url, self.config.connect_timeout).await {
                Ok(socket) => return Some(socket),
                Err(error) => {
                    self.stats.failed_connects += 1;
                    tracing::debug!(%error, "reconnection attempt failed");
                }
            }
        }
    }

    async fn connection(&mut self, mut socket: Socket) -> Ending {
        self.session.handle_connected(Instant::now().into_std());
        loop {
            if let Some(ending) = self.drain_outputs(&mut socket).await {
                let _ = socket.close(None).await;
                return ending;
            }
            let deadline = self.session.poll_timeout();
            let timer = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(Instant::from_std(at)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = self.cancel.cancelled() => {
                    let _ = socket.close(None).await;
                    return Ending::Stop(closed("closed by the application"));
                }
                command = self.commands.recv() => {
                    let Some(command) = command else {
                        // Every handle is gone: leave politely and stop.
                        let _ = self.session.leave(Instant::now().into_std());
                        let _ = self.drain_outputs(&mut socket).await;
                        let _ = socket.close(None).await;
                        return Ending::Stop(closed("every client handle was dropped"));
                    };
                    self.command(command);
                }
                frame = socket.next() => match frame {
                    Some(Ok(Message::Text(text))) => {
                        if let Err(error) = self.session.handle_frame(Instant::now().into_std(), &text) {
                            tracing::debug!(%error, "refused a server frame");
                        }
                    }
                    Some(Ok(Message::Close(close))) => {
                        return Ending::Lost(Error::Transport {
                            reason: format!("server closed the connection: {close:?}"),
                            source: None,
                        });
                    }
                    Some(Ok(_)) => {}
                    Some(Err(error)) => {
                        return Ending::Lost(Error::Transport {
                            reason: "connection failed".to_owned(),
                            source: Some(Box::new(error)),
                        });
                    }
                    None => {
                        return Ending::Lost(Error::Transport {
                            reason: "connection closed".to_owned(),
                            source: None,
                        });
                    }
                },
                () = timer => self.session.handle_timeout(Instant::now().into_std()),
            }
        }
    }

    fn command(&mut self, command: Command) {
        let now = Instant::now().into_std();
        let result = match command.call {
            Call::Offer(to, sdp) => self.session.offer(now, to, sdp),
            Call::Answer(to, sdp) => self.session.answer(now, to, sdp),
            Call::Candidate(to, candidate) => self.session.candidate(now, to, candidate),
            Call::Message(to, data) => self.session.message(now, to, data),
            Call::Kick(peer, reason) => self.session.kick(now, peer, reason),
            Call::Ping => self.session.ping(now),
            Call::SetToken(token) => {
                let _ = command
                    .reply
                    .send(self.session.set_token(token).map(|()| Reply::Ack));
                return;
            }
            Call::Leave => {
                let result = self.session.leave(now);
                if result.is_ok() {
                    self.cancel.cancel();
                }
                result
            }
        };
        match result {
            Ok(id) => {
                self.replies.insert(id, command.reply);
            }
            Err(error) => {
                let _ = command.reply.send(Err(error));
            }
        }
    }

    /// Sends what the session queued and dispatches its events; `Some` ends the
    /// connection.
    async fn drain_outputs(&mut self, socket: &mut Socket) -> Option<Ending> {
        let mut ending = None;
        while let Some(output) = self.session.poll_output() {
            match output {
                Output::Transmit(frame) => {
                    if ending.is_none()
                        && let Err(error) = socket.send(Message::Text(frame.into())).await
                    {
                        ending = Some(Ending::Lost(Error::Transport {
                            reason: "send failed".to_owned(),
                            source: Some(Box::new(error)),
                        }));
                    }
                }
                Output::Event(event) => {
                    if let Some(end) = self.dispatch(event).await {
                        ending.get_or_insert(end);
                    }
                }
            }
        }
        self.publish(self.session.is_joined());
        ending
    }

    async fn drain_outputs_offline(&mut self) {
        while let Some(output) = self.session.poll_output() {
            if let Output::Event(event) = output {
                let _ = self.dispatch(event).await;
            }
        }
    }

    async fn dispatch(&mut self, event: Event) -> Option<Ending> {
        let client_event = match event {
            Event::Joined { result, rejoined } => {
                self.backoff.reset();
                self.publish(true);
                if let Some(ready) = self.ready.take() {
                    let _ = ready.send(Ok(result));
                    return None;
                }
                debug_assert!(rejoined, "a second join is always a rejoin");
                self.stats.rejoins += 1;
                self.publish(true);
                ClientEvent::Rejoined(result)
            }
            Event::JoinFailed { error, retryable } => {
                return Some(if retryable && self.ready.is_none() {
                    Ending::Lost(error)
                } else {
                    Ending::Stop(error)
                });
            }
            Event::PeerJoined(p) => ClientEvent::PeerJoined(p),
            Event::PeerLeft(p) => ClientEvent::PeerLeft(p),
            Event::Offer(o) => ClientEvent::Offer(o),
            Event::Answer(a) => ClientEvent::Answer(a),
            Event::Candidate(c) => ClientEvent::Candidate(c),
            Event::Message(m) => ClientEvent::Message(m),
            Event::Kicked(kicked) => {
                let reason = kicked
                    .reason
                    .clone()
                    .unwrap_or_else(|| "no reason".to_owned());
                self.emit(ClientEvent::Kicked(kicked)).await;
                return Some(Ending::Stop(closed(&format!("kicked: {reason}"))));
            }
            Event::RoomClosed(RoomClosed { reason }) => {
                return Some(if reason == RoomClosedReason::Shutdown {
                    self.emit(ClientEvent::ServerShutdown).await;
                    Ending::Lost(closed("server shutting down"))
                } else {
                    Ending::Stop(closed("the room was closed"))
                });
            }
            Event::Reply { id, result } => {
                if let Some(reply) = self.replies.remove(&id) {
                    let _ = reply.send(result);
                }
                return None;
            }
            Event::Stale => {
                return Some(Ending::Lost(Error::Timeout { method: "ping" }));
            }
        };
        self.emit(client_event).await;
        None
    }

    async fn emit(&mut self, event: ClientEvent) {
        if self.events_open && self.events.send(event).await.is_err() {
            self.events_open = false;
        }
        if !self.events_open {
            self.stats.dropped_events += 1;
        }
    }

    fn publish(&mut self, joined: bool) {
        let session = &self.session;
        let mut stats = self.stats;
        stats.session = session.stats();
        self.snapshot.send_modify(|snapshot| {
            if let Some(permissions) = session.permissions() {
                snapshot.permissions = permissions;
            }
            snapshot.participants = session.participants().to_vec();
            snapshot.joined = joined && session.state() == SessionState::Joined;
            snapshot.stats = stats;
        });
    }
}
