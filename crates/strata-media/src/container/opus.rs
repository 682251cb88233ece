//! Ogg/Opus files (RFC 7845): the `OpusHead` and `OpusTags` header packets, granule
//! positions in 48 kHz samples, the writer and the reader.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::num::NonZeroU8;

use bytes::Bytes;

use super::ogg::{
    BEGINNING_OF_STREAM, CONTINUED, END_OF_STREAM, MAX_OGG_PACKET_SIZE, Page, paginate,
};
use super::{Source, TimestampUnwrapper};
use crate::{Error, FileProblem};

const FORMAT: &str = "Ogg/Opus";
const HEAD_MAGIC: &[u8; 8] = b"OpusHead";
const TAGS_MAGIC: &[u8; 8] = b"OpusTags";
/// RFC 6716 §3.2.5: no packet lasts more than 120 ms (5760 samples at 48 kHz).
const MAX_PACKET_SAMPLES: u32 = 5760;

/// How many 48 kHz samples an Opus packet decodes to, from its TOC byte (RFC 6716 §3.1):
/// the frame size of its configuration times its frame count.
pub fn opus_packet_samples(packet: &[u8]) -> Result<u32, FileProblem> {
    let Some(&toc) = packet.first() else {
        return Err(FileProblem::BadOpusPacket("empty packet"));
    };
    let config = toc >> 3;
    let frame = match config {
        // SILK-only: 10, 20, 40, 60 ms.
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)],
        // Hybrid: 10, 20 ms.
        12..=15 => [480, 960][usize::from(config % 2)],
        // CELT-only: 2.5, 5, 10, 20 ms.
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    };
    let frames = match toc & 0x03 {
        0 => 1,
        1 | 2 => 2,
        _ => {
            let Some(&count) = packet.get(1) else {
                return Err(FileProblem::BadOpusPacket(
                    "code 3 packet without a frame count",
                ));
            };
            u32::from(count & 0x3F)
        }
    };
    let samples = frame * frames;
    if samples == 0 {
        return Err(FileProblem::BadOpusPacket("code 3 packet with zero frames"));
    }
    if samples > MAX_PACKET_SAMPLES {
        return Err(FileProblem::BadOpusPacket("longer than 120 ms"));
    }
    Ok(samples)
}

/// The identification header (RFC 7845 §5.1).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |      'O'      |      'p'      |      'u'      |      's'      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |      'H'      |      'e'      |      'a'      |      'd'      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Version = 1  | Channel Count |           Pre-skip            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                     Input Sample Rate (Hz)                    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   Output Gain (Q7.8 in dB)    | Mapping Family|               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+               :
/// :               Optional Channel Mapping Table...               :
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpusHead {
    /// The version; major version 0 (values 0 to 15) is what RFC 7845 defines.
    pub version: u8,
    /// Output channels (1 or 2 for mapping family 0).
    pub channels: u8,
    /// Samples (48 kHz) to discard from the decoder's output at the start.
    pub pre_skip: u16,
    /// The sample rate of the original input (informational; Opus decodes at 48 kHz).
    pub input_sample_rate: u32,
    /// Gain to apply to the output, Q7.8 dB.
    pub output_gain: i16,
    /// The channel mapping family (0: mono or stereo in one stream).
    pub mapping_family: u8,
    /// For families other than 0: streams, coupled streams, and one mapping per channel.
    pub mapping: Option<ChannelMapping>,
}

/// The channel mapping table of an `OpusHead` whose family is not 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelMapping {
    /// Opus streams in each packet.
    pub stream_count: u8,
    /// How many of them are stereo.
    pub coupled_count: u8,
    /// For each output channel, the decoded channel it takes (255: silence).
    pub mapping: Vec<u8>,
}

impl OpusHead {
    fn serialize(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(19);
        out.extend_from_slice(HEAD_MAGIC);
        out.push(self.version);
        out.push(self.channels);
        out.extend_from_slice(&self.pre_skip.to_le_bytes());
        out.extend_from_slice(&self.input_sample_rate.to_le_bytes());
        out.extend_from_slice(&self.output_gain.to_le_bytes());
        out.push(self.mapping_family);
        if let Some(mapping) = &self.mapping {
            out.push(mapping.stream_count);
            out.push(mapping.coupled_count);
            out.extend_from_slice(&mapping.mapping);
        }
        out
    }

