//! Audio and video sections: codecs, transceivers, and codec/extension/direction
//! negotiation (RFC 8829 §5.2.1, §5.3.1; RFC 6184 §8.2.2 for H.264; RFC 4588 for RTX).

use std::fmt;

use crate::model::{
    Direction, ExtMap, MediaDescription, MediaKind, Mid, Msid, PayloadType, Rid, RtcpFeedback,
    RtpMap, RtpPayload, Simulcast, SimulcastStream, Ssrc, SsrcAttribute, SsrcGroup,
    fmtp_parameters,
};

/// A codec we can send and receive, with the payload type our offers use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Codec {
    /// The encoding name (`opus`, `VP8`, `VP9`, `H264`, `AV1`), compared
    /// case-insensitively.
    pub encoding: String,
    /// The RTP clock rate.
    pub clock_rate: u32,
    /// Audio channels (`opus` is always 2 in SDP).
    pub channels: Option<u16>,
    /// Format parameters we announce (`a=fmtp`).
    pub fmtp: Option<String>,
    /// RTCP feedback we support for it.
    pub rtcp_feedback: Vec<RtcpFeedback>,
    /// The payload type in our offers.
    pub payload_type: PayloadType,
    /// The payload type of its RTX stream (RFC 4588) in our offers, if we use RTX.
    pub rtx_payload_type: Option<PayloadType>,
}

fn pt(value: u8) -> PayloadType {
    PayloadType::masked(value)
}

fn video_feedback() -> Vec<RtcpFeedback> {
    vec![
        RtcpFeedback::new("goog-remb", None),
        RtcpFeedback::new("transport-cc", None),
        RtcpFeedback::new("ccm", Some("fir")),
        RtcpFeedback::new("nack", None),
        RtcpFeedback::new("nack", Some("pli")),
    ]
}

impl Codec {
    /// Opus, 48 kHz stereo, in-band FEC (payload type 111, as browsers use).
    pub fn opus() -> Self {
        Codec {
            encoding: "opus".to_owned(),
            clock_rate: 48_000,
            channels: Some(2),
            fmtp: Some("minptime=10;useinbandfec=1".to_owned()),
            rtcp_feedback: vec![RtcpFeedback::new("transport-cc", None)],
            payload_type: pt(111),
            rtx_payload_type: None,
        }
    }

    /// VP8 with RTX (payload types 96/97).
    pub fn vp8() -> Self {
        Codec {
            encoding: "VP8".to_owned(),
            clock_rate: 90_000,
            channels: None,
            fmtp: None,
            rtcp_feedback: video_feedback(),
            payload_type: pt(96),
            rtx_payload_type: Some(pt(97)),
        }
    }

    /// VP9 profile 0 with RTX (payload types 98/99).
    pub fn vp9() -> Self {
        Codec {
            encoding: "VP9".to_owned(),
            clock_rate: 90_000,
            channels: None,
            fmtp: Some("profile-id=0".to_owned()),
            rtcp_feedback: video_feedback(),
            payload_type: pt(98),
            rtx_payload_type: Some(pt(99)),
        }
    }

    /// H.264 with the given `profile-level-id` and `packetization-mode`, with RTX.
    pub fn h264(
        profile_level_id: &str,
        packetization_mode: u8,
        payload_type: PayloadType,
        rtx_payload_type: PayloadType,
    ) -> Self {
        Codec {
            encoding: "H264".to_owned(),
            clock_rate: 90_000,
            channels: None,
            fmtp: Some(format!(
                "level-asymmetry-allowed=1;packetization-mode={packetization_mode};profile-level-id={profile_level_id}"
            )),
            rtcp_feedback: video_feedback(),
            payload_type,
            rtx_payload_type: Some(rtx_payload_type),
        }
    }

    fn rtpmap(&self) -> RtpMap {
        RtpMap {
            encoding: self.encoding.clone(),
            clock_rate: self.clock_rate,
            channels: self.channels,
        }
    }

    fn fmtp_value(&self, key: &str) -> Option<&str> {
        fmtp_parameters(self.fmtp.as_deref().unwrap_or(""))
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    }
}

/// A header extension we support (RFC 8285), with the id our offers use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderExtension {
    /// The extension URI.
    pub uri: String,
    /// The id in our offers (1 to 14).
    pub id: u16,
    /// Used with audio.
    pub audio: bool,
    /// Used with video.
    pub video: bool,
}

