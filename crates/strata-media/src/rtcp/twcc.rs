//! Transport-wide congestion control feedback
//! (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1).

use bytes::{BufMut, Bytes, BytesMut};

use super::{PT_RTPFB, read_u16, read_u32, write_header};
use crate::{Malformed, Ssrc};

/// One receive-delta tick: 250 µs.
pub const TWCC_DELTA_TICK_MICROS: i64 = 250;
/// One reference-time tick: 64 ms.
pub const TWCC_REFERENCE_TICK_MICROS: i64 = 64_000;

/// What the feedback says about one transport-wide sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketStatus {
    /// Not received (yet).
    NotReceived,
    /// Received; `delta` is its arrival time minus the previous received packet's (or, for
    /// the first, the reference time), in 250 µs ticks. 0 to 255 travels as a "small
    /// delta" (one byte), anything else in `i16` range as a "large delta" (two bytes).
    Received {
        /// Arrival delta in 250 µs ticks.
        delta: i16,
    },
}

impl PacketStatus {
    fn symbol(self) -> u8 {
        match self {
            Self::NotReceived => 0,
            Self::Received { delta } if (0..=255).contains(&delta) => 1,
            Self::Received { .. } => 2,
        }
    }
}

/// A transport-wide feedback message:
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |V=2|P|  FMT=15 |    PT=205     |           length              |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                     SSRC of packet sender                     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                      SSRC of media source                     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |      base sequence number     |      packet status count      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                 reference time                | fb pkt. count |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |          packet chunk         |         packet chunk          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// .                                                               .
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         recv delta            |  recv delta   | zero padding  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// A packet chunk is either a run length (`0|S S|run length (13)`) or a status vector
/// (`1|0|14 one-bit symbols` or `1|1|7 two-bit symbols`); symbols are 0 not received,
/// 1 small delta, 2 large delta.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportFeedback {
    /// Who sends the feedback.
    pub sender_ssrc: Ssrc,
    /// A media source of the transport (informational).
    pub media_ssrc: Ssrc,
    /// Transport-wide sequence number of the first packet described.
    pub base_seq: u16,
    /// 24-bit reference time, in 64 ms ticks.
    pub reference_time: u32,
    /// Counts feedback messages, wrapping, so the sender can detect lost feedback.
    pub feedback_count: u8,
    /// One status per sequence number from `base_seq` on (at most 65 535).
    pub packets: Vec<PacketStatus>,
}

impl TransportFeedback {
    pub(crate) fn parse(body: &Bytes) -> Result<Self, Malformed> {
        const WHAT: &str = "transport-wide feedback";
        if body.len() < 16 {
            return Err(Malformed::BadLength(WHAT));
        }
        let b = &body[..];
        let base_seq = read_u16(b, 8);
        let count = usize::from(read_u16(b, 10));
        let reference_time = read_u32(b, 12) >> 8;
        let feedback_count = b[15];
        let mut symbols: Vec<u8> = Vec::with_capacity(count.min(b.len() * 14));
        let mut i = 16;
        while symbols.len() < count {
            if i + 2 > b.len() {
                return Err(Malformed::BadLength(WHAT));
            }
            let chunk = read_u16(b, i);
            i += 2;
            let remaining = count - symbols.len();
            if chunk & 0x8000 == 0 {
                let symbol = ((chunk >> 13) & 0b11) as u8;
                if symbol == 3 {
                    return Err(Malformed::BadField("transport-wide feedback symbol"));
                }
                let run = usize::from(chunk & 0x1FFF).min(remaining);
                symbols.extend(std::iter::repeat_n(symbol, run));
            } else if chunk & 0x4000 == 0 {
                for bit in (0..14).rev().take(remaining) {
                    symbols.push(((chunk >> bit) & 1) as u8);
                }
            } else {
                for slot in (0..7).rev().take(remaining) {
                    let symbol = ((chunk >> (2 * slot)) & 0b11) as u8;
                    if symbol == 3 {
                        return Err(Malformed::BadField("transport-wide feedback symbol"));
                    }
                    symbols.push(symbol);
                }
            }
        }
        let mut packets = Vec::with_capacity(count);
        for symbol in symbols {
            packets.push(match symbol {
                1 => {
                    let Some(&delta) = b.get(i) else {
                        return Err(Malformed::BadLength(WHAT));
                    };
                    i += 1;
                    PacketStatus::Received {
                        delta: i16::from(delta),
                    }
                }
                2 => {
                    if i + 2 > b.len() {
                        return Err(Malformed::BadLength(WHAT));
                    }
                    let delta = read_u16(b, i) as i16;
                    i += 2;
                    PacketStatus::Received { delta }
                }
                _ => PacketStatus::NotReceived,
            });
        }
        // Up to three bytes of zero padding may follow.
        if b.len() - i > 3 {
            return Err(Malformed::BadLength(WHAT));
        }
        Ok(Self {
            sender_ssrc: Ssrc(read_u32(b, 0)),
            media_ssrc: Ssrc(read_u32(b, 4)),
            base_seq,
            reference_time,
            feedback_count,
            packets,
        })
    }

