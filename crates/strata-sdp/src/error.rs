//! The crate's one error type, classified by who is at fault.

use std::fmt;

use crate::model::Mid;
use crate::negotiation::SignalingState;

/// Everything that can go wrong in this crate.
///
/// Each variant names who is at fault ([`Error::blame`]): text that is not valid SDP
/// ([`Blame::MalformedInput`]), a peer whose description breaks the offer/answer rules
/// ([`Blame::PeerMisbehaved`]), a peer that asks for something we cannot do
/// ([`Blame::IncompatiblePeer`]), or a caller that used the API out of order or with bad
/// arguments ([`Blame::CallerMisuse`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The description is not well-formed SDP: `line` (1-based) says where.
    #[error("malformed SDP at line {line}: {kind}")]
    Syntax {
        /// The 1-based line number of the offending line (0 when the text as a whole is
        /// at fault, e.g. it is empty).
        line: usize,
        /// What was wrong.
        kind: SyntaxError,
    },
    /// The description is larger than one of the bounds in [`crate::limits`].
    #[error("SDP exceeds a limit at line {line}: {limit} (at most {max})")]
    LimitExceeded {
        /// The 1-based line at which the bound was crossed (0 for the whole text).
        line: usize,
        /// Which bound.
        limit: Limit,
        /// The bound's value.
        max: usize,
    },
    /// An ICE candidate string (trickled, outside a description) is malformed.
    #[error("malformed ICE candidate: {0}")]
    Candidate(#[from] CandidateError),
    /// The remote description is well-formed but breaks the offer/answer rules.
    #[error("remote description breaks offer/answer: {0}")]
    Protocol(ProtocolViolation),
    /// The remote description is valid but asks for something this stack cannot do.
    #[error("remote description is incompatible: {0}")]
    Incompatible(Incompatibility),
    /// A call that the signaling state does not allow (e.g. applying an answer in
    /// `stable`).
    #[error("{operation} is not allowed in signaling state {state}")]
    InvalidState {
        /// What the caller tried.
        operation: Operation,
        /// The state the negotiator was in.
        state: SignalingState,
    },
    /// The caller passed an argument that cannot be used.
    #[error("invalid argument: {0}")]
    InvalidArgument(Misuse),
    /// The queue of remote candidates waiting for a remote description is full; the
    /// candidate was dropped and counted.
    #[error("{pending} remote candidates already wait for a remote description; candidate dropped")]
    CandidateQueueFull {
        /// How many candidates are queued (the bound).
        pending: usize,
    },
}

/// Who is at fault for an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Blame {
    /// Text or values from the peer (through signaling) that do not parse.
    MalformedInput,
    /// A peer whose description parses but breaks the protocol, or floods us.
    PeerMisbehaved,
    /// A peer that asks for something we do not support.
    IncompatiblePeer,
    /// The caller used the API out of order or passed bad arguments.
    CallerMisuse,
}

impl Error {
    /// Who is at fault.
    pub fn blame(&self) -> Blame {
        match self {
            Error::Syntax { .. } | Error::Candidate(_) => Blame::MalformedInput,
            Error::LimitExceeded { .. } | Error::Protocol(_) | Error::CandidateQueueFull { .. } => {
                Blame::PeerMisbehaved
            }
            Error::Incompatible(_) => Blame::IncompatiblePeer,
            Error::InvalidState { .. } | Error::InvalidArgument(_) => Blame::CallerMisuse,
        }
    }

    pub(crate) fn syntax(line: usize, kind: SyntaxError) -> Self {
        Error::Syntax { line, kind }
    }
}

