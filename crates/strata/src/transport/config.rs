//! What a [`Transport`](super::Transport) is configured with, as a game keeps it next to
//! its binary: a JSON or TOML file whose fields are those of [`TransportConfig`].

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use strata_ice::{IceServer, Interfaces, NetworkImpairment};
use strata_media::jitter::DelayMode;
use strata_signal::{PeerId, RoomName};

use crate::config::Configuration;
use crate::data_channel::ChannelOptions;
use crate::error::Error;

/// The data channel label: the demo page's, so browsers on it and transports share a room.
pub const CHANNEL_LABEL: &str = "chat";

/// The largest configuration file read, in bytes.
pub const MAX_CONFIG_FILE: u64 = 1024 * 1024;
/// The longest timeout or interval a configuration may give (one day): deadlines are
/// computed as instants plus these, and must not overflow.
pub const MAX_DURATION_MS: u64 = 24 * 60 * 60 * 1000;

/// Configuration of a [`Transport`](super::Transport).
///
/// Durations are whole milliseconds (`*_ms`). Unknown fields are refused, so a typo in a
/// file is an error rather than a silently ignored setting. Every field but
/// `signaling_url` and `room` has a default.
///
/// ```
/// let config = strata::TransportConfig::from_json_str(r#"{
///     "signaling_url": "ws://127.0.0.1:8080/ws",
///     "room": "arena",
///     "ice_servers": ["stun:stun.l.google.com:19302", "turn:user:secret@turn.example.com:3478"],
///     "max_peers": 8,
///     "channel": { "mode": "unreliable_unordered", "max_retransmits": 0 }
/// }"#)?;
/// assert_eq!(config.max_peers, 8);
/// # Ok::<(), strata::Error>(())
/// ```
// Independent on/off settings of a file people edit by hand read best as flat booleans.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransportConfig {
    /// The signaling server's WebSocket URL (`ws://host:port/ws` or `wss://`).
    pub signaling_url: String,
    /// The room token, when the server requires one.
    pub token: Option<String>,
    /// The room to join.
    pub room: String,
    /// Our id in the room; a random `peer-…` one when absent (a token with an identity
    /// decides it instead).
    pub peer_id: Option<String>,
    /// The name shown to the others (join metadata `{"name": ...}`, as the demo page).
    pub name: Option<String>,
    /// STUN and TURN servers, in every form `strata-ice` parses.
    pub ice_servers: Vec<IceServerEntry>,
    /// Gather loopback candidates (peers on one machine without another interface).
    pub include_loopback: bool,
    /// The interfaces host candidates come from, by name (`["eth0"]`); empty: all.
    pub interfaces: Vec<String>,
    /// Gather IPv6 candidates besides IPv4.
    pub ipv6: bool,
    /// Resolve peers' `.local` (mDNS) candidates, as browsers send them.
    pub mdns: bool,
    /// Most peers connected (or connecting) at once; further connections are refused on
    /// both sides with [`Error::MaxPeersReached`].
    pub max_peers: usize,
    /// Connect to everyone already in the room on joining, so a full mesh forms by
    /// itself. Incoming connections are accepted either way (up to `max_peers`).
    pub auto_connect: bool,
    /// How messages travel.
    pub channel: ChannelMode,
    /// The largest message [`send_to_peer`](super::Transport::send_to_peer) takes and a
    /// peer may send us: above the peer's `max-message-size`, messages on a reliable
    /// ordered channel are split and reassembled up to this size.
    pub max_message_size: usize,
    /// Playout delay of received audio and video tracks, in milliseconds: every packet is
    /// held this long beyond the fastest recent transit before its sample is released
    /// (at most 10 000). Absent: the delay adapts to the measured jitter.
    pub jitter_buffer_ms: Option<u64>,
    /// How long ICE may stay without traffic before a peer counts as disconnected (and
    /// recovery starts).
    pub ice_timeout_ms: u64,
    /// How long a connection may take to come up ([`Error::ConnectionFailed`] after).
    pub connection_timeout_ms: u64,
    /// A connected peer heard nothing from (no message, no probe answer, no ICE consent)
    /// for this long is reported disconnected and removed.
    pub stale_peer_timeout_ms: u64,
    /// Interval of the round-trip probes between transports.
    pub probe_interval_ms: u64,
    /// How lost connections and signaling are retried.
    pub reconnect: ReconnectConfig,
    /// When a [`QualityWarning`](super::TransportEvent::QualityWarning) is reported.
    pub quality: QualityThresholds,
    /// A seeded impairment (loss, delay, outages) at the socket of every peer connection,
    /// to see how an application copes with a bad network. Never read from or written
    /// to configuration files.
    #[serde(skip)]
    pub impairment: Option<NetworkImpairment>,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            signaling_url: String::new(),
            token: None,
            room: String::new(),
            peer_id: None,
            name: None,
            ice_servers: Vec::new(),
            include_loopback: false,
            interfaces: Vec::new(),
            ipv6: true,
            mdns: true,
            max_peers: 16,
            auto_connect: true,
            channel: ChannelMode::ReliableOrdered,
            max_message_size: 16 * 1024 * 1024,
            jitter_buffer_ms: None,
            ice_timeout_ms: 5_000,
            connection_timeout_ms: 15_000,
            stale_peer_timeout_ms: 10_000,
            probe_interval_ms: 1_000,
            reconnect: ReconnectConfig::default(),
            quality: QualityThresholds::default(),
            impairment: None,
        }
    }
}

