//! A track we receive: its codecs, jitter buffer and per-stream reception statistics
//! (RFC 3550 A.1, A.3 and A.8).

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use strata_jitter::JitterBuffer;

use crate::config::{RemoteCodec, RemoteTrackConfig};
use crate::rtcp::{ReportBlock, compact_duration};
use crate::stats::InboundRtpStats;
use crate::{Codec, Error, PayloadType, SeqNo, SeqUnwrapper, Ssrc};

/// Sequence numbers asked for in NACKs recently, per stream, remembered so that a resend on the
/// original stream (no RTX) is recognised as a retransmission. The oldest are forgotten.
pub const MAX_REMEMBERED_NACKS: usize = 1024;

/// Reception statistics of one remote stream.
#[derive(Debug)]
pub(crate) struct ReceiveStats {
    pub(crate) codec: Codec,
    unwrapper: SeqUnwrapper,
    /// The lowest extended sequence number of an original packet.
    base_seq: Option<u64>,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    /// RFC 3550 A.8 jitter, in timestamp units (as a float to keep the 1/16 steps).
    jitter: f64,
    last_transit: Option<u32>,
    clock_rate: u32,
    /// Middle 32 bits of the last SR's NTP time and when it arrived.
    pub(crate) last_sr: Option<(u32, Instant)>,
    pub(crate) bytes: u64,
    pub(crate) header_bytes: u64,
    pub(crate) retransmitted_packets: u64,
    pub(crate) retransmitted_bytes: u64,
    pub(crate) nacks_sent: u64,
    pub(crate) plis_sent: u64,
    pub(crate) firs_sent: u64,
    pub(crate) keyframes: u64,
    /// Video frames delivered (padding units excluded).
    pub(crate) frames: u64,
    /// Sequence numbers recently asked for in NACKs, at most [`MAX_REMEMBERED_NACKS`].
    nacked: VecDeque<SeqNo>,
}

impl ReceiveStats {
    pub(crate) fn new(codec: Codec) -> Self {
        Self {
            codec,
            unwrapper: SeqUnwrapper::default(),
            base_seq: None,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            jitter: 0.0,
            last_transit: None,
            clock_rate: codec.clock_rate(),
            last_sr: None,
            bytes: 0,
            header_bytes: 0,
            retransmitted_packets: 0,
            retransmitted_bytes: 0,
            nacks_sent: 0,
            plis_sent: 0,
            firs_sent: 0,
            keyframes: 0,
            frames: 0,
            nacked: VecDeque::new(),
        }
    }

    /// Counts an original (not retransmitted) packet. `arrival_micros` is the arrival
    /// time since the session epoch.
    pub(crate) fn original(
        &mut self,
        seq: SeqNo,
        timestamp: u32,
        arrival_micros: i64,
        payload: usize,
        header: usize,
    ) {
        let ext = self.unwrapper.unwrap(seq).0;
        self.base_seq = Some(self.base_seq.map_or(ext, |base| base.min(ext)));
        self.received += 1;
        self.bytes += payload as u64;
        self.header_bytes += header as u64;
        // A.8: transit = arrival - timestamp, both in timestamp units; wrapping arithmetic
        // keeps the difference right across timestamp wrap.
        let arrival = (i128::from(arrival_micros) * i128::from(self.clock_rate) / 1_000_000) as u32;
        let transit = arrival.wrapping_sub(timestamp);
        if let Some(last) = self.last_transit {
            let d = f64::from((transit.wrapping_sub(last) as i32).unsigned_abs());
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.last_transit = Some(transit);
    }

    pub(crate) fn remember_nacked(&mut self, seq: SeqNo) {
        if self.nacked.contains(&seq) {
            return;
        }
        if self.nacked.len() == MAX_REMEMBERED_NACKS {
            self.nacked.pop_front();
        }
        self.nacked.push_back(seq);
    }

    /// Whether `seq` was asked for in a NACK (and forgets it).
    pub(crate) fn take_nacked(&mut self, seq: SeqNo) -> bool {
        match self.nacked.iter().position(|&s| s == seq) {
            Some(index) => {
                self.nacked.remove(index);
                true
            }
            None => false,
        }
    }

    pub(crate) fn retransmission(&mut self, payload: usize) {
        self.retransmitted_packets += 1;
        self.retransmitted_bytes += payload as u64;
    }

    fn expected(&self) -> u64 {
        match (self.unwrapper.highest(), self.base_seq) {
            (Some(highest), Some(base)) => highest.0 + 1 - base,
            _ => 0,
        }
    }

    pub(crate) fn cumulative_lost(&self) -> i64 {
        self.expected() as i64 - self.received as i64
    }

    pub(crate) fn jitter(&self) -> Duration {
        Duration::from_secs_f64(self.jitter / f64::from(self.clock_rate))
    }

    /// The report block for this stream (A.3), starting a new reporting interval.
    pub(crate) fn report_block(&mut self, ssrc: Ssrc, now: Instant) -> ReportBlock {
        let expected = self.expected();
        let expected_interval = expected - self.expected_prior;
        let received_interval = self.received - self.received_prior;
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        let (last_sr, delay_since_last_sr) = match self.last_sr {
            None => (0, 0),
            Some((lsr, at)) => (lsr, compact_duration(now.saturating_duration_since(at))),
        };
        ReportBlock {
            ssrc,
            fraction_lost,
            cumulative_lost: self.cumulative_lost().clamp(-0x80_0000, 0x7F_FFFF) as i32,
            extended_highest_seq: self
                .unwrapper
                .highest()
                .map_or(0, |h| (h.0 - 0x1_0000) as u32),
            jitter: self.jitter as u32,
            last_sr,
            delay_since_last_sr,
        }
    }
}

#[derive(Debug)]
pub(crate) struct TrackRemote {
    pub(crate) config: RemoteTrackConfig,
    pub(crate) jitter: JitterBuffer,
    pub(crate) streams: BTreeMap<Ssrc, ReceiveStats>,
    pub(crate) last_keyframe_request: Option<Instant>,
    pub(crate) fir_seq: u8,
}

impl TrackRemote {
    pub(crate) fn new(config: RemoteTrackConfig) -> Result<Self, Error> {
        let jitter_config = config.jitter_config()?;
        let jitter = JitterBuffer::new(jitter_config).map_err(|_| Error::InvalidConfig {
            field: "jitter",
            problem: "rejected by the jitter buffer",
        })?;
        Ok(Self {
            config,
            jitter,
            streams: BTreeMap::new(),
            last_keyframe_request: None,
            fir_seq: 0,
        })
    }

