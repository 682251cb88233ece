//! Recording received media: [`MediaData`] of one audio and one video track to Ogg/Opus
//! and IVF.

use std::io::{Seek, Write};

use super::ivf::keyframe_dimensions;
use super::{IvfFourcc, IvfHeader, IvfWriter, OggOpusConfig, OggOpusWriter, opus_packet_samples};
use crate::{Codec, Error, MediaData, Mid, Ssrc};

/// What a [`Recorder`] wrote and skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecorderStats {
    /// Opus packets written.
    pub audio_packets: u64,
    /// Video frames written.
    pub video_frames: u64,
    /// Video frames before the first keyframe, skipped (a player could not decode them).
    pub skipped_before_keyframe: u64,
    /// Media of other tracks, ignored.
    pub other_tracks: u64,
    /// Times a track's stream (SSRC) changed; the new stream continues the file's time
    /// line right after the old one.
    pub stream_changes: u64,
}

/// Where a track's RTP time line maps onto the file's.
#[derive(Debug, Clone, Copy)]
struct Timeline {
    ssrc: Ssrc,
    /// The extended RTP timestamp of the stream's first recorded media.
    base: u64,
    /// The file time (in RTP clock ticks) where this stream starts.
    offset: u64,
    /// The file time after the last recorded media (its start plus its duration).
    end: u64,
}

impl Timeline {
    /// The file time of `media`, continuing the time line after a change of stream.
    fn place(
        &mut self,
        media: &MediaData,
        duration: u64,
        stats: &mut RecorderStats,
    ) -> Option<u64> {
        if media.ssrc != self.ssrc {
            stats.stream_changes += 1;
            *self = Self {
                ssrc: media.ssrc,
                base: media.rtp_timestamp,
                offset: self.end,
                end: self.end,
            };
        }
        let at = self
            .offset
            .checked_add(media.rtp_timestamp.checked_sub(self.base)?)?;
        self.end = self.end.max(at.checked_add(duration)?);
        Some(at)
    }
}

#[derive(Debug)]
struct AudioSink<A: Write> {
    mid: Mid,
    writer: OggOpusWriter<A>,
    timeline: Option<Timeline>,
}

#[derive(Debug)]
enum VideoWriter<V: Write + Seek> {
    /// Waiting for the first keyframe to learn the codec and size.
    Waiting(V),
    Writing {
        codec: Codec,
        writer: IvfWriter<V>,
        timeline: Timeline,
    },
    /// The IVF header could not be written; the output went with the failed writer.
    Failed,
}

#[derive(Debug)]
struct VideoSink<V: Write + Seek> {
    mid: Mid,
    writer: VideoWriter<V>,
}

/// Records the received media of one audio track (Opus → Ogg/Opus) and one video track
/// (VP8 or VP9 → IVF) from [`Event::Media`](crate::Event::Media).
///
/// Feed it every [`MediaData`] the session emits ([`handle_media`](Self::handle_media));
/// media of other tracks is counted and ignored. File times follow the RTP timestamps
/// (extended, so the 32-bit wrap is seamless): lost audio leaves a gap in granule
/// positions, video frames keep their real spacing. Video starts at the first keyframe,
/// whose frame size goes into the IVF header. A new stream on a track (another SSRC, a
/// sender restart) continues the file's time line. H.264 is refused with
/// [`Error::UnsupportedForRecording`]. [`finish`](Self::finish) closes both files.
#[derive(Debug)]
pub struct Recorder<A: Write, V: Write + Seek> {
    audio: Option<AudioSink<A>>,
    video: Option<VideoSink<V>>,
    stats: RecorderStats,
}

impl<A: Write, V: Write + Seek> Default for Recorder<A, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A: Write, V: Write + Seek> Recorder<A, V> {
    /// A recorder with no track yet.
    pub fn new() -> Self {
        Self {
            audio: None,
            video: None,
            stats: RecorderStats::default(),
        }
    }

    /// Records the audio track `mid` into `out` (the Ogg/Opus headers are written now).
    pub fn with_audio(mut self, mid: Mid, out: A, config: OggOpusConfig) -> Result<Self, Error> {
        self.audio = Some(AudioSink {
            mid,
            writer: OggOpusWriter::new(out, config)?,
            timeline: None,
        });
        Ok(self)
    }

