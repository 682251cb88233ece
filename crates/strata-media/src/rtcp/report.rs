//! Sender and receiver reports, source description and goodbye (RFC 3550 §6.4–§6.6).

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};

use super::{Header, PT_BYE, PT_RR, PT_SDES, PT_SR, read_u32, write_header};
use crate::{Malformed, Ssrc};

/// Most report blocks one SR or RR carries (the count field is five bits).
pub const MAX_REPORT_BLOCKS: usize = 31;

/// A 64-bit NTP timestamp: seconds since 1900 in 32.32 fixed point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct NtpTime(pub u64);

/// Seconds from 1900 (NTP's epoch) to 1970 (Unix's).
const NTP_UNIX_OFFSET_SECS: u64 = 2_208_988_800;

impl NtpTime {
    /// The NTP time of a moment given as time since the Unix epoch.
    pub fn from_unix(since_unix_epoch: Duration) -> Self {
        let secs = since_unix_epoch.as_secs() + NTP_UNIX_OFFSET_SECS;
        let frac = (u64::from(since_unix_epoch.subsec_nanos()) << 32) / 1_000_000_000;
        Self((secs << 32) | frac)
    }

    /// The middle 32 bits, as carried in LSR (RFC 3550 §6.4.1).
    pub const fn compact(self) -> u32 {
        (self.0 >> 16) as u32
    }
}

/// A duration in 1/65536 s, as DLSR (RFC 3550 §6.4.1) and DLRR (RFC 3611 §4.5) carry it;
/// saturated at the field's range.
pub(crate) fn compact_duration(duration: Duration) -> u32 {
    let units = duration.as_micros() * 65_536 / 1_000_000;
    u32::try_from(units).unwrap_or(u32::MAX)
}

/// A reception report block (RFC 3550 §6.4.1):
///
/// ```text
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// |                 SSRC_1 (SSRC of first source)                 |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | fraction lost |       cumulative number of packets lost       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           extended highest sequence number received           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                      interarrival jitter                      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         last SR (LSR)                         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                   delay since last SR (DLSR)                  |
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlock {
    /// The source reported on.
    pub ssrc: Ssrc,
    /// Fraction of packets lost since the last report, in 1/256.
    pub fraction_lost: u8,
    /// Packets lost since the beginning (24-bit signed; duplicates can make it negative).
    pub cumulative_lost: i32,
    /// Highest sequence number received, with its cycle count in the upper 16 bits.
    pub extended_highest_seq: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP time of the last SR received from the source, or 0.
    pub last_sr: u32,
    /// Delay since that SR, in 1/65536 s.
    pub delay_since_last_sr: u32,
}

const REPORT_BLOCK_LEN: usize = 24;

impl ReportBlock {
    fn parse(b: &[u8]) -> Self {
        let lost = read_u32(b, 4) & 0x00FF_FFFF;
        // Sign-extend the 24-bit field.
        let cumulative_lost = ((lost << 8) as i32) >> 8;
        Self {
            ssrc: Ssrc(read_u32(b, 0)),
            fraction_lost: b[4],
            cumulative_lost,
            extended_highest_seq: read_u32(b, 8),
            jitter: read_u32(b, 12),
            last_sr: read_u32(b, 16),
            delay_since_last_sr: read_u32(b, 20),
        }
    }

    fn write_to(&self, out: &mut BytesMut) {
        out.put_u32(self.ssrc.0);
        let lost = self.cumulative_lost.clamp(-0x80_0000, 0x7F_FFFF) as u32 & 0x00FF_FFFF;
        out.put_u32(u32::from(self.fraction_lost) << 24 | lost);
        out.put_u32(self.extended_highest_seq);
        out.put_u32(self.jitter);
        out.put_u32(self.last_sr);
        out.put_u32(self.delay_since_last_sr);
    }
}

