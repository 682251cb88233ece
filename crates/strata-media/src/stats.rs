//! Statistics as data, shaped like the W3C `RTCStatsReport` dictionaries.

use std::time::Duration;

use crate::{Codec, Mid, Ssrc};

/// A received stream, like W3C `RTCInboundRtpStreamStats` (`inbound-rtp`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct InboundRtpStats {
    /// The stream.
    pub ssrc: Ssrc,
    /// Its track.
    pub mid: Mid,
    /// Its codec (of the last packet).
    pub codec: Codec,
    /// `packetsReceived` (original packets, duplicates included; not retransmissions).
    pub packets_received: u64,
    /// `bytesReceived`: payload bytes.
    pub bytes_received: u64,
    /// `headerBytesReceived`.
    pub header_bytes_received: u64,
    /// `packetsLost` (RFC 3550 cumulative; negative with duplicates).
    pub packets_lost: i64,
    /// `jitter` (RFC 3550 A.8).
    pub jitter: Duration,
    /// `packetsDiscarded`: late or dropped by the jitter buffer.
    pub packets_discarded: u64,
    /// `retransmittedPacketsReceived`.
    pub retransmitted_packets_received: u64,
    /// `retransmittedBytesReceived`.
    pub retransmitted_bytes_received: u64,
    /// Packets recovered by retransmission (filled a hole in time).
    pub packets_recovered: u64,
    /// Of `packets_recovered`, those whose original arrived after all, within an RTT:
    /// reordering that a retransmission answered, not a loss.
    pub unneeded_recoveries: u64,
    /// Missing packets the jitter buffer still awaits from a retransmission: of
    /// `packets_lost`, those neither recovered nor given up yet.
    pub packets_awaiting_retransmission: u64,
    /// `nackCount`: NACK packets sent for the stream.
    pub nack_count: u64,
    /// `pliCount`: PLIs sent.
    pub pli_count: u64,
    /// `firCount`: FIRs sent.
    pub fir_count: u64,
    /// `framesReceived` (video): complete frames released.
    pub frames_received: u64,
    /// `keyFramesDecoded`-like: complete keyframes released.
    pub key_frames_received: u64,
    /// `framesDropped` (video): frames the jitter buffer could not complete in time.
    pub frames_dropped: u64,
    /// Audio packets released / concealed (`concealedSamples` in packets).
    pub audio_packets_concealed: u64,
    /// `jitterBufferTargetDelay`: the jitter buffer's current headroom.
    pub jitter_buffer_target_delay: Duration,
}

/// A sent stream, like W3C `RTCOutboundRtpStreamStats` (`outbound-rtp`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OutboundRtpStats {
    /// The stream.
    pub ssrc: Ssrc,
    /// Its RTX stream.
    pub rtx_ssrc: Option<Ssrc>,
    /// Its track.
    pub mid: Mid,
    /// Its codec.
    pub codec: Codec,
    /// `packetsSent` (retransmissions included).
    pub packets_sent: u64,
    /// `bytesSent`: payload bytes (retransmissions included).
    pub bytes_sent: u64,
    /// `headerBytesSent`.
    pub header_bytes_sent: u64,
    /// `retransmittedPacketsSent`.
    pub retransmitted_packets_sent: u64,
    /// `retransmittedBytesSent`.
    pub retransmitted_bytes_sent: u64,
    /// `framesSent`: samples written.
    pub frames_sent: u64,
    /// `nackCount`: NACK packets received.
    pub nack_count: u64,
    /// `pliCount`: PLIs received.
    pub pli_count: u64,
    /// `firCount`: FIRs received (repeats of one request counted once).
    pub fir_count: u64,
    /// Requested packets no longer in the retransmission cache.
    pub retransmission_cache_misses: u64,
    /// Requests not answered because the packet had been resent less than one RTT
    /// before (the request crossed the retransmission).
    pub retransmissions_suppressed: u64,
}

/// What the peer reports about a stream we send, like W3C
/// `RTCRemoteInboundRtpStreamStats` (`remote-inbound-rtp`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RemoteInboundRtpStats {
    /// The stream we send.
    pub ssrc: Ssrc,
    /// Its track.
    pub mid: Mid,
    /// `packetsLost` as reported.
    pub packets_lost: i64,
    /// `fractionLost` of the last report, 0.0 to 1.0.
    pub fraction_lost: f64,
    /// `jitter` as reported.
    pub jitter: Duration,
    /// `roundTripTime`: of the last report that echoed one of our sender reports.
    pub round_trip_time: Option<Duration>,
    /// `totalRoundTripTime`.
    pub total_round_trip_time: Duration,
    /// `roundTripTimeMeasurements`.
    pub round_trip_time_measurements: u64,
    /// `reportsReceived`.
    pub reports_received: u64,
}

/// Counters of a [`MediaSession`](crate::MediaSession) and the stats of every stream.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct SessionStats {
    /// Received streams.
    pub inbound: Vec<InboundRtpStats>,
    /// Sent streams.
    pub outbound: Vec<OutboundRtpStats>,
    /// The peer's view of our sent streams.
    pub remote_inbound: Vec<RemoteInboundRtpStats>,
    /// RTP packets that failed to parse.
    pub malformed_rtp: u64,
    /// RTP packets whose payload did not follow the codec's payload format.
    pub malformed_payloads: u64,
    /// RTCP packets (whole compounds) that failed to parse.
    pub malformed_rtcp: u64,
    /// RTP packets of an SSRC no track claims.
    pub unknown_ssrc: u64,
    /// RTP packets with a payload type their track did not negotiate.
    pub unknown_payload_type: u64,
    /// RTP packets of new SSRCs dropped because [`MAX_REMOTE_SSRCS`](crate::MAX_REMOTE_SSRCS)
    /// were tracked.
    pub remote_ssrcs_rejected: u64,
    /// Unconfirmed remote SSRCs forgotten to make room for new ones.
    pub remote_ssrcs_evicted: u64,
    /// RTP packets without payload (padding, probes), dropped.
    pub padding_packets: u64,
    /// RTX packets whose original stream is not known, dropped.
    pub rtx_unmatched: u64,
    /// RTCP packets of a type we do not act on (REMB, APP, unknown feedback, extended
    /// reports without a receiver reference time or DLRR block).
    pub rtcp_ignored: u64,
    /// Receiver reference times (RFC 3611 §4.4) left unanswered because
    /// [`MAX_PENDING_RRTRS`](crate::MAX_PENDING_RRTRS) sources awaited an answer.
    pub rrtrs_dropped: u64,
    /// The latest round-trip time measured, from report blocks echoing our sender
    /// reports or from DLRR answers to our receiver reference times.
    pub round_trip_time: Option<Duration>,
    /// Round-trip times measured from DLRR answers to our receiver reference times
    /// (RFC 3611 §4.5): how a session that sends no media learns its RTT.
    pub dlrr_rtt_measurements: u64,
    /// RTCP feedback naming an SSRC we do not send.
    pub rtcp_unknown_ssrc: u64,
    /// Outputs dropped because [`MAX_QUEUED_OUTPUTS`](crate::MAX_QUEUED_OUTPUTS) were queued.
    pub outputs_dropped: u64,
    /// Transport-wide sequence numbers that arrived after their feedback had been sent,
    /// or did not fit the bounded arrival log.
    pub transport_feedback_dropped: u64,
    /// Transport-wide feedback messages sent.
    pub transport_feedback_sent: u64,
    /// Calls whose `now` was earlier than a previous call's (treated as the later time).
    pub time_regressions: u64,
}
