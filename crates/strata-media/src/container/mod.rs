//! Media files for recording a call and playing files into one: IVF for VP8, VP9 (and
//! AV1 on the reading side) and Ogg/Opus for Opus.
//!
//! Writers write to any [`Write`](std::io::Write) (+ [`Seek`](std::io::Seek) for IVF, whose header is
//! patched when the file is finished); readers read from any [`Read`]. Nothing here reads
//! a clock, spawns a task or draws a random number: an Ogg stream's serial number is an
//! input.
//!
//! ```
//! use std::io::Cursor;
//! use strata_media::container::{
//!     IvfFourcc, IvfHeader, IvfReader, IvfWriter, OggOpusConfig, OggOpusReader, OggOpusWriter,
//! };
//!
//! // Three VP8 frames, 33 ms apart on the 90 kHz RTP clock, starting just before the
//! // 32-bit RTP timestamp wraps.
//! let mut video = IvfWriter::new(Cursor::new(Vec::new()), IvfHeader::for_rtp(IvfFourcc::Vp8))?;
//! for (i, rtp_timestamp) in [u32::MAX - 1000, 1999, 4999].into_iter().enumerate() {
//!     video.write_rtp_frame(rtp_timestamp, &[0x10, i as u8, 0x9d, 0x01, 0x2a])?;
//! }
//! let file = video.finish()?.into_inner();
//!
//! let mut reader = IvfReader::new(file.as_slice())?;
//! assert_eq!(reader.header().frame_count, 3);
//! let mut timestamps = Vec::new();
//! while let Some(frame) = reader.next_frame()? {
//!     timestamps.push(frame.timestamp);
//! }
//! assert_eq!(timestamps, [0, 3000, 6000]);
//!
//! // Two 20 ms Opus packets (TOC 0x78: CELT fullband, one 20 ms frame), with a lost
//! // packet between them: the granule positions keep the gap.
//! let mut audio = OggOpusWriter::new(Vec::new(), OggOpusConfig::new(0x5EED))?;
//! audio.write_rtp_packet(48_000, &[0x78, 1, 2, 3])?;
//! audio.write_rtp_packet(48_000 + 2 * 960, &[0x78, 4, 5, 6])?;
//! let file = audio.finish()?;
//!
//! let mut reader = OggOpusReader::new(file.as_slice())?;
//! let first = reader.next_packet()?.expect("a packet");
//! let second = reader.next_packet()?.expect("a packet");
//! assert_eq!((first.start, first.duration), (0, 960));
//! assert_eq!((second.start, &second.data[..]), (1920, &[0x78, 4, 5, 6][..]));
//! assert!(reader.next_packet()?.is_none());
//! # Ok::<(), strata_media::Error>(())
//! ```
//!
//! [`Recorder`] sends the [`MediaData`](crate::MediaData) of one audio and one video track
//! to the right writer; [`IvfPlayer`] and [`OggOpusPlayer`] turn files back into
//! [`Sample`](crate::Sample)s for [`MediaSession::write_sample`](crate::MediaSession::write_sample).
//!
//! # Bounded resources
//!
//! A reader never allocates more than [`MAX_IVF_FRAME_SIZE`] for an IVF frame or
//! [`MAX_OGG_PACKET_SIZE`] for an Ogg packet (pages are bounded by the format at 65 307
//! bytes); larger declared sizes are [`FileProblem::TooLarge`]
//! errors. Writers keep at most one page of packets
//! ([`OggOpusConfig::packets_per_page`]) before writing it out.
//!
//! # Where this departs from the specifications
//!
//! - The Ogg/Opus reader accepts a first audio page whose granule position is smaller
//!   than the samples of its packets (RFC 7845 §4 says to reject the stream) and starts
//!   its packets at 0: the Ogg writers of webrtc-rs and Pion start granule positions at 1,
//!   and their recordings are common. It also accepts an `OpusTags` packet whose lengths
//!   run past its end (webrtc-rs writes a vendor length of 10 before a 9-byte vendor),
//!   reporting it through [`OpusTags::complete`]; the audio is intact.
//! - A page repeated with the previous page's sequence number is skipped, and a gap in
//!   page sequence numbers drops the packet cut by it; both are counted
//!   ([`OggReadStats`]). webrtc-rs's writer repeats its last page as the end-of-stream
//!   page.

use std::io::Read;

use crate::{Error, FileProblem};

mod ivf;
mod ogg;
mod opus;
mod player;
mod recorder;

pub use ivf::{IvfFourcc, IvfFrame, IvfHeader, IvfReader, IvfWriter, MAX_IVF_FRAME_SIZE};
pub use ogg::{MAX_OGG_PACKET_SIZE, MAX_OGG_PAGE_SIZE, ogg_crc32};
pub use opus::{
    ChannelMapping, OggOpusConfig, OggOpusPacket, OggOpusReader, OggOpusWriter, OggReadStats,
    OpusHead, OpusTags, opus_packet_samples,
};
pub use player::{IvfPlayer, OggOpusPlayer, PlayedSample};
pub use recorder::{Recorder, RecorderStats};

