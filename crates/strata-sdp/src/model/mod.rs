//! The typed SDP model (RFC 8866) with the attributes WebRTC uses.
//!
//! A [`SessionDescription`] is parsed with [`SessionDescription::parse`] (see
//! [`crate::parse`] for what is accepted) and serialized with its `Display`
//! implementation, which writes CRLF line endings in a canonical order. Attributes this
//! model does not know are kept verbatim, in order, in the `other` fields, so a round
//! trip loses nothing a peer said. Parsing then serializing then parsing again yields an
//! equal model.

use std::fmt;

use crate::candidate::Candidate;

mod dtls;
mod ids;
mod rtp;

pub use dtls::{Fingerprint, HashAlgorithm, Setup};
pub use ids::{IceCredentials, IcePwd, IceUfrag, Mid, PayloadType, Ssrc};
pub(crate) use ids::{is_ice_char, is_token};
pub use rtp::{
    Direction, ExtMap, Msid, Rid, RtcpFeedback, RtpMap, RtpPayload, Simulcast, SimulcastStream,
    SsrcAttribute, SsrcGroup, fmtp_parameters,
};

/// A whole session description: the session part and its media sections.
///
/// ```text
/// v=0                                   (protocol version, always 0)
/// o=<user> <sess-id> <sess-version> IN IP4 <address>
/// s=<session name>
/// [i= u= e=* p=* c= b=*]
/// t=<start> <stop> [r=*]                (one or more)
/// [z= k=]
/// a=*                                   (session attributes)
/// m=<media> <port>[/<n>] <proto> <fmt>... (media sections, each with i= c=* b=* k= a=*)
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// `o=`.
    pub origin: Origin,
    /// `s=` (may be empty: some stacks send `s=`).
    pub session_name: String,
    /// `i=`.
    pub information: Option<String>,
    /// `u=`.
    pub uri: Option<String>,
    /// `e=` lines.
    pub emails: Vec<String>,
    /// `p=` lines.
    pub phones: Vec<String>,
    /// Session-level `c=`.
    pub connection: Option<ConnectionData>,
    /// Session-level `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// `t=` lines, each with its `r=` lines. Parsing fills in `t=0 0` when a stack leaves
    /// it out.
    pub timings: Vec<Timing>,
    /// `z=`, verbatim.
    pub time_zones: Option<String>,
    /// `k=` (obsolete), verbatim.
    pub encryption_key: Option<String>,
    /// `a=group` lines, e.g. `BUNDLE 0 1 2`.
    pub groups: Vec<Group>,
    /// `a=ice-lite`: the author is an ICE lite agent.
    pub ice_lite: bool,
    /// Session-level `a=ice-ufrag`: applies to every section that has none.
    pub ice_ufrag: Option<IceUfrag>,
    /// Session-level `a=ice-pwd`: applies to every section that has none.
    pub ice_pwd: Option<IcePwd>,
    /// Session-level `a=ice-options` tokens (`trickle`, `ice2`, ...).
    pub ice_options: Vec<String>,
    /// Session-level `a=fingerprint` lines: apply to every section that has none.
    pub fingerprints: Vec<Fingerprint>,
    /// Session-level `a=setup`: applies to every section that has none.
    pub setup: Option<Setup>,
    /// `a=extmap-allow-mixed` (RFC 8285 §6) at session level.
    pub extmap_allow_mixed: bool,
    /// Session-level `a=extmap` lines.
    pub extmaps: Vec<ExtMap>,
    /// `a=msid-semantic` lines (Chromium writes `a=msid-semantic: WMS`).
    pub msid_semantics: Vec<MsidSemantic>,
    /// Session-level direction (Firefox writes `a=sendrecv` here).
    pub direction: Option<Direction>,
    /// Every other session attribute, verbatim and in order.
    pub other: Vec<Attribute>,
    /// The media sections, in order.
    pub media: Vec<MediaDescription>,
}

