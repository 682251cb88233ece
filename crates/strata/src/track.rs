//! Audio and video tracks as the application holds them: [`TrackLocal`] to send encoded
//! samples, [`TrackRemote`] to read what the peer sends.

use std::fmt;
use std::sync::Arc;

use tokio::sync::{Mutex, mpsc, oneshot, watch};

pub use strata_media::{Codec, KeyframeRequestKind, MediaData, Mid, Sample, SampleTiming, Ssrc};

use crate::driver::MediaCommand;
use crate::error::Error;
use crate::media::TrackId;

/// Received samples waiting in a [`TrackRemote`] for [`TrackRemote::read_sample`]. When the
/// application reads slower than media arrives, newer samples are dropped (counted in
/// [`MediaDeliveryStats::samples_dropped`](crate::MediaDeliveryStats::samples_dropped)):
/// the connection never waits for a reader.
pub const TRACK_SAMPLE_QUEUE: usize = 256;

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackKind {
    /// An audio track.
    Audio,
    /// A video track.
    Video,
}

impl TrackKind {
    /// The codecs Strata packetizes for this kind, in its default preference order.
    pub fn default_codecs(self) -> Vec<Codec> {
        match self {
            Self::Audio => vec![Codec::Opus],
            Self::Video => vec![Codec::Vp8, Codec::Vp9, Codec::H264],
        }
    }

    pub(crate) fn sdp(self) -> strata_sdp::MediaKind {
        match self {
            Self::Audio => strata_sdp::MediaKind::Audio,
            Self::Video => strata_sdp::MediaKind::Video,
        }
    }

    pub(crate) fn from_sdp(kind: &strata_sdp::MediaKind) -> Option<Self> {
        match kind {
            strata_sdp::MediaKind::Audio => Some(Self::Audio),
            strata_sdp::MediaKind::Video => Some(Self::Video),
            _ => None,
        }
    }
}

/// What a local track is: given to [`PeerConnection::add_track`](crate::PeerConnection::add_track).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackLocalInit {
    /// Audio or video.
    pub kind: TrackKind,
    /// The codecs the application can encode, most preferred first. The track's section
    /// offers only these, in this order (W3C `setCodecPreferences`), and the track sends
    /// with the first of them the negotiation settled on ([`TrackLocal::codec`]). A track
    /// that takes a section the peer's offer brought keeps the offer's codecs; when none
    /// of its own was negotiated, [`TrackLocal::write_sample`] fails with
    /// [`Error::InvalidState`]. Every codec must be of `kind`.
    pub codecs: Vec<Codec>,
    /// The media stream id (`a=msid`), grouping tracks that play in sync; `-` for none.
    pub stream_id: String,
    /// The track id (`a=msid`'s second part), the label the peer sees.
    pub track_id: String,
}

impl TrackLocalInit {
    /// A track of `kind` with every codec Strata packetizes for it, in stream `stream_id`
    /// labelled `track_id`.
    pub fn new(kind: TrackKind, stream_id: impl Into<String>, track_id: impl Into<String>) -> Self {
        Self {
            kind,
            codecs: kind.default_codecs(),
            stream_id: stream_id.into(),
            track_id: track_id.into(),
        }
    }

    /// The same track sending only `codecs`, most preferred first.
    #[must_use]
    pub fn with_codecs(mut self, codecs: Vec<Codec>) -> Self {
        self.codecs = codecs;
        self
    }
}

/// A track we send (W3C `RTCRtpSender` with its track).
///
/// Cheap to clone; every clone is the same track. Samples written before the track is
/// negotiated and the connection is up are refused with [`Error::InvalidState`].
#[derive(Clone)]
pub struct TrackLocal {
    pub(crate) id: TrackId,
    pub(crate) init: Arc<TrackLocalInit>,
    media: mpsc::Sender<MediaCommand>,
    keyframes: watch::Receiver<Option<KeyframeRequestKind>>,
    negotiated: watch::Receiver<LocalNegotiation>,
}

/// What negotiation settled for a local track, published by the driver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LocalNegotiation {
    pub(crate) mid: Option<Mid>,
    pub(crate) codec: Option<Codec>,
}

/// The driver's end of a [`TrackLocal`].
#[derive(Debug)]
pub(crate) struct LocalTrackLink {
    pub(crate) init: Arc<TrackLocalInit>,
    pub(crate) keyframes: watch::Sender<Option<KeyframeRequestKind>>,
    pub(crate) negotiated: watch::Sender<LocalNegotiation>,
}

impl fmt::Debug for TrackLocal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackLocal")
            .field("kind", &self.init.kind)
            .field("track_id", &self.init.track_id)
            .field("mid", &self.mid())
            .finish_non_exhaustive()
    }
}

impl TrackLocal {
    pub(crate) fn new(
        id: TrackId,
        init: TrackLocalInit,
        media: mpsc::Sender<MediaCommand>,
    ) -> (Self, LocalTrackLink) {
        let init = Arc::new(init);
        let (keyframes_tx, keyframes_rx) = watch::channel(None);
        let (negotiated_tx, negotiated_rx) = watch::channel(LocalNegotiation::default());
        (
            Self {
                id,
                init: Arc::clone(&init),
                media,
                keyframes: keyframes_rx,
                negotiated: negotiated_rx,
            },
            LocalTrackLink {
                init,
                keyframes: keyframes_tx,
                negotiated: negotiated_tx,
            },
        )
    }

