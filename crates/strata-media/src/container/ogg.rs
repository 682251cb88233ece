//! Ogg pages (RFC 3533): the CRC, lacing, and laying packets out over pages.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1| Byte
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | capture_pattern: Magic number for page start "OggS"           | 0-3
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | version       | header_type   | granule_position              | 4-7
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//! |                                                               | 8-11
//! +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                               | bitstream_serial_number       | 12-15
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//! |                               | page_sequence_number          | 16-19
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//! |                               | CRC_checksum                  | 20-23
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//! |                               |page_segments  | segment_table | 24-27
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | ...                                                           | 28-
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! `header_type`: 0x01 the page continues a packet, 0x02 beginning of stream, 0x04 end of
//! stream. A packet of `n` bytes is laced as `n / 255` values of 255 and one of
//! `n % 255` (so a multiple of 255 ends with a 0); a page whose last lacing value is 255
//! leaves its packet to the next page. The granule position is that of the last packet
//! completed on the page, or -1 when none is.

use std::io::Read;

use super::Source;
use crate::{Error, FileProblem};

pub(crate) const CONTINUED: u8 = 0x01;
pub(crate) const BEGINNING_OF_STREAM: u8 = 0x02;
pub(crate) const END_OF_STREAM: u8 = 0x04;
/// The granule position of a page on which no packet ends (-1).
pub(crate) const NO_GRANULE: u64 = u64::MAX;
const CAPTURE_PATTERN: &[u8; 4] = b"OggS";
const HEADER_LEN: usize = 27;
const MAX_SEGMENTS: usize = 255;

/// The largest Ogg page: the 27-byte header, 255 lacing values and 255 × 255 bytes.
pub const MAX_OGG_PAGE_SIZE: usize = HEADER_LEN + MAX_SEGMENTS + MAX_SEGMENTS * 255;

/// The largest packet (audio or header) a reader reassembles or a writer accepts: 1 MiB.
/// Opus audio packets stay under 64 KiB even with many streams; the bound leaves room
/// for `OpusTags` with modest cover art. Larger is a [`FileProblem::TooLarge`] error.
pub const MAX_OGG_PACKET_SIZE: usize = 1024 * 1024;

/// The CRC lookup table: polynomial 0x04c11db7, most significant bit first.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut r = (i as u32) << 24;
        let mut bit = 0;
        while bit < 8 {
            r = if r & 0x8000_0000 != 0 {
                (r << 1) ^ 0x04c1_1db7
            } else {
                r << 1
            };
            bit += 1;
        }
        table[i] = r;
        i += 1;
    }
    table
};

/// The Ogg CRC-32 (RFC 3533 §6): polynomial 0x04c11db7, initial value 0, no reflection,
/// no final XOR; over a whole page with its CRC field zeroed.
pub fn ogg_crc32(data: &[u8]) -> u32 {
    crc_update(0, data)
}

fn crc_update(mut crc: u32, data: &[u8]) -> u32 {
    for &byte in data {
        crc = (crc << 8) ^ CRC_TABLE[((crc >> 24) as u8 ^ byte) as usize];
    }
    crc
}

/// One page, as read or to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page {
    pub(crate) flags: u8,
    pub(crate) granule: u64,
    pub(crate) serial: u32,
    pub(crate) sequence: u32,
    pub(crate) lacing: Vec<u8>,
    pub(crate) body: Vec<u8>,
}