    /// Packet chunks for the statuses: a run length when a run is long, otherwise the
    /// densest status vector that holds the next symbols.
    fn chunks(&self) -> Vec<u16> {
        let symbols: Vec<u8> = self.packets.iter().map(|p| p.symbol()).collect();
        let n = symbols.len();
        let mut chunks = Vec::new();
        let mut i = 0;
        while i < n {
            let run = symbols[i..]
                .iter()
                .take(0x1FFF)
                .take_while(|&&s| s == symbols[i])
                .count();
            let window = &symbols[i..n.min(i + 14)];
            let large_in_window = window.contains(&2);
            if run >= 14 || run == n - i || (large_in_window && run >= 7) {
                chunks.push(u16::from(symbols[i]) << 13 | run as u16);
                i += run;
            } else if !large_in_window {
                let mut chunk = 0x8000u16;
                for (slot, &s) in window.iter().enumerate() {
                    chunk |= u16::from(s) << (13 - slot);
                }
                chunks.push(chunk);
                i += window.len();
            } else {
                let window = &symbols[i..n.min(i + 7)];
                let mut chunk = 0xC000u16;
                for (slot, &s) in window.iter().enumerate() {
                    chunk |= u16::from(s) << (12 - 2 * slot);
                }
                chunks.push(chunk);
                i += window.len();
            }
        }
        chunks
    }

    /// Bytes on the wire, with the common header and padding.
    pub fn encoded_len(&self) -> usize {
        self.layout().2
    }

    fn layout(&self) -> (Vec<u16>, usize, usize) {
        let chunks = self.chunks();
        let deltas: usize = self
            .packets
            .iter()
            .map(|p| match p.symbol() {
                1 => 1,
                2 => 2,
                _ => 0,
            })
            .sum();
        let body = 16 + 2 * chunks.len() + deltas;
        (chunks, deltas, 4 + body.div_ceil(4) * 4)
    }

    pub(crate) fn write_to(&self, out: &mut BytesMut) {
        let packets = &self.packets[..self.packets.len().min(0xFFFF)];
        let (chunks, _, total) = self.layout();
        let start = out.len();
        write_header(out, 15, PT_RTPFB, total - 4);
        out.put_u32(self.sender_ssrc.0);
        out.put_u32(self.media_ssrc.0);
        out.put_u16(self.base_seq);
        out.put_u16(packets.len() as u16);
        out.put_u32((self.reference_time & 0x00FF_FFFF) << 8 | u32::from(self.feedback_count));
        for chunk in chunks {
            out.put_u16(chunk);
        }
        for p in packets {
            match (p.symbol(), p) {
                (1, PacketStatus::Received { delta }) => out.put_u8(*delta as u8),
                (2, PacketStatus::Received { delta }) => out.put_i16(*delta),
                _ => {}
            }
        }
        let written = out.len() - start;
        out.put_bytes(0, total - written);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::RtcpPacket;
    use crate::rtcp::tests::round_trip;

    fn feedback(packets: Vec<PacketStatus>) -> TransportFeedback {
        TransportFeedback {
            sender_ssrc: Ssrc(1),
            media_ssrc: Ssrc(2),
            base_seq: 65_530,
            reference_time: 0x12_3456,
            feedback_count: 9,
            packets,
        }
    }

    const LOST: PacketStatus = PacketStatus::NotReceived;
    const fn got(delta: i16) -> PacketStatus {
        PacketStatus::Received { delta }
    }

    #[test]
    fn run_length_chunks_carry_long_runs() {
        let fb = feedback(vec![got(4); 100]);
        assert_eq!(fb.chunks(), vec![0x2000 + 100]);
        round_trip(RtcpPacket::TransportFeedback(fb));
        let fb = feedback([vec![LOST; 20], vec![got(1); 3]].concat());
        assert_eq!(fb.chunks(), vec![20, 0x2000 | 3]);
        round_trip(RtcpPacket::TransportFeedback(fb));
    }

    #[test]
    fn status_vectors_carry_mixed_statuses() {
        let fb = feedback(vec![
            got(1),
            LOST,
            got(2),
            LOST,
            got(3),
            got(4),
            LOST,
            got(5),
        ]);
        assert_eq!(fb.chunks(), vec![0xAB40]);
        round_trip(RtcpPacket::TransportFeedback(fb));
        let fb = feedback(vec![
            got(-4),
            LOST,
            got(300),
            got(1),
            LOST,
            got(2),
            got(3),
            got(9),
            LOST,
        ]);
        let chunks = fb.chunks();
        assert_eq!(chunks[0] & 0xC000, 0xC000);
        round_trip(RtcpPacket::TransportFeedback(fb));
    }

    #[test]
    fn truncated_deltas_and_reserved_symbols_are_rejected() {
        let mut wire = BytesMut::new();
        RtcpPacket::TransportFeedback(feedback(vec![got(1000); 3])).write_to(&mut wire);
        let body = Bytes::copy_from_slice(&wire[4..wire.len() - 4]);
        assert!(TransportFeedback::parse(&body).is_err());
        // A run-length chunk of symbol 3.
        let mut body = vec![0; 16];
        body[11] = 1;
        body.extend_from_slice(&[0x60, 0x01, 0, 0]);
        assert!(TransportFeedback::parse(&Bytes::from(body)).is_err());
    }
}
