//! The state of one SSRC: a ring of packets indexed by extended sequence number, the
//! playout clock, loss tracking and frame assembly.
//!
//! Every packet present in the ring lies in `[next_seq, next_seq + capacity)`; a slot also
//! remembers, for a number just below `next_seq`, whether that packet was received
//! (released or discarded: a copy is a duplicate) or skipped (a copy is late).
//!
//! Times are signed microseconds since the buffer's first `now`. A packet with extended
//! timestamp `ts` is due at `media_micros(ts) + playout_offset`.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;

use crate::config::{Config, DelayMode, DelayTuning, MAX_DELAY, MediaKind, Tuning};
use crate::estimator::DelayEstimator;
use crate::nack::{NackPolicy, NackTracker};
use crate::output::{AudioPacket, Event, Frame, Gap, Nack, Output, ResetReason};
use crate::sequence::{
    TickScale, first_extended_seq, first_extended_timestamp, restarted_extended_seq,
    restarted_extended_timestamp, unwrap_seq, unwrap_timestamp,
};
use crate::sink::OutputSink;
use crate::{ExtendedSeq, ExtendedTimestamp, Packet, PacketOutcome, Ssrc, StreamStats};

/// A packet waiting in the ring.
#[derive(Debug, Clone)]
struct Stored {
    payload: Bytes,
    timestamp: u64,
    arrival: i64,
    marker: bool,
    frame_start: bool,
    keyframe: bool,
}

#[derive(Debug, Clone, Default)]
enum SlotState {
    #[default]
    Empty,
    Present(Stored),
    /// Received, then released or discarded.
    Received,
    /// Never received; its playout slot has passed.
    Skipped,
}

/// One place of the ring. Aligned to a cache line (it is 64 bytes), so that touching a
/// slot touches one line, not two.
#[derive(Debug, Clone)]
#[repr(align(64))]
struct Slot {
    seq: u64,
    state: SlotState,
}

/// The last packet that left the ring.
#[derive(Debug, Clone, Copy)]
struct Consumed {
    seq: u64,
    timestamp: u64,
    marker: bool,
}

/// A packet far from the sequence, waiting for a successor to confirm a new sequence.
#[derive(Debug)]
struct Held {
    packet: Packet,
    arrival: i64,
}

/// What sits at the head of a video stream.
enum Head {
    /// Every packet of the frame from its start to its end is present.
    Complete {
        end: u64,
        timestamp: u64,
        keyframe: bool,
        completed_at: i64,
    },
    /// Something is missing (or the start is unknown); `timestamp` is the frame's best
    /// guess.
    Incomplete { timestamp: u64 },
}

/// How far the frame at the head of a video stream has been verified: every packet of
/// `[start, next)` is present, carries `timestamp` and has no marker, and with `end` the
/// frame is complete through `end`. Packets only leave the ring from the head, so this
/// stays true until `next_seq` moves; a scan of the head resumes at `next` instead of
/// walking the frame again on every packet.
#[derive(Debug, Clone, Copy)]
struct HeadScan {
    start: u64,
    next: u64,
    end: Option<u64>,
    timestamp: u64,
    keyframe: bool,
    completed_at: i64,
}

/// Per-call context: the configuration, time and the output queue.
pub(crate) struct Context<'a> {
    pub(crate) config: &'a Config,
    pub(crate) tuning: &'a Tuning,
    pub(crate) now: i64,
    pub(crate) rtt: i64,
    pub(crate) sink: OutputSink<'a>,
}

#[derive(Debug)]
pub(crate) struct Stream {
    ssrc: Ssrc,
    ring: Vec<Slot>,
    /// Packets the ring may hold: `[next_seq, next_seq + capacity)`.
    capacity: u64,
    scale: TickScale,
    next_seq: u64,
    highest_seq: u64,
    highest_ts: u64,
    max_ts: u64,
    ts_anchor: u64,
    /// Something has left the ring since the (re)start.
    started: bool,
    last_consumed: Option<Consumed>,
    estimator: DelayEstimator,
    playout_offset: i64,
    offset_updated_at: i64,
    last_playout: i64,
    awaiting_keyframe: bool,
    keyframe_wanted: bool,
    last_keyframe_request: Option<i64>,
    /// Sequence numbers of keyframe starts in the ring, ascending.
    keyframe_starts: VecDeque<u64>,
    /// Progress of the scan of the head frame (video), valid while its `start` is
    /// `next_seq`.
    head_scan: Option<HeadScan>,
    nack: NackTracker,
    held: Option<Held>,
    pub(crate) last_arrival: i64,
    /// Packets that arrived exactly one after the highest: two in a row confirm a stream.
    in_order: u64,
    pub(crate) next_wakeup: i64,
    /// Until when the adaptive delay leaves room for retransmissions: a while after the
    /// last confirmed recovery by retransmission.
    repairing_until: i64,
    /// Recent recoveries by retransmission `(seq, when)`, oldest first, not yet confirmed:
    /// one whose original still turns up was reordering answered by a needless
    /// retransmission, not a loss, and makes no room in the delay (see
    /// `Stream::confirm_recoveries`).
    unconfirmed_recoveries: VecDeque<(u64, i64)>,
    /// When the playout clock last (re)started: the first packet's arrival.
    clock_started_at: i64,
    /// Frames (timestamps) in a row whose original packets arrived after their playout
    /// time: a run of them means the path's delay has stepped up.
    late_run: u32,
    /// When the run's first packet arrived.
    late_run_started_at: i64,
    /// The timestamp last counted in the run.
    late_run_timestamp: u64,
    stats: StreamStats,
}

