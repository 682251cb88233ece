//! RTP-related attribute values: payload formats, feedback, header extensions, SSRCs,
//! msid, rid and simulcast.

use std::fmt;

use crate::model::ids::{PayloadType, Ssrc};

/// The media direction attributes (RFC 8866 §6.7): `sendrecv`, `sendonly`, `recvonly`,
/// `inactive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// Send and receive (the default when absent).
    #[default]
    SendRecv,
    /// Send only.
    SendOnly,
    /// Receive only.
    RecvOnly,
    /// Neither.
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "sendrecv" => Direction::SendRecv,
            "sendonly" => Direction::SendOnly,
            "recvonly" => Direction::RecvOnly,
            "inactive" => Direction::Inactive,
            _ => return None,
        })
    }

    /// Whether this side sends.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether this side receives.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// The direction from its two halves.
    pub fn from_parts(sends: bool, receives: bool) -> Self {
        match (sends, receives) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    /// The direction as seen from the other side (`sendonly` ⇄ `recvonly`).
    #[must_use]
    pub fn reversed(self) -> Self {
        Direction::from_parts(self.receives(), self.sends())
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>]` (RFC 8866 §6.6), without the
/// payload type, which lives in [`RtpPayload`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RtpMap {
    /// The encoding name as written (`opus`, `VP8`, `H264`, `rtx`): compare it
    /// case-insensitively.
    pub encoding: String,
    /// The RTP clock rate in Hz.
    pub clock_rate: u32,
    /// The channel count (audio), when given.
    pub channels: Option<u16>,
}

impl fmt::Display for RtpMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.encoding, self.clock_rate)?;
        if let Some(channels) = self.channels {
            write!(f, "/{channels}")?;
        }
        Ok(())
    }
}

/// One RTCP feedback capability (`a=rtcp-fb:<pt> <type> [<parameter>]`, RFC 4585 §4.2),
/// without the payload type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RtcpFeedback {
    /// The feedback type: `nack`, `ccm`, `transport-cc`, `goog-remb`, ...
    pub kind: String,
    /// The parameter, e.g. `pli` for `nack pli`, `fir` for `ccm fir`.
    pub parameter: Option<String>,
}

impl RtcpFeedback {
    /// A feedback type with an optional parameter.
    pub fn new(kind: &str, parameter: Option<&str>) -> Self {
        RtcpFeedback {
            kind: kind.to_owned(),
            parameter: parameter.map(str::to_owned),
        }
    }
}

impl fmt::Display for RtcpFeedback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.kind)?;
        if let Some(parameter) = &self.parameter {
            write!(f, " {parameter}")?;
        }
        Ok(())
    }
}

/// Everything a media section says about one payload type: its `a=rtpmap`, `a=fmtp` and
/// `a=rtcp-fb` lines, grouped in the order payload types first appear.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RtpPayload {
    /// The payload type.
    pub payload_type: PayloadType,
    /// The `a=rtpmap` value (absent for static payload types that rely on RFC 3551).
    pub rtpmap: Option<RtpMap>,
    /// The `a=fmtp` parameters, verbatim (`minptime=10;useinbandfec=1`).
    pub fmtp: Option<String>,
    /// The `a=rtcp-fb` lines for this payload type.
    pub rtcp_feedback: Vec<RtcpFeedback>,
}

impl RtpPayload {
    /// A payload type with nothing said about it yet.
    pub fn new(payload_type: PayloadType) -> Self {
        RtpPayload {
            payload_type,
            rtpmap: None,
            fmtp: None,
            rtcp_feedback: Vec::new(),
        }
    }

    /// The `fmtp` parameters as `key=value` pairs (`;`-separated; a part without `=` is
    /// returned with an empty key, e.g. telephone-event's `0-15`).
    pub fn fmtp_parameters(&self) -> impl Iterator<Item = (&str, &str)> {
        fmtp_parameters(self.fmtp.as_deref().unwrap_or(""))
    }

    /// The value of one `fmtp` parameter (the first, if repeated).
    pub fn fmtp_parameter(&self, key: &str) -> Option<&str> {
        self.fmtp_parameters()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    }
}

/// Splits `fmtp` parameters into `(key, value)` pairs.
pub fn fmtp_parameters(fmtp: &str) -> impl Iterator<Item = (&str, &str)> {
    fmtp.split(';')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('=') {
            Some((key, value)) => (key.trim(), value.trim()),
            None => ("", part),
        })
}

/// An RTP header extension mapping (`a=extmap`, RFC 8285 §8):
///
/// ```text
/// extmap = mapentry ["/" direction] SP extensionname [SP extensionattributes]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtMap {
    /// The local identifier, 1 to 14 (one-byte form), 1 to 255 (two-byte form), or
    /// 4096 to 4351 in offers.
    pub id: u16,
    /// The direction, when given.
    pub direction: Option<Direction>,
    /// The extension's URI.
    pub uri: String,
    /// Extension attributes, verbatim.
    pub attributes: Option<String>,
}

