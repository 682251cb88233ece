//! The DCEP wire codec (RFC 8832 §5): `DATA_CHANNEL_OPEN` and `DATA_CHANNEL_ACK`.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{DcepField, DcepParseError, Error};

/// Message type of `DATA_CHANNEL_ACK` (RFC 8832 §8.2.1).
pub const MESSAGE_TYPE_ACK: u8 = 0x02;
/// Message type of `DATA_CHANNEL_OPEN` (RFC 8832 §8.2.1).
pub const MESSAGE_TYPE_OPEN: u8 = 0x03;

/// Length of `DATA_CHANNEL_OPEN` up to the label.
const OPEN_HEADER_LEN: usize = 12;

/// One DCEP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DcepMessage {
    /// Opens a channel on the stream it arrives on.
    Open(DataChannelOpen),
    /// Acknowledges an OPEN.
    ///
    /// ```text
    ///  0                   1                   2                   3
    ///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    /// +-+-+-+-+-+-+-+-+
    /// |  Message Type |
    /// +-+-+-+-+-+-+-+-+
    /// ```
    Ack,
}

impl DcepMessage {
    /// Parses one DCEP message, strictly: no truncation, no overruns, no trailing bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, DcepParseError> {
        let (&message_type, rest) = bytes.split_first().ok_or(DcepParseError::Empty)?;
        match message_type {
            MESSAGE_TYPE_ACK if rest.is_empty() => Ok(Self::Ack),
            MESSAGE_TYPE_ACK => Err(DcepParseError::TrailingBytes { extra: rest.len() }),
            MESSAGE_TYPE_OPEN => DataChannelOpen::decode(bytes).map(Self::Open),
            message_type => Err(DcepParseError::UnknownMessageType { message_type }),
        }
    }

    /// Serialises the message.
    pub fn encode(&self) -> Bytes {
        match self {
            Self::Open(open) => open.encode(),
            Self::Ack => Bytes::from_static(&[MESSAGE_TYPE_ACK]),
        }
    }
}

/// How a channel delivers: ordering plus reliability (RFC 8832 §5.1 "Channel Type" and
/// "Reliability Parameter").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChannelType {
    /// In-order delivery.
    pub ordered: bool,
    /// Retransmission policy.
    pub reliability: Reliability,
}

/// Retransmission policy of a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Reliability {
    /// Retransmit until acknowledged.
    #[default]
    Reliable,
    /// At most this many retransmissions (`maxRetransmits`).
    MaxRetransmits(u32),
    /// Retransmit for at most this many milliseconds (`maxPacketLifeTime`).
    MaxPacketLifetimeMs(u32),
}

impl ChannelType {
    /// Reliable and ordered: the default channel.
    pub const RELIABLE: Self = Self {
        ordered: true,
        reliability: Reliability::Reliable,
    };

    /// The channel-type byte and reliability parameter on the wire.
    ///
    /// | value | meaning |
    /// |---|---|
    /// | `0x00` / `0x80` | reliable, ordered / unordered |
    /// | `0x01` / `0x81` | partial reliable by retransmissions |
    /// | `0x02` / `0x82` | partial reliable by lifetime (ms) |
    pub fn to_wire(self) -> (u8, u32) {
        let (base, parameter) = match self.reliability {
            Reliability::Reliable => (0x00, 0),
            Reliability::MaxRetransmits(n) => (0x01, n),
            Reliability::MaxPacketLifetimeMs(ms) => (0x02, ms),
        };
        let unordered = if self.ordered { 0x00 } else { 0x80 };
        (base | unordered, parameter)
    }

    /// Reads the channel type byte and the reliability parameter. For reliable channels
    /// the parameter is ignored, as RFC 8832 §5.1 says the receiver must.
    pub fn from_wire(channel_type: u8, parameter: u32) -> Result<Self, DcepParseError> {
        let reliability = match channel_type & 0x7f {
            0x00 => Reliability::Reliable,
            0x01 => Reliability::MaxRetransmits(parameter),
            0x02 => Reliability::MaxPacketLifetimeMs(parameter),
            _ => return Err(DcepParseError::UnknownChannelType { channel_type }),
        };
        Ok(Self {
            ordered: channel_type & 0x80 == 0,
            reliability,
        })
    }
}

/// `DATA_CHANNEL_OPEN` (RFC 8832 §5.1).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Message Type |  Channel Type |            Priority           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    Reliability Parameter                      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         Label Length          |       Protocol Length         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// \                                                               /
/// |                             Label                             |
/// /                                                               \
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// \                                                               /
/// |                            Protocol                           |
/// /                                                               \
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataChannelOpen {
    /// Ordering and reliability.
    pub channel_type: ChannelType,
    /// Priority (RFC 8831 §6.4 / W3C: 128 very-low, 256 low, 512 medium, 1024 high).
    pub priority: u16,
    /// The channel's label (UTF-8, may be empty).
    pub label: String,
    /// The sub-protocol (UTF-8, empty when unspecified).
    pub protocol: String,
}

