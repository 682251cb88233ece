//! The jitter buffer: streams by SSRC, time, the output queue and the bounds.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::config::Tuning;
use crate::output::{Event, RemoveReason};
use crate::sink::OutputSink;
use crate::stream::{Context, Stream};
use crate::{Config, Error, Output, Packet, PacketOutcome, Ssrc, Stats, StreamStats};

/// Bound: first packets of new SSRCs held while every stream slot is taken, waiting for a
/// second packet to confirm them (RFC 3550 §A.1's probation). The oldest is dropped first
/// (counted in [`Stats::probation_dropped`]).
pub const PROBATION_SLOTS: usize = 64;

/// A second packet confirms a new SSRC if its sequence number is this close to the first.
const PROBATION_MAX_DISTANCE: u16 = 100;

/// A sans-IO jitter buffer for the RTP streams of one track.
///
/// It reorders packets per SSRC, drops duplicates, unwraps sequence numbers and
/// timestamps, asks for lost packets (NACK), adapts its playout delay to the measured
/// jitter, assembles video frames (requesting a keyframe when one cannot be completed) and
/// releases audio packets at their playout time (reporting gaps for concealment). It does
/// no I/O and reads no clock: time is always an argument.
///
/// # Calling convention
///
/// - **Inputs**: [`handle_packet`](Self::handle_packet) for every received RTP packet,
///   [`handle_timeout`](Self::handle_timeout) when the instant from
///   [`poll_timeout`](Self::poll_timeout) has come (calling it early or twice is harmless:
///   it is idempotent), and [`set_rtt`](Self::set_rtt) whenever RTCP yields a round-trip
///   time.
/// - **Drain rule**: after any `handle_*` call, call [`poll_output`](Self::poll_output)
///   until it returns `None`, then [`poll_timeout`](Self::poll_timeout) and sleep until the
///   instant it gives (or until the next packet arrives). While the output queue is full
///   ([`Config::max_pending_outputs`]), media stays buffered — it is released late rather
///   than lost — and control outputs are dropped and counted.
/// - **Time only moves forward**: every `now` should be no earlier than the previous one.
///   An earlier `now` is treated as the latest one seen (and counted in
///   [`Stats::time_regressions`]); nothing is undone.
///
/// # Bounds
///
/// At most [`Config::max_streams`] SSRCs with [`Config::max_packets_per_stream`] packets
/// each, [`NackConfig::max_list_len`](crate::NackConfig::max_list_len) missing packets
/// each, [`Config::max_pending_outputs`] outputs and [`PROBATION_SLOTS`] packets of
/// unconfirmed SSRCs. A new SSRC gets a stream at once while slots are free. Once they are
/// all taken, its first packet waits in probation; when a second packet close in sequence
/// confirms it, it takes the slot of the least recently active *unconfirmed* stream (one
/// that never saw two packets in sequence), or is dropped if every stream is confirmed. So
/// a flood of random SSRCs cannot displace an established stream, and a real newcomer
/// still gets in as long as fewer than [`PROBATION_SLOTS`] spoofed SSRCs arrive between
/// its first two packets.
#[derive(Debug)]
pub struct JitterBuffer {
    config: Config,
    tuning: Tuning,
    epoch: Option<Instant>,
    /// Microseconds since `epoch` of the latest `now`.
    now: i64,
    rtt: i64,
    streams: Vec<Stream>,
    /// First packets of new SSRCs that found every slot taken, oldest first.
    probation: VecDeque<Packet>,
    outputs: VecDeque<Output>,
    /// Counters of streams that are gone.
    retired: StreamStats,
    stats: Stats,
}

