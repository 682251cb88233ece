//! STUN and TURN server URLs, parsed the way users write them.
//!
//! Accepted forms (RFC 7064 and RFC 7065, plus what users of other stacks bring):
//!
//! ```text
//! stun:stun.example.org            stun:stun.example.org:19302      stun:[2001:db8::1]:3478
//! stuns:stun.example.org           turn:turn.example.org?transport=udp
//! turns:turn.example.org:443?transport=tcp
//! turn:user:secret@turn.example.org:3478     (credentials inline, as libdatachannel takes them)
//! stun://stun.example.org          (the "//" some users write is tolerated)
//! ```
//!
//! Ports default to 3478 (`stun`, `turn`) and 5349 (`stuns`, `turns`); the transport
//! defaults to UDP for `stun`/`turn` and TCP for the TLS schemes. Credentials given inline
//! are percent-decoded and override none: giving them both inline and separately is an
//! error, so a server never silently gets the wrong password.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// The longest URL accepted, in bytes.
pub const MAX_URL_LEN: usize = 2048;

/// The longest username or credential accepted, in bytes (RFC 8489 limits USERNAME to 513).
pub const MAX_CREDENTIAL_LEN: usize = 513;

/// Which kind of server a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// STUN over UDP.
    Stun,
    /// STUN over TLS.
    Stuns,
    /// TURN over UDP or TCP.
    Turn,
    /// TURN over TLS.
    Turns,
}

impl Scheme {
    /// Whether the server relays (TURN) rather than only reflects (STUN).
    pub fn is_turn(self) -> bool {
        matches!(self, Self::Turn | Self::Turns)
    }

    /// Whether the URL asks for TLS.
    pub fn is_secure(self) -> bool {
        matches!(self, Self::Stuns | Self::Turns)
    }

    fn default_port(self) -> u16 {
        if self.is_secure() { 5349 } else { 3478 }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Stun => "stun",
            Self::Stuns => "stuns",
            Self::Turn => "turn",
            Self::Turns => "turns",
        }
    }
}

/// The transport to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP.
    Udp,
    /// TCP (TLS for the secure schemes).
    Tcp,
}

/// A server host: a name to resolve or an address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A DNS name.
    Name(String),
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(name) => f.write_str(name),
            Self::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Self::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
        }
    }
}

/// A STUN or TURN server with the credentials to use it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IceServer {
    /// Which kind of server.
    pub scheme: Scheme,
    /// Where it is.
    pub host: Host,
    /// Its port.
    pub port: u16,
    /// How to reach it.
    pub transport: Transport,
    /// TURN username.
    pub username: Option<String>,
    /// TURN password.
    pub credential: Option<String>,
}

impl fmt::Debug for IceServer {
    // Never print the credential.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IceServer")
            .field("scheme", &self.scheme)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("transport", &self.transport)
            .field("username", &self.username)
            .field(
                "credential",
                &self.credential.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl fmt::Display for IceServer {
    /// The URL without credentials, in canonical form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.scheme.as_str(), self.host, self.port)?;
        if self.scheme.is_turn() {
            let transport = match self.transport {
                Transport::Udp => "udp",
                Transport::Tcp => "tcp",
            };
            write!(f, "?transport={transport}")?;
        }
        Ok(())
    }
}

/// Why a server URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// Longer than [`MAX_URL_LEN`].
    #[error("ICE server URL is {0} bytes long; the limit is {MAX_URL_LEN}")]
    TooLong(usize),
    /// Not `stun:`, `stuns:`, `turn:` or `turns:`.
    #[error("ICE server URL `{0}` must start with stun:, stuns:, turn: or turns:")]
    Scheme(String),
    /// No host, or a host with characters a host cannot have.
    #[error("ICE server URL has an invalid host `{0}`")]
    Host(String),
    /// A port that is not a number in 1..=65535.
    #[error("ICE server URL has an invalid port `{0}`")]
    Port(String),
    /// A query other than `?transport=udp|tcp` on a TURN URL, or any query on STUN.
    #[error(
        "ICE server URL has an unsupported query `{0}` (only turn URLs take ?transport=udp|tcp)"
    )]
    Query(String),
    /// Credentials inline on a STUN URL, malformed, over-long, or given twice.
    #[error("ICE server credentials: {0}")]
    Credentials(&'static str),
    /// A TURN server without a username and credential.
    #[error("TURN server {0} needs a username and a credential")]
    MissingCredentials(String),
}