fn parse_blocks(
    count: u8,
    bytes: &[u8],
    what: &'static str,
) -> Result<Vec<ReportBlock>, Malformed> {
    let need = usize::from(count) * REPORT_BLOCK_LEN;
    if bytes.len() < need {
        return Err(Malformed::BadLength(what));
    }
    // Anything after the blocks is a profile-specific extension (RFC 3550 §6.4.1): ignored.
    Ok(bytes[..need]
        .chunks_exact(REPORT_BLOCK_LEN)
        .map(ReportBlock::parse)
        .collect())
}

/// A sender report (RFC 3550 §6.4.1):
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |V=2|P|    RC   |   PT=SR=200   |             length            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         SSRC of sender                        |
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// |              NTP timestamp, most significant word             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |             NTP timestamp, least significant word             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         RTP timestamp                         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                     sender's packet count                     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                      sender's octet count                     |
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// |                 report blocks (RC × 24 bytes)                 |
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderReport {
    /// The sender.
    pub ssrc: Ssrc,
    /// Wallclock time when the report was sent.
    pub ntp: NtpTime,
    /// The same instant in the RTP clock of the sender's stream.
    pub rtp_timestamp: u32,
    /// Packets sent since the start.
    pub packet_count: u32,
    /// Payload octets sent since the start.
    pub octet_count: u32,
    /// Reception reports, at most [`MAX_REPORT_BLOCKS`] are written.
    pub reports: Vec<ReportBlock>,
}

impl SenderReport {
    pub(crate) fn parse(header: &Header, body: &Bytes) -> Result<Self, Malformed> {
        if body.len() < 24 {
            return Err(Malformed::BadLength("sender report"));
        }
        let b = &body[..];
        Ok(Self {
            ssrc: Ssrc(read_u32(b, 0)),
            ntp: NtpTime(u64::from(read_u32(b, 4)) << 32 | u64::from(read_u32(b, 8))),
            rtp_timestamp: read_u32(b, 12),
            packet_count: read_u32(b, 16),
            octet_count: read_u32(b, 20),
            reports: parse_blocks(header.count, &b[24..], "sender report")?,
        })
    }

    pub(crate) fn write_to(&self, out: &mut BytesMut) {
        let blocks = &self.reports[..self.reports.len().min(MAX_REPORT_BLOCKS)];
        write_header(
            out,
            blocks.len() as u8,
            PT_SR,
            24 + REPORT_BLOCK_LEN * blocks.len(),
        );
        out.put_u32(self.ssrc.0);
        out.put_u64(self.ntp.0);
        out.put_u32(self.rtp_timestamp);
        out.put_u32(self.packet_count);
        out.put_u32(self.octet_count);
        for block in blocks {
            block.write_to(out);
        }
    }
}

/// A receiver report (RFC 3550 §6.4.2): the SSRC of the packet sender, then RC report
/// blocks as in [`SenderReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverReport {
    /// The reporter.
    pub ssrc: Ssrc,
    /// Reception reports, at most [`MAX_REPORT_BLOCKS`] are written.
    pub reports: Vec<ReportBlock>,
}

impl ReceiverReport {
    pub(crate) fn parse(header: &Header, body: &Bytes) -> Result<Self, Malformed> {
        if body.len() < 4 {
            return Err(Malformed::BadLength("receiver report"));
        }
        Ok(Self {
            ssrc: Ssrc(read_u32(body, 0)),
            reports: parse_blocks(header.count, &body[4..], "receiver report")?,
        })
    }

    pub(crate) fn write_to(&self, out: &mut BytesMut) {
        let blocks = &self.reports[..self.reports.len().min(MAX_REPORT_BLOCKS)];
        write_header(
            out,
            blocks.len() as u8,
            PT_RR,
            4 + REPORT_BLOCK_LEN * blocks.len(),
        );
        out.put_u32(self.ssrc.0);
        for block in blocks {
            block.write_to(out);
        }
    }
}

/// One SDES item: type, length, text (RFC 3550 §6.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdesItem {
    /// Item type (1 = CNAME).
    pub kind: u8,
    /// The item's value (at most 255 bytes are written).
    pub value: Bytes,
}

impl SdesItem {
    /// SDES item type of CNAME.
    pub const CNAME: u8 = 1;

