//! `play-from-disk`'s sending: an IVF file (VP8 or VP9) and an Ogg/Opus file played
//! into local tracks as if they were live, each sample sent when its time in the file
//! comes, both files on one clock so they stay in sync.
//!
//! [`MediaFiles::open`] reads the files' headers (so a wrong file fails before any
//! connection is made) and says which tracks to add ([`MediaFiles::tracks`]);
//! [`play_file`] then sends one file's samples into its track. Samples carry their exact
//! place in the file ([`SampleTiming::RtpTime`](strata::SampleTiming::RtpTime)), so the
//! receiver sees the file's timestamps, gaps and all.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use strata::{Codec, TrackKind, TrackLocal, TrackLocalInit};
use strata_media::container::{IvfPlayer, OggOpusPlayer, PlayedSample};
use tokio::time::Instant;

use crate::error::Error;

/// The stream id both tracks carry (`a=msid`), so the peer plays them in sync.
pub const PLAYBACK_STREAM: &str = "play-from-disk";

/// A file opened for playing.
#[derive(Debug)]
pub enum MediaFile {
    /// VP8 or VP9 frames from an IVF file.
    Ivf {
        /// Where it was read from.
        path: PathBuf,
        /// Its reader.
        player: IvfPlayer<BufReader<File>>,
        /// The codec its frames are in.
        codec: Codec,
    },
    /// Opus packets from an Ogg file.
    OggOpus {
        /// Where it was read from.
        path: PathBuf,
        /// Its reader.
        player: OggOpusPlayer<BufReader<File>>,
    },
}

impl MediaFile {
    /// The track that carries this file.
    pub fn track_init(&self) -> TrackLocalInit {
        match self {
            Self::Ivf { codec, .. } => {
                TrackLocalInit::new(TrackKind::Video, PLAYBACK_STREAM, "video")
                    .with_codecs(vec![*codec])
            }
            Self::OggOpus { .. } => TrackLocalInit::new(TrackKind::Audio, PLAYBACK_STREAM, "audio")
                .with_codecs(vec![Codec::Opus]),
        }
    }

    fn path(&self) -> &Path {
        match self {
            Self::Ivf { path, .. } | Self::OggOpus { path, .. } => path,
        }
    }

    fn next_sample(&mut self) -> Result<Option<PlayedSample>, strata_media::Error> {
        match self {
            Self::Ivf { player, .. } => player.next_sample(),
            Self::OggOpus { player, .. } => player.next_sample(),
        }
    }
}

/// The files to play.
#[derive(Debug)]
pub struct MediaFiles {
    /// One per track, video first.
    pub files: Vec<MediaFile>,
}

fn open(path: &Path) -> Result<BufReader<File>, Error> {
    File::open(path)
        .map(BufReader::new)
        .map_err(|source| Error::File {
            path: path.to_owned(),
            source,
        })
}

impl MediaFiles {
    /// Opens `video` (IVF) and `audio` (Ogg/Opus), either optional, and reads their
    /// headers. An IVF file in a codec Strata does not send (AV1) is refused.
    pub fn open(video: Option<&Path>, audio: Option<&Path>) -> Result<Self, Error> {
        let mut files = Vec::new();
        if let Some(path) = video {
            let player = IvfPlayer::new(open(path)?).map_err(|source| Error::MediaFile {
                path: path.to_owned(),
                source,
            })?;
            let codec = player.codec().ok_or_else(|| Error::UnsupportedFile {
                path: path.to_owned(),
                reason: format!("its codec {:?} cannot be sent", player.header().fourcc),
            })?;
            files.push(MediaFile::Ivf {
                path: path.to_owned(),
                player,
                codec,
            });
        }
        if let Some(path) = audio {
            let player = OggOpusPlayer::new(open(path)?).map_err(|source| Error::MediaFile {
                path: path.to_owned(),
                source,
            })?;
            files.push(MediaFile::OggOpus {
                path: path.to_owned(),
                player,
            });
        }
        Ok(Self { files })
    }

    /// The tracks to add, one per file, in the order of [`files`](Self::files).
    pub fn tracks(&self) -> Vec<TrackLocalInit> {
        self.files.iter().map(MediaFile::track_init).collect()
    }
}

/// What playing one file sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlaybackStats {
    /// Samples sent.
    pub samples: u64,
    /// Keyframe requests the peer made while the file played (a file cannot make a
    /// keyframe on request; the next one in the file serves).
    pub keyframe_requests: u64,
}

/// Sends `file`'s samples into `track`, each at `start` plus its time in the file; returns
/// once the file ended. Fails when the file turns out corrupt or the track stops taking
/// samples (the connection closed).
pub async fn play_file(
    mut file: MediaFile,
    mut track: TrackLocal,
    start: Instant,
) -> Result<PlaybackStats, Error> {
    let mut stats = PlaybackStats::default();
    let mut requests_open = true;
    loop {
        let played = file.next_sample().map_err(|source| Error::MediaFile {
            path: file.path().to_owned(),
            source,
        })?;
        let Some(played) = played else {
            return Ok(stats);
        };
        let due = tokio::time::sleep_until(start + played.at);
        tokio::pin!(due);
        loop {
            tokio::select! {
                () = &mut due => break,
                request = track.keyframe_requested(), if requests_open => match request {
                    Ok(_) => stats.keyframe_requests += 1,
                    // The track is gone; writing the sample says so.
                    Err(_) => requests_open = false,
                },
            }
        }
        track
            .write_sample(played.sample)
            .await
            .map_err(Error::Send)?;
        stats.samples += 1;
    }
}
