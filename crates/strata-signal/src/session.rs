//! The client side of the protocol as a sans-IO state machine.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::Error;
use crate::error_code::ErrorCode;
use crate::ids::{PeerId, RequestId, RoomName};
use crate::message::{
    CandidateParams, IceCandidate, JoinParams, JoinResult, KickParams, Kicked, MessageParams,
    Method, Notification, Participant, PeerLeft, RelayedCandidate, RelayedMessage, RelayedSdp,
    Request, RequestFrame, Response, RoomClosed, RoomClosedReason, SdpParams, ServerMessage,
    parse_server_message,
};

/// Bound on the output queue between two drains; see [`Session`]'s drain rule.
pub const MAX_QUEUED_OUTPUTS: usize = 1024;

/// What a [`Session`] joins and how patient it is.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
    /// The room to join (and to rejoin after every reconnection).
    pub room: RoomName,
    /// The room token, if the server requires one.
    pub token: Option<String>,
    /// The id to ask for; after the first join the id the server granted is reused.
    pub peer_id: Option<PeerId>,
    /// Metadata shown to the other participants.
    pub metadata: Option<Value>,
    /// How long a request waits for its response.
    pub request_timeout: Duration,
    /// After this long without any frame from the server, the session sends a `ping`; if
    /// that goes unanswered for `request_timeout`, it reports [`Event::Stale`].
    pub heartbeat_interval: Duration,
    /// Most requests awaiting a response at once; more are refused with
    /// [`Error::TooManyPending`].
    pub max_pending: usize,
}

impl SessionConfig {
    /// Defaults for `room`: 10 s request timeout, 15 s heartbeat, 256 pending requests.
    pub fn new(room: RoomName) -> Self {
        Self {
            room,
            token: None,
            peer_id: None,
            metadata: None,
            request_timeout: Duration::from_secs(10),
            heartbeat_interval: Duration::from_secs(15),
            max_pending: 256,
        }
    }
}

/// Where the session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionState {
    /// No transport, or connected and not (yet, or again) joined.
    Offline,
    /// `join` sent, awaiting its result.
    Joining,
    /// In the room.
    Joined,
    /// Left, kicked, refused or the room was closed: the session will not rejoin.
    Ended,
}

/// The typed result of a request.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Reply {
    /// `join` succeeded.
    Joined(JoinResult),
    /// Any other method succeeded.
    Ack,
}

/// What happened, for the application.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// The session joined its room; `rejoined` after a reconnection. `result.participants`
    /// is the room as it is now: reconcile with what you knew before.
    Joined {
        /// The server's answer.
        result: JoinResult,
        /// Whether this is a rejoin after a lost connection.
        rejoined: bool,
    },
    /// `join` failed. When `retryable` (peer id still held by a stale connection, server
    /// shutting down, rate limited, timed out) the session stays [`SessionState::Offline`]
    /// and rejoins on the next connection; otherwise it is [`SessionState::Ended`].
    JoinFailed {
        /// Why.
        error: Error,
        /// Whether a later connection may succeed.
        retryable: bool,
    },
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
    /// This session was removed from the room; it will not rejoin.
    Kicked(Kicked),
    /// The room was closed. With [`RoomClosedReason::Shutdown`] the session rejoins
    /// on the next connection; otherwise it has ended.
    RoomClosed(RoomClosed),
    /// A request the application made finished.
    Reply {
        /// The id its call returned.
        id: RequestId,
        /// Its result.
        result: Result<Reply, Error>,
    },
    /// The server stopped answering (a heartbeat or `join` timed out): drop the transport,
    /// call [`Session::handle_disconnected`], and reconnect.
    Stale,
}

/// What the driver must do next.
#[derive(Debug)]
#[non_exhaustive]
pub enum Output {
    /// Send this text frame to the server.
    Transmit(String),
    /// Hand this event to the application.
    Event(Event),
}