/// What made a line of SDP malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyntaxError {
    /// The text holds no lines at all.
    #[error("the description is empty")]
    Empty,
    /// The bytes are not UTF-8.
    #[error("the description is not valid UTF-8")]
    NotUtf8,
    /// The first line is not `v=`.
    #[error("the description does not start with a `v=` line")]
    MissingVersion,
    /// `v=` holds something other than `0`.
    #[error("unsupported protocol version (only `v=0` exists)")]
    UnsupportedVersion,
    /// A line is not of the form `<letter>=<value>`.
    #[error("a line must have the form `<type>=<value>`")]
    MalformedLine,
    /// A line holds a NUL or a carriage return before its end.
    #[error("a control character (NUL or CR) inside a line")]
    ControlCharacter,
    /// A line type this parser does not know (RFC 8866 §5 lets parsers reject these).
    #[error("unknown line type `{0}=`")]
    UnknownLineType(char),
    /// A known line type in a place where it may not appear (e.g. `o=` inside a media
    /// section, `r=` before any `t=`).
    #[error("`{0}=` line out of place")]
    LineOutOfPlace(char),
    /// A line type that must appear once appears again.
    #[error("`{0}=` line repeated")]
    DuplicateLine(char),
    /// A mandatory session line is missing.
    #[error("mandatory `{0}=` line missing")]
    MissingLine(char),
    /// The `o=` line is malformed.
    #[error("bad `o=` line: {0}")]
    Origin(&'static str),
    /// A `c=` line (or the address part of `a=rtcp`) is malformed.
    #[error("bad connection data: {0}")]
    Connection(&'static str),
    /// A `b=` line is malformed.
    #[error("bad `b=` line: {0}")]
    Bandwidth(&'static str),
    /// A `t=` or `r=` line is malformed.
    #[error("bad `t=`/`r=` line: {0}")]
    Timing(&'static str),
    /// The `m=` line is malformed.
    #[error("bad `m=` line: {0}")]
    MediaLine(&'static str),
    /// A known attribute's value is malformed.
    #[error("bad `a={name}` attribute: {reason}")]
    Attribute {
        /// The attribute's name.
        name: &'static str,
        /// What was wrong with its value.
        reason: &'static str,
    },
    /// An attribute that may appear once per section appears again.
    #[error("`a={0}` repeated in one section")]
    DuplicateAttribute(&'static str),
    /// An attribute name is not a token.
    #[error("attribute name is not a token")]
    AttributeName,
    /// An `a=candidate` line is malformed.
    #[error("bad `a=candidate`: {0}")]
    Candidate(CandidateError),
    /// An `a=fingerprint` line is malformed.
    #[error("bad `a=fingerprint`: {0}")]
    Fingerprint(FingerprintError),
}

/// Which bound from [`crate::limits`] was crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// [`crate::limits::MAX_DESCRIPTION_BYTES`].
    DescriptionBytes,
    /// [`crate::limits::MAX_LINE_BYTES`].
    LineBytes,
    /// [`crate::limits::MAX_MEDIA_SECTIONS`].
    MediaSections,
    /// [`crate::limits::MAX_ATTRIBUTES_PER_SECTION`].
    AttributesPerSection,
    /// [`crate::limits::MAX_CANDIDATES_PER_SECTION`].
    CandidatesPerSection,
    /// [`crate::limits::MAX_FORMATS_PER_SECTION`].
    FormatsPerSection,
    /// [`crate::limits::MAX_FINGERPRINTS`].
    Fingerprints,
    /// [`crate::limits::MAX_LINES_PER_TYPE`].
    LinesPerType,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::DescriptionBytes => "description size in bytes",
            Limit::LineBytes => "line length in bytes",
            Limit::MediaSections => "media sections",
            Limit::AttributesPerSection => "attributes in one section",
            Limit::CandidatesPerSection => "candidates in one section",
            Limit::FormatsPerSection => "formats on one m= line",
            Limit::Fingerprints => "fingerprints in one section",
            Limit::LinesPerType => "lines of one type in one section",
        })
    }
}

/// What made an ICE candidate malformed (RFC 8839 §5.1 grammar).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CandidateError {
    /// Nothing after the optional `a=`/`candidate:` prefixes.
    #[error("empty candidate")]
    Empty,
    /// The text is longer than [`crate::limits::MAX_CANDIDATE_BYTES`].
    #[error("candidate longer than {} bytes", crate::limits::MAX_CANDIDATE_BYTES)]
    TooLong,
    /// A mandatory field is missing.
    #[error("missing {0}")]
    Missing(&'static str),
    /// The foundation is not 1 to 32 ice-chars.
    #[error("foundation must be 1 to 32 ice-chars")]
    Foundation,
    /// The component id is not 1 to 256.
    #[error("component id must be 1 to 256")]
    Component,
    /// The transport is not a token.
    #[error("transport is not a token")]
    Transport,
    /// The priority is not a number from 1 to 2^31 - 1... or at least one that fits in 32 bits.
    #[error("priority is not a 32-bit number")]
    Priority,
    /// The connection address is neither an IP address nor a host name.
    #[error("address is neither an IP address nor a host name")]
    Address,
    /// A port is not a number from 0 to 65535.
    #[error("port is not a 16-bit number")]
    Port,
    /// The `typ` keyword is missing where the grammar requires it.
    #[error("expected `typ`")]
    ExpectedTyp,
    /// The candidate type is not host, srflx, prflx or relay.
    #[error("unknown candidate type")]
    UnknownType,
    /// `raddr` without a valid address.
    #[error("bad raddr")]
    RelatedAddress,
    /// `rport` without a valid port.
    #[error("bad rport")]
    RelatedPort,
    /// `tcptype` not active, passive or so.
    #[error("tcptype must be active, passive or so")]
    TcpType,
    /// An extension attribute without a value, with a name that is not a token, or with
    /// a value that is not visible ASCII.
    #[error(
        "extension attribute without a value, with a bad name or with a value that is not visible ASCII"
    )]
    Extension,
    /// More extension attributes than [`crate::limits::MAX_CANDIDATE_EXTENSIONS`].
    #[error(
        "more than {} extension attributes",
        crate::limits::MAX_CANDIDATE_EXTENSIONS
    )]
    TooManyExtensions,
    /// A trickled candidate names neither a mid nor an m-line index.
    #[error("candidate names neither sdpMid nor sdpMLineIndex")]
    NoTarget,
}