impl HeaderExtension {
    /// `urn:ietf:params:rtp-hdrext:sdes:mid` (RFC 9143), needed for BUNDLE demux.
    pub const MID: &'static str = "urn:ietf:params:rtp-hdrext:sdes:mid";
    /// Absolute send time.
    pub const ABS_SEND_TIME: &'static str =
        "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
    /// Transport-wide congestion control sequence numbers.
    pub const TRANSPORT_WIDE_CC: &'static str =
        "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
    /// Audio level (RFC 6464).
    pub const AUDIO_LEVEL: &'static str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
    /// RTP stream id (RFC 8852), for simulcast.
    pub const RTP_STREAM_ID: &'static str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
    /// Repaired RTP stream id (RFC 8852).
    pub const REPAIRED_RTP_STREAM_ID: &'static str =
        "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";

    fn applies_to(&self, kind: &MediaKind) -> bool {
        match kind {
            MediaKind::Audio => self.audio,
            MediaKind::Video => self.video,
            _ => false,
        }
    }
}

/// The codecs and header extensions we offer and accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaCapabilities {
    /// Audio codecs, in preference order.
    pub audio: Vec<Codec>,
    /// Video codecs, in preference order.
    pub video: Vec<Codec>,
    /// Header extensions.
    pub header_extensions: Vec<HeaderExtension>,
}

impl Default for MediaCapabilities {
    /// Opus; VP8, VP9 profile 0, H.264 constrained baseline (packetization modes 1 and
    /// 0) with RTX; the mid, abs-send-time, transport-wide-cc, audio level and rid
    /// extensions.
    fn default() -> Self {
        let ext = |uri: &str, id, audio, video| HeaderExtension {
            uri: uri.to_owned(),
            id,
            audio,
            video,
        };
        MediaCapabilities {
            audio: vec![Codec::opus()],
            video: vec![
                Codec::vp8(),
                Codec::vp9(),
                Codec::h264("42e01f", 1, pt(102), pt(103)),
                Codec::h264("42e01f", 0, pt(104), pt(105)),
            ],
            header_extensions: vec![
                ext(HeaderExtension::MID, 1, true, true),
                ext(HeaderExtension::ABS_SEND_TIME, 2, true, true),
                ext(HeaderExtension::TRANSPORT_WIDE_CC, 3, true, true),
                ext(HeaderExtension::AUDIO_LEVEL, 4, true, false),
                ext(HeaderExtension::RTP_STREAM_ID, 5, false, true),
                ext(HeaderExtension::REPAIRED_RTP_STREAM_ID, 6, false, true),
            ],
        }
    }
}

impl MediaCapabilities {
    fn codecs(&self, kind: &MediaKind) -> &[Codec] {
        match kind {
            MediaKind::Audio => &self.audio,
            MediaKind::Video => &self.video,
            _ => &[],
        }
    }
}

/// Identifies a transceiver of one [`Negotiator`](crate::Negotiator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransceiverId(pub(crate) u32);

impl TransceiverId {
    /// Its position in [`Negotiator::transceivers`](crate::Negotiator::transceivers).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for TransceiverId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "transceiver {}", self.0)
    }
}

/// What the caller knows about a local track when adding a transceiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransceiverInit {
    /// Audio or video.
    pub kind: MediaKind,
    /// The direction we want.
    pub direction: Direction,
    /// Our media stream id for `a=msid` (`-` when none).
    pub stream_id: String,
    /// Our track id for `a=msid`.
    pub track_id: String,
    /// The SSRC we send with, if we send.
    pub ssrc: Option<Ssrc>,
    /// The SSRC of our RTX stream, if we send RTX.
    pub rtx_ssrc: Option<Ssrc>,
    /// Our RTCP CNAME.
    pub cname: String,
}

/// An audio or video transceiver (W3C `RTCRtpTransceiver`): one media section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transceiver {
    id: TransceiverId,
    init: TransceiverInit,
    pub(crate) direction: Direction,
    pub(crate) mid: Option<Mid>,
    pub(crate) stopped: bool,
    pub(crate) current_direction: Option<Direction>,
    /// Our wish (`direction`) when the last exchange completed.
    pub(crate) negotiated_wish: Option<Direction>,
    pub(crate) created_by_remote_offer_pending: bool,
    /// The codecs its sections carry, in this order (W3C `setCodecPreferences`); all of
    /// the capabilities of its kind when `None`.
    pub(crate) codec_preferences: Option<Vec<Codec>>,
}

