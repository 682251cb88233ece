//! What can go wrong in the examples' own plumbing: signaling lines, standard input, the
//! `chat` program's server URL, the chat messages peers send, and media files.

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
    /// A `--server` value that is not a `ws:`, `wss:`, `http:` or `https:` URL (the
    /// user's input).
    #[error("--server {url}: {reason}")]
    ServerUrl {
        /// What was given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A chat message from a peer that is not the demo page's JSON `{"text": "..."}`
    /// (the peer's fault); it was skipped.
    #[error(r#"a chat message is not JSON like {{"text":"..."}}"#)]
    ChatJson(#[source] serde_json::Error),
    /// A chat message whose JSON has no string `text` member (the peer's fault).
    #[error("a chat message has no string `text` member")]
    ChatTextMissing,
    /// A binary message where the chat carries text (the peer's fault).
    #[error("a chat message of {len} bytes is binary, not JSON text")]
    ChatBinary {
        /// Its length in bytes.
        len: usize,
    },
    /// A line too long to send as one chat message once encoded as JSON (the user's
    /// input); it was not sent.
    #[error(
        "the line is {len} bytes once encoded, over the {max}-byte message limit; it was not sent"
    )]
    ChatTooLong {
        /// Encoded length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The signaling server could not be reached, refused the join, or ended the session.
    #[error("signaling with the server failed")]
    Signaling(#[source] strata_signal::Error),
    /// Writing the chat to standard output failed (transport failure).
    #[error("cannot write to standard output")]
    Output(#[source] std::io::Error),
    /// A media file could not be opened, created or written (the system's or the
    /// user's path).
    #[error("{}", path.display())]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// A media file is corrupt, or could not be written in its format.
    #[error("{}", path.display())]
    MediaFile {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        source: strata_media::Error,
    },
    /// A media file in a format or codec the program does not handle (the user's input).
    #[error("{}: {reason}", path.display())]
    UnsupportedFile {
        /// The file.
        path: std::path::PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// A track stopped taking samples: its connection closed.
    #[error("cannot send media")]
    Send(#[source] strata::Error),
}