/// Counters of what the session saw and refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Frames handed to [`Session::handle_frame`].
    pub frames_received: u64,
    /// Frames that were not valid protocol messages.
    pub malformed_frames: u64,
    /// Well-formed frames the protocol does not allow (responses to unknown ids, ...).
    pub protocol_violations: u64,
    /// Notifications of methods this version does not know, ignored.
    pub unknown_notifications: u64,
    /// Room notifications that arrived while not joined (after `leave`, say), ignored.
    pub ignored_notifications: u64,
    /// Requests that timed out.
    pub timeouts: u64,
    /// Outputs dropped because the queue held [`MAX_QUEUED_OUTPUTS`] (the driver broke
    /// the drain rule).
    pub dropped_outputs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Join,
    Heartbeat,
    Caller(Method),
}

#[derive(Debug)]
struct Pending {
    purpose: Purpose,
    deadline: Instant,
}

/// The client side of one signaling session: joins its room, correlates responses with
/// requests, tracks the participants, keeps the connection alive and rejoins after a
/// reconnection. No I/O, no clock: time comes in as `now`.
///
/// # Calling convention
///
/// - Feed it: [`handle_connected`](Self::handle_connected) when the transport is up,
///   [`handle_frame`](Self::handle_frame) for each text frame,
///   [`handle_disconnected`](Self::handle_disconnected) when the transport is gone, and
///   [`handle_timeout`](Self::handle_timeout) when [`poll_timeout`](Self::poll_timeout)'s
///   instant has passed (calling it early is harmless).
/// - Act through it: [`offer`](Self::offer), [`answer`](Self::answer),
///   [`candidate`](Self::candidate), [`message`](Self::message), [`kick`](Self::kick),
///   [`ping`](Self::ping), [`leave`](Self::leave); each returns the request id its
///   [`Event::Reply`] will carry.
/// - **Drain rule:** after every call above, call [`poll_output`](Self::poll_output)
///   until it returns `None` (send each [`Output::Transmit`] in order, hand each
///   [`Output::Event`] to the application), then wait for the next input or for
///   `poll_timeout()`. The queue holds at most [`MAX_QUEUED_OUTPUTS`]; beyond that
///   outputs are dropped and counted in [`SessionStats::dropped_outputs`].
/// - `now` must not go backwards.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    state: SessionState,
    connected: bool,
    joined_before: bool,
    granted_peer_id: Option<PeerId>,
    permissions: Option<crate::Permissions>,
    participants: Vec<Participant>,
    next_id: u64,
    pending: BTreeMap<u64, Pending>,
    heartbeat: Option<u64>,
    /// The server stopped answering; no more heartbeats until the next connection.
    stale: bool,
    last_inbound: Option<Instant>,
    outputs: VecDeque<Output>,
    stats: SessionStats,
}

impl Session {
    /// A session that will join `config.room` once connected.
    pub fn new(config: SessionConfig) -> Self {
        Self {
            config,
            state: SessionState::Offline,
            connected: false,
            joined_before: false,
            granted_peer_id: None,
            permissions: None,
            participants: Vec::new(),
            next_id: 1,
            pending: BTreeMap::new(),
            heartbeat: None,
            stale: false,
            last_inbound: None,
            outputs: VecDeque::new(),
            stats: SessionStats::default(),
        }
    }

    /// Where the session stands.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// Whether the session is in its room now.
    pub fn is_joined(&self) -> bool {
        self.state == SessionState::Joined
    }

    /// The room this session joins.
    pub fn room(&self) -> &RoomName {
        &self.config.room
    }

    /// The id the server granted on the last successful join.
    pub fn peer_id(&self) -> Option<&PeerId> {
        self.granted_peer_id.as_ref()
    }

    /// What the last join granted.
    pub fn permissions(&self) -> Option<crate::Permissions> {
        self.permissions
    }

    /// The other participants, in join order, as last known.
    pub fn participants(&self) -> &[Participant] {
        &self.participants
    }

