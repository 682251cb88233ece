//! The crate's one error type, classified by who is at fault.

use crate::Codec;

/// What a packet parser found wrong. Each names the part of the packet that failed so a
/// counter or a log line says what the peer sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Malformed {
    /// Shorter than the fixed part of its header.
    #[error("{0} shorter than its fixed header")]
    TooShort(&'static str),
    /// The version field is not 2.
    #[error("version {0}, expected 2")]
    BadVersion(u8),
    /// A length field points past the end of the packet, or does not match its content.
    #[error("{0}: length field does not match the data")]
    BadLength(&'static str),
    /// The padding count is zero or larger than what it pads.
    #[error("invalid padding count")]
    BadPadding,
    /// A header extension element is cut short or uses a reserved form.
    #[error("malformed RTP header extension")]
    BadExtension,
    /// A field holds a value the format forbids.
    #[error("{0}: value out of range")]
    BadField(&'static str),
    /// A payload does not follow its codec's RTP payload format.
    #[error("{0} payload does not follow its RTP payload format")]
    BadPayload(&'static str),
}

/// Everything that can go wrong in this crate.
///
/// Packets from the network that are malformed come back as [`Error::Malformed`] (and are
/// counted in [`SessionStats`](crate::SessionStats)); packets that are well formed but
/// unexpected (unknown SSRC or payload type, floods) are not errors: they are counted and
/// dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Malformed input from the peer.
    #[error("malformed {what} from the peer: {problem}")]
    Malformed {
        /// What kind of packet it was (`"RTP"`, `"RTCP"`, a codec name).
        what: &'static str,
        /// What is wrong with it.
        #[source]
        problem: Malformed,
    },
    /// Caller misuse: no local or remote track with this MID.
    #[error("no {direction} track with mid {mid:?}")]
    UnknownTrack {
        /// `"local"` or `"remote"`.
        direction: &'static str,
        /// The MID asked for.
        mid: String,
    },
    /// Caller misuse: a track with this MID (or one of its SSRCs) already exists.
    #[error("a {direction} track with mid {mid:?} or one of its SSRCs already exists")]
    DuplicateTrack {
        /// `"local"` or `"remote"`.
        direction: &'static str,
        /// The MID of the new track.
        mid: String,
    },
    /// Caller misuse: a sample that cannot be sent (empty, or rejected by the payloader).
    #[error("cannot packetize sample: {0}")]
    InvalidSample(&'static str),
    /// Caller misuse: a configuration value is out of its documented range.
    #[error("invalid configuration: `{field}` {problem}")]
    InvalidConfig {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// Caller misuse: a MID that is empty, too long or not an RFC 8843 token.
    #[error("invalid MID {0:?}: 1 to 255 token characters expected")]
    InvalidMid(String),
    /// Incompatible peer: the feature asked for was not negotiated (no PLI or FIR for a
    /// keyframe request, for instance).
    #[error("not negotiated: {0}")]
    NotNegotiated(&'static str),
    /// Caller misuse: [`MAX_QUEUED_OUTPUTS`](crate::MAX_QUEUED_OUTPUTS) outputs wait; drain
    /// [`poll_output`](crate::MediaSession::poll_output) first.
    #[error("the output queue is full; drain poll_output")]
    OutputQueueFull,
    /// Caller misuse: the session was closed.
    #[error("the media session is closed")]
    Closed,
    /// Malformed input from a file (or any byte stream) read by a
    /// [`container`](crate::container) reader.
    #[error("malformed {format} data at byte {offset}: {problem}")]
    MalformedFile {
        /// `"IVF"` or `"Ogg/Opus"`.
        format: &'static str,
        /// Where the problem starts, in bytes from the start of the stream.
        offset: u64,
        /// What is wrong.
        #[source]
        problem: FileProblem,
    },
    /// Caller misuse: media a [`container`](crate::container) writer cannot store (an
    /// empty or oversized frame, a timestamp before the previous one, a writer that was
    /// finished).
    #[error("cannot write {format} data: {problem}")]
    CannotWrite {
        /// `"IVF"` or `"Ogg/Opus"`.
        format: &'static str,
        /// What is wrong.
        problem: &'static str,
    },
    /// Caller misuse: media of a codec the recorder has no file format for (H.264).
    #[error("{0:?} cannot be recorded: IVF holds VP8 and VP9, Ogg holds Opus")]
    UnsupportedForRecording(Codec),
    /// Transport failure: the reader or writer under a container failed.
    #[error("I/O error under a media file: {0}")]
    Io(#[source] IoError),
}

/// What a [`container`](crate::container) reader found wrong in its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FileProblem {
    /// The signature (`DKIF`) or capture pattern (`OggS`) is missing.
    #[error("bad signature or capture pattern")]
    BadSignature,
    /// A version this reader does not know.
    #[error("unsupported version {0}")]
    UnsupportedVersion(u16),
    /// The IVF header size is not 32.
    #[error("header size {0}, expected 32")]
    BadHeaderSize(u16),
    /// An IVF fourcc other than `VP80`, `VP90` or `AV01`.
    #[error("unknown fourcc {0:?}")]
    UnknownFourcc([u8; 4]),
    /// An IVF timebase with a zero numerator or denominator.
    #[error("zero timebase term")]
    ZeroTimebase,
    /// The data ends inside the named part.
    #[error("truncated inside the {0}")]
    Truncated(&'static str),
    /// A declared size above this crate's bound.
    #[error("{what} of {size} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// The declared or accumulated size.
        size: u64,
        /// The bound ([`MAX_IVF_FRAME_SIZE`](crate::container::MAX_IVF_FRAME_SIZE) or
        /// [`MAX_OGG_PACKET_SIZE`](crate::container::MAX_OGG_PACKET_SIZE)).
        limit: u64,
    },
    /// An Ogg page whose CRC does not match its content.
    #[error("CRC mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    BadCrc {
        /// The page's CRC field.
        stored: u32,
        /// The CRC of the page as read.
        computed: u32,
    },
    /// An Ogg page sequence number that went backwards.
    #[error("page sequence number {found} after {previous}")]
    PageSequenceBackwards {
        /// The previous page's number.
        previous: u32,
        /// This page's number.
        found: u32,
    },
    /// Ogg continuation flags that do not match the lacing (a continued page with no
    /// packet to continue is tolerated after lost pages, not at the start).
    #[error("continuation flag does not match the previous page")]
    BadContinuation,
    /// The first page is not the beginning of an Opus stream, or its `OpusHead` breaks
    /// RFC 7845 §5.1.
    #[error("bad OpusHead: {0}")]
    BadOpusHead(&'static str),
    /// The second packet is not `OpusTags`, or the header pages break RFC 7845 §3.
    #[error("bad Opus header pages: {0}")]
    BadOpusTags(&'static str),
    /// An audio packet that is not a valid Opus packet (RFC 6716 §3).
    #[error("bad Opus packet: {0}")]
    BadOpusPacket(&'static str),
    /// A page on which packets end whose granule position is -1 (or another negative
    /// value).
    #[error("packets end on a page without a valid granule position")]
    MissingGranule,
    /// A granule position that goes backwards or that is smaller than the audio before it.
    #[error("granule position {found} before {previous}")]
    GranuleBackwards {
        /// The end of the audio so far, in 48 kHz samples.
        previous: u64,
        /// The page's granule position.
        found: u64,
    },
}

/// An I/O error from the reader or writer under a container, shared so that [`Error`]
/// stays `Clone`. Two compare equal when their [`kind`](Self::kind)s do.
#[derive(Debug, Clone)]
pub struct IoError(std::sync::Arc<std::io::Error>);

impl IoError {
    /// The kind of the underlying error.
    pub fn kind(&self) -> std::io::ErrorKind {
        self.0.kind()
    }

    /// The underlying error.
    pub fn get_ref(&self) -> &std::io::Error {
        &self.0
    }
}

impl PartialEq for IoError {
    fn eq(&self, other: &Self) -> bool {
        self.kind() == other.kind()
    }
}

impl Eq for IoError {}

impl std::fmt::Display for IoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for IoError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl From<std::io::Error> for Error {
    fn from(error: std::io::Error) -> Self {
        Self::Io(IoError(std::sync::Arc::new(error)))
    }
}

impl Error {
    pub(crate) fn rtp(problem: Malformed) -> Self {
        Self::Malformed {
            what: "RTP",
            problem,
        }
    }

    pub(crate) fn rtcp(problem: Malformed) -> Self {
        Self::Malformed {
            what: "RTCP",
            problem,
        }
    }
}
