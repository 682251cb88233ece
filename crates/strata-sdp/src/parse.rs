//! The SDP parser: text to [`SessionDescription`], bounds-checked, with line-numbered
//! errors.
//!
//! What it accepts beyond the letter of RFC 8866, because real stacks emit it:
//! - LF-only line endings, trailing spaces and tabs, blank lines (skipped);
//! - session lines in any order after `v=`, and a missing `t=` (taken as `t=0 0`);
//! - `a=msid-semantic: WMS` and `a=simulcast: send ...` with a space after the colon;
//! - `a=ice-options:ice2,trickle` with commas (libdatachannel) as well as spaces;
//! - fingerprints in lowercase hex or with an uppercase hash name;
//! - `a=rtpmap`/`a=fmtp`/`a=rtcp-fb` whose format is not an RTP payload type (kept
//!   verbatim among the unknown attributes);
//! - the legacy `DTLS/SCTP <port>` data section with `a=sctpmap`.
//!
//! What it rejects, each with the 1-based line number: a missing or wrong `v=` line,
//! unknown line types (RFC 8866 §5 allows rejecting them), malformed `o=`, `c=`, `b=`,
//! `t=` and `m=` lines, malformed values of the attributes it models (fingerprints,
//! ICE credentials, candidates, mids, ...), a repeated single-valued attribute, and
//! anything beyond the bounds in [`crate::limits`].

use crate::candidate::{Candidate, parse_digits};
use crate::error::{Error, Limit, SyntaxError};
use crate::limits::{
    MAX_ATTRIBUTES_PER_SECTION, MAX_CANDIDATES_PER_SECTION, MAX_DESCRIPTION_BYTES,
    MAX_FINGERPRINTS, MAX_FORMATS_PER_SECTION, MAX_LINE_BYTES, MAX_LINES_PER_TYPE,
    MAX_MEDIA_SECTIONS,
};
use crate::model::{
    Attribute, Bandwidth, ConnectionData, Direction, ExtMap, Fingerprint, Group, IcePwd, IceUfrag,
    MediaDescription, MediaKind, Mid, Msid, MsidSemantic, Origin, PayloadType, Proto, Rid,
    RtcpAddress, RtcpFeedback, RtpMap, RtpPayload, SctpMap, SessionDescription, Setup, Simulcast,
    SimulcastStream, Ssrc, SsrcAttribute, SsrcGroup, Timing, is_token,
};

impl SessionDescription {
    /// Parses a description. See [the module docs](crate::parse) for what is accepted.
    ///
    /// ```
    /// use strata_sdp::SessionDescription;
    /// let sdp = SessionDescription::parse("v=0\no=- 1 2 IN IP4 127.0.0.1\ns=-\nt=0 0\n")?;
    /// assert_eq!(sdp.origin.session_version, 2);
    /// # Ok::<(), strata_sdp::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<Self, Error> {
        parse(text)
    }

    /// Parses a description from bytes, which must be UTF-8.
    pub fn parse_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() > MAX_DESCRIPTION_BYTES {
            return Err(Error::LimitExceeded {
                line: 0,
                limit: Limit::DescriptionBytes,
                max: MAX_DESCRIPTION_BYTES,
            });
        }
        let text =
            std::str::from_utf8(bytes).map_err(|_| Error::syntax(0, SyntaxError::NotUtf8))?;
        parse(text)
    }
}

impl std::str::FromStr for SessionDescription {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse(text)
    }
}

fn limit(line: usize, limit: Limit, max: usize) -> Error {
    Error::LimitExceeded { line, limit, max }
}

fn bad_attribute(line: usize, name: &'static str, reason: &'static str) -> Error {
    Error::syntax(line, SyntaxError::Attribute { name, reason })
}

/// Counts of repeatable lines in the section being parsed.
#[derive(Default)]
struct SectionCounts {
    attributes: usize,
    other_lines: [usize; 6],
}

impl SectionCounts {
    fn attribute(&mut self, line: usize) -> Result<(), Error> {
        self.attributes += 1;
        if self.attributes > MAX_ATTRIBUTES_PER_SECTION {
            return Err(limit(
                line,
                Limit::AttributesPerSection,
                MAX_ATTRIBUTES_PER_SECTION,
            ));
        }
        Ok(())
    }

    fn repeatable(&mut self, line: usize, kind: char) -> Result<(), Error> {
        let slot = match kind {
            'b' => 0,
            'c' => 1,
            'e' => 2,
            'p' => 3,
            't' => 4,
            _ => 5,
        };
        self.other_lines[slot] += 1;
        if self.other_lines[slot] > MAX_LINES_PER_TYPE {
            return Err(limit(line, Limit::LinesPerType, MAX_LINES_PER_TYPE));
        }
        Ok(())
    }
}

