//! Errors of the ICE layer, by who is at fault.

use std::fmt;

use crate::url::UrlError;

/// An upstream (webrtc-ice) error, kept as a source without exposing its type.
pub struct Upstream(pub(crate) Box<dyn std::error::Error + Send + Sync>);

impl Upstream {
    pub(crate) fn new(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Box::new(error))
    }
}

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for Upstream {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// What went wrong in the ICE layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // --- the caller's input ---
    /// An ICE server URL that does not parse.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// A configuration the agent cannot run with.
    #[error("invalid ICE configuration: {0}")]
    Config(&'static str),
    /// A call that does not fit the agent's state (e.g. starting twice).
    #[error("ICE agent misuse: {0}")]
    Misuse(&'static str),

    // --- the remote peer's input ---
    /// A remote candidate that does not parse or names an unusable address.
    #[error("invalid remote ICE candidate `{candidate}`")]
    InvalidCandidate {
        /// The candidate as given.
        candidate: String,
        /// Why it was refused.
        #[source]
        source: Upstream,
    },
    /// Remote ICE credentials that RFC 8445 does not allow (empty, too short, too long).
    #[error("invalid remote ICE credentials: {0}")]
    InvalidCredentials(&'static str),

    // --- the network / local system ---
    /// The UDP socket could not be opened.
    #[error("cannot open the ICE socket")]
    Socket(#[source] std::io::Error),
    /// No candidate pair is selected yet (or any more): nothing can be sent.
    #[error("ICE is not connected")]
    NotConnected,
    /// Sending on the selected path failed.
    #[error("sending on the ICE path failed")]
    Send(#[source] std::io::Error),
    /// The agent is closed.
    #[error("ICE agent is closed")]
    Closed,
    /// webrtc-ice refused an operation.
    #[error("the ICE agent refused the operation")]
    Agent(#[source] Upstream),
}
