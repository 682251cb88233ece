//! Property tests: whatever the arrival order, duplication, burst loss and starting point
//! on the 16-bit sequence circle, every distinct packet that arrives in time comes out
//! exactly once and in sequence order, and the counters add up.

use std::time::{Duration, Instant};

use bytes::Bytes;
use proptest::prelude::*;
use strata_jitter::{ClockRate, Config, DelayMode, JitterBuffer, Output, Packet, Ssrc};

/// Arrival plan: packet `i` (20 ms of audio each) arrives at `i * 20 ms + jitter[i]`,
/// possibly twice, unless it falls in a lost burst.
#[derive(Debug, Clone)]
struct Plan {
    first_seq: u16,
    first_ts: u32,
    jitter_ms: Vec<u64>,
    duplicate: Vec<bool>,
    burst: Option<(usize, usize)>,
}

fn plan() -> impl Strategy<Value = Plan> {
    (1usize..300).prop_flat_map(|n| {
        (
            any::<u16>(),
            any::<u32>(),
            proptest::collection::vec(0u64..150, n),
            proptest::collection::vec(proptest::bool::weighted(0.2), n),
            proptest::option::of((0..n, 1usize..20)),
        )
            .prop_map(|(first_seq, first_ts, jitter_ms, duplicate, burst)| Plan {
                first_seq,
                first_ts,
                jitter_ms,
                duplicate,
                burst,
            })
    })
}

struct Outcome {
    played: Vec<u64>,
    wire: Vec<u16>,
    expected: Vec<u16>,
    duplicates_sent: u64,
    stats: strata_jitter::StreamStats,
}

fn run(plan: &Plan) -> Outcome {
    let mut config = Config::audio(ClockRate::OPUS);
    // Longer than any jitter in the plan: nothing may be late.
    config.delay = DelayMode::Fixed(Duration::from_millis(400));
    config.max_packets_per_stream = 512;
    let mut buffer = JitterBuffer::new(config).unwrap();
    let start = Instant::now();
    let lost = |i: usize| plan.burst.is_some_and(|(at, len)| i >= at && i < at + len);
    let mut arrivals: Vec<(u64, usize)> = Vec::new();
    let mut duplicates_sent = 0;
    for (i, &jitter) in plan.jitter_ms.iter().enumerate() {
        if lost(i) {
            continue;
        }
        arrivals.push((i as u64 * 20 + jitter, i));
        if plan.duplicate[i] {
            arrivals.push((i as u64 * 20 + jitter + 7, i));
            duplicates_sent += 1;
        }
    }
    arrivals.sort_unstable();
    let mut played = Vec::new();
    let mut wire = Vec::new();
    let mut drain = |buffer: &mut JitterBuffer| {
        while let Some(output) = buffer.poll_output() {
            if let Output::Audio(audio) = output {
                played.push(audio.seq.value());
                wire.push(audio.seq.wire());
            }
        }
    };
    for &(at, i) in &arrivals {
        let now = start + Duration::from_millis(at);
        while let Some(due) = buffer.poll_timeout().filter(|&t| t <= now) {
            buffer.handle_timeout(due);
            drain(&mut buffer);
        }
        let seq = plan.first_seq.wrapping_add(i as u16);
        let ts = plan.first_ts.wrapping_add(i as u32 * 960);
        let _ = buffer.handle_packet(now, Packet::new(Ssrc(9), seq, ts, Bytes::new()));
        drain(&mut buffer);
    }
    // Long enough for the 400 ms delay, short of the 30 s stream timeout: a stream whose
    // only packet came first would otherwise be removed, its counters with it.
    let last_arrival = arrivals.last().map_or(0, |&(at, _)| at);
    let end = start + Duration::from_millis(last_arrival + 1000);
    while let Some(due) = buffer.poll_timeout().filter(|&t| t <= end) {
        buffer.handle_timeout(due);
        drain(&mut buffer);
    }
    let expected = (0..plan.jitter_ms.len())
        .filter(|&i| !lost(i))
        .map(|i| plan.first_seq.wrapping_add(i as u16))
        .collect();
    Outcome {
        played,
        wire,
        expected,
        duplicates_sent,
        stats: buffer.stream_stats(Ssrc(9)).unwrap_or_default(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_packet_comes_out_once_in_order_whatever_the_arrival_order(plan in plan()) {
        let outcome = run(&plan);
        prop_assert!(outcome.played.windows(2).all(|w| w[0] < w[1]), "out of order");
        // The first packet to arrive may not be the first sent; anything sent before
        // the first arrival by more than the buffer's patience would be late, but the
        // 400 ms delay covers the 150 ms of jitter, so everything comes out.
        prop_assert_eq!(&outcome.wire, &outcome.expected);
        prop_assert_eq!(outcome.stats.late, 0);
        prop_assert_eq!(outcome.stats.duplicates, outcome.duplicates_sent);
        prop_assert_eq!(outcome.stats.audio_released, outcome.expected.len() as u64);
        let burst = plan.burst.map_or(0, |(at, len)| {
            (at + len).min(plan.jitter_ms.len()) - at
        });
        // A burst at the very start or end is not a hole between received packets.
        prop_assert!(outcome.stats.concealed <= burst as u64);
    }
}