/// Frames in a row whose packets arrive after their playout time that are taken as a step
/// in the path's delay rather than jitter (see `Stream::note_transit`).
const LEVEL_SHIFT_RUN: u32 = 3;

/// How long after its last recovery a stream keeps room for a retransmission in its delay.
const REPAIR_MEMORY_MICROS: i64 = 10_000_000;

/// Most recoveries awaiting confirmation; past that, the oldest counts as confirmed.
const MAX_UNCONFIRMED_RECOVERIES: usize = 16;

/// The NACK tunables in force for `ctx`.
fn nack_policy(ctx: &Context<'_>) -> NackPolicy {
    NackPolicy {
        reorder_wait: ctx.tuning.reorder_wait,
        max_retries: ctx.config.nack.max_retries,
        rtt: ctx.rtt,
    }
}

/// `to - from` as a signed number of ticks, saturating.
fn tick_distance(to: u64, from: u64) -> i64 {
    if to >= from {
        i64::try_from(to - from).unwrap_or(i64::MAX)
    } else {
        i64::try_from(from - to).map_or(i64::MIN, |d| -d)
    }
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

impl Stream {
    /// A stream starting with `packet`, which the caller then inserts with
    /// [`handle_packet`](Self::handle_packet).
    pub(crate) fn new(ctx: &Context<'_>, packet: &Packet) -> Self {
        let config = ctx.config;
        let range = match &config.delay {
            DelayMode::Adaptive(adaptive) => micros(adaptive.max),
            DelayMode::Fixed(_) => micros(MAX_DELAY).min(1_000_000),
        };
        let (window, quantile) = match &config.delay {
            DelayMode::Adaptive(adaptive) => (micros(adaptive.window), adaptive.quantile),
            DelayMode::Fixed(_) => (8_000_000, 0.5),
        };
        let seq = first_extended_seq(packet.sequence_number);
        let ts = first_extended_timestamp(packet.timestamp);
        let mut stream = Self {
            ssrc: packet.ssrc,
            ring: vec![
                Slot {
                    seq: u64::MAX,
                    state: SlotState::Empty,
                };
                // A power of two, so that indexing is a mask; the window stays
                // `max_packets_per_stream` wide.
                config.max_packets_per_stream.next_power_of_two()
            ],
            capacity: config.max_packets_per_stream as u64,
            scale: TickScale::new(config.clock_rate),
            next_seq: seq,
            highest_seq: seq,
            highest_ts: ts,
            max_ts: ts,
            ts_anchor: ts,
            started: false,
            last_consumed: None,
            estimator: DelayEstimator::new(window, quantile, range),
            playout_offset: 0,
            offset_updated_at: ctx.now,
            last_playout: i64::MIN,
            awaiting_keyframe: config.kind == MediaKind::Video && config.require_keyframe,
            keyframe_wanted: false,
            last_keyframe_request: None,
            keyframe_starts: VecDeque::new(),
            head_scan: None,
            nack: NackTracker::new(config.nack.max_list_len),
            held: None,
            last_arrival: ctx.now,
            in_order: 0,
            next_wakeup: i64::MAX,
            repairing_until: i64::MIN,
            unconfirmed_recoveries: VecDeque::new(),
            clock_started_at: i64::MIN,
            late_run: 0,
            late_run_started_at: i64::MIN,
            late_run_timestamp: u64::MAX,
            stats: StreamStats::default(),
        };
        stream.start_clock(ctx, seq, ts);
        stream
    }

    pub(crate) fn ssrc(&self) -> Ssrc {
        self.ssrc
    }

    /// Two packets in sequence have been seen: not a one-off spoofed SSRC.
    pub(crate) fn is_established(&self) -> bool {
        self.in_order > 0
    }

    fn capacity(&self) -> u64 {
        self.capacity
    }

    fn index(&self, seq: u64) -> usize {
        (seq & (self.ring.len() as u64 - 1)) as usize
    }

    fn stored(&self, seq: u64) -> Option<&Stored> {
        let slot = &self.ring[self.index(seq)];
        match &slot.state {
            SlotState::Present(stored) if slot.seq == seq => Some(stored),
            _ => None,
        }
    }

    /// Media time of `ts`, in microseconds from the stream's anchor.
    fn media_micros(&self, ts: u64) -> i64 {
        self.scale.micros(tick_distance(ts, self.ts_anchor))
    }

    fn deadline(&self, ts: u64) -> i64 {
        self.media_micros(ts).saturating_add(self.playout_offset)
    }

    /// The current counters.
    pub(crate) fn stats(&self) -> StreamStats {
        let mut stats = self.stats;
        stats.buffered = self
            .ring
            .iter()
            .filter(|slot| matches!(slot.state, SlotState::Present(_)))
            .count() as u64;
        stats.awaiting_retransmission = self.nack.len() as u64;
        let headroom = self
            .estimator
            .base()
            .map_or(0, |base| self.playout_offset.saturating_sub(base));
        stats.target_delay = Duration::from_micros(headroom.max(0) as u64);
        stats.jitter = Duration::from_micros(self.estimator.jitter_micros().max(0) as u64);
        stats
    }

    /// The counters of a stream about to be dropped, its buffered packets discarded.
    pub(crate) fn retire(&mut self) -> StreamStats {
        let mut stats = self.stats();
        stats.discarded += stats.buffered;
        stats.buffered = 0;
        stats
    }

    /// Starts the playout clock at the packet `(seq, ts)` arriving now.
    fn start_clock(&mut self, ctx: &Context<'_>, seq: u64, ts: u64) {
        self.next_seq = seq;
        self.highest_seq = seq;
        self.highest_ts = ts;
        self.max_ts = self.max_ts.max(ts);
        self.ts_anchor = ts;
        self.started = false;
        self.last_consumed = None;
        self.estimator.reset();
        self.late_run = 0;
        self.nack.clear();
        self.keyframe_starts.clear();
        self.head_scan = None;
        self.held = None;
        self.awaiting_keyframe = ctx.config.kind == MediaKind::Video && ctx.config.require_keyframe;
        let headroom = ctx.tuning.initial_headroom();
        // The first packet's transit is `now - 0`.
        self.playout_offset = ctx.now.saturating_add(headroom);
        self.offset_updated_at = ctx.now;
        self.clock_started_at = ctx.now;
    }

    /// Throws everything away and starts over from `packet`.
    fn reset(&mut self, ctx: &mut Context<'_>, packet: &Packet, reason: ResetReason) {
        let mut discarded = 0;
        for slot in &mut self.ring {
            if matches!(slot.state, SlotState::Present(_)) {
                discarded += 1;
            }
            *slot = Slot {
                seq: u64::MAX,
                state: SlotState::Empty,
            };
        }
        self.stats.discarded += discarded;
        self.stats.resets += 1;
        let top = self.highest_seq.max(self.next_seq);
        let seq = restarted_extended_seq(top, packet.sequence_number);
        let ts = restarted_extended_timestamp(self.max_ts, packet.timestamp);
        self.start_clock(ctx, seq, ts);
        ctx.sink.control(Output::Event(Event::StreamReset {
            ssrc: self.ssrc,
            reason,
            discarded,
        }));
    }

    /// Takes one packet that arrived at `ctx.now`.
    pub(crate) fn handle_packet(&mut self, ctx: &mut Context<'_>, packet: Packet) -> PacketOutcome {
        self.last_arrival = ctx.now;
        self.stats.packets_received += 1;
        let seq = unwrap_seq(self.highest_seq, packet.sequence_number);
        let distance = seq.abs_diff(self.highest_seq);
        if distance >= u64::from(ctx.config.max_seq_jump) {
            return self.handle_jump(ctx, packet);
        }
        self.held = None;
        if !packet.retransmission && !self.unconfirmed_recoveries.is_empty() {
            // The original after all: that retransmission answered reordering.
            let before = self.unconfirmed_recoveries.len();
            self.unconfirmed_recoveries.retain(|&(s, _)| s != seq);
            self.stats.recoveries_unneeded += (before - self.unconfirmed_recoveries.len()) as u64;
        }
        let ts = unwrap_timestamp(self.highest_ts, packet.timestamp);
        let transit = ctx.now.saturating_sub(self.media_micros(ts));
        if seq < self.next_seq && (self.started || !self.fits_before_start(seq)) {
            let outcome = self.classify_old(seq);
            // A late original is the best evidence that the delay is too short.
            let plausible = self
                .estimator
                .base()
                .is_some_and(|base| transit.abs_diff(base) <= ctx.tuning.timestamp_jump);
            if outcome == PacketOutcome::Late && !packet.retransmission && plausible {
                self.note_transit(ctx, ts, transit);
                self.estimator.add(ctx.now, transit);
                self.update_offset(ctx);
            }
            return outcome;
        }
        if !packet.retransmission
            && let Some(base) = self.estimator.base()
            && transit.abs_diff(base) > ctx.tuning.timestamp_jump
        {
            self.reset(ctx, &packet, ResetReason::TimestampJump);
            return self.insert_fresh(ctx, packet);
        }
        self.insert(ctx, packet, seq, ts, transit)
    }

    /// Inserts the first packet after a (re)start.
    fn insert_fresh(&mut self, ctx: &mut Context<'_>, packet: Packet) -> PacketOutcome {
        let (seq, ts) = (self.highest_seq, self.highest_ts);
        let transit = ctx.now.saturating_sub(self.media_micros(ts));
        self.insert(ctx, packet, seq, ts, transit)
    }

    /// RFC 3550 §A.1: a packet far from the sequence is held; if the next one follows it,
    /// the sender really restarted its sequence and the stream resets with both.
    fn handle_jump(&mut self, ctx: &mut Context<'_>, packet: Packet) -> PacketOutcome {
        let confirmed = self.held.as_ref().is_some_and(|held| {
            held.packet.sequence_number.wrapping_add(1) == packet.sequence_number
        });
        if !confirmed {
            self.stats.jumps_held += 1;
            self.held = Some(Held {
                packet,
                arrival: ctx.now,
            });
            return PacketOutcome::HeldAfterJump;
        }
        let Some(held) = self.held.take() else {
            return PacketOutcome::HeldAfterJump;
        };
        // The held packet starts the new sequence at its own arrival time.
        let now = ctx.now;
        ctx.now = held.arrival.min(now);
        self.reset(ctx, &held.packet, ResetReason::SequenceJump);
        let _ = self.insert_fresh(ctx, held.packet);
        ctx.now = now;
        // Accounted once more below; the held copy was counted when it came.
        self.stats.packets_received -= 1;
        self.handle_packet(ctx, packet)
    }

    fn insert(
        &mut self,
        ctx: &mut Context<'_>,
        packet: Packet,
        seq: u64,
        ts: u64,
        transit: i64,
    ) -> PacketOutcome {
        let capacity = self.capacity();
        if seq < self.next_seq {
            if self.started || !self.fits_before_start(seq) {
                return self.classify_old(seq);
            }
            // Nothing has been played yet: a packet from before the first one extends the
            // stream backwards (reordering around the start). What lies between them is a
            // hole like any other.
            if ctx.config.nack.enabled
                && seq.saturating_add(1) < self.next_seq
                && let Some(first) = self.stored(self.next_seq)
            {
                let first = (self.next_seq, first.timestamp);
                self.record_hole(ctx, (seq, ts), first);
            }
            self.next_seq = seq;
        }
        if seq >= self.next_seq + capacity {
            self.overflow(ctx, seq + 1 - capacity);
        }
        let index = self.index(seq);
        if self.stored(seq).is_some() {
            self.stats.duplicates += 1;
            return PacketOutcome::Duplicate;
        }
        let keyframe = packet.keyframe && ctx.config.kind == MediaKind::Video;
        self.ring[index] = Slot {
            seq,
            state: SlotState::Present(Stored {
                payload: packet.payload,
                timestamp: ts,
                arrival: ctx.now,
                marker: packet.marker,
                frame_start: packet.frame_start || packet.keyframe,
                keyframe,
            }),
        };
        self.max_ts = self.max_ts.max(ts);
        if self.lacks_predecessor(ctx, seq) {
            // Timestamped like its frame: it is part of it.
            self.record_hole(ctx, (seq.saturating_sub(2), ts), (seq, ts));
        }
        if keyframe {
            if self.keyframe_starts.back().is_none_or(|&last| last < seq) {
                self.keyframe_starts.push_back(seq);
            } else {
                let position = self.keyframe_starts.partition_point(|&s| s < seq);
                self.keyframe_starts.insert(position, seq);
            }
        }

        if seq > self.highest_seq {
            if seq == self.highest_seq + 1 {
                self.in_order += 1;
            }
            // A packet right after the highest opens no hole.
            if ctx.config.nack.enabled && seq > self.highest_seq + 1 {
                self.record_hole(ctx, (self.highest_seq, self.highest_ts), (seq, ts));
            }
            self.highest_seq = seq;
            self.highest_ts = ts;
        } else {
            let _ = self.nack.arrived(seq, ctx.now, packet.retransmission);
        }
        // Only a retransmission filling a hole is a recovery (a NACKed original that shows
        // up late was merely reordered); it counts even after the NACK list gave up on it.
        let recovered = packet.retransmission;
        if recovered {
            self.stats.recovered += 1;
            if self.unconfirmed_recoveries.len() == MAX_UNCONFIRMED_RECOVERIES
                && let Some((_, at)) = self.unconfirmed_recoveries.pop_front()
            {
                self.make_room_after(at);
            }
            self.unconfirmed_recoveries.push_back((seq, ctx.now));
        } else {
            self.note_transit(ctx, ts, transit);
            self.estimator.add(ctx.now, transit);
            self.update_offset(ctx);
        }
        if recovered {
            PacketOutcome::Recovered
        } else {
            PacketOutcome::Buffered
        }
    }

    /// Whether `seq`, before the first packet, still fits the ring with everything after it.
    fn fits_before_start(&self, seq: u64) -> bool {
        self.highest_seq - seq < self.capacity()
    }

    /// A packet from before `next_seq`: a duplicate if it was received, late otherwise.
    fn classify_old(&mut self, seq: u64) -> PacketOutcome {
        let slot = &self.ring[self.index(seq)];
        if slot.seq == seq && matches!(slot.state, SlotState::Received) {
            self.stats.duplicates += 1;
            PacketOutcome::Duplicate
        } else {
            self.stats.late += 1;
            PacketOutcome::Late
        }
    }

    /// Makes room for sequence numbers up to `new_next + capacity` by discarding the
    /// oldest packets.
    fn overflow(&mut self, ctx: &mut Context<'_>, new_next: u64) {
        let end = new_next.min(self.highest_seq + 1);
        let first = self.next_seq;
        // Audio: the skipped slots are reported like any hole, timed from the first packet
        // that was buffered in them (or the newest known timestamp).
        let first_ts = (first..end)
            .find_map(|seq| self.stored(seq).map(|stored| stored.timestamp))
            .unwrap_or(self.highest_ts);
        let (present, _) = self.consume_range(first, end);
        self.stats.overflow_discarded += present;
        self.next_seq = new_next;
        if ctx.config.kind == MediaKind::Audio && new_next > first {
            self.stats.concealed += new_next - first;
            let playout = self.playout_at(self.deadline(first_ts));
            // Not media held back by a full queue: this report has no slot to wait in.
            ctx.sink.control(Output::Gap(Gap {
                ssrc: self.ssrc,
                first_seq: ExtendedSeq::new(first),
                count: new_next - first,
                timestamp: ExtendedTimestamp::new(first_ts),
                playout_at: ctx.sink.instant(playout),
            }));
        }
        self.nack.forget_before(new_next);
        if ctx.config.kind == MediaKind::Video && ctx.config.require_keyframe && present > 0 {
            self.awaiting_keyframe = true;
            self.keyframe_wanted = true;
        }
    }

    /// Watches for a step up in the path's delay: [`LEVEL_SHIFT_RUN`] frames in a row
    /// arriving after their playout time. The window's quantile would follow such a step
    /// only once the new level made up a `1 - quantile` share of the window (tens of
    /// late packets); instead the samples from before the step are forgotten, and the
    /// delay is estimated afresh from the new level. Isolated late packets are the tail
    /// the quantile allows for and never form such a run by chance (at `1 - quantile`
    /// each, three in a row are a one-in-a-million event for independent delays).
    fn note_transit(&mut self, ctx: &Context<'_>, ts: u64, transit: i64) {
        if transit <= self.playout_offset {
            self.late_run = 0;
            return;
        }
        if self.late_run > 0 && ts == self.late_run_timestamp {
            // Another packet of a frame already counted: a frame's packets share a
            // timestamp and arrive together, so they are one piece of evidence.
            return;
        }
        if self.late_run == 0 {
            self.late_run_started_at = ctx.now;
        }
        self.late_run_timestamp = ts;
        self.late_run += 1;
        if self.late_run == LEVEL_SHIFT_RUN {
            self.stats.delay_steps += 1;
            self.estimator.forget_before(self.late_run_started_at);
        }
    }

    /// Puts the packets between `low` and `high` (`(seq, timestamp)`, both exclusive) on
    /// the NACK list.
    fn record_hole(&mut self, ctx: &Context<'_>, low: (u64, u64), high: (u64, u64)) {
        self.stats.nack_overflow += self
            .nack
            .add_hole(ctx.now, low, high, ctx.tuning.reorder_wait);
    }

    /// Whether `seq`, just stored, is the first packet of a video stream that has not
    /// started, in the middle of its frame: the packet before it (and maybe more) is
    /// missing, though no hole shows it (the first packets of a stream are often the
    /// start of its first keyframe). Asked for one at a time, each answer tells
    /// whether the frame's start has been reached; the walk stops at a frame start or a
    /// packet of another frame.
    fn lacks_predecessor(&self, ctx: &Context<'_>, seq: u64) -> bool {
        if self.started
            || !ctx.config.nack.enabled
            || ctx.config.kind != MediaKind::Video
            || seq != self.next_seq
        {
            return false;
        }
        let Some(first) = self.stored(seq) else {
            return false;
        };
        if first.frame_start {
            return false;
        }
        // Alone, or below more of its own frame (a frame's packets share a timestamp).
        self.next_present(seq)
            .is_none_or(|(_, next)| next.timestamp == first.timestamp)
    }

    /// The last moment the head frame, due at `deadline`, may still be completed: its
    /// lateness allowance past its playout time, or the startup grace.
    #[inline]
    fn give_up_at(&self, ctx: &Context<'_>, deadline: i64) -> i64 {
        deadline
            .saturating_add(ctx.tuning.lateness)
            .max(self.startup_grace(ctx))
    }

    /// Until when the first frame of a video stream that has not started may wait for
    /// repairs, beyond its playout time: nothing is playing yet, and without that frame
    /// (the first keyframe, usually) nothing can play until the next keyframe. Long
    /// enough for `NackConfig::repair_rounds` requests after the first packet's playout
    /// time; `i64::MIN` once the stream has started, or without NACK.
    fn startup_grace(&self, ctx: &Context<'_>) -> i64 {
        let rounds = ctx.config.nack.repair_rounds;
        if self.started
            || ctx.config.kind != MediaKind::Video
            || !ctx.config.nack.enabled
            || rounds == 0
        {
            return i64::MIN;
        }
        self.clock_started_at
            .saturating_add(ctx.tuning.initial_headroom())
            .saturating_add(ctx.tuning.lateness)
            .saturating_add(self.nack.repair_time(nack_policy(ctx), rounds))
    }

    /// Confirms the recoveries whose original has not turned up within an RTT: those
    /// packets were lost, and the delay keeps room for repairs from then on.
    fn confirm_recoveries(&mut self, ctx: &Context<'_>) {
        while let Some(&(_, at)) = self.unconfirmed_recoveries.front() {
            if ctx.now < at.saturating_add(ctx.rtt) {
                break;
            }
            self.unconfirmed_recoveries.pop_front();
            self.make_room_after(at);
        }
    }

    /// A loss was repaired at `at`: room for repairs for a while.
    fn make_room_after(&mut self, at: i64) {
        self.repairing_until = self
            .repairing_until
            .max(at.saturating_add(REPAIR_MEMORY_MICROS));
    }

    /// Re-targets the playout offset after a new transit sample.
    fn update_offset(&mut self, ctx: &Context<'_>) {
        if !self.unconfirmed_recoveries.is_empty() {
            self.confirm_recoveries(ctx);
        }
        let Some(base) = self.estimator.base() else {
            return;
        };
        let desired = match ctx.tuning.delay {
            DelayTuning::Fixed(delay) => base.saturating_add(delay),
            DelayTuning::Adaptive {
                min,
                max,
                initial,
                margin,
                ..
            } => {
                let spread = match self.estimator.quantile_transit() {
                    Some(quantile) => quantile.saturating_sub(base).saturating_add(margin),
                    None => initial.max(self.estimator.jitter_micros().saturating_mul(4)),
                };
                // While losses are being repaired, leave time for the configured number of
                // requests and the answer to the last.
                let spread = if ctx.now < self.repairing_until {
                    let rounds = ctx.config.nack.repair_rounds;
                    spread.saturating_add(self.nack.repair_time(nack_policy(ctx), rounds))
                } else {
                    spread
                };
                base.saturating_add(spread.clamp(min, max))
            }
        };
        let elapsed = ctx.now.saturating_sub(self.offset_updated_at).max(0);
        self.offset_updated_at = ctx.now;
        if desired >= self.playout_offset {
            self.playout_offset = desired;
        } else {
            let step = elapsed.saturating_mul(ctx.tuning.decrease_per_second()) / 1_000_000;
            self.playout_offset = desired.max(self.playout_offset.saturating_sub(step));
        }
        // The bound is hard, even while a drop of the base is being drained slowly.
        if let DelayTuning::Adaptive { max, .. } = ctx.tuning.delay {
            self.playout_offset = self.playout_offset.min(base.saturating_add(max));
        }
    }

    /// Marks `[from, to)` consumed. Returns the number of present packets among them and
    /// the number of frames (runs of one timestamp) they formed.
    fn consume_range(&mut self, from: u64, to: u64) -> (u64, u64) {
        let mut present = 0;
        let mut frames = 0;
        let mut last_ts = None;
        for seq in from..to {
            let index = self.index(seq);
            let slot = &mut self.ring[index];
            let taken = if slot.seq == seq {
                std::mem::take(&mut slot.state)
            } else {
                SlotState::Empty
            };
            if let SlotState::Present(stored) = taken {
                present += 1;
                if last_ts != Some(stored.timestamp) {
                    frames += 1;
                    last_ts = Some(stored.timestamp);
                }
                self.last_consumed = Some(Consumed {
                    seq,
                    timestamp: stored.timestamp,
                    marker: stored.marker,
                });
                *slot = Slot {
                    seq,
                    state: SlotState::Received,
                };
            } else {
                *slot = Slot {
                    seq,
                    state: SlotState::Skipped,
                };
            }
        }
        if to > from {
            self.started = true;
        }
        (present, frames)
    }

    fn take(&mut self, seq: u64) -> Option<Stored> {
        let index = self.index(seq);
        let slot = &mut self.ring[index];
        if slot.seq != seq {
            return None;
        }
        match std::mem::replace(&mut slot.state, SlotState::Received) {
            SlotState::Present(stored) => {
                self.last_consumed = Some(Consumed {
                    seq,
                    timestamp: stored.timestamp,
                    marker: stored.marker,
                });
                self.started = true;
                Some(stored)
            }
            other => {
                slot.state = other;
                None
            }
        }
    }

    /// Playout times never go backwards.
    fn playout_at(&mut self, deadline: i64) -> i64 {
        self.last_playout = self.last_playout.max(deadline);
        self.last_playout
    }

    /// Releases whatever is due at `ctx.now`, sends due NACKs and keyframe requests, and
    /// computes the next wake-up.
    pub(crate) fn advance(&mut self, ctx: &mut Context<'_>) {
        let media_wakeup = match ctx.config.kind {
            MediaKind::Audio => self.advance_audio(ctx),
            MediaKind::Video => self.advance_video(ctx),
        };
        let mut wakeup = media_wakeup;
        if ctx.config.nack.enabled {
            // Before anything has left, the stream may still grow backwards: what is
            // missing below its first packet stays on the list.
            if self.started {
                self.nack.forget_before(self.next_seq);
            }
            if self.nack.is_due(ctx.now) {
                self.nack_round(ctx);
            }
            if let Some(due) = self.nack.next_due() {
                wakeup = wakeup.min(due);
            }
        }
        if self.keyframe_wanted {
            let due = self.last_keyframe_request.map_or(i64::MIN, |last| {
                last.saturating_add(ctx.tuning.keyframe_interval)
            });
            if ctx.now >= due {
                if ctx.sink.control(Output::KeyframeRequest(self.ssrc)) {
                    self.stats.keyframe_requests += 1;
                }
                self.last_keyframe_request = Some(ctx.now);
                self.keyframe_wanted = false;
            } else {
                wakeup = wakeup.min(due);
            }
        }
        self.next_wakeup = wakeup;
    }

    fn nack_round(&mut self, ctx: &mut Context<'_>) {
        let policy = nack_policy(ctx);
        let lateness = ctx.tuning.lateness;
        let offset = self.playout_offset;
        let anchor = self.ts_anchor;
        let scale = self.scale;
        // The startup grace is for the first frame (and what is missing below it) only.
        let grace = self.startup_grace(ctx);
        let graced_until_ts = if grace == i64::MIN {
            None
        } else {
            self.stored(self.next_seq).map(|head| head.timestamp)
        };
        let round = self.nack.round(ctx.now, policy, |ts| {
            let last_useful = scale
                .micros(tick_distance(ts, anchor))
                .saturating_add(offset)
                .saturating_add(lateness);
            if graced_until_ts.is_some_and(|head_ts| ts <= head_ts) {
                last_useful.max(grace)
            } else {
                last_useful
            }
        });
        self.stats.nack_gave_up += round.gave_up_retries + round.gave_up_too_late;
        if !round.seqs.is_empty() {
            let count = round.seqs.len() as u64;
            let nack = Nack {
                ssrc: self.ssrc,
                seqs: round.seqs.into_iter().map(ExtendedSeq::new).collect(),
            };
            if ctx.sink.control(Output::Nack(nack)) {
                self.stats.nacked += count;
            }
        }
    }

    /// The first present packet after `seq`, up to the highest.
    fn next_present(&self, seq: u64) -> Option<(u64, &Stored)> {
        (seq + 1..=self.highest_seq).find_map(|s| self.stored(s).map(|stored| (s, stored)))
    }

    /// Audio: release packets at their playout time; report holes whose time has come.
    /// Returns when to look again.
    fn advance_audio(&mut self, ctx: &mut Context<'_>) -> i64 {
        let lateness = ctx.tuning.lateness;
        while self.next_seq <= self.highest_seq {
            if !ctx.sink.has_room() {
                return i64::MAX;
            }
            let seq = self.next_seq;
            if let Some(stored) = self.stored(seq) {
                let deadline = self.deadline(stored.timestamp);
                if stored.arrival > deadline.saturating_add(lateness) {
                    // It came after its slot, which the player has concealed by now:
                    // report the slot like any other hole.
                    let timestamp = stored.timestamp;
                    self.take(seq);
                    self.next_seq += 1;
                    self.stats.late += 1;
                    self.stats.concealed += 1;
                    let playout = self.playout_at(deadline);
                    ctx.sink.media(Output::Gap(Gap {
                        ssrc: self.ssrc,
                        first_seq: ExtendedSeq::new(seq),
                        count: 1,
                        timestamp: ExtendedTimestamp::new(timestamp),
                        playout_at: ctx.sink.instant(playout),
                    }));
                    continue;
                }
                if ctx.now < deadline {
                    return deadline;
                }
                let Some(stored) = self.take(seq) else {
                    return i64::MAX;
                };
                self.next_seq += 1;
                let playout = self.playout_at(deadline);
                self.stats.audio_released += 1;
                ctx.sink.media(Output::Audio(AudioPacket {
                    ssrc: self.ssrc,
                    seq: ExtendedSeq::new(seq),
                    timestamp: ExtendedTimestamp::new(stored.timestamp),
                    marker: stored.marker,
                    payload: stored.payload,
                    playout_at: ctx.sink.instant(playout),
                }));
                continue;
            }
            // A hole: interpolate the missing packets' timestamps between the last
            // consumed packet and the next present one.
            let Some((next, next_ts)) = self.next_present(seq).map(|(s, p)| (s, p.timestamp))
            else {
                return i64::MAX;
            };
            let (prev_seq, prev_ts) = self
                .last_consumed
                .map_or((next, next_ts), |c| (c.seq, c.timestamp));
            let estimate = |s: u64| -> u64 {
                if next <= prev_seq || next_ts <= prev_ts {
                    return next_ts.min(prev_ts.max(next_ts));
                }
                let span = u128::from(next - prev_seq);
                let ts_span = u128::from(next_ts - prev_ts);
                prev_ts + (ts_span * u128::from(s.saturating_sub(prev_seq)) / span) as u64
            };
            let first_ts = estimate(seq);
            let first_deadline = self.deadline(first_ts);
            if ctx.now < first_deadline.saturating_add(lateness) {
                return first_deadline.saturating_add(lateness);
            }
            let mut end = seq + 1;
            while end < next && ctx.now >= self.deadline(estimate(end)).saturating_add(lateness) {
                end += 1;
            }
            let (_, _) = self.consume_range(seq, end);
            self.last_consumed = Some(Consumed {
                seq: end - 1,
                timestamp: estimate(end - 1),
                marker: false,
            });
            self.next_seq = end;
            self.stats.concealed += end - seq;
            let playout = self.playout_at(first_deadline);
            ctx.sink.media(Output::Gap(Gap {
                ssrc: self.ssrc,
                first_seq: ExtendedSeq::new(seq),
                count: end - seq,
                timestamp: ExtendedTimestamp::new(first_ts),
                playout_at: ctx.sink.instant(playout),
            }));
        }
        i64::MAX
    }

    /// Whether the present packet `stored` at `seq` starts a frame.
    fn starts_frame(&self, seq: u64, stored: &Stored) -> bool {
        stored.frame_start
            || self
                .last_consumed
                .is_some_and(|c| c.seq + 1 == seq && (c.marker || c.timestamp != stored.timestamp))
    }

    /// Walks the frame starting at `start`.
    fn walk_frame(&self, start: u64) -> Head {
        match self.begin_walk(start) {
            Ok(scan) => self.continue_walk(scan).0,
            Err(head) => head,
        }
    }

    /// The frame at the head (`next_seq`), walked on from where the last scan stopped.
    fn scan_head(&mut self) -> Head {
        let start = self.next_seq;
        let scan = match self.head_scan.filter(|scan| scan.start == start) {
            Some(scan) => scan,
            None => match self.begin_walk(start) {
                Ok(scan) => scan,
                Err(head) => {
                    self.head_scan = None;
                    return head;
                }
            },
        };
        let (head, scan) = self.continue_walk(scan);
        self.head_scan = scan;
        head
    }

    /// The start of a walk of the frame at `start`, or what the frame is when it cannot be
    /// walked: its first packet is missing, or it does not start a frame.
    fn begin_walk(&self, start: u64) -> Result<HeadScan, Head> {
        let Some(first) = self.stored(start) else {
            let timestamp = self
                .next_present(start)
                .map_or(self.highest_ts, |(_, p)| p.timestamp);
            return Err(Head::Incomplete { timestamp });
        };
        if !self.starts_frame(start, first) {
            return Err(Head::Incomplete {
                timestamp: first.timestamp,
            });
        }
        Ok(HeadScan {
            start,
            next: start,
            end: None,
            timestamp: first.timestamp,
            keyframe: first.keyframe,
            completed_at: first.arrival,
        })
    }

    /// Continues walking a frame whose `[start, next)` is verified. Returns what the frame
    /// is and the verified progress.
    fn continue_walk(&self, mut scan: HeadScan) -> (Head, Option<HeadScan>) {
        let timestamp = scan.timestamp;
        if let Some(end) = scan.end {
            let head = Head::Complete {
                end,
                timestamp,
                keyframe: scan.keyframe,
                completed_at: scan.completed_at,
            };
            return (head, Some(scan));
        }
        loop {
            let seq = scan.next;
            let Some(stored) = self.stored(seq) else {
                return (Head::Incomplete { timestamp }, Some(scan));
            };
            if stored.timestamp != timestamp {
                // A new timestamp without a marker before it: the frame ended anyway.
                let head = Head::Complete {
                    end: seq - 1,
                    timestamp,
                    keyframe: scan.keyframe,
                    completed_at: scan.completed_at,
                };
                scan.end = Some(seq - 1);
                return (head, Some(scan));
            }
            scan.completed_at = scan.completed_at.max(stored.arrival);
            if stored.marker {
                let head = Head::Complete {
                    end: seq,
                    timestamp,
                    keyframe: scan.keyframe,
                    completed_at: scan.completed_at,
                };
                scan.end = Some(seq);
                return (head, Some(scan));
            }
            scan.next = seq + 1;
            if seq >= self.highest_seq {
                return (Head::Incomplete { timestamp }, Some(scan));
            }
        }
    }

    /// Video: release complete, decodable frames at their playout time; give up on
    /// incomplete ones when they can no longer be used. Returns when to look again.
    fn advance_video(&mut self, ctx: &mut Context<'_>) -> i64 {
        while self.next_seq <= self.highest_seq {
            if !ctx.sink.has_room() {
                return i64::MAX;
            }
            while self
                .keyframe_starts
                .front()
                .is_some_and(|&s| s < self.next_seq)
            {
                self.keyframe_starts.pop_front();
            }
            match self.scan_head() {
                Head::Complete {
                    end,
                    timestamp,
                    keyframe,
                    completed_at,
                } => {
                    if self.awaiting_keyframe && !keyframe {
                        self.drop_frames(ctx, end + 1, true);
                        continue;
                    }
                    let deadline = self.deadline(timestamp);
                    if completed_at > self.give_up_at(ctx, deadline) {
                        self.drop_frames(ctx, end + 1, ctx.config.require_keyframe);
                        continue;
                    }
                    if ctx.now < deadline {
                        return deadline;
                    }
                    self.release_frame(ctx, end, timestamp, keyframe, completed_at > deadline);
                }
                Head::Incomplete { timestamp } => {
                    if let Some(skip_to) = self.keyframe_to_skip_to(ctx) {
                        self.drop_frames(ctx, skip_to, false);
                        continue;
                    }
                    let give_up = self.give_up_at(ctx, self.deadline(timestamp));
                    if ctx.now < give_up {
                        return give_up;
                    }
                    let end = self.head_frame_end();
                    self.drop_frames(ctx, end, ctx.config.require_keyframe);
                }
            }
        }
        i64::MAX
    }

    /// A later keyframe that makes waiting for the head pointless: complete, and either
    /// the head is undecodable anyway or the keyframe is already due.
    fn keyframe_to_skip_to(&self, ctx: &Context<'_>) -> Option<u64> {
        let &start = self.keyframe_starts.iter().find(|&&s| s > self.next_seq)?;
        let Head::Complete { timestamp, .. } = self.walk_frame(start) else {
            return None;
        };
        (self.awaiting_keyframe || ctx.now >= self.deadline(timestamp)).then_some(start)
    }

    /// One past the last sequence number of the (incomplete) frame at the head: the
    /// missing packets there and every present packet of the same timestamp, through a
    /// marker.
    fn head_frame_end(&self) -> u64 {
        let mut frame_ts = None;
        let mut seq = self.next_seq;
        while seq <= self.highest_seq {
            if let Some(stored) = self.stored(seq) {
                let boundary = stored.frame_start && seq != self.next_seq;
                match frame_ts {
                    None if boundary => return seq,
                    Some(ts) if ts != stored.timestamp || boundary => return seq,
                    _ => {}
                }
                frame_ts = Some(stored.timestamp);
                if stored.marker {
                    return seq + 1;
                }
            }
            seq += 1;
        }
        seq
    }

    /// Drops everything before `end`; with `undecodable`, waits for a keyframe.
    fn drop_frames(&mut self, ctx: &Context<'_>, end: u64, undecodable: bool) {
        let (present, frames) = self.consume_range(self.next_seq, end);
        self.next_seq = end;
        self.stats.frames_dropped += frames.max(1);
        self.stats.discarded += present;
        if undecodable && ctx.config.kind == MediaKind::Video && ctx.config.require_keyframe {
            self.awaiting_keyframe = true;
            self.keyframe_wanted = true;
        }
    }

    fn release_frame(
        &mut self,
        ctx: &mut Context<'_>,
        end: u64,
        timestamp: u64,
        keyframe: bool,
        late: bool,
    ) {
        let first = self.next_seq;
        let mut payloads = Vec::with_capacity(usize::try_from(end + 1 - first).unwrap_or(0));
        for seq in first..=end {
            if let Some(stored) = self.take(seq) {
                payloads.push(stored.payload);
            }
        }
        self.next_seq = end + 1;
        self.awaiting_keyframe = false;
        self.keyframe_wanted = false;
        self.stats.frames_completed += 1;
        if late {
            self.stats.frames_late += 1;
        }
        let deadline = self.deadline(timestamp);
        let playout = self.playout_at(deadline);
        ctx.sink.media(Output::Frame(Frame {
            ssrc: self.ssrc,
            timestamp: ExtendedTimestamp::new(timestamp),
            first_seq: ExtendedSeq::new(first),
            last_seq: ExtendedSeq::new(end),
            keyframe,
            payloads,
            playout_at: ctx.sink.instant(playout),
            late,
        }));
    }
}
