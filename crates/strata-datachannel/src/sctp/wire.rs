//! SCTP packets and chunks on the wire (RFC 9260 §3, RFC 3758 `FORWARD-TSN`, RFC 6525
//! RE-CONFIG, RFC 5061 Supported Extensions): parsing that never panics and never reads
//! past a length, and serialization with the `CRC32c` checksum.
//!
//! Parsing is zero-copy: payloads and opaque values are [`Bytes`] slices of the packet.

use bytes::{BufMut, Bytes, BytesMut};

use super::malformed::MalformedPacket;
use super::tsn::Tsn;

/// Bytes in the SCTP common header.
pub(crate) const COMMON_HEADER_LEN: usize = 12;
/// Bytes in a DATA chunk before its user data (chunk header included).
pub(crate) const DATA_HEADER_LEN: usize = 16;

/// One SCTP packet: the common header and its chunks (RFC 9260 §3.1).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     Source Port Number        |     Destination Port Number   |
/// |                      Verification Tag                         |
/// |                    Checksum (CRC32c, little-endian)           |
/// |  Chunk Type   |  Chunk Flags  |         Chunk Length          |
/// /                  Chunk Value, padded to 4 bytes               /
/// /                          more chunks                          /
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Packet {
    /// The sender's SCTP port.
    pub(crate) source_port: u16,
    /// The receiver's SCTP port.
    pub(crate) destination_port: u16,
    /// The receiver's tag (0 on INIT; the sender's own on a reflected ABORT or
    /// `SHUTDOWN-COMPLETE`).
    pub(crate) verification_tag: u32,
    /// The chunks, in order.
    pub(crate) chunks: Vec<Chunk>,
}

/// A chunk, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Chunk {
    /// DATA (0).
    Data(Data),
    /// INIT (1).
    Init(Init),
    /// `INIT-ACK` (2).
    InitAck(Init),
    /// SACK (3).
    Sack(Sack),
    /// HEARTBEAT (4): the Heartbeat Info parameter's value, opaque.
    Heartbeat(Bytes),
    /// `HEARTBEAT-ACK` (5): the Heartbeat Info echoed back.
    HeartbeatAck(Bytes),
    /// ABORT (6).
    Abort {
        /// The T bit: the tag is the peer's own (reflected).
        reflected: bool,
        /// Why, possibly nothing.
        causes: Vec<ErrorCause>,
    },
    /// SHUTDOWN (7).
    Shutdown {
        /// The last TSN received in sequence.
        cumulative_tsn_ack: Tsn,
    },
    /// `SHUTDOWN-ACK` (8).
    ShutdownAck,
    /// ERROR (9).
    Error {
        /// What went wrong.
        causes: Vec<ErrorCause>,
    },
    /// `COOKIE-ECHO` (10): the State Cookie from the `INIT-ACK`, opaque.
    CookieEcho(Bytes),
    /// `COOKIE-ACK` (11).
    CookieAck,
    /// `SHUTDOWN-COMPLETE` (14).
    ShutdownComplete {
        /// The T bit: the tag is the peer's own (reflected).
        reflected: bool,
    },
    /// RE-CONFIG (130, RFC 6525): one or two parameters.
    Reconfig(Vec<ReconfigParam>),
    /// `FORWARD-TSN` (192, RFC 3758).
    ForwardTsn(ForwardTsn),
    /// A chunk type we do not know; RFC 9260 §3.2 says by its two upper bits what to do.
    Unknown {
        /// The chunk type.
        kind: u8,
        /// The chunk flags, as they came.
        flags: u8,
        /// The value, padding excluded.
        value: Bytes,
    },
}

/// A DATA chunk (RFC 9260 §3.3.1).
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   Type = 0    |  Res  |I|U|B|E|           Length              |
/// |                              TSN                              |
/// |      Stream Identifier S      |   Stream Sequence Number n    |
/// |                  Payload Protocol Identifier                  |
/// /                 User Data (seq n of Stream S)                 /
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)] // the chunk's four flag bits, as RFC 9260 names them
pub(crate) struct Data {
    /// This fragment's transmission sequence number.
    pub(crate) tsn: Tsn,
    /// The stream identifier.
    pub(crate) stream: u16,
    /// The stream sequence number of the message (meaningless when unordered).
    pub(crate) ssn: u16,
    /// The payload protocol identifier (WebRTC: RFC 8831 §8).
    pub(crate) ppid: u32,
    /// U bit.
    pub(crate) unordered: bool,
    /// B bit: the first fragment of a message.
    pub(crate) beginning: bool,
    /// E bit: the last fragment.
    pub(crate) ending: bool,
    /// I bit (RFC 7053): the receiver should acknowledge at once.
    pub(crate) immediate: bool,
    /// The user data, never empty on the wire (RFC 9260 §6.2).
    pub(crate) payload: Bytes,
}

/// INIT and `INIT-ACK` (RFC 9260 §3.3.2, §3.3.3): the same fixed part and the
/// parameters WebRTC uses.
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   Type = 1/2  |  Chunk Flags  |         Chunk Length          |
/// |                         Initiate Tag                          |
/// |          Advertised Receiver Window Credit (a_rwnd)           |
/// |  Number of Outbound Streams   |   Number of Inbound Streams   |
/// |                          Initial TSN                          |
/// /              Optional/Variable-Length Parameters              /
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Init {
    /// The tag the receiver must put in every packet it sends us.
    pub(crate) initiate_tag: u32,
    /// The sender's receive window, in bytes.
    pub(crate) a_rwnd: u32,
    /// Streams the sender wants to send on.
    pub(crate) outbound_streams: u16,
    /// Streams the sender accepts.
    pub(crate) inbound_streams: u16,
    /// The TSN of the sender's first DATA.
    pub(crate) initial_tsn: Tsn,
    /// State Cookie (parameter 7), `INIT-ACK` only (parsed in either).
    pub(crate) cookie: Option<Bytes>,
    /// Forward-TSN-Supported (parameter 49152, RFC 3758).
    pub(crate) forward_tsn_supported: bool,
    /// Supported Extensions (parameter 0x8008, RFC 5061): chunk types.
    pub(crate) supported_extensions: Vec<u8>,
    /// Unknown parameters whose upper bits ask to be reported (RFC 9260 §3.2.1), whole
    /// (header and value, no padding): an `INIT-ACK` answering them carries each as an
    /// Unrecognized Parameter (parameter 8). Written only in an `INIT-ACK`.
    pub(crate) unrecognized: Vec<Bytes>,
    /// Unrecognized Parameter parameters (8) in an `INIT-ACK`: what the peer did not know.
    /// Filled by parsing only, never written.
    pub(crate) reported_unrecognized: Vec<Bytes>,
}