impl IceServer {
    /// Parses a URL, with the credentials taken from the URL itself when it carries them
    /// (`turn:user:pass@host`).
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        Self::with_credentials(url, None, None)
    }

    /// Parses a URL and attaches a username and credential given separately (as in the
    /// W3C `RTCIceServer`). TURN URLs must end up with both, from here or inline.
    pub fn with_credentials(
        url: &str,
        username: Option<&str>,
        credential: Option<&str>,
    ) -> Result<Self, UrlError> {
        if url.len() > MAX_URL_LEN {
            return Err(UrlError::TooLong(url.len()));
        }
        let url = url.trim();
        let (scheme, rest) = url
            .split_once(':')
            .ok_or_else(|| UrlError::Scheme(url.to_owned()))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "stun" => Scheme::Stun,
            "stuns" => Scheme::Stuns,
            "turn" => Scheme::Turn,
            "turns" => Scheme::Turns,
            _ => return Err(UrlError::Scheme(url.to_owned())),
        };
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let (authority, query) = match rest.split_once('?') {
            Some((authority, query)) => (authority, Some(query)),
            None => (rest, None),
        };
        let (inline, host_port) = match authority.rsplit_once('@') {
            Some((userinfo, host_port)) => (Some(parse_userinfo(userinfo)?), host_port),
            None => (None, authority),
        };
        let (host, port) = parse_host_port(host_port, scheme.default_port())?;
        let transport = parse_transport(scheme, query)?;

        let (username, credential) = match (inline, username, credential) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err(UrlError::Credentials("given both inline and separately"));
            }
            (Some((user, pass)), None, None) => (Some(user), Some(pass)),
            (None, user, pass) => (user.map(str::to_owned), pass.map(str::to_owned)),
        };
        for value in [&username, &credential].into_iter().flatten() {
            if value.len() > MAX_CREDENTIAL_LEN {
                return Err(UrlError::Credentials("longer than 513 bytes"));
            }
        }
        let server = Self {
            scheme,
            host,
            port,
            transport,
            username,
            credential,
        };
        if scheme.is_turn() && (server.username.is_none() || server.credential.is_none()) {
            return Err(UrlError::MissingCredentials(server.to_string()));
        }
        Ok(server)
    }
}

impl FromStr for IceServer {
    type Err = UrlError;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        Self::parse(url)
    }
}

fn parse_userinfo(userinfo: &str) -> Result<(String, String), UrlError> {
    let (user, pass) = userinfo.split_once(':').ok_or(UrlError::Credentials(
        "inline credentials must be user:password@",
    ))?;
    let user = percent_decode(user)?;
    let pass = percent_decode(pass)?;
    if user.is_empty() {
        return Err(UrlError::Credentials("empty username"));
    }
    Ok((user, pass))
}

fn percent_decode(text: &str) -> Result<String, UrlError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or(UrlError::Credentials("malformed percent-encoding"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| UrlError::Credentials("not UTF-8 after percent-decoding"))
}