    /// A CNAME item.
    pub fn cname(cname: &str) -> Self {
        Self {
            kind: Self::CNAME,
            value: Bytes::copy_from_slice(cname.as_bytes()),
        }
    }
}

/// One SDES chunk: a source and its items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdesChunk {
    /// The source described.
    pub ssrc: Ssrc,
    /// Its items.
    pub items: Vec<SdesItem>,
}

impl SdesChunk {
    /// The CNAME item, if present and UTF-8.
    pub fn cname(&self) -> Option<&str> {
        let item = self.items.iter().find(|i| i.kind == SdesItem::CNAME)?;
        std::str::from_utf8(&item.value).ok()
    }

    fn encoded_len(&self) -> usize {
        let items: usize = self.items.iter().map(|i| 2 + i.value.len().min(255)).sum();
        // SSRC, items, a null octet, padding to a word.
        (4 + items + 1).div_ceil(4) * 4
    }
}

/// Source description (RFC 3550 §6.5):
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |V=2|P|    SC   |  PT=SDES=202  |             length            |
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// |                          SSRC/CSRC_1                          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     type      |    length     | text ...  (items, then a null |
/// |               |               | octet and padding to 32 bits) |
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sdes {
    /// The chunks, at most 31 are written.
    pub chunks: Vec<SdesChunk>,
}

impl Sdes {
    pub(crate) fn parse(header: &Header, body: &Bytes) -> Result<Self, Malformed> {
        let b = &body[..];
        let mut chunks = Vec::with_capacity(usize::from(header.count));
        let mut i = 0;
        for _ in 0..header.count {
            if i + 4 > b.len() {
                return Err(Malformed::BadLength("SDES chunk"));
            }
            let ssrc = Ssrc(read_u32(b, i));
            i += 4;
            let mut items = Vec::new();
            loop {
                let Some(&kind) = b.get(i) else {
                    return Err(Malformed::BadLength("SDES item"));
                };
                if kind == 0 {
                    // End of list: skip to the next word boundary.
                    i = (i + 1).div_ceil(4) * 4;
                    break;
                }
                let Some(&len) = b.get(i + 1) else {
                    return Err(Malformed::BadLength("SDES item"));
                };
                let end = i + 2 + usize::from(len);
                if end > b.len() {
                    return Err(Malformed::BadLength("SDES item"));
                }
                items.push(SdesItem {
                    kind,
                    value: body.slice(i + 2..end),
                });
                i = end;
            }
            chunks.push(SdesChunk { ssrc, items });
        }
        if i > b.len() {
            return Err(Malformed::BadLength("SDES chunk"));
        }
        Ok(Self { chunks })
    }

    pub(crate) fn write_to(&self, out: &mut BytesMut) {
        let chunks = &self.chunks[..self.chunks.len().min(31)];
        let len = chunks.iter().map(SdesChunk::encoded_len).sum();
        write_header(out, chunks.len() as u8, PT_SDES, len);
        for chunk in chunks {
            let start = out.len();
            out.put_u32(chunk.ssrc.0);
            for item in &chunk.items {
                let value = &item.value[..item.value.len().min(255)];
                out.put_u8(item.kind);
                out.put_u8(value.len() as u8);
                out.put_slice(value);
            }
            let written = out.len() - start;
            out.put_bytes(0, chunk.encoded_len() - written);
        }
    }
}

/// Goodbye (RFC 3550 §6.6):
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |V=2|P|    SC   |   PT=BYE=203  |             length            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                           SSRC/CSRC                           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// :                              ...                              :
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// |     length    |               reason for leaving            ... (opt)
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bye {
    /// The sources leaving, at most 31 are written.
    pub sources: Vec<Ssrc>,
    /// Why (at most 255 bytes are written).
    pub reason: Option<Bytes>,
}

impl Bye {
    pub(crate) fn parse(header: &Header, body: &Bytes) -> Result<Self, Malformed> {
        let need = 4 * usize::from(header.count);
        if body.len() < need {
            return Err(Malformed::BadLength("BYE"));
        }
        let sources = body[..need]
            .chunks_exact(4)
            .map(|c| Ssrc(read_u32(c, 0)))
            .collect();
        let reason = match body.get(need) {
            None => None,
            Some(&len) => {
                let end = need + 1 + usize::from(len);
                if end > body.len() {
                    return Err(Malformed::BadLength("BYE reason"));
                }
                Some(body.slice(need + 1..end))
            }
        };
        Ok(Self { sources, reason })
    }

