//! NACKs on a seeded lossy path without reordering name exactly the lost packets, are not
//! repeated before an RTT, stop after the retry limit, and retransmissions recover them.

mod network_model;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use network_model::{LossModel, Media, Scenario, drive, generate};
use strata_jitter::{
    Config, DelayMode, JitterBuffer, Output, Packet, PacketOutcome, Ssrc, StreamStats,
};

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

/// Every output `buffer` gives while its clock runs from `from` to `to` in 5 ms steps.
fn outputs_until(buffer: &mut JitterBuffer, from: Instant, to: Instant) -> Vec<Output> {
    let mut outputs = Vec::new();
    let mut now = from;
    while now <= to {
        buffer.handle_timeout(now);
        outputs.extend(std::iter::from_fn(|| buffer.poll_output()));
        now += Duration::from_millis(5);
    }
    outputs
}

/// The sequence numbers asked for in those outputs, as on the wire.
fn nacks_until(buffer: &mut JitterBuffer, from: Instant, to: Instant) -> Vec<u16> {
    outputs_until(buffer, from, to)
        .into_iter()
        .filter_map(|output| match output {
            Output::Nack(nack) => Some(nack.seqs),
            _ => None,
        })
        .flatten()
        .map(strata_jitter::ExtendedSeq::wire)
        .collect()
}

#[test]
fn packets_missing_below_the_first_one_received_are_requested() {
    let mut buffer = JitterBuffer::new(video_config()).unwrap();
    let start = Instant::now();
    let ssrc = Ssrc(1);
    // A keyframe of packets 100..=105: 103 comes first, then 100; 101 and 102 are lost.
    let packet = |seq: u16| Packet::new(ssrc, seq, 9000, Bytes::new());
    let _ = buffer.handle_packet(start, packet(103));
    let _ = buffer.handle_packet(start, packet(100).starting_keyframe());
    for seq in 104..=105 {
        let _ = buffer.handle_packet(start, packet(seq).with_marker(seq == 105));
    }
    let nacked = nacks_until(&mut buffer, start, start + Duration::from_millis(50));
    assert_eq!(nacked, [101, 102]);
    for seq in [101, 102] {
        let _ = buffer.handle_packet(start, packet(seq).retransmitted());
    }
    let stats = buffer.stats().streams;
    assert_eq!(stats.recovered, 2);
    assert_eq!(stats.awaiting_retransmission, 0);
}

#[test]
fn a_stream_that_starts_inside_a_frame_asks_back_to_the_frame_start() {
    let mut buffer = JitterBuffer::new(video_config()).unwrap();
    let start = Instant::now();
    let ssrc = Ssrc(1);
    // The keyframe is 50..=53; the first two are lost, 49 belongs to no frame here.
    let packet = |seq: u16| Packet::new(ssrc, seq, 3000, Bytes::new());
    let _ = buffer.handle_packet(start, packet(52));
    let _ = buffer.handle_packet(start, packet(53).with_marker(true));
    let t1 = start + Duration::from_millis(50);
    assert_eq!(nacks_until(&mut buffer, start, t1), [51]);
    // The answer is inside the frame too: ask for the one before it.
    let _ = buffer.handle_packet(t1, packet(51).retransmitted());
    let t2 = t1 + Duration::from_millis(50);
    assert_eq!(nacks_until(&mut buffer, t1, t2), [50]);
    // The frame start ends the walk, and the keyframe is complete.
    let _ = buffer.handle_packet(t2, packet(50).retransmitted().starting_keyframe());
    let mut frames = 0;
    for output in outputs_until(&mut buffer, t2, t2 + Duration::from_millis(400)) {
        match output {
            Output::Nack(nack) => panic!("asked for {:?} past the frame start", nack.seqs),
            Output::Frame(frame) => {
                assert!(frame.keyframe);
                frames += 1;
            }
            _ => {}
        }
    }
    assert_eq!(frames, 1);
}

