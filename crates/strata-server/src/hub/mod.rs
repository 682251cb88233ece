//! Rooms and relay as a sans-IO state machine.
//!
//! The hub knows connections by [`ConnId`], rooms by name and participants by
//! [`PeerId`]. Requests go in (already parsed, and for `join` already authenticated);
//! frames to deliver and connections to close come out. It never blocks, reads no clock
//! and holds no sockets, so every room rule is testable without a network.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use serde_json::Value;
use strata_signal::{
    Ack, ErrorCode, ErrorObject, JoinParams, JoinResult, KickParams, Kicked, LeaveReason,
    MessageParams, Notification, Participant, PeerId, PeerLeft, Permissions, RelayedCandidate,
    RelayedMessage, RelayedSdp, Request, RequestId, Response, RoomClosed, RoomClosedReason,
    RoomName,
};

#[cfg(test)]
mod tests;

/// A connection's id, unique for the hub's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// What a verified room token (or dev mode) admits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The identity the token names; the participant's peer id must be this one.
    pub identity: Option<PeerId>,
    /// The only room the token admits; `None` admits any room (dev mode).
    pub room: Option<RoomName>,
    /// What the participant may do.
    pub permissions: Permissions,
    /// A lower participant limit for the room, from the token.
    pub max_participants: Option<usize>,
    /// Whether a join with this grant may take over a seat held under the same peer id
    /// (a reconnection before the old connection timed out). True for identity tokens and
    /// dev mode, where the id is vouched for or nothing is.
    pub may_replace: bool,
}

/// Room limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubConfig {
    /// Most participants in one room.
    pub max_participants: usize,
    /// Most rooms at once.
    pub max_rooms: usize,
}

/// Why the hub wants a connection closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// Kicked by an admin or a room admin.
    Kicked,
    /// Another connection took over its peer id.
    Replaced,
    /// Its room was closed.
    RoomClosed,
    /// The server is shutting down.
    Shutdown,
}

/// What the hub asks the I/O layer to do.
#[derive(Debug, Clone, PartialEq)]
pub enum HubOutput {
    /// Queue this text frame (UTF-8 JSON) on the connection.
    Send {
        /// The receiver.
        conn: ConnId,
        /// The frame; shared between receivers of one broadcast.
        frame: Bytes,
    },
    /// Close the connection after the frames queued before this.
    Close {
        /// The connection.
        conn: ConnId,
        /// Why.
        reason: CloseReason,
    },
}

/// A room as the admin API lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RoomInfo {
    /// Its name.
    pub room: RoomName,
    /// Its participants in join order.
    pub participants: Vec<Participant>,
}

/// Counters, exported as metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HubStats {
    /// Frames delivered to a participant on another's behalf (offer, answer, candidate,
    /// message; a broadcast counts once per receiver).
    pub relayed: u64,
    /// Joins admitted.
    pub joins: u64,
    /// Error responses, by code (index into [`ErrorCode::ALL`]; the last slot counts
    /// codes outside it).
    pub errors: [u64; ErrorCode::ALL.len() + 1],
}

/// Why an admin operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// No such room.
    #[error("no room named {0}")]
    NoSuchRoom(String),
    /// No such participant in the room.
    #[error("no participant {peer} in room {room}")]
    NoSuchPeer {
        /// The room.
        room: String,
        /// The peer.
        peer: String,
    },
}

#[derive(Debug)]
struct Seat {
    conn: ConnId,
    metadata: Option<Value>,
    permissions: Permissions,
    seq: u64,
}

#[derive(Debug, Default)]
struct Room {
    seats: HashMap<PeerId, Seat>,
}

impl Room {
    fn participants_except(&self, except: Option<&PeerId>) -> Vec<Participant> {
        let mut seats: Vec<(&PeerId, &Seat)> = self
            .seats
            .iter()
            .filter(|(id, _)| Some(*id) != except)
            .collect();
        seats.sort_by_key(|(_, seat)| seat.seq);
        seats
            .into_iter()
            .map(|(id, seat)| Participant {
                peer_id: id.clone(),
                metadata: seat.metadata.clone(),
            })
            .collect()
    }
}

#[derive(Debug, Clone)]
struct Membership {
    room: RoomName,
    peer_id: PeerId,
    permissions: Permissions,
}