impl Transceiver {
    pub(crate) fn new(id: TransceiverId, init: TransceiverInit) -> Self {
        Transceiver {
            id,
            direction: init.direction,
            init,
            mid: None,
            stopped: false,
            current_direction: None,
            negotiated_wish: None,
            created_by_remote_offer_pending: false,
            codec_preferences: None,
        }
    }

    pub(crate) fn for_remote_offer(id: TransceiverId, kind: MediaKind, mid: Mid) -> Self {
        let mut transceiver = Transceiver::new(
            id,
            TransceiverInit {
                kind,
                direction: Direction::RecvOnly,
                stream_id: "-".to_owned(),
                track_id: format!("remote-{}", id.0),
                ssrc: None,
                rtx_ssrc: None,
                cname: String::new(),
            },
        );
        transceiver.mid = Some(mid);
        transceiver.created_by_remote_offer_pending = true;
        transceiver
    }

    pub(crate) fn replace_init(&mut self, init: TransceiverInit) {
        self.init = init;
    }

    /// Its id.
    pub fn id(&self) -> TransceiverId {
        self.id
    }

    /// Audio or video.
    pub fn kind(&self) -> &MediaKind {
        &self.init.kind
    }

    /// The direction we want.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The direction the last completed exchange settled on.
    pub fn current_direction(&self) -> Option<Direction> {
        self.current_direction
    }

    /// The mid of its section, once offered or answered.
    pub fn mid(&self) -> Option<&Mid> {
        self.mid.as_ref()
    }

    /// Whether it was stopped.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// What the caller said about the local track.
    pub fn init(&self) -> &TransceiverInit {
        &self.init
    }

    /// The codecs set with
    /// [`Negotiator::set_codec_preferences`](crate::Negotiator::set_codec_preferences).
    pub fn codec_preferences(&self) -> Option<&[Codec]> {
        self.codec_preferences.as_deref()
    }

    /// The codecs its sections offer and accept, most preferred first: its preferences,
    /// else every capability of its kind.
    pub(crate) fn codecs<'a>(&'a self, capabilities: &'a MediaCapabilities) -> &'a [Codec] {
        match &self.codec_preferences {
            Some(preferred) => preferred,
            None => capabilities.codecs(self.kind()),
        }
    }
}

/// One negotiated codec.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NegotiatedCodec {
    /// The payload type both sides use.
    pub payload_type: PayloadType,
    /// Encoding name, clock rate, channels.
    pub rtpmap: RtpMap,
    /// The format parameters of the answer.
    pub fmtp: Option<String>,
    /// Feedback both sides support.
    pub rtcp_feedback: Vec<RtcpFeedback>,
    /// The RTX payload type, when both sides use RTX.
    pub rtx_payload_type: Option<PayloadType>,
}

/// A negotiated audio or video section.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NegotiatedMedia {
    /// Its mid.
    pub mid: Mid,
    /// Its transceiver.
    pub transceiver: TransceiverId,
    /// Audio or video.
    pub kind: MediaKind,
    /// Our direction after the exchange.
    pub direction: Direction,
    /// The codecs both sides support, in the answer's preference order.
    pub codecs: Vec<NegotiatedCodec>,
    /// Header extensions both sides support, with the ids in use.
    pub header_extensions: Vec<ExtMap>,
    /// Reduced-size RTCP (RFC 5506) agreed.
    pub rtcp_reduced_size: bool,
    /// The SSRCs the peer announced (`a=ssrc`), in order, without duplicates.
    pub remote_ssrcs: Vec<Ssrc>,
    /// The peer's `a=ssrc-group` lines (e.g. `FID` for RTX).
    pub remote_ssrc_groups: Vec<SsrcGroup>,
    /// The peer's `a=msid` lines.
    pub remote_msids: Vec<Msid>,
    /// The peer's rids, for simulcast.
    pub remote_rids: Vec<Rid>,
    /// The peer's simulcast description.
    pub remote_simulcast: Option<Simulcast>,
}

