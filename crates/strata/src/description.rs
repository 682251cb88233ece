//! Session descriptions and ICE candidates as they travel over signaling.

use serde::{Deserialize, Serialize};

/// The kind of a session description (W3C `RTCSdpType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SdpType {
    /// An offer.
    Offer,
    /// A provisional answer.
    Pranswer,
    /// A final answer.
    Answer,
    /// Undo the pending local or remote offer.
    Rollback,
}

impl SdpType {
    /// The negotiator's type; `None` for a rollback, which is an operation, not SDP.
    pub(crate) fn to_sdp(self) -> Option<strata_sdp::SdpType> {
        match self {
            Self::Offer => Some(strata_sdp::SdpType::Offer),
            Self::Pranswer => Some(strata_sdp::SdpType::Pranswer),
            Self::Answer => Some(strata_sdp::SdpType::Answer),
            Self::Rollback => None,
        }
    }

    pub(crate) fn from_sdp(kind: strata_sdp::SdpType) -> Self {
        match kind {
            strata_sdp::SdpType::Offer => Self::Offer,
            strata_sdp::SdpType::Pranswer => Self::Pranswer,
            strata_sdp::SdpType::Answer => Self::Answer,
        }
    }
}

/// A session description, shaped like W3C `RTCSessionDescriptionInit`: it serializes to
/// the JSON every WebRTC signaling channel carries, `{"type":"offer","sdp":"v=0..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionDescription {
    /// Offer, answer, pranswer or rollback.
    #[serde(rename = "type")]
    pub kind: SdpType,
    /// The SDP text (empty for a rollback).
    #[serde(default)]
    pub sdp: String,
}

impl SessionDescription {
    /// An offer with this SDP.
    pub fn offer(sdp: impl Into<String>) -> Self {
        Self {
            kind: SdpType::Offer,
            sdp: sdp.into(),
        }
    }

    /// An answer with this SDP.
    pub fn answer(sdp: impl Into<String>) -> Self {
        Self {
            kind: SdpType::Answer,
            sdp: sdp.into(),
        }
    }

    /// A rollback.
    pub fn rollback() -> Self {
        Self {
            kind: SdpType::Rollback,
            sdp: String::new(),
        }
    }

    pub(crate) fn from_sdp(description: &strata_sdp::Description) -> Self {
        Self {
            kind: SdpType::from_sdp(description.kind),
            sdp: description.to_sdp_string(),
        }
    }
}

/// An ICE candidate, shaped like W3C `RTCIceCandidateInit` (the JSON browsers produce with
/// `candidate.toJSON()`): `{"candidate":"candidate:...","sdpMid":"0","sdpMLineIndex":0}`.
/// An empty `candidate` signals end-of-candidates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IceCandidateInit {
    /// The `candidate:...` attribute value, or empty for end-of-candidates.
    pub candidate: String,
    /// The media section's mid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_mid: Option<String>,
    /// The media section's index.
    #[serde(
        default,
        rename = "sdpMLineIndex",
        skip_serializing_if = "Option::is_none"
    )]
    pub sdp_mline_index: Option<u16>,
    /// The ICE username fragment (generation) the candidate belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_fragment: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_use_the_w3c_json_shape() {
        let offer = SessionDescription::offer("v=0\r\n");
        let json = serde_json::to_string(&offer).unwrap();
        assert_eq!(json, r#"{"type":"offer","sdp":"v=0\r\n"}"#);
        let parsed: SessionDescription =
            serde_json::from_str(r#"{"type":"answer","sdp":"x"}"#).unwrap();
        assert_eq!(parsed, SessionDescription::answer("x"));
        let rollback: SessionDescription = serde_json::from_str(r#"{"type":"rollback"}"#).unwrap();
        assert_eq!(rollback, SessionDescription::rollback());
        assert!(
            serde_json::from_str::<SessionDescription>(r#"{"type":"bogus","sdp":""}"#).is_err()
        );
    }

    #[test]
    fn candidates_use_the_browser_json_shape() {
        let browser = r#"{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"abcd"}"#;
        let parsed: IceCandidateInit = serde_json::from_str(browser).unwrap();
        assert_eq!(parsed.sdp_mid.as_deref(), Some("0"));
        assert_eq!(parsed.sdp_mline_index, Some(0));
        assert_eq!(serde_json::to_string(&parsed).unwrap(), browser);
    }
}
