//! The crate's error type, classified by who is at fault.

use crate::error_code::ErrorObject;

/// Everything that can go wrong in signaling, grouped by blame.
///
/// - bad bytes from the other side: [`Error::MalformedFrame`];
/// - the other side broke the protocol: [`Error::ProtocolViolation`];
/// - the server refused a request (its decision, with a code): [`Error::Rejected`];
/// - the caller misused the API: [`Error::InvalidArgument`], [`Error::NotJoined`],
///   [`Error::TooManyPending`];
/// - the transport failed or went quiet: [`Error::Timeout`], [`Error::Disconnected`],
///   [`Error::Transport`], [`Error::Closed`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A frame is not valid JSON-RPC 2.0 for this protocol (the error object says how;
    /// its code is what a server answers).
    #[error("malformed frame: {0}")]
    MalformedFrame(ErrorObject),

    /// The other side sent something well-formed that the protocol does not allow here.
    #[error("protocol violation: {reason}")]
    ProtocolViolation {
        /// What it did.
        reason: String,
    },

    /// The server answered a request with an error object.
    #[error("server refused `{method}`: {error}")]
    Rejected {
        /// The request's method.
        method: &'static str,
        /// The server's error (code, message, data).
        error: ErrorObject,
    },

    /// An argument is out of the protocol's bounds.
    #[error("invalid {what}: {reason}")]
    InvalidArgument {
        /// Which argument.
        what: &'static str,
        /// Why it is refused.
        reason: String,
    },

    /// The call needs a joined room and the session is not in one (not yet, or not any
    /// more: left, kicked, room closed, or reconnecting).
    #[error("not joined to a room")]
    NotJoined,

    /// Too many requests await their response (see [`crate::SessionConfig::max_pending`]).
    #[error("{limit} requests already await a response")]
    TooManyPending {
        /// The configured bound.
        limit: usize,
    },

    /// No response arrived within the request timeout.
    #[error("`{method}` got no response in time")]
    Timeout {
        /// The request's method.
        method: &'static str,
    },

    /// The connection dropped before the response arrived.
    #[error("the connection dropped before `{method}` was answered")]
    Disconnected {
        /// The request's method.
        method: &'static str,
    },

    /// The WebSocket transport failed (connect, TLS, I/O).
    #[error("signaling transport failed: {reason}")]
    Transport {
        /// What failed.
        reason: String,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// The client was shut down, gave up reconnecting, or was removed from its room.
    #[error("signaling client closed: {reason}")]
    Closed {
        /// Why.
        reason: String,
    },
}

impl Error {
    /// The JSON-RPC error code the server answered with, if this is a refusal.
    pub fn rejection_code(&self) -> Option<crate::ErrorCode> {
        match self {
            Self::Rejected { error, .. } => Some(error.code),
            _ => None,
        }
    }
}