impl Page {
    pub(crate) fn serialize(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.lacing.len() + self.body.len());
        out.extend_from_slice(CAPTURE_PATTERN);
        out.push(0);
        out.push(self.flags);
        out.extend_from_slice(&self.granule.to_le_bytes());
        out.extend_from_slice(&self.serial.to_le_bytes());
        out.extend_from_slice(&self.sequence.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.push(self.lacing.len() as u8);
        out.extend_from_slice(&self.lacing);
        out.extend_from_slice(&self.body);
        let crc = ogg_crc32(&out);
        out[22..26].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// The next page, `None` at a clean end of the input. Checks the capture pattern,
    /// the version and the CRC.
    pub(crate) fn read<R: Read>(source: &mut Source<R>) -> Result<Option<(u64, Self)>, Error> {
        let at = source.offset();
        let mut header = [0u8; HEADER_LEN];
        if !source.read_record(&mut header, "page header")? {
            return Ok(None);
        }
        if &header[0..4] != CAPTURE_PATTERN {
            return Err(source.error_at(at, FileProblem::BadSignature));
        }
        if header[4] != 0 {
            return Err(source.error_at(at + 4, FileProblem::UnsupportedVersion(header[4].into())));
        }
        let mut lacing = vec![0u8; usize::from(header[26])];
        source.read_exact(&mut lacing, "segment table")?;
        let body_len = lacing.iter().map(|&v| usize::from(v)).sum();
        // At most 65 025 bytes: the page format bounds it.
        let body = source.read_vec(body_len, "page body")?;
        let stored = u32::from_le_bytes([header[22], header[23], header[24], header[25]]);
        header[22..26].fill(0);
        let computed = crc_update(crc_update(crc_update(0, &header), &lacing), &body);
        if stored != computed {
            return Err(source.error_at(at + 22, FileProblem::BadCrc { stored, computed }));
        }
        let u32_at =
            |i: usize| u32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
        let mut granule = [0u8; 8];
        granule.copy_from_slice(&header[6..14]);
        Ok(Some((
            at,
            Self {
                flags: header[5],
                granule: u64::from_le_bytes(granule),
                serial: u32_at(14),
                sequence: u32_at(18),
                lacing,
                body,
            },
        )))
    }

    /// The page's packet pieces in order, each with whether it ends its packet here.
    pub(crate) fn pieces(&self) -> Vec<(&[u8], bool)> {
        let mut pieces = Vec::new();
        let mut start = 0;
        let mut end = 0;
        for &value in &self.lacing {
            end += usize::from(value);
            if value < 255 {
                pieces.push((&self.body[start..end], true));
                start = end;
            }
        }
        if self.lacing.last() == Some(&255) {
            pieces.push((&self.body[start..end], false));
        }
        pieces
    }
}

/// Lays `packets` (each with the granule position at its end) out over pages: up to 255
/// lacing values a page, a packet continuing on the next page when it does not fit.
/// `first_sequence` numbers the pages; `first_flags` goes on the first page (beginning
/// of stream), `last_flags` on the last (end of stream).
pub(crate) fn paginate(
    packets: &[(&[u8], u64)],
    serial: u32,
    first_sequence: u32,
    first_flags: u8,
    last_flags: u8,
) -> Vec<Page> {
    // Lacing values, each with the packet it belongs to and whether it ends it.
    let mut values: Vec<(u8, usize, bool)> = Vec::new();
    for (index, (packet, _)) in packets.iter().enumerate() {
        for _ in 0..packet.len() / 255 {
            values.push((255, index, false));
        }
        values.push(((packet.len() % 255) as u8, index, true));
    }
    let mut pages = Vec::new();
    let mut offsets: Vec<usize> = vec![0; packets.len()];
    let mut continued = false;
    for (page_index, chunk) in values.chunks(MAX_SEGMENTS).enumerate() {
        let mut body = Vec::new();
        let mut granule = NO_GRANULE;
        for &(value, packet, ends) in chunk {
            let data = packets[packet].0;
            let from = offsets[packet];
            body.extend_from_slice(&data[from..from + usize::from(value)]);
            offsets[packet] += usize::from(value);
            if ends {
                granule = packets[packet].1;
            }
        }
        let mut flags = if continued { CONTINUED } else { 0 };
        if page_index == 0 {
            flags |= first_flags;
        }
        pages.push(Page {
            flags,
            granule,
            serial,
            sequence: first_sequence.wrapping_add(page_index as u32),
            lacing: chunk.iter().map(|&(value, _, _)| value).collect(),
            body,
        });
        continued = chunk.last().is_some_and(|&(_, _, ends)| !ends);
    }
    if pages.is_empty() {
        pages.push(Page {
            flags: first_flags,
            granule: 0,
            serial,
            sequence: first_sequence,
            lacing: Vec::new(),
            body: Vec::new(),
        });
    }
    if let Some(last) = pages.last_mut() {
        last.flags |= last_flags;
    }
    pages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crc_matches_the_ogg_check_value() {
        // CRC-32/MPEG-2 differs only in its initial value; with init 0 and no final XOR
        // (CRC-32/CKSUM without its length suffix and XOR) "123456789" gives 0x89a1897f.
        assert_eq!(ogg_crc32(b"123456789"), 0x89a1_897f);
        assert_eq!(ogg_crc32(b""), 0);
    }

    #[test]
    fn packets_of_255_bytes_end_with_a_zero_lacing_value() {
        let packet = vec![7u8; 510];
        let pages = paginate(&[(&packet, 960)], 1, 0, 0, 0);
        assert_eq!(pages.len(), 1);
        assert_eq!(pages[0].lacing, [255, 255, 0]);
        assert_eq!(pages[0].pieces(), [(&packet[..], true)]);
    }

    #[test]
    fn a_large_packet_spans_pages_with_the_continuation_flag() {
        let big = vec![1u8; 255 * 300 + 3];
        let small = [2u8; 10];
        let pages = paginate(
            &[(&big, 100), (&small, 200)],
            9,
            5,
            BEGINNING_OF_STREAM,
            END_OF_STREAM,
        );
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[0].flags, BEGINNING_OF_STREAM);
        assert_eq!(
            pages[0].granule, NO_GRANULE,
            "no packet ends on the first page"
        );
        assert_eq!(pages[0].pieces(), [(&big[..255 * 255], false)]);
        assert_eq!(pages[1].flags, CONTINUED | END_OF_STREAM);
        assert_eq!(pages[1].sequence, 6);
        assert_eq!(pages[1].granule, 200);
        assert_eq!(
            pages[1].pieces(),
            [(&big[255 * 255..], true), (&small[..], true)]
        );
    }

    #[test]
    fn pages_read_back_and_a_flipped_bit_fails_the_crc() {
        let pages = paginate(&[(b"hello", 1)], 3, 0, BEGINNING_OF_STREAM, 0);
        let wire = pages[0].serialize();
        let mut source = Source::new(wire.as_slice(), "Ogg");
        let (_, page) = Page::read(&mut source).unwrap().unwrap();
        assert_eq!(page, pages[0]);
        let mut corrupt = wire;
        corrupt[30] ^= 1;
        let error = Page::read(&mut Source::new(corrupt.as_slice(), "Ogg")).unwrap_err();
        assert!(matches!(
            error,
            Error::MalformedFile {
                offset: 22,
                problem: FileProblem::BadCrc { .. },
                ..
            }
        ));
    }
}