// One loop over the lines with the RFC's line types as match arms; splitting it would
// scatter the grammar.
#[allow(clippy::too_many_lines)]
fn parse(text: &str) -> Result<SessionDescription, Error> {
    if text.len() > MAX_DESCRIPTION_BYTES {
        return Err(limit(0, Limit::DescriptionBytes, MAX_DESCRIPTION_BYTES));
    }
    let mut session: Option<SessionDescription> = None;
    let mut seen_origin = false;
    let mut seen_name = false;
    let mut seen = [false; 26];
    let mut counts = SectionCounts::default();
    let mut media_seen: [bool; 26] = [false; 26];

    for (index, raw) in text.split('\n').enumerate() {
        let number = index + 1;
        let line = raw.trim_end_matches([' ', '\t', '\r']);
        if line.is_empty() {
            continue;
        }
        if line.len() > MAX_LINE_BYTES {
            return Err(limit(number, Limit::LineBytes, MAX_LINE_BYTES));
        }
        if line.contains(['\0', '\r']) {
            return Err(Error::syntax(number, SyntaxError::ControlCharacter));
        }
        let bytes = line.as_bytes();
        if bytes.len() < 2 || bytes[1] != b'=' || !bytes[0].is_ascii_lowercase() {
            return Err(Error::syntax(number, SyntaxError::MalformedLine));
        }
        let kind = char::from(bytes[0]);
        let value = &line[2..];

        let Some(sdp) = session.as_mut() else {
            if kind != 'v' {
                return Err(Error::syntax(number, SyntaxError::MissingVersion));
            }
            if value.trim() != "0" {
                return Err(Error::syntax(number, SyntaxError::UnsupportedVersion));
            }
            let mut fresh = SessionDescription::new(Origin::new(0, 0));
            fresh.timings.clear();
            fresh.session_name.clear();
            session = Some(fresh);
            continue;
        };

        if kind == 'm' {
            if sdp.media.len() == MAX_MEDIA_SECTIONS {
                return Err(limit(number, Limit::MediaSections, MAX_MEDIA_SECTIONS));
            }
            sdp.media.push(parse_media_line(number, value)?);
            counts = SectionCounts::default();
            media_seen = [false; 26];
            continue;
        }

        if let Some(media) = sdp.media.last_mut() {
            let slot = usize::from(bytes[0] - b'a');
            match kind {
                'i' | 'k' => {
                    if media_seen[slot] {
                        return Err(Error::syntax(number, SyntaxError::DuplicateLine(kind)));
                    }
                    media_seen[slot] = true;
                    if kind == 'i' {
                        media.title = Some(value.to_owned());
                    } else {
                        media.encryption_key = Some(value.to_owned());
                    }
                }
                'c' => {
                    counts.repeatable(number, kind)?;
                    media.connections.push(parse_connection(number, value)?);
                }
                'b' => {
                    counts.repeatable(number, kind)?;
                    media.bandwidths.push(parse_bandwidth(number, value)?);
                }
                'a' => {
                    counts.attribute(number)?;
                    media_attribute(media, number, value)?;
                }
                'v' | 'o' | 's' | 'u' | 'e' | 'p' | 't' | 'r' | 'z' => {
                    return Err(Error::syntax(number, SyntaxError::LineOutOfPlace(kind)));
                }
                _ => return Err(Error::syntax(number, SyntaxError::UnknownLineType(kind))),
            }
            continue;
        }

        let slot = usize::from(bytes[0] - b'a');
        match kind {
            'v' => return Err(Error::syntax(number, SyntaxError::DuplicateLine('v'))),
            'o' | 's' | 'i' | 'u' | 'c' | 'z' | 'k' => {
                if seen[slot] {
                    return Err(Error::syntax(number, SyntaxError::DuplicateLine(kind)));
                }
                seen[slot] = true;
                match kind {
                    'o' => {
                        sdp.origin = parse_origin(number, value)?;
                        seen_origin = true;
                    }
                    's' => {
                        value.clone_into(&mut sdp.session_name);
                        seen_name = true;
                    }
                    'i' => sdp.information = Some(value.to_owned()),
                    'u' => sdp.uri = Some(value.to_owned()),
                    'c' => sdp.connection = Some(parse_connection(number, value)?),
                    'z' => sdp.time_zones = Some(value.to_owned()),
                    _ => sdp.encryption_key = Some(value.to_owned()),
                }
            }
            'e' => {
                counts.repeatable(number, kind)?;
                sdp.emails.push(value.to_owned());
            }
            'p' => {
                counts.repeatable(number, kind)?;
                sdp.phones.push(value.to_owned());
            }
            'b' => {
                counts.repeatable(number, kind)?;
                sdp.bandwidths.push(parse_bandwidth(number, value)?);
            }
            't' => {
                counts.repeatable(number, kind)?;
                sdp.timings.push(parse_timing(number, value)?);
            }
            'r' => {
                counts.repeatable(number, kind)?;
                let Some(timing) = sdp.timings.last_mut() else {
                    return Err(Error::syntax(number, SyntaxError::LineOutOfPlace('r')));
                };
                timing.repeats.push(value.to_owned());
            }
            'a' => {
                counts.attribute(number)?;
                session_attribute(sdp, number, value)?;
            }
            _ => return Err(Error::syntax(number, SyntaxError::UnknownLineType(kind))),
        }
    }

    let Some(mut sdp) = session else {
        return Err(Error::syntax(0, SyntaxError::Empty));
    };
    if !seen_origin {
        return Err(Error::syntax(0, SyntaxError::MissingLine('o')));
    }
    if !seen_name {
        return Err(Error::syntax(0, SyntaxError::MissingLine('s')));
    }
    if sdp.timings.is_empty() {
        sdp.timings.push(Timing::default());
    }
    Ok(sdp)
}

fn parse_u64(text: &str) -> Option<u64> {
    parse_digits::<u64>(text, 20)
}

