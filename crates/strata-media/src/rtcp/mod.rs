//! Our RTCP codec: typed, bounds-checked parsing and serialization of compound packets
//! (RFC 3550 §6), reduced-size packets (RFC 5506), the feedback messages WebRTC uses and
//! the extended reports that give a receive-only participant its round-trip time
//! (RFC 3611).
//!
//! Every packet starts with the common header:
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |V=2|P|  count  |      PT       |   length (32-bit words - 1)   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! [`parse_compound`] accepts any sequence of packets (a reduced-size packet is a compound
//! of one feedback message); a packet of a type we do not know is returned as
//! [`RtcpPacket::Unknown`] so the caller can count it, and a packet of a known type whose
//! length does not fit its content is an error.

mod feedback;
mod report;
mod twcc;
mod xr;

use bytes::{BufMut, Bytes, BytesMut};

pub use feedback::{Fir, FirEntry, Nack, Pli, Remb};
pub(crate) use report::compact_duration;
pub use report::{
    Bye, MAX_REPORT_BLOCKS, NtpTime, ReceiverReport, ReportBlock, Sdes, SdesChunk, SdesItem,
    SenderReport,
};
pub use twcc::{
    PacketStatus, TWCC_DELTA_TICK_MICROS, TWCC_REFERENCE_TICK_MICROS, TransportFeedback,
};
pub use xr::{DlrrItem, ExtendedReport, XrBlock};

use crate::{Error, Malformed};

/// Packet type of a sender report.
pub const PT_SR: u8 = 200;
/// Packet type of a receiver report.
pub const PT_RR: u8 = 201;
/// Packet type of source description.
pub const PT_SDES: u8 = 202;
/// Packet type of goodbye.
pub const PT_BYE: u8 = 203;
/// Packet type of transport-layer feedback (RFC 4585).
pub const PT_RTPFB: u8 = 205;
/// Packet type of payload-specific feedback (RFC 4585).
pub const PT_PSFB: u8 = 206;
/// Packet type of an extended report (RFC 3611).
pub const PT_XR: u8 = 207;

/// Most packets one compound may hold; the rest of a longer one is not parsed (and the
/// whole compound is rejected), so a datagram of tiny packets cannot cost much work.
pub const MAX_COMPOUND_PACKETS: usize = 64;

/// One RTCP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RtcpPacket {
    /// Sender report (PT 200).
    SenderReport(SenderReport),
    /// Receiver report (PT 201).
    ReceiverReport(ReceiverReport),
    /// Source description (PT 202).
    Sdes(Sdes),
    /// Goodbye (PT 203).
    Bye(Bye),
    /// Generic NACK (PT 205, FMT 1).
    Nack(Nack),
    /// Transport-wide congestion control feedback (PT 205, FMT 15).
    TransportFeedback(TransportFeedback),
    /// Picture loss indication (PT 206, FMT 1).
    Pli(Pli),
    /// Full intra request (PT 206, FMT 4).
    Fir(Fir),
    /// Receiver estimated maximum bitrate (PT 206, FMT 15, "REMB").
    Remb(Remb),
    /// Extended report (PT 207).
    ExtendedReport(ExtendedReport),
    /// A packet of a type (or feedback format) this codec does not know: skipped.
    Unknown {
        /// Its packet type.
        packet_type: u8,
        /// Its count / FMT field.
        count: u8,
    },
}

/// The common header's fields, and the packet's body (without header and padding).
pub(crate) struct Header {
    pub(crate) count: u8,
    pub(crate) packet_type: u8,
}

/// Parses a compound (or reduced-size) RTCP packet.
pub fn parse_compound(data: &Bytes) -> Result<Vec<RtcpPacket>, Error> {
    let mut packets = Vec::new();
    let mut offset = 0;
    if data.is_empty() {
        return Err(Error::rtcp(Malformed::TooShort("RTCP packet")));
    }
    while offset < data.len() {
        if packets.len() == MAX_COMPOUND_PACKETS {
            return Err(Error::rtcp(Malformed::BadLength(
                "compound packet (too many packets)",
            )));
        }
        let rest = &data[offset..];
        if rest.len() < 4 {
            return Err(Error::rtcp(Malformed::TooShort("RTCP packet")));
        }
        let version = rest[0] >> 6;
        if version != 2 {
            return Err(Error::rtcp(Malformed::BadVersion(version)));
        }
        let padding = rest[0] & 0x20 != 0;
        let header = Header {
            count: rest[0] & 0x1F,
            packet_type: rest[1],
        };
        let len = (usize::from(u16::from_be_bytes([rest[2], rest[3]])) + 1) * 4;
        if len > rest.len() {
            return Err(Error::rtcp(Malformed::BadLength("RTCP packet")));
        }
        let mut body_end = offset + len;
        if padding {
            let count = usize::from(data[body_end - 1]);
            if count == 0 || count > len - 4 {
                return Err(Error::rtcp(Malformed::BadPadding));
            }
            body_end -= count;
        }
        let body = data.slice(offset + 4..body_end);
        packets.push(parse_one(&header, &body).map_err(Error::rtcp)?);
        offset += len;
    }
    Ok(packets)
}