/// H.264 profiles, as RFC 6184 §8.1 and libwebrtc classify `profile-level-id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum H264Profile {
    ConstrainedBaseline,
    Baseline,
    Main,
    Extended,
    High,
    ConstrainedHigh,
    Other(u8),
}

fn h264_profile(profile_level_id: Option<&str>) -> Option<H264Profile> {
    // RFC 6184 §8.1: the default is 42000A (baseline, level 1).
    let text = profile_level_id.unwrap_or("42000a");
    if text.len() != 6 || !text.is_ascii() {
        return None;
    }
    let idc = u8::from_str_radix(&text[0..2], 16).ok()?;
    let iop = u8::from_str_radix(&text[2..4], 16).ok()?;
    u8::from_str_radix(&text[4..6], 16).ok()?;
    Some(match idc {
        0x42 if iop & 0x40 != 0 => H264Profile::ConstrainedBaseline,
        0x4d if iop & 0x80 != 0 => H264Profile::ConstrainedBaseline,
        0x58 if iop & 0xc0 == 0xc0 => H264Profile::ConstrainedBaseline,
        0x42 => H264Profile::Baseline,
        0x4d => H264Profile::Main,
        0x58 => H264Profile::Extended,
        0x64 if iop & 0x0c == 0x0c => H264Profile::ConstrainedHigh,
        0x64 => H264Profile::High,
        other => H264Profile::Other(other),
    })
}

fn fmtp_value<'a>(payload: &'a RtpPayload, key: &str) -> Option<&'a str> {
    payload.fmtp_parameter(key)
}

/// Whether an offered/answered payload is the same codec as ours (RFC 8829 §5.3.1: same
/// name, clock rate, channels, and the parameters that identify a codec variant).
fn same_codec(payload: &RtpPayload, codec: &Codec) -> bool {
    let Some(map) = &payload.rtpmap else {
        return false;
    };
    if !map.encoding.eq_ignore_ascii_case(&codec.encoding) || map.clock_rate != codec.clock_rate {
        return false;
    }
    if map.channels.unwrap_or(1) != codec.channels.unwrap_or(1) {
        return false;
    }
    match codec.encoding.to_ascii_lowercase().as_str() {
        "vp9" => {
            fmtp_value(payload, "profile-id").unwrap_or("0")
                == codec.fmtp_value("profile-id").unwrap_or("0")
        }
        "av1" => {
            fmtp_value(payload, "profile").unwrap_or("0")
                == codec.fmtp_value("profile").unwrap_or("0")
        }
        "h264" => {
            fmtp_value(payload, "packetization-mode").unwrap_or("0")
                == codec.fmtp_value("packetization-mode").unwrap_or("0")
                && h264_profile(fmtp_value(payload, "profile-level-id")).is_some()
                && h264_profile(fmtp_value(payload, "profile-level-id"))
                    == h264_profile(codec.fmtp_value("profile-level-id"))
        }
        _ => true,
    }
}

fn is_rtx(payload: &RtpPayload) -> bool {
    payload
        .rtpmap
        .as_ref()
        .is_some_and(|m| m.encoding.eq_ignore_ascii_case("rtx"))
}

fn rtx_for(section: &MediaDescription, payload_type: PayloadType) -> Option<PayloadType> {
    let apt = payload_type.get().to_string();
    listed_payloads(section)
        .find(|p| is_rtx(p) && p.fmtp_parameter("apt") == Some(apt.as_str()))
        .map(|p| p.payload_type)
}

/// The payloads of `section` listed on its `m=` line, in that order.
fn listed_payloads(section: &MediaDescription) -> impl Iterator<Item = &RtpPayload> {
    section.formats.iter().filter_map(|format| {
        let pt = PayloadType::parse(format)?;
        section.payload(pt)
    })
}

/// Whether a remote offer's section shares at least one codec with us.
pub(crate) fn has_common_codec(
    section: &MediaDescription,
    capabilities: &MediaCapabilities,
) -> bool {
    shares_codec(section, capabilities.codecs(&section.kind))
}

/// Whether a section lists at least one of `ours`.
pub(crate) fn shares_codec(section: &MediaDescription, ours: &[Codec]) -> bool {
    listed_payloads(section).any(|p| ours.iter().any(|c| same_codec(p, c)))
}