/// SACK (RFC 9260 §3.3.4). Gap blocks are offsets from the cumulative TSN ack.
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   Type = 3    |  Chunk Flags  |         Chunk Length          |
/// |                      Cumulative TSN Ack                       |
/// |          Advertised Receiver Window Credit (a_rwnd)           |
/// | Number of Gap Ack Blocks = N  |  Number of Duplicate TSNs = M |
/// |    Gap Ack Block #1 Start     |     Gap Ack Block #1 End      |
/// /                              ...                              /
/// |                        Duplicate TSN 1                        |
/// /                              ...                              /
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Sack {
    /// The last TSN received in sequence.
    pub(crate) cumulative_tsn_ack: Tsn,
    /// The sender's receive window, in bytes.
    pub(crate) a_rwnd: u32,
    /// `(start, end)` offsets, inclusive.
    pub(crate) gap_blocks: Vec<(u16, u16)>,
    /// TSNs received more than once since the last SACK.
    pub(crate) duplicates: Vec<Tsn>,
}

/// `FORWARD-TSN` (RFC 3758 §3.2).
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   Type = 192  |  Flags = 0x00 |        Length = Variable      |
/// |                      New Cumulative TSN                       |
/// |         Stream-1              |       Stream Sequence-1       |
/// /                              ...                              /
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ForwardTsn {
    /// The TSN the receiver should take as received, with all before it.
    pub(crate) new_cumulative_tsn: Tsn,
    /// `(stream, ssn)`: the largest SSN skipped on each ordered stream.
    pub(crate) streams: Vec<(u16, u16)>,
}

/// A RE-CONFIG parameter (RFC 6525 §4), after its type and length:
///
/// ```text
/// Outgoing SSN Reset Request (13)       Incoming SSN Reset Request (14)
/// | Re-configuration Request Seq  |     | Re-configuration Request Seq  |
/// | Re-configuration Response Seq |     | Stream Number 1 (optional)... |
/// | Sender's Last Assigned TSN    |
/// | Stream Number 1 (optional)... |     Re-configuration Response (16)
///                                       | Re-configuration Response Seq |
///                                       | Result                        |
///                                       | Sender's Next TSN (optional)  |
///                                       | Receiver's Next TSN (optional)|
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReconfigParam {
    /// Outgoing SSN Reset Request (13).
    OutgoingReset {
        /// This request's sequence number.
        request_seq: u32,
        /// The sequence number of the peer's request this one answers.
        response_seq: u32,
        /// The last TSN the sender assigned: reset once everything up to it arrived.
        sender_last_tsn: Tsn,
        /// Empty means every stream.
        streams: Vec<u16>,
    },
    /// Incoming SSN Reset Request (14).
    IncomingReset {
        /// This request's sequence number.
        request_seq: u32,
        /// Empty means every stream.
        streams: Vec<u16>,
    },
    /// Re-configuration Response (16), without the optional TSN fields.
    Response {
        /// The sequence number of the request answered.
        response_seq: u32,
        /// What became of it.
        result: ReconfigResult,
    },
    /// Any other parameter (SSN/TSN reset 15, add streams 17/18, unknown), kept whole.
    Other {
        /// The parameter type.
        kind: u16,
        /// The value, header and padding excluded.
        value: Bytes,
    },
}

/// The result field of a Re-configuration Response (RFC 6525 §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReconfigResult {
    /// 0: Success - Nothing to do.
    SuccessNothingToDo,
    /// 1: Success - Performed.
    SuccessPerformed,
    /// 2: Denied.
    Denied,
    /// 3: Error - Wrong SSN.
    ErrorWrongSsn,
    /// 4: Error - Request already in progress.
    ErrorRequestAlreadyInProgress,
    /// 5: Error - Bad Sequence Number.
    ErrorBadSequenceNumber,
    /// 6: In progress.
    InProgress,
    /// A number RFC 6525 does not define.
    Other(u32),
}

/// An error cause in ABORT or ERROR (RFC 9260 §3.3.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ErrorCause {
    /// The cause code ([`cause`]).
    pub(crate) code: u16,
    /// The cause-specific information, header and padding excluded.
    pub(crate) info: Bytes,
}

/// Error cause codes we send or read.
pub(crate) mod cause {
    /// Invalid Stream Identifier.
    pub(crate) const INVALID_STREAM: u16 = 1;
    /// Missing Mandatory Parameter.
    pub(crate) const MISSING_PARAMETER: u16 = 2;
    /// Stale Cookie Error.
    pub(crate) const STALE_COOKIE: u16 = 3;
    /// Out of Resource.
    pub(crate) const OUT_OF_RESOURCE: u16 = 4;
    /// Unrecognized Chunk Type.
    pub(crate) const UNRECOGNIZED_CHUNK: u16 = 6;
    /// Invalid Mandatory Parameter.
    pub(crate) const INVALID_MANDATORY_PARAMETER: u16 = 7;
    /// No User Data.
    pub(crate) const NO_USER_DATA: u16 = 9;
    /// Protocol Violation.
    pub(crate) const PROTOCOL_VIOLATION: u16 = 13;
    /// User-Initiated Abort.
    pub(crate) const USER_INITIATED_ABORT: u16 = 12;
}

/// Bytes in a chunk header, and in a parameter or error cause header.
const TLV_HEADER_LEN: usize = 4;
/// Bytes of the INIT / `INIT-ACK` fixed part after the chunk header.
const INIT_FIXED_LEN: usize = 16;
/// What a writer reserves up front: WebRTC stacks send packets of about 1200 bytes.
const TYPICAL_PACKET_LEN: usize = 1200;

