//! Extended reports (RFC 3611): the receiver reference time and DLRR blocks, with which
//! a participant that sends no media still learns its round-trip time (§4.4, §4.5).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |V=2|P|reserved |   PT=XR=207   |             length            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                              SSRC                             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! :                         report blocks                         :
//!
//! each report block:
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |      BT       | type-specific |         block length          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! :             type-specific block contents (length words)       :
//!
//! receiver reference time (BT=4, length 2): the NTP timestamp, 64 bits
//! DLRR (BT=5, length 3 × n), n sub-blocks of:
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 SSRC of the receiver (SSRC_1)                 |
//! |                         last RR (LRR)                         |
//! |                   delay since last RR (DLRR)                  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Blocks of other types are kept whole, so a forwarded report loses nothing.

use bytes::{BufMut, Bytes, BytesMut};

use super::{NtpTime, PT_XR, read_u16, read_u32, write_header};
use crate::{Malformed, Ssrc};

/// Block type of a receiver reference time report.
const BT_RRTR: u8 = 4;
/// Block type of a DLRR report.
const BT_DLRR: u8 = 5;
/// Words of a receiver reference time block's contents.
const RRTR_WORDS: usize = 2;
/// Bytes of one DLRR sub-block.
const DLRR_ITEM_LEN: usize = 12;

/// An extended report (PT 207).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtendedReport {
    /// Who sent it.
    pub ssrc: Ssrc,
    /// Its report blocks, in order.
    pub blocks: Vec<XrBlock>,
}

/// One report block of an [`ExtendedReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XrBlock {
    /// Receiver reference time (BT 4, RFC 3611 §4.4): when the report was sent, so that
    /// media senders can answer with a [`XrBlock::Dlrr`].
    ReceiverReferenceTime(NtpTime),
    /// Delay since the last receiver reference time (BT 5, RFC 3611 §4.5), one sub-block
    /// per receiver answered.
    Dlrr(Vec<DlrrItem>),
    /// A block of another type, kept as it came.
    Unknown {
        /// Its block type.
        block_type: u8,
        /// Its type-specific byte.
        type_specific: u8,
        /// Its contents (a whole number of words).
        contents: Bytes,
    },
}

/// A DLRR sub-block: the answer to one receiver's reference time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DlrrItem {
    /// The receiver whose reference time is answered.
    pub ssrc: Ssrc,
    /// Middle 32 bits of that reference time (as [`NtpTime::compact`]), or 0.
    pub last_rr: u32,
    /// Time from its arrival to this report, in 1/65536 s.
    pub delay_since_last_rr: u32,
}

impl ExtendedReport {
    pub(crate) fn parse(body: &Bytes) -> Result<Self, Malformed> {
        if body.len() < 4 {
            return Err(Malformed::TooShort("extended report"));
        }
        let ssrc = Ssrc(read_u32(body, 0));
        let mut blocks = Vec::new();
        let mut at = 4;
        while at < body.len() {
            if body.len() - at < 4 {
                return Err(Malformed::BadLength("extended report block"));
            }
            let block_type = body[at];
            let type_specific = body[at + 1];
            let words = usize::from(read_u16(body, at + 2));
            let start = at + 4;
            let end = start + 4 * words;
            if end > body.len() {
                return Err(Malformed::BadLength("extended report block"));
            }
            blocks.push(match block_type {
                BT_RRTR if words == RRTR_WORDS => {
                    let high = u64::from(read_u32(body, start));
                    let low = u64::from(read_u32(body, start + 4));
                    XrBlock::ReceiverReferenceTime(NtpTime(high << 32 | low))
                }
                BT_RRTR => return Err(Malformed::BadLength("receiver reference time block")),
                BT_DLRR if (4 * words) % DLRR_ITEM_LEN == 0 => XrBlock::Dlrr(
                    body[start..end]
                        .chunks_exact(DLRR_ITEM_LEN)
                        .map(|item| DlrrItem {
                            ssrc: Ssrc(read_u32(item, 0)),
                            last_rr: read_u32(item, 4),
                            delay_since_last_rr: read_u32(item, 8),
                        })
                        .collect(),
                ),
                BT_DLRR => return Err(Malformed::BadLength("DLRR block")),
                _ => XrBlock::Unknown {
                    block_type,
                    type_specific,
                    contents: body.slice(start..end),
                },
            });
            at = end;
        }
        Ok(Self { ssrc, blocks })
    }