#[test]
fn a_walk_back_stops_at_a_packet_of_another_frame() {
    let mut buffer = JitterBuffer::new(video_config()).unwrap();
    let start = Instant::now();
    let ssrc = Ssrc(1);
    let _ = buffer.handle_packet(start, Packet::new(ssrc, 20, 6000, Bytes::new()));
    let t1 = start + Duration::from_millis(50);
    assert_eq!(nacks_until(&mut buffer, start, t1), [19]);
    // 19 has an earlier timestamp: 20 started its frame after all.
    let earlier = Packet::new(ssrc, 19, 3000, Bytes::new()).with_marker(true);
    let _ = buffer.handle_packet(t1, earlier.retransmitted());
    assert!(nacks_until(&mut buffer, t1, t1 + Duration::from_millis(200)).is_empty());
}

/// A video stream of one-packet frames at 30 fps over a steady 30 ms path and RTT
/// 100 ms, with packet `lost` missing, its retransmission arriving with the next one and,
/// with `original_turns_up`, the original one frame later: the target delay just before
/// the loss and four frames (more than an RTT) after the recovery, and the stream's
/// counters. Late enough for the delay to have settled from its initial value.
fn delay_around_a_loss(
    repair_rounds: u8,
    original_turns_up: bool,
) -> (Duration, Duration, StreamStats) {
    const LOST: u16 = 400;
    let mut config = Config::video();
    config.nack.repair_rounds = repair_rounds;
    let mut buffer = JitterBuffer::new(config).unwrap();
    buffer.set_rtt(Duration::from_millis(100));
    let start = Instant::now();
    let ssrc = Ssrc(1);
    let packet = |seq: u16| {
        let packet = Packet::new(ssrc, seq, u32::from(seq) * 3000, Bytes::new())
            .with_marker(true)
            .starting_frame();
        if seq == 0 {
            packet.starting_keyframe()
        } else {
            packet
        }
    };
    let mut before = Duration::ZERO;
    for seq in 0..=LOST + 5 {
        let now = start + Duration::from_micros(u64::from(seq) * 33_333 + 30_000);
        buffer.handle_timeout(now);
        while buffer.poll_output().is_some() {}
        if seq == LOST {
            before = buffer.stream_stats(ssrc).unwrap().target_delay;
            continue;
        }
        let _ = buffer.handle_packet(now, packet(seq));
        if seq == LOST + 1 {
            // Before it was asked for: no answer time is learnt, the RTT stands for it.
            let resent = packet(LOST).retransmitted();
            assert_eq!(buffer.handle_packet(now, resent), PacketOutcome::Recovered);
        }
        if seq == LOST + 2 && original_turns_up {
            assert_eq!(
                buffer.handle_packet(now, packet(LOST)),
                PacketOutcome::Duplicate
            );
        }
    }
    let stats = buffer.stream_stats(ssrc).unwrap();
    (before, stats.target_delay, stats)
}

#[test]
fn the_delay_makes_room_for_the_repair_rounds_once_retransmissions_fill_holes() {
    // The reorder wait (5 ms), a retry timeout per extra round and an answer time (both
    // the RTT until answers have been timed).
    for (rounds, room_ms) in [(0, 0), (1, 105), (2, 205), (3, 305)] {
        let (before, after, stats) = delay_around_a_loss(rounds, false);
        assert_eq!((stats.recovered, stats.recoveries_unneeded), (1, 0));
        let grown = after.saturating_sub(before);
        assert!(
            grown.abs_diff(Duration::from_millis(room_ms)) <= Duration::from_millis(5),
            "{rounds} rounds: {before:?} -> {after:?}"
        );
    }
}

#[test]
fn a_retransmission_that_only_beat_a_reordered_original_makes_no_room() {
    let (before, after, stats) = delay_around_a_loss(2, true);
    // Counted as recovered when it came, and as unneeded once the original followed.
    assert_eq!((stats.recovered, stats.recoveries_unneeded), (1, 1));
    assert!(
        after.abs_diff(before) <= Duration::from_millis(5),
        "{before:?} -> {after:?}"
    );
}