/// Chunk types (RFC 9260 §3.2, RFC 6525 §3.1, RFC 3758 §3.2).
mod chunk_type {
    /// DATA.
    pub(super) const DATA: u8 = 0;
    /// INIT.
    pub(super) const INIT: u8 = 1;
    /// `INIT-ACK`.
    pub(super) const INIT_ACK: u8 = 2;
    /// SACK.
    pub(super) const SACK: u8 = 3;
    /// HEARTBEAT.
    pub(super) const HEARTBEAT: u8 = 4;
    /// `HEARTBEAT-ACK`.
    pub(super) const HEARTBEAT_ACK: u8 = 5;
    /// ABORT.
    pub(super) const ABORT: u8 = 6;
    /// SHUTDOWN.
    pub(super) const SHUTDOWN: u8 = 7;
    /// `SHUTDOWN-ACK`.
    pub(super) const SHUTDOWN_ACK: u8 = 8;
    /// ERROR.
    pub(super) const ERROR: u8 = 9;
    /// `COOKIE-ECHO`.
    pub(super) const COOKIE_ECHO: u8 = 10;
    /// `COOKIE-ACK`.
    pub(super) const COOKIE_ACK: u8 = 11;
    /// `SHUTDOWN-COMPLETE`.
    pub(super) const SHUTDOWN_COMPLETE: u8 = 14;
    /// RE-CONFIG (RFC 6525).
    pub(super) const RECONFIG: u8 = 130;
    /// `FORWARD-TSN` (RFC 3758).
    pub(super) const FORWARD_TSN: u8 = 192;
}

/// Parameter types (RFC 9260 §3.3.2.1, RFC 3758, RFC 5061, RFC 6525, RFC 9653).
mod param_type {
    /// Heartbeat Info.
    pub(super) const HEARTBEAT_INFO: u16 = 1;
    /// IPv4 Address.
    pub(super) const IPV4_ADDRESS: u16 = 5;
    /// IPv6 Address.
    pub(super) const IPV6_ADDRESS: u16 = 6;
    /// State Cookie.
    pub(super) const STATE_COOKIE: u16 = 7;
    /// Unrecognized Parameter.
    pub(super) const UNRECOGNIZED_PARAMETER: u16 = 8;
    /// Cookie Preservative.
    pub(super) const COOKIE_PRESERVATIVE: u16 = 9;
    /// Host Name Address (deprecated).
    pub(super) const HOST_NAME_ADDRESS: u16 = 11;
    /// Supported Address Types.
    pub(super) const SUPPORTED_ADDRESS_TYPES: u16 = 12;
    /// Outgoing SSN Reset Request (RFC 6525).
    pub(super) const OUTGOING_RESET: u16 = 13;
    /// Incoming SSN Reset Request (RFC 6525).
    pub(super) const INCOMING_RESET: u16 = 14;
    /// Re-configuration Response (RFC 6525).
    pub(super) const RECONFIG_RESPONSE: u16 = 16;
    /// ECN Capable (reserved).
    pub(super) const ECN_CAPABLE: u16 = 0x8000;
    /// Zero Checksum Acceptable (RFC 9653).
    pub(super) const ZERO_CHECKSUM_ACCEPTABLE: u16 = 0x8001;
    /// Supported Extensions (RFC 5061).
    pub(super) const SUPPORTED_EXTENSIONS: u16 = 0x8008;
    /// Forward-TSN-Supported (RFC 3758).
    pub(super) const FORWARD_TSN_SUPPORTED: u16 = 0xC000;
    /// Upper bit of an unknown parameter's type: skip it and go on (else stop).
    pub(super) const UNKNOWN_SKIP: u16 = 0x8000;
    /// Second bit of an unknown parameter's type: report it.
    pub(super) const UNKNOWN_REPORT: u16 = 0x4000;
}

/// DATA chunk flags (RFC 9260 §3.3.1, RFC 7053).
mod data_flag {
    /// E: the last fragment.
    pub(super) const ENDING: u8 = 0x01;
    /// B: the first fragment.
    pub(super) const BEGINNING: u8 = 0x02;
    /// U: unordered.
    pub(super) const UNORDERED: u8 = 0x04;
    /// I: acknowledge at once (RFC 7053).
    pub(super) const IMMEDIATE: u8 = 0x08;
}

/// The T bit of ABORT and `SHUTDOWN-COMPLETE` (RFC 9260 §3.3.7, §3.3.13).
const REFLECTED_TAG: u8 = 0x01;

/// SCTP's checksum, CRC-32/ISCSI (RFC 9260 Appendix A). Slice-by-16 tables, built at
/// compile time.
static CRC32C: crc::Crc<u32, crc::Table<16>> =
    crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_ISCSI);

/// `len` rounded up to a multiple of four: chunks and parameters are padded to that.
const fn padded(len: usize) -> usize {
    len.next_multiple_of(4)
}

/// The packet's `CRC32c`, computed with the checksum field (bytes 8..12) as zero.
pub(crate) fn checksum(packet: &[u8]) -> u32 {
    let mut digest = CRC32C.digest();
    digest.update(packet.get(..8).unwrap_or_default());
    digest.update(&[0; 4]);
    digest.update(packet.get(COMMON_HEADER_LEN..).unwrap_or_default());
    digest.finalize()
}

/// Writes the `CRC32c` of an SCTP packet into its checksum field (little-endian, as SCTP
/// stacks read it), for tools and tests that craft packets. A packet shorter than the
/// common header is left alone.
pub fn seal(packet: &mut [u8]) {
    let sum = checksum(packet);
    if let Some(field) = packet.get_mut(8..COMMON_HEADER_LEN) {
        field.copy_from_slice(&sum.to_le_bytes());
    }
}