    pub(crate) fn write_to(&self, out: &mut BytesMut) {
        let sources = &self.sources[..self.sources.len().min(31)];
        let reason = self.reason.as_ref().map(|r| &r[..r.len().min(255)]);
        let reason_len = reason.map_or(0, |r| (1 + r.len()).div_ceil(4) * 4);
        write_header(
            out,
            sources.len() as u8,
            PT_BYE,
            4 * sources.len() + reason_len,
        );
        for s in sources {
            out.put_u32(s.0);
        }
        if let Some(reason) = reason {
            out.put_u8(reason.len() as u8);
            out.put_slice(reason);
            out.put_bytes(0, reason_len - 1 - reason.len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::RtcpPacket;
    use crate::rtcp::tests::round_trip;

    #[test]
    fn reports_round_trip() {
        let block = ReportBlock {
            ssrc: Ssrc(7),
            fraction_lost: 255,
            cumulative_lost: -0x80_0000,
            extended_highest_seq: u32::MAX,
            jitter: 1,
            last_sr: 2,
            delay_since_last_sr: 3,
        };
        round_trip(RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: Ssrc(1),
            reports: vec![block; 3],
        }));
        round_trip(RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: Ssrc(1),
            reports: vec![],
        }));
        round_trip(RtcpPacket::SenderReport(SenderReport {
            ssrc: Ssrc(9),
            ntp: NtpTime(5),
            rtp_timestamp: 6,
            packet_count: 7,
            octet_count: 8,
            reports: vec![block],
        }));
    }

    #[test]
    fn sdes_and_bye_round_trip() {
        round_trip(RtcpPacket::Sdes(Sdes {
            chunks: vec![
                SdesChunk {
                    ssrc: Ssrc(1),
                    items: vec![SdesItem::cname("x")],
                },
                SdesChunk {
                    ssrc: Ssrc(2),
                    items: vec![
                        SdesItem::cname("four"),
                        SdesItem {
                            kind: 6,
                            value: Bytes::from_static(b"tool"),
                        },
                    ],
                },
            ],
        }));
        round_trip(RtcpPacket::Bye(Bye {
            sources: vec![Ssrc(1), Ssrc(2)],
            reason: None,
        }));
        round_trip(RtcpPacket::Bye(Bye {
            sources: vec![Ssrc(1)],
            reason: Some(Bytes::from_static(b"done")),
        }));
    }

    #[test]
    fn wrong_lengths_are_rejected() {
        let header = |count| Header {
            count,
            packet_type: 0,
        };
        assert!(SenderReport::parse(&header(0), &Bytes::from_static(&[0; 20])).is_err());
        assert!(SenderReport::parse(&header(1), &Bytes::from_static(&[0; 24])).is_err());
        assert!(ReceiverReport::parse(&header(2), &Bytes::from_static(&[0; 28])).is_err());
        assert!(Sdes::parse(&header(1), &Bytes::from_static(&[0, 0, 0, 1, 1, 9, b'a'])).is_err());
        assert!(Sdes::parse(&header(2), &Bytes::from_static(&[0, 0, 0, 1, 0, 0, 0, 0])).is_err());
        assert!(Bye::parse(&header(2), &Bytes::from_static(&[0; 4])).is_err());
        assert!(Bye::parse(&header(1), &Bytes::from_static(&[0, 0, 0, 1, 5, b'a'])).is_err());
    }

    #[test]
    fn ntp_compact_is_the_middle_bits() {
        let ntp = NtpTime::from_unix(Duration::from_millis(1500));
        assert_eq!(ntp.0 >> 32, NTP_UNIX_OFFSET_SECS + 1);
        assert_eq!(ntp.compact() & 0xFFFF, 0x8000);
    }
}
