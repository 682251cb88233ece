//! Our DTLS 1.2 (RFC 6347), sans-IO: the handshake WebRTC needs and the record protection
//! after it.
//!
//! One cipher suite family, ECDHE with AES-128-GCM (`TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256`,
//! and its RSA twin offered to peers with RSA certificates), key exchange over X25519 or
//! P-256, mutual certificate authentication checked against the fingerprints from SDP, the
//! extended master secret required (RFC 7627), and `use_srtp` (RFC 5764) with the SRTP
//! keys exported by RFC 5705. Every browser and WebRTC stack offers this suite first.
//!
//! Where it departs from a general-purpose DTLS: as a server it does not send a
//! `HelloVerifyRequest`. RFC 6347 §4.2.1 makes the cookie exchange optional; its purpose,
//! proving the client owns its address, is already served by ICE, whose connectivity
//! checks are authenticated with the credentials from SDP. This saves a round trip on
//! every connection. As a client it answers a `HelloVerifyRequest` as the RFC says.
//! Session resumption and renegotiation are not offered (WebRTC uses neither).
//!
//! [`Handshake`] consumes datagrams and timer expiries and produces datagrams;
//! [`Established`] is what it leaves: the keys of both directions, the replay window, and
//! what a server needs to repeat its last flight.

mod crypto;
mod der;
mod machine;
mod reassembly;
mod replay;
pub(crate) mod wire;

pub(crate) use crypto::{MAX_SEQUENCE, RECORD_OVERHEAD, RecordCipher, Signer};
pub(crate) use machine::{Handshake, HandshakeParams};
pub(crate) use replay::ReplayWindow;

use crate::certificate::Fingerprint;

/// Why a handshake failed, or why a record was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// A message that does not parse.
    #[error("malformed DTLS message")]
    Decode,
    /// A message that parses but breaks the protocol.
    #[error("DTLS protocol violation: {0}")]
    Illegal(&'static str),
    /// Nothing both sides support (cipher suite, group, signature scheme, extended
    /// master secret).
    #[error("DTLS negotiation failed: {0}")]
    Negotiation(&'static str),
    /// A message where another was due.
    #[error("unexpected DTLS handshake message: {0}")]
    Unexpected(&'static str),
    /// A certificate whose public key cannot be found or used.
    #[error("the peer's certificate cannot be used")]
    BadCertificate,
    /// The peer presented no certificate.
    #[error("the peer presented no certificate")]
    NoCertificate,
    /// The peer's certificate matches none of the fingerprints it announced.
    #[error("the peer's certificate fingerprint {0} matches none announced")]
    FingerprintMismatch(Fingerprint),
    /// A signature by the peer's key that does not verify.
    #[error("the peer's handshake signature does not verify")]
    BadSignature,
    /// The peer's `Finished` does not match the handshake we saw.
    #[error("the peer's Finished message does not match the handshake")]
    BadFinished,
    /// A record that does not authenticate (dropped, never fatal in DTLS).
    #[error("DTLS record failed authentication")]
    BadRecordMac,
    /// The peer sent a fatal alert (RFC 5246 §7.2 description code).
    #[error("the peer sent DTLS alert {0}")]
    PeerAlert(u8),
    /// Something on our side failed (randomness, key generation, signing).
    #[error("DTLS internal error: {0}")]
    Internal(&'static str),
}

/// Alert descriptions (RFC 5246 §7.2).
pub(crate) mod alert {
    pub(crate) const CLOSE_NOTIFY: u8 = 0;
    pub(crate) const UNEXPECTED_MESSAGE: u8 = 10;
    pub(crate) const BAD_RECORD_MAC: u8 = 20;
    pub(crate) const HANDSHAKE_FAILURE: u8 = 40;
    pub(crate) const BAD_CERTIFICATE: u8 = 42;
    pub(crate) const ILLEGAL_PARAMETER: u8 = 47;
    pub(crate) const DECODE_ERROR: u8 = 50;
    pub(crate) const DECRYPT_ERROR: u8 = 51;
    pub(crate) const INTERNAL_ERROR: u8 = 80;
    /// `warning` level; `fatal` is 2.
    pub(crate) const LEVEL_WARNING: u8 = 1;
    pub(crate) const LEVEL_FATAL: u8 = 2;
}

impl ProtocolError {
    /// The alert that tells the peer about this error, if one should be sent.
    pub(crate) fn alert(&self) -> Option<u8> {
        Some(match self {
            Self::Decode => alert::DECODE_ERROR,
            Self::Illegal(_) => alert::ILLEGAL_PARAMETER,
            Self::Negotiation(_) | Self::NoCertificate => alert::HANDSHAKE_FAILURE,
            Self::Unexpected(_) => alert::UNEXPECTED_MESSAGE,
            Self::BadCertificate | Self::FingerprintMismatch(_) => alert::BAD_CERTIFICATE,
            Self::BadSignature | Self::BadFinished => alert::DECRYPT_ERROR,
            Self::BadRecordMac => alert::BAD_RECORD_MAC,
            Self::Internal(_) => alert::INTERNAL_ERROR,
            Self::PeerAlert(_) => return None,
        })
    }
}
