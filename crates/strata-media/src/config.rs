//! Configuration of a session and of the tracks added to it.

use std::time::Duration;

use strata_jitter::{ClockRate, MediaKind};

use crate::rtp::ExtensionIds;
use crate::{Codec, Error, Mid, PayloadType, Ssrc};

/// Packets a sending track keeps for retransmission by default.
pub const RETRANSMISSION_CACHE_PACKETS: usize = 1024;
/// Upper bound of [`SessionConfig::retransmission_cache_packets`].
pub const MAX_RETRANSMISSION_CACHE_PACKETS: usize = 16_384;

/// Configuration of a [`MediaSession`](crate::MediaSession).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Seeds every random choice: SSRCs not given, initial sequence numbers and
    /// timestamps, report intervals.
    pub seed: u64,
    /// Largest RTP packet written, in bytes (the payload of the UDP datagram before SRTP's
    /// tag is added; 200 to 9000). Default 1200, WebRTC's usual.
    pub mtu: usize,
    /// The CNAME sent in SDES (RFC 7022: a random per-session identifier).
    pub cname: String,
    /// Wallclock time at the `now` given to [`MediaSession::new`](crate::MediaSession::new),
    /// as time since the Unix epoch: the NTP timestamps of sender reports are derived from
    /// it. The driver passes `SystemTime::now()`; the default (zero) still gives correct
    /// round-trip times, which only use differences.
    pub wallclock_at_start: Duration,
    /// RTCP feedback may be sent as reduced-size packets (RFC 5506, negotiated with
    /// `a=rtcp-rsize`). Otherwise every RTCP packet is a compound starting with a report.
    pub rtcp_reduced_size: bool,
    /// Mean interval between RTCP reports (100 ms to 60 s). Each interval is drawn
    /// uniformly from `[0.5, 1.5]` times this (RFC 3550 §6.3.1's randomisation). Default
    /// 1 s, what browsers use for video (RFC 3550's bandwidth-derived interval would be
    /// longer; WebRTC applications expect timely loss and RTT figures).
    pub report_interval: Duration,
    /// Interval between transport-wide feedback messages (10 ms to 1 s). Default 100 ms.
    pub transport_feedback_interval: Duration,
    /// Least time between two keyframe requests for one remote track. Default 300 ms.
    pub keyframe_request_interval: Duration,
    /// Packets each sending track keeps for retransmission (1 to
    /// [`MAX_RETRANSMISSION_CACHE_PACKETS`]). Default [`RETRANSMISSION_CACHE_PACKETS`].
    pub retransmission_cache_packets: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            mtu: 1200,
            cname: "strata".to_owned(),
            wallclock_at_start: Duration::ZERO,
            rtcp_reduced_size: false,
            report_interval: Duration::from_secs(1),
            transport_feedback_interval: Duration::from_millis(100),
            keyframe_request_interval: Duration::from_millis(300),
            retransmission_cache_packets: RETRANSMISSION_CACHE_PACKETS,
        }
    }
}

impl SessionConfig {
    /// The defaults with `seed`.
    pub fn with_seed(seed: u64) -> Self {
        Self {
            seed,
            ..Self::default()
        }
    }

    /// Checks every field against its documented range.
    pub fn validate(&self) -> Result<(), Error> {
        let invalid = |field, problem| Err(Error::InvalidConfig { field, problem });
        if !(200..=9000).contains(&self.mtu) {
            return invalid("mtu", "must be between 200 and 9000");
        }
        if self.cname.is_empty() || self.cname.len() > 255 {
            return invalid("cname", "must be 1 to 255 bytes");
        }
        if self.report_interval < Duration::from_millis(100)
            || self.report_interval > Duration::from_mins(1)
        {
            return invalid("report_interval", "must be between 100 ms and 60 s");
        }
        if self.transport_feedback_interval < Duration::from_millis(10)
            || self.transport_feedback_interval > Duration::from_secs(1)
        {
            return invalid(
                "transport_feedback_interval",
                "must be between 10 ms and 1 s",
            );
        }
        if !(1..=MAX_RETRANSMISSION_CACHE_PACKETS).contains(&self.retransmission_cache_packets) {
            return invalid(
                "retransmission_cache_packets",
                "must be between 1 and 16384",
            );
        }
        Ok(())
    }
}

/// Which RTCP feedback the peer negotiated (`a=rtcp-fb`) for a track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// Four independent negotiated flags.
#[allow(clippy::struct_excessive_bools)]
pub struct Feedback {
    /// `nack`: generic NACK.
    pub nack: bool,
    /// `nack pli`.
    pub pli: bool,
    /// `ccm fir`.
    pub fir: bool,
    /// `transport-cc`.
    pub transport_cc: bool,
}

impl Feedback {
    /// What browsers negotiate for `codec`: NACK, PLI and FIR for video, none for audio,
    /// transport-cc for both.
    pub fn for_codec(codec: Codec) -> Self {
        let video = codec.is_video();
        Self {
            nack: video,
            pli: video,
            fir: video,
            transport_cc: true,
        }
    }
}

