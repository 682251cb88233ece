//! Strata signaling: how peers find each other in a room and exchange offers, answers,
//! ICE candidates and application messages through a `strata` server.
//!
//! This crate holds the protocol — JSON-RPC 2.0 messages as Rust types with strict,
//! bounded parsing, and the documented error codes — plus a sans-IO client [`Session`]
//! and, behind the `client` feature, an async WebSocket client (`client::Client`) that
//! drives the session with heartbeats and automatic reconnection.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use strata_signal::{Event, Output, RoomName, Session, SessionConfig};
//!
//! # fn main() -> Result<(), strata_signal::Error> {
//! let mut session = Session::new(SessionConfig::new(RoomName::new("lobby")?));
//! let now = Instant::now();
//!
//! // The transport connected: the session asks to join.
//! session.handle_connected(now);
//! let Some(Output::Transmit(join)) = session.poll_output() else { unreachable!() };
//! assert!(join.contains(r#""method":"join""#));
//!
//! // The server answers (in a real program this frame comes off the WebSocket).
//! session.handle_frame(now, r#"{"jsonrpc":"2.0","id":1,"result":{
//!     "room":"lobby","peer_id":"alice",
//!     "participants":[{"peer_id":"bob"}],
//!     "permissions":{"publish":true,"subscribe":true,"admin":false}}}"#)?;
//! let Some(Output::Event(Event::Joined { result, rejoined: false })) = session.poll_output()
//! else { unreachable!() };
//! assert_eq!(result.participants[0].peer_id.as_str(), "bob");
//!
//! // Offers, answers and candidates go to one named peer.
//! let bob = result.participants[0].peer_id.clone();
//! session.offer(now, bob, "v=0\r\n...".to_owned())?;
//! let Some(Output::Transmit(offer)) = session.poll_output() else { unreachable!() };
//! assert!(offer.contains(r#""to":"bob""#));
//!
//! // Nothing else to do until the next frame or this instant (the heartbeat / timeout).
//! assert!(session.poll_output().is_none());
//! assert!(session.poll_timeout().unwrap() <= now + Duration::from_secs(15));
//! # Ok(())
//! # }
//! ```
//!
//! # Wire protocol
//!
//! One JSON-RPC 2.0 object per WebSocket text frame. Clients send requests (with an
//! `id`; params by name); the server answers each with a response carrying the same
//! `id`, and pushes notifications (no `id`). Batches are not used: a JSON array is
//! refused with `invalid_request`. A client frame without `id` is a JSON-RPC
//! notification, which the protocol does not define for clients; the server ignores it
//! without answering, as JSON-RPC requires.
//!
//! ## Requests (client → server)
//!
//! | method | params | result | needs |
//! |---|---|---|---|
//! | `join` | `room`, `token`?, `peer_id`?, `metadata`? | [`JoinResult`]: `room`, `peer_id`, `participants`, `permissions` | — |
//! | `leave` | — | `{}` | joined |
//! | `offer` | `to`, `sdp` | `{}` | joined, publish; target subscribes |
//! | `answer` | `to`, `sdp` | `{}` | joined, publish; target subscribes |
//! | `candidate` | `to`, `candidate`, `sdp_mid`?, `sdp_mline_index`? (`candidate: ""` = end-of-candidates) | `{}` | joined, publish; target subscribes |
//! | `message` | `to`? (absent: everyone else), `data` (any JSON) | `{}` | joined, publish |
//! | `kick` | `peer_id`, `reason`? | `{}` | joined, admin |
//! | `ping` | — | `{}` | — |
//!
//! ```text
//! → {"jsonrpc":"2.0","id":1,"method":"join","params":{"room":"lobby","token":"eyJ...","metadata":{"name":"Ada"}}}
//! ← {"jsonrpc":"2.0","id":1,"result":{"room":"lobby","peer_id":"ada","participants":[{"peer_id":"bob","metadata":{"name":"Bob"}}],"permissions":{"publish":true,"subscribe":true,"admin":false}}}
//! → {"jsonrpc":"2.0","id":2,"method":"offer","params":{"to":"bob","sdp":"v=0\r\n..."}}
//! ← {"jsonrpc":"2.0","id":2,"result":{}}
//! → {"jsonrpc":"2.0","id":3,"method":"candidate","params":{"to":"bob","candidate":"candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host","sdp_mid":"0","sdp_mline_index":0}}
//! → {"jsonrpc":"2.0","id":4,"method":"message","params":{"data":{"text":"hi all"}}}
//! → {"jsonrpc":"2.0","id":5,"method":"ping"}
//! ```
//!
//! ## Notifications (server → client)
//!
//! | method | params |
//! |---|---|
//! | `peer_joined` | `peer_id`, `metadata`? |
//! | `peer_left` | `peer_id`, `reason`: `left` \| `disconnected` \| `kicked` \| `replaced` |
//! | `offer`, `answer` | `from`, `sdp` |
//! | `candidate` | `from`, `candidate`, `sdp_mid`?, `sdp_mline_index`? |
//! | `message` | `from`, `broadcast`, `data` |
//! | `kicked` | `reason`? — the server then closes the connection |
//! | `room_closed` | `reason`: `closed` \| `shutdown` — the server then closes the connection |
//!
//! ```text
//! ← {"jsonrpc":"2.0","method":"peer_joined","params":{"peer_id":"carol"}}
//! ← {"jsonrpc":"2.0","method":"answer","params":{"from":"bob","sdp":"v=0\r\n..."}}
//! ← {"jsonrpc":"2.0","method":"message","params":{"from":"bob","broadcast":true,"data":{"text":"hello"}}}
//! ← {"jsonrpc":"2.0","method":"room_closed","params":{"reason":"shutdown"}}
//! ```
//!
//! ## Errors
//!
//! Errors are JSON-RPC error objects; a frame whose `id` cannot be read is answered with
//! `"id": null`. After any error the connection stays usable.
//!
//! | code | name | when |
//! |---|---|---|
//! | -32700 | `parse_error` | the frame is not JSON |
//! | -32600 | `invalid_request` | not a request object: `jsonrpc` ≠ `"2.0"`, bad `id`/`method`, unknown members, a batch |
//! | -32601 | `method_not_found` | no such method |
//! | -32602 | `invalid_params` | missing, unknown or mistyped params fields; values out of bounds |
//! | -32603 | `internal_error` | the server failed on its own |
//! | -32001 | `unauthorized` | token missing, forged, expired or for another room |
//! | -32002 | `forbidden` | the token lacks the permission (publish, subscribe, admin) |
//! | -32003 | `room_full` | the room is at its participant limit |
//! | -32004 | `peer_not_found` | `to` is not in the caller's room |
//! | -32005 | `rate_limited` | the connection exceeds its rate limit |
//! | -32006 | `too_large` | the frame exceeds the maximum frame size |
//! | -32007 | `not_joined` | the request needs a joined room |
//! | -32008 | `already_joined` | `join` on a connection already in a room |
//! | -32009 | `peer_id_taken` | another participant holds that id |
//! | -32010 | `shutting_down` | the server is shutting down |
//!
//! ```text
//! ← {"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"not JSON: expected value at line 1 column 1"}}
//! ← {"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"invalid params for `offer`: unknown field `spd`, expected `to` or `sdp`"}}
//! ```
//!
//! ## Bounds
//!
//! Every size is bounded ([`limits`]): frames from clients [`MAX_FRAME_BYTES`], room names,
//! peer ids, tokens, metadata, SDP, candidates and reasons each have their own limit.
//!
//! # Room tokens
//!
//! A token is a JWT signed with HS256 whose claims are `sub` (the identity; optional),
//! `room` (the only room it admits), `permissions` (`publish`, `subscribe`, `admin`),
//! `exp` (expiry, seconds since the epoch) and optionally `max_participants` (a room
//! limit lower than the server's). The server checks signature, expiry and room.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod backoff;
mod error;
mod error_code;
mod ids;
pub mod limits;
mod message;
mod session;

#[cfg(feature = "client")]
pub mod client;

#[cfg(feature = "fuzzing")]
pub mod fuzzing;

pub use backoff::{Backoff, ReconnectPolicy};
pub use error::Error;
pub use error_code::{ErrorCode, ErrorObject};
pub use ids::{PeerId, RequestId, RoomName};
pub use limits::MAX_FRAME_BYTES;
pub use message::{
    Ack, CandidateParams, IceCandidate, JoinParams, JoinResult, KickParams, Kicked, LeaveReason,
    MessageParams, Method, NoParams, Notification, Participant, PeerLeft, Permissions,
    RelayedCandidate, RelayedMessage, RelayedSdp, Request, RequestError, RequestFrame, Response,
    RoomClosed, RoomClosedReason, SdpParams, ServerMessage, parse_request, parse_server_message,
};
pub use session::{
    Event, MAX_QUEUED_OUTPUTS, Output, Reply, Session, SessionConfig, SessionState, SessionStats,
};