fn parse_one(header: &Header, body: &Bytes) -> Result<RtcpPacket, Malformed> {
    Ok(match (header.packet_type, header.count) {
        (PT_SR, _) => RtcpPacket::SenderReport(SenderReport::parse(header, body)?),
        (PT_RR, _) => RtcpPacket::ReceiverReport(ReceiverReport::parse(header, body)?),
        (PT_SDES, _) => RtcpPacket::Sdes(Sdes::parse(header, body)?),
        (PT_BYE, _) => RtcpPacket::Bye(Bye::parse(header, body)?),
        (PT_RTPFB, 1) => RtcpPacket::Nack(Nack::parse(body)?),
        (PT_RTPFB, 15) => RtcpPacket::TransportFeedback(TransportFeedback::parse(body)?),
        (PT_PSFB, 1) => RtcpPacket::Pli(Pli::parse(body)?),
        (PT_PSFB, 4) => RtcpPacket::Fir(Fir::parse(body)?),
        (PT_PSFB, 15) => match Remb::parse(body) {
            Some(remb) => RtcpPacket::Remb(remb?),
            None => RtcpPacket::Unknown {
                packet_type: PT_PSFB,
                count: 15,
            },
        },
        (PT_XR, _) => RtcpPacket::ExtendedReport(ExtendedReport::parse(body)?),
        (packet_type, count) => RtcpPacket::Unknown { packet_type, count },
    })
}

impl RtcpPacket {
    /// Appends the packet to `out`. [`RtcpPacket::Unknown`] writes nothing.
    pub fn write_to(&self, out: &mut BytesMut) {
        match self {
            Self::SenderReport(p) => p.write_to(out),
            Self::ReceiverReport(p) => p.write_to(out),
            Self::Sdes(p) => p.write_to(out),
            Self::Bye(p) => p.write_to(out),
            Self::Nack(p) => p.write_to(out),
            Self::TransportFeedback(p) => p.write_to(out),
            Self::Pli(p) => p.write_to(out),
            Self::Fir(p) => p.write_to(out),
            Self::Remb(p) => p.write_to(out),
            Self::ExtendedReport(p) => p.write_to(out),
            Self::Unknown { .. } => {}
        }
    }
}

/// Serializes packets into one compound packet.
pub fn serialize_compound(packets: &[RtcpPacket]) -> Bytes {
    let mut out = BytesMut::new();
    for packet in packets {
        packet.write_to(&mut out);
    }
    out.freeze()
}

/// Writes a common header for a body of `body_len` bytes (a multiple of 4).
pub(crate) fn write_header(out: &mut BytesMut, count: u8, packet_type: u8, body_len: usize) {
    debug_assert_eq!(body_len % 4, 0);
    out.put_u8(0x80 | (count & 0x1F));
    out.put_u8(packet_type);
    out.put_u16((body_len / 4) as u16);
}

pub(crate) fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

pub(crate) fn read_u16(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Ssrc;

    #[allow(clippy::needless_pass_by_value)]
    pub(crate) fn round_trip(packet: RtcpPacket) {
        let wire = serialize_compound(std::slice::from_ref(&packet));
        assert_eq!(wire.len() % 4, 0, "{packet:?}");
        let parsed = parse_compound(&wire).unwrap();
        assert_eq!(parsed, vec![packet.clone()]);
        // Every truncation of the length field (one word fewer) is rejected or parses to
        // something else, never panics.
        for cut in (4..wire.len()).step_by(4) {
            let mut bytes = wire[..cut].to_vec();
            let words = (cut / 4 - 1) as u16;
            bytes[2..4].copy_from_slice(&words.to_be_bytes());
            let _ = parse_compound(&Bytes::from(bytes));
        }
    }

    #[test]
    fn a_compound_of_every_type_round_trips() {
        let packets = vec![
            RtcpPacket::SenderReport(SenderReport {
                ssrc: Ssrc(1),
                ntp: NtpTime(0x0102_0304_0506_0708),
                rtp_timestamp: 9,
                packet_count: 10,
                octet_count: 11,
                reports: vec![ReportBlock {
                    ssrc: Ssrc(2),
                    fraction_lost: 3,
                    cumulative_lost: -4,
                    extended_highest_seq: 70_000,
                    jitter: 12,
                    last_sr: 13,
                    delay_since_last_sr: 14,
                }],
            }),
            RtcpPacket::Sdes(Sdes {
                chunks: vec![SdesChunk {
                    ssrc: Ssrc(1),
                    items: vec![SdesItem::cname("abc")],
                }],
            }),
            RtcpPacket::Pli(Pli {
                sender_ssrc: Ssrc(1),
                media_ssrc: Ssrc(2),
            }),
        ];
        let wire = serialize_compound(&packets);
        assert_eq!(parse_compound(&wire).unwrap(), packets);
    }

    #[test]
    fn unknown_types_are_skipped_not_rejected() {
        // An APP packet (204) of two words, then a PLI.
        let mut wire = BytesMut::new();
        wire.put_slice(&[0x80, 204, 0, 1, 1, 2, 3, 4]);
        RtcpPacket::Pli(Pli {
            sender_ssrc: Ssrc(5),
            media_ssrc: Ssrc(6),
        })
        .write_to(&mut wire);
        let parsed = parse_compound(&wire.freeze()).unwrap();
        assert_eq!(
            parsed[0],
            RtcpPacket::Unknown {
                packet_type: 204,
                count: 0
            }
        );
        assert!(matches!(parsed[1], RtcpPacket::Pli(_)));
    }

    #[test]
    fn common_header_errors_are_typed() {
        for bad in [
            &[][..],
            &[0x80, 200, 0][..],
            &[0x40, 200, 0, 0][..],
            &[0x80, 200, 0, 5, 0, 0, 0, 0][..],
        ] {
            assert!(
                parse_compound(&Bytes::copy_from_slice(bad)).is_err(),
                "{bad:?}"
            );
        }
        // Padding count larger than the packet.
        assert!(parse_compound(&Bytes::from_static(&[0xA0, 204, 0, 1, 0, 0, 0, 9])).is_err());
    }
}
