//! `record`'s files: the first audio track a peer sends goes to an Ogg/Opus file and the
//! first video track (VP8 or VP9) to an IVF file, with `strata_media`'s [`Recorder`]
//! placing every sample by its RTP timestamp.
//!
//! [`CallRecorder`] is plain state, driven by the program: [`CallRecorder::track`] for each
//! track that arrives (it opens the file), [`forward_samples`] on a task of its own per
//! recorded track to collect what the track delivers, [`CallRecorder::media`] for each
//! sample, and [`CallRecorder::finish`] at the end, which writes the Ogg end-of-stream
//! page and the IVF frame count and flushes both files to disk. A recording whose
//! program was killed still reads back: every Ogg page is complete when written, and an
//! IVF file whose header was not patched reads with a frame count of 0.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use strata::{MediaData, Mid, TrackKind, TrackRemote};
use strata_media::container::{OggOpusConfig, Recorder, RecorderStats};
use tokio::sync::mpsc;

use crate::error::Error;

/// Samples waiting between the tracks' readers and the recorder; readers wait while it is
/// full (and the connection drops, and counts, what their tracks cannot hold).
pub const RECORD_QUEUE: usize = 1024;

type Files = Recorder<BufWriter<File>, BufWriter<File>>;

/// Where to record.
#[derive(Debug, Clone)]
pub struct RecordingPaths {
    /// The Ogg/Opus file for the audio track.
    pub audio: PathBuf,
    /// The IVF file for the video track.
    pub video: PathBuf,
}

/// What a recording wrote and left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordingStats {
    /// What the recorder wrote and skipped.
    pub recorder: RecorderStats,
    /// Tracks not recorded (a second track of a kind already recorded).
    pub tracks_ignored: u64,
}

/// One call's recording: the first audio track to Ogg/Opus, the first video track to IVF.
#[derive(Debug)]
pub struct CallRecorder {
    paths: RecordingPaths,
    recorder: Option<Files>,
    audio: Option<Mid>,
    video: Option<Mid>,
    serial: u32,
    tracks_ignored: u64,
}

fn create(path: &Path) -> Result<BufWriter<File>, Error> {
    File::create(path)
        .map(BufWriter::new)
        .map_err(|source| Error::File {
            path: path.to_owned(),
            source,
        })
}

impl CallRecorder {
    /// A recording into `paths`; `serial` is the Ogg stream's serial number (pick it at
    /// random). No file is created before its track arrives.
    pub fn new(paths: RecordingPaths, serial: u32) -> Self {
        Self {
            paths,
            recorder: Some(Recorder::new()),
            audio: None,
            video: None,
            serial,
            tracks_ignored: 0,
        }
    }

    /// Starts recording `track` if no track of its kind is recorded yet (creating its
    /// file); returns whether it is recorded.
    pub fn track(&mut self, track: &TrackRemote) -> Result<bool, Error> {
        let recorder = self.recorder.take().unwrap_or_default();
        let (recorder, recorded) = match track.kind() {
            TrackKind::Audio if self.audio.is_none() => {
                let out = create(&self.paths.audio)?;
                let config = OggOpusConfig::new(self.serial);
                let recorder = recorder
                    .with_audio(track.mid().clone(), out, config)
                    .map_err(|source| Error::MediaFile {
                        path: self.paths.audio.clone(),
                        source,
                    })?;
                self.audio = Some(track.mid().clone());
                (recorder, true)
            }
            TrackKind::Video if self.video.is_none() => {
                let out = create(&self.paths.video)?;
                self.video = Some(track.mid().clone());
                (recorder.with_video(track.mid().clone(), out), true)
            }
            _ => {
                self.tracks_ignored += 1;
                (recorder, false)
            }
        };
        self.recorder = Some(recorder);
        Ok(recorded)
    }

    /// Writes one received sample into its file.
    pub fn media(&mut self, media: &MediaData) -> Result<(), Error> {
        let Some(recorder) = self.recorder.as_mut() else {
            return Ok(());
        };
        recorder.handle_media(media).map_err(|source| {
            let path = if self.audio.as_ref() == Some(&media.mid) {
                &self.paths.audio
            } else {
                &self.paths.video
            };
            Error::MediaFile {
                path: path.clone(),
                source,
            }
        })
    }

    /// What was written so far.
    pub fn stats(&self) -> RecordingStats {
        RecordingStats {
            recorder: self
                .recorder
                .as_ref()
                .map(Recorder::stats)
                .unwrap_or_default(),
            tracks_ignored: self.tracks_ignored,
        }
    }

    /// Closes both files (end-of-stream page, IVF frame count) and flushes them to disk.
    pub fn finish(mut self) -> Result<RecordingStats, Error> {
        let stats = self.stats();
        let Some(recorder) = self.recorder.take() else {
            return Ok(stats);
        };
        let (audio, video) = recorder.finish().map_err(|source| Error::MediaFile {
            path: self.paths.video.clone(),
            source,
        })?;
        for (out, path) in [(audio, &self.paths.audio), (video, &self.paths.video)] {
            if let Some(out) = out {
                let file = out.into_inner().map_err(|error| Error::File {
                    path: path.clone(),
                    source: error.into_error(),
                })?;
                file.sync_all().map_err(|source| Error::File {
                    path: path.clone(),
                    source,
                })?;
            }
        }
        Ok(stats)
    }
}

/// Reads `track` until it ends, handing every sample to `samples`; stops early when the
/// receiver is gone.
pub async fn forward_samples(track: TrackRemote, samples: mpsc::Sender<MediaData>) {
    while let Some(media) = track.read_sample().await {
        if samples.send(media).await.is_err() {
            break;
        }
    }
}

impl Drop for CallRecorder {
    fn drop(&mut self) {
        // A recording dropped without `finish` (an error on the way) still flushes what
        // it buffered, so the files hold every complete page and frame written.
        if let Some(recorder) = self.recorder.take()
            && let Ok((audio, video)) = recorder.finish()
        {
            for mut out in audio.into_iter().chain(video) {
                let _ = out.flush();
            }
        }
    }
}
