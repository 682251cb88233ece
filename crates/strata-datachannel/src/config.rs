//! Configuration of an association and options of a channel.

use std::time::Duration;

use crate::dcep::{ChannelType, DtlsRole, Reliability};
use crate::error::Error;

/// The SCTP port WebRTC uses unless SDP `a=sctp-port` says otherwise (RFC 8841).
pub const DEFAULT_SCTP_PORT: u16 = 5000;
/// What we advertise in `a=max-message-size` by default.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 256 * 1024;
/// RFC 8841 §6.1: the peer's limit when its SDP has no `a=max-message-size`.
pub const SDP_DEFAULT_MAX_MESSAGE_SIZE: usize = 64 * 1024;

/// The peer's `a=max-message-size` (RFC 8841 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxMessageSize {
    /// At most this many bytes per message.
    Bytes(usize),
    /// `a=max-message-size:0`: any size the sender can buffer.
    Unlimited,
}

impl MaxMessageSize {
    /// Reads the SDP attribute's value: absent means 65536, `0` means unlimited.
    pub fn from_sdp(value: Option<u64>) -> Self {
        match value {
            None => Self::Bytes(SDP_DEFAULT_MAX_MESSAGE_SIZE),
            Some(0) => Self::Unlimited,
            Some(bytes) => Self::Bytes(usize::try_from(bytes).unwrap_or(usize::MAX)),
        }
    }

    pub(crate) fn limit(self) -> usize {
        match self {
            Self::Bytes(bytes) => bytes,
            Self::Unlimited => usize::MAX,
        }
    }
}

/// Settings of one association. Start from [`AssociationConfig::new`] and change fields.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct AssociationConfig {
    /// Our DTLS role: the client opens even stream ids and starts the SCTP handshake
    /// (INIT); the server opens odd ids and answers.
    pub role: DtlsRole,
    /// Our SCTP port (SDP `a=sctp-port`).
    pub local_port: u16,
    /// The peer's SCTP port.
    pub remote_port: u16,
    /// What we advertise in `a=max-message-size`: the largest message we accept. A larger
    /// one closes its channel ([`ProtocolViolation::InboundMessageTooLarge`](crate::ProtocolViolation)).
    pub max_message_size: usize,
    /// The peer's `a=max-message-size`, enforced on every send.
    pub remote_max_message_size: MaxMessageSize,
    /// SCTP receive window in bytes (`a_rwnd`); at least `max_message_size` so a peer's
    /// largest message always fits.
    pub receive_window: u32,
    /// Channels at once, ours and the peer's (1..=65535). OPENs beyond are refused.
    pub max_channels: usize,
    /// Per-channel bound on bytes queued for sending and not yet acknowledged
    /// ([`Error::SendBufferFull`] beyond). Across all channels, a send waits while the
    /// association holds 1 MiB or more.
    pub max_buffered_amount: usize,
    /// Per-channel bound on received bytes the application has not read yet. Beyond it
    /// a reliable channel is closed ([`ChannelCloseReason::ReceiveBufferOverflow`](crate::ChannelCloseReason))
    /// and an unreliable one drops the message (counted). Worst case, received data held
    /// for the application is `max_channels` times this.
    pub channel_receive_buffer: usize,
    /// Streams carrying data before any channel claimed them (a pre-negotiated channel
    /// the application creates late) held at once.
    pub max_unclaimed_streams: usize,
    /// Bytes held on unclaimed streams, across all of them.
    pub max_unclaimed_bytes: usize,
    /// How long an unclaimed stream waits before it is reset.
    pub unclaimed_timeout: Duration,
    /// How long a closing channel waits for the peer's reset.
    pub channel_close_timeout: Duration,
    /// How long the SCTP handshake may take.
    pub handshake_timeout: Duration,
    /// How long a graceful SCTP shutdown may take before the association is torn down.
    pub shutdown_timeout: Duration,
}