/// The rooms of one server.
///
/// # Calling convention
///
/// [`connect`](Self::connect) each connection, feed it requests with
/// [`join`](Self::join) and [`handle_request`](Self::handle_request), and
/// [`disconnect`](Self::disconnect) it when its socket is gone; admin operations and
/// [`shutdown`](Self::shutdown) act on rooms. **Drain rule:** after every call, take
/// [`poll_output`](Self::poll_output) until `None` and carry each output out in order.
/// Outputs of one call are bounded by the size of one room (plus one response), so the
/// queue never grows past that between drains.
#[derive(Debug)]
pub struct Hub {
    config: HubConfig,
    conns: HashMap<ConnId, Option<Membership>>,
    rooms: HashMap<RoomName, Room>,
    next_conn: u64,
    next_seq: u64,
    shutting_down: bool,
    outputs: VecDeque<HubOutput>,
    stats: HubStats,
}

impl Hub {
    /// An empty hub.
    pub fn new(config: HubConfig) -> Self {
        Self {
            config,
            conns: HashMap::new(),
            rooms: HashMap::new(),
            next_conn: 1,
            next_seq: 0,
            shutting_down: false,
            outputs: VecDeque::new(),
            stats: HubStats::default(),
        }
    }

    /// Registers a new connection.
    pub fn connect(&mut self) -> ConnId {
        let id = ConnId(self.next_conn);
        self.next_conn += 1;
        self.conns.insert(id, None);
        id
    }

    /// Connections registered.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// Participants in all rooms.
    pub fn participant_count(&self) -> usize {
        self.rooms.values().map(|r| r.seats.len()).sum()
    }

    /// Rooms that exist.
    pub fn room_count(&self) -> usize {
        self.rooms.len()
    }

    /// Counters.
    pub fn stats(&self) -> &HubStats {
        &self.stats
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down
    }