impl SessionDescription {
    /// An empty description: `v=0`, the given origin, `s=-`, `t=0 0`, no attributes.
    pub fn new(origin: Origin) -> Self {
        SessionDescription {
            origin,
            session_name: "-".to_owned(),
            information: None,
            uri: None,
            emails: Vec::new(),
            phones: Vec::new(),
            connection: None,
            bandwidths: Vec::new(),
            timings: vec![Timing::default()],
            time_zones: None,
            encryption_key: None,
            groups: Vec::new(),
            ice_lite: false,
            ice_ufrag: None,
            ice_pwd: None,
            ice_options: Vec::new(),
            fingerprints: Vec::new(),
            setup: None,
            extmap_allow_mixed: false,
            extmaps: Vec::new(),
            msid_semantics: Vec::new(),
            direction: None,
            other: Vec::new(),
            media: Vec::new(),
        }
    }

    /// The mids of the first `a=group:BUNDLE` line, if any.
    pub fn bundle_group(&self) -> Option<&[Mid]> {
        self.groups
            .iter()
            .find(|g| g.semantics.eq_ignore_ascii_case("BUNDLE"))
            .map(|g| g.mids.as_slice())
    }

    /// The media section with `mid`, and its index.
    pub fn media_by_mid(&self, mid: &Mid) -> Option<(usize, &MediaDescription)> {
        self.media
            .iter()
            .enumerate()
            .find(|(_, m)| m.mid.as_ref() == Some(mid))
    }

    /// The ICE credentials that apply to `media`: its own, or the session's.
    pub fn ice_credentials_for(&self, media: &MediaDescription) -> Option<IceCredentials> {
        let ufrag = media.ice_ufrag.as_ref().or(self.ice_ufrag.as_ref())?;
        let pwd = media.ice_pwd.as_ref().or(self.ice_pwd.as_ref())?;
        Some(IceCredentials {
            ufrag: ufrag.clone(),
            pwd: pwd.clone(),
        })
    }

    /// The fingerprints that apply to `media`: its own, or else the session's.
    pub fn fingerprints_for<'a>(&'a self, media: &'a MediaDescription) -> &'a [Fingerprint] {
        if media.fingerprints.is_empty() {
            &self.fingerprints
        } else {
            &media.fingerprints
        }
    }

    /// The `a=setup` that applies to `media`: its own, or else the session's.
    pub fn setup_for(&self, media: &MediaDescription) -> Option<Setup> {
        media.setup.or(self.setup)
    }

    /// Whether `media` (or the session) carries `a=ice-options:trickle`.
    pub fn supports_trickle(&self, media: &MediaDescription) -> bool {
        media
            .ice_options
            .iter()
            .chain(&self.ice_options)
            .any(|o| o == "trickle")
    }
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The user name (`-` when none; Firefox writes `mozilla...THIS_IS_SDPARTA-99.0`).
    pub username: String,
    /// The session id (JSEP: a random 62-bit number).
    pub session_id: u64,
    /// The session version, incremented with each new local description.
    pub session_version: u64,
    /// Network type, `IN`.
    pub network_type: String,
    /// Address type, `IP4` or `IP6`.
    pub address_type: String,
    /// The originator's address (JSEP: `127.0.0.1` or `0.0.0.0`).
    pub unicast_address: String,
}

impl Origin {
    /// `o=- <session_id> <session_version> IN IP4 127.0.0.1`, as JSEP writes it.
    pub fn new(session_id: u64, session_version: u64) -> Self {
        Origin {
            username: "-".to_owned(),
            session_id,
            session_version,
            network_type: "IN".to_owned(),
            address_type: "IP4".to_owned(),
            unicast_address: "127.0.0.1".to_owned(),
        }
    }
}

/// `c=<nettype> <addrtype> <connection-address>` (RFC 8866 §5.7). The address is kept
/// verbatim (it may carry `/ttl` or be a host name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionData {
    /// `IN`.
    pub network_type: String,
    /// `IP4` or `IP6`.
    pub address_type: String,
    /// The address, verbatim.
    pub address: String,
}

impl ConnectionData {
    /// `IN IP4 0.0.0.0`, the placeholder JSEP uses before candidates exist.
    pub fn placeholder() -> Self {
        ConnectionData {
            network_type: "IN".to_owned(),
            address_type: "IP4".to_owned(),
            address: "0.0.0.0".to_owned(),
        }
    }
}

impl fmt::Display for ConnectionData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.network_type, self.address_type, self.address
        )
    }
}

