//! A seeded network model and a virtual-time driver for the jitter buffer, shared by the
//! simulation tests and the trace-driven benchmark.
//!
//! A [`Scenario`] describes a sender (audio at 50 packets/s or video at 30 frames/s) and a
//! path (base delay, a jitter family, random or bursty loss, extra reordering, a delay
//! step, sender clock drift, a start near the sequence wrap). [`generate`] turns it into a
//! trace: every packet with its true send time and, unless lost, its arrival time.
//! [`drive`] plays a trace through a [`JitterBuffer`] in virtual time, answering NACKs with
//! retransmissions over the same path, and records what came out.

#![allow(dead_code, unreachable_pub)]

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bytes::Bytes;
use strata_jitter::{ExtendedSeq, JitterBuffer, Output, Packet, Ssrc};

/// xorshift64*: small, fast, seeded.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(1e-12);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// The distribution of per-packet queueing delay on top of the base delay.
#[derive(Debug, Clone, Copy)]
pub enum JitterModel {
    None,
    /// Uniform in `[0, max_ms)`.
    Uniform {
        max_ms: f64,
    },
    /// |N(0, sigma)|: half-normal, so delay never goes below the base.
    Normal {
        sigma_ms: f64,
    },
    /// Pareto with scale `scale_ms` and shape `alpha`, shifted to start at 0.
    Pareto {
        scale_ms: f64,
        alpha: f64,
    },
}