impl Packet {
    /// Parses a packet whose `CRC32c` is correct; every length is checked, chunks must tile
    /// the packet (padding included), INIT / `INIT-ACK` must stand alone.
    ///
    /// Payloads, cookies and other opaque values are slices of `datagram`. The checksum is
    /// read little-endian, as every SCTP stack writes it. Padding bytes are not required
    /// to be zero (RFC 9260 §3.2: the receiver ignores them), but must be there; the last
    /// parameter of a chunk may come with or without its padding counted in the chunk
    /// length. A packet with no chunk at all is accepted (it says nothing).
    pub(crate) fn parse(datagram: &Bytes) -> Result<Packet, MalformedPacket> {
        let Some(header) = datagram.first_chunk::<COMMON_HEADER_LEN>() else {
            return Err(MalformedPacket::TooShort);
        };
        let [s0, s1, d0, d1, t0, t1, t2, t3, c0, c1, c2, c3] = *header;
        if checksum(datagram) != u32::from_le_bytes([c0, c1, c2, c3]) {
            return Err(MalformedPacket::BadChecksum);
        }
        let mut chunks = Vec::new();
        let mut at = COMMON_HEADER_LEN;
        while let Some(rest) = datagram.get(at..).filter(|rest| !rest.is_empty()) {
            let &[kind, flags, l0, l1, ..] = rest else {
                return Err(MalformedPacket::TruncatedChunkHeader);
            };
            let length = usize::from(u16::from_be_bytes([l0, l1]));
            if length < TLV_HEADER_LEN {
                return Err(MalformedPacket::ChunkLengthTooShort);
            }
            if length > rest.len() {
                return Err(MalformedPacket::ChunkOverrun);
            }
            if padded(length) > rest.len() {
                return Err(MalformedPacket::BadPadding);
            }
            let is_init = |kind| matches!(kind, chunk_type::INIT | chunk_type::INIT_ACK);
            if !chunks.is_empty()
                && (is_init(kind)
                    || matches!(chunks.first(), Some(Chunk::Init(_) | Chunk::InitAck(_))))
            {
                return Err(MalformedPacket::InitNotAlone);
            }
            let value = datagram.slice(at + TLV_HEADER_LEN..at + length);
            chunks.push(Chunk::parse(kind, flags, value)?);
            at += padded(length);
        }
        Ok(Packet {
            source_port: u16::from_be_bytes([s0, s1]),
            destination_port: u16::from_be_bytes([d0, d1]),
            verification_tag: u32::from_be_bytes([t0, t1, t2, t3]),
            chunks,
        })
    }

    /// Writes the packet back out, checksum included.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn write(&self) -> Bytes {
        let mut writer = PacketWriter::new(
            self.source_port,
            self.destination_port,
            self.verification_tag,
        );
        for chunk in &self.chunks {
            writer.push(chunk);
        }
        writer.finish()
    }
}

impl Chunk {
    /// Bytes this chunk takes on the wire, padding included.
    pub(crate) fn wire_len(&self) -> usize {
        let value = match self {
            Chunk::Data(data) => DATA_HEADER_LEN - TLV_HEADER_LEN + data.payload.len(),
            Chunk::Init(init) => INIT_FIXED_LEN + init_params_len(init, false),
            Chunk::InitAck(init) => INIT_FIXED_LEN + init_params_len(init, true),
            Chunk::Sack(sack) => 12 + 4 * (sack.gap_blocks.len() + sack.duplicates.len()),
            Chunk::Heartbeat(info) | Chunk::HeartbeatAck(info) => TLV_HEADER_LEN + info.len(),
            Chunk::Abort { causes, .. } | Chunk::Error { causes } => causes
                .iter()
                .map(|cause| padded(TLV_HEADER_LEN + cause.info.len()))
                .sum(),
            Chunk::Shutdown { .. } => 4,
            Chunk::ShutdownAck | Chunk::CookieAck | Chunk::ShutdownComplete { .. } => 0,
            Chunk::CookieEcho(cookie) => cookie.len(),
            Chunk::Reconfig(params) => params
                .iter()
                .map(|param| padded(TLV_HEADER_LEN + param.value_len()))
                .sum(),
            Chunk::ForwardTsn(forward) => 4 + 4 * forward.streams.len(),
            Chunk::Unknown { value, .. } => value.len(),
        };
        padded(TLV_HEADER_LEN + value)
    }

    /// Parses one chunk's value (what follows its header, padding excluded).
    fn parse(kind: u8, flags: u8, value: Bytes) -> Result<Chunk, MalformedPacket> {
        if TLV_HEADER_LEN + value.len() < min_chunk_len(kind) {
            return Err(MalformedPacket::ChunkLengthTooShort);
        }
        let empty = |chunk: Chunk| {
            if value.is_empty() {
                Ok(chunk)
            } else {
                Err(MalformedPacket::InconsistentChunkLength)
            }
        };
        let mut fields = Reader::new(value.clone(), MalformedPacket::ChunkLengthTooShort);
        Ok(match kind {
            chunk_type::DATA => Chunk::Data(parse_data(flags, fields)?),
            chunk_type::INIT => Chunk::Init(parse_init(fields, false)?),
            chunk_type::INIT_ACK => Chunk::InitAck(parse_init(fields, true)?),
            chunk_type::SACK => Chunk::Sack(parse_sack(fields)?),
            chunk_type::HEARTBEAT => Chunk::Heartbeat(heartbeat_info(value)?),
            chunk_type::HEARTBEAT_ACK => Chunk::HeartbeatAck(heartbeat_info(value)?),
            chunk_type::ABORT => Chunk::Abort {
                reflected: flags & REFLECTED_TAG != 0,
                causes: parse_causes(value)?,
            },
            chunk_type::SHUTDOWN => {
                let cumulative_tsn_ack = Tsn(fields.u32()?);
                if fields.remaining() != 0 {
                    return Err(MalformedPacket::InconsistentChunkLength);
                }
                Chunk::Shutdown { cumulative_tsn_ack }
            }
            chunk_type::SHUTDOWN_ACK => empty(Chunk::ShutdownAck)?,
            chunk_type::ERROR => Chunk::Error {
                causes: parse_causes(value)?,
            },
            chunk_type::COOKIE_ECHO => Chunk::CookieEcho(value),
            chunk_type::COOKIE_ACK => empty(Chunk::CookieAck)?,
            chunk_type::SHUTDOWN_COMPLETE => empty(Chunk::ShutdownComplete {
                reflected: flags & REFLECTED_TAG != 0,
            })?,
            chunk_type::RECONFIG => Chunk::Reconfig(
                Tlvs::new(value)
                    .map(|param| param.and_then(parse_reconfig_param))
                    .collect::<Result<_, _>>()?,
            ),
            chunk_type::FORWARD_TSN => Chunk::ForwardTsn(parse_forward_tsn(fields)?),
            kind => Chunk::Unknown { kind, flags, value },
        })
    }
}