    /// The next output; see the drain rule.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<HubOutput> {
        self.outputs.pop_front()
    }

    /// Counts an error answered outside the hub (parse errors, rate limiting, ...).
    pub fn count_error(&mut self, code: ErrorCode) {
        let index = ErrorCode::ALL
            .iter()
            .position(|c| *c == code)
            .unwrap_or(ErrorCode::ALL.len());
        self.stats.errors[index] += 1;
    }

    /// `join`, with the grant the connection's token earned. `fresh_id` is used when
    /// neither the token nor the request names a peer id.
    pub fn join(
        &mut self,
        conn: ConnId,
        id: RequestId,
        params: JoinParams,
        grant: &Grant,
        fresh_id: PeerId,
    ) {
        match self.try_join(conn, params, grant, fresh_id) {
            Ok(result) => self.send_frame(conn, Response::encode_result(&id, &result)),
            Err(error) => self.refuse(conn, id, error),
        }
    }

    /// Checks a join against shutdown, membership, the token and the limits; returns the
    /// peer id to seat and the connection holding that seat now, if any.
    fn admit(
        &self,
        conn: ConnId,
        params: &JoinParams,
        grant: &Grant,
        fresh_id: PeerId,
    ) -> Result<(PeerId, Option<ConnId>), ErrorObject> {
        if self.shutting_down {
            return Err(ErrorObject::new(
                ErrorCode::SHUTTING_DOWN,
                "the server is shutting down",
            ));
        }
        match self.conns.get(&conn) {
            None => {
                return Err(ErrorObject::new(
                    ErrorCode::INTERNAL_ERROR,
                    "connection not registered",
                ));
            }
            Some(Some(member)) => {
                return Err(ErrorObject::new(
                    ErrorCode::ALREADY_JOINED,
                    format!("already in room {}; leave first", member.room),
                ));
            }
            Some(None) => {}
        }
        if let Some(room) = &grant.room
            && *room != params.room
        {
            return Err(ErrorObject::new(
                ErrorCode::UNAUTHORIZED,
                format!("the token is for another room, not {}", params.room),
            ));
        }
        let peer_id = match (&grant.identity, &params.peer_id) {
            (Some(identity), Some(asked)) if identity != asked => {
                return Err(ErrorObject::new(
                    ErrorCode::UNAUTHORIZED,
                    format!("the token is for {identity}, not {asked}"),
                ));
            }
            (Some(identity), _) => identity.clone(),
            (None, Some(asked)) => asked.clone(),
            (None, None) => fresh_id,
        };
        let limit = grant
            .max_participants
            .map_or(self.config.max_participants, |l| {
                l.min(self.config.max_participants)
            });
        let room_exists = self.rooms.contains_key(&params.room);
        if !room_exists && self.rooms.len() >= self.config.max_rooms {
            return Err(ErrorObject::new(
                ErrorCode::ROOM_FULL,
                format!(
                    "the server holds its limit of {} rooms",
                    self.config.max_rooms
                ),
            ));
        }
        let (held_by, occupied) = self.rooms.get(&params.room).map_or((None, 0), |room| {
            (room.seats.get(&peer_id).map(|s| s.conn), room.seats.len())
        });
        if held_by.is_some() && !grant.may_replace {
            return Err(ErrorObject::new(
                ErrorCode::PEER_ID_TAKEN,
                format!("{peer_id} is already in room {}", params.room),
            ));
        }
        let after_replacement = occupied - usize::from(held_by.is_some());
        if after_replacement >= limit {
            return Err(ErrorObject::new(
                ErrorCode::ROOM_FULL,
                format!("room {} is full ({limit} participants)", params.room),
            ));
        }
        Ok((peer_id, held_by))
    }

    fn try_join(
        &mut self,
        conn: ConnId,
        params: JoinParams,
        grant: &Grant,
        fresh_id: PeerId,
    ) -> Result<JoinResult, ErrorObject> {
        let (peer_id, held_by) = self.admit(conn, &params, grant, fresh_id)?;
        if let Some(old) = held_by {
            self.remove_member(old, LeaveReason::Replaced);
            self.notify(
                old,
                &Notification::Kicked(Kicked {
                    reason: Some("replaced by a new connection".to_owned()),
                }),
            );
            self.outputs.push_back(HubOutput::Close {
                conn: old,
                reason: CloseReason::Replaced,
            });
        }

        let room = self.rooms.entry(params.room.clone()).or_default();
        let participants = room.participants_except(None);
        self.next_seq += 1;
        room.seats.insert(
            peer_id.clone(),
            Seat {
                conn,
                metadata: params.metadata.clone(),
                permissions: grant.permissions,
                seq: self.next_seq,
            },
        );
        let others: Vec<ConnId> = room
            .seats
            .values()
            .filter(|s| s.conn != conn)
            .map(|s| s.conn)
            .collect();
        self.conns.insert(
            conn,
            Some(Membership {
                room: params.room.clone(),
                peer_id: peer_id.clone(),
                permissions: grant.permissions,
            }),
        );
        self.stats.joins += 1;
        let joined = encode(&Notification::PeerJoined(Participant {
            peer_id: peer_id.clone(),
            metadata: params.metadata,
        }));
        for other in others {
            self.outputs.push_back(HubOutput::Send {
                conn: other,
                frame: joined.clone(),
            });
        }
        Ok(JoinResult {
            room: params.room,
            peer_id,
            participants,
            permissions: grant.permissions,
        })
    }

    /// Every request but `join` (which needs a grant: see [`join`](Self::join)).
    pub fn handle_request(&mut self, conn: ConnId, id: RequestId, request: Request) {
        let result = match request {
            Request::Join(_) => Err(ErrorObject::new(
                ErrorCode::INTERNAL_ERROR,
                "join needs authentication first",
            )),
            Request::Ping => Ok(()),
            Request::Leave => self.member(conn).map(|_| {
                self.remove_member(conn, LeaveReason::Left);
            }),
            Request::Offer(p) => self.relay_to(conn, &p.to, |from| {
                Notification::Offer(RelayedSdp { from, sdp: p.sdp })
            }),
            Request::Answer(p) => self.relay_to(conn, &p.to, |from| {
                Notification::Answer(RelayedSdp { from, sdp: p.sdp })
            }),
            Request::Candidate(p) => self.relay_to(conn, &p.to, |from| {
                Notification::Candidate(RelayedCandidate {
                    from,
                    candidate: p.candidate,
                    sdp_mid: p.sdp_mid,
                    sdp_mline_index: p.sdp_mline_index,
                })
            }),
            Request::Message(MessageParams { to: Some(to), data }) => {
                self.relay_to(conn, &to, |from| {
                    Notification::Message(RelayedMessage {
                        from,
                        broadcast: false,
                        data,
                    })
                })
            }
            Request::Message(MessageParams { to: None, data }) => self.broadcast(conn, data),
            Request::Kick(KickParams { peer_id, reason }) => {
                self.kick_by_member(conn, &peer_id, reason)
            }
            _ => Err(ErrorObject::new(
                ErrorCode::METHOD_NOT_FOUND,
                "method not served by this server",
            )),
        };
        match result {
            Ok(()) => self.send_frame(conn, Response::encode_result(&id, &Ack {})),
            Err(error) => self.refuse(conn, id, error),
        }
    }

    /// The connection's socket is gone: its seat is freed and the room told.
    pub fn disconnect(&mut self, conn: ConnId) {
        self.remove_member(conn, LeaveReason::Disconnected);
        self.conns.remove(&conn);
    }

    /// Rooms and their participants, sorted by name.
    pub fn rooms(&self) -> Vec<RoomInfo> {
        let mut rooms: Vec<RoomInfo> = self
            .rooms
            .iter()
            .map(|(name, room)| RoomInfo {
                room: name.clone(),
                participants: room.participants_except(None),
            })
            .collect();
        rooms.sort_by(|a, b| a.room.cmp(&b.room));
        rooms
    }

    /// Removes `peer` from `room` on an administrator's behalf.
    pub fn kick(
        &mut self,
        room: &RoomName,
        peer: &PeerId,
        reason: Option<String>,
    ) -> Result<(), AdminError> {
        let conn = self
            .rooms
            .get(room)
            .ok_or_else(|| AdminError::NoSuchRoom(room.to_string()))?
            .seats
            .get(peer)
            .ok_or_else(|| AdminError::NoSuchPeer {
                room: room.to_string(),
                peer: peer.to_string(),
            })?
            .conn;
        self.kick_conn(conn, reason);
        Ok(())
    }

    /// Closes `room`: every participant is told and disconnected.
    pub fn close_room(&mut self, room: &RoomName) -> Result<(), AdminError> {
        let removed = self
            .rooms
            .remove(room)
            .ok_or_else(|| AdminError::NoSuchRoom(room.to_string()))?;
        self.evict(removed, RoomClosedReason::Closed, CloseReason::RoomClosed);
        Ok(())
    }

    /// Refuses new joins, tells every participant the server is going away and closes
    /// every connection (after the frames already queued for it).
    pub fn shutdown(&mut self) {
        self.shutting_down = true;
        let rooms: Vec<Room> = self.rooms.drain().map(|(_, room)| room).collect();
        for room in rooms {
            self.evict(room, RoomClosedReason::Shutdown, CloseReason::Shutdown);
        }
        let idle: Vec<ConnId> = self.conns.keys().copied().collect();
        for conn in idle {
            self.outputs.push_back(HubOutput::Close {
                conn,
                reason: CloseReason::Shutdown,
            });
        }
    }

    fn evict(&mut self, room: Room, reason: RoomClosedReason, close: CloseReason) {
        let frame = encode(&Notification::RoomClosed(RoomClosed { reason }));
        let mut seats: Vec<Seat> = room.seats.into_values().collect();
        seats.sort_by_key(|s| s.seq);
        for seat in seats {
            if let Some(membership) = self.conns.get_mut(&seat.conn) {
                *membership = None;
            }
            self.outputs.push_back(HubOutput::Send {
                conn: seat.conn,
                frame: frame.clone(),
            });
            if close != CloseReason::Shutdown {
                self.outputs.push_back(HubOutput::Close {
                    conn: seat.conn,
                    reason: close,
                });
            }
        }
    }

    fn kick_by_member(
        &mut self,
        conn: ConnId,
        target: &PeerId,
        reason: Option<String>,
    ) -> Result<(), ErrorObject> {
        let member = self.member(conn)?;
        if !member.permissions.admin {
            return Err(ErrorObject::new(
                ErrorCode::FORBIDDEN,
                "kicking needs the admin permission",
            ));
        }
        let target_conn = self.seat_conn(&member.room, target)?;
        self.kick_conn(target_conn, reason);
        Ok(())
    }

    fn kick_conn(&mut self, conn: ConnId, reason: Option<String>) {
        self.remove_member(conn, LeaveReason::Kicked);
        self.notify(conn, &Notification::Kicked(Kicked { reason }));
        self.outputs.push_back(HubOutput::Close {
            conn,
            reason: CloseReason::Kicked,
        });
    }

    fn member(&self, conn: ConnId) -> Result<Membership, ErrorObject> {
        self.conns
            .get(&conn)
            .cloned()
            .flatten()
            .ok_or_else(|| ErrorObject::new(ErrorCode::NOT_JOINED, "join a room first"))
    }

    fn seat_conn(&self, room: &RoomName, peer: &PeerId) -> Result<ConnId, ErrorObject> {
        self.rooms
            .get(room)
            .and_then(|r| r.seats.get(peer))
            .map(|s| s.conn)
            .ok_or_else(|| {
                ErrorObject::new(
                    ErrorCode::PEER_NOT_FOUND,
                    format!("no participant {peer} in room {room}"),
                )
            })
    }

    fn relay_to(
        &mut self,
        conn: ConnId,
        to: &PeerId,
        notification: impl FnOnce(PeerId) -> Notification,
    ) -> Result<(), ErrorObject> {
        let member = self.member(conn)?;
        if !member.permissions.publish {
            return Err(ErrorObject::new(
                ErrorCode::FORBIDDEN,
                "sending needs the publish permission",
            ));
        }
        if *to == member.peer_id {
            return Err(ErrorObject::new(
                ErrorCode::INVALID_PARAMS,
                "cannot send to yourself",
            ));
        }
        let target = self
            .rooms
            .get(&member.room)
            .and_then(|r| r.seats.get(to))
            .ok_or_else(|| {
                ErrorObject::new(
                    ErrorCode::PEER_NOT_FOUND,
                    format!("no participant {to} in room {}", member.room),
                )
            })?;
        if !target.permissions.subscribe {
            return Err(ErrorObject::new(
                ErrorCode::FORBIDDEN,
                format!("{to} does not subscribe"),
            ));
        }
        let target = target.conn;
        self.notify(target, &notification(member.peer_id));
        self.stats.relayed += 1;
        Ok(())
    }

    fn broadcast(&mut self, conn: ConnId, data: Value) -> Result<(), ErrorObject> {
        let member = self.member(conn)?;
        if !member.permissions.publish {
            return Err(ErrorObject::new(
                ErrorCode::FORBIDDEN,
                "sending needs the publish permission",
            ));
        }
        let Some(room) = self.rooms.get(&member.room) else {
            return Err(ErrorObject::new(ErrorCode::NOT_JOINED, "join a room first"));
        };
        let targets: Vec<ConnId> = room
            .seats
            .values()
            .filter(|s| s.conn != conn && s.permissions.subscribe)
            .map(|s| s.conn)
            .collect();
        let frame = encode(&Notification::Message(RelayedMessage {
            from: member.peer_id,
            broadcast: true,
            data,
        }));
        self.stats.relayed += targets.len() as u64;
        for target in targets {
            self.outputs.push_back(HubOutput::Send {
                conn: target,
                frame: frame.clone(),
            });
        }
        Ok(())
    }

    fn remove_member(&mut self, conn: ConnId, reason: LeaveReason) {
        let Some(slot) = self.conns.get_mut(&conn) else {
            return;
        };
        let Some(member) = slot.take() else {
            return;
        };
        let Some(room) = self.rooms.get_mut(&member.room) else {
            return;
        };
        if room
            .seats
            .get(&member.peer_id)
            .is_some_and(|s| s.conn == conn)
        {
            room.seats.remove(&member.peer_id);
        }
        if room.seats.is_empty() {
            self.rooms.remove(&member.room);
            return;
        }
        let frame = encode(&Notification::PeerLeft(PeerLeft {
            peer_id: member.peer_id,
            reason,
        }));
        let others: Vec<ConnId> = room.seats.values().map(|s| s.conn).collect();
        for other in others {
            self.outputs.push_back(HubOutput::Send {
                conn: other,
                frame: frame.clone(),
            });
        }
    }

    fn notify(&mut self, conn: ConnId, notification: &Notification) {
        self.outputs.push_back(HubOutput::Send {
            conn,
            frame: encode(notification),
        });
    }

    fn send_frame(&mut self, conn: ConnId, frame: String) {
        self.outputs.push_back(HubOutput::Send {
            conn,
            frame: Bytes::from(frame),
        });
    }

    fn refuse(&mut self, conn: ConnId, id: RequestId, error: ErrorObject) {
        self.count_error(error.code);
        self.send_frame(conn, Response::error(Some(id), error).encode());
    }
}

fn encode(notification: &Notification) -> Bytes {
    Bytes::from(notification.encode())
}
