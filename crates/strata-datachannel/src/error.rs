//! The crate's one error type, classified by who is at fault.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use crate::dcep::StreamId;

/// Everything that can go wrong in `strata-datachannel`.
///
/// Variants are grouped by blame, as in rustls: bytes from the peer that do not parse
/// ([`Error::MalformedDcep`]), a well-formed peer that broke the protocol
/// ([`Error::PeerMisbehaved`]), a call the caller should not have made (the
/// `caller misuse` group), and failures of the transport or the association underneath.
/// What the SCTP layer reports without a more precise variant is summarised in
/// [`SctpFailure`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    // ----- malformed input: bytes from the peer that do not parse -----
    /// A DCEP message (PPID 50) did not parse.
    #[error("malformed DCEP message: {0}")]
    MalformedDcep(#[from] DcepParseError),

    // ----- the peer misbehaved: well-formed, but against the protocol -----
    /// The peer broke RFC 8831/8832 procedures.
    #[error("peer violated the data-channel protocol: {0}")]
    PeerMisbehaved(#[from] ProtocolViolation),

    // ----- caller misuse -----
    /// The message is larger than the peer accepts (its `a=max-message-size`).
    #[error("message of {size} bytes exceeds the peer's max-message-size of {limit} bytes")]
    MessageTooLarge {
        /// Size of the refused message.
        size: usize,
        /// The peer's limit.
        limit: usize,
    },
    /// Sending would grow the channel's send buffer past its bound; wait for
    /// [`buffered_amount_low`](crate::DataChannel::buffered_amount_low) and retry.
    #[error("send buffer full: {buffered} bytes queued, limit {limit}")]
    SendBufferFull {
        /// Bytes queued when the send was refused.
        buffered: usize,
        /// The configured bound ([`AssociationConfig::max_buffered_amount`](crate::AssociationConfig)).
        limit: usize,
    },
    /// The channel is closing or closed.
    #[error("data channel {id} is closed")]
    ChannelClosed {
        /// The channel's stream id.
        id: StreamId,
    },
    /// A negotiated channel asked for a stream id that is already in use.
    #[error("stream id {id} is already in use")]
    StreamIdInUse {
        /// The requested id.
        id: StreamId,
    },
    /// Stream id 65535 is reserved (and SCTP streams stop at 65534).
    #[error("stream id {id} is out of range (0..=65534)")]
    StreamIdOutOfRange {
        /// The requested id.
        id: u16,
    },
    /// The association already carries as many channels as it allows.
    #[error("too many data channels: limit {limit}")]
    TooManyChannels {
        /// The configured cap.
        limit: usize,
    },
    /// Every stream id of our parity is in use.
    #[error("no free stream id of our parity")]
    StreamIdsExhausted,
    /// A label or protocol does not fit DCEP's 16-bit length fields.
    #[error("{field} is {len} bytes; DCEP carries at most 65535")]
    FieldTooLong {
        /// Which field.
        field: DcepField,
        /// Its length in bytes.
        len: usize,
    },
    /// `max_retransmits` and `max_packet_life_time` were both set (W3C: a `TypeError`).
    #[error("max_retransmits and max_packet_life_time are mutually exclusive")]
    ConflictingReliability,
    /// A configuration value is out of its documented range.
    #[error("invalid configuration: {what}")]
    InvalidConfig {
        /// Which setting, and why.
        what: &'static str,
    },
    /// The association was created outside a tokio runtime.
    #[error("strata-datachannel needs a tokio runtime")]
    NoRuntime,

    // ----- association and transport -----
    /// The association is closed (or never came up); the reason says why.
    #[error("association closed: {reason}")]
    AssociationClosed {
        /// Why it closed.
        reason: AssociationCloseReason,
    },
    /// The SCTP layer underneath failed in a way we did not map more precisely.
    #[error("SCTP failure: {0}")]
    Sctp(SctpFailure),
}

/// A field of a DCEP `DATA_CHANNEL_OPEN` message.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DcepField {
    /// The channel label.
    Label,
    /// The sub-protocol name.
    Protocol,
}

impl fmt::Display for DcepField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Label => "label",
            Self::Protocol => "protocol",
        })
    }
}

/// Why a DCEP message (RFC 8832 §5) did not parse.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DcepParseError {
    /// Zero-length DCEP message.
    #[error("empty message")]
    Empty,
    /// The message type is not `DATA_CHANNEL_OPEN` (0x03) or `DATA_CHANNEL_ACK` (0x02).
    #[error("unknown message type {message_type:#04x}")]
    UnknownMessageType {
        /// The type byte received.
        message_type: u8,
    },
    /// The fixed part of `DATA_CHANNEL_OPEN` is cut short.
    #[error("truncated DATA_CHANNEL_OPEN: {len} bytes, header needs 12")]
    Truncated {
        /// Bytes received.
        len: usize,
    },
    /// The label or protocol length runs past the end of the message.
    #[error("{field} length {declared} runs past the message end ({available} bytes left)")]
    LengthOverrun {
        /// Which field.
        field: DcepField,
        /// Declared length.
        declared: u16,
        /// Bytes actually left.
        available: usize,
    },
    /// Bytes after the last field.
    #[error("{extra} trailing bytes after the message")]
    TrailingBytes {
        /// How many.
        extra: usize,
    },
    /// The channel type is not one of RFC 8832 §8.2.2's six values.
    #[error("unknown channel type {channel_type:#04x}")]
    UnknownChannelType {
        /// The type byte received.
        channel_type: u8,
    },
    /// The label or protocol is not UTF-8 (RFC 8832 §5.1).
    #[error("{field} is not UTF-8")]
    InvalidUtf8 {
        /// Which field.
        field: DcepField,
    },
}