impl JitterBuffer {
    /// A buffer with `config`, which is validated.
    pub fn new(config: Config) -> Result<Self, Error> {
        config.validate()?;
        let rtt = duration_micros(config.nack.initial_rtt);
        Ok(Self {
            tuning: Tuning::new(&config),
            config,
            epoch: None,
            now: 0,
            rtt,
            streams: Vec::new(),
            probation: VecDeque::new(),
            outputs: VecDeque::new(),
            retired: StreamStats::default(),
            stats: Stats::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Takes one received packet that arrived at `now`, and releases whatever became due.
    pub fn handle_packet(&mut self, now: Instant, packet: Packet) -> PacketOutcome {
        self.set_now(now);
        let epoch = self.epoch.unwrap_or(now);
        self.advance_due();
        let (index, held) = match self.admit(epoch, &packet) {
            Ok(admitted) => admitted,
            Err(outcome) => return outcome,
        };
        let (streams, mut ctx) = self.parts(epoch);
        let stream = &mut streams[index];
        if let Some(held) = held {
            let _ = stream.handle_packet(&mut ctx, held);
        }
        let outcome = stream.handle_packet(&mut ctx, packet);
        stream.advance(&mut ctx);
        outcome
    }

    /// Advances time to `now`: releases what is due, sends due NACKs and keyframe
    /// requests, forgets idle streams. Idempotent for a given `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.set_now(now);
        let timeout = duration_micros(self.config.stream_timeout);
        let mut index = 0;
        while index < self.streams.len() {
            if self.now.saturating_sub(self.streams[index].last_arrival) >= timeout {
                self.stats.streams_timed_out += 1;
                self.remove_at(index, RemoveReason::Idle);
            } else {
                index += 1;
            }
        }
        self.advance_due();
    }

    /// The next output, if any. See the drain rule on the type.
    #[must_use]
    #[inline]
    pub fn poll_output(&mut self) -> Option<Output> {
        let output = self.outputs.pop_front();
        if output.is_some() && self.outputs.len() + 1 == self.config.max_pending_outputs {
            // The queue was full: media held back may be due now.
            self.advance_due_now();
        }
        output
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called, if anything is
    /// pending.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let epoch = self.epoch?;
        let timeout = duration_micros(self.config.stream_timeout);
        let next = self
            .streams
            .iter()
            .map(|s| s.next_wakeup.min(s.last_arrival.saturating_add(timeout)))
            .min()?;
        let micros = next.clamp(0, 100 * 365 * 86_400 * 1_000_000).unsigned_abs();
        epoch.checked_add(Duration::from_micros(micros))
    }

    /// Sets the round-trip time to the sender (from RTCP), which paces NACK retries.
    pub fn set_rtt(&mut self, rtt: Duration) {
        self.rtt = duration_micros(rtt.min(Duration::from_mins(1)));
    }

    /// Forgets a stream and its buffered packets. Returns whether it existed.
    pub fn remove_stream(&mut self, ssrc: Ssrc) -> bool {
        match self.streams.iter().position(|s| s.ssrc() == ssrc) {
            Some(index) => {
                self.remove_at(index, RemoveReason::Removed);
                true
            }
            None => false,
        }
    }

    /// The SSRCs tracked now.
    pub fn ssrcs(&self) -> impl Iterator<Item = Ssrc> + '_ {
        self.streams.iter().map(Stream::ssrc)
    }

    /// Counters and state of one stream.
    pub fn stream_stats(&self, ssrc: Ssrc) -> Option<StreamStats> {
        self.streams
            .iter()
            .find(|s| s.ssrc() == ssrc)
            .map(Stream::stats)
    }

    /// Counters of the whole buffer.
    pub fn stats(&self) -> Stats {
        let mut stats = self.stats;
        stats.streams = self.retired;
        stats.streams.buffered = 0;
        stats.streams.target_delay = Duration::ZERO;
        stats.streams.jitter = Duration::ZERO;
        for stream in &self.streams {
            stats.streams += &stream.stats();
        }
        stats.active_streams = self.streams.len();
        stats
    }

    fn set_now(&mut self, now: Instant) {
        let epoch = *self.epoch.get_or_insert(now);
        let micros = match now.checked_duration_since(epoch) {
            Some(elapsed) => duration_micros(elapsed),
            None => -1,
        };
        if micros < self.now {
            self.stats.time_regressions += 1;
        } else {
            self.now = micros;
        }
    }

    fn context(&mut self, epoch: Instant) -> Context<'_> {
        Context {
            config: &self.config,
            tuning: &self.tuning,
            now: self.now,
            rtt: self.rtt,
            sink: OutputSink {
                queue: &mut self.outputs,
                max: self.config.max_pending_outputs,
                dropped: &mut self.stats.outputs_dropped,
                epoch,
            },
        }
    }