/// One ICE server: a URL (`stun:host:port`, `turn:user:pass@host:port`,
/// `turns:host?transport=tcp`), or a W3C `RTCIceServer`-shaped object with separate
/// credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IceServerEntry {
    /// A URL, credentials inline if any.
    Url(String),
    /// URLs sharing one username and credential.
    Server {
        /// One URL or several.
        urls: Urls,
        /// TURN username.
        #[serde(default)]
        username: Option<String>,
        /// TURN password.
        #[serde(default)]
        credential: Option<String>,
    },
}

/// `urls` of an [`IceServerEntry::Server`]: one string or a list, as in the W3C API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Urls {
    /// One URL.
    One(String),
    /// Several.
    Many(Vec<String>),
}

/// How messages travel on each peer's data channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChannelMode {
    /// Every message arrives, in order (chat, state). Large messages are split and
    /// reassembled.
    #[default]
    ReliableOrdered,
    /// Messages may be lost or arrive out of order, never late (positions at 60 Hz).
    UnreliableUnordered {
        /// Retransmissions per message (0: fire and forget).
        max_retransmits: u32,
    },
    /// Retransmitted for a while, then given up.
    Partial {
        /// Deliver in order.
        ordered: bool,
        /// How long a message is retransmitted, in milliseconds.
        max_packet_life_time_ms: u16,
    },
}

impl ChannelMode {
    /// The options the channel is created with.
    pub fn options(self) -> ChannelOptions {
        match self {
            Self::ReliableOrdered => ChannelOptions::default(),
            Self::UnreliableUnordered { max_retransmits } => ChannelOptions {
                ordered: false,
                max_retransmits: Some(max_retransmits),
                ..ChannelOptions::default()
            },
            Self::Partial {
                ordered,
                max_packet_life_time_ms,
            } => ChannelOptions {
                ordered,
                max_packet_life_time: Some(Duration::from_millis(u64::from(
                    max_packet_life_time_ms,
                ))),
                ..ChannelOptions::default()
            },
        }
    }

    /// Whether every message arrives in order, which splitting large messages needs.
    pub fn reliable_ordered(self) -> bool {
        self == Self::ReliableOrdered
    }
}

/// Retries with exponential backoff, for peer connections and signaling.
///
/// A lost peer connection is first retried with ICE restarts (`ice_restarts` of them),
/// then with full renegotiations (a fresh connection), until `max_attempts` retries in
/// all; the `n`-th retry waits `min(max_delay, initial_delay * multiplier^n)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReconnectConfig {
    /// The wait before the first retry, in milliseconds.
    pub initial_delay_ms: u64,
    /// The longest wait, in milliseconds.
    pub max_delay_ms: u64,
    /// Growth per retry (at least 1).
    pub multiplier: f64,
    /// ICE restarts before a full renegotiation.
    pub ice_restarts: u32,
    /// Retries of a peer connection before it is reported failed.
    pub max_attempts: u32,
    /// Retries of the signaling connection before giving up; `None` retries forever.
    pub signaling_max_attempts: Option<u32>,
}

impl Default for ReconnectConfig {
    fn default() -> Self {
        Self {
            initial_delay_ms: 250,
            max_delay_ms: 10_000,
            multiplier: 2.0,
            ice_restarts: 2,
            max_attempts: 5,
            signaling_max_attempts: None,
        }
    }
}

