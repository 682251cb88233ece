//! The facade's error type: each layer's own error, plus misuse of the facade itself.

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A call that does not fit the current state (sending on a channel that is not open,
    /// creating an answer without a remote offer, ...).
    #[error("invalid state: {0}")]
    InvalidState(&'static str),
    /// A configuration that cannot work.
    #[error("invalid configuration: {0}")]
    InvalidConfig(&'static str),
    /// Negotiation failed: a malformed or incompatible description, or a call out of order.
    #[error(transparent)]
    Sdp(#[from] strata_sdp::Error),
    /// ICE failed or refused input.
    #[error(transparent)]
    Ice(#[from] strata_ice::Error),
    /// The DTLS handshake failed (a fingerprint mismatch included).
    #[error(transparent)]
    Dtls(#[from] strata_dtls_srtp::Error),
    /// The data channel layer failed or refused input.
    #[error(transparent)]
    DataChannel(#[from] strata_datachannel::Error),
    /// The media session refused a sample or request (a sample it cannot packetize, a
    /// full output queue, a feature the peer did not negotiate).
    #[error(transparent)]
    Media(#[from] strata_media::Error),
    /// The peer connection is closed.
    #[error("the peer connection is closed")]
    Closed,
}