/// `b=<bwtype>:<bandwidth>` (RFC 8866 §5.8), e.g. `AS:30`, `TIAS:500000`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bandwidth {
    /// `AS`, `CT`, `TIAS`, ...
    pub kind: String,
    /// The value (kbit/s for `AS`/`CT`, bit/s for `TIAS`).
    pub value: u64,
}

/// `t=<start> <stop>` with its `r=` lines (verbatim).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Timing {
    /// Start time (0 for unbounded).
    pub start: u64,
    /// Stop time (0 for unbounded).
    pub stop: u64,
    /// `r=` lines, verbatim.
    pub repeats: Vec<String>,
}

/// An attribute this model has no field for, kept verbatim: `a=<name>` or
/// `a=<name>:<value>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The attribute name.
    pub name: String,
    /// Everything after the first `:`, verbatim; `None` for a property attribute.
    pub value: Option<String>,
}

/// `a=group:<semantics> <mid>...` (RFC 5888 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// `BUNDLE`, `LS`, ...
    pub semantics: String,
    /// The grouped mids (may be empty: Chromium writes `a=group:BUNDLE` with none when it
    /// rejects every section).
    pub mids: Vec<Mid>,
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.semantics)?;
        for mid in &self.mids {
            write!(f, " {mid}")?;
        }
        Ok(())
    }
}

/// `a=msid-semantic:<semantic> [<identifier>...]` (legacy, still sent by every browser).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsidSemantic {
    /// `WMS`.
    pub semantic: String,
    /// Stream ids or `*`.
    pub identifiers: Vec<String>,
}

impl fmt::Display for MsidSemantic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.semantic)?;
        for id in &self.identifiers {
            write!(f, " {id}")?;
        }
        Ok(())
    }
}

/// The media type of an `m=` line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// `audio`.
    Audio,
    /// `video`.
    Video,
    /// `application` (data channels).
    Application,
    /// `text`.
    Text,
    /// `message`.
    Message,
    /// Any other token.
    Other(String),
}

impl MediaKind {
    /// The token as written in `m=`.
    pub fn as_str(&self) -> &str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
            MediaKind::Application => "application",
            MediaKind::Text => "text",
            MediaKind::Message => "message",
            MediaKind::Other(other) => other,
        }
    }

    pub(crate) fn parse(token: &str) -> Self {
        match token {
            "audio" => MediaKind::Audio,
            "video" => MediaKind::Video,
            "application" => MediaKind::Application,
            "text" => MediaKind::Text,
            "message" => MediaKind::Message,
            other => MediaKind::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for MediaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The transport protocol of an `m=` line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Proto {
    /// `UDP/DTLS/SCTP` (RFC 8841): data channels, format `webrtc-datachannel`.
    UdpDtlsSctp,
    /// `TCP/DTLS/SCTP` (RFC 8841).
    TcpDtlsSctp,
    /// `DTLS/SCTP`: the pre-RFC data channel form, format = the SCTP port, with
    /// `a=sctpmap`.
    DtlsSctp,
    /// `UDP/TLS/RTP/SAVPF` (RFC 5764): what browsers use for media.
    UdpTlsRtpSavpf,
    /// `UDP/TLS/RTP/SAVP`.
    UdpTlsRtpSavp,
    /// `RTP/SAVPF`: older browsers.
    RtpSavpf,
    /// `RTP/SAVP`.
    RtpSavp,
    /// `RTP/AVPF`.
    RtpAvpf,
    /// `RTP/AVP`.
    RtpAvp,
    /// Any other value, verbatim.
    Other(String),
}

impl Proto {
    /// The protocol as written in `m=`.
    pub fn as_str(&self) -> &str {
        match self {
            Proto::UdpDtlsSctp => "UDP/DTLS/SCTP",
            Proto::TcpDtlsSctp => "TCP/DTLS/SCTP",
            Proto::DtlsSctp => "DTLS/SCTP",
            Proto::UdpTlsRtpSavpf => "UDP/TLS/RTP/SAVPF",
            Proto::UdpTlsRtpSavp => "UDP/TLS/RTP/SAVP",
            Proto::RtpSavpf => "RTP/SAVPF",
            Proto::RtpSavp => "RTP/SAVP",
            Proto::RtpAvpf => "RTP/AVPF",
            Proto::RtpAvp => "RTP/AVP",
            Proto::Other(other) => other,
        }
    }

    pub(crate) fn parse(token: &str) -> Self {
        match token {
            "UDP/DTLS/SCTP" => Proto::UdpDtlsSctp,
            "TCP/DTLS/SCTP" => Proto::TcpDtlsSctp,
            "DTLS/SCTP" => Proto::DtlsSctp,
            "UDP/TLS/RTP/SAVPF" => Proto::UdpTlsRtpSavpf,
            "UDP/TLS/RTP/SAVP" => Proto::UdpTlsRtpSavp,
            "RTP/SAVPF" => Proto::RtpSavpf,
            "RTP/SAVP" => Proto::RtpSavp,
            "RTP/AVPF" => Proto::RtpAvpf,
            "RTP/AVP" => Proto::RtpAvp,
            other => Proto::Other(other.to_owned()),
        }
    }

    /// Whether this carries SCTP over DTLS (a data channel section).
    pub fn is_sctp(&self) -> bool {
        matches!(
            self,
            Proto::UdpDtlsSctp | Proto::TcpDtlsSctp | Proto::DtlsSctp
        )
    }

    /// Whether this carries secure RTP keyed by DTLS-SRTP, as WebRTC requires for media.
    pub fn is_dtls_srtp(&self) -> bool {
        matches!(
            self,
            Proto::UdpTlsRtpSavpf | Proto::UdpTlsRtpSavp | Proto::RtpSavpf | Proto::RtpSavp
        )
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Legacy `a=sctpmap:<port> <app> [<streams>]` (draft-ietf-mmusic-sctp-sdp-05), still
/// seen with `DTLS/SCTP` sections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SctpMap {
    /// The SCTP port (matches the `m=` format).
    pub port: u16,
    /// The application, `webrtc-datachannel`.
    pub app: String,
    /// The maximum number of streams, when given.
    pub streams: Option<u32>,
}

impl fmt::Display for SctpMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.port, self.app)?;
        if let Some(streams) = self.streams {
            write!(f, " {streams}")?;
        }
        Ok(())
    }
}