fn parse_origin(line: usize, value: &str) -> Result<Origin, Error> {
    let fields: Vec<&str> = value.split_ascii_whitespace().collect();
    let [username, id, version, network, address_type, address] = fields[..] else {
        return Err(Error::syntax(
            line,
            SyntaxError::Origin("expected 6 fields"),
        ));
    };
    let session_id = parse_u64(id).ok_or(Error::syntax(
        line,
        SyntaxError::Origin("session id is not a 64-bit number"),
    ))?;
    let session_version = parse_u64(version).ok_or(Error::syntax(
        line,
        SyntaxError::Origin("session version is not a 64-bit number"),
    ))?;
    if !is_token(network) || !is_token(address_type) {
        return Err(Error::syntax(
            line,
            SyntaxError::Origin("network or address type is not a token"),
        ));
    }
    Ok(Origin {
        username: username.to_owned(),
        session_id,
        session_version,
        network_type: network.to_owned(),
        address_type: address_type.to_owned(),
        unicast_address: address.to_owned(),
    })
}

fn parse_connection(line: usize, value: &str) -> Result<ConnectionData, Error> {
    let fields: Vec<&str> = value.split_ascii_whitespace().collect();
    let [network, address_type, address] = fields[..] else {
        return Err(Error::syntax(
            line,
            SyntaxError::Connection("expected `<nettype> <addrtype> <address>`"),
        ));
    };
    if !is_token(network) || !is_token(address_type) {
        return Err(Error::syntax(
            line,
            SyntaxError::Connection("network or address type is not a token"),
        ));
    }
    Ok(ConnectionData {
        network_type: network.to_owned(),
        address_type: address_type.to_owned(),
        address: address.to_owned(),
    })
}

fn parse_bandwidth(line: usize, value: &str) -> Result<Bandwidth, Error> {
    let Some((kind, amount)) = value.split_once(':') else {
        return Err(Error::syntax(
            line,
            SyntaxError::Bandwidth("expected `<type>:<value>`"),
        ));
    };
    if !is_token(kind) {
        return Err(Error::syntax(
            line,
            SyntaxError::Bandwidth("type is not a token"),
        ));
    }
    let value = parse_u64(amount.trim()).ok_or(Error::syntax(
        line,
        SyntaxError::Bandwidth("value is not a number"),
    ))?;
    Ok(Bandwidth {
        kind: kind.to_owned(),
        value,
    })
}

fn parse_timing(line: usize, value: &str) -> Result<Timing, Error> {
    let fields: Vec<&str> = value.split_ascii_whitespace().collect();
    let [start, stop] = fields[..] else {
        return Err(Error::syntax(
            line,
            SyntaxError::Timing("expected `<start> <stop>`"),
        ));
    };
    let (Some(start), Some(stop)) = (parse_u64(start), parse_u64(stop)) else {
        return Err(Error::syntax(
            line,
            SyntaxError::Timing("times must be numbers"),
        ));
    };
    Ok(Timing {
        start,
        stop,
        repeats: Vec::new(),
    })
}

fn parse_media_line(line: usize, value: &str) -> Result<MediaDescription, Error> {
    let mut fields = value.split_ascii_whitespace();
    let bad = |reason| Error::syntax(line, SyntaxError::MediaLine(reason));
    let kind = fields.next().ok_or(bad("missing media type"))?;
    if !is_token(kind) {
        return Err(bad("media type is not a token"));
    }
    let port_field = fields.next().ok_or(bad("missing port"))?;
    let (port, port_count) = match port_field.split_once('/') {
        Some((port, count)) => (
            port,
            Some(parse_digits::<u16>(count, 5).ok_or(bad("port count is not a number"))?),
        ),
        None => (port_field, None),
    };
    let port = parse_digits::<u16>(port, 5).ok_or(bad("port is not a 16-bit number"))?;
    let proto = fields.next().ok_or(bad("missing protocol"))?;
    if !proto.split('/').all(is_token) {
        return Err(bad("protocol is not a token"));
    }
    let mut formats = Vec::new();
    for format in fields {
        if formats.len() == MAX_FORMATS_PER_SECTION {
            return Err(limit(
                line,
                Limit::FormatsPerSection,
                MAX_FORMATS_PER_SECTION,
            ));
        }
        if !is_token(format) {
            return Err(bad("format is not a token"));
        }
        // A repeated payload type would be answered twice, and its `a=rtpmap` with it.
        if formats.iter().any(|listed| listed == format) {
            return Err(bad("format listed twice"));
        }
        formats.push(format.to_owned());
    }
    if formats.is_empty() {
        return Err(bad("no formats"));
    }
    let mut media =
        MediaDescription::new(MediaKind::parse(kind), port, Proto::parse(proto), formats);
    media.port_count = port_count;
    Ok(media)
}

/// Splits `a=<name>[:<value>]`.
fn split_attribute(line: usize, text: &str) -> Result<(&str, Option<&str>), Error> {
    let (name, value) = match text.split_once(':') {
        Some((name, value)) => (name, Some(value)),
        None => (text, None),
    };
    if !is_token(name) {
        return Err(Error::syntax(line, SyntaxError::AttributeName));
    }
    Ok((name, value))
}

fn require_value<'a>(
    line: usize,
    name: &'static str,
    value: Option<&'a str>,
) -> Result<&'a str, Error> {
    match value.map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(bad_attribute(line, name, "missing value")),
    }
}

fn require_flag(line: usize, name: &'static str, value: Option<&str>) -> Result<(), Error> {
    if value.is_some() {
        return Err(bad_attribute(line, name, "takes no value"));
    }
    Ok(())
}