/// The least length field (header included) a chunk of this type may have.
fn min_chunk_len(kind: u8) -> usize {
    match kind {
        chunk_type::DATA => DATA_HEADER_LEN,
        chunk_type::INIT | chunk_type::INIT_ACK => TLV_HEADER_LEN + INIT_FIXED_LEN,
        chunk_type::SACK => 16,
        // These carry at least one parameter: the Heartbeat Info, a RE-CONFIG request or
        // response.
        chunk_type::HEARTBEAT | chunk_type::HEARTBEAT_ACK | chunk_type::RECONFIG => {
            2 * TLV_HEADER_LEN
        }
        chunk_type::SHUTDOWN | chunk_type::FORWARD_TSN => 8,
        _ => TLV_HEADER_LEN,
    }
}

/// A DATA chunk's value: see [`Data`].
fn parse_data(flags: u8, mut fields: Reader) -> Result<Data, MalformedPacket> {
    let tsn = Tsn(fields.u32()?);
    let stream = fields.u16()?;
    let ssn = fields.u16()?;
    let ppid = fields.u32()?;
    let payload = fields.rest();
    if payload.is_empty() {
        return Err(MalformedPacket::EmptyData);
    }
    Ok(Data {
        tsn,
        stream,
        ssn,
        ppid,
        unordered: flags & data_flag::UNORDERED != 0,
        beginning: flags & data_flag::BEGINNING != 0,
        ending: flags & data_flag::ENDING != 0,
        immediate: flags & data_flag::IMMEDIATE != 0,
        payload,
    })
}

/// An INIT or `INIT-ACK` chunk's value: see [`Init`].
///
/// Unknown parameters are handled as their two upper type bits say (RFC 9260 §3.2.1);
/// the address, Cookie Preservative, ECN and Zero Checksum parameters are ignored
/// (WebRTC has no use for them, and ignoring Zero Checksum keeps the checksum on).
fn parse_init(mut fields: Reader, is_ack: bool) -> Result<Init, MalformedPacket> {
    use param_type::{
        COOKIE_PRESERVATIVE, ECN_CAPABLE, FORWARD_TSN_SUPPORTED, HOST_NAME_ADDRESS, IPV4_ADDRESS,
        IPV6_ADDRESS, STATE_COOKIE, SUPPORTED_ADDRESS_TYPES, SUPPORTED_EXTENSIONS, UNKNOWN_REPORT,
        UNKNOWN_SKIP, UNRECOGNIZED_PARAMETER, ZERO_CHECKSUM_ACCEPTABLE,
    };
    let mut init = Init {
        initiate_tag: fields.u32()?,
        a_rwnd: fields.u32()?,
        outbound_streams: fields.u16()?,
        inbound_streams: fields.u16()?,
        initial_tsn: Tsn(fields.u32()?),
        cookie: None,
        forward_tsn_supported: false,
        supported_extensions: Vec::new(),
        unrecognized: Vec::new(),
        reported_unrecognized: Vec::new(),
    };
    // An unknown parameter may say "stop processing": the rest must still tile the chunk.
    let mut stopped = false;
    for param in Tlvs::new(fields.rest()) {
        let param = param?;
        if stopped {
            continue;
        }
        match param.kind {
            STATE_COOKIE => init.cookie = Some(param.value),
            FORWARD_TSN_SUPPORTED => init.forward_tsn_supported = true,
            SUPPORTED_EXTENSIONS => init.supported_extensions.extend_from_slice(&param.value),
            UNRECOGNIZED_PARAMETER => {
                if is_ack {
                    init.reported_unrecognized.push(param.value);
                }
            }
            IPV4_ADDRESS
            | IPV6_ADDRESS
            | COOKIE_PRESERVATIVE
            | HOST_NAME_ADDRESS
            | SUPPORTED_ADDRESS_TYPES
            | ECN_CAPABLE
            | ZERO_CHECKSUM_ACCEPTABLE => {}
            unknown => {
                if unknown & UNKNOWN_REPORT != 0 {
                    init.unrecognized.push(param.whole);
                }
                stopped = unknown & UNKNOWN_SKIP == 0;
            }
        }
    }
    Ok(init)
}

/// A SACK chunk's value: see [`Sack`].
fn parse_sack(mut fields: Reader) -> Result<Sack, MalformedPacket> {
    let cumulative_tsn_ack = Tsn(fields.u32()?);
    let a_rwnd = fields.u32()?;
    let gaps = usize::from(fields.u16()?);
    let duplicates = usize::from(fields.u16()?);
    if fields.remaining() != 4 * (gaps + duplicates) {
        return Err(MalformedPacket::InconsistentChunkLength);
    }
    let mut sack = Sack {
        cumulative_tsn_ack,
        a_rwnd,
        gap_blocks: Vec::with_capacity(gaps),
        duplicates: Vec::with_capacity(duplicates),
    };
    for _ in 0..gaps {
        sack.gap_blocks.push((fields.u16()?, fields.u16()?));
    }
    for _ in 0..duplicates {
        sack.duplicates.push(Tsn(fields.u32()?));
    }
    Ok(sack)
}

/// A `FORWARD-TSN` chunk's value: see [`ForwardTsn`].
fn parse_forward_tsn(mut fields: Reader) -> Result<ForwardTsn, MalformedPacket> {
    let new_cumulative_tsn = Tsn(fields.u32()?);
    if !fields.remaining().is_multiple_of(4) {
        return Err(MalformedPacket::InconsistentChunkLength);
    }
    let mut streams = Vec::with_capacity(fields.remaining() / 4);
    while fields.remaining() > 0 {
        streams.push((fields.u16()?, fields.u16()?));
    }
    Ok(ForwardTsn {
        new_cumulative_tsn,
        streams,
    })
}

/// HEARTBEAT and `HEARTBEAT-ACK` carry the Heartbeat Info parameter (RFC 9260 §3.3.5);
/// its value is what goes back and forth.
fn heartbeat_info(value: Bytes) -> Result<Bytes, MalformedPacket> {
    let mut info = None;
    for param in Tlvs::new(value) {
        let param = param?;
        if param.kind == param_type::HEARTBEAT_INFO && info.is_none() {
            info = Some(param.value);
        }
    }
    info.ok_or(MalformedPacket::MalformedParameter)
}