fn intersect_feedback(offered: &[RtcpFeedback], ours: &[RtcpFeedback]) -> Vec<RtcpFeedback> {
    offered
        .iter()
        .filter(|f| ours.contains(f))
        .cloned()
        .collect()
}

fn add_payload(
    media: &mut MediaDescription,
    payload_type: PayloadType,
    rtpmap: RtpMap,
    fmtp: Option<String>,
    rtcp_feedback: Vec<RtcpFeedback>,
) {
    media.formats.push(payload_type.to_string());
    media.payloads.push(RtpPayload {
        payload_type,
        rtpmap: Some(rtpmap),
        fmtp,
        rtcp_feedback,
    });
}

fn add_sending_attributes(
    media: &mut MediaDescription,
    transceiver: &Transceiver,
    direction: Direction,
    rtx: bool,
) {
    let init = transceiver.init();
    if !direction.sends() {
        return;
    }
    media.msids.push(Msid {
        stream: init.stream_id.clone(),
        track: Some(init.track_id.clone()),
    });
    let Some(ssrc) = init.ssrc else {
        return;
    };
    let rtx_ssrc = init.rtx_ssrc.filter(|_| rtx);
    if let Some(rtx_ssrc) = rtx_ssrc {
        media.ssrc_groups.push(SsrcGroup {
            semantics: "FID".to_owned(),
            ssrcs: vec![ssrc, rtx_ssrc],
        });
    }
    for source in std::iter::once(ssrc).chain(rtx_ssrc) {
        if !init.cname.is_empty() {
            media.ssrcs.push(SsrcAttribute {
                ssrc: source,
                attribute: "cname".to_owned(),
                value: Some(init.cname.clone()),
            });
        }
        media.ssrcs.push(SsrcAttribute {
            ssrc: source,
            attribute: "msid".to_owned(),
            value: Some(format!("{} {}", init.stream_id, init.track_id)),
        });
    }
}

/// The id an offer gives `extension`: the one `in_use` (the extensions of the peer's
/// current description, all sections) maps its URI to, else our own unless the peer
/// uses it for another URI, else the smallest one-byte id nobody uses (JSEP §5.2.2: a
/// subsequent offer keeps negotiated ids; the BUNDLE shares one id space). `None` when
/// every one-byte id is taken.
fn offer_extension_id(extension: &HeaderExtension, in_use: &[ExtMap]) -> Option<u16> {
    if let Some(negotiated) = in_use.iter().find(|e| e.uri == extension.uri) {
        return Some(negotiated.id);
    }
    let taken = |id: u16| in_use.iter().any(|e| e.id == id);
    if !taken(extension.id) {
        return Some(extension.id);
    }
    (1..=14).find(|&id| !taken(id))
}

/// Fills an offer's media section for `transceiver` (JSEP §5.2.1), keeping the header
/// extension ids of `in_use`, the peer's current description's (§5.2.2).
pub(crate) fn fill_offer_section(
    media: &mut MediaDescription,
    transceiver: &Transceiver,
    capabilities: &MediaCapabilities,
    in_use: &[ExtMap],
) {
    media.formats.clear();
    let kind = transceiver.kind().clone();
    let mut chosen: Vec<ExtMap> = in_use.to_vec();
    for extension in capabilities
        .header_extensions
        .iter()
        .filter(|e| e.applies_to(&kind))
    {
        let Some(id) = offer_extension_id(extension, &chosen) else {
            continue;
        };
        let extmap = ExtMap {
            id,
            direction: None,
            uri: extension.uri.clone(),
            attributes: None,
        };
        chosen.push(extmap.clone());
        media.extmaps.push(extmap);
    }
    media.direction = Some(transceiver.direction());
    media.rtcp_mux = true;
    media.rtcp_rsize = true;
    let codecs = transceiver.codecs(capabilities);
    for codec in codecs {
        add_payload(
            media,
            codec.payload_type,
            codec.rtpmap(),
            codec.fmtp.clone(),
            codec.rtcp_feedback.clone(),
        );
        if let Some(rtx) = codec.rtx_payload_type {
            add_payload(
                media,
                rtx,
                RtpMap {
                    encoding: "rtx".to_owned(),
                    clock_rate: codec.clock_rate,
                    channels: None,
                },
                Some(format!("apt={}", codec.payload_type)),
                Vec::new(),
            );
        }
    }
    let rtx = codecs.iter().any(|c| c.rtx_payload_type.is_some());
    add_sending_attributes(media, transceiver, transceiver.direction(), rtx);
}

