//! Playing files into a call: IVF frames and Ogg/Opus packets as [`Sample`]s.

use std::io::Read;
use std::time::Duration;

use super::{IvfFrame, IvfReader, OggOpusReader};
use crate::{Codec, Error, Sample, SampleTiming};

/// The frame interval assumed for a one-frame IVF file: 1/30 s on the 90 kHz clock.
const DEFAULT_FRAME_TICKS: u64 = 3000;

/// A sample read from a file, with when it plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayedSample {
    /// The sample for [`MediaSession::write_sample`](crate::MediaSession::write_sample),
    /// timed [`SampleTiming::RtpTime`] at its exact place in the file (in the codec's
    /// clock, from the file's first sample), so gaps and variable frame rates survive.
    pub sample: Sample,
    /// When it plays, from the file's first sample: pace sending by this.
    pub at: Duration,
    /// How long it lasts: until the next sample (video), or its decoded length (audio).
    pub duration: Duration,
}

fn ticks_to_duration(ticks: u64, clock: u32) -> Duration {
    Duration::from_nanos((u128::from(ticks) * 1_000_000_000 / u128::from(clock)) as u64)
}

/// Reads an IVF file as video samples on the 90 kHz RTP clock.
#[derive(Debug)]
pub struct IvfPlayer<R: Read> {
    reader: IvfReader<R>,
    next: Option<IvfFrame>,
    first: Option<u64>,
    last_interval: u64,
}

impl<R: Read> IvfPlayer<R> {
    /// Reads the file header and the first frame.
    pub fn new(input: R) -> Result<Self, Error> {
        let mut reader = IvfReader::new(input)?;
        let next = reader.next_frame()?;
        Ok(Self {
            reader,
            next,
            first: None,
            last_interval: DEFAULT_FRAME_TICKS,
        })
    }

    /// The codec to send the samples with (`None` for AV1, which this crate does not
    /// packetize).
    pub fn codec(&self) -> Option<Codec> {
        self.reader.header().fourcc.codec()
    }

    /// The file header.
    pub fn header(&self) -> &super::IvfHeader {
        self.reader.header()
    }

    fn ticks(&self, timestamp: u64) -> u64 {
        let header = self.reader.header();
        (u128::from(timestamp) * u128::from(header.timebase_numerator) * 90_000
            / u128::from(header.timebase_denominator)) as u64
    }

    /// The next frame as a sample, or `None` at the end of the file.
    pub fn next_sample(&mut self) -> Result<Option<PlayedSample>, Error> {
        let Some(frame) = self.next.take() else {
            return Ok(None);
        };
        self.next = self.reader.next_frame()?;
        let ticks = self.ticks(frame.timestamp);
        let first = *self.first.get_or_insert(ticks);
        let at = ticks.saturating_sub(first);
        if let Some(next) = &self.next {
            let interval = self.ticks(next.timestamp).saturating_sub(ticks);
            if interval > 0 {
                self.last_interval = interval;
            }
        }
        Ok(Some(PlayedSample {
            sample: Sample {
                data: frame.data,
                timing: SampleTiming::RtpTime(at as u32),
            },
            at: ticks_to_duration(at, 90_000),
            duration: ticks_to_duration(self.last_interval, 90_000),
        }))
    }
}

/// Reads an Ogg/Opus stream as audio samples on the 48 kHz RTP clock.
///
/// Every packet is sent whole: pre-skip and end trimming are for a local decoder, and a
/// remote one cannot be told about them.
#[derive(Debug)]
pub struct OggOpusPlayer<R: Read> {
    reader: OggOpusReader<R>,
    first: Option<u64>,
}

impl<R: Read> OggOpusPlayer<R> {
    /// Reads the header pages.
    pub fn new(input: R) -> Result<Self, Error> {
        Ok(Self {
            reader: OggOpusReader::new(input)?,
            first: None,
        })
    }

    /// The reader, for its headers and statistics.
    pub fn reader(&self) -> &OggOpusReader<R> {
        &self.reader
    }

    /// The next packet as a sample, or `None` at the end of the stream.
    pub fn next_sample(&mut self) -> Result<Option<PlayedSample>, Error> {
        let Some(packet) = self.reader.next_packet()? else {
            return Ok(None);
        };
        let first = *self.first.get_or_insert(packet.start);
        let at = packet.start.saturating_sub(first);
        Ok(Some(PlayedSample {
            sample: Sample {
                data: packet.data,
                timing: SampleTiming::RtpTime(at as u32),
            },
            at: ticks_to_duration(at, 48_000),
            duration: ticks_to_duration(u64::from(packet.duration), 48_000),
        }))
    }
}
