//! Trace-driven evaluation of the adaptive playout delay.
//!
//! Seeded traces (see `tests/network_model`) of 60 s of audio (50 packets/s) over paths
//! with different jitter families, loss, reordering, a +200 ms delay step, ±100 ppm sender
//! clock drift and a sequence-number wrap. Each trace runs through the buffer with its
//! default adaptive delay and with a fixed 200 ms delay, and is compared with the offline
//! optimum: the smallest fixed delay that would have lost no more packets to lateness on
//! that trace.
//!
//! Playout delay is measured per played packet as `playout time - (send time + the
//! trace's smallest one-way delay)`: the time spent waiting beyond the fastest possible
//! delivery. A packet that arrived but was not played was lost to lateness.
//!
//! A second table runs video (30 frames/s, NACK answered by retransmissions over the same
//! path) and counts frames completed.
//!
//! Run: `cargo bench -p strata-jitter --bench jitter_traces`.

#[path = "../tests/network_model/mod.rs"]
mod network_model;

use std::time::Duration;

use network_model::{JitterModel, LossModel, Media, Scenario, Trace, drive, generate, quantile};
use strata_jitter::{ClockRate, Config, DelayMode, JitterBuffer};

struct Measured {
    late_fraction: f64,
    late: usize,
    p50: f64,
    p95: f64,
    p99: f64,
    frames_completed: usize,
    keyframe_requests: u64,
    unrecovered: u64,
}

fn measure(trace: &Trace, config: Config, answer_nacks: bool) -> Measured {
    let mut buffer = JitterBuffer::new(config).expect("valid config");
    buffer.set_rtt(Duration::from_micros(2 * trace.min_delay_us.max(0) as u64));
    let result = drive(&mut buffer, trace, answer_nacks);
    let arrived = trace
        .packets
        .iter()
        .filter(|p| p.arrival_us.is_some())
        .count();
    let on_network: Vec<usize> = trace
        .packets
        .iter()
        .enumerate()
        .filter(|(_, p)| p.arrival_us.is_some())
        .map(|(i, _)| i)
        .collect();
    let late = on_network
        .iter()
        .filter(|i| !result.delivered.contains_key(i))
        .count();
    let mut delays: Vec<f64> = result
        .delivered
        .iter()
        .map(|(&i, &playout)| {
            (playout - trace.packets[i].send_us - trace.min_delay_us) as f64 / 1000.0
        })
        .collect();
    Measured {
        late_fraction: late as f64 / arrived.max(1) as f64,
        late,
        p50: quantile(&mut delays, 0.50),
        p95: quantile(&mut delays, 0.95),
        p99: quantile(&mut delays, 0.99),
        frames_completed: result.frames_completed,
        keyframe_requests: result.stats.streams.keyframe_requests,
        unrecovered: result.stats.streams.nack_gave_up,
    }
}

/// The smallest fixed delay (beyond the fastest path) that makes at most `late` of the
/// arrived packets late.
fn offline_optimum(trace: &Trace, late: usize) -> f64 {
    let mut extra: Vec<i64> = trace
        .packets
        .iter()
        .filter_map(|p| p.arrival_us.map(|a| a - p.send_us - trace.min_delay_us))
        .collect();
    extra.sort_unstable();
    let keep = extra.len().saturating_sub(late);
    keep.checked_sub(1)
        .map_or(0.0, |index| extra[index] as f64 / 1000.0)
}