/// The error causes of an ABORT or ERROR chunk (RFC 9260 §3.3.10).
fn parse_causes(value: Bytes) -> Result<Vec<ErrorCause>, MalformedPacket> {
    Tlvs::new(value)
        .map(|cause| {
            cause.map(|cause| ErrorCause {
                code: cause.kind,
                info: cause.value,
            })
        })
        .collect()
}

/// A RE-CONFIG parameter: see [`ReconfigParam`].
fn parse_reconfig_param(param: Tlv) -> Result<ReconfigParam, MalformedPacket> {
    let mut fields = Reader::new(param.value.clone(), MalformedPacket::MalformedParameter);
    Ok(match param.kind {
        param_type::OUTGOING_RESET => ReconfigParam::OutgoingReset {
            request_seq: fields.u32()?,
            response_seq: fields.u32()?,
            sender_last_tsn: Tsn(fields.u32()?),
            streams: stream_list(fields)?,
        },
        param_type::INCOMING_RESET => ReconfigParam::IncomingReset {
            request_seq: fields.u32()?,
            streams: stream_list(fields)?,
        },
        param_type::RECONFIG_RESPONSE => {
            let response_seq = fields.u32()?;
            let result = ReconfigResult::from_code(fields.u32()?);
            // Sender's and receiver's next TSN come together or not at all.
            if !matches!(fields.remaining(), 0 | 8) {
                return Err(MalformedPacket::MalformedParameter);
            }
            ReconfigParam::Response {
                response_seq,
                result,
            }
        }
        kind => ReconfigParam::Other {
            kind,
            value: param.value,
        },
    })
}

/// The stream numbers ending a reset request: whole 16-bit numbers, nothing else.
fn stream_list(mut fields: Reader) -> Result<Vec<u16>, MalformedPacket> {
    if !fields.remaining().is_multiple_of(2) {
        return Err(MalformedPacket::MalformedParameter);
    }
    let mut streams = Vec::with_capacity(fields.remaining() / 2);
    while fields.remaining() > 0 {
        streams.push(fields.u16()?);
    }
    Ok(streams)
}

impl ReconfigResult {
    /// The result as RFC 6525 §4.4 numbers it.
    fn code(self) -> u32 {
        match self {
            Self::SuccessNothingToDo => 0,
            Self::SuccessPerformed => 1,
            Self::Denied => 2,
            Self::ErrorWrongSsn => 3,
            Self::ErrorRequestAlreadyInProgress => 4,
            Self::ErrorBadSequenceNumber => 5,
            Self::InProgress => 6,
            Self::Other(code) => code,
        }
    }

    /// The result RFC 6525 §4.4 numbers `code`.
    fn from_code(code: u32) -> Self {
        match code {
            0 => Self::SuccessNothingToDo,
            1 => Self::SuccessPerformed,
            2 => Self::Denied,
            3 => Self::ErrorWrongSsn,
            4 => Self::ErrorRequestAlreadyInProgress,
            5 => Self::ErrorBadSequenceNumber,
            6 => Self::InProgress,
            code => Self::Other(code),
        }
    }
}

impl ReconfigParam {
    /// Bytes of the parameter's value (its header and padding excluded).
    fn value_len(&self) -> usize {
        match self {
            Self::OutgoingReset { streams, .. } => 12 + 2 * streams.len(),
            Self::IncomingReset { streams, .. } => 4 + 2 * streams.len(),
            Self::Response { .. } => 8,
            Self::Other { value, .. } => value.len(),
        }
    }
}

/// Bytes of an INIT / `INIT-ACK`'s parameters as the writer lays them out, each padded.
fn init_params_len(init: &Init, is_ack: bool) -> usize {
    let param = |value_len: usize| padded(TLV_HEADER_LEN + value_len);
    let mut len = 0;
    if init.forward_tsn_supported {
        len += param(0);
    }
    if !init.supported_extensions.is_empty() {
        len += param(init.supported_extensions.len());
    }
    if let Some(cookie) = &init.cookie {
        len += param(cookie.len());
    }
    if is_ack {
        len += init
            .unrecognized
            .iter()
            .map(|p| param(p.len()))
            .sum::<usize>();
    }
    len
}

/// Reads big-endian fields off the front of a chunk or parameter value, never past its
/// end: running out is the error the reader was made with.
struct Reader {
    bytes: Bytes,
    at: usize,
    short: MalformedPacket,
}

impl Reader {
    /// A reader at the start of `bytes`, failing with `short` when they run out.
    fn new(bytes: Bytes, short: MalformedPacket) -> Self {
        Self {
            bytes,
            at: 0,
            short,
        }
    }

    /// Bytes not read yet.
    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.at)
    }

    /// The next `N` bytes.
    fn array<const N: usize>(&mut self) -> Result<[u8; N], MalformedPacket> {
        let field = *self
            .bytes
            .get(self.at..)
            .and_then(<[u8]>::first_chunk::<N>)
            .ok_or(self.short)?;
        self.at += N;
        Ok(field)
    }

    /// The next big-endian `u16`.
    fn u16(&mut self) -> Result<u16, MalformedPacket> {
        self.array().map(u16::from_be_bytes)
    }

    /// The next big-endian `u32`.
    fn u32(&mut self) -> Result<u32, MalformedPacket> {
        self.array().map(u32::from_be_bytes)
    }

    /// Whatever is left, as a slice of the same buffer.
    fn rest(self) -> Bytes {
        self.bytes.slice(self.at.min(self.bytes.len())..)
    }
}

/// One parameter or error cause.
struct Tlv {
    kind: u16,
    /// The value, header and padding excluded.
    value: Bytes,
    /// Header and value, padding excluded.
    whole: Bytes,
}

/// Walks the type-length-value records (parameters, error causes) that must tile a chunk
/// value: each padded to four bytes, except that the last one's padding may be left out.
/// After an error it yields nothing more.
struct Tlvs {
    bytes: Bytes,
    at: usize,
}