/// `a=rtcp:<port> [<nettype> <addrtype> <address>]` (RFC 3605).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtcpAddress {
    /// The RTCP port.
    pub port: u16,
    /// The address, when given.
    pub connection: Option<ConnectionData>,
}

impl fmt::Display for RtcpAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.port)?;
        if let Some(connection) = &self.connection {
            write!(f, " {connection}")?;
        }
        Ok(())
    }
}

/// One `m=` section with its lines.
// SDP's property attributes are flags; one bool each is the honest model.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// The media type.
    pub kind: MediaKind,
    /// The port; 0 rejects the section (or, with `a=bundle-only`, defers to BUNDLE).
    pub port: u16,
    /// The `/<number of ports>` suffix, when given.
    pub port_count: Option<u16>,
    /// The transport protocol.
    pub proto: Proto,
    /// The formats: RTP payload types, `webrtc-datachannel`, or the legacy SCTP port.
    pub formats: Vec<String>,
    /// `i=`.
    pub title: Option<String>,
    /// `c=` lines.
    pub connections: Vec<ConnectionData>,
    /// `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// `k=`, verbatim.
    pub encryption_key: Option<String>,
    /// `a=mid`.
    pub mid: Option<Mid>,
    /// `a=ice-ufrag`.
    pub ice_ufrag: Option<IceUfrag>,
    /// `a=ice-pwd`.
    pub ice_pwd: Option<IcePwd>,
    /// `a=ice-options` tokens.
    pub ice_options: Vec<String>,
    /// `a=fingerprint` lines (several are allowed, RFC 8122 §5).
    pub fingerprints: Vec<Fingerprint>,
    /// `a=setup`.
    pub setup: Option<Setup>,
    /// `a=bundle-only` (RFC 9143 §6).
    pub bundle_only: bool,
    /// `a=candidate` lines.
    pub candidates: Vec<Candidate>,
    /// `a=end-of-candidates` (RFC 8840 §8.2).
    pub end_of_candidates: bool,
    /// `a=sctp-port` (RFC 8841 §5.1).
    pub sctp_port: Option<u16>,
    /// `a=max-message-size` (RFC 8841 §6): 0 means no limit; absent means 64 KiB.
    pub max_message_size: Option<u64>,
    /// Legacy `a=sctpmap`.
    pub sctpmap: Option<SctpMap>,
    /// `a=extmap-allow-mixed` at media level.
    pub extmap_allow_mixed: bool,
    /// `a=extmap` lines.
    pub extmaps: Vec<ExtMap>,
    /// The direction attribute, when present.
    pub direction: Option<Direction>,
    /// `a=msid` lines.
    pub msids: Vec<Msid>,
    /// `a=rtcp`.
    pub rtcp: Option<RtcpAddress>,
    /// `a=rtcp-mux` (RFC 5761).
    pub rtcp_mux: bool,
    /// `a=rtcp-mux-only` (RFC 8858).
    pub rtcp_mux_only: bool,
    /// `a=rtcp-rsize` (RFC 5506).
    pub rtcp_rsize: bool,
    /// `a=rtpmap`/`a=fmtp`/`a=rtcp-fb` grouped per payload type.
    pub payloads: Vec<RtpPayload>,
    /// `a=rtcp-fb:*` lines, which apply to every payload type.
    pub rtcp_feedback_all: Vec<RtcpFeedback>,
    /// `a=ssrc-group` lines.
    pub ssrc_groups: Vec<SsrcGroup>,
    /// `a=ssrc` lines.
    pub ssrcs: Vec<SsrcAttribute>,
    /// `a=rid` lines.
    pub rids: Vec<Rid>,
    /// `a=simulcast`.
    pub simulcast: Option<Simulcast>,
    /// Every other attribute, verbatim and in order.
    pub other: Vec<Attribute>,
}