    /// Counters.
    pub fn stats(&self) -> SessionStats {
        self.stats
    }

    /// Replaces the room token used by the next (re)join, for tokens that expire during
    /// a long session. The current membership is unaffected.
    pub fn set_token(&mut self, token: Option<String>) -> Result<(), Error> {
        if let Some(token) = &token
            && token.len() > crate::limits::MAX_TOKEN_BYTES
        {
            return Err(Error::InvalidArgument {
                what: "token",
                reason: format!(
                    "is {} bytes, at most {} allowed",
                    token.len(),
                    crate::limits::MAX_TOKEN_BYTES
                ),
            });
        }
        self.config.token = token;
        Ok(())
    }

    /// Requests awaiting a response (heartbeats and joins included).
    pub fn pending_requests(&self) -> usize {
        self.pending.len()
    }

    /// The transport is up: sends `join` unless the session has ended.
    pub fn handle_connected(&mut self, now: Instant) {
        self.connected = true;
        self.stale = false;
        self.last_inbound = Some(now);
        if self.state != SessionState::Ended {
            self.send_join(now);
        }
    }

    /// The transport is gone: every pending request fails with [`Error::Disconnected`].
    pub fn handle_disconnected(&mut self, _now: Instant) {
        self.connected = false;
        self.heartbeat = None;
        self.last_inbound = None;
        if self.state != SessionState::Ended {
            self.state = SessionState::Offline;
        }
        for (id, pending) in std::mem::take(&mut self.pending) {
            if let Purpose::Caller(method) = pending.purpose {
                self.emit(Event::Reply {
                    id: RequestId::Number(id),
                    result: Err(Error::Disconnected {
                        method: method.as_str(),
                    }),
                });
            }
        }
    }

    /// One text frame from the server. An error means the frame was refused (and
    /// counted); the session stays usable.
    pub fn handle_frame(&mut self, now: Instant, frame: &str) -> Result<(), Error> {
        self.stats.frames_received += 1;
        self.last_inbound = Some(now);
        let message = parse_server_message(frame).inspect_err(|_| {
            self.stats.malformed_frames += 1;
        })?;
        match message {
            ServerMessage::Response(response) => self.handle_response(response),
            ServerMessage::Notification(notification) => {
                self.handle_notification(notification);
                Ok(())
            }
            ServerMessage::UnknownNotification { .. } => {
                self.stats.unknown_notifications += 1;
                Ok(())
            }
        }
    }