/// Fills our answer's media section for `transceiver`, answering `offered`
/// (JSEP §5.3.1): the offer's codecs we support, with the offer's payload types, in
/// the offer's order (in the transceiver's order, leaving out the others, when it has
/// codec preferences); RTX where both use it; the offer's header extensions we support,
/// with the offer's ids; the direction both want; simulcast mirrored.
pub(crate) fn fill_answer_section(
    media: &mut MediaDescription,
    offered: &MediaDescription,
    transceiver: &Transceiver,
    capabilities: &MediaCapabilities,
) {
    media.formats.clear();
    let ours = transceiver.codecs(capabilities);
    for extmap in &offered.extmaps {
        if capabilities
            .header_extensions
            .iter()
            .any(|e| e.uri == extmap.uri && e.applies_to(&offered.kind))
        {
            media.extmaps.push(ExtMap {
                id: extmap.id,
                direction: None,
                uri: extmap.uri.clone(),
                attributes: None,
            });
        }
    }
    let direction = answer_direction(
        transceiver.direction(),
        offered.direction.unwrap_or_default(),
    );
    media.direction = Some(direction);
    media.rtcp_mux = true;
    media.rtcp_rsize = offered.rtcp_rsize;
    let mut any_rtx = false;
    let mut matched: Vec<(usize, &RtpPayload, &Codec)> = listed_payloads(offered)
        .filter_map(|payload| {
            let (rank, codec) = ours
                .iter()
                .enumerate()
                .find(|(_, c)| same_codec(payload, c))?;
            Some((rank, payload, codec))
        })
        .collect();
    if transceiver.codec_preferences.is_some() {
        // Stable: payloads of one preferred codec keep the offer's order.
        matched.sort_by_key(|&(rank, _, _)| rank);
    }
    for (_, payload, codec) in matched {
        let Some(rtpmap) = payload.rtpmap.clone() else {
            continue;
        };
        let fmtp = if codec.encoding.eq_ignore_ascii_case("h264") {
            payload.fmtp.clone()
        } else {
            codec.fmtp.clone()
        };
        add_payload(
            media,
            payload.payload_type,
            rtpmap,
            fmtp,
            intersect_feedback(&payload.rtcp_feedback, &codec.rtcp_feedback),
        );
        if codec.rtx_payload_type.is_some()
            && let Some(rtx) = rtx_for(offered, payload.payload_type)
        {
            any_rtx = true;
            add_payload(
                media,
                rtx,
                RtpMap {
                    encoding: "rtx".to_owned(),
                    clock_rate: codec.clock_rate,
                    channels: None,
                },
                Some(format!("apt={}", payload.payload_type)),
                Vec::new(),
            );
        }
    }
    // Mirror the offerer's simulcast: what it sends we receive.
    if let Some(simulcast) = &offered.simulcast
        && direction.receives()
    {
        for rid in offered.rids.iter().filter(|r| r.send) {
            media.rids.push(Rid {
                id: rid.id.clone(),
                send: false,
                restrictions: None,
            });
        }
        media.simulcast = Some(Simulcast {
            send: Vec::new(),
            recv: simulcast
                .send
                .iter()
                .map(|alternatives| {
                    alternatives
                        .iter()
                        .map(|s| SimulcastStream {
                            rid: s.rid.clone(),
                            paused: s.paused,
                        })
                        .collect()
                })
                .collect(),
        });
    }
    add_sending_attributes(media, transceiver, direction, any_rtx);
}

/// Our direction in an answer: we send if we want to and the offerer receives, and
/// receive if we want to and the offerer sends (RFC 3264 §6.1).
pub(crate) fn answer_direction(ours: Direction, offered: Direction) -> Direction {
    Direction::from_parts(
        ours.sends() && offered.receives(),
        ours.receives() && offered.sends(),
    )
}

