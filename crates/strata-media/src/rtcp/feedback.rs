//! Feedback messages (RFC 4585 §6): generic NACK, PLI, FIR (RFC 5104) and REMB.
//!
//! Every feedback message shares this layout after the common header:
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |V=2|P|   FMT   |       PT      |          length               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                  SSRC of packet sender                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                  SSRC of media source                         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! :            Feedback Control Information (FCI)                 :
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use super::{PT_PSFB, PT_RTPFB, read_u16, read_u32, write_header};
use crate::{Malformed, SeqNo, Ssrc};

fn ssrcs(body: &[u8]) -> (Ssrc, Ssrc) {
    (Ssrc(read_u32(body, 0)), Ssrc(read_u32(body, 4)))
}

/// A generic NACK (RFC 4585 §6.2.1). Each FCI entry names a lost packet (PID) and, in the
/// bitmask BLP, which of the 16 following packets are lost too:
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |            PID                |             BLP               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nack {
    /// Who asks.
    pub sender_ssrc: Ssrc,
    /// The stream the packets belong to.
    pub media_ssrc: Ssrc,
    /// The FCI entries, (PID, BLP); at least one.
    pub entries: Vec<(SeqNo, u16)>,
}

impl Nack {
    /// A NACK asking for `lost`, packed into as few entries as their order allows.
    pub fn from_seqs(
        sender_ssrc: Ssrc,
        media_ssrc: Ssrc,
        lost: impl IntoIterator<Item = SeqNo>,
    ) -> Self {
        let mut entries: Vec<(SeqNo, u16)> = Vec::new();
        for seq in lost {
            if let Some((pid, blp)) = entries.last_mut() {
                let distance = seq.0.wrapping_sub(pid.0);
                if (1..=16).contains(&distance) {
                    *blp |= 1 << (distance - 1);
                    continue;
                }
            }
            entries.push((seq, 0));
        }
        Self {
            sender_ssrc,
            media_ssrc,
            entries,
        }
    }

    /// Every sequence number asked for, in entry order.
    pub fn lost(&self) -> impl Iterator<Item = SeqNo> + '_ {
        self.entries.iter().flat_map(|&(pid, blp)| {
            std::iter::once(pid).chain(
                (0..16)
                    .filter(move |bit| blp & (1 << bit) != 0)
                    .map(move |bit| SeqNo(pid.0.wrapping_add(bit + 1))),
            )
        })
    }

    pub(crate) fn parse(body: &Bytes) -> Result<Self, Malformed> {
        if body.len() < 12 || !(body.len() - 8).is_multiple_of(4) {
            return Err(Malformed::BadLength("generic NACK"));
        }
        let (sender_ssrc, media_ssrc) = ssrcs(body);
        let entries = body[8..]
            .chunks_exact(4)
            .map(|c| (SeqNo(read_u16(c, 0)), read_u16(c, 2)))
            .collect();
        Ok(Self {
            sender_ssrc,
            media_ssrc,
            entries,
        })
    }

    pub(crate) fn write_to(&self, out: &mut BytesMut) {
        // At most what the 16-bit length field can describe.
        let entries = &self.entries[..self.entries.len().min(16_000)];
        write_header(out, 1, PT_RTPFB, 8 + 4 * entries.len());
        out.put_u32(self.sender_ssrc.0);
        out.put_u32(self.media_ssrc.0);
        for (pid, blp) in entries {
            out.put_u16(pid.0);
            out.put_u16(*blp);
        }
    }
}

/// Picture loss indication (RFC 4585 §6.3.1): no FCI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pli {
    /// Who asks.
    pub sender_ssrc: Ssrc,
    /// The stream that needs a keyframe.
    pub media_ssrc: Ssrc,
}

impl Pli {
    pub(crate) fn parse(body: &Bytes) -> Result<Self, Malformed> {
        if body.len() != 8 {
            return Err(Malformed::BadLength("PLI"));
        }
        let (sender_ssrc, media_ssrc) = ssrcs(body);
        Ok(Self {
            sender_ssrc,
            media_ssrc,
        })
    }

    // By reference like every other packet type's.
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(crate) fn write_to(&self, out: &mut BytesMut) {
        write_header(out, 1, PT_PSFB, 8);
        out.put_u32(self.sender_ssrc.0);
        out.put_u32(self.media_ssrc.0);
    }
}

/// One FIR entry (RFC 5104 §4.3.1.1):
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                              SSRC                             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Seq nr.       |    Reserved                                   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirEntry {
    /// The stream that needs a keyframe.
    pub ssrc: Ssrc,
    /// Command sequence number: a repeated request carries the same number.
    pub seq_nr: u8,
}

/// Full intra request (RFC 5104 §4.3.1); the media-source field is unused (zero).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fir {
    /// Who asks.
    pub sender_ssrc: Ssrc,
    /// The requests; at least one.
    pub entries: Vec<FirEntry>,
}

impl Fir {
    pub(crate) fn parse(body: &Bytes) -> Result<Self, Malformed> {
        if body.len() < 16 || !(body.len() - 8).is_multiple_of(8) {
            return Err(Malformed::BadLength("FIR"));
        }
        let entries = body[8..]
            .chunks_exact(8)
            .map(|c| FirEntry {
                ssrc: Ssrc(read_u32(c, 0)),
                seq_nr: c[4],
            })
            .collect();
        Ok(Self {
            sender_ssrc: Ssrc(read_u32(body, 0)),
            entries,
        })
    }