impl ReconnectConfig {
    /// The wait before retry `attempt` (from 0).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponent = i32::try_from(attempt).unwrap_or(i32::MAX);
        let millis = self.initial_delay_ms as f64 * self.multiplier.max(1.0).powi(exponent);
        Duration::from_millis(millis.min(self.max_delay_ms as f64) as u64)
    }
}

/// Thresholds of [`QualityWarning`](super::TransportEvent::QualityWarning).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QualityThresholds {
    /// Share of probes lost (0.0 to 1.0) above which a peer is reported.
    pub max_loss: f64,
    /// Round-trip time above which a peer is reported, in milliseconds.
    pub max_rtt_ms: u64,
}

impl Default for QualityThresholds {
    fn default() -> Self {
        Self {
            max_loss: 0.05,
            max_rtt_ms: 300,
        }
    }
}

/// A configuration checked by [`TransportConfig::validate`]: typed ids, parsed servers.
#[derive(Debug, Clone)]
pub(crate) struct ValidConfig {
    pub(crate) raw: TransportConfig,
    pub(crate) room: RoomName,
    pub(crate) peer_id: Option<PeerId>,
    pub(crate) peer: Configuration,
}

impl ValidConfig {
    pub(crate) fn connection_timeout(&self) -> Duration {
        Duration::from_millis(self.raw.connection_timeout_ms)
    }
    pub(crate) fn stale_timeout(&self) -> Duration {
        Duration::from_millis(self.raw.stale_peer_timeout_ms)
    }
    pub(crate) fn probe_interval(&self) -> Duration {
        Duration::from_millis(self.raw.probe_interval_ms)
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidTransportConfig {
        field,
        reason: reason.into(),
    }
}

impl TransportConfig {
    /// A configuration for `room` on the server at `signaling_url`, defaults otherwise.
    pub fn new(signaling_url: impl Into<String>, room: impl Into<String>) -> Self {
        Self {
            signaling_url: signaling_url.into(),
            room: room.into(),
            ..Self::default()
        }
    }

    /// Parses a JSON configuration.
    pub fn from_json_str(json: &str) -> Result<Self, Error> {
        serde_json::from_str(json).map_err(|e| Error::ConfigFile {
            path: "<json>".into(),
            source: Box::new(e),
        })
    }

    /// Parses a TOML configuration.
    pub fn from_toml_str(toml: &str) -> Result<Self, Error> {
        toml::from_str(toml).map_err(|e| Error::ConfigFile {
            path: "<toml>".into(),
            source: Box::new(e),
        })
    }