impl Tlvs {
    /// Records from the start of `bytes`.
    fn new(bytes: Bytes) -> Self {
        Self { bytes, at: 0 }
    }

    /// The record at `self.at`, moving past it and its padding.
    fn read(&mut self) -> Result<Tlv, MalformedPacket> {
        let start = self.at;
        let rest = self.bytes.get(start..).unwrap_or_default();
        let &[k0, k1, l0, l1, ..] = rest else {
            return Err(MalformedPacket::MalformedParameter);
        };
        let length = usize::from(u16::from_be_bytes([l0, l1]));
        if length < TLV_HEADER_LEN || length > rest.len() {
            return Err(MalformedPacket::MalformedParameter);
        }
        let next = padded(length);
        if next > rest.len() && length != rest.len() {
            // The value ends inside this record's padding.
            return Err(MalformedPacket::MalformedParameter);
        }
        self.at = start + next.min(rest.len());
        Ok(Tlv {
            kind: u16::from_be_bytes([k0, k1]),
            value: self.bytes.slice(start + TLV_HEADER_LEN..start + length),
            whole: self.bytes.slice(start..start + length),
        })
    }
}

impl Iterator for Tlvs {
    type Item = Result<Tlv, MalformedPacket>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.bytes.len() {
            return None;
        }
        let record = self.read();
        if record.is_err() {
            self.at = self.bytes.len();
        }
        Some(record)
    }
}

/// Builds one packet: the common header, then chunks, then the `CRC32c`.
///
/// Everything goes into one buffer sized for a typical packet; the caller keeps the
/// packet within its path MTU by asking [`len`](Self::len) and [`Chunk::wire_len`]. A
/// chunk, parameter or error cause longer than 65535 bytes cannot be expressed on the
/// wire: building one is a bug of the caller (debug builds panic).
#[derive(Debug)]
pub(crate) struct PacketWriter {
    buf: BytesMut,
}

impl PacketWriter {
    /// A packet with this common header and no chunk yet.
    pub(crate) fn new(source_port: u16, destination_port: u16, verification_tag: u32) -> Self {
        let mut buf = BytesMut::with_capacity(TYPICAL_PACKET_LEN);
        buf.put_u16(source_port);
        buf.put_u16(destination_port);
        buf.put_u32(verification_tag);
        // The checksum, filled in by `finish`.
        buf.put_u32(0);
        Self { buf }
    }