impl MediaDescription {
    /// A section with the given `m=` line and nothing else.
    pub fn new(kind: MediaKind, port: u16, proto: Proto, formats: Vec<String>) -> Self {
        MediaDescription {
            kind,
            port,
            port_count: None,
            proto,
            formats,
            title: None,
            connections: Vec::new(),
            bandwidths: Vec::new(),
            encryption_key: None,
            mid: None,
            ice_ufrag: None,
            ice_pwd: None,
            ice_options: Vec::new(),
            fingerprints: Vec::new(),
            setup: None,
            bundle_only: false,
            candidates: Vec::new(),
            end_of_candidates: false,
            sctp_port: None,
            max_message_size: None,
            sctpmap: None,
            extmap_allow_mixed: false,
            extmaps: Vec::new(),
            direction: None,
            msids: Vec::new(),
            rtcp: None,
            rtcp_mux: false,
            rtcp_mux_only: false,
            rtcp_rsize: false,
            payloads: Vec::new(),
            rtcp_feedback_all: Vec::new(),
            ssrc_groups: Vec::new(),
            ssrcs: Vec::new(),
            rids: Vec::new(),
            simulcast: None,
            other: Vec::new(),
        }
    }

    /// Whether the section is rejected: port 0 without `a=bundle-only` (RFC 8829 §5.2.2,
    /// RFC 9143 §6).
    pub fn is_rejected(&self) -> bool {
        self.port == 0 && !self.bundle_only
    }

    /// Whether this is a data channel section: SCTP over DTLS.
    pub fn is_data_channel(&self) -> bool {
        self.proto.is_sctp()
    }

    /// The SCTP port: `a=sctp-port`, or for the legacy form `a=sctpmap`'s port or the
    /// `m=` format, or 5000 (RFC 8841 §5.1's default) when none is given.
    pub fn sctp_port_or_default(&self) -> u16 {
        if let Some(port) = self.sctp_port {
            return port;
        }
        if let Some(map) = &self.sctpmap {
            return map.port;
        }
        if self.proto == Proto::DtlsSctp
            && let Some(port) = self.formats.first().and_then(|f| f.parse().ok())
        {
            return port;
        }
        5000
    }

    /// The attributes for `payload_type`, if the section lists any.
    pub fn payload(&self, payload_type: PayloadType) -> Option<&RtpPayload> {
        self.payloads
            .iter()
            .find(|p| p.payload_type == payload_type)
    }
}
