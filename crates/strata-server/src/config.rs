//! Server configuration: flags, environment variables and their embedded defaults.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;

use crate::hub::HubConfig;

/// Everything a [`Server`](crate::Server) needs to start.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (port 0 picks a free one).
    pub listen: SocketAddr,
    /// HS256 secret for room tokens; `None` generates a random one at start (tokens then
    /// come only from this server: its admin API or the start-up banner).
    pub jwt_secret: Option<Vec<u8>>,
    /// Admit joins without a token (any room, publish + subscribe). Never the default.
    pub dev_mode: bool,
    /// Bearer token of the admin API; `None` generates a random one at start.
    pub admin_token: Option<String>,
    /// Room limits.
    pub hub: HubConfig,
    /// Most WebSocket connections at once; more are refused with 503.
    pub max_connections: usize,
    /// Most TCP connections still speaking HTTP at once (page loads, idle keep-alive,
    /// upgrades in progress); a connection accepted beyond it is closed at once and
    /// counted in `strata_http_connections_refused_total`. Upgraded WebSockets count
    /// against `max_connections` instead.
    pub max_http_connections: usize,
    /// Largest frame a client may send; larger frames are answered with `too_large`,
    /// messages above four times this close the connection with 1009 (message too big).
    pub max_frame_bytes: usize,
    /// How long a client may take to send an HTTP request head (the WebSocket upgrade
    /// included); a socket that stays silent or trickles a request longer is closed.
    pub handshake_timeout: Duration,
    /// Frames per second each connection may send on average (requests and malformed
    /// frames alike); beyond it a frame is answered `rate_limited`.
    pub rate_limit_per_sec: f64,
    /// Frames a connection may send in a burst.
    pub rate_limit_burst: f64,
    /// A connection silent for this long is closed.
    pub idle_timeout: Duration,
    /// A connection silent for this long is sent a WebSocket ping.
    pub ping_interval: Duration,
    /// Frames that may wait for one connection's socket; a client that lets more pile up
    /// is too slow and is disconnected.
    pub send_queue: usize,
    /// How long a graceful shutdown waits for connections to drain.
    pub shutdown_grace: Duration,
    /// Lifetime of the token printed at start and of tokens minted without a ttl.
    pub token_ttl: Duration,
    /// The room of the token printed at start.
    pub demo_room: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            jwt_secret: None,
            dev_mode: false,
            admin_token: None,
            hub: HubConfig {
                max_participants: 50,
                max_rooms: 10_000,
            },
            max_connections: 20_000,
            max_http_connections: 1024,
            max_frame_bytes: strata_signal::MAX_FRAME_BYTES,
            handshake_timeout: Duration::from_secs(10),
            rate_limit_per_sec: 50.0,
            rate_limit_burst: 200.0,
            idle_timeout: Duration::from_mins(1),
            ping_interval: Duration::from_secs(20),
            send_queue: 256,
            shutdown_grace: Duration::from_secs(5),
            token_ttl: Duration::from_hours(24),
            demo_room: "demo".to_owned(),
        }
    }
}