impl DataChannelOpen {
    /// Builds an OPEN, refusing labels and protocols that do not fit 16-bit lengths.
    pub fn new(
        channel_type: ChannelType,
        priority: u16,
        label: String,
        protocol: String,
    ) -> Result<Self, Error> {
        for (field, len) in [
            (DcepField::Label, label.len()),
            (DcepField::Protocol, protocol.len()),
        ] {
            if len > usize::from(u16::MAX) {
                return Err(Error::FieldTooLong { field, len });
            }
        }
        Ok(Self {
            channel_type,
            priority,
            label,
            protocol,
        })
    }

    /// Parses a `DATA_CHANNEL_OPEN`, including its message-type byte.
    pub fn decode(bytes: &[u8]) -> Result<Self, DcepParseError> {
        let Some(header) = bytes.get(..OPEN_HEADER_LEN) else {
            return Err(if bytes.is_empty() {
                DcepParseError::Empty
            } else {
                DcepParseError::Truncated { len: bytes.len() }
            });
        };
        if header[0] != MESSAGE_TYPE_OPEN {
            return Err(DcepParseError::UnknownMessageType {
                message_type: header[0],
            });
        }
        let channel_type = header[1];
        let priority = u16::from_be_bytes([header[2], header[3]]);
        let parameter = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
        let label_len = u16::from_be_bytes([header[8], header[9]]);
        let protocol_len = u16::from_be_bytes([header[10], header[11]]);
        let rest = &bytes[OPEN_HEADER_LEN..];
        let (label, rest) = take_field(rest, DcepField::Label, label_len)?;
        let (protocol, rest) = take_field(rest, DcepField::Protocol, protocol_len)?;
        if !rest.is_empty() {
            return Err(DcepParseError::TrailingBytes { extra: rest.len() });
        }
        Ok(Self {
            channel_type: ChannelType::from_wire(channel_type, parameter)?,
            priority,
            label,
            protocol,
        })
    }

    /// Serialises the OPEN. Lengths fit by construction ([`DataChannelOpen::new`]); a
    /// value built by hand with an oversized field is cut at 65535 bytes on a char
    /// boundary rather than producing a message that lies about its lengths.
    pub fn encode(&self) -> Bytes {
        let label = clamp_utf8(&self.label);
        let protocol = clamp_utf8(&self.protocol);
        let (channel_type, parameter) = self.channel_type.to_wire();
        let mut out = BytesMut::with_capacity(OPEN_HEADER_LEN + label.len() + protocol.len());
        out.put_u8(MESSAGE_TYPE_OPEN);
        out.put_u8(channel_type);
        out.put_u16(self.priority);
        out.put_u32(parameter);
        out.put_u16(label.len() as u16);
        out.put_u16(protocol.len() as u16);
        out.put_slice(label.as_bytes());
        out.put_slice(protocol.as_bytes());
        out.freeze()
    }
}

fn take_field(
    bytes: &[u8],
    field: DcepField,
    declared: u16,
) -> Result<(String, &[u8]), DcepParseError> {
    let len = usize::from(declared);
    if bytes.len() < len {
        return Err(DcepParseError::LengthOverrun {
            field,
            declared,
            available: bytes.len(),
        });
    }
    let (value, rest) = bytes.split_at(len);
    let value = std::str::from_utf8(value)
        .map_err(|_| DcepParseError::InvalidUtf8 { field })?
        .to_owned();
    Ok((value, rest))
}

