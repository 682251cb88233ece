//! The `strata` signaling server as a library: start it in-process on any address,
//! connect clients, shut it down gracefully.
//!
//! ```no_run
//! use strata_server::{Server, ServerConfig};
//!
//! # async fn run() -> Result<(), strata_server::ServerError> {
//! let config = ServerConfig {
//!     listen: "127.0.0.1:0".parse().unwrap(),
//!     ..ServerConfig::default()
//! };
//! let server = Server::start(config).await?;
//! println!("clients connect to {}", server.ws_url());
//! let token = server.participant_token("lobby")?;
//! # let _ = token;
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! The room logic lives in [`hub`], a sans-IO state machine; [`Server`] wraps it with
//! axum: WebSocket connections at `/ws` (one task each, with a bounded send queue, a rate
//! limit, a frame size limit and an idle timeout), the demo page at `/`, `GET /healthz`,
//! `GET /metrics` (Prometheus text) and the admin API:
//!
//! | request | does |
//! |---|---|
//! | `GET /admin/rooms` | lists rooms and their participants (JSON) |
//! | `DELETE /admin/rooms/{room}` | closes a room: `room_closed` to everyone in it |
//! | `POST /admin/rooms/{room}/kick/{peer}` | kicks a participant; optional body `{"reason": "..."}` |
//! | `POST /admin/tokens` | mints a room token: `{"room", "identity"?, "ttl_secs"?, "permissions"?, "max_participants"?}` |
//!
//! Every admin request carries `Authorization: Bearer <admin token>`.
//!
//! # Protection, and how the server closes connections
//!
//! Bad frames are answered with the protocol's error codes (see `strata_signal`'s
//! error table) and the connection stays open. The server closes a connection itself
//! only for these reasons, each with a WebSocket close code and counted in `/metrics`:
//!
//! | close | when | counted in |
//! |---|---|---|
//! | 1000 normal | the room was closed through the admin API (after `room_closed`) | — |
//! | 1001 going away | shutdown (after `room_closed{shutdown}`); silence past `idle_timeout` after an unanswered ping | `strata_idle_disconnects_total` |
//! | 1008 policy | kicked (after `kicked`), replaced by a new connection with the same identity, or too slow: `send_queue` frames waiting for a client that does not read | `strata_slow_client_disconnects_total` |
//! | 1009 message too big | one message beyond four times `max_frame_bytes`, refused from its frame header or from its fragments so far, never buffered whole | `strata_oversize_disconnects_total` |
//!
//! Frames between `max_frame_bytes` and four times it (text or binary, whole or
//! fragmented) are answered `too_large`. Before the upgrade, a client has
//! `handshake_timeout` to send each HTTP request head; a socket silent for longer is
//! closed without a response. At most `max_http_connections` (1,024) connections speak
//! HTTP at once; one accepted beyond that is closed at once, counted in
//! `strata_http_connections_refused_total` (upgraded WebSockets count against
//! `max_connections` instead).
//!
//! # Security defaults
//!
//! Joining needs a room token (HS256 JWT, see [`auth`]) unless dev mode is switched on
//! explicitly (`--dev`). Without `--jwt-secret` the server generates a random secret at
//! start, so the only valid tokens are those it mints itself: the one it prints at start
//! and those of the admin API. The admin token is likewise random unless given.

pub mod auth;
pub mod config;
pub mod hub;
pub mod metrics;
pub mod rate_limit;
mod server;

pub use config::{Args, ServerConfig};
pub use server::Server;

/// Why the server could not start or act.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// A configuration value is out of range (caller's mistake).
    #[error("invalid configuration {what}: {reason}")]
    InvalidConfig {
        /// Which setting.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A token could not be signed.
    #[error("cannot sign a token: {0}")]
    Token(String),
}
