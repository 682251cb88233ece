//! The crate's one error type, classified by who is at fault.

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
