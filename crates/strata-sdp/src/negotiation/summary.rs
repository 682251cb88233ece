//! What a completed offer/answer exchange tells the layers below: the typed summary the
//! ICE, DTLS and data-channel layers consume.

use crate::candidate::Candidate;
use crate::media::NegotiatedMedia;
use crate::model::{Fingerprint, IceCredentials, Mid};

/// The DTLS role this side takes, derived from `a=setup` (RFC 8842 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DtlsRole {
    /// We initiate the handshake (`a=setup:active` on our side).
    Client,
    /// We wait for the `ClientHello` (`a=setup:passive` on our side).
    Server,
}

/// The ICE role this side takes (RFC 8445 §6.1.1, RFC 8839 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IceRole {
    /// We nominate pairs: the offerer, or the full agent facing a lite one.
    Controlling,
    /// The peer nominates.
    Controlled,
}

/// The largest message the peer accepts on a data channel (RFC 8841 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MaxMessageSize {
    /// The peer advertised `a=max-message-size:0`: no limit.
    Unlimited,
    /// At most this many bytes; 65536 when the peer said nothing (RFC 8841 §6.1).
    Bytes(u64),
}

impl MaxMessageSize {
    /// The default when `a=max-message-size` is absent: 64 KiB.
    pub const DEFAULT: MaxMessageSize = MaxMessageSize::Bytes(65_536);

    /// From the attribute value, applying the RFC's default and its meaning of 0.
    pub fn from_attribute(value: Option<u64>) -> Self {
        match value {
            None => MaxMessageSize::DEFAULT,
            Some(0) => MaxMessageSize::Unlimited,
            Some(bytes) => MaxMessageSize::Bytes(bytes),
        }
    }

    /// Whether a message of `len` bytes fits.
    pub fn allows(self, len: u64) -> bool {
        match self {
            MaxMessageSize::Unlimited => true,
            MaxMessageSize::Bytes(max) => len <= max,
        }
    }
}

/// The single ICE + DTLS transport every accepted section shares (max-bundle).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransportParameters {
    /// The mid whose section carries the transport (the BUNDLE tag).
    pub mid: Mid,
    /// Every mid bundled on this transport, in m-line order.
    pub bundle_mids: Vec<Mid>,
    /// Our ICE credentials for this generation.
    pub local_ice: IceCredentials,
    /// The peer's ICE credentials (section-level, else session-level).
    pub remote_ice: IceCredentials,
    /// The peer is an ICE lite agent (`a=ice-lite`).
    pub remote_ice_lite: bool,
    /// Whether the peer announced trickle ICE (`a=ice-options:trickle`).
    pub remote_trickle: bool,
    /// Our ICE role.
    pub ice_role: IceRole,
    /// The peer's certificate fingerprints (section-level, else session-level); the
    /// handshake must match one of them.
    pub remote_fingerprints: Vec<Fingerprint>,
    /// Our DTLS role.
    pub dtls_role: DtlsRole,
    /// The peer's candidates known when the exchange completed: those in its
    /// description plus those trickled before. Later ones arrive through
    /// [`Negotiator::add_remote_candidate`](crate::Negotiator::add_remote_candidate).
    /// After a renegotiation that kept the ICE generation this repeats candidates the
    /// agent already has (a peer's re-offer lists them again); adding a known candidate
    /// again is harmless to an ICE agent.
    pub remote_candidates: Vec<Candidate>,
    /// The peer signalled end-of-candidates.
    pub remote_end_of_candidates: bool,
}

/// The negotiated data channel (SCTP) section.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NegotiatedDataChannel {
    /// Its mid.
    pub mid: Mid,
    /// Our SCTP port.
    pub local_sctp_port: u16,
    /// The peer's SCTP port (`a=sctp-port`, legacy `a=sctpmap`, or 5000).
    pub remote_sctp_port: u16,
    /// What we advertised.
    pub local_max_message_size: MaxMessageSize,
    /// What the peer accepts; enforce it on send.
    pub remote_max_message_size: MaxMessageSize,
}

/// The result of an offer/answer exchange (final or provisional): everything the layers
/// below need.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Negotiated {
    /// The transport, absent when every section was rejected.
    pub transport: Option<TransportParameters>,
    /// The data channel section, when one was accepted.
    pub data_channel: Option<NegotiatedDataChannel>,
    /// Accepted audio/video sections, in m-line order.
    pub media: Vec<NegotiatedMedia>,
    /// Whether this exchange restarted ICE (new credentials on either side).
    pub ice_restart: bool,
    /// Whether this exchange is provisional (a pranswer).
    pub provisional: bool,
}