    pub(crate) fn write_to(&self, out: &mut BytesMut) {
        let entries = &self.entries[..self.entries.len().min(8000)];
        write_header(out, 4, PT_PSFB, 8 + 8 * entries.len());
        out.put_u32(self.sender_ssrc.0);
        out.put_u32(0);
        for entry in entries {
            out.put_u32(entry.ssrc.0);
            out.put_u8(entry.seq_nr);
            out.put_bytes(0, 3);
        }
    }
}

/// Receiver estimated maximum bitrate (draft-alvestrand-rmcat-remb-03), parsed so it can be
/// told from unknown application-layer feedback; the session does not act on it.
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Unique identifier 'R' 'E' 'M' 'B'                            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Num SSRC     | BR Exp    |  BR Mantissa                      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   SSRC feedback                                               |
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remb {
    /// Who estimates.
    pub sender_ssrc: Ssrc,
    /// Estimated bitrate, bits per second (saturating).
    pub bitrate: u64,
    /// The streams the estimate covers.
    pub ssrcs: Vec<Ssrc>,
}

impl Remb {
    /// `None` when the FCI does not start with "REMB" (another application-layer message).
    pub(crate) fn parse(body: &Bytes) -> Option<Result<Self, Malformed>> {
        if body.len() < 12 || &body[8..12] != b"REMB" {
            return None;
        }
        Some(Self::parse_remb(body))
    }

    fn parse_remb(body: &Bytes) -> Result<Self, Malformed> {
        if body.len() < 16 {
            return Err(Malformed::BadLength("REMB"));
        }
        let count = usize::from(body[12]);
        if body.len() != 16 + 4 * count {
            return Err(Malformed::BadLength("REMB"));
        }
        let exp = u32::from(body[13] >> 2);
        let mantissa = u64::from(read_u32(body, 12) & 0x3_FFFF);
        let bitrate = mantissa
            .checked_shl(exp)
            .filter(|b| b >> exp == mantissa)
            .unwrap_or(u64::MAX);
        let ssrcs = body[16..]
            .chunks_exact(4)
            .map(|c| Ssrc(read_u32(c, 0)))
            .collect();
        Ok(Self {
            sender_ssrc: Ssrc(read_u32(body, 0)),
            bitrate,
            ssrcs,
        })
    }

    pub(crate) fn write_to(&self, out: &mut BytesMut) {
        let ssrcs = &self.ssrcs[..self.ssrcs.len().min(255)];
        write_header(out, 15, PT_PSFB, 16 + 4 * ssrcs.len());
        out.put_u32(self.sender_ssrc.0);
        out.put_u32(0);
        out.put_slice(b"REMB");
        let mut exp = 0u32;
        let mut mantissa = self.bitrate;
        while mantissa > 0x3_FFFF {
            mantissa >>= 1;
            exp += 1;
        }
        out.put_u8(ssrcs.len() as u8);
        out.put_u8(((exp.min(63) as u8) << 2) | (mantissa >> 16) as u8);
        out.put_u16(mantissa as u16);
        for s in ssrcs {
            out.put_u32(s.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::tests::round_trip;
    use crate::rtcp::{RtcpPacket, parse_compound};

    #[test]
    fn nack_packs_and_unpacks_sequence_numbers() {
        let lost = [SeqNo(65_530), SeqNo(65_531), SeqNo(2), SeqNo(100)];
        let nack = Nack::from_seqs(Ssrc(1), Ssrc(2), lost);
        assert_eq!(
            nack.entries,
            vec![(SeqNo(65_530), 0b1 | 1 << 7), (SeqNo(100), 0)]
        );
        assert_eq!(nack.lost().collect::<Vec<_>>(), lost);
        round_trip(RtcpPacket::Nack(nack));
    }

    #[test]
    fn pli_fir_and_remb_round_trip() {
        round_trip(RtcpPacket::Pli(Pli {
            sender_ssrc: Ssrc(1),
            media_ssrc: Ssrc(2),
        }));
        round_trip(RtcpPacket::Fir(Fir {
            sender_ssrc: Ssrc(1),
            entries: vec![
                FirEntry {
                    ssrc: Ssrc(3),
                    seq_nr: 7,
                },
                FirEntry {
                    ssrc: Ssrc(4),
                    seq_nr: 0,
                },
            ],
        }));
        round_trip(RtcpPacket::Remb(Remb {
            sender_ssrc: Ssrc(1),
            bitrate: 1_500_000,
            ssrcs: vec![Ssrc(9)],
        }));
    }

    #[test]
    fn feedback_with_wrong_lengths_is_rejected() {
        let cases: [&[u8]; 5] = [
            // NACK without FCI.
            &[0x81, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2],
            // PLI with an FCI word.
            &[0x81, 206, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0],
            // FIR with half an entry.
            &[0x84, 206, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3],
            // REMB claiming two SSRCs, carrying one.
            &[
                0x8F, 206, 0, 5, 0, 0, 0, 1, 0, 0, 0, 0, b'R', b'E', b'M', b'B', 2, 0, 0, 1, 0, 0,
                0, 9,
            ],
            // PLI too short.
            &[0x81, 206, 0, 1, 0, 0, 0, 1],
        ];
        for case in cases {
            assert!(
                parse_compound(&Bytes::copy_from_slice(case)).is_err(),
                "{case:?}"
            );
        }
    }
}