fn set_once<T>(
    slot: &mut Option<T>,
    line: usize,
    name: &'static str,
    value: T,
) -> Result<(), Error> {
    if slot.is_some() {
        return Err(Error::syntax(line, SyntaxError::DuplicateAttribute(name)));
    }
    *slot = Some(value);
    Ok(())
}

fn parse_ufrag(line: usize, value: Option<&str>) -> Result<IceUfrag, Error> {
    let value = require_value(line, "ice-ufrag", value)?;
    IceUfrag::new(value).map_err(|_| bad_attribute(line, "ice-ufrag", "must be 4 to 256 ice-chars"))
}

fn parse_pwd(line: usize, value: Option<&str>) -> Result<IcePwd, Error> {
    let value = require_value(line, "ice-pwd", value)?;
    IcePwd::new(value).map_err(|_| bad_attribute(line, "ice-pwd", "must be 22 to 256 ice-chars"))
}

fn parse_ice_options(
    line: usize,
    value: Option<&str>,
    into: &mut Vec<String>,
) -> Result<(), Error> {
    let value = require_value(line, "ice-options", value)?;
    // libdatachannel separates options with commas (`ice2,trickle`); RFC 8839 with spaces.
    for option in value
        .split(|c: char| c.is_ascii_whitespace() || c == ',')
        .filter(|o| !o.is_empty())
    {
        if !is_token(option) {
            return Err(bad_attribute(line, "ice-options", "option is not a token"));
        }
        if into.len() < MAX_LINES_PER_TYPE {
            into.push(option.to_owned());
        } else {
            return Err(limit(line, Limit::LinesPerType, MAX_LINES_PER_TYPE));
        }
    }
    Ok(())
}

fn push_fingerprint(
    line: usize,
    value: Option<&str>,
    into: &mut Vec<Fingerprint>,
) -> Result<(), Error> {
    let value = require_value(line, "fingerprint", value)?;
    if into.len() == MAX_FINGERPRINTS {
        return Err(limit(line, Limit::Fingerprints, MAX_FINGERPRINTS));
    }
    let fingerprint = value
        .parse()
        .map_err(|e| Error::syntax(line, SyntaxError::Fingerprint(e)))?;
    into.push(fingerprint);
    Ok(())
}

fn parse_setup(line: usize, value: Option<&str>) -> Result<Setup, Error> {
    let value = require_value(line, "setup", value)?;
    Setup::parse(value).ok_or(bad_attribute(
        line,
        "setup",
        "must be active, passive, actpass or holdconn",
    ))
}

fn parse_extmap(line: usize, value: Option<&str>) -> Result<ExtMap, Error> {
    let value = require_value(line, "extmap", value)?;
    let (entry, rest) = value.split_once([' ', '\t']).ok_or(bad_attribute(
        line,
        "extmap",
        "missing extension URI",
    ))?;
    let (id, direction) = match entry.split_once('/') {
        Some((id, direction)) => (
            id,
            Some(Direction::parse(direction).ok_or(bad_attribute(
                line,
                "extmap",
                "unknown direction",
            ))?),
        ),
        None => (entry, None),
    };
    let id = parse_digits::<u16>(id, 4)
        .filter(|id| matches!(id, 1..=255 | 4096..=4351))
        .ok_or(bad_attribute(
            line,
            "extmap",
            "id must be 1 to 255 (or 4096 to 4351 in offers)",
        ))?;
    let rest = rest.trim_start();
    let (uri, attributes) = match rest.split_once([' ', '\t']) {
        Some((uri, attributes)) => (uri, Some(attributes.trim_start().to_owned())),
        None => (rest, None),
    };
    Ok(ExtMap {
        id,
        direction,
        uri: uri.to_owned(),
        attributes: attributes.filter(|a| !a.is_empty()),
    })
}

fn parse_group(line: usize, value: Option<&str>) -> Result<Group, Error> {
    let value = require_value(line, "group", value)?;
    let mut fields = value.split_ascii_whitespace();
    let semantics = fields.next().unwrap_or_default();
    if !is_token(semantics) {
        return Err(bad_attribute(line, "group", "semantics is not a token"));
    }
    let mut mids = Vec::new();
    for mid in fields {
        if mids.len() == MAX_MEDIA_SECTIONS {
            return Err(limit(line, Limit::MediaSections, MAX_MEDIA_SECTIONS));
        }
        mids.push(
            Mid::new(mid).map_err(|_| bad_attribute(line, "group", "mid is not a short token"))?,
        );
    }
    Ok(Group {
        semantics: semantics.to_owned(),
        mids,
    })
}

