//! Errors of the DTLS-SRTP layer, by who is at fault.

use std::fmt;
use std::time::Duration;

use crate::certificate::Fingerprint;
use crate::keying::SrtpProfile;
use crate::srtp::{PacketError, Ssrc};

/// The error underneath (a [`ProtocolError`](crate::ProtocolError) of the handshake, or
/// the ICE channel's), kept as a source.
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
    /// SRTP keying material whose key or salt length does not fit its profile.
    #[error("SRTP keys of the wrong length for {profile:?}")]
    SrtpKeyLength {
        /// The profile the keys claim.
        profile: SrtpProfile,
    },
    /// A packet handed to `protect_*` is not a well-formed RTP or RTCP packet.
    #[error("cannot protect an invalid packet: {0}")]
    InvalidPacket(PacketError),
    /// The output buffer handed to an SRTP call is too small.
    #[error("SRTP output buffer of {len} bytes, {needed} needed")]
    BufferTooSmall {
        /// The buffer's length.
        len: usize,
        /// What the call needs.
        needed: usize,
    },
    /// Protecting a packet of one more local SSRC would exceed
    /// `SrtpConfig::max_local_ssrcs`.
    #[error("SSRC {ssrc} exceeds the limit of local SSRCs")]
    LocalSsrcLimit {
        /// The SSRC refused.
        ssrc: Ssrc,
    },
    /// The key has protected all the packets it may (2^48 SRTP or 2^31 SRTCP packets of
    /// one SSRC, RFC 3711 §9.2): the connection needs new keys (a new DTLS handshake).
    #[error("SRTP key exhausted for SSRC {ssrc}; new keys are needed")]
    KeyExhausted {
        /// The SSRC whose index space is used up.
        ssrc: Ssrc,
    },

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

    /// An inbound SRTP or SRTCP packet that is malformed (refused before any key was
    /// used, or found malformed once decrypted).
    #[error("malformed SRTP packet: {0}")]
    MalformedPacket(PacketError),
    /// An inbound packet whose authentication tag does not verify: forged, corrupted, or
    /// under other keys.
    #[error("SRTP authentication failed for SSRC {ssrc}")]
    AuthenticationFailed {
        /// The SSRC the packet claims.
        ssrc: Ssrc,
    },
    /// An inbound packet already received, or older than the replay window.
    #[error("replayed SRTP packet: SSRC {ssrc}, index {index}")]
    Replayed {
        /// The packet's SSRC.
        ssrc: Ssrc,
        /// Its extended index (SRTCP index for RTCP) as we estimated it.
        index: u64,
    },
    /// An SRTCP packet with the E flag cleared. WebRTC never negotiates unencrypted
    /// SRTCP, so such a packet is refused whatever its tag.
    #[error("unencrypted SRTCP packet refused")]
    UnencryptedSrtcp,
    /// An inbound packet of a new SSRC beyond `SrtpConfig::max_remote_ssrcs`.
    #[error("SSRC {ssrc} exceeds the limit of remote SSRCs")]
    RemoteSsrcLimit {
        /// The SSRC refused.
        ssrc: Ssrc,
    },

    // --- the transport ---
    /// The connection is closed (by us, by the peer's `close_notify`, or underneath).
    #[error("DTLS connection is closed")]
    Closed,
    /// Application data larger than one DTLS record carries
    /// ([`MAX_RECORD_PLAINTEXT`](crate::MAX_RECORD_PLAINTEXT)).
    #[error("{0} bytes do not fit one DTLS record")]
    RecordTooLarge(usize),
    /// Reading or writing application data failed.
    #[error("DTLS transport failed")]
    Transport(#[source] Upstream),
}