    /// Expires requests whose deadline passed and sends heartbeats when due.
    pub fn handle_timeout(&mut self, now: Instant) {
        let expired: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            let Some(pending) = self.pending.remove(&id) else {
                continue;
            };
            self.stats.timeouts += 1;
            match pending.purpose {
                Purpose::Join => {
                    self.state = SessionState::Offline;
                    self.stale = true;
                    self.emit(Event::JoinFailed {
                        error: Error::Timeout { method: "join" },
                        retryable: true,
                    });
                    self.emit(Event::Stale);
                }
                Purpose::Heartbeat => {
                    self.heartbeat = None;
                    self.stale = true;
                    self.emit(Event::Stale);
                }
                Purpose::Caller(method) => self.emit(Event::Reply {
                    id: RequestId::Number(id),
                    result: Err(Error::Timeout {
                        method: method.as_str(),
                    }),
                }),
            }
        }
        if let Some(due) = self.heartbeat_due()
            && due <= now
            && self.pending.len() < self.config.max_pending
        {
            let id = self.send(now, Request::Ping, Purpose::Heartbeat);
            self.heartbeat = Some(id);
        }
    }

    /// The next instant [`handle_timeout`](Self::handle_timeout) has work to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let deadline = self.pending.values().map(|p| p.deadline).min();
        match (deadline, self.heartbeat_due()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next thing to do; see the drain rule on [`Session`].
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// Sends an offer to `to`.
    pub fn offer(&mut self, now: Instant, to: PeerId, sdp: String) -> Result<RequestId, Error> {
        self.call(now, Request::Offer(SdpParams { to, sdp }))
    }

    /// Sends an answer to `to`.
    pub fn answer(&mut self, now: Instant, to: PeerId, sdp: String) -> Result<RequestId, Error> {
        self.call(now, Request::Answer(SdpParams { to, sdp }))
    }

    /// Sends an ICE candidate (or end-of-candidates) to `to`.
    pub fn candidate(
        &mut self,
        now: Instant,
        to: PeerId,
        candidate: IceCandidate,
    ) -> Result<RequestId, Error> {
        self.call(now, Request::Candidate(CandidateParams::new(to, candidate)))
    }

    /// Sends application data to `to`, or to every other participant when `None`.
    pub fn message(
        &mut self,
        now: Instant,
        to: Option<PeerId>,
        data: Value,
    ) -> Result<RequestId, Error> {
        self.call(now, Request::Message(MessageParams { to, data }))
    }

    /// Removes `peer_id` from the room (needs the `admin` permission).
    pub fn kick(
        &mut self,
        now: Instant,
        peer_id: PeerId,
        reason: Option<String>,
    ) -> Result<RequestId, Error> {
        self.call(now, Request::Kick(KickParams { peer_id, reason }))
    }

    /// Asks the server for a sign of life (works joined or not, while connected).
    pub fn ping(&mut self, now: Instant) -> Result<RequestId, Error> {
        if !self.connected {
            return Err(Error::NotJoined);
        }
        self.check_capacity()?;
        Ok(RequestId::Number(self.send(
            now,
            Request::Ping,
            Purpose::Caller(Method::Ping),
        )))
    }

    /// Leaves the room for good: the session will not rejoin.
    pub fn leave(&mut self, now: Instant) -> Result<RequestId, Error> {
        let id = self.call(now, Request::Leave)?;
        self.state = SessionState::Ended;
        self.participants.clear();
        Ok(id)
    }

    fn call(&mut self, now: Instant, request: Request) -> Result<RequestId, Error> {
        if self.state != SessionState::Joined || !self.connected {
            return Err(Error::NotJoined);
        }
        request.validate()?;
        self.check_capacity()?;
        let method = request.method();
        Ok(RequestId::Number(self.send(
            now,
            request,
            Purpose::Caller(method),
        )))
    }

    fn check_capacity(&self) -> Result<(), Error> {
        if self.pending.len() >= self.config.max_pending {
            return Err(Error::TooManyPending {
                limit: self.config.max_pending,
            });
        }
        Ok(())
    }

    fn heartbeat_due(&self) -> Option<Instant> {
        if !self.connected || self.stale || self.heartbeat.is_some() {
            return None;
        }
        self.last_inbound
            .map(|last| last + self.config.heartbeat_interval)
    }

    fn send_join(&mut self, now: Instant) {
        let request = Request::Join(JoinParams {
            room: self.config.room.clone(),
            token: self.config.token.clone(),
            peer_id: self
                .granted_peer_id
                .clone()
                .or_else(|| self.config.peer_id.clone()),
            metadata: self.config.metadata.clone(),
        });
        self.send(now, request, Purpose::Join);
        self.state = SessionState::Joining;
    }

    fn send(&mut self, now: Instant, request: Request, purpose: Purpose) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let frame = RequestFrame {
            id: RequestId::Number(id),
            request,
        };
        self.pending.insert(
            id,
            Pending {
                purpose,
                deadline: now + self.config.request_timeout,
            },
        );
        self.push(Output::Transmit(frame.encode()));
        id
    }

    fn emit(&mut self, event: Event) {
        self.push(Output::Event(event));
    }

    fn push(&mut self, output: Output) {
        if self.outputs.len() >= MAX_QUEUED_OUTPUTS {
            self.stats.dropped_outputs += 1;
        } else {
            self.outputs.push_back(output);
        }
    }

    fn violation(&mut self, reason: String) -> Error {
        self.stats.protocol_violations += 1;
        Error::ProtocolViolation { reason }
    }

    fn handle_response(&mut self, response: Response) -> Result<(), Error> {
        let id = match response.id {
            Some(RequestId::Number(id)) => id,
            None => {
                let detail = match &response.outcome {
                    Err(error) => error.to_string(),
                    Ok(_) => "a result".to_owned(),
                };
                return Err(self.violation(format!(
                    "server answered a frame it could not identify: {detail}"
                )));
            }
            Some(other) => {
                return Err(self.violation(format!("response to an id never sent: {other}")));
            }
        };
        let Some(pending) = self.pending.remove(&id) else {
            return Err(self.violation(format!("response to an id not pending: {id}")));
        };
        match pending.purpose {
            Purpose::Join => {
                self.handle_join_response(response.outcome);
                Ok(())
            }
            Purpose::Heartbeat => {
                self.heartbeat = None;
                Ok(())
            }
            Purpose::Caller(method) => {
                let result =
                    response
                        .outcome
                        .map(|_| Reply::Ack)
                        .map_err(|error| Error::Rejected {
                            method: method.as_str(),
                            error,
                        });
                self.emit(Event::Reply {
                    id: RequestId::Number(id),
                    result,
                });
                Ok(())
            }
        }
    }

    fn handle_join_response(&mut self, outcome: Result<Value, crate::ErrorObject>) {
        match outcome {
            Ok(value) => {
                let result: JoinResult = match serde_json::from_value(value) {
                    Ok(result) => result,
                    Err(e) => {
                        self.state = SessionState::Offline;
                        let error = self.violation(format!("invalid join result: {e}"));
                        self.emit(Event::JoinFailed {
                            error,
                            retryable: true,
                        });
                        self.emit(Event::Stale);
                        return;
                    }
                };
                self.state = SessionState::Joined;
                self.granted_peer_id = Some(result.peer_id.clone());
                self.permissions = Some(result.permissions);
                self.participants.clone_from(&result.participants);
                let rejoined = self.joined_before;
                self.joined_before = true;
                self.emit(Event::Joined { result, rejoined });
            }
            Err(error) => {
                let retryable = matches!(
                    error.code,
                    ErrorCode::PEER_ID_TAKEN
                        | ErrorCode::SHUTTING_DOWN
                        | ErrorCode::RATE_LIMITED
                        | ErrorCode::INTERNAL_ERROR
                );
                self.state = if retryable {
                    SessionState::Offline
                } else {
                    SessionState::Ended
                };
                self.emit(Event::JoinFailed {
                    error: Error::Rejected {
                        method: "join",
                        error,
                    },
                    retryable,
                });
            }
        }
    }

    fn handle_notification(&mut self, notification: Notification) {
        if self.state != SessionState::Joined {
            self.stats.ignored_notifications += 1;
            return;
        }
        let event = match notification {
            Notification::PeerJoined(participant) => {
                self.participants
                    .retain(|p| p.peer_id != participant.peer_id);
                self.participants.push(participant.clone());
                Event::PeerJoined(participant)
            }
            Notification::PeerLeft(left) => {
                self.participants.retain(|p| p.peer_id != left.peer_id);
                Event::PeerLeft(left)
            }
            Notification::Offer(sdp) => Event::Offer(sdp),
            Notification::Answer(sdp) => Event::Answer(sdp),
            Notification::Candidate(candidate) => Event::Candidate(candidate),
            Notification::Message(message) => Event::Message(message),
            Notification::Kicked(kicked) => {
                self.state = SessionState::Ended;
                self.participants.clear();
                Event::Kicked(kicked)
            }
            Notification::RoomClosed(closed) => {
                self.state = if closed.reason == RoomClosedReason::Shutdown {
                    SessionState::Offline
                } else {
                    SessionState::Ended
                };
                self.participants.clear();
                Event::RoomClosed(closed)
            }
        };
        self.emit(event);
    }
}