impl AssociationConfig {
    /// Defaults for `role`: port 5000 both ways, 256 KiB messages advertised, the peer
    /// assumed to take 64 KiB until told otherwise, 1 MiB receive window, 1024 channels,
    /// 16 MiB send buffer and 16 MiB receive queue per channel.
    pub fn new(role: DtlsRole) -> Self {
        Self {
            role,
            local_port: DEFAULT_SCTP_PORT,
            remote_port: DEFAULT_SCTP_PORT,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            remote_max_message_size: MaxMessageSize::Bytes(SDP_DEFAULT_MAX_MESSAGE_SIZE),
            receive_window: 1 << 20,
            max_channels: 1024,
            max_buffered_amount: 16 << 20,
            channel_receive_buffer: 16 << 20,
            max_unclaimed_streams: 16,
            max_unclaimed_bytes: 1 << 20,
            unclaimed_timeout: Duration::from_secs(5),
            channel_close_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(2),
        }
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        let checks = [
            (
                self.max_message_size == 0,
                "max_message_size must be positive",
            ),
            (
                self.max_message_size > (u32::MAX as usize),
                "max_message_size must fit in 32 bits",
            ),
            (
                (self.receive_window as usize) < self.max_message_size,
                "receive_window must be at least max_message_size",
            ),
            (
                self.max_channels == 0 || self.max_channels > 65_535,
                "max_channels must be in 1..=65535",
            ),
            (
                self.local_port == 0 || self.remote_port == 0,
                "SCTP ports must be non-zero",
            ),
            (
                self.channel_receive_buffer < self.max_message_size,
                "channel_receive_buffer must hold at least one message",
            ),
        ];
        match checks.into_iter().find(|(bad, _)| *bad) {
            Some((_, what)) => Err(Error::InvalidConfig { what }),
            None => Ok(()),
        }
    }
}

/// W3C `RTCPriorityType`, carried in `DATA_CHANNEL_OPEN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Priority {
    /// 128.
    VeryLow,
    /// 256 (the W3C default).
    #[default]
    Low,
    /// 512.
    Medium,
    /// 1024.
    High,
}

impl Priority {
    /// The DCEP priority value.
    pub fn to_wire(self) -> u16 {
        match self {
            Self::VeryLow => 128,
            Self::Low => 256,
            Self::Medium => 512,
            Self::High => 1024,
        }
    }

    /// The closest W3C priority for a DCEP value (RFC 8831 §6.4 ranges).
    pub fn from_wire(value: u16) -> Self {
        match value {
            0..=191 => Self::VeryLow,
            192..=383 => Self::Low,
            384..=767 => Self::Medium,
            _ => Self::High,
        }
    }
}

/// How to create a channel (W3C `RTCDataChannelInit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelOptions {
    /// In-order delivery (default `true`).
    pub ordered: bool,
    /// At most this many retransmissions; exclusive with `max_packet_life_time`.
    pub max_retransmits: Option<u32>,
    /// Retransmit for at most this long; exclusive with `max_retransmits`. Sent in
    /// milliseconds.
    pub max_packet_life_time: Option<Duration>,
    /// Sub-protocol name (may be empty).
    pub protocol: String,
    /// `Some(id)`: a pre-negotiated channel (`negotiated: true, id`); both sides create
    /// it with the same id and no DCEP is exchanged.
    pub negotiated: Option<u16>,
    /// Priority.
    pub priority: Priority,
}

impl Default for ChannelOptions {
    fn default() -> Self {
        Self {
            ordered: true,
            max_retransmits: None,
            max_packet_life_time: None,
            protocol: String::new(),
            negotiated: None,
            priority: Priority::Low,
        }
    }
}

impl ChannelOptions {
    pub(crate) fn channel_type(&self) -> Result<ChannelType, Error> {
        let reliability = match (self.max_retransmits, self.max_packet_life_time) {
            (Some(_), Some(_)) => return Err(Error::ConflictingReliability),
            (Some(n), None) => Reliability::MaxRetransmits(n),
            (None, Some(lifetime)) => Reliability::MaxPacketLifetimeMs(
                u32::try_from(lifetime.as_millis()).unwrap_or(u32::MAX),
            ),
            (None, None) => Reliability::Reliable,
        };
        Ok(ChannelType {
            ordered: self.ordered,
            reliability,
        })
    }
}