/// Extends 32-bit RTP timestamps to 64 bits: each timestamp is taken as the extension
/// closest to the highest seen so far, so the 2^32 wrap (13 hours at 90 kHz, 25 hours at
/// 48 kHz) moves forward and a timestamp slightly behind stays behind.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TimestampUnwrapper {
    highest: Option<u64>,
}

impl TimestampUnwrapper {
    /// The extended value of `timestamp`. The first is placed one cycle up, so that
    /// timestamps before it stay positive.
    pub(crate) fn unwrap(&mut self, timestamp: u32) -> u64 {
        let value = match self.highest {
            None => (1 << 32) + u64::from(timestamp),
            Some(highest) => {
                let delta = timestamp.wrapping_sub(highest as u32) as i32;
                highest.saturating_add_signed(i64::from(delta))
            }
        };
        if self.highest.is_none_or(|h| value > h) {
            self.highest = Some(value);
        }
        value
    }
}

/// A reader that counts its offset and tells a clean end from a truncation.
#[derive(Debug)]
pub(crate) struct Source<R> {
    inner: R,
    offset: u64,
    format: &'static str,
}

impl<R: Read> Source<R> {
    pub(crate) fn new(inner: R, format: &'static str) -> Self {
        Self {
            inner,
            offset: 0,
            format,
        }
    }

    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    pub(crate) fn into_inner(self) -> R {
        self.inner
    }

    /// A malformed-input error at `offset`.
    pub(crate) fn error_at(&self, offset: u64, problem: FileProblem) -> Error {
        Error::MalformedFile {
            format: self.format,
            offset,
            problem,
        }
    }

    /// Reads as much of `buf` as the input holds; returns how many bytes that was.
    fn fill(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.inner.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => {
                    filled += n;
                    self.offset += n as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(filled)
    }

    /// Fills `buf` with the next record's start: `Ok(false)` at a clean end (no byte
    /// left), a truncation error when the input ends inside it.
    pub(crate) fn read_record(
        &mut self,
        buf: &mut [u8],
        what: &'static str,
    ) -> Result<bool, Error> {
        match self.fill(buf)? {
            0 => Ok(false),
            n if n == buf.len() => Ok(true),
            _ => Err(self.error_at(self.offset, FileProblem::Truncated(what))),
        }
    }

    /// Fills `buf`; the input ending first is a truncation.
    pub(crate) fn read_exact(&mut self, buf: &mut [u8], what: &'static str) -> Result<(), Error> {
        if self.fill(buf)? == buf.len() {
            Ok(())
        } else {
            Err(self.error_at(self.offset, FileProblem::Truncated(what)))
        }
    }

    /// Reads `len` bytes. The first [`EAGER_READ`] bytes are allocated at once; beyond
    /// that the vector doubles only as data keeps arriving, so a declared size larger than
    /// the input allocates at most twice what the input holds.
    pub(crate) fn read_vec(&mut self, len: usize, what: &'static str) -> Result<Vec<u8>, Error> {
        let mut data = vec![0u8; len.min(EAGER_READ)];
        let mut filled = 0;
        loop {
            filled += self.fill(&mut data[filled..])?;
            if filled < data.len() {
                return Err(self.error_at(self.offset, FileProblem::Truncated(what)));
            }
            if filled == len {
                return Ok(data);
            }
            data.resize((filled * 2).min(len), 0);
        }
    }
}

/// How much of a declared size a reader allocates before the data is there: 1 MiB.
const EAGER_READ: usize = 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_unwrap_forward_across_the_32_bit_wrap() {
        let mut unwrapper = TimestampUnwrapper::default();
        let first = unwrapper.unwrap(u32::MAX - 10);
        assert_eq!(unwrapper.unwrap(5) - first, 16);
        assert_eq!(
            unwrapper.unwrap(u32::MAX) - first,
            10,
            "behind stays behind"
        );
        assert_eq!(unwrapper.unwrap(100) - first, 111);
    }

    #[test]
    fn a_source_tells_a_clean_end_from_a_truncation() {
        let mut source = Source::new(&[1u8, 2, 3][..], "test");
        let mut two = [0u8; 2];
        assert!(source.read_record(&mut two, "record").unwrap());
        let error = source.read_record(&mut two, "record").unwrap_err();
        assert!(matches!(
            error,
            Error::MalformedFile {
                offset: 3,
                problem: FileProblem::Truncated("record"),
                ..
            }
        ));
        assert!(!source.read_record(&mut two, "record").unwrap());
    }
}