    /// Advances every stream whose wake-up time has come.
    fn advance_due(&mut self) {
        let Some(epoch) = self.epoch else {
            return;
        };
        let now = self.now;
        let (streams, mut ctx) = self.parts(epoch);
        for stream in streams.iter_mut().filter(|s| s.next_wakeup <= now) {
            stream.advance(&mut ctx);
        }
    }

    /// Advances every stream (after the output queue had been full).
    fn advance_due_now(&mut self) {
        let Some(epoch) = self.epoch else {
            return;
        };
        let (streams, mut ctx) = self.parts(epoch);
        for stream in streams.iter_mut() {
            stream.advance(&mut ctx);
        }
    }

    /// The streams and, borrowed beside them, the context they run in.
    fn parts(&mut self, epoch: Instant) -> (&mut Vec<Stream>, Context<'_>) {
        let Self {
            config,
            tuning,
            streams,
            outputs,
            stats,
            now,
            rtt,
            ..
        } = self;
        let max = config.max_pending_outputs;
        let ctx = Context {
            config,
            tuning,
            now: *now,
            rtt: *rtt,
            sink: OutputSink {
                queue: outputs,
                max,
                dropped: &mut stats.outputs_dropped,
                epoch,
            },
        };
        (streams, ctx)
    }

    /// The index of the packet's stream, creating it when there is room or when a second
    /// packet confirms a new SSRC; otherwise what became of the packet. A confirmed
    /// newcomer comes back with its first (held) packet, to be inserted before this one.
    fn admit(
        &mut self,
        epoch: Instant,
        packet: &Packet,
    ) -> Result<(usize, Option<Packet>), PacketOutcome> {
        if let Some(index) = self.streams.iter().position(|s| s.ssrc() == packet.ssrc) {
            return Ok((index, None));
        }
        if self.streams.len() < self.config.max_streams {
            return Ok((self.start_stream(epoch, packet), None));
        }
        let Some(position) = self
            .probation
            .iter()
            .position(|held| held.ssrc == packet.ssrc)
        else {
            if self.probation.len() >= PROBATION_SLOTS {
                self.probation.pop_front();
                self.stats.probation_dropped += 1;
            }
            self.probation.push_back(packet.clone());
            return Err(PacketOutcome::Probation);
        };
        let Some(held) = self.probation.remove(position) else {
            return Err(PacketOutcome::Probation);
        };
        let distance = packet.sequence_number.wrapping_sub(held.sequence_number) as i16;
        if distance == 0 || distance.unsigned_abs() > PROBATION_MAX_DISTANCE {
            self.probation.push_back(packet.clone());
            return Err(PacketOutcome::Probation);
        }
        let victim = self
            .streams
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.is_established())
            .min_by_key(|(_, s)| s.last_arrival)
            .map(|(index, _)| index);
        let Some(victim) = victim else {
            self.stats.streams_rejected += 1;
            return Err(PacketOutcome::TooManyStreams);
        };
        self.stats.streams_evicted += 1;
        self.remove_at(victim, RemoveReason::Evicted);
        Ok((self.start_stream(epoch, &held), Some(held)))
    }

    fn start_stream(&mut self, epoch: Instant, packet: &Packet) -> usize {
        let mut ctx = self.context(epoch);
        let stream = Stream::new(&ctx, packet);
        ctx.sink
            .control(Output::Event(Event::StreamStarted(packet.ssrc)));
        self.streams.push(stream);
        self.streams.len() - 1
    }

    fn remove_at(&mut self, index: usize, reason: RemoveReason) {
        let mut stream = self.streams.swap_remove(index);
        self.retired += &stream.retire();
        let ssrc = stream.ssrc();
        if let Some(epoch) = self.epoch {
            self.context(epoch)
                .sink
                .control(Output::Event(Event::StreamRemoved { ssrc, reason }));
        }
    }
}

fn duration_micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}
