//! Sans-IO SDP for WebRTC: a typed, bounds-checked SDP model with its own parser and
//! serializer, ICE candidates, and JSEP offer/answer with the signaling state machine.
//!
//! The [`Negotiator`] creates and applies offers and answers for one peer connection and
//! summarises every completed exchange as [`Negotiated`]: the remote ICE credentials and
//! candidates, our ICE and DTLS roles, the peer's certificate fingerprints, the BUNDLE
//! group, and the data channel's SCTP port and message size limits — what the ICE, DTLS
//! and data channel layers consume.
//!
//! ```
//! use strata_sdp::{
//!     Config, Description, DtlsRole, Fingerprint, IceCredentials, IceRole, MaxMessageSize,
//!     Negotiator, SdpType,
//! };
//!
//! // Our side: ICE credentials and the certificate fingerprint come from the layers below
//! // (the session id is a random number: randomness is an input).
//! let config = Config::new(
//!     0x1234_5678,
//!     IceCredentials::new("sTrA", "strataStrataStrataPw01")?,
//!     Fingerprint::sha256([0xAB; 32]),
//! );
//! let mut negotiator = Negotiator::new(config)?;
//! negotiator.want_data_channel();
//!
//! // Create and apply an offer, then send `offer.to_sdp_string()` to the peer.
//! let offer = negotiator.create_offer()?;
//! assert!(offer.to_sdp_string().contains("m=application 9 UDP/DTLS/SCTP webrtc-datachannel"));
//! negotiator.set_local_description(&offer)?;
//!
//! // The browser's answer comes back (here, one Chromium wrote).
//! let answer = "v=0\r\n\
//!     o=- 4477003048526254186 2 IN IP4 127.0.0.1\r\n\
//!     s=-\r\n\
//!     t=0 0\r\n\
//!     a=group:BUNDLE 0\r\n\
//!     a=extmap-allow-mixed\r\n\
//!     a=msid-semantic: WMS\r\n\
//!     m=application 57047 UDP/DTLS/SCTP webrtc-datachannel\r\n\
//!     c=IN IP4 127.0.0.1\r\n\
//!     a=candidate:2709702312 1 udp 2122260223 127.0.0.1 57047 typ host generation 0 network-id 1\r\n\
//!     a=ice-ufrag:CBdz\r\n\
//!     a=ice-pwd:xHw5IrNKBplEPs/jqeJO9GwE\r\n\
//!     a=ice-options:trickle\r\n\
//!     a=fingerprint:sha-256 0C:4C:E3:B3:E0:09:C1:E4:BD:46:24:58:83:68:BD:09:D1:E0:E1:4D:C7:02:BF:9E:84:83:16:F0:ED:A8:5A:B3\r\n\
//!     a=setup:active\r\n\
//!     a=mid:0\r\n\
//!     a=sctp-port:5000\r\n\
//!     a=max-message-size:262144\r\n";
//! let applied = negotiator.set_remote_description(Description::parse(SdpType::Answer, answer)?)?;
//!
//! // What the layers below need.
//! let negotiated = applied.negotiated.expect("an answer completes the exchange");
//! let transport = negotiated.transport.expect("the data section was accepted");
//! assert_eq!(transport.remote_ice.ufrag.as_str(), "CBdz");
//! assert_eq!(transport.ice_role, IceRole::Controlling); // we offered
//! assert_eq!(transport.dtls_role, DtlsRole::Server); // the browser chose setup:active
//! assert_eq!(transport.remote_candidates.len(), 1);
//! let data = negotiated.data_channel.expect("data channel negotiated");
//! assert_eq!(data.remote_sctp_port, 5000);
//! assert_eq!(data.remote_max_message_size, MaxMessageSize::Bytes(262_144));
//! # Ok::<(), strata_sdp::Error>(())
//! ```
//!
//! # Layout
//!
//! - [`SessionDescription`] and the types of [`model`]: the SDP model; parsing
//!   ([`SessionDescription::parse`], see [`parse`] for what is accepted) and
//!   serialization (`Display`, CRLF, canonical order) round-trip.
//! - [`Candidate`] and [`TrickledCandidate`]: ICE candidates in and out of descriptions.
//! - [`Negotiator`]: offer/answer and the signaling state machine.
//! - [`media`]: codecs, transceivers and the media section negotiation.
//! - [`limits`]: every bound on what input can make this crate store.
//! - [`Error`]: one error type, classified by [`Blame`].
//!
//! # Where this departs from the RFCs
//!
//! - One transport per connection (max-bundle): sections the peer does not bundle are
//!   rejected in our answers, and an answer that leaves accepted sections unbundled is
//!   [`Incompatibility::Unbundled`].
//! - RTCP is always multiplexed (`a=rtcp-mux`); media sections are only accepted with
//!   a DTLS-SRTP profile.
//! - Accepted sections must carry `a=mid` (every stack of the last years does).
//! - `set_remote_description` with an offer in `have-local-offer` rolls our offer back
//!   first, as the W3C API does (JSEP would reject it).

pub mod candidate;
mod error;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzz;
pub mod limits;
pub mod media;
pub mod model;
pub mod negotiation;
pub mod parse;
mod serialize;

pub use candidate::{
    Candidate, CandidateAddress, CandidateTransport, CandidateType, TcpType, TrickledCandidate,
};
pub use error::{
    Blame, CandidateError, Error, FingerprintError, Incompatibility, Limit, Misuse, Operation,
    ProtocolViolation, SyntaxError,
};
pub use media::{
    Codec, HeaderExtension, MediaCapabilities, NegotiatedCodec, NegotiatedMedia, Transceiver,
    TransceiverId, TransceiverInit,
};
pub use model::{
    Direction, Fingerprint, HashAlgorithm, IceCredentials, IcePwd, IceUfrag, MediaDescription,
    MediaKind, Mid, PayloadType, Proto, SessionDescription, Setup, Ssrc,
};
pub use negotiation::{
    CandidateOutcome, Config, DataChannelConfig, Description, DtlsRole, IceRole, LocalApplied,
    MaxMessageSize, Negotiated, NegotiatedDataChannel, Negotiator, NegotiatorStats, RemoteApplied,
    SdpType, SignalingState, TransportParameters,
};