    /// Audio or video.
    pub fn kind(&self) -> TrackKind {
        self.init.kind
    }

    /// What the track was created with.
    pub fn init(&self) -> &TrackLocalInit {
        &self.init
    }

    /// The mid of its media section, once negotiated.
    pub fn mid(&self) -> Option<Mid> {
        self.negotiated.borrow().mid.clone()
    }

    /// The codec it sends with, once negotiated: encode samples in it.
    pub fn codec(&self) -> Option<Codec> {
        self.negotiated.borrow().codec
    }

    /// Waits until negotiation settled the track, so that it can send, and returns the
    /// codec to encode in (at once when it is settled already). [`Error::Closed`] when the
    /// track is removed or the connection closes first.
    pub async fn negotiated(&self) -> Result<Codec, Error> {
        let mut negotiated = self.negotiated.clone();
        let settled = negotiated
            .wait_for(|n| n.codec.is_some())
            .await
            .map_err(|_| Error::Closed)?;
        settled.codec.ok_or(Error::Closed)
    }

    /// Sends one encoded sample (an audio packet or a video frame, H.264 as Annex B):
    /// packetized, protected and sent at once. Waits only when the connection's sample
    /// queue is full.
    pub async fn write_sample(&self, sample: Sample) -> Result<(), Error> {
        let (reply, result) = oneshot::channel();
        self.media
            .send(MediaCommand::WriteSample(self.id, Box::new(sample), reply))
            .await
            .map_err(|_| Error::Closed)?;
        result.await.map_err(|_| Error::Closed)?
    }

    /// Waits until the peer asks for a keyframe (a PLI or FIR) and returns how it asked:
    /// encode the next frame as a keyframe. Requests that arrive while none is awaited are
    /// kept as one. Fails with [`Error::Closed`] once the track is removed or the
    /// connection closed.
    pub async fn keyframe_requested(&mut self) -> Result<KeyframeRequestKind, Error> {
        loop {
            self.keyframes.changed().await.map_err(|_| Error::Closed)?;
            if let Some(kind) = *self.keyframes.borrow_and_update() {
                return Ok(kind);
            }
        }
    }
}

/// A track the peer sends (W3C `RTCRtpReceiver` with its track), from
/// [`PeerConnectionEvent::Track`](crate::PeerConnectionEvent::Track).
///
/// Cheap to clone; every clone reads the same samples (each sample goes to one reader).
#[derive(Clone)]
pub struct TrackRemote {
    info: Arc<RemoteInfo>,
    samples: Arc<Mutex<mpsc::Receiver<MediaData>>>,
    media: mpsc::WeakSender<MediaCommand>,
}

#[derive(Debug)]
struct RemoteInfo {
    mid: Mid,
    kind: TrackKind,
    stream_ids: Vec<String>,
    track_id: Option<String>,
}

impl fmt::Debug for TrackRemote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackRemote")
            .field("mid", &self.info.mid)
            .field("kind", &self.info.kind)
            .field("stream_ids", &self.info.stream_ids)
            .finish_non_exhaustive()
    }
}

impl TrackRemote {
    pub(crate) fn new(
        mid: Mid,
        kind: TrackKind,
        msids: &[strata_sdp::model::Msid],
        media: mpsc::WeakSender<MediaCommand>,
    ) -> (Self, mpsc::Sender<MediaData>) {
        let (tx, rx) = mpsc::channel(TRACK_SAMPLE_QUEUE);
        let info = RemoteInfo {
            mid,
            kind,
            stream_ids: msids.iter().map(|m| m.stream.clone()).collect(),
            track_id: msids.iter().find_map(|m| m.track.clone()),
        };
        (
            Self {
                info: Arc::new(info),
                samples: Arc::new(Mutex::new(rx)),
                media,
            },
            tx,
        )
    }

    /// The mid of its media section.
    pub fn mid(&self) -> &Mid {
        &self.info.mid
    }

    /// Audio or video.
    pub fn kind(&self) -> TrackKind {
        self.info.kind
    }

    /// The media stream ids the peer put it in (`a=msid`).
    pub fn stream_ids(&self) -> &[String] {
        &self.info.stream_ids
    }

    /// The peer's track id (`a=msid`'s second part), if it gave one.
    pub fn track_id(&self) -> Option<&str> {
        self.info.track_id.as_deref()
    }

    /// The next received sample: a complete video frame or an audio packet, with its RTP
    /// timestamp and keyframe flag, in playout order. `None` once the track ended (the
    /// peer sent BYE, removed the track, or the connection closed) and every sample was
    /// read.
    pub async fn read_sample(&self) -> Option<MediaData> {
        self.samples.lock().await.recv().await
    }

    /// Asks the peer for a keyframe (a PLI, or a FIR when only that was negotiated).
    /// Returns whether a request was sent: requests closer together than 300 ms, or
    /// before any packet of the track arrived, are not.
    pub async fn request_keyframe(&self) -> Result<bool, Error> {
        let media = self.media.upgrade().ok_or(Error::Closed)?;
        let (reply, result) = oneshot::channel();
        media
            .send(MediaCommand::RequestKeyframe(self.info.mid.clone(), reply))
            .await
            .map_err(|_| Error::Closed)?;
        result.await.map_err(|_| Error::Closed)?
    }
}
