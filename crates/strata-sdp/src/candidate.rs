//! ICE candidates: the `a=candidate` attribute (RFC 8839 §5.1, RFC 6544 §4.5) and the
//! trickled form browsers pass through `RTCIceCandidate.candidate`.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::error::CandidateError;
use crate::limits::{MAX_CANDIDATE_BYTES, MAX_CANDIDATE_EXTENSIONS};
use crate::model::{Mid, is_ice_char, is_token};

/// An ICE candidate.
///
/// ```text
/// candidate-attribute   = "candidate" ":" foundation SP component-id SP
///                         transport SP
///                         priority SP
///                         connection-address SP     ;from RFC 8866
///                         port                      ;port from RFC 8866
///                         SP cand-type
///                         [SP rel-addr]
///                         [SP rel-port]
///                         *(SP cand-extension)
/// foundation            = 1*32ice-char
/// component-id          = 1*3DIGIT
/// transport             = "UDP" / transport-extension
/// priority              = 1*10DIGIT
/// cand-type             = "typ" SP candidate-types
/// candidate-types       = "host" / "srflx" / "prflx" / "relay" / token
/// rel-addr              = "raddr" SP connection-address
/// rel-port              = "rport" SP port
/// cand-extension        = extension-att-name SP extension-att-value
/// ```
///
/// `tcptype` (RFC 6544) is typed; every other extension (`generation`, `ufrag`,
/// `network-id`, `network-cost`, ...) is kept in order. Parsing accepts the text with or
/// without `a=` and `candidate:` in front, the transport in any case, and `raddr`,
/// `rport` and `tcptype` in any order among the extensions (as stacks emit them);
/// serializing writes the RFC order.
///
/// ```
/// use strata_sdp::{Candidate, CandidateType};
/// let c: Candidate = "candidate:291726612 1 udp 2122260223 127.0.0.1 35320 typ host generation 0 network-id 1".parse()?;
/// assert_eq!(c.kind, CandidateType::Host);
/// assert_eq!(c.port, 35320);
/// assert_eq!(c.extension("network-id"), Some("1"));
/// assert_eq!(c.to_string(), "candidate:291726612 1 udp 2122260223 127.0.0.1 35320 typ host generation 0 network-id 1");
/// # Ok::<(), strata_sdp::CandidateError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Candidate {
    /// Identifies candidates with the same base, server and type (1 to 32 ice-chars).
    pub foundation: String,
    /// The component: 1 for RTP (and everything, with rtcp-mux), 2 for RTCP.
    pub component: u16,
    /// The transport.
    pub transport: CandidateTransport,
    /// The priority.
    pub priority: u32,
    /// The address: an IP address, or a host name (mDNS `<uuid>.local`).
    pub address: CandidateAddress,
    /// The port (9 for TCP active candidates).
    pub port: u16,
    /// The candidate type.
    pub kind: CandidateType,
    /// `raddr`.
    pub related_address: Option<CandidateAddress>,
    /// `rport`.
    pub related_port: Option<u16>,
    /// `tcptype` (RFC 6544), for TCP candidates.
    pub tcp_type: Option<TcpType>,
    /// Other extension attributes, name and value, in order.
    pub extensions: Vec<(String, String)>,
}

/// The transport of a candidate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CandidateTransport {
    /// UDP.
    Udp,
    /// TCP (RFC 6544).
    Tcp,
    /// Another transport token, lowercase.
    Other(String),
}

impl CandidateTransport {
    /// The transport as written (`udp`, `tcp`, lowercase as Chromium writes it).
    pub fn as_str(&self) -> &str {
        match self {
            CandidateTransport::Udp => "udp",
            CandidateTransport::Tcp => "tcp",
            CandidateTransport::Other(other) => other,
        }
    }
}

/// A candidate's address: an IP address or a host name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CandidateAddress {
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// A fully qualified domain name, e.g. an mDNS `<uuid>.local` name that hides a host
    /// address (needs resolving before use).
    Hostname(String),
}

impl CandidateAddress {
    fn parse(text: &str) -> Option<Self> {
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Some(CandidateAddress::Ip(ip));
        }
        let valid_host = !text.is_empty()
            && text.len() <= 253
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
            && !text.starts_with('.')
            && !text.contains("..")
            // Anything shaped like an address but not one (e.g. `1.2.3.999`) is an error,
            // not a host name.
            && !text.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        valid_host.then(|| CandidateAddress::Hostname(text.to_owned()))
    }

    /// Whether this is an mDNS name (`.local`, RFC 6762), which the ICE agent must
    /// resolve before use.
    pub fn is_mdns(&self) -> bool {
        match self {
            CandidateAddress::Hostname(name) => {
                name.len() > 6
                    && name
                        .get(name.len() - 6..)
                        .is_some_and(|suffix| suffix.eq_ignore_ascii_case(".local"))
            }
            CandidateAddress::Ip(_) => false,
        }
    }

    /// The IP address, if this is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            CandidateAddress::Ip(ip) => Some(*ip),
            CandidateAddress::Hostname(_) => None,
        }
    }
}