fn session_attribute(sdp: &mut SessionDescription, line: usize, text: &str) -> Result<(), Error> {
    let (name, value) = split_attribute(line, text)?;
    match name {
        "group" => sdp.groups.push(parse_group(line, value)?),
        "ice-lite" => {
            require_flag(line, "ice-lite", value)?;
            sdp.ice_lite = true;
        }
        "ice-ufrag" => {
            let ufrag = parse_ufrag(line, value)?;
            set_once(&mut sdp.ice_ufrag, line, "ice-ufrag", ufrag)?;
        }
        "ice-pwd" => {
            let pwd = parse_pwd(line, value)?;
            set_once(&mut sdp.ice_pwd, line, "ice-pwd", pwd)?;
        }
        "ice-options" => parse_ice_options(line, value, &mut sdp.ice_options)?,
        "fingerprint" => push_fingerprint(line, value, &mut sdp.fingerprints)?,
        "setup" => {
            let setup = parse_setup(line, value)?;
            set_once(&mut sdp.setup, line, "setup", setup)?;
        }
        "extmap-allow-mixed" => {
            require_flag(line, "extmap-allow-mixed", value)?;
            sdp.extmap_allow_mixed = true;
        }
        "extmap" => sdp.extmaps.push(parse_extmap(line, value)?),
        "msid-semantic" => {
            let value = require_value(line, "msid-semantic", value)?;
            let mut fields = value.split_ascii_whitespace();
            let semantic = fields.next().unwrap_or_default().to_owned();
            sdp.msid_semantics.push(MsidSemantic {
                semantic,
                identifiers: fields.map(str::to_owned).collect(),
            });
        }
        "sendrecv" | "sendonly" | "recvonly" | "inactive" => {
            let direction = Direction::parse(name).unwrap_or_default();
            require_flag(line, direction.as_str(), value)?;
            set_once(&mut sdp.direction, line, "direction", direction)?;
        }
        _ => sdp.other.push(Attribute {
            name: name.to_owned(),
            value: value.map(str::to_owned),
        }),
    }
    Ok(())
}

fn payload_entry(media: &mut MediaDescription, payload_type: PayloadType) -> &mut RtpPayload {
    let index = if let Some(index) = media
        .payloads
        .iter()
        .position(|p| p.payload_type == payload_type)
    {
        index
    } else {
        media.payloads.push(RtpPayload::new(payload_type));
        media.payloads.len() - 1
    };
    &mut media.payloads[index]
}

fn split_format(value: &str) -> (&str, &str) {
    match value.split_once([' ', '\t']) {
        Some((format, rest)) => (format, rest.trim()),
        None => (value, ""),
    }
}

fn parse_rtpmap(line: usize, rest: &str) -> Result<RtpMap, Error> {
    let bad = |reason| bad_attribute(line, "rtpmap", reason);
    let mut parts = rest.split('/');
    let encoding = parts.next().unwrap_or_default();
    if !is_token(encoding) {
        return Err(bad("encoding name is not a token"));
    }
    let clock_rate = parts
        .next()
        .and_then(|c| parse_digits::<u32>(c, 10))
        .ok_or(bad("clock rate is not a number"))?;
    let channels = match parts.next() {
        Some(c) => Some(parse_digits::<u16>(c, 5).ok_or(bad("channel count is not a number"))?),
        None => None,
    };
    if parts.next().is_some() {
        return Err(bad("too many `/` parts"));
    }
    Ok(RtpMap {
        encoding: encoding.to_owned(),
        clock_rate,
        channels,
    })
}

fn parse_feedback(line: usize, rest: &str) -> Result<RtcpFeedback, Error> {
    let (kind, parameter) = match rest.split_once([' ', '\t']) {
        Some((kind, parameter)) => (kind, Some(parameter.trim())),
        None => (rest, None),
    };
    if !is_token(kind) {
        return Err(bad_attribute(
            line,
            "rtcp-fb",
            "feedback type is not a token",
        ));
    }
    Ok(RtcpFeedback {
        kind: kind.to_owned(),
        parameter: parameter.filter(|p| !p.is_empty()).map(str::to_owned),
    })
}

fn is_rid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 255
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn parse_simulcast(line: usize, value: &str) -> Result<Simulcast, Error> {
    let bad = |reason| bad_attribute(line, "simulcast", reason);
    let mut simulcast = Simulcast::default();
    let mut fields = value.split_ascii_whitespace();
    let mut seen_send = false;
    let mut seen_recv = false;
    while let Some(direction) = fields.next() {
        let list = fields.next().ok_or(bad("direction without streams"))?;
        let target = match direction {
            "send" if !seen_send => {
                seen_send = true;
                &mut simulcast.send
            }
            "recv" if !seen_recv => {
                seen_recv = true;
                &mut simulcast.recv
            }
            _ => return Err(bad("expected one `send` and/or one `recv` list")),
        };
        for alternatives in list.split(';') {
            let mut streams = Vec::new();
            for id in alternatives.split(',') {
                let (paused, rid) = match id.strip_prefix('~') {
                    Some(rid) => (true, rid),
                    None => (false, id),
                };
                if !is_rid_id(rid) {
                    return Err(bad("rid is not alphanumeric, `-` or `_`"));
                }
                streams.push(SimulcastStream {
                    rid: rid.to_owned(),
                    paused,
                });
            }
            target.push(streams);
        }
    }
    if !seen_send && !seen_recv {
        return Err(bad("missing value"));
    }
    Ok(simulcast)
}

