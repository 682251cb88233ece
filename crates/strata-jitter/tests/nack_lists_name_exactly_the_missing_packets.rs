//! NACKs on a seeded lossy path without reordering name exactly the lost packets, are not
//! repeated before an RTT, stop after the retry limit, and retransmissions recover them.

mod network_model;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use network_model::{LossModel, Media, Scenario, drive, generate};
use strata_jitter::{Config, DelayMode, JitterBuffer, Output, Packet, PacketOutcome, Ssrc};

fn video_config() -> Config {
    let mut config = Config::video();
    config.delay = DelayMode::Fixed(Duration::from_millis(300));
    config
}

#[test]
fn nacks_name_exactly_the_lost_packets_on_a_path_without_reordering() {
    for seed in 1..=3 {
        let mut scenario = Scenario::new("nack", Media::Video, seed);
        scenario.duration_s = 10.0;
        scenario.loss = LossModel::Random(0.03);
        let trace = generate(&scenario);
        let mut buffer = JitterBuffer::new(video_config()).unwrap();
        buffer.set_rtt(Duration::from_millis(60));
        let result = drive(&mut buffer, &trace, false);

        let last_arrived = trace
            .packets
            .iter()
            .rposition(|p| p.arrival_us.is_some())
            .unwrap();
        let lost: BTreeSet<usize> = trace.packets[..last_arrived]
            .iter()
            .enumerate()
            .filter(|(_, p)| p.arrival_us.is_none())
            .map(|(i, _)| i)
            .collect();
        let nacked: BTreeSet<usize> = result.nacked.keys().copied().collect();
        assert!(!lost.is_empty());
        assert_eq!(nacked, lost, "seed {seed}");
        let retries = Config::video().nack.max_retries;
        assert!(
            result
                .nacked
                .values()
                .all(|&n| n >= 1 && n <= u32::from(retries))
        );
    }
}

#[test]
fn retransmissions_answering_nacks_recover_lost_packets_in_time() {
    let mut scenario = Scenario::new("nack-recovery", Media::Video, 4);
    scenario.duration_s = 10.0;
    scenario.loss = LossModel::Random(0.05);
    let trace = generate(&scenario);
    let mut buffer = JitterBuffer::new(video_config()).unwrap();
    buffer.set_rtt(Duration::from_millis(60));
    let result = drive(&mut buffer, &trace, true);

    let lost = trace
        .packets
        .iter()
        .filter(|p| p.arrival_us.is_none())
        .count();
    let stats = result.stats.streams;
    // A retransmission crosses the same 5 % lossy path twice; with ten tries and a
    // 300 ms budget nearly everything comes back.
    assert!(
        stats.recovered as f64 >= 0.95 * lost as f64,
        "recovered {} of {lost}",
        stats.recovered
    );
    assert!(result.frames_completed as f64 >= 0.95 * trace.frames as f64);
    assert_eq!(result.duplicates_delivered, 0);
}

#[test]
fn a_missing_packet_is_not_requested_again_before_an_rtt_and_not_after_the_retry_limit() {
    let mut config = video_config();
    config.nack.max_retries = 3;
    config.nack.reorder_wait = Duration::ZERO;
    config.max_lateness = Duration::from_secs(5);
    config.delay = DelayMode::Fixed(Duration::from_secs(5));
    let mut buffer = JitterBuffer::new(config).unwrap();
    buffer.set_rtt(Duration::from_millis(100));
    let start = Instant::now();
    let ssrc = Ssrc(1);
    let packet = |seq: u16| {
        Packet::new(ssrc, seq, u32::from(seq) * 3000, Bytes::new())
            .starting_keyframe()
            .with_marker(true)
    };
    let _ = buffer.handle_packet(start, packet(10));
    let _ = buffer.handle_packet(start, packet(12));
    assert_eq!(buffer.stats().streams.awaiting_retransmission, 1);
    let mut sent_at = Vec::new();
    let mut now = start;
    while now < start + Duration::from_secs(2) {
        while let Some(output) = buffer.poll_output() {
            if let Output::Nack(nack) = output {
                assert_eq!(nack.seqs.iter().map(|s| s.wire()).collect::<Vec<_>>(), [11]);
                sent_at.push(now.duration_since(start));
            }
        }
        now += Duration::from_millis(10);
        buffer.handle_timeout(now);
    }
    assert_eq!(sent_at.len(), 3, "{sent_at:?}");
    assert!(
        sent_at
            .windows(2)
            .all(|w| w[1].saturating_sub(w[0]) >= Duration::from_millis(100))
    );
    assert_eq!(buffer.stats().streams.nack_gave_up, 1);
    // The retransmission arrives after all: it is still used, and counted as recovered.
    assert_eq!(
        buffer.handle_packet(now, packet(11).retransmitted()),
        PacketOutcome::Recovered
    );
    assert_eq!(buffer.stats().streams.awaiting_retransmission, 0);
}

#[test]
fn no_nack_is_sent_when_a_retransmission_could_not_arrive_in_time() {
    let mut config = Config::video();
    config.delay = DelayMode::Fixed(Duration::from_millis(50));
    config.max_lateness = Duration::ZERO;
    let mut buffer = JitterBuffer::new(config).unwrap();
    buffer.set_rtt(Duration::from_millis(500));
    let start = Instant::now();
    let ssrc = Ssrc(1);
    for seq in [1u16, 3] {
        let packet = Packet::new(ssrc, seq, u32::from(seq) * 3000, Bytes::new())
            .starting_keyframe()
            .with_marker(true);
        let _ = buffer.handle_packet(start, packet);
    }
    let mut now = start;
    while now < start + Duration::from_secs(1) {
        while let Some(output) = buffer.poll_output() {
            assert!(
                !matches!(output, Output::Nack(_)),
                "NACKed a hopeless packet"
            );
        }
        now += Duration::from_millis(5);
        buffer.handle_timeout(now);
    }
    assert_eq!(buffer.stats().streams.nack_gave_up, 1);
}