    fn parse(packet: &[u8]) -> Result<Self, &'static str> {
        if packet.len() < 19 || &packet[..8] != HEAD_MAGIC {
            return Err("no OpusHead magic and 19-byte header");
        }
        let version = packet[8];
        if version >> 4 != 0 {
            return Err("major version other than 0");
        }
        let channels = packet[9];
        if channels == 0 {
            return Err("zero channels");
        }
        let mapping_family = packet[18];
        let mapping = if mapping_family == 0 {
            if channels > 2 {
                return Err("more than 2 channels in mapping family 0");
            }
            None
        } else {
            if mapping_family == 1 && channels > 8 {
                return Err("more than 8 channels in mapping family 1");
            }
            let table = &packet[19..];
            let [stream_count, coupled_count, ref mapping @ ..] = *table else {
                return Err("channel mapping table cut short");
            };
            if mapping.len() < usize::from(channels) {
                return Err("channel mapping table cut short");
            }
            let decoded = u16::from(stream_count) + u16::from(coupled_count);
            if stream_count == 0 || coupled_count > stream_count || decoded > 255 {
                return Err("bad stream or coupled stream count");
            }
            let mapping = mapping[..usize::from(channels)].to_vec();
            if mapping.iter().any(|&m| m != 255 && u16::from(m) >= decoded) {
                return Err("channel mapping beyond the decoded channels");
            }
            Some(ChannelMapping {
                stream_count,
                coupled_count,
                mapping,
            })
        };
        Ok(Self {
            version,
            channels,
            pre_skip: u16::from_le_bytes([packet[10], packet[11]]),
            input_sample_rate: u32::from_le_bytes([packet[12], packet[13], packet[14], packet[15]]),
            output_gain: i16::from_le_bytes([packet[16], packet[17]]),
            mapping_family,
            mapping,
        })
    }
}

/// The comment header (RFC 7845 §5.2): `OpusTags`, a vendor string and user comments
/// (`NAME=value`), each a 32-bit little-endian length and UTF-8 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OpusTags {
    /// The encoder or muxer that wrote the file.
    pub vendor: String,
    /// User comments, `NAME=value`.
    pub comments: Vec<String>,
    /// `false` when a length ran past the end of the packet: what came before it is
    /// kept, the rest is lost (the audio is unaffected).
    pub complete: bool,
}

impl OpusTags {
    fn serialize(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(TAGS_MAGIC);
        out.extend_from_slice(&(self.vendor.len() as u32).to_le_bytes());
        out.extend_from_slice(self.vendor.as_bytes());
        out.extend_from_slice(&(self.comments.len() as u32).to_le_bytes());
        for comment in &self.comments {
            out.extend_from_slice(&(comment.len() as u32).to_le_bytes());
            out.extend_from_slice(comment.as_bytes());
        }
        out
    }

    fn parse(packet: &[u8]) -> Result<Self, &'static str> {
        let Some(mut rest) = packet.strip_prefix(TAGS_MAGIC) else {
            return Err("no OpusTags magic");
        };
        let mut tags = Self::default();
        let string = |rest: &mut &[u8]| -> Option<String> {
            let (len, tail) = rest.split_first_chunk::<4>()?;
            let len = u32::from_le_bytes(*len) as usize;
            let bytes = tail.get(..len)?;
            *rest = &tail[len..];
            Some(String::from_utf8_lossy(bytes).into_owned())
        };
        let Some(vendor) = string(&mut rest) else {
            return Ok(tags);
        };
        tags.vendor = vendor;
        let Some((count, tail)) = rest.split_first_chunk::<4>() else {
            return Ok(tags);
        };
        rest = tail;
        let count = u32::from_le_bytes(*count);
        for _ in 0..count {
            let Some(comment) = string(&mut rest) else {
                return Ok(tags);
            };
            tags.comments.push(comment);
        }
        tags.complete = true;
        Ok(tags)
    }
}

/// How an [`OggOpusWriter`] writes its stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OggOpusConfig {
    /// The logical stream's serial number: pick it at random (RFC 3533 §6), so that
    /// streams chained or multiplexed later do not collide. An input: nothing here draws
    /// random numbers.
    pub serial: u32,
    /// Channels in `OpusHead` (WebRTC's `opus/48000/2` carries up to 2; default 2).
    pub channels: u8,
    /// Samples the player drops at the start. Default 3840 (80 ms), what RFC 7845 §4.6
    /// recommends for a decoder to converge when it starts in the middle of a stream,
    /// which a recording joined mid-call is.
    pub pre_skip: u16,
    /// The input sample rate recorded in `OpusHead` (default 48 000).
    pub input_sample_rate: u32,
    /// The vendor string in `OpusTags`.
    pub vendor: String,
    /// User comments in `OpusTags` (`NAME=value`).
    pub comments: Vec<String>,
    /// Audio packets per page (default 1). A page is written when it is full, when the
    /// next packet does not follow on in time (a gap keeps its own page, so its granule
    /// position tells the time), and at [`finish`](OggOpusWriter::finish); the last
    /// page's packets are held until then, so a process that dies loses at most one page.
    pub packets_per_page: NonZeroU8,
}

