//! The SDP serializer: [`SessionDescription`] to text with CRLF line endings, lines in
//! RFC 8866 order and attributes in one canonical order (transport attributes first,
//! then RTP, then candidates, then unknown attributes in the order they were parsed).

use std::fmt::{self, Write};

use crate::model::{MediaDescription, SessionDescription};

/// Writes into a `String` (cheaper per piece than a `Formatter`'s dynamic writer); the
/// finished text is handed to the `Formatter` once.
struct Lines<'a> {
    out: &'a mut String,
}

impl Lines<'_> {
    fn line(&mut self, kind: char, value: impl fmt::Display) -> fmt::Result {
        write!(self.out, "{kind}={value}\r\n")
    }

    fn attribute(&mut self, name: &str, value: impl fmt::Display) -> fmt::Result {
        write!(self.out, "a={name}:{value}\r\n")
    }

    fn flag(&mut self, name: &str, set: bool) -> fmt::Result {
        if set {
            write!(self.out, "a={name}\r\n")?;
        }
        Ok(())
    }

    fn verbatim(&mut self, name: &str, value: Option<&str>) -> fmt::Result {
        match value {
            Some(value) => write!(self.out, "a={name}:{value}\r\n"),
            None => write!(self.out, "a={name}\r\n"),
        }
    }
}

/// Joins `items` with single spaces.
struct Spaced<'a, T>(&'a [T]);

impl<T: fmt::Display> fmt::Display for Spaced<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, item) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_char(' ')?;
            }
            write!(f, "{item}")?;
        }
        Ok(())
    }
}

/// Writes the description as SDP text with CRLF line endings.
impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::with_capacity(256 + 2048 * self.media.len());
        write_session(&mut Lines { out: &mut out }, self)?;
        f.write_str(&out)
    }
}

fn write_session(w: &mut Lines<'_>, sdp: &SessionDescription) -> fmt::Result {
    w.line('v', 0)?;
    let o = &sdp.origin;
    w.line(
        'o',
        format_args!(
            "{} {} {} {} {} {}",
            o.username,
            o.session_id,
            o.session_version,
            o.network_type,
            o.address_type,
            o.unicast_address
        ),
    )?;
    w.line('s', &sdp.session_name)?;
    if let Some(information) = &sdp.information {
        w.line('i', information)?;
    }
    if let Some(uri) = &sdp.uri {
        w.line('u', uri)?;
    }
    for email in &sdp.emails {
        w.line('e', email)?;
    }
    for phone in &sdp.phones {
        w.line('p', phone)?;
    }
    if let Some(connection) = &sdp.connection {
        w.line('c', connection)?;
    }
    for bandwidth in &sdp.bandwidths {
        w.line('b', format_args!("{}:{}", bandwidth.kind, bandwidth.value))?;
    }
    if sdp.timings.is_empty() {
        w.line('t', "0 0")?;
    }
    for timing in &sdp.timings {
        w.line('t', format_args!("{} {}", timing.start, timing.stop))?;
        for repeat in &timing.repeats {
            w.line('r', repeat)?;
        }
    }
    if let Some(zones) = &sdp.time_zones {
        w.line('z', zones)?;
    }
    if let Some(key) = &sdp.encryption_key {
        w.line('k', key)?;
    }
    for group in &sdp.groups {
        w.attribute("group", group)?;
    }
    w.flag("ice-lite", sdp.ice_lite)?;
    if let Some(ufrag) = &sdp.ice_ufrag {
        w.attribute("ice-ufrag", ufrag)?;
    }
    if let Some(pwd) = &sdp.ice_pwd {
        w.attribute("ice-pwd", pwd)?;
    }
    if !sdp.ice_options.is_empty() {
        w.attribute("ice-options", Spaced(&sdp.ice_options))?;
    }
    for fingerprint in &sdp.fingerprints {
        w.attribute("fingerprint", fingerprint)?;
    }
    if let Some(setup) = sdp.setup {
        w.attribute("setup", setup)?;
    }
    w.flag("extmap-allow-mixed", sdp.extmap_allow_mixed)?;
    for extmap in &sdp.extmaps {
        w.attribute("extmap", extmap)?;
    }
    for semantic in &sdp.msid_semantics {
        w.attribute("msid-semantic", semantic)?;
    }
    if let Some(direction) = sdp.direction {
        w.flag(direction.as_str(), true)?;
    }
    for attribute in &sdp.other {
        w.verbatim(&attribute.name, attribute.value.as_deref())?;
    }
    for media in &sdp.media {
        write_media(w, media)?;
    }
    Ok(())
}

