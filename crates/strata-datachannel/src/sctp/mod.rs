//! A sans-IO SCTP association for WebRTC data channels (RFC 8831 §6): RFC 9260 SCTP
//! with partial reliability (RFC 3758), stream reset (RFC 6525) and the Supported
//! Extensions parameter (RFC 5061), over a datagram transport the caller owns.
//!
//! An [`Association`] has no clock, no socket and no task. Feed it what arrives
//! ([`handle_packet`](Association::handle_packet)) and what time it is
//! ([`handle_timeout`](Association::handle_timeout)); drain
//! [`poll_transmit`](Association::poll_transmit) for packets to send and
//! [`poll_event`](Association::poll_event) for what happened;
//! [`poll_timeout`](Association::poll_timeout) says when to call again.
//!
//! ```
//! use std::time::Instant;
//! use bytes::Bytes;
//! use strata_datachannel::sctp::{Association, Config, Event, SendOptions};
//!
//! let now = Instant::now();
//! // Fresh random bits for each association's tags and initial TSN.
//! let mut client = Association::new(Config::default(), now, rand::random());
//! let mut server = Association::new(Config::default(), now, rand::random());
//! client.connect(now);
//! // Carry packets both ways until both sides are connected.
//! for _ in 0..4 {
//!     while let Some(packet) = client.poll_transmit(now) {
//!         server.handle_packet(now, &packet);
//!     }
//!     while let Some(packet) = server.poll_transmit(now) {
//!         client.handle_packet(now, &packet);
//!     }
//! }
//! assert!(matches!(client.poll_event(), Some(Event::Connected)));
//! client.send(now, 1, 51, Bytes::from_static(b"hello"), SendOptions::default()).unwrap();
//! while let Some(packet) = client.poll_transmit(now) {
//!     server.handle_packet(now, &packet);
//! }
//! assert!(matches!(server.poll_event(), Some(Event::Connected)));
//! match server.poll_event() {
//!     Some(Event::Message(message)) => assert_eq!(&message.payload[..], b"hello"),
//!     other => panic!("expected the message, got {other:?}"),
//! }
//! ```

mod association;
#[cfg(any(test, feature = "fuzzing"))]
mod fuzz;
mod malformed;
mod receive;
mod send;
#[cfg(test)]
mod tests;
mod tsn;
mod wire;

use std::time::Duration;

use bytes::Bytes;

use crate::config::{DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_SCTP_PORT};

pub use association::Association;
#[cfg(feature = "fuzzing")]
pub(crate) use fuzz::{association as fuzz_association, packet as fuzz_packet};
pub use malformed::{MalformedCounts, MalformedPacket};
pub use wire::seal;

/// The start of virtual time in tests; the clock is read here only.
#[cfg(test)]
fn test_epoch() -> std::time::Instant {
    std::time::Instant::now()
}

/// How an association behaves. The defaults suit WebRTC data channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Our SCTP port (`a=sctp-port`).
    pub local_port: u16,
    /// The peer's SCTP port.
    pub remote_port: u16,
    /// The largest SCTP packet we send, common header included. WebRTC stacks use about
    /// 1200 so that a packet, once in DTLS, UDP and IPv6, fits a 1280-byte path.
    pub mtu: usize,
    /// Our receive window (`a_rwnd`): bytes of data held for the application at most.
    pub receive_window: u32,
    /// The largest message we accept; a larger one is dropped and reported
    /// ([`Event::OversizeMessage`]).
    pub max_message_size: usize,
    /// Streams we announce in each direction (the peer may announce fewer).
    pub streams: u16,
    /// The first retransmission timeout, before any round trip was measured.
    pub rto_initial: Duration,
    /// The least retransmission timeout.
    pub rto_min: Duration,
    /// The largest retransmission timeout, and the cap of its back-off.
    pub rto_max: Duration,
    /// How many times INIT and `COOKIE-ECHO` are sent again before the handshake fails.
    pub max_init_retransmits: u32,
    /// Consecutive retransmission timeouts, with nothing acknowledged in between, after
    /// which the association is declared dead (`Association.Max.Retrans`).
    pub max_retransmits: u32,
    /// How long a SACK may wait for a second packet to acknowledge with it.
    pub delayed_ack: Duration,
    /// How often an idle association sends a HEARTBEAT; `None` sends none.
    pub heartbeat_interval: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            local_port: DEFAULT_SCTP_PORT,
            remote_port: DEFAULT_SCTP_PORT,
            mtu: 1200,
            receive_window: 1024 * 1024,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            streams: u16::MAX,
            rto_initial: Duration::from_millis(500),
            rto_min: Duration::from_millis(200),
            rto_max: Duration::from_secs(3),
            max_init_retransmits: 8,
            max_retransmits: 10,
            delayed_ack: Duration::from_millis(200),
            heartbeat_interval: Some(Duration::from_secs(30)),
        }
    }
}