impl fmt::Display for ExtMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.id)?;
        if let Some(direction) = self.direction {
            write!(f, "/{direction}")?;
        }
        write!(f, " {}", self.uri)?;
        if let Some(attributes) = &self.attributes {
            write!(f, " {attributes}")?;
        }
        Ok(())
    }
}

/// `a=msid:<stream id> [<track id>]` (RFC 8830 §2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Msid {
    /// The media stream id (`-` for none).
    pub stream: String,
    /// The application data, historically the track id.
    pub track: Option<String>,
}

impl fmt::Display for Msid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.stream)?;
        if let Some(track) = &self.track {
            write!(f, " {track}")?;
        }
        Ok(())
    }
}

/// `a=ssrc:<ssrc> <attribute>[:<value>]` (RFC 5576 §4.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SsrcAttribute {
    /// The source.
    pub ssrc: Ssrc,
    /// The attribute name (`cname`, `msid`, ...).
    pub attribute: String,
    /// Its value, verbatim.
    pub value: Option<String>,
}

impl fmt::Display for SsrcAttribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.ssrc, self.attribute)?;
        if let Some(value) = &self.value {
            write!(f, ":{value}")?;
        }
        Ok(())
    }
}

/// `a=ssrc-group:<semantics> <ssrc>...` (RFC 5576 §4.2), e.g. `FID` pairing a source with
/// its RTX source.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SsrcGroup {
    /// `FID`, `SIM`, `FEC-FR`, ...
    pub semantics: String,
    /// The sources, in order.
    pub ssrcs: Vec<Ssrc>,
}

impl fmt::Display for SsrcGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.semantics)?;
        for ssrc in &self.ssrcs {
            write!(f, " {ssrc}")?;
        }
        Ok(())
    }
}

/// `a=rid:<id> send|recv [<restrictions>]` (RFC 8851 §10).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rid {
    /// The RTP stream id.
    pub id: String,
    /// `send` (true) or `recv` (false), from the description's author's view.
    pub send: bool,
    /// `pt=...;max-width=...` restrictions, verbatim.
    pub restrictions: Option<String>,
}

impl fmt::Display for Rid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.id, if self.send { "send" } else { "recv" })?;
        if let Some(restrictions) = &self.restrictions {
            write!(f, " {restrictions}")?;
        }
        Ok(())
    }
}

/// One RTP stream in a simulcast description: a rid, possibly paused (`~`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SimulcastStream {
    /// The rid.
    pub rid: String,
    /// Whether it starts paused.
    pub paused: bool,
}

/// `a=simulcast` (RFC 8853 §5.1):
///
/// ```text
/// sc-value     = ( sc-send [SP sc-recv] ) / ( sc-recv [SP sc-send] )
/// sc-send      = %s"send" SP sc-str-list
/// sc-str-list  = sc-alt-list *( ";" sc-alt-list )
/// sc-alt-list  = sc-id *( "," sc-id )
/// sc-id        = [sc-id-paused] rid-id
/// ```
///
/// Each inner `Vec` is one stream with its alternatives.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Simulcast {
    /// Streams this side sends.
    pub send: Vec<Vec<SimulcastStream>>,
    /// Streams this side receives.
    pub recv: Vec<Vec<SimulcastStream>>,
}

fn write_simulcast_list(f: &mut fmt::Formatter<'_>, list: &[Vec<SimulcastStream>]) -> fmt::Result {
    for (i, alternatives) in list.iter().enumerate() {
        if i > 0 {
            f.write_str(";")?;
        }
        for (j, stream) in alternatives.iter().enumerate() {
            if j > 0 {
                f.write_str(",")?;
            }
            if stream.paused {
                f.write_str("~")?;
            }
            f.write_str(&stream.rid)?;
        }
    }
    Ok(())
}

impl fmt::Display for Simulcast {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.send.is_empty() {
            f.write_str("send ")?;
            write_simulcast_list(f, &self.send)?;
        }
        if !self.recv.is_empty() {
            if !self.send.is_empty() {
                f.write_str(" ")?;
            }
            f.write_str("recv ")?;
            write_simulcast_list(f, &self.recv)?;
        }
        Ok(())
    }
}