// One match arm per attribute this model knows.
#[allow(clippy::too_many_lines)]
fn media_attribute(media: &mut MediaDescription, line: usize, text: &str) -> Result<(), Error> {
    let (name, value) = split_attribute(line, text)?;
    match name {
        "mid" => {
            let value = require_value(line, "mid", value)?;
            let mid = Mid::new(value)
                .map_err(|_| bad_attribute(line, "mid", "must be a token of at most 64 bytes"))?;
            set_once(&mut media.mid, line, "mid", mid)?;
        }
        "ice-ufrag" => {
            let ufrag = parse_ufrag(line, value)?;
            set_once(&mut media.ice_ufrag, line, "ice-ufrag", ufrag)?;
        }
        "ice-pwd" => {
            let pwd = parse_pwd(line, value)?;
            set_once(&mut media.ice_pwd, line, "ice-pwd", pwd)?;
        }
        "ice-options" => parse_ice_options(line, value, &mut media.ice_options)?,
        "fingerprint" => push_fingerprint(line, value, &mut media.fingerprints)?,
        "setup" => {
            let setup = parse_setup(line, value)?;
            set_once(&mut media.setup, line, "setup", setup)?;
        }
        "bundle-only" => {
            require_flag(line, "bundle-only", value)?;
            media.bundle_only = true;
        }
        "candidate" => {
            let value = require_value(line, "candidate", value)?;
            if media.candidates.len() == MAX_CANDIDATES_PER_SECTION {
                return Err(limit(
                    line,
                    Limit::CandidatesPerSection,
                    MAX_CANDIDATES_PER_SECTION,
                ));
            }
            let candidate = Candidate::parse(value)
                .map_err(|e| Error::syntax(line, SyntaxError::Candidate(e)))?;
            media.candidates.push(candidate);
        }
        "end-of-candidates" => {
            require_flag(line, "end-of-candidates", value)?;
            media.end_of_candidates = true;
        }
        "sctp-port" => {
            let value = require_value(line, "sctp-port", value)?;
            let port = parse_digits::<u16>(value, 5).ok_or(bad_attribute(
                line,
                "sctp-port",
                "not a 16-bit number",
            ))?;
            set_once(&mut media.sctp_port, line, "sctp-port", port)?;
        }
        "max-message-size" => {
            let value = require_value(line, "max-message-size", value)?;
            let size = parse_u64(value).ok_or(bad_attribute(
                line,
                "max-message-size",
                "not a 64-bit number",
            ))?;
            set_once(&mut media.max_message_size, line, "max-message-size", size)?;
        }
        "sctpmap" => {
            let value = require_value(line, "sctpmap", value)?;
            let fields: Vec<&str> = value.split_ascii_whitespace().collect();
            let (port, app, streams) = match fields[..] {
                [port, app] => (port, app, None),
                [port, app, streams] => (port, app, Some(streams)),
                _ => {
                    return Err(bad_attribute(
                        line,
                        "sctpmap",
                        "expected `<port> <app> [<streams>]`",
                    ));
                }
            };
            let port = parse_digits::<u16>(port, 5).ok_or(bad_attribute(
                line,
                "sctpmap",
                "port is not a 16-bit number",
            ))?;
            if !is_token(app) {
                return Err(bad_attribute(line, "sctpmap", "application is not a token"));
            }
            let streams = match streams {
                Some(s) => Some(parse_digits::<u32>(s, 10).ok_or(bad_attribute(
                    line,
                    "sctpmap",
                    "streams is not a number",
                ))?),
                None => None,
            };
            let map = SctpMap {
                port,
                app: app.to_owned(),
                streams,
            };
            set_once(&mut media.sctpmap, line, "sctpmap", map)?;
        }
        "extmap-allow-mixed" => {
            require_flag(line, "extmap-allow-mixed", value)?;
            media.extmap_allow_mixed = true;
        }
        "extmap" => media.extmaps.push(parse_extmap(line, value)?),
        "sendrecv" | "sendonly" | "recvonly" | "inactive" => {
            let direction = Direction::parse(name).unwrap_or_default();
            require_flag(line, direction.as_str(), value)?;
            set_once(&mut media.direction, line, "direction", direction)?;
        }
        "msid" => {
            let value = require_value(line, "msid", value)?;
            let fields: Vec<&str> = value.split_ascii_whitespace().collect();
            let msid = match fields[..] {
                [stream] => Msid {
                    stream: stream.to_owned(),
                    track: None,
                },
                [stream, track] => Msid {
                    stream: stream.to_owned(),
                    track: Some(track.to_owned()),
                },
                _ => return Err(bad_attribute(line, "msid", "expected `<stream> [<track>]`")),
            };
            media.msids.push(msid);
        }
        "rtcp" => {
            let value = require_value(line, "rtcp", value)?;
            let (port, address) = match value.split_once([' ', '\t']) {
                Some((port, address)) => (port, Some(address)),
                None => (value, None),
            };
            let port = parse_digits::<u16>(port, 5).ok_or(bad_attribute(
                line,
                "rtcp",
                "port is not a 16-bit number",
            ))?;
            let connection = match address {
                Some(address) => Some(parse_connection(line, address)?),
                None => None,
            };
            set_once(
                &mut media.rtcp,
                line,
                "rtcp",
                RtcpAddress { port, connection },
            )?;
        }
        "rtcp-mux" => {
            require_flag(line, "rtcp-mux", value)?;
            media.rtcp_mux = true;
        }
        "rtcp-mux-only" => {
            require_flag(line, "rtcp-mux-only", value)?;
            media.rtcp_mux_only = true;
        }
        "rtcp-rsize" => {
            require_flag(line, "rtcp-rsize", value)?;
            media.rtcp_rsize = true;
        }
        "rtpmap" | "fmtp" | "rtcp-fb" => {
            let static_name = match name {
                "rtpmap" => "rtpmap",
                "fmtp" => "fmtp",
                _ => "rtcp-fb",
            };
            let value = require_value(line, static_name, value)?;
            let (format, rest) = split_format(value);
            if static_name == "rtcp-fb" && format == "*" {
                if rest.is_empty() {
                    return Err(bad_attribute(line, "rtcp-fb", "missing feedback type"));
                }
                let feedback = parse_feedback(line, rest)?;
                media.rtcp_feedback_all.push(feedback);
                return Ok(());
            }
            let Some(payload_type) = PayloadType::parse(format) else {
                // A format that is not an RTP payload type (e.g. `webrtc-datachannel`):
                // not ours to interpret, kept verbatim.
                media.other.push(Attribute {
                    name: name.to_owned(),
                    value: Some(value.to_owned()),
                });
                return Ok(());
            };
            match static_name {
                "rtpmap" => {
                    let map = parse_rtpmap(line, rest)?;
                    let entry = payload_entry(media, payload_type);
                    set_once(&mut entry.rtpmap, line, "rtpmap", map)?;
                }
                "fmtp" => {
                    let entry = payload_entry(media, payload_type);
                    set_once(&mut entry.fmtp, line, "fmtp", rest.to_owned())?;
                }
                _ => {
                    if rest.is_empty() {
                        return Err(bad_attribute(line, "rtcp-fb", "missing feedback type"));
                    }
                    let feedback = parse_feedback(line, rest)?;
                    payload_entry(media, payload_type)
                        .rtcp_feedback
                        .push(feedback);
                }
            }
        }
        "ssrc" => {
            let value = require_value(line, "ssrc", value)?;
            let (ssrc, rest) = split_format(value);
            let ssrc = parse_digits::<u32>(ssrc, 10).ok_or(bad_attribute(
                line,
                "ssrc",
                "ssrc is not a 32-bit number",
            ))?;
            if rest.is_empty() {
                return Err(bad_attribute(line, "ssrc", "missing source attribute"));
            }
            let (attribute, value) = match rest.split_once(':') {
                Some((attribute, value)) => (attribute, Some(value.to_owned())),
                None => (rest, None),
            };
            if !is_token(attribute) {
                return Err(bad_attribute(
                    line,
                    "ssrc",
                    "source attribute is not a token",
                ));
            }
            media.ssrcs.push(SsrcAttribute {
                ssrc: Ssrc(ssrc),
                attribute: attribute.to_owned(),
                value,
            });
        }
        "ssrc-group" => {
            let value = require_value(line, "ssrc-group", value)?;
            let mut fields = value.split_ascii_whitespace();
            let semantics = fields.next().unwrap_or_default();
            if !is_token(semantics) {
                return Err(bad_attribute(
                    line,
                    "ssrc-group",
                    "semantics is not a token",
                ));
            }
            let mut ssrcs = Vec::new();
            for ssrc in fields {
                let ssrc = parse_digits::<u32>(ssrc, 10).ok_or(bad_attribute(
                    line,
                    "ssrc-group",
                    "ssrc is not a 32-bit number",
                ))?;
                ssrcs.push(Ssrc(ssrc));
            }
            media.ssrc_groups.push(SsrcGroup {
                semantics: semantics.to_owned(),
                ssrcs,
            });
        }
        "rid" => {
            let value = require_value(line, "rid", value)?;
            let mut parts = value.splitn(3, [' ', '\t']);
            let id = parts.next().unwrap_or_default();
            if !is_rid_id(id) {
                return Err(bad_attribute(
                    line,
                    "rid",
                    "id is not alphanumeric, `-` or `_`",
                ));
            }
            let send = match parts.next() {
                Some("send") => true,
                Some("recv") => false,
                _ => return Err(bad_attribute(line, "rid", "direction must be send or recv")),
            };
            let restrictions = parts
                .next()
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_owned);
            media.rids.push(Rid {
                id: id.to_owned(),
                send,
                restrictions,
            });
        }
        "simulcast" => {
            let value = require_value(line, "simulcast", value)?;
            let simulcast = parse_simulcast(line, value)?;
            set_once(&mut media.simulcast, line, "simulcast", simulcast)?;
        }
        _ => media.other.push(Attribute {
            name: name.to_owned(),
            value: value.map(str::to_owned),
        }),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fmt::Write;

    use super::*;

    const MINIMAL: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

    fn with_media(lines: &str) -> String {
        format!("{MINIMAL}m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n{lines}")
    }

    fn syntax_error(text: &str) -> (usize, SyntaxError) {
        match SessionDescription::parse(text) {
            Err(Error::Syntax { line, kind }) => (line, kind),
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn missing_version_line_is_reported_on_line_one() {
        assert_eq!(
            syntax_error("o=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"),
            (1, SyntaxError::MissingVersion)
        );
    }

    #[test]
    fn empty_text_is_an_error() {
        assert_eq!(syntax_error(""), (0, SyntaxError::Empty));
        assert_eq!(syntax_error("\r\n\n"), (0, SyntaxError::Empty));
    }

    #[test]
    fn missing_origin_is_an_error() {
        assert_eq!(
            syntax_error("v=0\ns=-\nt=0 0\n"),
            (0, SyntaxError::MissingLine('o'))
        );
    }

    #[test]
    fn lf_endings_trailing_whitespace_and_missing_timing_are_accepted() {
        let sdp = SessionDescription::parse("v=0 \no=- 1 1 IN IP4 127.0.0.1\t\ns=-\n\n").unwrap();
        assert_eq!(sdp.timings, vec![Timing::default()]);
    }

    #[test]
    fn bad_media_lines_are_rejected_with_their_line_number() {
        let cases = [
            "m=audio\r\n",
            "m=audio x RTP/AVP 0\r\n",
            "m=audio 70000 RTP/AVP 0\r\n",
            "m=audio 9 RTP/AVP\r\n",
            "m=audio 9/x RTP/AVP 0\r\n",
            // Found by the `sdp_answer_remote_offer` fuzz target: the answer repeated
            // payload type 100 and no longer parsed.
            "m=video 9 UDP/TLS/RTP/SAVPF 96 100 97 100\r\n",
        ];
        for case in cases {
            let (line, kind) = syntax_error(&format!("{MINIMAL}{case}"));
            assert_eq!(line, 5, "{case}");
            assert!(
                matches!(kind, SyntaxError::MediaLine(_)),
                "{case}: {kind:?}"
            );
        }
    }

    #[test]
    fn malformed_fingerprint_is_rejected() {
        let (line, kind) = syntax_error(&with_media("a=fingerprint:sha-256 AB:CD\r\n"));
        assert_eq!(line, 6);
        assert!(matches!(
            kind,
            SyntaxError::Fingerprint(crate::FingerprintError::Length { .. })
        ));
        let (_, kind) = syntax_error(&with_media("a=fingerprint:sha-256 ZZ\r\n"));
        assert_eq!(kind, SyntaxError::Fingerprint(crate::FingerprintError::Hex));
    }

    #[test]
    fn duplicate_single_valued_attribute_is_rejected() {
        let (line, kind) = syntax_error(&with_media("a=mid:0\r\na=mid:1\r\n"));
        assert_eq!((line, kind), (7, SyntaxError::DuplicateAttribute("mid")));
    }

    #[test]
    fn unknown_line_type_and_misplaced_lines_are_rejected() {
        assert_eq!(
            syntax_error(&format!("{MINIMAL}x=1\r\n")),
            (5, SyntaxError::UnknownLineType('x'))
        );
        assert_eq!(
            syntax_error(&with_media("o=- 1 1 IN IP4 1.1.1.1\r\n")),
            (6, SyntaxError::LineOutOfPlace('o'))
        );
        assert_eq!(
            syntax_error("v=0\r\nr=1\r\n"),
            (2, SyntaxError::LineOutOfPlace('r'))
        );
    }

    #[test]
    fn unknown_attributes_are_kept_verbatim() {
        let sdp = SessionDescription::parse(&with_media("a=x-custom: spaced value\r\na=flag\r\n"))
            .unwrap();
        assert_eq!(
            sdp.media[0].other,
            vec![
                Attribute {
                    name: "x-custom".into(),
                    value: Some(" spaced value".into())
                },
                Attribute {
                    name: "flag".into(),
                    value: None
                },
            ]
        );
    }

    #[test]
    fn too_many_candidates_hit_the_limit() {
        let mut lines = String::new();
        for i in 0..=MAX_CANDIDATES_PER_SECTION {
            writeln!(lines, "a=candidate:{i} 1 udp 1 10.0.0.1 {i} typ host\r").unwrap();
        }
        let err = SessionDescription::parse(&with_media(&lines)).unwrap_err();
        assert!(matches!(
            err,
            Error::LimitExceeded {
                limit: Limit::CandidatesPerSection,
                ..
            }
        ));
    }

    #[test]
    fn oversized_description_is_rejected_before_parsing() {
        let text = "a".repeat(MAX_DESCRIPTION_BYTES + 1);
        assert!(matches!(
            SessionDescription::parse(&text),
            Err(Error::LimitExceeded {
                limit: Limit::DescriptionBytes,
                line: 0,
                ..
            })
        ));
    }

    #[test]
    fn overlong_line_is_rejected() {
        let text = format!("{MINIMAL}a=x:{}\r\n", "y".repeat(MAX_LINE_BYTES));
        assert!(matches!(
            SessionDescription::parse(&text),
            Err(Error::LimitExceeded {
                limit: Limit::LineBytes,
                line: 5,
                ..
            })
        ));
    }

    #[test]
    fn rtp_attributes_group_by_payload_type_even_when_fmtp_comes_first() {
        let sdp = SessionDescription::parse(&format!(
            "{MINIMAL}m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=fmtp:97 apt=96\r\na=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack pli\r\na=rtpmap:97 rtx/90000\r\na=rtcp-fb:* transport-cc\r\n"
        ))
        .unwrap();
        let media = &sdp.media[0];
        assert_eq!(media.payloads.len(), 2);
        assert_eq!(media.payloads[0].payload_type.get(), 97);
        assert_eq!(media.payloads[0].fmtp_parameter("apt"), Some("96"));
        assert_eq!(
            media.payloads[1].rtcp_feedback,
            vec![RtcpFeedback::new("nack", Some("pli"))]
        );
        assert_eq!(media.rtcp_feedback_all.len(), 1);
    }

    #[test]
    fn simulcast_with_space_after_colon_and_paused_streams_parses() {
        let sdp = SessionDescription::parse(&format!(
            "{MINIMAL}m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rid:h send pt=96;max-width=1280\r\na=simulcast: send h;~m,l recv r\r\n"
        ))
        .unwrap();
        let simulcast = sdp.media[0].simulcast.as_ref().unwrap();
        assert_eq!(simulcast.send.len(), 2);
        assert!(simulcast.send[1][0].paused);
        assert_eq!(simulcast.recv[0][0].rid, "r");
        assert_eq!(
            sdp.media[0].rids[0].restrictions.as_deref(),
            Some("pt=96;max-width=1280")
        );
    }
}
