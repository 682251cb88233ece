//! Bounds-checked views of RTP and RTCP headers: everything SRTP needs to know about a
//! packet before it touches a key.

use std::fmt;

/// Why a packet cannot be protected or unprotected, found before or right after the
/// cryptography.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PacketError {
    /// Shorter than the smallest packet of its kind (`min` bytes here, tag included).
    TooShort {
        /// The packet's length.
        len: usize,
        /// The least this packet needs.
        min: usize,
    },
    /// The version field is not 2.
    Version(u8),
    /// The CSRC list runs past the end of the packet.
    CsrcList,
    /// The header extension's length runs past the end of the packet.
    HeaderExtension,
    /// The padding count is zero or larger than the payload.
    Padding {
        /// The count in the last byte.
        declared: u8,
        /// The payload bytes there are.
        payload: usize,
    },
    /// The RTCP packets of a compound packet do not tile it exactly (RFC 3550 §A.2).
    RtcpLength,
    /// A sequence number so far behind the first one protected for its SSRC that its
    /// index would be negative (RFC 3711 §3.3.1).
    SequenceBeforeStart,
}

impl fmt::Display for PacketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { len, min } => write!(f, "{len} bytes, at least {min} needed"),
            Self::Version(version) => write!(f, "version {version}, not 2"),
            Self::CsrcList => f.write_str("the CSRC list runs past the end"),
            Self::HeaderExtension => f.write_str("the header extension runs past the end"),
            Self::Padding { declared, payload } => write!(
                f,
                "{declared} bytes of padding declared in a payload of {payload}"
            ),
            Self::RtcpLength => f.write_str("RTCP lengths do not tile the compound packet"),
            Self::SequenceBeforeStart => {
                f.write_str("sequence number from before the stream's first packet")
            }
        }
    }
}

/// The fixed RTP header, RFC 3550 §5.1:
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |V=2|P|X|  CC   |M|     PT      |       sequence number         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                           timestamp                           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           synchronization source (SSRC) identifier            |
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// |            contributing source (CSRC) identifiers             |
/// |                             ....                              |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |      defined by profile       |           length              |  (if X)
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                        header extension                       |
/// |                             ....                              |
/// ```
///
/// `header_len` covers everything up to the payload (CSRCs and extension included): it
/// is what SRTP leaves in the clear and authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RtpHeader {
    pub(crate) header_len: usize,
    pub(crate) padding: bool,
    pub(crate) sequence: u16,
    pub(crate) ssrc: u32,
}

/// Fixed RTP header length.
const RTP_FIXED_LEN: usize = 12;
/// RTCP common header plus the sender's SSRC.
pub(crate) const RTCP_HEADER_LEN: usize = 8;

impl RtpHeader {
    /// Parses the header of `packet`, whose last `trailer` bytes (the authentication tag)
    /// are not part of the RTP packet.
    pub(crate) fn parse(packet: &[u8], trailer: usize) -> Result<Self, PacketError> {
        let len = packet.len();
        if len < RTP_FIXED_LEN + trailer {
            return Err(PacketError::TooShort {
                len,
                min: RTP_FIXED_LEN + trailer,
            });
        }
        let version = packet[0] >> 6;
        if version != 2 {
            return Err(PacketError::Version(version));
        }
        let body_end = len - trailer;
        let csrc_count = usize::from(packet[0] & 0x0f);
        let mut header_len = RTP_FIXED_LEN + 4 * csrc_count;
        if header_len > body_end {
            return Err(PacketError::CsrcList);
        }
        if packet[0] & 0x10 != 0 {
            let Some(words) = packet.get(header_len + 2..header_len + 4) else {
                return Err(PacketError::HeaderExtension);
            };
            header_len += 4 + 4 * usize::from(u16::from_be_bytes([words[0], words[1]]));
            if header_len > body_end {
                return Err(PacketError::HeaderExtension);
            }
        }
        Ok(Self {
            header_len,
            padding: packet[0] & 0x20 != 0,
            sequence: u16::from_be_bytes([packet[2], packet[3]]),
            ssrc: u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]),
        })
    }

    /// Checks the padding count of a plaintext RTP `packet` (RFC 3550 §5.1: the last
    /// byte counts the padding, itself included, so it is at least 1).
    pub(crate) fn check_padding(&self, packet: &[u8]) -> Result<(), PacketError> {
        if !self.padding {
            return Ok(());
        }
        let payload = packet.len() - self.header_len;
        let declared = if payload == 0 {
            0
        } else {
            packet[packet.len() - 1]
        };
        if declared == 0 || usize::from(declared) > payload {
            return Err(PacketError::Padding { declared, payload });
        }
        Ok(())
    }
}

/// The first RTCP header of a compound packet, RFC 3550 §6.4:
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |V=2|P|   RC    |      PT       |             length            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                  SSRC of packet sender                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// Both stay in the clear under SRTCP; the sender's SSRC selects the crypto state.
pub(crate) fn rtcp_sender_ssrc(packet: &[u8], trailer: usize) -> Result<u32, PacketError> {
    let min = RTCP_HEADER_LEN + trailer;
    if packet.len() < min {
        return Err(PacketError::TooShort {
            len: packet.len(),
            min,
        });
    }
    let version = packet[0] >> 6;
    if version != 2 {
        return Err(PacketError::Version(version));
    }
    Ok(u32::from_be_bytes([
        packet[4], packet[5], packet[6], packet[7],
    ]))
}

