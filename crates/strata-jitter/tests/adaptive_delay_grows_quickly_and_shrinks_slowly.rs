//! The adaptive playout delay follows the jitter: up within a fraction of a second when
//! jitter rises, down gradually (no faster than the configured rate) when it falls, within
//! the configured bounds; a fixed delay stays put.

mod network_model;

use std::time::{Duration, Instant};

use bytes::Bytes;
use network_model::Rng;
use strata_jitter::{AdaptiveDelay, ClockRate, Config, DelayMode, JitterBuffer, Packet, Ssrc};

/// Audio packets every 20 ms; `jitter_ms(t)` gives the jitter bound at second `t`.
/// Returns the target delay sampled every 100 ms.
fn run(config: Config, seconds: u64, jitter_ms: impl Fn(f64) -> f64) -> Vec<Duration> {
    let mut buffer = JitterBuffer::new(config).unwrap();
    let start = Instant::now();
    let mut rng = Rng::new(7);
    let mut samples = Vec::new();
    let mut arrivals: Vec<(u64, u32)> = (0..seconds * 50)
        .map(|i| {
            let send_us = i * 20_000;
            let jitter = rng.unit() * jitter_ms(send_us as f64 / 1e6) * 1000.0;
            (send_us + 30_000 + jitter as u64, i as u32)
        })
        .collect();
    arrivals.sort_unstable();
    let mut next_sample = 0;
    for (at_us, i) in arrivals {
        let now = start + Duration::from_micros(at_us);
        buffer.handle_timeout(now);
        let _ = buffer.handle_packet(now, Packet::new(Ssrc(1), i as u16, i * 960, Bytes::new()));
        while buffer.poll_output().is_some() {}
        while at_us >= next_sample {
            let stats = buffer.stream_stats(Ssrc(1)).unwrap();
            samples.push(stats.target_delay);
            next_sample += 100_000;
        }
    }
    samples
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[test]
fn the_delay_rises_within_a_second_of_a_jitter_burst_and_drains_at_the_configured_rate() {
    // 10 s calm (5 ms), 10 s rough (100 ms), 50 s calm: the burst leaves the default
    // 40 s window at 60 s.
    let samples = run(Config::audio(ClockRate::OPUS), 70, |t| {
        if (10.0..20.0).contains(&t) {
            100.0
        } else {
            5.0
        }
    });
    let at = |s: f64| ms(samples[(s * 10.0) as usize]);
    assert!(at(9.5) < 20.0, "calm delay {}", at(9.5));
    assert!(at(11.0) >= 80.0, "one second into the burst: {}", at(11.0));
    // Down no faster than 20 ms per second (plus one bucket of slack per sample).
    for w in samples[200..].windows(2) {
        assert!(
            ms(w[0]) - ms(w[1]) <= 2.0 + 1.0,
            "{} -> {}",
            ms(w[0]),
            ms(w[1])
        );
    }
    assert!(
        at(22.0) >= 80.0,
        "still high right after the burst: {}",
        at(22.0)
    );
    assert!(at(69.0) < 20.0, "back down long after: {}", at(69.0));
}

#[test]
fn the_delay_stays_within_its_configured_bounds() {
    let mut adaptive = AdaptiveDelay::default();
    adaptive.min = Duration::from_millis(40);
    adaptive.max = Duration::from_millis(60);
    let mut config = Config::audio(ClockRate::OPUS);
    config.delay = DelayMode::Adaptive(adaptive);
    let samples = run(config, 20, |t| if t < 10.0 { 1.0 } else { 200.0 });
    for &sample in &samples[5..] {
        assert!((40.0..=60.5).contains(&ms(sample)), "{}", ms(sample));
    }
}

#[test]
fn a_fixed_delay_ignores_jitter() {
    let mut config = Config::audio(ClockRate::OPUS);
    config.delay = DelayMode::Fixed(Duration::from_millis(120));
    let samples = run(config, 20, |t| if t < 10.0 { 1.0 } else { 100.0 });
    for &sample in &samples[5..] {
        assert!((119.0..=121.0).contains(&ms(sample)), "{}", ms(sample));
    }
}

/// Audio packets every 20 ms with `delay_ms(t, i)` one-way delay; returns the stream's
/// counters and the target delay at the end.
fn run_path(seconds: u64, delay_ms: impl Fn(f64, u64) -> f64) -> strata_jitter::StreamStats {
    let mut buffer = JitterBuffer::new(Config::audio(ClockRate::OPUS)).unwrap();
    let start = Instant::now();
    let mut arrivals: Vec<(u64, u32)> = (0..seconds * 50)
        .map(|i| {
            let send_us = i * 20_000;
            let delay = delay_ms(send_us as f64 / 1e6, i) * 1000.0;
            (send_us + delay as u64, i as u32)
        })
        .collect();
    arrivals.sort_unstable();
    for (at_us, i) in arrivals {
        let now = start + Duration::from_micros(at_us);
        buffer.handle_timeout(now);
        let _ = buffer.handle_packet(now, Packet::new(Ssrc(1), i as u16, i * 960, Bytes::new()));
        while buffer.poll_output().is_some() {}
    }
    buffer.stream_stats(Ssrc(1)).unwrap()
}

#[test]
fn a_step_up_in_path_delay_restarts_the_estimate_within_three_late_packets() {
    let mut rng = Rng::new(11);
    let jitter: Vec<f64> = (0..3000).map(|_| rng.unit() * 10.0).collect();
    let stats = run_path(60, |t, i| {
        let step = if t >= 30.0 { 200.0 } else { 0.0 };
        30.0 + step + jitter[i as usize]
    });
    assert_eq!(stats.delay_steps, 1, "{stats:?}");
    // The three that reveal the step, and nothing like the tens a 40 s window would
    // lose while its quantile caught up.
    assert!(stats.late <= 5, "late after the step: {}", stats.late);
    assert!(
        ms(stats.target_delay) < 40.0,
        "headroom above the new path: {}",
        ms(stats.target_delay)
    );
}

#[test]
fn isolated_late_packets_are_jitter_not_a_step() {
    // Every 100th packet 150 ms late: a heavy tail, never three frames in a row.
    let stats = run_path(60, |_, i| if i % 100 == 50 { 180.0 } else { 30.0 });
    assert_eq!(stats.delay_steps, 0, "{stats:?}");
}