/// How one message is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SendOptions {
    /// Delivered as soon as it is complete, not in stream order (U bit).
    pub unordered: bool,
    /// Partial reliability: give up after this many retransmissions (RFC 3758 with the
    /// WebRTC "rtx" policy); `Some(0)` sends once.
    pub max_retransmits: Option<u16>,
    /// Partial reliability: give up once this long has passed since the message was
    /// handed to [`Association::send`] (the "timed" policy).
    pub lifetime: Option<Duration>,
}

/// A complete message from the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// The stream it came on.
    pub stream: u16,
    /// Its payload protocol identifier.
    pub ppid: u32,
    /// Its bytes.
    pub payload: Bytes,
}

/// What happened on the association.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The handshake completed; data flows.
    Connected,
    /// A complete message.
    Message(ReceivedMessage),
    /// A message above [`Config::max_message_size`] arrived on `stream` and was dropped.
    OversizeMessage {
        /// The stream.
        stream: u16,
    },
    /// The peer reset these outgoing streams of its own (our incoming ones): every
    /// message it sent on them before the reset has been delivered. In WebRTC, the peer
    /// closed those channels.
    IncomingStreamsReset(Vec<u16>),
    /// Our reset of these outgoing streams completed ([`Association::reset_streams`]).
    OutgoingStreamsReset(Vec<u16>),
    /// `stream`'s buffered amount fell to or below its low threshold.
    BufferedAmountLow {
        /// The stream.
        stream: u16,
    },
    /// The association ended. No event follows.
    Closed(CloseReason),
}

/// Why an association ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// [`Association::shutdown`] completed, or the peer shut down.
    Shutdown,
    /// We aborted ([`Association::abort`]).
    Aborted,
    /// The peer sent ABORT; the text describes its error causes.
    PeerAborted(String),
    /// The handshake did not complete within [`Config::max_init_retransmits`] resends.
    HandshakeTimeout,
    /// [`Config::max_retransmits`] timeouts in a row with nothing acknowledged.
    PeerUnreachable,
    /// The peer broke the protocol; we sent ABORT.
    ProtocolViolation(&'static str),
}

/// Where the association is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Neither connecting nor connected yet.
    Closed,
    /// Our INIT is out (`COOKIE-WAIT`).
    CookieWait,
    /// Our `COOKIE-ECHO` is out (`COOKIE-ECHOED`).
    CookieEchoed,
    /// Connected.
    Established,
    /// Shutting down: the remaining data drains, then SHUTDOWN is exchanged.
    ShuttingDown,
    /// Ended.
    Terminated,
}

/// Why [`Association::send`] refused a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The association is not established, or is shutting down or ended.
    #[error("the association is not open")]
    NotOpen,
    /// The stream is beyond what the peer accepts, or is being reset.
    #[error("stream {0} cannot send")]
    InvalidStream(u16),
    /// SCTP has no empty messages; WebRTC sends a one-byte placeholder with PPID 56/57.
    #[error("an SCTP message cannot be empty")]
    Empty,
}

/// Counters of an association.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Packets sent.
    pub packets_sent: u64,
    /// Packets received and accepted.
    pub packets_received: u64,
    /// Inbound packets dropped, by reason.
    pub malformed_packets: MalformedCounts,
    /// DATA chunks sent again (timeout or fast retransmit).
    pub retransmitted_chunks: u64,
    /// INIT and `COOKIE-ECHO` sent again.
    pub handshake_retransmits: u64,
    /// Retransmission timeouts that fired.
    pub retransmission_timeouts: u64,
    /// Fast retransmits (RFC 9260 §7.2.4).
    pub fast_retransmits: u64,
    /// Messages abandoned under partial reliability.
    pub abandoned_messages: u64,
    /// Duplicate DATA chunks received.
    pub duplicate_chunks: u64,
    /// Bytes of user data acknowledged by the peer.
    pub bytes_acked: u64,
    /// The smoothed round-trip time, once measured.
    pub srtt: Option<Duration>,
    /// The congestion window, bytes.
    pub cwnd: usize,
    /// Bytes received and held: chunks out of order, partial messages, and messages not
    /// yet taken with [`Association::poll_event`].
    pub receive_buffered: usize,
}