impl OggOpusConfig {
    /// Stereo, pre-skip 3840, one packet per page, with this serial number.
    pub fn new(serial: u32) -> Self {
        Self {
            serial,
            channels: 2,
            pre_skip: 3840,
            input_sample_rate: 48_000,
            vendor: String::from("strata"),
            comments: Vec::new(),
            packets_per_page: NonZeroU8::MIN,
        }
    }
}

/// Writes an Ogg/Opus stream.
///
/// The header pages (`OpusHead` alone on the beginning-of-stream page, then `OpusTags`)
/// are written by [`new`](Self::new). Audio packets carry their timing: either
/// contiguous ([`write_packet`](Self::write_packet)) or at their RTP timestamp
/// ([`write_rtp_packet`](Self::write_rtp_packet); Opus uses a 48 kHz RTP clock, the
/// granule position's unit), so lost packets leave a gap in granule positions and the
/// file keeps real time. [`finish`](Self::finish) writes the last page with the
/// end-of-stream flag.
#[derive(Debug)]
pub struct OggOpusWriter<W: Write> {
    out: W,
    serial: u32,
    packets_per_page: usize,
    next_sequence: u32,
    /// Packets of the page being filled, each with its end in samples.
    pending: Vec<(Vec<u8>, u64)>,
    /// The end of the audio so far, in samples since the stream's start.
    end: u64,
    unwrapper: TimestampUnwrapper,
    first_rtp: Option<u64>,
    packets: u64,
}

impl<W: Write> OggOpusWriter<W> {
    /// Writes the header pages.
    pub fn new(mut out: W, config: OggOpusConfig) -> Result<Self, Error> {
        if config.channels == 0 || config.channels > 2 {
            return Err(cannot("mapping family 0 carries 1 or 2 channels"));
        }
        let head = OpusHead {
            version: 1,
            channels: config.channels,
            pre_skip: config.pre_skip,
            input_sample_rate: config.input_sample_rate,
            output_gain: 0,
            mapping_family: 0,
            mapping: None,
        }
        .serialize();
        let tags = OpusTags {
            vendor: config.vendor,
            comments: config.comments,
            complete: true,
        }
        .serialize();
        if tags.len() > MAX_OGG_PACKET_SIZE {
            return Err(cannot("OpusTags larger than MAX_OGG_PACKET_SIZE"));
        }
        let mut next_sequence = 0;
        for (packet, flags) in [(head, BEGINNING_OF_STREAM), (tags, 0)] {
            for page in paginate(&[(&packet, 0)], config.serial, next_sequence, flags, 0) {
                out.write_all(&page.serialize())?;
                next_sequence += 1;
            }
        }
        Ok(Self {
            out,
            serial: config.serial,
            packets_per_page: usize::from(config.packets_per_page.get()),
            next_sequence,
            pending: Vec::new(),
            end: 0,
            unwrapper: TimestampUnwrapper::default(),
            first_rtp: None,
            packets: 0,
        })
    }

    /// Audio packets written (including those waiting for their page).
    pub fn packets_written(&self) -> u64 {
        self.packets
    }

    /// The end of the audio so far in 48 kHz samples: the granule position the last
    /// page will carry.
    pub fn granule_position(&self) -> u64 {
        self.end
    }

    /// Writes an Opus packet right after the previous one.
    pub fn write_packet(&mut self, packet: &[u8]) -> Result<(), Error> {
        self.write_packet_at(self.end, packet)
    }

    /// Writes an Opus packet carrying this 32-bit RTP timestamp (48 kHz): the first at
    /// 0, later ones at their distance from it, across the 2^32 wrap. A packet that
    /// starts before the previous one ends is refused.
    pub fn write_rtp_packet(&mut self, rtp_timestamp: u32, packet: &[u8]) -> Result<(), Error> {
        let extended = self.unwrapper.unwrap(rtp_timestamp);
        let first = *self.first_rtp.get_or_insert(extended);
        let Some(start) = extended.checked_sub(first) else {
            return Err(cannot("RTP timestamp before the first packet's"));
        };
        self.write_packet_at(start, packet)
    }