    pub(crate) fn codec(&self, payload_type: PayloadType) -> Option<&RemoteCodec> {
        self.config
            .codecs
            .iter()
            .find(|c| c.payload_type == payload_type)
    }

    /// The media codec whose RTX payload type is `payload_type`.
    pub(crate) fn rtx_codec(&self, payload_type: PayloadType) -> Option<&RemoteCodec> {
        self.config
            .codecs
            .iter()
            .find(|c| c.rtx_payload_type == Some(payload_type))
    }

    pub(crate) fn claims_payload_type(&self, payload_type: PayloadType) -> bool {
        self.codec(payload_type).is_some() || self.rtx_codec(payload_type).is_some()
    }

    pub(crate) fn inbound_stats(&self, ssrc: Ssrc, stats: &ReceiveStats) -> InboundRtpStats {
        let jitter = self.jitter.stream_stats(ssrc).unwrap_or_default();
        InboundRtpStats {
            ssrc,
            mid: self.config.mid.clone(),
            codec: stats.codec,
            packets_received: stats.received,
            bytes_received: stats.bytes,
            header_bytes_received: stats.header_bytes,
            packets_lost: stats.cumulative_lost(),
            jitter: stats.jitter(),
            packets_discarded: jitter.late + jitter.discarded + jitter.overflow_discarded,
            retransmitted_packets_received: stats.retransmitted_packets,
            retransmitted_bytes_received: stats.retransmitted_bytes,
            packets_recovered: jitter.recovered,
            unneeded_recoveries: jitter.recoveries_unneeded,
            packets_awaiting_retransmission: jitter.awaiting_retransmission,
            nack_count: stats.nacks_sent,
            pli_count: stats.plis_sent,
            fir_count: stats.firs_sent,
            frames_received: stats.frames,
            key_frames_received: stats.keyframes,
            frames_dropped: jitter.frames_dropped,
            audio_packets_concealed: jitter.concealed,
            jitter_buffer_target_delay: jitter.target_delay,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_blocks_follow_rfc3550_a3() {
        let start = Instant::now();
        let mut stats = ReceiveStats::new(Codec::Vp8);
        // 65530..=65535 and 0..=3 except 65533 and 1: 10 expected, 8 received.
        for seq in [65_530u16, 65_531, 65_532, 65_534, 65_535, 0, 2, 3] {
            stats.original(SeqNo(seq), 0, 0, 100, 12);
        }
        let block = stats.report_block(Ssrc(5), start);
        assert_eq!(block.cumulative_lost, 2);
        assert_eq!(block.fraction_lost, 51);
        assert_eq!(block.extended_highest_seq, 0x1_0003);
        // Next interval: nothing new.
        let block = stats.report_block(Ssrc(5), start);
        assert_eq!(block.fraction_lost, 0);
        assert_eq!(block.last_sr, 0);
    }

    #[test]
    fn jitter_follows_rfc3550_a8() {
        let mut stats = ReceiveStats::new(Codec::Vp8);
        // Packets every 10 ms (900 ticks), arriving alternately on time and 2 ms late.
        for i in 0..200u16 {
            let late = if i % 2 == 1 { 2_000 } else { 0 };
            stats.original(
                SeqNo(i),
                u32::from(i) * 900,
                i64::from(i) * 10_000 + late,
                10,
                12,
            );
        }
        // |D| is 180 ticks every packet: the estimate converges to 180 ticks (2 ms).
        assert!((stats.jitter - 180.0).abs() < 1.0, "{}", stats.jitter);
        assert!((stats.jitter().as_secs_f64() - 0.002).abs() < 0.0001);
    }
}