fn clamp_utf8(value: &str) -> &str {
    let mut end = value.len().min(usize::from(u16::MAX));
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(
        ordered: bool,
        reliability: Reliability,
        label: &str,
        protocol: &str,
    ) -> DataChannelOpen {
        DataChannelOpen::new(
            ChannelType {
                ordered,
                reliability,
            },
            256,
            label.to_owned(),
            protocol.to_owned(),
        )
        .unwrap()
    }

    #[test]
    fn open_matches_the_rfc_layout_byte_for_byte() {
        let bytes = open(false, Reliability::MaxRetransmits(3), "chat", "x").encode();
        assert_eq!(
            &bytes[..],
            &[
                0x03, 0x81, 0x01, 0x00, 0, 0, 0, 3, 0, 4, 0, 1, b'c', b'h', b'a', b't', b'x'
            ]
        );
    }

    #[test]
    fn every_channel_type_round_trips() {
        for ordered in [true, false] {
            for reliability in [
                Reliability::Reliable,
                Reliability::MaxRetransmits(0),
                Reliability::MaxRetransmits(u32::MAX),
                Reliability::MaxPacketLifetimeMs(150),
            ] {
                let message = DcepMessage::Open(open(ordered, reliability, "l", "p"));
                assert_eq!(DcepMessage::decode(&message.encode()), Ok(message));
            }
        }
    }

    #[test]
    fn reliable_channels_ignore_the_reliability_parameter() {
        let mut bytes = open(true, Reliability::Reliable, "", "").encode().to_vec();
        bytes[4..8].copy_from_slice(&7u32.to_be_bytes());
        let decoded = DataChannelOpen::decode(&bytes).unwrap();
        assert_eq!(decoded.channel_type, ChannelType::RELIABLE);
    }

    #[test]
    fn ack_round_trips_and_refuses_trailing_bytes() {
        assert_eq!(
            DcepMessage::decode(&DcepMessage::Ack.encode()),
            Ok(DcepMessage::Ack)
        );
        assert_eq!(
            DcepMessage::decode(&[0x02, 0]),
            Err(DcepParseError::TrailingBytes { extra: 1 })
        );
    }

    #[test]
    fn unknown_message_types_are_typed_errors() {
        for message_type in [0x00, 0x01, 0x04, 0x7f, 0xff] {
            assert_eq!(
                DcepMessage::decode(&[message_type, 1, 2]),
                Err(DcepParseError::UnknownMessageType { message_type })
            );
        }
        assert_eq!(DcepMessage::decode(&[]), Err(DcepParseError::Empty));
    }

    #[test]
    fn truncated_open_is_refused_at_every_length() {
        let bytes = open(true, Reliability::Reliable, "label", "proto").encode();
        for len in 1..bytes.len() {
            let error = DcepMessage::decode(&bytes[..len]).unwrap_err();
            assert!(
                matches!(
                    error,
                    DcepParseError::Truncated { .. } | DcepParseError::LengthOverrun { .. }
                ),
                "{len}: {error:?}"
            );
        }
    }

    #[test]
    fn label_and_protocol_overruns_name_the_field() {
        let mut bytes = open(true, Reliability::Reliable, "ab", "")
            .encode()
            .to_vec();
        bytes[9] = 9;
        assert_eq!(
            DataChannelOpen::decode(&bytes),
            Err(DcepParseError::LengthOverrun {
                field: DcepField::Label,
                declared: 9,
                available: 2
            })
        );
        let mut bytes = open(true, Reliability::Reliable, "ab", "")
            .encode()
            .to_vec();
        bytes[11] = 1;
        assert_eq!(
            DataChannelOpen::decode(&bytes),
            Err(DcepParseError::LengthOverrun {
                field: DcepField::Protocol,
                declared: 1,
                available: 0
            })
        );
    }

    #[test]
    fn unknown_channel_types_and_bad_utf8_are_refused() {
        let mut bytes = open(true, Reliability::Reliable, "a", "").encode().to_vec();
        bytes[1] = 0x03;
        assert_eq!(
            DataChannelOpen::decode(&bytes),
            Err(DcepParseError::UnknownChannelType { channel_type: 0x03 })
        );
        let mut bytes = open(true, Reliability::Reliable, "a", "").encode().to_vec();
        bytes[12] = 0xff;
        assert_eq!(
            DataChannelOpen::decode(&bytes),
            Err(DcepParseError::InvalidUtf8 {
                field: DcepField::Label
            })
        );
    }

    #[test]
    fn oversized_fields_are_refused_at_construction() {
        let long = "x".repeat(65_536);
        assert_eq!(
            DataChannelOpen::new(ChannelType::RELIABLE, 0, long, String::new()),
            Err(Error::FieldTooLong {
                field: DcepField::Label,
                len: 65_536
            })
        );
    }

    #[test]
    fn a_seeded_sweep_of_random_bytes_never_panics_and_round_trips_what_parses() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let mut bytes = Vec::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 40) as usize;
            for i in 0..len {
                bytes.push((state >> (i % 8 * 8)) as u8 ^ i as u8);
            }
            if let Some(first) = bytes.first_mut() {
                *first = [0x02, 0x03, 0x03, 0x05][(state >> 60) as usize % 4];
            }
            if let Ok(message) = DcepMessage::decode(&bytes) {
                let encoded = message.encode();
                assert_eq!(DcepMessage::decode(&encoded), Ok(message.clone()));
                if !matches!(&message, DcepMessage::Open(o) if o.channel_type.reliability == Reliability::Reliable)
                {
                    assert_eq!(&encoded[..], &bytes[..]);
                }
            }
        }
    }
}