fn scenarios(media: Media) -> Vec<Scenario> {
    let base = |name, seed| Scenario::new(name, media, seed);
    let mut list = Vec::new();
    let mut s = base("uniform 0-40 ms", 1);
    s.jitter = JitterModel::Uniform { max_ms: 40.0 };
    list.push(s);
    for (name, sigma, seed) in [
        ("normal σ5 ms", 5.0, 2),
        ("normal σ20 ms", 20.0, 3),
        ("normal σ50 ms", 50.0, 4),
    ] {
        let mut s = base(name, seed);
        s.jitter = JitterModel::Normal { sigma_ms: sigma };
        list.push(s);
    }
    let mut s = base("pareto (10 ms, α 2)", 5);
    s.jitter = JitterModel::Pareto {
        scale_ms: 10.0,
        alpha: 2.0,
    };
    list.push(s);
    let mut s = base("random loss 5 %, σ20", 6);
    s.jitter = JitterModel::Normal { sigma_ms: 20.0 };
    s.loss = LossModel::Random(0.05);
    list.push(s);
    let mut s = base("bursty loss, σ20", 7);
    s.jitter = JitterModel::Normal { sigma_ms: 20.0 };
    s.loss = LossModel::Bursty {
        p_enter: 0.02,
        p_leave: 0.3,
    };
    list.push(s);
    let mut s = base("reorder 10 %, 0-20 ms", 8);
    s.jitter = JitterModel::Uniform { max_ms: 20.0 };
    s.reorder = 0.10;
    list.push(s);
    let mut s = base("+200 ms step at 30 s, σ10", 9);
    s.jitter = JitterModel::Normal { sigma_ms: 10.0 };
    s.delay_step = Some((30.0, 200.0));
    list.push(s);
    for (name, ppm, seed) in [
        ("drift +100 ppm, σ10", 100.0, 10),
        ("drift -100 ppm, σ10", -100.0, 11),
    ] {
        let mut s = base(name, seed);
        s.jitter = JitterModel::Normal { sigma_ms: 10.0 };
        s.drift_ppm = ppm;
        list.push(s);
    }
    let mut s = base("sequence wrap, σ20", 12);
    s.jitter = JitterModel::Normal { sigma_ms: 20.0 };
    s.first_seq = 64_000;
    s.first_ts = u32::MAX - 1_000_000;
    list.push(s);
    list
}

fn fixed(mut config: Config, ms: u64) -> Config {
    config.delay = DelayMode::Fixed(Duration::from_millis(ms));
    config
}

fn main() {
    println!("## Audio: adaptive delay against a fixed 200 ms buffer and the offline optimum\n");
    println!(
        "| trace | p50 ms | p95 ms | p99 ms | late % | optimum ms | p95 / optimum | fixed 200: late % | fixed 200: p95 ms | targets |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut all_met = true;
    for scenario in scenarios(Media::Audio) {
        let trace = generate(&scenario);
        let audio = Config::audio(ClockRate::OPUS);
        let adaptive = measure(&trace, audio.clone(), false);
        let fixed200 = measure(&trace, fixed(audio, 200), false);
        let optimum = offline_optimum(&trace, adaptive.late);
        let ratio = adaptive.p95 / optimum.max(1.0);
        let met = adaptive.late_fraction <= 0.01 && ratio <= 1.25;
        all_met &= met;
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.2} | {:.1} | {:.2} | {:.2} | {:.1} | {} |",
            scenario.name,
            adaptive.p50,
            adaptive.p95,
            adaptive.p99,
            adaptive.late_fraction * 100.0,
            optimum,
            ratio,
            fixed200.late_fraction * 100.0,
            fixed200.p95,
            if met { "met" } else { "**missed**" },
        );
    }
    println!(
        "\nAll audio targets (late loss ≤ 1 %, p95 ≤ 1.25 × optimum): {}\n",
        if all_met { "met" } else { "NOT met" }
    );

    println!("## Video: frames completed (NACK answered by retransmission)\n");
    println!(
        "| trace | frames sent | adaptive: completed | adaptive: p95 ms | adaptive: NACK give-ups / keyframe requests | fixed 200: completed |"
    );
    println!("|---|---|---|---|---|---|");
    for scenario in scenarios(Media::Video) {
        let trace = generate(&scenario);
        let adaptive = measure(&trace, Config::video(), true);
        let fixed200 = measure(&trace, fixed(Config::video(), 200), true);
        println!(
            "| {} | {} | {} ({:.1} %) | {:.1} | {} / {} | {} ({:.1} %) |",
            scenario.name,
            trace.frames,
            adaptive.frames_completed,
            100.0 * adaptive.frames_completed as f64 / trace.frames as f64,
            adaptive.p95,
            adaptive.unrecovered,
            adaptive.keyframe_requests,
            fixed200.frames_completed,
            100.0 * fixed200.frames_completed as f64 / trace.frames as f64,
        );
    }
}