    /// Writes an Opus packet starting `start` samples (48 kHz) after the stream's start,
    /// at or after the previous packet's end.
    pub fn write_packet_at(&mut self, start: u64, packet: &[u8]) -> Result<(), Error> {
        if packet.len() > MAX_OGG_PACKET_SIZE {
            return Err(cannot("packet larger than MAX_OGG_PACKET_SIZE"));
        }
        let samples = opus_packet_samples(packet).map_err(|_| cannot("not a valid Opus packet"))?;
        if start < self.end {
            return Err(cannot("packet starts before the previous one ends"));
        }
        // Granule positions are signed 64-bit; the end must stay positive.
        let end = start
            .checked_add(u64::from(samples))
            .filter(|&end| i64::try_from(end).is_ok())
            .ok_or(cannot("granule position beyond 2^63 - 1"))?;
        if !self.pending.is_empty()
            && (start != self.end || self.pending.len() >= self.packets_per_page)
        {
            self.flush(0)?;
        }
        self.end = end;
        self.pending.push((packet.to_vec(), self.end));
        self.packets += 1;
        Ok(())
    }

    fn flush(&mut self, flags: u8) -> Result<(), Error> {
        let packets: Vec<(&[u8], u64)> = self
            .pending
            .iter()
            .map(|(p, end)| (p.as_slice(), *end))
            .collect();
        let pages = paginate(&packets, self.serial, self.next_sequence, 0, flags);
        for page in &pages {
            self.out.write_all(&page.serialize())?;
        }
        self.next_sequence = self.next_sequence.wrapping_add(pages.len() as u32);
        self.pending.clear();
        Ok(())
    }

    /// Writes the held packets on the last page, flagged end of stream (an empty page if
    /// no audio was written), flushes and returns the output.
    pub fn finish(mut self) -> Result<W, Error> {
        self.flush(END_OF_STREAM)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

fn cannot(problem: &'static str) -> Error {
    Error::CannotWrite {
        format: FORMAT,
        problem,
    }
}

/// One Opus packet read from an Ogg/Opus stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OggOpusPacket {
    /// The packet.
    pub data: Bytes,
    /// Where it starts, in 48 kHz samples since the stream's start (the granule
    /// position's scale: subtract [`OpusHead::pre_skip`] for the playback position).
    pub start: u64,
    /// The samples it decodes to (from its TOC byte).
    pub duration: u32,
    /// Samples to drop from the end of its decoded output: non-zero only on the last
    /// page, whose granule position may end the stream early (RFC 7845 §4.4).
    pub trim_end: u32,
}

/// What an [`OggOpusReader`] skipped or repaired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OggReadStats {
    /// Pages read (all streams).
    pub pages: u64,
    /// Pages of other logical streams, skipped.
    pub foreign_pages: u64,
    /// Pages repeating the previous page's sequence number, skipped.
    pub duplicate_pages: u64,
    /// Pages missing according to the sequence numbers.
    pub lost_pages: u64,
    /// Packets dropped because a missing page cut them.
    pub dropped_packets: u64,
    /// Samples the first audio page's granule position was short of its packets'
    /// duration, added to every later position (webrtc-rs and Pion recordings).
    pub granule_shift: u64,
}

/// Reads an Ogg/Opus stream packet by packet.
///
/// [`new`](Self::new) reads the header pages: the first page must begin the stream and
/// hold `OpusHead` alone, the next packet must be `OpusTags`, and audio must start on a
/// fresh page. Every page's capture pattern, version and CRC are checked. Pages of other
/// logical streams are skipped; reading stops at the end-of-stream page (data after it,
/// a chained stream, is not read). A stream whose writer died before its last page ends
/// where the data ends. Each audio packet comes with its start, computed back from the
/// granule position of the page it ends on, so gaps in the stream keep their time.
#[derive(Debug)]
pub struct OggOpusReader<R: Read> {
    source: Source<R>,
    serial: u32,
    head: OpusHead,
    tags: OpusTags,
    last_sequence: u32,
    /// A packet continuing on the next page.
    partial: Option<Vec<u8>>,
    /// The next page continues a packet that was dropped (after lost pages).
    skip_continuation: bool,
    ready: VecDeque<OggOpusPacket>,
    /// The end of the audio so far (granule scale, after `granule_shift`).
    end: u64,
    audio_started: bool,
    ended: bool,
    stats: OggReadStats,
}

