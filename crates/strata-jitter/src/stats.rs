//! Counters, as data: per stream and for the whole buffer.

use std::ops::AddAssign;
use std::time::Duration;

/// Counters and state of one stream (one SSRC).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamStats {
    /// Packets handed in for this SSRC, whatever became of them.
    pub packets_received: u64,
    /// Packets that had been received before.
    pub duplicates: u64,
    /// Packets that arrived after their playout time (plus `max_lateness`), or after their
    /// slot had been concealed or skipped.
    pub late: u64,
    /// Packets pushed out because the stream's buffer bound was reached.
    pub overflow_discarded: u64,
    /// Packets discarded for another reason: a reset, an undecodable frame, removal.
    pub discarded: u64,
    /// Packet requests sent in NACKs (a packet asked for twice counts twice).
    pub nacked: u64,
    /// Missing packets given up on (out of retries, or a retransmission would be too late).
    pub nack_gave_up: u64,
    /// Missing packets forgotten because the NACK list was full.
    pub nack_overflow: u64,
    /// Retransmissions (packets flagged [`Packet::retransmission`](crate::Packet::retransmission))
    /// that filled a hole: recovered by retransmission.
    pub recovered: u64,
    /// Of `recovered`, those whose original arrived after all, within an RTT of the
    /// retransmission: the hole was reordering, and the retransmission was not needed.
    pub recoveries_unneeded: u64,
    /// Audio packets released for playout.
    pub audio_released: u64,
    /// Audio packets reported missing in [`Gap`](crate::Gap)s.
    pub concealed: u64,
    /// Video frames released for playout.
    pub frames_completed: u64,
    /// Released video frames that completed after their playout time.
    pub frames_late: u64,
    /// Video frames dropped: incomplete by their deadline, or undecodable.
    pub frames_dropped: u64,
    /// Keyframe requests emitted.
    pub keyframe_requests: u64,
    /// Packets held after a sequence jump.
    pub jumps_held: u64,
    /// Resets after a confirmed sequence jump or a timestamp jump.
    pub resets: u64,
    /// Steps up in the path's delay detected (three frames in a row arriving after their
    /// playout time); each restarts the adaptive delay estimate from the new level.
    pub delay_steps: u64,
    /// Packets buffered now.
    pub buffered: u64,
    /// Missing packets awaited from a retransmission now (on the NACK list): not lost
    /// yet, not recovered yet.
    pub awaiting_retransmission: u64,
    /// Playout headroom now: how long after the fastest recent transit packets are played.
    pub target_delay: Duration,
    /// RFC 3550 interarrival jitter now.
    pub jitter: Duration,
}

impl AddAssign<&StreamStats> for StreamStats {
    /// Sums the counters; the gauges (`buffered`, `awaiting_retransmission`,
    /// `target_delay`, `jitter`) take the larger value.
    fn add_assign(&mut self, other: &StreamStats) {
        self.packets_received += other.packets_received;
        self.duplicates += other.duplicates;
        self.late += other.late;
        self.overflow_discarded += other.overflow_discarded;
        self.discarded += other.discarded;
        self.nacked += other.nacked;
        self.nack_gave_up += other.nack_gave_up;
        self.nack_overflow += other.nack_overflow;
        self.recovered += other.recovered;
        self.recoveries_unneeded += other.recoveries_unneeded;
        self.audio_released += other.audio_released;
        self.concealed += other.concealed;
        self.frames_completed += other.frames_completed;
        self.frames_late += other.frames_late;
        self.frames_dropped += other.frames_dropped;
        self.keyframe_requests += other.keyframe_requests;
        self.jumps_held += other.jumps_held;
        self.resets += other.resets;
        self.delay_steps += other.delay_steps;
        self.buffered = self.buffered.max(other.buffered);
        self.awaiting_retransmission = self
            .awaiting_retransmission
            .max(other.awaiting_retransmission);
        self.target_delay = self.target_delay.max(other.target_delay);
        self.jitter = self.jitter.max(other.jitter);
    }
}

/// Counters of a whole [`JitterBuffer`](crate::JitterBuffer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Every stream's counters summed, including streams since removed. The gauges hold
    /// the largest value among current streams.
    pub streams: StreamStats,
    /// Streams tracked now.
    pub active_streams: usize,
    /// Confirmed new SSRCs turned away because every slot held an established stream.
    pub streams_rejected: u64,
    /// First packets of unconfirmed SSRCs dropped from the full probation list.
    pub probation_dropped: u64,
    /// Unconfirmed streams evicted to make room for a confirmed new SSRC.
    pub streams_evicted: u64,
    /// Streams forgotten after `stream_timeout` without packets.
    pub streams_timed_out: u64,
    /// Control outputs (NACKs, keyframe requests, events) dropped because the output queue
    /// was full — the caller is not draining `poll_output`.
    pub outputs_dropped: u64,
    /// Calls whose `now` was earlier than a previous call's (treated as the later time).
    pub time_regressions: u64,
}