// One block per line type, in the canonical order.
#[allow(clippy::too_many_lines)]
fn write_media(w: &mut Lines<'_>, media: &MediaDescription) -> fmt::Result {
    match media.port_count {
        Some(count) => w.line(
            'm',
            format_args!(
                "{} {}/{} {} {}",
                media.kind,
                media.port,
                count,
                media.proto,
                Spaced(&media.formats)
            ),
        )?,
        None => w.line(
            'm',
            format_args!(
                "{} {} {} {}",
                media.kind,
                media.port,
                media.proto,
                Spaced(&media.formats)
            ),
        )?,
    }
    if let Some(title) = &media.title {
        w.line('i', title)?;
    }
    for connection in &media.connections {
        w.line('c', connection)?;
    }
    for bandwidth in &media.bandwidths {
        w.line('b', format_args!("{}:{}", bandwidth.kind, bandwidth.value))?;
    }
    if let Some(key) = &media.encryption_key {
        w.line('k', key)?;
    }
    if let Some(mid) = &media.mid {
        w.attribute("mid", mid)?;
    }
    if let Some(ufrag) = &media.ice_ufrag {
        w.attribute("ice-ufrag", ufrag)?;
    }
    if let Some(pwd) = &media.ice_pwd {
        w.attribute("ice-pwd", pwd)?;
    }
    if !media.ice_options.is_empty() {
        w.attribute("ice-options", Spaced(&media.ice_options))?;
    }
    for fingerprint in &media.fingerprints {
        w.attribute("fingerprint", fingerprint)?;
    }
    if let Some(setup) = media.setup {
        w.attribute("setup", setup)?;
    }
    w.flag("bundle-only", media.bundle_only)?;
    if let Some(port) = media.sctp_port {
        w.attribute("sctp-port", port)?;
    }
    if let Some(map) = &media.sctpmap {
        w.attribute("sctpmap", map)?;
    }
    if let Some(size) = media.max_message_size {
        w.attribute("max-message-size", size)?;
    }
    w.flag("extmap-allow-mixed", media.extmap_allow_mixed)?;
    for extmap in &media.extmaps {
        w.attribute("extmap", extmap)?;
    }
    if let Some(direction) = media.direction {
        w.flag(direction.as_str(), true)?;
    }
    for msid in &media.msids {
        w.attribute("msid", msid)?;
    }
    if let Some(rtcp) = &media.rtcp {
        w.attribute("rtcp", rtcp)?;
    }
    w.flag("rtcp-mux", media.rtcp_mux)?;
    w.flag("rtcp-mux-only", media.rtcp_mux_only)?;
    w.flag("rtcp-rsize", media.rtcp_rsize)?;
    for payload in &media.payloads {
        let pt = payload.payload_type;
        if let Some(map) = &payload.rtpmap {
            w.attribute("rtpmap", format_args!("{pt} {map}"))?;
        }
        for feedback in &payload.rtcp_feedback {
            w.attribute("rtcp-fb", format_args!("{pt} {feedback}"))?;
        }
        if let Some(fmtp) = &payload.fmtp {
            if fmtp.is_empty() {
                w.attribute("fmtp", pt)?;
            } else {
                w.attribute("fmtp", format_args!("{pt} {fmtp}"))?;
            }
        }
    }
    for feedback in &media.rtcp_feedback_all {
        w.attribute("rtcp-fb", format_args!("* {feedback}"))?;
    }
    for rid in &media.rids {
        w.attribute("rid", rid)?;
    }
    if let Some(simulcast) = &media.simulcast {
        w.attribute("simulcast", simulcast)?;
    }
    for group in &media.ssrc_groups {
        w.attribute("ssrc-group", group)?;
    }
    for ssrc in &media.ssrcs {
        w.attribute("ssrc", ssrc)?;
    }
    for candidate in &media.candidates {
        // `Candidate`'s Display writes `candidate:...`, the attribute's name and value.
        write!(w.out, "a={candidate}\r\n")?;
    }
    w.flag("end-of-candidates", media.end_of_candidates)?;
    for attribute in &media.other {
        w.verbatim(&attribute.name, attribute.value.as_deref())?;
    }
    Ok(())
}