impl<R: Read> OggOpusReader<R> {
    /// Reads and validates the header pages.
    pub fn new(input: R) -> Result<Self, Error> {
        let mut source = Source::new(input, FORMAT);
        let Some((at, first)) = Page::read(&mut source)? else {
            return Err(source.error_at(0, FileProblem::Truncated("first page")));
        };
        let bad_head = |problem| source.error_at(at, FileProblem::BadOpusHead(problem));
        if first.flags & BEGINNING_OF_STREAM == 0 || first.flags & CONTINUED != 0 {
            return Err(bad_head("the first page does not begin a stream"));
        }
        let pieces = first.pieces();
        let [(head, true)] = pieces.as_slice() else {
            return Err(bad_head("OpusHead is not alone on the first page"));
        };
        let head = OpusHead::parse(head).map_err(bad_head)?;
        let mut reader = Self {
            serial: first.serial,
            head,
            tags: OpusTags::default(),
            last_sequence: first.sequence,
            partial: None,
            skip_continuation: false,
            ready: VecDeque::new(),
            end: 0,
            audio_started: false,
            ended: first.flags & END_OF_STREAM != 0,
            stats: OggReadStats {
                pages: 1,
                ..OggReadStats::default()
            },
            source,
        };
        reader.read_tags()?;
        Ok(reader)
    }

    fn read_tags(&mut self) -> Result<(), Error> {
        let mut packet = Vec::new();
        loop {
            let Some((at, page)) = self.next_own_page()? else {
                let offset = self.source.offset();
                return Err(self
                    .source
                    .error_at(offset, FileProblem::Truncated("OpusTags")));
            };
            let bad = |problem| FileProblem::BadOpusTags(problem);
            if (page.flags & CONTINUED != 0) == packet.is_empty() {
                return Err(self.source.error_at(at, FileProblem::BadContinuation));
            }
            let pieces = page.pieces();
            let Some(((piece, complete), rest)) = pieces.split_first() else {
                continue;
            };
            packet.extend_from_slice(piece);
            if packet.len() > MAX_OGG_PACKET_SIZE {
                return Err(self.too_large(at, packet.len()));
            }
            if !complete {
                continue;
            }
            if !rest.is_empty() {
                return Err(self
                    .source
                    .error_at(at, bad("audio on the last header page")));
            }
            self.tags = OpusTags::parse(&packet).map_err(|p| self.source.error_at(at, bad(p)))?;
            if page.flags & END_OF_STREAM != 0 {
                self.ended = true;
            }
            return Ok(());
        }
    }

    fn too_large(&self, at: u64, size: usize) -> Error {
        self.source.error_at(
            at,
            FileProblem::TooLarge {
                what: "packet",
                size: size as u64,
                limit: MAX_OGG_PACKET_SIZE as u64,
            },
        )
    }

    /// The next page of our stream in sequence, skipping other streams and duplicates,
    /// counting lost pages.
    fn next_own_page(&mut self) -> Result<Option<(u64, Page)>, Error> {
        loop {
            let Some((at, page)) = Page::read(&mut self.source)? else {
                return Ok(None);
            };
            self.stats.pages += 1;
            if page.serial != self.serial {
                self.stats.foreign_pages += 1;
                continue;
            }
            if page.sequence == self.last_sequence {
                self.stats.duplicate_pages += 1;
                if page.flags & END_OF_STREAM != 0 {
                    self.ended = true;
                    return Ok(None);
                }
                continue;
            }
            if page.sequence < self.last_sequence {
                return Err(self.source.error_at(
                    at + 18,
                    FileProblem::PageSequenceBackwards {
                        previous: self.last_sequence,
                        found: page.sequence,
                    },
                ));
            }
            let lost = page.sequence - self.last_sequence - 1;
            self.last_sequence = page.sequence;
            if lost > 0 {
                self.stats.lost_pages += u64::from(lost);
                if self.partial.take().is_some() {
                    self.stats.dropped_packets += 1;
                }
                self.skip_continuation = page.flags & CONTINUED != 0;
            }
            return Ok(Some((at, page)));
        }
    }

    /// The `OpusHead` header.
    pub fn head(&self) -> &OpusHead {
        &self.head
    }

    /// The `OpusTags` header.
    pub fn tags(&self) -> &OpusTags {
        &self.tags
    }

    /// The stream's serial number.
    pub fn serial(&self) -> u32 {
        self.serial
    }

    /// What was skipped or repaired so far.
    pub fn stats(&self) -> OggReadStats {
        self.stats
    }

    /// The next audio packet, or `None` at the end of the stream.
    pub fn next_packet(&mut self) -> Result<Option<OggOpusPacket>, Error> {
        loop {
            if let Some(packet) = self.ready.pop_front() {
                return Ok(Some(packet));
            }
            if self.ended {
                return Ok(None);
            }
            let Some((at, page)) = self.next_own_page()? else {
                self.ended = true;
                return Ok(None);
            };
            self.read_audio_page(at, page)?;
        }
    }