impl fmt::Display for CandidateAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CandidateAddress::Ip(ip) => write!(f, "{ip}"),
            CandidateAddress::Hostname(name) => f.write_str(name),
        }
    }
}

/// The candidate type (RFC 8445 §5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CandidateType {
    /// A local interface address.
    Host,
    /// Server reflexive: the address a STUN server saw.
    ServerReflexive,
    /// Peer reflexive: learned from a connectivity check.
    PeerReflexive,
    /// A TURN relay address.
    Relay,
}

impl CandidateType {
    /// The token after `typ`.
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateType::Host => "host",
            CandidateType::ServerReflexive => "srflx",
            CandidateType::PeerReflexive => "prflx",
            CandidateType::Relay => "relay",
        }
    }
}

/// The TCP candidate type (RFC 6544 §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpType {
    /// Opens outgoing connections only.
    Active,
    /// Accepts incoming connections only.
    Passive,
    /// Simultaneous open.
    SimultaneousOpen,
}

impl TcpType {
    /// The token after `tcptype`.
    pub fn as_str(self) -> &'static str {
        match self {
            TcpType::Active => "active",
            TcpType::Passive => "passive",
            TcpType::SimultaneousOpen => "so",
        }
    }
}

impl Candidate {
    /// Parses a candidate, with or without `a=` and `candidate:` in front.
    pub fn parse(text: &str) -> Result<Self, CandidateError> {
        let mut rest = text.trim();
        rest = rest.strip_prefix("a=").unwrap_or(rest);
        if let Some(prefix) = rest.get(..10)
            && prefix.eq_ignore_ascii_case("candidate:")
        {
            rest = &rest[prefix.len()..];
        }
        // The bound is on the candidate itself, so that whether the text came with
        // `a=candidate:` in front or not, it accepts the same candidates: a candidate it
        // parses without the prefix must parse again once printed with it.
        if rest.len() > MAX_CANDIDATE_BYTES {
            return Err(CandidateError::TooLong);
        }
        let mut fields = rest.split_ascii_whitespace();
        let foundation = fields.next().ok_or(CandidateError::Empty)?;
        if foundation.len() > 32 || !foundation.chars().all(is_ice_char) {
            return Err(CandidateError::Foundation);
        }
        let component = fields
            .next()
            .ok_or(CandidateError::Missing("component id"))?;
        let component = parse_digits::<u16>(component, 3)
            .filter(|c| (1..=256).contains(c))
            .ok_or(CandidateError::Component)?;
        let transport = fields.next().ok_or(CandidateError::Missing("transport"))?;
        if !is_token(transport) {
            return Err(CandidateError::Transport);
        }
        let transport = if transport.eq_ignore_ascii_case("udp") {
            CandidateTransport::Udp
        } else if transport.eq_ignore_ascii_case("tcp") {
            CandidateTransport::Tcp
        } else {
            CandidateTransport::Other(transport.to_ascii_lowercase())
        };
        let priority = fields.next().ok_or(CandidateError::Missing("priority"))?;
        let priority = parse_digits::<u32>(priority, 10).ok_or(CandidateError::Priority)?;
        let address = fields.next().ok_or(CandidateError::Missing("address"))?;
        let address = CandidateAddress::parse(address).ok_or(CandidateError::Address)?;
        let port = fields.next().ok_or(CandidateError::Missing("port"))?;
        let port = parse_digits::<u16>(port, 5).ok_or(CandidateError::Port)?;
        match fields.next() {
            Some("typ") => {}
            Some(_) => return Err(CandidateError::ExpectedTyp),
            None => return Err(CandidateError::Missing("candidate type")),
        }
        let kind = match fields.next() {
            Some("host") => CandidateType::Host,
            Some("srflx") => CandidateType::ServerReflexive,
            Some("prflx") => CandidateType::PeerReflexive,
            Some("relay") => CandidateType::Relay,
            Some(_) => return Err(CandidateError::UnknownType),
            None => return Err(CandidateError::Missing("candidate type")),
        };
        let mut candidate = Candidate {
            foundation: foundation.to_owned(),
            component,
            transport,
            priority,
            address,
            port,
            kind,
            related_address: None,
            related_port: None,
            tcp_type: None,
            extensions: Vec::new(),
        };
        while let Some(name) = fields.next() {
            let value = fields.next().ok_or(CandidateError::Extension)?;
            match name {
                "raddr" if candidate.related_address.is_none() => {
                    candidate.related_address =
                        Some(CandidateAddress::parse(value).ok_or(CandidateError::RelatedAddress)?);
                }
                "rport" if candidate.related_port.is_none() => {
                    candidate.related_port =
                        Some(parse_digits::<u16>(value, 5).ok_or(CandidateError::RelatedPort)?);
                }
                "tcptype" if candidate.tcp_type.is_none() => {
                    candidate.tcp_type = Some(match value {
                        "active" => TcpType::Active,
                        "passive" => TcpType::Passive,
                        "so" => TcpType::SimultaneousOpen,
                        _ => return Err(CandidateError::TcpType),
                    });
                }
                _ => {
                    // RFC 8839: `extension-att-value = *VCHAR` (visible ASCII). Anything
                    // else could not be printed and read back the same: a no-break space,
                    // say, is not a separator here but would be trimmed off the end.
                    if !is_token(name)
                        || matches!(name, "raddr" | "rport" | "tcptype")
                        || !value.bytes().all(|b| b.is_ascii_graphic())
                    {
                        return Err(CandidateError::Extension);
                    }
                    if candidate.extensions.len() == MAX_CANDIDATE_EXTENSIONS {
                        return Err(CandidateError::TooManyExtensions);
                    }
                    candidate
                        .extensions
                        .push((name.to_owned(), value.to_owned()));
                }
            }
        }
        Ok(candidate)
    }