/// RTX (RFC 4588) negotiated for a sending track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtxConfig {
    /// The RTX payload type (`a=fmtp:<pt> apt=<media pt>`).
    pub payload_type: PayloadType,
    /// The RTX SSRC (`a=ssrc-group:FID <media> <rtx>`); drawn from the seed when `None`.
    pub ssrc: Option<Ssrc>,
}

/// A track we send: one negotiated codec on one m-line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LocalTrackConfig {
    /// The m-line's MID; it identifies the track in the session.
    pub mid: Mid,
    /// The codec.
    pub codec: Codec,
    /// Its negotiated payload type.
    pub payload_type: PayloadType,
    /// The media SSRC we announced; drawn from the seed when `None`.
    pub ssrc: Option<Ssrc>,
    /// RTX, when negotiated; otherwise retransmissions resend the original packet.
    pub rtx: Option<RtxConfig>,
    /// Header extension ids to write (MID, abs-send-time, transport-wide sequence).
    pub extensions: ExtensionIds,
}

impl LocalTrackConfig {
    /// A track of `codec` on `payload_type`, with a seeded SSRC, no RTX and no extensions.
    pub fn new(mid: Mid, codec: Codec, payload_type: PayloadType) -> Self {
        Self {
            mid,
            codec,
            payload_type,
            ssrc: None,
            rtx: None,
            extensions: ExtensionIds::default(),
        }
    }
}

/// One codec a remote track may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteCodec {
    /// The codec.
    pub codec: Codec,
    /// Its payload type.
    pub payload_type: PayloadType,
    /// The payload type of its RTX stream (`apt`), if negotiated.
    pub rtx_payload_type: Option<PayloadType>,
}

/// A track we receive: the codecs of one m-line, its SSRCs if signalled.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RemoteTrackConfig {
    /// The m-line's MID; it identifies the track in the session.
    pub mid: Mid,
    /// The negotiated codecs; all audio or all video.
    pub codecs: Vec<RemoteCodec>,
    /// Media SSRCs the peer signalled (`a=ssrc`); may be empty (streams are then matched
    /// by MID header extension, else by payload type).
    pub ssrcs: Vec<Ssrc>,
    /// Signalled RTX SSRCs as `(media, rtx)` pairs (`a=ssrc-group:FID`).
    pub rtx_ssrcs: Vec<(Ssrc, Ssrc)>,
    /// Header extension ids the peer writes.
    pub extensions: ExtensionIds,
    /// Negotiated feedback: whether we send NACKs, PLIs, FIRs and transport-wide feedback.
    pub feedback: Feedback,
    /// Jitter-buffer configuration; by default [`strata_jitter::Config::video`] or
    /// [`strata_jitter::Config::audio`] with NACK following `feedback.nack`.
    pub jitter: Option<strata_jitter::Config>,
}

impl RemoteTrackConfig {
    /// A track receiving `codec` on `payload_type`, with the feedback browsers negotiate
    /// and no signalled SSRCs.
    pub fn new(mid: Mid, codec: Codec, payload_type: PayloadType) -> Self {
        Self {
            mid,
            codecs: vec![RemoteCodec {
                codec,
                payload_type,
                rtx_payload_type: None,
            }],
            ssrcs: Vec::new(),
            rtx_ssrcs: Vec::new(),
            extensions: ExtensionIds::default(),
            feedback: Feedback::for_codec(codec),
            jitter: None,
        }
    }

    /// The jitter-buffer configuration the track runs with: `jitter` when set, else the
    /// defaults for the codecs' kind with NACK following `feedback.nack`. Refuses codecs
    /// that are missing, mixed or without a clock, and a `jitter` of the other kind.
    pub fn jitter_config(&self) -> Result<strata_jitter::Config, Error> {
        let invalid = |field, problem| Error::InvalidConfig { field, problem };
        let Some(first) = self.codecs.first() else {
            return Err(invalid("codecs", "must name at least one codec"));
        };
        let video = first.codec.is_video();
        if self.codecs.iter().any(|c| c.codec.is_video() != video) {
            return Err(invalid("codecs", "must be all audio or all video"));
        }
        let config = if let Some(jitter) = &self.jitter {
            jitter.clone()
        } else {
            let mut jitter = if video {
                strata_jitter::Config::video()
            } else {
                let rate = ClockRate::new(first.codec.clock_rate())
                    .map_err(|_| invalid("codecs", "clock rate of zero"))?;
                strata_jitter::Config::audio(rate)
            };
            jitter.nack.enabled = self.feedback.nack;
            jitter
        };
        if (config.kind == MediaKind::Video) != video {
            return Err(invalid("jitter", "kind does not match the codecs"));
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_fields_are_named() {
        assert!(SessionConfig::default().validate().is_ok());
        let bad = SessionConfig {
            mtu: 100,
            ..SessionConfig::default()
        };
        assert_eq!(
            bad.validate(),
            Err(Error::InvalidConfig {
                field: "mtu",
                problem: "must be between 200 and 9000"
            })
        );
        let bad = SessionConfig {
            retransmission_cache_packets: 0,
            ..SessionConfig::default()
        };
        assert!(bad.validate().is_err());
    }
}