    /// Bytes written so far (header included).
    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether only the header is written.
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.len() <= COMMON_HEADER_LEN
    }

    /// Appends `chunk`, padded; it takes [`Chunk::wire_len`] bytes.
    pub(crate) fn push(&mut self, chunk: &Chunk) {
        match chunk {
            Chunk::Data(data) => self.push_data(data),
            Chunk::Init(init) => self.push_init(chunk_type::INIT, init, false),
            Chunk::InitAck(init) => self.push_init(chunk_type::INIT_ACK, init, true),
            Chunk::Sack(sack) => {
                let start = self.begin_chunk(chunk_type::SACK, 0);
                self.buf.put_u32(sack.cumulative_tsn_ack.0);
                self.buf.put_u32(sack.a_rwnd);
                self.buf.put_u16(count_u16(sack.gap_blocks.len()));
                self.buf.put_u16(count_u16(sack.duplicates.len()));
                for &(gap_start, gap_end) in &sack.gap_blocks {
                    self.buf.put_u16(gap_start);
                    self.buf.put_u16(gap_end);
                }
                for duplicate in &sack.duplicates {
                    self.buf.put_u32(duplicate.0);
                }
                self.end_chunk(start);
            }
            Chunk::Heartbeat(info) => self.push_heartbeat(chunk_type::HEARTBEAT, info),
            Chunk::HeartbeatAck(info) => self.push_heartbeat(chunk_type::HEARTBEAT_ACK, info),
            Chunk::Abort { reflected, causes } => {
                self.push_causes(chunk_type::ABORT, reflected_flag(*reflected), causes);
            }
            Chunk::Shutdown { cumulative_tsn_ack } => {
                let start = self.begin_chunk(chunk_type::SHUTDOWN, 0);
                self.buf.put_u32(cumulative_tsn_ack.0);
                self.end_chunk(start);
            }
            Chunk::ShutdownAck => self.push_raw(chunk_type::SHUTDOWN_ACK, 0, &[]),
            Chunk::Error { causes } => self.push_causes(chunk_type::ERROR, 0, causes),
            Chunk::CookieEcho(cookie) => self.push_raw(chunk_type::COOKIE_ECHO, 0, cookie),
            Chunk::CookieAck => self.push_raw(chunk_type::COOKIE_ACK, 0, &[]),
            Chunk::ShutdownComplete { reflected } => {
                self.push_raw(
                    chunk_type::SHUTDOWN_COMPLETE,
                    reflected_flag(*reflected),
                    &[],
                );
            }
            Chunk::Reconfig(params) => {
                let start = self.begin_chunk(chunk_type::RECONFIG, 0);
                for param in params {
                    self.push_reconfig_param(param);
                }
                self.end_chunk(start);
            }
            Chunk::ForwardTsn(forward) => {
                let start = self.begin_chunk(chunk_type::FORWARD_TSN, 0);
                self.buf.put_u32(forward.new_cumulative_tsn.0);
                for &(stream, ssn) in &forward.streams {
                    self.buf.put_u16(stream);
                    self.buf.put_u16(ssn);
                }
                self.end_chunk(start);
            }
            Chunk::Unknown { kind, flags, value } => self.push_raw(*kind, *flags, value),
        }
    }

    /// A DATA chunk, without building a `Chunk` (the hot path).
    pub(crate) fn push_data(&mut self, data: &Data) {
        let flags = [
            (data.unordered, data_flag::UNORDERED),
            (data.beginning, data_flag::BEGINNING),
            (data.ending, data_flag::ENDING),
            (data.immediate, data_flag::IMMEDIATE),
        ]
        .into_iter()
        .filter(|(set, _)| *set)
        .fold(0, |flags, (_, bit)| flags | bit);
        let start = self.begin_chunk(chunk_type::DATA, flags);
        self.buf.put_u32(data.tsn.0);
        self.buf.put_u16(data.stream);
        self.buf.put_u16(data.ssn);
        self.buf.put_u32(data.ppid);
        self.buf.put_slice(&data.payload);
        self.end_chunk(start);
    }

    /// The packet, its `CRC32c` stored (little-endian, as SCTP stacks read it).
    pub(crate) fn finish(mut self) -> Bytes {
        // The checksum field is still zero: the digest of the buffer is the checksum.
        let sum = CRC32C.checksum(&self.buf);
        if let Some(field) = self.buf.get_mut(8..COMMON_HEADER_LEN) {
            field.copy_from_slice(&sum.to_le_bytes());
        }
        self.buf.freeze()
    }

    /// INIT or `INIT-ACK`: the fixed part, Forward-TSN-Supported, Supported Extensions,
    /// the State Cookie, then (`INIT-ACK` only) each unrecognized parameter reported.
    fn push_init(&mut self, kind: u8, init: &Init, is_ack: bool) {
        let start = self.begin_chunk(kind, 0);
        self.buf.put_u32(init.initiate_tag);
        self.buf.put_u32(init.a_rwnd);
        self.buf.put_u16(init.outbound_streams);
        self.buf.put_u16(init.inbound_streams);
        self.buf.put_u32(init.initial_tsn.0);
        if init.forward_tsn_supported {
            self.push_param(param_type::FORWARD_TSN_SUPPORTED, &[]);
        }
        if !init.supported_extensions.is_empty() {
            self.push_param(param_type::SUPPORTED_EXTENSIONS, &init.supported_extensions);
        }
        if let Some(cookie) = &init.cookie {
            self.push_param(param_type::STATE_COOKIE, cookie);
        }
        if is_ack {
            for unrecognized in &init.unrecognized {
                self.push_param(param_type::UNRECOGNIZED_PARAMETER, unrecognized);
            }
        }
        self.end_chunk(start);
    }

    /// HEARTBEAT or `HEARTBEAT-ACK`: one Heartbeat Info parameter.
    fn push_heartbeat(&mut self, kind: u8, info: &[u8]) {
        let start = self.begin_chunk(kind, 0);
        self.push_param(param_type::HEARTBEAT_INFO, info);
        self.end_chunk(start);
    }

    /// ABORT or ERROR: its error causes.
    fn push_causes(&mut self, kind: u8, flags: u8, causes: &[ErrorCause]) {
        let start = self.begin_chunk(kind, flags);
        for cause in causes {
            self.push_param(cause.code, &cause.info);
        }
        self.end_chunk(start);
    }

    /// A chunk whose value is opaque bytes.
    fn push_raw(&mut self, kind: u8, flags: u8, value: &[u8]) {
        let start = self.begin_chunk(kind, flags);
        self.buf.put_slice(value);
        self.end_chunk(start);
    }

    /// One RE-CONFIG parameter.
    fn push_reconfig_param(&mut self, param: &ReconfigParam) {
        match param {
            ReconfigParam::OutgoingReset {
                request_seq,
                response_seq,
                sender_last_tsn,
                streams,
            } => {
                let start = self.begin_param(param_type::OUTGOING_RESET);
                self.buf.put_u32(*request_seq);
                self.buf.put_u32(*response_seq);
                self.buf.put_u32(sender_last_tsn.0);
                for &stream in streams {
                    self.buf.put_u16(stream);
                }
                self.set_length(start);
            }
            ReconfigParam::IncomingReset {
                request_seq,
                streams,
            } => {
                let start = self.begin_param(param_type::INCOMING_RESET);
                self.buf.put_u32(*request_seq);
                for &stream in streams {
                    self.buf.put_u16(stream);
                }
                self.set_length(start);
            }
            ReconfigParam::Response {
                response_seq,
                result,
            } => {
                let start = self.begin_param(param_type::RECONFIG_RESPONSE);
                self.buf.put_u32(*response_seq);
                self.buf.put_u32(result.code());
                self.set_length(start);
            }
            ReconfigParam::Other { kind, value } => self.push_param(*kind, value),
        }
    }

    /// Writes a chunk header whose length `end_chunk` fills in; returns where it starts.
    fn begin_chunk(&mut self, kind: u8, flags: u8) -> usize {
        let start = self.buf.len();
        self.buf.put_u8(kind);
        self.buf.put_u8(flags);
        self.buf.put_u16(0);
        start
    }

    /// Sets the length of the chunk begun at `start` to what was written since (the last
    /// parameter's padding excluded), then pads the chunk.
    fn end_chunk(&mut self, start: usize) {
        self.set_length(start);
        self.pad();
    }

    /// Pads the previous record, then writes a parameter (or error cause) header whose
    /// length `set_length` fills in; returns where it starts.
    fn begin_param(&mut self, kind: u16) -> usize {
        self.pad();
        let start = self.buf.len();
        self.buf.put_u16(kind);
        self.buf.put_u16(0);
        start
    }

    /// A parameter or error cause with an opaque value, its padding left to whatever
    /// comes next.
    fn push_param(&mut self, kind: u16, value: &[u8]) {
        let start = self.begin_param(kind);
        self.buf.put_slice(value);
        self.set_length(start);
    }

    /// Stores, in the length field of the record begun at `start`, the bytes written since.
    fn set_length(&mut self, start: usize) {
        let length = self.buf.len() - start;
        debug_assert!(
            u16::try_from(length).is_ok(),
            "a record of {length} bytes does not fit its length field"
        );
        if let Some(field) = self.buf.get_mut(start + 2..start + TLV_HEADER_LEN) {
            field.copy_from_slice(&(length as u16).to_be_bytes());
        }
    }

    /// Zeros up to the next multiple of four bytes.
    fn pad(&mut self) {
        let len = self.buf.len();
        self.buf.put_bytes(0, padded(len) - len);
    }
}

/// The T bit for a chunk's flags.
fn reflected_flag(reflected: bool) -> u8 {
    if reflected { REFLECTED_TAG } else { 0 }
}

/// A count written in a 16-bit field.
fn count_u16(count: usize) -> u16 {
    debug_assert!(
        u16::try_from(count).is_ok(),
        "{count} entries do not fit a 16-bit count"
    );
    count as u16
}

#[cfg(test)]
mod tests;