impl JitterModel {
    fn sample_ms(self, rng: &mut Rng) -> f64 {
        match self {
            Self::None => 0.0,
            Self::Uniform { max_ms } => rng.unit() * max_ms,
            Self::Normal { sigma_ms } => (rng.normal() * sigma_ms).abs(),
            Self::Pareto { scale_ms, alpha } => {
                let u = (1.0 - rng.unit()).max(1e-12);
                scale_ms * (u.powf(-1.0 / alpha) - 1.0)
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub enum LossModel {
    None,
    Random(f64),
    /// Gilbert–Elliott: enter the bad state with `p_enter`, leave it with `p_leave`; every
    /// packet in the bad state is lost.
    Bursty {
        p_enter: f64,
        p_leave: f64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    /// 20 ms packets at 48 kHz.
    Audio,
    /// 30 frames/s at 90 kHz; a keyframe of 20 packets every 2 s, others 3 to 6 packets.
    Video,
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: &'static str,
    pub media: Media,
    pub duration_s: f64,
    pub base_delay_ms: f64,
    pub jitter: JitterModel,
    pub loss: LossModel,
    /// Probability that a packet is held back an extra 5 to 30 ms (reordering).
    pub reorder: f64,
    /// `(at_s, extra_ms)`: from `at_s` on, every packet takes `extra_ms` longer.
    pub delay_step: Option<(f64, f64)>,
    /// Sender clock error: its media clock runs this many ppm fast (negative: slow).
    pub drift_ppm: f64,
    pub first_seq: u16,
    pub first_ts: u32,
    pub seed: u64,
}

impl Scenario {
    pub fn new(name: &'static str, media: Media, seed: u64) -> Self {
        Self {
            name,
            media,
            duration_s: 60.0,
            base_delay_ms: 30.0,
            jitter: JitterModel::None,
            loss: LossModel::None,
            reorder: 0.0,
            delay_step: None,
            drift_ppm: 0.0,
            first_seq: 1000,
            first_ts: 123_456,
            seed,
        }
    }
}

/// One packet of a trace.
#[derive(Debug, Clone)]
pub struct TracePacket {
    pub seq: u16,
    pub ts: u32,
    pub marker: bool,
    pub frame_start: bool,
    pub keyframe: bool,
    pub frame: usize,
    /// True send time, microseconds from the trace start.
    pub send_us: i64,
    /// Arrival time, unless lost.
    pub arrival_us: Option<i64>,
}

/// Everything the sender sent.
#[derive(Debug, Clone)]
pub struct Trace {
    pub packets: Vec<TracePacket>,
    pub frames: usize,
    /// The smallest one-way delay any packet took: the physical floor.
    pub min_delay_us: i64,
    pub scenario: Scenario,
}

struct Path {
    rng: Rng,
    bad: bool,
}

impl Path {
    /// One-way delay of a packet sent at `send_us`, or `None` if lost.
    fn delay_us(&mut self, scenario: &Scenario, send_us: i64) -> Option<i64> {
        let lost = match scenario.loss {
            LossModel::None => false,
            LossModel::Random(p) => self.rng.chance(p),
            LossModel::Bursty { p_enter, p_leave } => {
                self.bad = if self.bad {
                    !self.rng.chance(p_leave)
                } else {
                    self.rng.chance(p_enter)
                };
                self.bad
            }
        };
        let mut delay_ms = scenario.base_delay_ms + scenario.jitter.sample_ms(&mut self.rng);
        if self.rng.chance(scenario.reorder) {
            delay_ms += 5.0 + 25.0 * self.rng.unit();
        }
        if let Some((at_s, extra_ms)) = scenario.delay_step
            && send_us as f64 >= at_s * 1e6
        {
            delay_ms += extra_ms;
        }
        (!lost).then_some((delay_ms * 1000.0) as i64)
    }
}

pub fn generate(scenario: &Scenario) -> Trace {
    let mut rng = Rng::new(scenario.seed);
    let mut path = Path {
        rng: Rng::new(scenario.seed ^ 0xABCD),
        bad: false,
    };
    let (interval_us, rate) = match scenario.media {
        Media::Audio => (20_000i64, 48_000f64),
        Media::Video => (33_333i64, 90_000f64),
    };
    let frames = (scenario.duration_s * 1e6 / interval_us as f64) as usize;
    let clock = 1.0 + scenario.drift_ppm * 1e-6;
    let mut packets = Vec::new();
    let mut seq = scenario.first_seq;
    for frame in 0..frames {
        let frame_us = frame as i64 * interval_us;
        let ts = scenario
            .first_ts
            .wrapping_add((frame_us as f64 * clock * rate / 1e6) as u32);
        let (count, keyframe) = match scenario.media {
            Media::Audio => (1, false),
            Media::Video if frame % 60 == 0 => (20, true),
            Media::Video => (3 + (rng.next_u64() % 4) as usize, false),
        };
        for i in 0..count {
            // Video packets of a frame are paced 1 ms apart.
            let send_us = frame_us + i as i64 * 1000;
            let arrival_us = path.delay_us(scenario, send_us).map(|d| send_us + d);
            packets.push(TracePacket {
                seq,
                ts,
                marker: match scenario.media {
                    Media::Audio => frame == 0,
                    Media::Video => i + 1 == count,
                },
                frame_start: i == 0,
                keyframe: keyframe && i == 0,
                frame,
                send_us,
                arrival_us,
            });
            seq = seq.wrapping_add(1);
        }
    }
    let min_delay_us = packets
        .iter()
        .filter_map(|p| p.arrival_us.map(|a| a - p.send_us))
        .min()
        .unwrap_or(0);
    Trace {
        packets,
        frames,
        min_delay_us,
        scenario: scenario.clone(),
    }
}

/// What came out of one run.
#[derive(Debug, Default)]
pub struct RunResult {
    /// Trace index → playout time (µs from the trace start), for each packet delivered.
    pub delivered: HashMap<usize, i64>,
    /// Trace indices in delivery order.
    pub order: Vec<usize>,
    /// Frames released (video), or packets (audio).
    pub frames_completed: usize,
    /// Trace indices named in NACKs, with how often.
    pub nacked: BTreeMap<usize, u32>,
    /// Trace indices reported in gaps (audio), with when the gap was reported and the
    /// gap's playout time.
    pub concealed: Vec<(usize, i64, i64)>,
    pub keyframe_requests: Vec<i64>,
    pub duplicates_delivered: usize,
    pub retransmissions_sent: usize,
    pub stats: strata_jitter::Stats,
}

/// Plays `trace` through `buffer` in virtual time. With `answer_nacks`, every requested packet
/// is sent again at the moment of the NACK over the same path (it may be lost again).
pub fn drive(buffer: &mut JitterBuffer, trace: &Trace, answer_nacks: bool) -> RunResult {
    let start = Instant::now();
    let mut driver = Driver::new(trace, start, answer_nacks);
    let end_us = trace.packets.last().map_or(0, |p| p.send_us) + 12_000_000;
    loop {
        let next_arrival = driver.arrivals.keys().next().map(|&(t, _)| t);
        let next_timeout = buffer.poll_timeout().map(|t| driver.to_us(t));
        let now_us = driver.now_us;
        let next = match (next_arrival, next_timeout) {
            (Some(a), Some(t)) => a.min(t.max(now_us)),
            (Some(a), None) => a,
            (None, Some(t)) if t <= end_us => t.max(now_us),
            _ => break,
        };
        driver.now_us = next;
        if next_arrival == Some(next) {
            let Some((_, (index, retransmission))) = driver.arrivals.pop_first() else {
                break;
            };
            let packet = driver.packet(index, retransmission);
            let _ = buffer.handle_packet(driver.at(next), packet);
            driver.cursor = driver.cursor.max(index);
        } else {
            buffer.handle_timeout(driver.at(next));
        }
        while let Some(output) = buffer.poll_output() {
            driver.output(output);
        }
    }
    driver.result.stats = buffer.stats();
    driver.result
}

/// The state of one [`drive`] run.
struct Driver<'a> {
    trace: &'a Trace,
    start: Instant,
    answer_nacks: bool,
    /// Arrivals keyed by (time, order) → (trace index, retransmission).
    arrivals: BTreeMap<(i64, u64), (usize, bool)>,
    by_seq: HashMap<u16, Vec<usize>>,
    path: Path,
    result: RunResult,
    cursor: usize,
    order: u64,
    now_us: i64,
}

impl<'a> Driver<'a> {
    fn new(trace: &'a Trace, start: Instant, answer_nacks: bool) -> Self {
        let mut arrivals = BTreeMap::new();
        let mut by_seq: HashMap<u16, Vec<usize>> = HashMap::new();
        for (index, packet) in trace.packets.iter().enumerate() {
            if let Some(arrival) = packet.arrival_us {
                arrivals.insert((arrival, index as u64), (index, false));
            }
            by_seq.entry(packet.seq).or_default().push(index);
        }
        Self {
            trace,
            start,
            answer_nacks,
            arrivals,
            by_seq,
            path: Path {
                rng: Rng::new(trace.scenario.seed ^ 0x5151),
                bad: false,
            },
            result: RunResult::default(),
            cursor: 0,
            order: 1 << 40,
            now_us: 0,
        }
    }

    fn at(&self, us: i64) -> Instant {
        self.start + Duration::from_micros(us.max(0) as u64)
    }

    fn to_us(&self, instant: Instant) -> i64 {
        instant.duration_since(self.start).as_micros() as i64
    }

    /// The trace index of a wire sequence number, nearest to the latest arrival.
    fn locate(&self, seq: u16) -> Option<usize> {
        self.by_seq
            .get(&seq)?
            .iter()
            .copied()
            .min_by_key(|&index| index.abs_diff(self.cursor))
    }

    fn packet(&self, index: usize, retransmission: bool) -> Packet {
        let p = &self.trace.packets[index];
        let mut packet = Packet::new(Ssrc(0x5EED), p.seq, p.ts, Bytes::new()).with_marker(p.marker);
        if p.keyframe {
            packet = packet.starting_keyframe();
        } else if p.frame_start {
            packet = packet.starting_frame();
        }
        if retransmission {
            packet = packet.retransmitted();
        }
        packet
    }

    fn output(&mut self, output: Output) {
        let now_us = self.now_us;
        match output {
            Output::Audio(audio) => {
                let index = self.locate(audio.seq.wire()).expect("known packet");
                let playout = self.to_us(audio.playout_at);
                record(&mut self.result, index, playout);
                self.result.frames_completed += 1;
            }
            Output::Frame(frame) => {
                let first = self.locate(frame.first_seq.wire()).expect("known packet");
                let count = (frame.last_seq.value() - frame.first_seq.value() + 1) as usize;
                let playout = self.to_us(frame.playout_at);
                for index in first..first + count {
                    record(&mut self.result, index, playout);
                }
                self.result.frames_completed += 1;
            }
            Output::Gap(gap) => {
                let first = self.locate(gap.first_seq.wire()).expect("known packet");
                let playout = self.to_us(gap.playout_at);
                self.result
                    .concealed
                    .extend((first..first + gap.count as usize).map(|i| (i, now_us, playout)));
            }
            Output::Nack(nack) => {
                for seq in nack.seqs {
                    let Some(index) = self.locate(ExtendedSeq::wire(seq)) else {
                        continue;
                    };
                    *self.result.nacked.entry(index).or_default() += 1;
                    if self.answer_nacks {
                        // The NACK travels to the sender, the packet comes back.
                        let up = self.path.delay_us(&self.trace.scenario, now_us);
                        let down = self.path.delay_us(&self.trace.scenario, now_us);
                        if let (Some(up), Some(down)) = (up, down) {
                            self.order += 1;
                            self.arrivals
                                .insert((now_us + up + down, self.order), (index, true));
                            self.result.retransmissions_sent += 1;
                        }
                    }
                }
            }
            Output::KeyframeRequest(_) => self.result.keyframe_requests.push(now_us),
            _ => {}
        }
    }
}

fn record(result: &mut RunResult, index: usize, playout_us: i64) {
    if result.delivered.insert(index, playout_us).is_some() {
        result.duplicates_delivered += 1;
    }
    result.order.push(index);
}

/// The `q` quantile of `values` (sorted in place).
pub fn quantile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}
