//! DTLS-SRTP for Strata: the handshake that secures a WebRTC connection and keys its media.
//!
//! Each side has a [`Certificate`] (self-signed ECDSA P-256, or supplied) whose
//! [`Fingerprint`] travels in SDP. [`handshake`] runs DTLS 1.2 over an ICE
//! [`PacketChannel`](strata_ice::PacketChannel) in the role `a=setup` decided, checks the
//! peer's certificate against the announced fingerprints *during* the handshake, requires
//! the extended master secret, and yields a [`DtlsTransport`] for application data (SCTP)
//! plus the [`SrtpKeyingMaterial`] for media. An [`SrtpSession`] (module [`srtp`], sans-IO)
//! keyed with it protects and unprotects the connection's RTP and RTCP.
//!
//! ```
//! use strata_dtls_srtp::{
//!     handshake, Certificate, DtlsConfig, DtlsRole, SrtpConfig, SrtpProfile, SrtpSession,
//! };
//! # use strata_ice::{CandidatePolicy, IceAgent, IceConfig, IceConnectionState, IceEvent, IceRole};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let (ice_a, ice_b) = connected_ice_pair().await?;
//! let (cert_a, cert_b) = (Certificate::generate()?, Certificate::generate()?);
//! // Each side learns the other's fingerprint from its session description.
//! let client = DtlsConfig::new(cert_a.clone(), DtlsRole::Client, vec![cert_b.fingerprint().clone()]);
//! let server = DtlsConfig::new(cert_b, DtlsRole::Server, vec![cert_a.fingerprint().clone()]);
//! let (a, b) = tokio::try_join!(
//!     handshake(ice_a.dtls_channel(), client),
//!     handshake(ice_b.dtls_channel(), server),
//! )?;
//!
//! a.send(b"over DTLS").await?;
//! let mut buf = [0u8; 64];
//! let n = b.recv(&mut buf).await?;
//! assert_eq!(&buf[..n], b"over DTLS");
//!
//! // Both sides derived the same SRTP keys, mirrored.
//! let (keys_a, keys_b) = (a.srtp_keying().unwrap(), b.srtp_keying().unwrap());
//! assert_eq!(keys_a.profile, SrtpProfile::AeadAes128Gcm);
//! assert_eq!(keys_a.local, keys_b.remote);
//!
//! // ...which key one SRTP session per side.
//! let mut srtp_a = SrtpSession::new(&keys_a, SrtpConfig::default())?;
//! let mut srtp_b = SrtpSession::new(&keys_b, SrtpConfig::default())?;
//! let rtp = [0x80, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0, 42, 0xfc, 0xff];
//! let mut wire = [0u8; 64];
//! let len = srtp_a.protect_rtp(&rtp, &mut wire)?;
//! let plain = srtp_b.unprotect_rtp_in_place(&mut wire[..len])?;
//! assert_eq!(&wire[..plain], &rtp);
//! # Ok(())
//! # }
//! # async fn connected_ice_pair() -> Result<(IceAgent, IceAgent), Box<dyn std::error::Error>> {
//! #     let config = IceConfig {
//! #         policy: CandidatePolicy { include_loopback: true, ipv6: false, ..CandidatePolicy::default() },
//! #         mdns: false,
//! #         ..IceConfig::default()
//! #     };
//! #     let (a, mut a_events) = IceAgent::new(config.clone()).await?;
//! #     let (b, mut b_events) = IceAgent::new(config).await?;
//! #     a.gather()?;
//! #     b.gather()?;
//! #     a.start(IceRole::Controlling, b.local_credentials())?;
//! #     b.start(IceRole::Controlled, a.local_credentials())?;
//! #     async fn until_connected(events: &mut tokio::sync::mpsc::Receiver<IceEvent>, peer: &IceAgent) -> Result<(), strata_ice::Error> {
//! #         while let Some(event) = events.recv().await {
//! #             match event {
//! #                 IceEvent::LocalCandidate(candidate) => peer.add_remote_candidate(&candidate)?,
//! #                 IceEvent::StateChanged(IceConnectionState::Connected) => return Ok(()),
//! #                 _ => {}
//! #             }
//! #         }
//! #         Err(strata_ice::Error::Closed)
//! #     }
//! #     tokio::try_join!(until_connected(&mut a_events, &b), until_connected(&mut b_events, &a))?;
//! #     Ok((a, b))
//! # }
//! ```
//!
//! # The DTLS is ours
//!
//! The handshake and the record layer are a sans-IO DTLS 1.2 of our own (the private
//! `protocol` module; [`handshake`] and [`DtlsTransport`] are the IO around it), written
//! for what WebRTC needs and checked against the `dtls` crate (webrtc-rs) in both roles,
//! against Chromium, and against libdatachannel:
//!
//! - ECDHE (X25519 or P-256) with AES-128-GCM, ECDSA or Ed25519 certificates, the extended
//!   master secret required (RFC 7627), `use_srtp` (RFC 5764) with the SRTP keys exported
//!   as RFC 5705 says.
//! - The peer's certificate is checked against the announced fingerprints as soon as its
//!   `Certificate` message arrives; a mismatch is [`Error::FingerprintMismatch`] with the
//!   fingerprint the peer actually presented, and a `bad_certificate` alert.
//! - As a server it answers the first `ClientHello` at once, without the
//!   `HelloVerifyRequest` cookie round trip (optional in RFC 6347 §4.2.1; ICE's
//!   authenticated connectivity checks already prove the client's address). As a client
//!   it answers a server's cookie.
//! - As a client it may send application data right after its last flight (False Start,
//!   RFC 7918: ECDHE with an AEAD, the server already authenticated), so [`handshake`]
//!   returns then and the transport reads the server's `Finished`; a server keeps a few
//!   records that overtake that flight and reads them once established.
//! - No task of its own: the handshake runs in the caller's future, and application data
//!   is sealed in [`DtlsTransport::send`] and opened in [`DtlsTransport::recv`].
//! - Every inbound datagram passes a [`record::RecordValidator`] first, and the parsers
//!   behind it check every length; refusals are counted ([`DtlsStats::malformed_dropped`],
//!   [`DtlsStats::records_rejected`]).
//!
//! # Where this departs from `webrtc-srtp`
//!
//! SRTP is ours ([`srtp`]): `webrtc-srtp` 0.17.2 accepts AES-CM SRTCP with the E flag
//! cleared without checking its tag, panics on some malformed packets, grows its
//! per-SSRC state without bound and allocates per packet. The [`srtp`] module docs list
//! every difference; its tests cross-check both profiles against `webrtc-srtp`.

// Lets unit tests share the integration tests' helpers, which name the crate.
#[cfg(test)]
extern crate self as strata_dtls_srtp;

mod certificate;
mod error;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
mod keying;
mod protocol;
pub mod record;
pub mod srtp;
mod transport;

pub use certificate::{Certificate, Fingerprint, HashFunction};
pub use error::{Error, Upstream};
pub use keying::{SrtpKeyingMaterial, SrtpKeys, SrtpProfile};
pub use protocol::ProtocolError;
pub use srtp::{SrtpConfig, SrtpSession, SrtpStats, Ssrc};
pub use transport::{
    DtlsConfig, DtlsRole, DtlsStats, DtlsTransport, MAX_RECORD_PLAINTEXT, handshake,
};