    /// Reads a configuration file: TOML when its name ends in `.toml`, JSON otherwise.
    /// Files over [`MAX_CONFIG_FILE`] bytes are refused.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let file_error = |source: Box<dyn std::error::Error + Send + Sync>| Error::ConfigFile {
            path: path.to_owned(),
            source,
        };
        let size = std::fs::metadata(path)
            .map_err(|e| file_error(Box::new(e)))?
            .len();
        if size > MAX_CONFIG_FILE {
            return Err(file_error(
                format!("the file has {size} bytes, more than the {MAX_CONFIG_FILE} allowed")
                    .into(),
            ));
        }
        let text = std::fs::read_to_string(path).map_err(|e| file_error(Box::new(e)))?;
        let toml = path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("toml"));
        if toml {
            toml::from_str(&text).map_err(|e| file_error(Box::new(e)))
        } else {
            serde_json::from_str(&text).map_err(|e| file_error(Box::new(e)))
        }
    }

    /// The ICE servers, parsed.
    pub fn parsed_ice_servers(&self) -> Result<Vec<IceServer>, Error> {
        let mut servers = Vec::new();
        for entry in &self.ice_servers {
            let parsed = match entry {
                IceServerEntry::Url(url) => vec![IceServer::parse(url).map_err(|e| (url, e))],
                IceServerEntry::Server {
                    urls,
                    username,
                    credential,
                } => {
                    let urls = match urls {
                        Urls::One(url) => std::slice::from_ref(url),
                        Urls::Many(urls) => urls.as_slice(),
                    };
                    urls.iter()
                        .map(|url| {
                            IceServer::with_credentials(
                                url,
                                username.as_deref(),
                                credential.as_deref(),
                            )
                            .map_err(|e| (url, e))
                        })
                        .collect()
                }
            };
            for server in parsed {
                servers.push(
                    server.map_err(|(url, e)| {
                        invalid("ice_servers", format!("{}: {e}", redact(url)))
                    })?,
                );
            }
        }
        Ok(servers)
    }

    /// Checks every value; what [`Transport::new`](super::Transport::new) does.
    pub fn validate(&self) -> Result<(), Error> {
        self.clone().into_valid().map(drop)
    }

    /// Counts and durations: at least 1, and durations at most [`MAX_DURATION_MS`].
    fn check_ranges(&self) -> Result<(), Error> {
        let counts = [
            ("max_peers", self.max_peers as u64),
            ("max_message_size", self.max_message_size as u64),
            (
                "reconnect.initial_delay_ms",
                self.reconnect.initial_delay_ms,
            ),
        ];
        let durations = [
            ("ice_timeout_ms", self.ice_timeout_ms),
            ("connection_timeout_ms", self.connection_timeout_ms),
            ("stale_peer_timeout_ms", self.stale_peer_timeout_ms),
            ("probe_interval_ms", self.probe_interval_ms),
            ("reconnect.max_delay_ms", self.reconnect.max_delay_ms),
        ];
        for (field, value) in counts.into_iter().chain(durations) {
            if value == 0 {
                return Err(invalid(field, "must be at least 1"));
            }
        }
        for (field, value) in durations {
            // Deadlines are instants plus these: unbounded ones would overflow.
            if value > MAX_DURATION_MS {
                return Err(invalid(field, "must be at most one day (86400000 ms)"));
            }
        }
        Ok(())
    }

    pub(crate) fn into_valid(self) -> Result<ValidConfig, Error> {
        let url = &self.signaling_url;
        let rest = url
            .strip_prefix("ws://")
            .or_else(|| url.strip_prefix("wss://"));
        match rest {
            Some(rest) if !rest.is_empty() && !rest.starts_with('/') => {}
            _ => {
                return Err(invalid(
                    "signaling_url",
                    format!("{url:?} is not a ws:// or wss:// URL with a host"),
                ));
            }
        }
        let room = RoomName::new(self.room.clone()).map_err(|e| invalid("room", e.to_string()))?;
        let peer_id = self
            .peer_id
            .clone()
            .map(PeerId::new)
            .transpose()
            .map_err(|e| invalid("peer_id", e.to_string()))?;
        self.check_ranges()?;
        if self.max_peers > super::MAX_PEERS_LIMIT {
            return Err(invalid(
                "max_peers",
                format!("at most {} peers", super::MAX_PEERS_LIMIT),
            ));
        }
        if !(self.reconnect.multiplier >= 1.0 && self.reconnect.multiplier.is_finite()) {
            return Err(invalid("reconnect.multiplier", "must be a number >= 1"));
        }
        if self.reconnect.initial_delay_ms > self.reconnect.max_delay_ms {
            return Err(invalid(
                "reconnect.initial_delay_ms",
                "must not exceed reconnect.max_delay_ms",
            ));
        }
        if !(0.0..=1.0).contains(&self.quality.max_loss) {
            return Err(invalid("quality.max_loss", "must be within 0.0..=1.0"));
        }
        if self.stale_peer_timeout_ms < self.probe_interval_ms.saturating_mul(2) {
            return Err(invalid(
                "stale_peer_timeout_ms",
                "must be at least twice probe_interval_ms",
            ));
        }
        if let ChannelMode::Partial {
            max_packet_life_time_ms: 0,
            ..
        } = self.channel
        {
            return Err(invalid(
                "channel.max_packet_life_time_ms",
                "must be at least 1",
            ));
        }
        let playout_delay = self
            .jitter_buffer_ms
            .map(|ms| DelayMode::Fixed(Duration::from_millis(ms)));
        if let Some(Err(error)) = playout_delay.as_ref().map(DelayMode::validate) {
            return Err(invalid("jitter_buffer_ms", error.to_string()));
        }
        if let Some(Err(error)) = self.impairment.as_ref().map(NetworkImpairment::validate) {
            return Err(invalid("impairment", error.to_string()));
        }
        let mut peer = Configuration {
            playout_delay,
            ..Configuration::default()
        };
        peer.ice.impairment.clone_from(&self.impairment);
        peer.ice.servers = self.parsed_ice_servers()?;
        peer.ice.policy.include_loopback = self.include_loopback;
        peer.ice.policy.ipv6 = self.ipv6;
        peer.ice.mdns = self.mdns;
        if !self.interfaces.is_empty() {
            peer.ice.policy.interfaces = Interfaces::Named(self.interfaces.clone());
        }
        peer.ice.disconnected_timeout = Duration::from_millis(self.ice_timeout_ms);
        peer.ice.failed_timeout = Duration::from_millis(self.ice_timeout_ms);
        peer.ice.keepalive_interval =
            Duration::from_millis(self.ice_timeout_ms / 4).max(Duration::from_millis(50));
        Ok(ValidConfig {
            raw: self,
            room,
            peer_id,
            peer,
        })
    }
}