    pub(crate) fn write_to(&self, out: &mut BytesMut) {
        let body_len = 4 + self.blocks.iter().map(XrBlock::encoded_len).sum::<usize>();
        write_header(out, 0, PT_XR, body_len);
        out.put_u32(self.ssrc.0);
        for block in &self.blocks {
            block.write_to(out);
        }
    }
}

impl XrBlock {
    fn encoded_len(&self) -> usize {
        4 + match self {
            Self::ReceiverReferenceTime(_) => 4 * RRTR_WORDS,
            Self::Dlrr(items) => DLRR_ITEM_LEN * items.len(),
            Self::Unknown { contents, .. } => contents.len(),
        }
    }

    fn write_to(&self, out: &mut BytesMut) {
        let words = (self.encoded_len() / 4 - 1) as u16;
        match self {
            Self::ReceiverReferenceTime(ntp) => {
                out.put_u8(BT_RRTR);
                out.put_u8(0);
                out.put_u16(words);
                out.put_u64(ntp.0);
            }
            Self::Dlrr(items) => {
                out.put_u8(BT_DLRR);
                out.put_u8(0);
                out.put_u16(words);
                for item in items {
                    out.put_u32(item.ssrc.0);
                    out.put_u32(item.last_rr);
                    out.put_u32(item.delay_since_last_rr);
                }
            }
            Self::Unknown {
                block_type,
                type_specific,
                contents,
            } => {
                out.put_u8(*block_type);
                out.put_u8(*type_specific);
                out.put_u16(words);
                out.put_slice(contents);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::tests::round_trip;
    use crate::rtcp::{RtcpPacket, parse_compound};

    #[test]
    fn extended_reports_round_trip() {
        round_trip(RtcpPacket::ExtendedReport(ExtendedReport {
            ssrc: Ssrc(7),
            blocks: vec![
                XrBlock::ReceiverReferenceTime(NtpTime(0x0102_0304_0506_0708)),
                XrBlock::Dlrr(vec![
                    DlrrItem {
                        ssrc: Ssrc(1),
                        last_rr: 2,
                        delay_since_last_rr: 3,
                    },
                    DlrrItem {
                        ssrc: Ssrc(4),
                        last_rr: 5,
                        delay_since_last_rr: 6,
                    },
                ]),
                XrBlock::Unknown {
                    block_type: 42,
                    type_specific: 9,
                    contents: Bytes::from_static(&[1, 2, 3, 4]),
                },
                XrBlock::Dlrr(Vec::new()),
            ],
        }));
        round_trip(RtcpPacket::ExtendedReport(ExtendedReport {
            ssrc: Ssrc(7),
            blocks: Vec::new(),
        }));
    }

    #[test]
    fn the_layout_is_rfc_3611s() {
        let wire = crate::rtcp::serialize_compound(&[RtcpPacket::ExtendedReport(ExtendedReport {
            ssrc: Ssrc(0x1122_3344),
            blocks: vec![XrBlock::ReceiverReferenceTime(NtpTime(
                0xAABB_CCDD_EEFF_0011,
            ))],
        })]);
        assert_eq!(
            &wire[..],
            &[
                0x80, 207, 0, 4, // header: four words follow
                0x11, 0x22, 0x33, 0x44, // SSRC
                4, 0, 0, 2, // BT=4, length 2
                0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF, 0x00, 0x11,
            ]
        );
    }

    #[test]
    fn blocks_whose_length_does_not_fit_are_rejected() {
        let parse = |bytes: &[u8]| parse_compound(&Bytes::copy_from_slice(bytes));
        // A receiver reference time of one word.
        assert!(parse(&[0x80, 207, 0, 3, 0, 0, 0, 1, 4, 0, 0, 1, 0, 0, 0, 0]).is_err());
        // A DLRR block of one word (a sub-block is three).
        assert!(parse(&[0x80, 207, 0, 3, 0, 0, 0, 1, 5, 0, 0, 1, 0, 0, 0, 0]).is_err());
        // A block that runs past the packet.
        assert!(parse(&[0x80, 207, 0, 2, 0, 0, 0, 1, 9, 0, 0, 5]).is_err());
        // A packet without the sender's SSRC.
        assert!(parse(&[0x80, 207, 0, 0]).is_err());
        // Padding that leaves half a block header.
        assert!(parse(&[0xA0, 207, 0, 2, 0, 0, 0, 1, 9, 0, 0, 2]).is_err());
    }
}