/// Command-line flags; each also reads a `STRATA_*` environment variable.
#[derive(Debug, Parser)]
#[command(name = "strata", version, about = "Strata signaling server")]
pub struct Args {
    /// Address to listen on.
    #[arg(long, env = "STRATA_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// HS256 secret for room tokens (default: a random secret generated at start).
    #[arg(long, env = "STRATA_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Admit joins without a token (development only).
    #[arg(long, env = "STRATA_DEV")]
    pub dev: bool,
    /// Bearer token for the admin API (default: random, printed at start).
    #[arg(long, env = "STRATA_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Most participants in one room.
    #[arg(long, env = "STRATA_MAX_PARTICIPANTS", default_value_t = 50)]
    pub max_participants: usize,
    /// Most rooms at once.
    #[arg(long, env = "STRATA_MAX_ROOMS", default_value_t = 10_000)]
    pub max_rooms: usize,
    /// Most WebSocket connections at once.
    #[arg(long, env = "STRATA_MAX_CONNECTIONS", default_value_t = 20_000)]
    pub max_connections: usize,
    /// Most connections still speaking HTTP (not yet upgraded) at once.
    #[arg(long, env = "STRATA_MAX_HTTP_CONNECTIONS", default_value_t = 1024)]
    pub max_http_connections: usize,
    /// Largest frame a client may send, in bytes.
    #[arg(long, env = "STRATA_MAX_FRAME_BYTES", default_value_t = strata_signal::MAX_FRAME_BYTES)]
    pub max_frame_bytes: usize,
    /// Seconds a client may take to send an HTTP request head (the upgrade included).
    #[arg(long, env = "STRATA_HANDSHAKE_TIMEOUT", default_value_t = 10)]
    pub handshake_timeout_secs: u64,
    /// Frames per second per connection (requests and malformed frames alike).
    #[arg(long, env = "STRATA_RATE_LIMIT", default_value_t = 50.0)]
    pub rate_limit: f64,
    /// Burst of frames per connection.
    #[arg(long, env = "STRATA_RATE_BURST", default_value_t = 200.0)]
    pub rate_burst: f64,
    /// Seconds of silence before a connection is closed.
    #[arg(long, env = "STRATA_IDLE_TIMEOUT", default_value_t = 60)]
    pub idle_timeout_secs: u64,
    /// Seconds of silence before a connection is pinged.
    #[arg(long, env = "STRATA_PING_INTERVAL", default_value_t = 20)]
    pub ping_interval_secs: u64,
    /// Frames queued per connection before a slow client is disconnected.
    #[arg(long, env = "STRATA_SEND_QUEUE", default_value_t = 256)]
    pub send_queue: usize,
    /// Seconds a graceful shutdown waits for connections to drain.
    #[arg(long, env = "STRATA_SHUTDOWN_GRACE", default_value_t = 5)]
    pub shutdown_grace_secs: u64,
    /// Room of the token printed at start.
    #[arg(long, env = "STRATA_DEMO_ROOM", default_value = "demo")]
    pub demo_room: String,
}

impl Args {
    /// The configuration these flags describe.
    pub fn into_config(self) -> ServerConfig {
        ServerConfig {
            listen: self.listen,
            jwt_secret: self.jwt_secret.map(String::into_bytes),
            dev_mode: self.dev,
            admin_token: self.admin_token,
            hub: HubConfig {
                max_participants: self.max_participants,
                max_rooms: self.max_rooms,
            },
            max_connections: self.max_connections,
            max_http_connections: self.max_http_connections,
            max_frame_bytes: self.max_frame_bytes,
            handshake_timeout: Duration::from_secs(self.handshake_timeout_secs),
            rate_limit_per_sec: self.rate_limit,
            rate_limit_burst: self.rate_burst,
            idle_timeout: Duration::from_secs(self.idle_timeout_secs),
            ping_interval: Duration::from_secs(self.ping_interval_secs),
            send_queue: self.send_queue,
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
            demo_room: self.demo_room,
            ..ServerConfig::default()
        }
    }
}

impl ServerConfig {
    /// Refuses values the server cannot run with.
    pub fn validate(&self) -> Result<(), crate::ServerError> {
        let invalid = |what: &'static str, reason: &str| {
            Err(crate::ServerError::InvalidConfig {
                what,
                reason: reason.to_owned(),
            })
        };
        if self.hub.max_participants == 0 {
            return invalid("max_participants", "must be at least 1");
        }
        if self.hub.max_rooms == 0 {
            return invalid("max_rooms", "must be at least 1");
        }
        if self.max_connections == 0 {
            return invalid("max_connections", "must be at least 1");
        }
        if self.max_http_connections == 0 {
            return invalid("max_http_connections", "must be at least 1");
        }
        if self.max_frame_bytes < 1024 || self.max_frame_bytes > strata_signal::MAX_FRAME_BYTES {
            return invalid("max_frame_bytes", "must be between 1024 and 65536");
        }
        if !(self.rate_limit_per_sec > 0.0 && self.rate_limit_burst >= 1.0) {
            return invalid("rate_limit", "rate must be positive and burst at least 1");
        }
        if self.send_queue == 0 {
            return invalid("send_queue", "must be at least 1");
        }
        if self.idle_timeout.is_zero()
            || self.ping_interval.is_zero()
            || self.handshake_timeout.is_zero()
        {
            return invalid("idle_timeout", "timeouts must be positive");
        }
        if self.jwt_secret.as_ref().is_some_and(|s| s.len() < 16) {
            return invalid("jwt_secret", "must be at least 16 bytes");
        }
        if strata_signal::RoomName::new(self.demo_room.clone()).is_err() {
            return invalid("demo_room", "is not a valid room name");
        }
        Ok(())
    }
}