    fn read_audio_page(&mut self, at: u64, mut page: Page) -> Result<(), Error> {
        let continued = page.flags & CONTINUED != 0;
        let mut pieces = page.pieces().into_iter();
        if std::mem::take(&mut self.skip_continuation) {
            // The first piece belongs to a packet whose start was lost.
            if pieces.next().is_some_and(|(_, complete)| complete) {
                self.stats.dropped_packets += 1;
            } else {
                self.skip_continuation = true;
            }
        } else if continued != self.partial.is_some() {
            return Err(self.source.error_at(at + 5, FileProblem::BadContinuation));
        }
        let mut completed: Vec<(Vec<u8>, u32)> = Vec::new();
        let whole_page = matches!(
            pieces.as_slice(),
            [(piece, true)] if self.partial.is_none() && piece.len() == page.body.len()
        );
        if whole_page {
            // One packet, the whole page (the common layout): keep the body, no copy.
            drop(pieces);
            let packet = std::mem::take(&mut page.body);
            let samples = opus_packet_samples(&packet).map_err(|p| self.source.error_at(at, p))?;
            completed.push((packet, samples));
            return self.place_completed(at, &page, completed);
        }
        for (piece, complete) in pieces {
            let mut packet = self.partial.take().unwrap_or_default();
            packet.extend_from_slice(piece);
            if packet.len() > MAX_OGG_PACKET_SIZE {
                return Err(self.too_large(at, packet.len()));
            }
            if !complete {
                self.partial = Some(packet);
                break;
            }
            let samples = opus_packet_samples(&packet).map_err(|p| self.source.error_at(at, p))?;
            completed.push((packet, samples));
        }
        self.place_completed(at, &page, completed)
    }

