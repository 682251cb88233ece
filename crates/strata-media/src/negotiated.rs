//! Track configurations from a media section negotiated by `strata-sdp`.

use strata_sdp::NegotiatedMedia;

use crate::config::{Feedback, LocalTrackConfig, RemoteCodec, RemoteTrackConfig, RtxConfig};
use crate::rtp::{ABS_SEND_TIME_URI, ExtensionIds, SDES_MID_URI, TRANSPORT_CC_URI};
use crate::{Codec, Error, Mid, PayloadType, Ssrc};

/// The extension ids of the section for the values this crate uses.
fn extension_ids(media: &NegotiatedMedia) -> ExtensionIds {
    let id = |uri: &str| {
        media
            .header_extensions
            .iter()
            .find(|e| e.uri == uri)
            .and_then(|e| u8::try_from(e.id).ok())
            .filter(|&id| id != 0)
    };
    ExtensionIds {
        mid: id(SDES_MID_URI),
        abs_send_time: id(ABS_SEND_TIME_URI),
        transport_cc: id(TRANSPORT_CC_URI),
    }
}

fn feedback(codec: &strata_sdp::NegotiatedCodec) -> Feedback {
    let has = |kind: &str, parameter: Option<&str>| {
        codec
            .rtcp_feedback
            .iter()
            .any(|f| f.kind.eq_ignore_ascii_case(kind) && f.parameter.as_deref() == parameter)
    };
    Feedback {
        nack: has("nack", None),
        pli: has("nack", Some("pli")),
        fir: has("ccm", Some("fir")),
        transport_cc: has("transport-cc", None),
    }
}

fn payload_type(pt: strata_sdp::PayloadType) -> PayloadType {
    // Both are 7-bit values.
    PayloadType(pt.get() & 0x7F)
}

fn mid(media: &NegotiatedMedia) -> Result<Mid, Error> {
    Mid::new(media.mid.as_str())
}

/// The negotiated codecs this crate can carry, in the answer's preference order.
fn supported(
    media: &NegotiatedMedia,
) -> impl Iterator<Item = (Codec, &strata_sdp::NegotiatedCodec)> {
    media.codecs.iter().filter_map(|c| {
        Codec::from_encoding_name(&c.rtpmap.encoding)
            .filter(|codec| codec.clock_rate() == c.rtpmap.clock_rate)
            .map(|codec| (codec, c))
    })
}

impl LocalTrackConfig {
    /// The sending side of a negotiated section: its first codec this crate packetizes
    /// (the answer's preference), that codec's RTX, and the section's extension ids.
    /// `ssrc` and `rtx_ssrc` are the ones announced for the track (drawn from the session
    /// seed when `None`).
    pub fn from_negotiated(
        media: &NegotiatedMedia,
        ssrc: Option<Ssrc>,
        rtx_ssrc: Option<Ssrc>,
    ) -> Result<Self, Error> {
        let (codec, negotiated) = supported(media)
            .next()
            .ok_or(Error::NotNegotiated("a codec this crate packetizes"))?;
        let mut config = Self::new(mid(media)?, codec, payload_type(negotiated.payload_type));
        config.ssrc = ssrc;
        config.rtx = negotiated.rtx_payload_type.map(|pt| RtxConfig {
            payload_type: payload_type(pt),
            ssrc: rtx_ssrc,
        });
        config.extensions = extension_ids(media);
        Ok(config)
    }
}

impl RemoteTrackConfig {
    /// The receiving side of a negotiated section: every codec this crate depacketizes
    /// with its RTX payload type, the peer's SSRCs with their `FID` (RTX) pairs, the
    /// section's extension ids, and the feedback negotiated for the preferred codec.
    pub fn from_negotiated(media: &NegotiatedMedia) -> Result<Self, Error> {
        let codecs: Vec<_> = supported(media).collect();
        let Some(&(first, preferred)) = codecs.first() else {
            return Err(Error::NotNegotiated("a codec this crate depacketizes"));
        };
        let video = first.is_video();
        let mut config = Self::new(mid(media)?, first, payload_type(preferred.payload_type));
        config.codecs = codecs
            .iter()
            .filter(|(codec, _)| codec.is_video() == video)
            .map(|&(codec, c)| RemoteCodec {
                codec,
                payload_type: payload_type(c.payload_type),
                rtx_payload_type: c.rtx_payload_type.map(payload_type),
            })
            .collect();
        config.rtx_ssrcs = media
            .remote_ssrc_groups
            .iter()
            .filter(|g| g.semantics.eq_ignore_ascii_case("FID"))
            .filter_map(|g| match g.ssrcs[..] {
                [media, rtx] => Some((Ssrc(media.0), Ssrc(rtx.0))),
                _ => None,
            })
            .collect();
        config.ssrcs = media
            .remote_ssrcs
            .iter()
            .map(|s| Ssrc(s.0))
            .filter(|s| config.rtx_ssrcs.iter().all(|&(_, rtx)| rtx != *s))
            .collect();
        config.extensions = extension_ids(media);
        config.feedback = feedback(preferred);
        Ok(config)
    }
}