/// Checks that the RTCP packets of a plaintext compound packet tile it exactly: each has
/// version 2, its length (in 32-bit words, minus one) stays inside, and only the last
/// may be padded (RFC 3550 §A.2).
pub(crate) fn check_rtcp_compound(packet: &[u8]) -> Result<(), PacketError> {
    let mut rest = packet;
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(PacketError::RtcpLength);
        }
        let version = rest[0] >> 6;
        if version != 2 {
            return Err(PacketError::Version(version));
        }
        let len = 4 * (usize::from(u16::from_be_bytes([rest[2], rest[3]])) + 1);
        if len > rest.len() {
            return Err(PacketError::RtcpLength);
        }
        if rest[0] & 0x20 != 0 {
            let declared = rest[len - 1];
            if len != rest.len() || declared == 0 || usize::from(declared) > len - 4 {
                return Err(PacketError::RtcpLength);
            }
        }
        rest = &rest[len..];
    }
    Ok(())
}

/// Whether a packet on a muxed RTP/RTCP flow is RTCP (RFC 5761 §4: the second byte, the
/// RTCP packet type, is 192..=223, a range RTP payload types with the marker bit avoid).
pub fn is_rtcp(packet: &[u8]) -> bool {
    matches!(packet.get(1), Some(192..=223))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rtp(first: u8, extra: &[u8]) -> Vec<u8> {
        let mut packet = vec![first, 96, 0x12, 0x34, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef];
        packet.extend_from_slice(extra);
        packet
    }

    #[test]
    fn a_plain_header_is_read_with_its_sequence_and_ssrc() {
        let header = RtpHeader::parse(&rtp(0x80, &[1, 2, 3]), 0).unwrap();
        assert_eq!(
            header,
            RtpHeader {
                header_len: 12,
                padding: false,
                sequence: 0x1234,
                ssrc: 0xdead_beef
            }
        );
    }

    #[test]
    fn csrcs_and_extensions_count_into_the_header() {
        let mut extra = vec![0; 8]; // two CSRCs
        extra.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x10, 0xff, 0, 0]);
        extra.push(7);
        let header = RtpHeader::parse(&rtp(0x92, &extra), 0).unwrap();
        assert_eq!(header.header_len, 12 + 8 + 8);
        // The tag may not be counted as header.
        assert_eq!(
            RtpHeader::parse(&rtp(0x92, &extra), 2),
            Err(PacketError::HeaderExtension)
        );
    }

    #[test]
    fn truncated_headers_are_refused() {
        assert_eq!(
            RtpHeader::parse(&[0x80; 11], 0),
            Err(PacketError::TooShort { len: 11, min: 12 })
        );
        assert_eq!(
            RtpHeader::parse(&rtp(0x40, &[]), 0),
            Err(PacketError::Version(1))
        );
        assert_eq!(
            RtpHeader::parse(&rtp(0x81, &[0, 0, 0]), 0),
            Err(PacketError::CsrcList)
        );
        assert_eq!(
            RtpHeader::parse(&rtp(0x90, &[0xbe, 0xde]), 0),
            Err(PacketError::HeaderExtension)
        );
        assert_eq!(
            RtpHeader::parse(&rtp(0x90, &[0xbe, 0xde, 0xff, 0xff, 0, 0]), 0),
            Err(PacketError::HeaderExtension)
        );
    }

    #[test]
    fn padding_counts_must_fit_the_payload() {
        let check = |extra: &[u8]| {
            let packet = rtp(0xa0, extra);
            RtpHeader::parse(&packet, 0).unwrap().check_padding(&packet)
        };
        assert_eq!(check(&[9, 9, 2]), Ok(()));
        assert_eq!(check(&[3, 3, 3]), Ok(()));
        assert_eq!(
            check(&[9, 0]),
            Err(PacketError::Padding {
                declared: 0,
                payload: 2
            })
        );
        assert_eq!(
            check(&[4, 4, 4]),
            Err(PacketError::Padding {
                declared: 4,
                payload: 3
            })
        );
        assert_eq!(
            check(&[]),
            Err(PacketError::Padding {
                declared: 0,
                payload: 0
            })
        );
    }

    #[test]
    fn compound_rtcp_must_tile_exactly() {
        let rr = [0x80, 201, 0, 1, 0, 0, 0, 1];
        let mut two = rr.to_vec();
        two.extend_from_slice(&[0x81, 202, 0, 0]);
        assert_eq!(check_rtcp_compound(&two), Ok(()));
        assert_eq!(check_rtcp_compound(&rr[..6]), Err(PacketError::RtcpLength));
        two.push(0);
        assert_eq!(check_rtcp_compound(&two), Err(PacketError::RtcpLength));
        let mut long = rr;
        long[3] = 9;
        assert_eq!(check_rtcp_compound(&long), Err(PacketError::RtcpLength));
        let mut padded = rr;
        padded[0] |= 0x20;
        padded[7] = 4;
        assert_eq!(check_rtcp_compound(&padded), Ok(()));
        padded[7] = 5;
        assert_eq!(check_rtcp_compound(&padded), Err(PacketError::RtcpLength));
    }

    #[test]
    fn rtcp_is_told_from_rtp_by_its_packet_type() {
        assert!(is_rtcp(&[0x80, 200]));
        assert!(!is_rtcp(&[0x80, 96]));
        assert!(!is_rtcp(&[0x80, 0x80 + 111]));
        assert!(!is_rtcp(&[0x80]));
    }
}