    /// The value of an extension attribute (`generation`, `ufrag`, `network-id`,
    /// `network-cost`, ...).
    pub fn extension(&self, name: &str) -> Option<&str> {
        self.extensions
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `ufrag` extension: which ICE generation the candidate belongs to.
    pub fn ufrag(&self) -> Option<&str> {
        self.extension("ufrag")
    }

    /// The attribute value without the `candidate:` prefix.
    pub fn attribute_value(&self) -> String {
        let full = self.to_string();
        full["candidate:".len()..].to_owned()
    }
}

impl FromStr for Candidate {
    type Err = CandidateError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Candidate::parse(text)
    }
}

/// The `candidate:...` text, as in `RTCIceCandidate.candidate`.
impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "candidate:{} {} {} {} {} {} typ {}",
            self.foundation,
            self.component,
            self.transport.as_str(),
            self.priority,
            self.address,
            self.port,
            self.kind.as_str()
        )?;
        if let Some(address) = &self.related_address {
            write!(f, " raddr {address}")?;
        }
        if let Some(port) = self.related_port {
            write!(f, " rport {port}")?;
        }
        if let Some(tcp_type) = self.tcp_type {
            write!(f, " tcptype {}", tcp_type.as_str())?;
        }
        for (name, value) in &self.extensions {
            write!(f, " {name} {value}")?;
        }
        Ok(())
    }
}

/// Parses 1 to `max_digits` ASCII digits.
pub(crate) fn parse_digits<T: FromStr>(text: &str, max_digits: usize) -> Option<T> {
    if text.is_empty() || text.len() > max_digits || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A candidate exchanged outside the description (trickle ICE, RFC 8838), shaped like
/// the browser's `RTCIceCandidateInit`: the candidate (or nothing, meaning
/// end-of-candidates) and which m-line it belongs to.
///
/// ```
/// use strata_sdp::TrickledCandidate;
/// let c = TrickledCandidate::parse(
///     "candidate:1 1 UDP 2114977791 127.0.0.1 35287 typ host", Some("0"), Some(0), None)?;
/// assert!(c.candidate.is_some());
/// let end = TrickledCandidate::parse("", Some("0"), Some(0), None)?;
/// assert!(end.candidate.is_none());
/// // End-of-candidates for every section, as `addIceCandidate({candidate: ""})` sends it.
/// let end_of_all = TrickledCandidate::parse("", None, None, None)?;
/// assert!(end_of_all.candidate.is_none());
/// assert!(TrickledCandidate::parse(
///     "candidate:1 1 UDP 2114977791 127.0.0.1 35287 typ host", None, None, None).is_err());
/// # Ok::<(), strata_sdp::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrickledCandidate {
    /// The candidate; `None` signals end-of-candidates (an empty `candidate` string).
    pub candidate: Option<Candidate>,
    /// `sdpMid`.
    pub sdp_mid: Option<Mid>,
    /// `sdpMLineIndex`.
    pub sdp_m_line_index: Option<u16>,
    /// `usernameFragment`: the ICE generation the candidate belongs to.
    pub username_fragment: Option<String>,
}