    /// Records the video track `mid` into `out` (written from the first keyframe on).
    #[must_use]
    pub fn with_video(mut self, mid: Mid, out: V) -> Self {
        self.video = Some(VideoSink {
            mid,
            writer: VideoWriter::Waiting(out),
        });
        self
    }

    /// What was written and skipped.
    pub fn stats(&self) -> RecorderStats {
        self.stats
    }

    /// Writes `media` if it belongs to a recorded track.
    pub fn handle_media(&mut self, media: &MediaData) -> Result<(), Error> {
        if let Some(audio) = self.audio.as_mut().filter(|a| a.mid == media.mid) {
            if media.codec != Codec::Opus {
                return Err(Error::UnsupportedForRecording(media.codec));
            }
            let duration = opus_packet_samples(&media.data).map_err(|_| Error::CannotWrite {
                format: "Ogg/Opus",
                problem: "not a valid Opus packet",
            })?;
            let timeline = audio.timeline.get_or_insert(Timeline {
                ssrc: media.ssrc,
                base: media.rtp_timestamp,
                offset: 0,
                end: 0,
            });
            let at = timeline
                .place(media, u64::from(duration), &mut self.stats)
                .ok_or(Error::CannotWrite {
                    format: "Ogg/Opus",
                    problem: "RTP timestamp before the stream's first, or beyond 2^64",
                })?;
            audio.writer.write_packet_at(at, &media.data)?;
            self.stats.audio_packets += 1;
            return Ok(());
        }
        if let Some(video) = self.video.as_mut().filter(|v| v.mid == media.mid) {
            let Some(fourcc) = IvfFourcc::for_codec(media.codec) else {
                return Err(Error::UnsupportedForRecording(media.codec));
            };
            let (codec, mut writer, mut timeline) =
                match std::mem::replace(&mut video.writer, VideoWriter::Failed) {
                    VideoWriter::Failed => {
                        return Err(Error::CannotWrite {
                            format: "IVF",
                            problem: "the video file could not be started",
                        });
                    }
                    VideoWriter::Waiting(out) if !media.keyframe => {
                        video.writer = VideoWriter::Waiting(out);
                        self.stats.skipped_before_keyframe += 1;
                        return Ok(());
                    }
                    VideoWriter::Waiting(out) => {
                        let mut header = IvfHeader::for_rtp(fourcc);
                        if let Some((width, height)) = keyframe_dimensions(media.codec, &media.data)
                        {
                            header.width = width;
                            header.height = height;
                        }
                        let timeline = Timeline {
                            ssrc: media.ssrc,
                            base: media.rtp_timestamp,
                            offset: 0,
                            end: 0,
                        };
                        (media.codec, IvfWriter::new(out, header)?, timeline)
                    }
                    VideoWriter::Writing {
                        codec,
                        writer,
                        timeline,
                    } => (codec, writer, timeline),
                };
            let result = if codec == media.codec {
                // One 90 kHz frame interval at 30 fps separates a new stream from the old.
                match timeline.place(media, 3000, &mut self.stats) {
                    Some(at) => writer.write_frame(at, &media.data),
                    None => Err(Error::CannotWrite {
                        format: "IVF",
                        problem: "RTP timestamp before the stream's first, or beyond 2^64",
                    }),
                }
            } else {
                Err(Error::CannotWrite {
                    format: "IVF",
                    problem: "the video codec changed during the recording",
                })
            };
            video.writer = VideoWriter::Writing {
                codec,
                writer,
                timeline,
            };
            if result.is_ok() {
                self.stats.video_frames += 1;
            }
            return result;
        }
        self.stats.other_tracks += 1;
        Ok(())
    }

    /// Finishes both files (end-of-stream page, patched IVF header) and returns the
    /// outputs; a video track that never saw a keyframe returns its output untouched.
    pub fn finish(self) -> Result<(Option<A>, Option<V>), Error> {
        let audio = self.audio.map(|a| a.writer.finish()).transpose()?;
        let video = match self.video.map(|v| v.writer) {
            None | Some(VideoWriter::Failed) => None,
            Some(VideoWriter::Waiting(out)) => Some(out),
            Some(VideoWriter::Writing { writer, .. }) => Some(writer.finish()?),
        };
        Ok((audio, video))
    }
}
