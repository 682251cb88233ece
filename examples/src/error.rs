//! What can go wrong in the examples' own plumbing (signaling lines, standard input).

use strata::SdpType;

/// Why a signaling or chat line could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading standard input failed (transport failure).
    #[error("cannot read standard input")]
    Io(#[source] std::io::Error),
    /// A line longer than allowed (the user's input); it was skipped whole.
    #[error("a line of {len} bytes is longer than the limit of {max} bytes; it was skipped")]
    LineTooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A line that is not UTF-8 (the user's input); it was skipped.
    #[error("a line is not valid UTF-8; it was skipped")]
    NotUtf8,
    /// Standard input ended before the peer's description arrived.
    #[error("standard input ended before the peer's {expected:?} line")]
    MissingDescription {
        /// The kind of description that was expected.
        expected: SdpType,
    },
    /// A signaling line that is not a session description in JSON (malformed input).
    #[error(r#"expected a JSON line like {{"type":"offer","sdp":"v=0..."}}"#)]
    Json(#[source] serde_json::Error),
    /// A description of another kind than expected (an offer where an answer belongs).
    #[error("expected the peer's {expected:?}, got an {got:?}")]
    UnexpectedType {
        /// The kind that belongs here.
        expected: SdpType,
        /// The kind that arrived.
        got: SdpType,
    },
}