/// What made a fingerprint malformed (RFC 8122 §5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FingerprintError {
    /// No hash function name.
    #[error("missing hash function")]
    MissingAlgorithm,
    /// The hash function name is not a token.
    #[error("hash function is not a token")]
    Algorithm,
    /// No fingerprint after the hash function.
    #[error("missing fingerprint bytes")]
    MissingBytes,
    /// The fingerprint is not colon-separated pairs of hex digits.
    #[error("fingerprint must be colon-separated pairs of hex digits")]
    Hex,
    /// The number of bytes does not match the hash function.
    #[error("{algorithm} fingerprint must have {expected} bytes, found {found}")]
    Length {
        /// The hash function's name.
        algorithm: &'static str,
        /// Its digest length.
        expected: usize,
        /// The number of bytes given.
        found: usize,
    },
    /// More than 64 bytes: no hash function in use has longer digests.
    #[error("fingerprint longer than 64 bytes")]
    TooLong,
}

/// How a remote description breaks the offer/answer rules (RFC 3264, RFC 8829).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolViolation {
    /// The answer has a different number of m-lines than the offer.
    #[error("answer has {answered} m-lines, the offer had {offered}")]
    SectionCount {
        /// m-lines in the offer.
        offered: usize,
        /// m-lines in the answer.
        answered: usize,
    },
    /// A new offer has fewer m-lines than were negotiated (m-lines are never removed,
    /// only rejected).
    #[error("offer has {offered} m-lines, {negotiated} were negotiated before")]
    SectionsRemoved {
        /// m-lines negotiated before.
        negotiated: usize,
        /// m-lines in the new offer.
        offered: usize,
    },
    /// An answer's m-line does not match the offer's at the same index (kind or mid).
    #[error("answer m-line {index} does not match the offer's (kind or mid differs)")]
    SectionMismatch {
        /// The m-line index.
        index: usize,
    },
    /// Two m-lines carry the same mid.
    #[error("mid {0} appears on more than one m-line")]
    DuplicateMid(Mid),
    /// A BUNDLE group names a mid that no m-line has.
    #[error("BUNDLE group names mid {0}, which no m-line carries")]
    UnknownBundleMid(Mid),
    /// An answer's BUNDLE group names a mid the offer did not bundle.
    #[error("answer bundles mid {0}, which the offer did not bundle")]
    AnswerBundlesUnofferedMid(Mid),
    /// An accepted m-line that carries a transport has no `a=mid`.
    #[error("accepted m-line {index} has no a=mid")]
    MissingMid {
        /// The m-line index.
        index: usize,
    },
    /// An accepted m-line has no ICE ufrag/pwd, at media or session level.
    #[error("m-line {index} has no ice-ufrag/ice-pwd")]
    MissingIceCredentials {
        /// The m-line index.
        index: usize,
    },
    /// An accepted m-line has no fingerprint, at media or session level.
    #[error("m-line {index} has no DTLS fingerprint")]
    MissingFingerprint {
        /// The m-line index.
        index: usize,
    },
    /// The answer uses `a=setup:actpass`, which only an offer may use (RFC 8842 §5.3).
    #[error("answer uses a=setup:actpass")]
    AnswerSetupActpass,
    /// Both sides claim the same DTLS role.
    #[error("both sides claim the DTLS {0} role")]
    SetupConflict(&'static str),
    /// The answer accepts an m-line the offer rejected.
    #[error("answer accepts m-line {index}, which the offer rejected")]
    AcceptsRejected {
        /// The m-line index.
        index: usize,
    },
    /// A trickled candidate names a mid or m-line index that the remote description
    /// does not have.
    #[error("candidate for an m-line the remote description does not have")]
    CandidateTarget,
}