/// A well-formed peer broke the data-channel procedures of RFC 8831/8832.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolViolation {
    /// `DATA_CHANNEL_OPEN` on a stream that already carries a channel (RFC 8832 §6).
    #[error("DATA_CHANNEL_OPEN on stream {id}, which is already in use")]
    OpenOnUsedStream {
        /// The stream.
        id: StreamId,
    },
    /// `DATA_CHANNEL_OPEN` on a stream id of our parity (RFC 8832 §6: the DTLS client
    /// opens even ids, the server odd ones).
    #[error("DATA_CHANNEL_OPEN on stream {id}, whose parity belongs to us")]
    OpenWithWrongParity {
        /// The stream.
        id: StreamId,
    },
    /// `DATA_CHANNEL_ACK` on a stream with no OPEN of ours waiting for it.
    #[error("unexpected DATA_CHANNEL_ACK on stream {id}")]
    UnexpectedAck {
        /// The stream.
        id: StreamId,
    },
    /// A DCEP message that did not parse: the stream is refused, or its channel closed.
    #[error("malformed DCEP message on stream {id}: {error}")]
    MalformedDcep {
        /// The stream.
        id: StreamId,
        /// What was wrong.
        error: DcepParseError,
    },
    /// A user message with a PPID that data channels do not use, including the deprecated
    /// partial PPIDs 52 and 54 (RFC 8831 §6.6: the receiver closes the channel).
    #[error("unsupported payload protocol identifier {ppid:?} on stream {id}")]
    UnsupportedPayloadProtocol {
        /// The stream.
        id: StreamId,
        /// The PPID, when the SCTP layer reports it.
        ppid: Option<u32>,
    },
    /// The peer sent a message larger than our advertised `a=max-message-size`.
    #[error("inbound message on stream {id} exceeds our max-message-size of {limit} bytes")]
    InboundMessageTooLarge {
        /// The stream.
        id: StreamId,
        /// Our advertised limit.
        limit: usize,
    },
}

/// Why an association ended.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssociationCloseReason {
    /// We closed it ([`Association::close`](crate::Association::close) or the last handle
    /// was dropped).
    Local,
    /// The peer shut it down gracefully (SCTP SHUTDOWN).
    PeerShutdown,
    /// The peer aborted it (SCTP ABORT).
    PeerAbort,
    /// The SCTP handshake did not complete in time.
    HandshakeTimeout,
    /// The SCTP handshake failed.
    HandshakeFailed(SctpFailure),
    /// The peer stopped acknowledging: retransmission timeouts expired too many times
    /// in a row.
    PeerUnreachable,
    /// The peer broke the SCTP protocol and we aborted the association.
    PeerMisbehaved(SctpFailure),
    /// The datagram transport failed or closed.
    TransportFailed(TransportFailure),
}

impl fmt::Display for AssociationCloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local => f.write_str("closed locally"),
            Self::PeerShutdown => f.write_str("peer shut the association down"),
            Self::PeerAbort => f.write_str("peer aborted the association"),
            Self::HandshakeTimeout => f.write_str("SCTP handshake timed out"),
            Self::HandshakeFailed(e) => write!(f, "SCTP handshake failed: {e}"),
            Self::PeerUnreachable => f.write_str("peer stopped acknowledging"),
            Self::PeerMisbehaved(e) => write!(f, "peer violated SCTP: {e}"),
            Self::TransportFailed(e) => write!(f, "transport failed: {e}"),
        }
    }
}

/// A transport error, kept cheaply cloneable.
#[derive(Debug, Clone)]
pub struct TransportFailure(Arc<std::io::Error>);

impl TransportFailure {
    pub(crate) fn new(error: std::io::Error) -> Self {
        Self(Arc::new(error))
    }

    /// The I/O error kind the transport reported.
    pub fn kind(&self) -> std::io::ErrorKind {
        self.0.kind()
    }
}

impl PartialEq for TransportFailure {
    fn eq(&self, other: &Self) -> bool {
        self.0.kind() == other.0.kind() && self.0.to_string() == other.0.to_string()
    }
}

impl Eq for TransportFailure {}

impl fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for TransportFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.0.as_ref())
    }
}

/// An SCTP-layer failure, described in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SctpFailure {
    description: Cow<'static, str>,
}

impl SctpFailure {
    pub(crate) fn new(description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            description: description.into(),
        }
    }
}

impl fmt::Display for SctpFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
}

impl std::error::Error for SctpFailure {}