fn parse_host_port(host_port: &str, default_port: u16) -> Result<(Host, u16), UrlError> {
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        let (ip, after) = bracketed
            .split_once(']')
            .ok_or_else(|| UrlError::Host(host_port.to_owned()))?;
        let ip: std::net::Ipv6Addr = ip.parse().map_err(|_| UrlError::Host(ip.to_owned()))?;
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| UrlError::Port(after.to_owned()))?,
            ),
        };
        (Host::Ip(IpAddr::V6(ip)), port)
    } else {
        let (host, port) = match host_port.rsplit_once(':') {
            // A bare IPv6 address without brackets cannot carry a port.
            Some((host, _)) if host.contains(':') => (host_port, None),
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        };
        (parse_host(host)?, port)
    };
    let port = match port {
        None => default_port,
        Some(text) => text
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| UrlError::Port(text.to_owned()))?,
    };
    Ok((host, port))
}

fn parse_host(host: &str) -> Result<Host, UrlError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(Host::Ip(ip));
    }
    let valid = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if valid {
        Ok(Host::Name(host.to_ascii_lowercase()))
    } else {
        Err(UrlError::Host(host.to_owned()))
    }
}

fn parse_transport(scheme: Scheme, query: Option<&str>) -> Result<Transport, UrlError> {
    let default = if scheme.is_secure() {
        Transport::Tcp
    } else {
        Transport::Udp
    };
    let Some(query) = query else {
        return Ok(default);
    };
    if !scheme.is_turn() {
        return Err(UrlError::Query(query.to_owned()));
    }
    match query.to_ascii_lowercase().as_str() {
        "transport=udp" if scheme == Scheme::Turn => Ok(Transport::Udp),
        "transport=tcp" => Ok(Transport::Tcp),
        _ => Err(UrlError::Query(query.to_owned())),
    }
}