/// What a valid remote description asks for that this stack cannot do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Incompatibility {
    /// Accepted m-lines would need more than one transport: the peer does not bundle
    /// them and this stack runs one ICE/DTLS transport per connection.
    #[error("accepted m-lines are not bundled onto one transport")]
    Unbundled,
    /// The peer asks to hold the DTLS connection (`a=setup:holdconn`).
    #[error("peer asks for a=setup:holdconn")]
    SetupHoldconn,
    /// None of the peer's fingerprints uses a hash function we can verify.
    #[error("no fingerprint uses a supported hash function (sha-1/224/256/384/512)")]
    NoSupportedFingerprint,
}

/// A call the caller made, for [`Error::InvalidState`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// `create_offer`.
    CreateOffer,
    /// `create_answer`.
    CreateAnswer,
    /// `set_local_description` with an offer.
    SetLocalOffer,
    /// `set_local_description` with a provisional answer.
    SetLocalPranswer,
    /// `set_local_description` with an answer.
    SetLocalAnswer,
    /// `set_remote_description` with an offer.
    SetRemoteOffer,
    /// `set_remote_description` with a provisional answer.
    SetRemotePranswer,
    /// `set_remote_description` with an answer.
    SetRemoteAnswer,
    /// `rollback`.
    Rollback,
    /// Any call after `close`.
    AfterClose,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::CreateOffer => "creating an offer",
            Operation::CreateAnswer => "creating an answer",
            Operation::SetLocalOffer => "setting a local offer",
            Operation::SetLocalPranswer => "setting a local provisional answer",
            Operation::SetLocalAnswer => "setting a local answer",
            Operation::SetRemoteOffer => "setting a remote offer",
            Operation::SetRemotePranswer => "setting a remote provisional answer",
            Operation::SetRemoteAnswer => "setting a remote answer",
            Operation::Rollback => "rolling back",
            Operation::AfterClose => "any call after close",
        })
    }
}

/// An argument the caller passed that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Misuse {
    /// An ICE ufrag must be 4 to 256 ice-chars (RFC 8839 §5.4).
    #[error("ICE ufrag must be 4 to 256 characters of [A-Za-z0-9+/]")]
    IceUfrag,
    /// An ICE password must be 22 to 256 ice-chars (RFC 8839 §5.4).
    #[error("ICE password must be 22 to 256 characters of [A-Za-z0-9+/]")]
    IcePwd,
    /// A mid must be 1 to [`crate::limits::MAX_MID_BYTES`] token characters.
    #[error("mid must be 1 to {} token characters", crate::limits::MAX_MID_BYTES)]
    Mid,
    /// A payload type must be 0 to 127.
    #[error("payload type must be 0 to 127")]
    PayloadType,
    /// The configuration holds no DTLS fingerprint.
    #[error("at least one local DTLS fingerprint is needed")]
    NoFingerprint,
    /// The description passed to `set_local_description` is not the last one this
    /// negotiator created for that type.
    #[error("local description is not the one last created for this type")]
    NotCreatedLocally,
    /// An ICE restart was requested with the credentials already in use.
    #[error("ICE restart needs new credentials")]
    SameIceCredentials,
    /// The remote offer restarts ICE, so the answer needs new local credentials
    /// (`restart_ice`) first.
    #[error(
        "the remote offer restarts ICE: call restart_ice with new credentials before answering"
    )]
    RestartNeedsCredentials,
    /// A transceiver id that this negotiator did not hand out.
    #[error("unknown transceiver")]
    UnknownTransceiver,
    /// A codec preference that is not one of the configured capabilities of the
    /// transceiver's kind.
    #[error("codec preferences must be configured capabilities of the transceiver's kind")]
    UnknownCodec,
    /// [`crate::limits::MAX_TRANSCEIVERS`] transceivers exist already.
    #[error(
        "at most {} transceivers per connection",
        crate::limits::MAX_TRANSCEIVERS
    )]
    TooManyTransceivers,
    /// A track of another kind than the transceiver's.
    #[error("the track's kind differs from the transceiver's")]
    TransceiverKind,
    /// A local candidate with a component other than 1 (RTCP is always multiplexed).
    #[error("local candidates must be for component 1 (rtcp-mux is always on)")]
    CandidateComponent,
}