/// A URL as it may be shown: inline credentials hidden.
fn redact(url: &str) -> String {
    match url.rsplit_once('@') {
        Some((userinfo, host)) => {
            let scheme = userinfo.split_once(':').map_or("", |(s, _)| s);
            format!("{scheme}:<credentials>@{host}")
        }
        None => url.to_owned(),
    }
}

/// Fuzz-target body: any file contents, as JSON and as TOML, parse and validate without
/// panicking, and a configuration that validates survives a JSON round trip unchanged,
/// still valid, with bounded retry delays.
///
/// # Panics
///
/// When a valid configuration does not round-trip: a bug.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn fuzz_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for parsed in [
        TransportConfig::from_json_str(text),
        TransportConfig::from_toml_str(text),
    ] {
        let Ok(config) = parsed else { continue };
        if let Err(error) = config.validate() {
            drop(error.to_string());
            continue;
        }
        let json = serde_json::to_string(&config).expect("a valid configuration encodes");
        let again = TransportConfig::from_json_str(&json).expect("its JSON parses");
        assert_eq!(again, config);
        again.validate().expect("still valid");
        for attempt in [0, 1, 31, u32::MAX] {
            let delay = config.reconnect.delay(attempt);
            assert!(delay <= Duration::from_millis(MAX_DURATION_MS));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_files_neither_panic_nor_lose_a_valid_configuration() {
        for text in [
            "",
            "{}",
            r#"{"signaling_url": "ws://h/ws", "room": "r"}"#,
            r#"{"signaling_url": "ws://h/ws", "room": "r", "probe_interval_ms": 18446744073709551615}"#,
            r#"{"signaling_url": "ws://h/ws", "room": "r", "reconnect": {"multiplier": 1e308}}"#,
            "signaling_url = 'ws://h/ws'\nroom = 'r'\nquality = { max_loss = nan }\n",
            "signaling_url = 'ws://h/ws'\nroom = 'r'\nreconnect = { multiplier = inf }\n",
            "signaling_url = 'ws://h/ws'\nroom = 'r'\nmax_peers = -1\n",
        ] {
            fuzz_config(text.as_bytes());
        }
        fuzz_config(&[0xff, 0xfe]);
    }

    #[test]
    fn the_checked_in_seed_files_are_valid_configurations() {
        let json = include_str!("../../fuzz-seeds/transport_config/p2p_config.json");
        let toml = include_str!("../../fuzz-seeds/transport_config/p2p_config.toml");
        for config in [
            TransportConfig::from_json_str(json),
            TransportConfig::from_toml_str(toml),
        ] {
            config.unwrap().validate().unwrap();
        }
    }

    fn base() -> TransportConfig {
        TransportConfig::new("ws://127.0.0.1:8080/ws", "room")
    }

    #[test]
    fn json_and_toml_files_give_the_same_configuration() {
        let json = r#"{
            "signaling_url": "ws://127.0.0.1:8080/ws",
            "room": "arena",
            "ice_servers": [
                "stun:stun.example.com:3478",
                "turn:user:pass@turn.example.com:3478",
                {"urls": ["turn:turn.example.com?transport=tcp"], "username": "u", "credential": "p"}
            ],
            "max_peers": 4,
            "jitter_buffer_ms": 60,
            "channel": {"mode": "unreliable_unordered", "max_retransmits": 0},
            "reconnect": {"ice_restarts": 1}
        }"#;
        let toml = r#"
            signaling_url = "ws://127.0.0.1:8080/ws"
            room = "arena"
            ice_servers = [
                "stun:stun.example.com:3478",
                "turn:user:pass@turn.example.com:3478",
                { urls = ["turn:turn.example.com?transport=tcp"], username = "u", credential = "p" },
            ]
            max_peers = 4
            jitter_buffer_ms = 60
            channel = { mode = "unreliable_unordered", max_retransmits = 0 }
            reconnect = { ice_restarts = 1 }
        "#;
        let from_json = TransportConfig::from_json_str(json).unwrap();
        let from_toml = TransportConfig::from_toml_str(toml).unwrap();
        assert_eq!(from_json, from_toml);
        assert_eq!(from_json.parsed_ice_servers().unwrap().len(), 3);
        assert_eq!(from_json.reconnect.max_attempts, 5);
        let valid = from_json.into_valid().unwrap();
        assert_eq!(
            valid.peer.playout_delay,
            Some(DelayMode::Fixed(Duration::from_millis(60)))
        );
    }

    #[test]
    fn unknown_fields_are_refused_at_every_level() {
        for json in [
            r#"{"room": "r", "max_peer": 3}"#,
            r#"{"room": "r", "reconnect": {"tries": 3}}"#,
            r#"{"room": "r", "channel": {"mode": "unreliable_unordered", "max_retransmits": 0, "x": 1}}"#,
        ] {
            let error = TransportConfig::from_json_str(json).unwrap_err();
            assert!(matches!(error, Error::ConfigFile { .. }), "{json}: {error}");
        }
        let error = TransportConfig::from_toml_str("room = 'r'\nmaxpeers = 3\n").unwrap_err();
        assert!(matches!(error, Error::ConfigFile { .. }));
    }

    #[test]
    fn bad_values_name_their_field() {
        type Change = Box<dyn Fn(&mut TransportConfig)>;
        let cases: Vec<(&str, Change)> = vec![
            (
                "signaling_url",
                Box::new(|c| c.signaling_url = "http://x".into()),
            ),
            (
                "signaling_url",
                Box::new(|c| c.signaling_url = "ws://".into()),
            ),
            ("room", Box::new(|c| c.room = String::new())),
            ("peer_id", Box::new(|c| c.peer_id = Some(String::new()))),
            ("max_peers", Box::new(|c| c.max_peers = 0)),
            ("max_peers", Box::new(|c| c.max_peers = 100_000)),
            ("max_message_size", Box::new(|c| c.max_message_size = 0)),
            ("ice_timeout_ms", Box::new(|c| c.ice_timeout_ms = 0)),
            (
                "jitter_buffer_ms",
                Box::new(|c| c.jitter_buffer_ms = Some(10_001)),
            ),
            (
                "impairment",
                Box::new(|c| {
                    let lossy = strata_ice::Impairment {
                        loss: strata_ice::Loss::Random { probability: 2.0 },
                        ..strata_ice::Impairment::default()
                    };
                    c.impairment = Some(NetworkImpairment::symmetric(lossy, 1));
                }),
            ),
            (
                "reconnect.multiplier",
                Box::new(|c| c.reconnect.multiplier = 0.5),
            ),
            ("quality.max_loss", Box::new(|c| c.quality.max_loss = 2.0)),
            (
                "quality.max_loss",
                Box::new(|c| c.quality.max_loss = f64::NAN),
            ),
            (
                "connection_timeout_ms",
                Box::new(|c| c.connection_timeout_ms = u64::MAX),
            ),
            (
                "probe_interval_ms",
                Box::new(|c| c.probe_interval_ms = MAX_DURATION_MS + 1),
            ),
            (
                "reconnect.max_delay_ms",
                Box::new(|c| c.reconnect.max_delay_ms = u64::MAX),
            ),
            (
                "stale_peer_timeout_ms",
                Box::new(|c| c.stale_peer_timeout_ms = 1_000),
            ),
            (
                "ice_servers",
                Box::new(|c| c.ice_servers = vec![IceServerEntry::Url("turn:host".into())]),
            ),
        ];
        for (expected, change) in cases {
            let mut config = base();
            change(&mut config);
            match config.validate() {
                Err(Error::InvalidTransportConfig { field, .. }) => assert_eq!(field, expected),
                other => panic!("{expected}: {other:?}"),
            }
        }
        base().validate().unwrap();
    }

    #[test]
    fn credentials_never_appear_in_errors() {
        let mut config = base();
        config.ice_servers = vec![IceServerEntry::Url("turn:user:hunter2@host:99999".into())];
        let error = config.validate().unwrap_err().to_string();
        assert!(!error.contains("hunter2"), "{error}");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let reconnect = ReconnectConfig::default();
        assert_eq!(reconnect.delay(0), Duration::from_millis(250));
        assert_eq!(reconnect.delay(2), Duration::from_secs(1));
        assert_eq!(reconnect.delay(30), Duration::from_secs(10));
    }
}