/// Fuzz-target body: parsing arbitrary text never panics, and what parses prints back to
/// a URL that parses to the same server (credentials aside).
///
/// # Panics
///
/// When that property is broken: a bug for the fuzzer to report.
#[cfg(any(test, feature = "fuzzing"))]
pub fn fuzz_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(server) = IceServer::with_credentials(text, None, None)
        .or_else(|_| IceServer::with_credentials(text, Some("u"), Some("p")))
    {
        let again = IceServer::with_credentials(&server.to_string(), Some("u"), Some("p"))
            .expect("a printed server URL parses");
        assert_eq!(
            (again.scheme, &again.host, again.port, again.transport),
            (server.scheme, &server.host, server.port, server.transport)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(url: &str) -> IceServer {
        IceServer::parse(url).unwrap()
    }

    #[test]
    fn stun_urls_take_default_ports_and_udp() {
        let server = parse("stun:stun.example.org");
        assert_eq!(
            (server.scheme, server.port, server.transport),
            (Scheme::Stun, 3478, Transport::Udp)
        );
        assert_eq!(server.host, Host::Name("stun.example.org".into()));
        assert_eq!(parse("stun:stun.l.google.com:19302").port, 19302);
        assert_eq!(parse("stuns:stun.example.org").port, 5349);
        assert_eq!(
            parse("STUN:Stun.Example.Org").host,
            Host::Name("stun.example.org".into())
        );
    }

    #[test]
    fn ip_hosts_parse_including_bracketed_ipv6() {
        assert_eq!(
            parse("stun:127.0.0.1:3478").host,
            Host::Ip("127.0.0.1".parse().unwrap())
        );
        let v6 = parse("stun:[2001:db8::1]:5000");
        assert_eq!(
            (v6.host.to_string(), v6.port),
            ("[2001:db8::1]".to_owned(), 5000)
        );
        assert_eq!(parse("stun:[::1]").port, 3478);
        assert_eq!(
            parse("stun:2001:db8::1").host,
            Host::Ip("2001:db8::1".parse().unwrap())
        );
    }

    #[test]
    fn turn_urls_carry_transport_and_separate_credentials() {
        let server = IceServer::with_credentials(
            "turn:turn.example.org?transport=tcp",
            Some("alice"),
            Some("s3cret"),
        )
        .unwrap();
        assert_eq!(
            (server.scheme, server.transport),
            (Scheme::Turn, Transport::Tcp)
        );
        assert_eq!(server.username.as_deref(), Some("alice"));
        assert_eq!(
            server.to_string(),
            "turn:turn.example.org:3478?transport=tcp"
        );
        let secure =
            IceServer::with_credentials("turns:t.example.org:443", Some("a"), Some("b")).unwrap();
        assert_eq!((secure.port, secure.transport), (443, Transport::Tcp));
    }

    #[test]
    fn inline_credentials_are_read_and_percent_decoded() {
        let server = parse("turn:user:pa%40ss%3Aword@127.0.0.1:3478?transport=udp");
        assert_eq!(server.username.as_deref(), Some("user"));
        assert_eq!(server.credential.as_deref(), Some("pa@ss:word"));
        assert_eq!(server.host, Host::Ip("127.0.0.1".parse().unwrap()));
        // The password may itself contain ':' and '@' (the last '@' ends the userinfo).
        let server = parse("turn:bob:a:b@c@turn.example.org");
        assert_eq!(server.credential.as_deref(), Some("a:b@c"));
    }

    #[test]
    fn credentials_are_never_printed() {
        let server = parse("turn:user:topsecret@turn.example.org");
        assert!(!format!("{server:?}").contains("topsecret"));
        assert!(!server.to_string().contains("topsecret"));
    }

    #[test]
    fn malformed_urls_get_specific_errors() {
        assert!(matches!(
            IceServer::parse("http://example.org"),
            Err(UrlError::Scheme(_))
        ));
        assert!(matches!(
            IceServer::parse("example.org"),
            Err(UrlError::Scheme(_))
        ));
        assert!(matches!(IceServer::parse("stun:"), Err(UrlError::Host(_))));
        assert!(matches!(
            IceServer::parse("stun:bad host"),
            Err(UrlError::Host(_))
        ));
        assert!(matches!(
            IceServer::parse("stun:host:0"),
            Err(UrlError::Port(_))
        ));
        assert!(matches!(
            IceServer::parse("stun:host:99999"),
            Err(UrlError::Port(_))
        ));
        assert!(matches!(
            IceServer::parse("stun:[::1"),
            Err(UrlError::Host(_))
        ));
        assert!(matches!(
            IceServer::parse("stun:host?transport=udp"),
            Err(UrlError::Query(_))
        ));
        assert!(matches!(
            IceServer::with_credentials("turn:h?transport=sctp", Some("u"), Some("p")),
            Err(UrlError::Query(_))
        ));
        assert!(matches!(
            IceServer::parse("turn:turn.example.org"),
            Err(UrlError::MissingCredentials(_))
        ));
        assert!(matches!(
            IceServer::with_credentials("turn:u:p@h", Some("u"), None),
            Err(UrlError::Credentials(_))
        ));
        assert!(matches!(
            IceServer::parse("turn:u:p%zz@h"),
            Err(UrlError::Credentials(_))
        ));
        assert!(matches!(
            IceServer::parse(&"stun:".repeat(1000)),
            Err(UrlError::TooLong(_))
        ));
    }

    #[test]
    fn double_slash_form_is_tolerated() {
        assert_eq!(parse("stun://stun.example.org:3479").port, 3479);
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in ".{0,80}") {
            fuzz_parse(text.as_bytes());
        }

        #[test]
        fn generated_urls_round_trip(
            turn in any::<bool>(),
            host in "[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,5}){0,2}",
            port in 1u16..,
        ) {
            let scheme = if turn { "turn" } else { "stun" };
            let server = IceServer::with_credentials(&format!("{scheme}:{host}:{port}"), turn.then_some("u"), turn.then_some("p")).unwrap();
            let again = IceServer::with_credentials(&server.to_string(), turn.then_some("u"), turn.then_some("p")).unwrap();
            prop_assert_eq!(again, server);
        }
    }
}