impl TrickledCandidate {
    /// Builds one from the fields of an `RTCIceCandidateInit` as received over signaling.
    /// An empty `candidate` means end-of-candidates; it may name no section, and then
    /// applies to all of them (W3C `addIceCandidate`). A candidate must name its section
    /// by `sdp_mid`, `sdp_m_line_index` or both.
    pub fn parse(
        candidate: &str,
        sdp_mid: Option<&str>,
        sdp_m_line_index: Option<u16>,
        username_fragment: Option<&str>,
    ) -> Result<Self, crate::Error> {
        let sdp_mid = match sdp_mid {
            Some(mid) => Some(Mid::new(mid).map_err(|_| CandidateError::NoTarget)?),
            None => None,
        };
        let candidate = if candidate.trim().is_empty() {
            None
        } else {
            Some(Candidate::parse(candidate)?)
        };
        if candidate.is_some() && sdp_mid.is_none() && sdp_m_line_index.is_none() {
            return Err(CandidateError::NoTarget.into());
        }
        // A candidate's own `ufrag` extension names its generation when the init does not.
        let username_fragment = username_fragment
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .or_else(|| {
                candidate
                    .as_ref()
                    .and_then(Candidate::ufrag)
                    .map(str::to_owned)
            });
        Ok(TrickledCandidate {
            candidate,
            sdp_mid,
            sdp_m_line_index,
            username_fragment,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chromium_tcp_candidate_keeps_tcptype_and_extensions() {
        let text = "candidate:4022972800 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active generation 0 ufrag daIi network-id 1 network-cost 50";
        let c = Candidate::parse(text).unwrap();
        assert_eq!(c.transport, CandidateTransport::Tcp);
        assert_eq!(c.tcp_type, Some(TcpType::Active));
        assert_eq!(c.ufrag(), Some("daIi"));
        assert_eq!(c.extension("network-cost"), Some("50"));
        assert_eq!(c.to_string(), text);
    }

    #[test]
    fn a_candidate_of_the_longest_length_parses_again_once_printed_with_its_prefix() {
        // Found by the `sdp_candidate` fuzz target: 1,014 bytes without `candidate:`
        // parsed, but its printed form (1,024 + 10 bytes) was refused as too long.
        let long = "x".repeat(MAX_CANDIDATE_BYTES - 60);
        let bare = format!("1 1 udp 2122252543 192.0.2.1 9 typ host ext {long}");
        let bare = format!("{bare}{}", "y".repeat(MAX_CANDIDATE_BYTES - bare.len()));
        assert_eq!(bare.len(), MAX_CANDIDATE_BYTES);
        let parsed = Candidate::parse(&bare).unwrap();
        assert_eq!(Candidate::parse(&parsed.to_string()).unwrap(), parsed);
        assert_eq!(
            Candidate::parse(&format!("a=candidate:{bare}")).unwrap(),
            parsed
        );
        assert_eq!(
            Candidate::parse(&format!("{bare}z")),
            Err(CandidateError::TooLong)
        );
    }

    #[test]
    fn an_extension_value_that_is_not_visible_ascii_is_refused() {
        // Found by the `sdp_candidate` fuzz target: the value of `r` was three no-break
        // spaces, kept while parsing (they do not separate fields) but trimmed off the end
        // of the printed candidate, which then no longer parsed.
        let text = "a=candidate:2 1 UDP 92216831 6.39.253.10 09574 typ relay \
                    r\r\r\x0c\n\n\n\u{a0}\u{a0}\u{a0} rport 49574";
        assert_eq!(Candidate::parse(text), Err(CandidateError::Extension));
        for value in ["caf\u{e9}", "a\u{7f}b"] {
            let text = format!("1 1 udp 1 192.0.2.1 9 typ host name {value}");
            assert_eq!(Candidate::parse(&text), Err(CandidateError::Extension));
        }
        let fine = Candidate::parse("1 1 udp 1 192.0.2.1 9 typ host name ~!\"#{}").unwrap();
        assert_eq!(Candidate::parse(&fine.to_string()).unwrap(), fine);
    }

    #[test]
    fn firefox_relay_candidate_with_uppercase_transport_parses() {
        let c = Candidate::parse(
            "a=candidate:2 1 UDP 92216831 216.39.253.10 49574 typ relay raddr 216.39.253.10 rport 49574",
        )
        .unwrap();
        assert_eq!(c.kind, CandidateType::Relay);
        assert_eq!(c.transport, CandidateTransport::Udp);
        assert_eq!(c.related_port, Some(49574));
    }

    #[test]
    fn mdns_and_ipv6_addresses_parse() {
        let c = Candidate::parse("candidate:0 1 UDP 2122252543 65f3253a-de86-44d6-aaa7-5f63d65e1029.local 60257 typ host").unwrap();
        assert!(c.address.is_mdns());
        let c = Candidate::parse(
            "candidate:794956039 1 udp 2122197247 2601:645:8400:6c20::a610 59266 typ host",
        )
        .unwrap();
        assert!(matches!(c.address, CandidateAddress::Ip(IpAddr::V6(_))));
    }

    #[test]
    fn rport_before_raddr_is_accepted_and_written_in_rfc_order() {
        let c = Candidate::parse("1 1 udp 1 1.2.3.4 5 typ srflx rport 6 raddr 10.0.0.1").unwrap();
        assert_eq!(
            c.to_string(),
            "candidate:1 1 udp 1 1.2.3.4 5 typ srflx raddr 10.0.0.1 rport 6"
        );
    }

    #[test]
    fn malformed_candidates_name_the_field() {
        let cases = [
            ("", CandidateError::Empty),
            ("candidate:", CandidateError::Empty),
            ("x 0 udp 1 1.2.3.4 5 typ host", CandidateError::Component),
            ("x 257 udp 1 1.2.3.4 5 typ host", CandidateError::Component),
            (
                "x 1 udp 99999999999 1.2.3.4 5 typ host",
                CandidateError::Priority,
            ),
            ("x 1 udp 1 1.2.3.999 5 typ host", CandidateError::Address),
            ("x 1 udp 1 1.2.3.4 70000 typ host", CandidateError::Port),
            ("x 1 udp 1 1.2.3.4 5 type host", CandidateError::ExpectedTyp),
            (
                "x 1 udp 1 1.2.3.4 5 typ mystery",
                CandidateError::UnknownType,
            ),
            (
                "x 1 udp 1 1.2.3.4 5 typ host generation",
                CandidateError::Extension,
            ),
            (
                "x 1 udp 1 1.2.3.4 5 typ host network-id \u{a0}",
                CandidateError::Extension,
            ),
            (
                "x 1 tcp 1 1.2.3.4 5 typ host tcptype sideways",
                CandidateError::TcpType,
            ),
            (
                "x 1 udp 1 1.2.3.4 5 typ srflx raddr nope! rport 1",
                CandidateError::RelatedAddress,
            ),
            (
                "f\u{e9} 1 udp 1 1.2.3.4 5 typ host",
                CandidateError::Foundation,
            ),
            ("x 1 udp 1 1.2.3.4", CandidateError::Missing("port")),
        ];
        for (text, expected) in cases {
            assert_eq!(Candidate::parse(text), Err(expected), "{text}");
        }
    }

    #[test]
    fn prefix_check_does_not_split_a_multibyte_character() {
        // Found by the property tests: byte 10 fell inside a 4-byte character.
        assert_eq!(
            Candidate::parse("\u{2a1e6}\u{dd}/\\\u{25c79}.x"),
            Err(CandidateError::Foundation)
        );
    }

    #[test]
    fn trickled_candidate_without_target_is_rejected() {
        let err = TrickledCandidate::parse(
            "candidate:1 1 UDP 2114977791 127.0.0.1 35287 typ host",
            None,
            None,
            None,
        )
        .unwrap_err();
        assert_eq!(err, crate::Error::Candidate(CandidateError::NoTarget));
    }

    #[test]
    fn end_of_candidates_without_target_applies_to_every_section() {
        let end = TrickledCandidate::parse("", None, None, None).unwrap();
        assert_eq!(end.candidate, None);
        assert_eq!((end.sdp_mid, end.sdp_m_line_index), (None, None));
    }

    #[test]
    fn trickled_candidate_takes_its_generation_from_the_ufrag_extension() {
        let c = TrickledCandidate::parse(
            "candidate:1 1 udp 1 1.2.3.4 5 typ host ufrag abcd",
            Some("0"),
            None,
            None,
        )
        .unwrap();
        assert_eq!(c.username_fragment.as_deref(), Some("abcd"));
    }
}