/// The negotiated result of one media section, read off the answer.
pub(crate) fn negotiated_media(
    mid: Mid,
    transceiver: TransceiverId,
    answer: &MediaDescription,
    remote: &MediaDescription,
    local_direction: Direction,
    capabilities: &MediaCapabilities,
) -> NegotiatedMedia {
    let ours = capabilities.codecs(&answer.kind);
    let mut codecs = Vec::new();
    for payload in listed_payloads(answer) {
        if is_rtx(payload) {
            continue;
        }
        let Some(codec) = ours.iter().find(|c| same_codec(payload, c)) else {
            continue;
        };
        let Some(rtpmap) = payload.rtpmap.clone() else {
            continue;
        };
        codecs.push(NegotiatedCodec {
            payload_type: payload.payload_type,
            rtpmap,
            fmtp: payload.fmtp.clone(),
            rtcp_feedback: intersect_feedback(&payload.rtcp_feedback, &codec.rtcp_feedback),
            rtx_payload_type: codec
                .rtx_payload_type
                .and_then(|_| rtx_for(answer, payload.payload_type)),
        });
    }
    let header_extensions = answer
        .extmaps
        .iter()
        .filter(|e| {
            capabilities
                .header_extensions
                .iter()
                .any(|c| c.uri == e.uri && c.applies_to(&answer.kind))
        })
        .cloned()
        .collect();
    let mut remote_ssrcs: Vec<Ssrc> = Vec::new();
    for attribute in &remote.ssrcs {
        if !remote_ssrcs.contains(&attribute.ssrc) {
            remote_ssrcs.push(attribute.ssrc);
        }
    }
    NegotiatedMedia {
        mid,
        transceiver,
        kind: answer.kind.clone(),
        direction: local_direction,
        codecs,
        header_extensions,
        rtcp_reduced_size: answer.rtcp_rsize,
        remote_ssrcs,
        remote_ssrc_groups: remote.ssrc_groups.clone(),
        remote_msids: remote.msids.clone(),
        remote_rids: remote.rids.clone(),
        remote_simulcast: remote.simulcast.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(text: &str) -> RtpPayload {
        let sdp = crate::SessionDescription::parse(&format!(
            "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 100\r\n{text}"
        ))
        .unwrap();
        sdp.media[0].payloads[0].clone()
    }

    #[test]
    fn h264_matches_on_profile_and_packetization_mode_not_level() {
        let ours = Codec::h264("42e01f", 1, pt(102), pt(103));
        let same_profile_other_level = payload(
            "a=rtpmap:100 H264/90000\r\na=fmtp:100 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e034\r\n",
        );
        assert!(same_codec(&same_profile_other_level, &ours));
        let other_mode = payload(
            "a=rtpmap:100 H264/90000\r\na=fmtp:100 packetization-mode=0;profile-level-id=42e01f\r\n",
        );
        assert!(!same_codec(&other_mode, &ours));
        let main_profile = payload(
            "a=rtpmap:100 H264/90000\r\na=fmtp:100 packetization-mode=1;profile-level-id=4d001f\r\n",
        );
        assert!(!same_codec(&main_profile, &ours));
        // 42001f (baseline without constraint_set1) is not constrained baseline.
        let baseline = payload(
            "a=rtpmap:100 H264/90000\r\na=fmtp:100 packetization-mode=1;profile-level-id=42001f\r\n",
        );
        assert!(!same_codec(&baseline, &ours));
    }

    #[test]
    fn vp9_profiles_do_not_match_each_other() {
        let ours = Codec::vp9();
        assert!(same_codec(
            &payload("a=rtpmap:100 VP9/90000\r\na=fmtp:100 profile-id=0\r\n"),
            &ours
        ));
        assert!(same_codec(&payload("a=rtpmap:100 VP9/90000\r\n"), &ours));
        assert!(!same_codec(
            &payload("a=rtpmap:100 VP9/90000\r\na=fmtp:100 profile-id=2\r\n"),
            &ours
        ));
    }

    #[test]
    fn answer_direction_intersects_both_sides() {
        assert_eq!(
            answer_direction(Direction::SendRecv, Direction::RecvOnly),
            Direction::SendOnly
        );
        assert_eq!(
            answer_direction(Direction::RecvOnly, Direction::SendRecv),
            Direction::RecvOnly
        );
        assert_eq!(
            answer_direction(Direction::SendOnly, Direction::SendOnly),
            Direction::Inactive
        );
    }
}
