//! Errors of the DTLS-SRTP layer, by who is at fault.

use std::fmt;
use std::time::Duration;

use crate::certificate::Fingerprint;

/// An upstream (`dtls`) error, kept as a source without exposing its type.
pub struct Upstream(Box<dyn std::error::Error + Send + Sync>);

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

impl std::error::Error for Upstream {}

/// What went wrong in the DTLS-SRTP layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // --- the caller's input ---
    /// A certificate or key that cannot be used.
    #[error("unusable certificate: {0}")]
    Certificate(String),
    /// A fingerprint that does not parse (bad hash name, hex, or length).
    #[error("invalid certificate fingerprint: {0}")]
    InvalidFingerprint(&'static str),
    /// A configuration the handshake cannot run with.
    #[error("invalid DTLS configuration: {0}")]
    Config(&'static str),

    // --- the remote peer ---
    /// The peer's certificate does not match any fingerprint its description announced.
    #[error(
        "the peer's certificate fingerprint {actual} matches none announced in its description"
    )]
    FingerprintMismatch {
        /// Fingerprint of the certificate the peer presented.
        actual: Fingerprint,
    },
    /// The peer presented no certificate.
    #[error("the peer presented no certificate")]
    NoCertificate,
    /// The handshake failed (protocol error, alert, no common cipher suite, no extended
    /// master secret).
    #[error("DTLS handshake failed")]
    Handshake(#[source] Upstream),
    /// The handshake did not finish in time.
    #[error("DTLS handshake did not complete within {0:?}")]
    HandshakeTimeout(Duration),

    // --- the transport ---
    /// The connection is closed (by us, by the peer's `close_notify`, or underneath).
    #[error("DTLS connection is closed")]
    Closed,
    /// Reading or writing application data failed.
    #[error("DTLS transport failed")]
    Transport(#[source] Upstream),
}