    /// Queues the packets completed on `page`, placed in time by its granule position.
    fn place_completed(
        &mut self,
        at: u64,
        page: &Page,
        completed: Vec<(Vec<u8>, u32)>,
    ) -> Result<(), Error> {
        if page.flags & END_OF_STREAM != 0 {
            self.ended = true;
        }
        if completed.is_empty() {
            return Ok(());
        }
        // Granule positions are signed 64-bit: -1 means none, other negatives are invalid.
        if page.granule > i64::MAX as u64 {
            return Err(self.source.error_at(at + 6, FileProblem::MissingGranule));
        }
        let total: u64 = completed.iter().map(|(_, s)| u64::from(*s)).sum();
        let mut granule = page.granule.saturating_add(self.stats.granule_shift);
        if !self.audio_started && granule < total && !self.ended {
            self.stats.granule_shift = total - granule;
            granule = total;
        }
        self.audio_started = true;
        let (mut start, mut trim) = match granule.checked_sub(total) {
            Some(start) if start >= self.end => (start, 0),
            // The last page may end the stream before its packets do (RFC 7845 §4.4).
            _ if self.ended && granule >= self.end => (self.end, total - (granule - self.end)),
            _ => {
                return Err(self.source.error_at(
                    at + 6,
                    FileProblem::GranuleBackwards {
                        previous: self.end,
                        found: page.granule,
                    },
                ));
            }
        };
        let first_new = self.ready.len();
        for (data, duration) in completed {
            self.ready.push_back(OggOpusPacket {
                data: Bytes::from(data),
                start,
                duration,
                trim_end: 0,
            });
            start += u64::from(duration);
        }
        // Trimming takes samples from the end, packet by packet.
        for packet in self.ready.iter_mut().skip(first_new).rev() {
            if trim == 0 {
                break;
            }
            let cut = trim.min(u64::from(packet.duration));
            packet.trim_end = cut as u32;
            trim -= cut;
        }
        self.end = granule;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// TOC 0x78: CELT fullband 20 ms, one frame.
    fn packet(tag: u8) -> Vec<u8> {
        vec![0x78, tag, tag, tag]
    }

    fn read_all(file: &[u8]) -> Result<Vec<OggOpusPacket>, Error> {
        let mut reader = OggOpusReader::new(file)?;
        let mut packets = Vec::new();
        while let Some(packet) = reader.next_packet()? {
            packets.push(packet);
        }
        Ok(packets)
    }

    fn problem(error: &Error) -> FileProblem {
        match error {
            Error::MalformedFile { problem, .. } => *problem,
            other => panic!("expected a malformed-file error, got {other}"),
        }
    }

    #[test]
    fn toc_bytes_give_packet_durations() {
        assert_eq!(opus_packet_samples(&[0x78]), Ok(960));
        assert_eq!(opus_packet_samples(&[0x08]), Ok(960)); // SILK NB 20 ms
        assert_eq!(opus_packet_samples(&[0x18]), Ok(2880)); // SILK NB 60 ms
        assert_eq!(opus_packet_samples(&[0x79]), Ok(1920)); // two frames
        assert_eq!(opus_packet_samples(&[0x7B, 0x03]), Ok(2880)); // code 3, 3 frames
        assert!(opus_packet_samples(&[0x7B, 0x07]).is_err(), "140 ms");
        assert!(opus_packet_samples(&[0x7B, 0x00]).is_err(), "zero frames");
        assert!(opus_packet_samples(&[0x7B]).is_err(), "count byte missing");
        assert!(opus_packet_samples(&[]).is_err());
    }

    #[test]
    fn packets_round_trip_with_their_times_and_headers() {
        let mut config = OggOpusConfig::new(42);
        config.comments = vec!["TITLE=call".into()];
        let mut writer = OggOpusWriter::new(Vec::new(), config).unwrap();
        for i in 0..5 {
            writer.write_packet(&packet(i)).unwrap();
        }
        let file = writer.finish().unwrap();
        let mut reader = OggOpusReader::new(file.as_slice()).unwrap();
        assert_eq!(reader.head().channels, 2);
        assert_eq!(reader.head().pre_skip, 3840);
        assert_eq!(reader.tags().vendor, "strata");
        assert_eq!(reader.tags().comments, ["TITLE=call"]);
        assert!(reader.tags().complete);
        assert_eq!(reader.serial(), 42);
        let mut got = Vec::new();
        while let Some(p) = reader.next_packet().unwrap() {
            got.push(p);
        }
        assert_eq!(got.len(), 5);
        for (i, p) in got.iter().enumerate() {
            assert_eq!(p.data, packet(i as u8));
            assert_eq!(p.start, 960 * i as u64);
            assert_eq!((p.duration, p.trim_end), (960, 0));
        }
        assert_eq!(reader.stats().pages, 2 + 5);
    }

    #[test]
    fn several_packets_per_page_break_at_gaps_and_at_a_full_page() {
        let mut config = OggOpusConfig::new(7);
        config.packets_per_page = NonZeroU8::new(3).unwrap();
        let mut writer = OggOpusWriter::new(Vec::new(), config).unwrap();
        let stamps = [0u32, 960, 1920, 2880, 3840, 9600, 10_560];
        for (i, stamp) in stamps.iter().enumerate() {
            writer
                .write_rtp_packet(1_000_000 + stamp, &packet(i as u8))
                .unwrap();
        }
        let file = writer.finish().unwrap();
        let mut reader = OggOpusReader::new(file.as_slice()).unwrap();
        let mut starts = Vec::new();
        while let Some(p) = reader.next_packet().unwrap() {
            starts.push(p.start);
        }
        assert_eq!(starts, stamps.map(u64::from));
        // Pages: [0 1 2] [3 4] (gap) [5 6 + end of stream].
        assert_eq!(reader.stats().pages, 2 + 3);
    }

    #[test]
    fn the_last_page_carries_the_end_of_stream_flag() {
        let mut writer = OggOpusWriter::new(Vec::new(), OggOpusConfig::new(1)).unwrap();
        writer.write_packet(&packet(1)).unwrap();
        writer.write_packet(&packet(2)).unwrap();
        let file = writer.finish().unwrap();
        let mut source = Source::new(file.as_slice(), FORMAT);
        let mut flags = Vec::new();
        while let Some((_, page)) = Page::read(&mut source).unwrap() {
            flags.push((page.flags, page.sequence, page.granule));
        }
        assert_eq!(
            flags,
            [
                (BEGINNING_OF_STREAM, 0, 0),
                (0, 1, 0),
                (0, 2, 960),
                (END_OF_STREAM, 3, 1920)
            ]
        );
    }

    #[test]
    fn a_stream_without_audio_ends_with_an_empty_page() {
        let file = OggOpusWriter::new(Vec::new(), OggOpusConfig::new(1))
            .unwrap()
            .finish()
            .unwrap();
        assert!(read_all(&file).unwrap().is_empty());
    }

    #[test]
    fn a_packet_larger_than_a_page_spans_pages() {
        // Code 3, one frame, then padding-sized content: the container does not care.
        let mut big = vec![0x7B, 0x01];
        big.resize(200_000, 0xAB);
        let mut writer = OggOpusWriter::new(Vec::new(), OggOpusConfig::new(1)).unwrap();
        writer.write_packet(&packet(1)).unwrap();
        writer.write_packet(&big).unwrap();
        writer.write_packet(&packet(2)).unwrap();
        let file = writer.finish().unwrap();
        let got = read_all(&file).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].data, big);
        assert_eq!(got[2].start, 1920);
    }

    #[test]
    fn the_end_of_stream_page_may_trim_the_last_packet() {
        let mut writer = OggOpusWriter::new(Vec::new(), OggOpusConfig::new(1)).unwrap();
        writer.write_packet(&packet(1)).unwrap();
        writer.write_packet(&packet(2)).unwrap();
        let mut file = writer.finish().unwrap();
        // Rewrite the last page's granule to end 100 samples early.
        let last = file.len() - (27 + 1 + 4);
        file[last + 6..last + 14].copy_from_slice(&1820u64.to_le_bytes());
        file[last + 22..last + 26].fill(0);
        let crc = super::super::ogg_crc32(&file[last..]);
        file[last + 22..last + 26].copy_from_slice(&crc.to_le_bytes());
        let got = read_all(&file).unwrap();
        assert_eq!(got[1].start, 960);
        assert_eq!(got[1].trim_end, 100);
    }

    #[test]
    fn a_first_page_short_of_its_packets_shifts_later_granules() {
        // What webrtc-rs's writer produces: the first audio page at granule 1.
        let mut file = Vec::new();
        let head = OpusHead {
            version: 1,
            channels: 2,
            pre_skip: 0,
            input_sample_rate: 48_000,
            output_gain: 0,
            mapping_family: 0,
            mapping: None,
        };
        let mut sequence = 0;
        let mut page = |packet: &[u8], granule: u64, flags: u8| {
            for p in paginate(&[(packet, granule)], 5, sequence, flags, 0) {
                file.extend_from_slice(&p.serialize());
            }
            sequence += 1;
        };
        page(&head.serialize(), 0, BEGINNING_OF_STREAM);
        page(b"OpusTags\x0a\x00\x00\x00WebRTC.rs\x00\x00\x00\x00", 0, 0);
        page(&packet(1), 1, 0);
        page(&packet(2), 961, 0);
        page(&packet(3), 1921, 0);
        let mut reader = OggOpusReader::new(file.as_slice()).unwrap();
        assert!(
            !reader.tags().complete,
            "vendor length runs past the packet"
        );
        assert_eq!(
            reader.tags().vendor,
            "WebRTC.rs\0",
            "the count's first byte"
        );
        let mut starts = Vec::new();
        while let Some(p) = reader.next_packet().unwrap() {
            starts.push(p.start);
        }
        assert_eq!(starts, [0, 960, 1920]);
        assert_eq!(reader.stats().granule_shift, 959);
    }

    #[test]
    fn writer_refuses_invalid_packets_and_backwards_timestamps() {
        let mut writer = OggOpusWriter::new(Vec::new(), OggOpusConfig::new(1)).unwrap();
        assert!(matches!(
            writer.write_packet(&[]),
            Err(Error::CannotWrite { .. })
        ));
        writer.write_rtp_packet(10_000, &packet(1)).unwrap();
        assert!(matches!(
            writer.write_rtp_packet(10_500, &packet(2)),
            Err(Error::CannotWrite { .. })
        ));
        assert!(matches!(
            writer.write_rtp_packet(5_000, &packet(2)),
            Err(Error::CannotWrite { .. })
        ));
        assert_eq!(writer.packets_written(), 1);
    }

    #[test]
    fn opus_head_validation_follows_rfc_7845() {
        let good = OpusHead {
            version: 1,
            channels: 6,
            pre_skip: 312,
            input_sample_rate: 44_100,
            output_gain: -256,
            mapping_family: 1,
            mapping: Some(ChannelMapping {
                stream_count: 4,
                coupled_count: 2,
                mapping: vec![0, 4, 1, 2, 3, 5],
            }),
        };
        assert_eq!(OpusHead::parse(&good.serialize()), Ok(good.clone()));
        let mut bad = good.clone();
        bad.version = 16;
        assert!(OpusHead::parse(&bad.serialize()).is_err());
        let mut bad = good.clone();
        bad.mapping.as_mut().unwrap().mapping[0] = 6;
        assert!(OpusHead::parse(&bad.serialize()).is_err());
        let mut bad = good;
        bad.mapping_family = 0;
        bad.mapping = None;
        assert!(
            OpusHead::parse(&bad.serialize()).is_err(),
            "6 channels in family 0"
        );
        let mut short = OggOpusWriter::new(Vec::new(), OggOpusConfig::new(1))
            .unwrap()
            .out;
        short.truncate(20);
        assert!(matches!(
            problem(&OggOpusReader::new(short.as_slice()).unwrap_err()),
            FileProblem::Truncated(_)
        ));
    }
}
