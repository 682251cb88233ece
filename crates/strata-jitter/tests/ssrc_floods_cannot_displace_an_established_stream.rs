//! A flood of packets from random SSRCs (and random sequence numbers and timestamps) keeps
//! memory bounded and cannot push out a stream that has proven itself.

use std::time::{Duration, Instant};

use bytes::Bytes;
use strata_jitter::{ClockRate, Config, JitterBuffer, Output, Packet, PacketOutcome, Ssrc};

#[test]
fn random_ssrcs_are_bounded_and_the_established_stream_keeps_playing() {
    let mut config = Config::audio(ClockRate::OPUS);
    config.max_streams = 4;
    let mut buffer = JitterBuffer::new(config).unwrap();
    let start = Instant::now();
    let legit = Ssrc(0xAAAA);
    let mut state = 0x1234_5678_u64;
    let mut random = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut played = 0;
    for i in 0..500u32 {
        let now = start + Duration::from_millis(u64::from(i) * 20);
        let packet = Packet::new(legit, i as u16, i * 960, Bytes::new());
        assert_ne!(
            buffer.handle_packet(now, packet),
            PacketOutcome::TooManyStreams
        );
        for _ in 0..50 {
            let r = random();
            let spoofed = Packet::new(
                Ssrc(r as u32 | 1),
                (r >> 32) as u16,
                (r >> 16) as u32,
                Bytes::from_static(&[0; 1200]),
            );
            let _ = buffer.handle_packet(now, spoofed);
        }
        while let Some(output) = buffer.poll_output() {
            if let Output::Audio(audio) = output
                && audio.ssrc == legit
            {
                played += 1;
            }
        }
        assert!(buffer.stats().active_streams <= 4);
    }
    let stats = buffer.stats();
    assert!(buffer.ssrcs().any(|s| s == legit));
    assert!(played >= 490, "played {played}");
    assert!(stats.probation_dropped > 20_000, "{stats:?}");
}

#[test]
fn new_ssrcs_are_rejected_when_every_slot_holds_an_established_stream() {
    let mut config = Config::audio(ClockRate::OPUS);
    config.max_streams = 2;
    let mut buffer = JitterBuffer::new(config).unwrap();
    let now = Instant::now();
    for ssrc in [1, 2] {
        for seq in 0..2 {
            let _ = buffer.handle_packet(now, Packet::new(Ssrc(ssrc), seq, 0, Bytes::new()));
        }
    }
    let outcome = buffer.handle_packet(now, Packet::new(Ssrc(3), 0, 0, Bytes::new()));
    assert_eq!(outcome, PacketOutcome::Probation);
    let outcome = buffer.handle_packet(now, Packet::new(Ssrc(3), 1, 0, Bytes::new()));
    assert_eq!(outcome, PacketOutcome::TooManyStreams);
    assert_eq!(buffer.stats().streams_rejected, 1);
}

#[test]
fn a_new_stream_confirmed_during_a_flood_takes_the_slot_of_an_unconfirmed_one() {
    let mut config = Config::audio(ClockRate::OPUS);
    config.max_streams = 2;
    let mut buffer = JitterBuffer::new(config).unwrap();
    let now = Instant::now();
    for ssrc in [1, 2] {
        let _ = buffer.handle_packet(now, Packet::new(Ssrc(ssrc), 0, 0, Bytes::new()));
    }
    for seq in [50, 51] {
        let _ = buffer.handle_packet(now, Packet::new(Ssrc(1), seq, 0, Bytes::new()));
    }
    let first = buffer.handle_packet(now, Packet::new(Ssrc(7), 10, 0, Bytes::new()));
    let second = buffer.handle_packet(now, Packet::new(Ssrc(7), 11, 960, Bytes::new()));
    assert_eq!(
        (first, second),
        (PacketOutcome::Probation, PacketOutcome::Buffered)
    );
    let mut ssrcs: Vec<u32> = buffer.ssrcs().map(|s| s.0).collect();
    ssrcs.sort_unstable();
    assert_eq!(ssrcs, [1, 7]);
    assert_eq!(buffer.stats().streams_evicted, 1);
    // The newcomer's first packet was kept, not lost to probation.
    assert_eq!(buffer.stream_stats(Ssrc(7)).unwrap().buffered, 2);
}

#[test]
fn packets_far_ahead_never_grow_a_stream_beyond_its_bound() {
    let mut config = Config::video();
    config.max_packets_per_stream = 64;
    let mut buffer = JitterBuffer::new(config).unwrap();
    let now = Instant::now();
    // Every packet 1000 ahead of the last, under the jump threshold: each pushes the
    // window forward instead of growing it.
    for i in 0..2000u32 {
        let seq = (i * 1000) as u16;
        let _ = buffer.handle_packet(now, Packet::new(Ssrc(5), seq, i, Bytes::new()));
        let stats = buffer.stream_stats(Ssrc(5)).unwrap();
        assert!(stats.buffered <= 64);
        while buffer.poll_output().is_some() {}
    }
    let stats = buffer.stream_stats(Ssrc(5)).unwrap();
    assert!(stats.overflow_discarded > 1000, "{stats:?}");
}

#[test]
fn an_undrained_output_queue_stays_within_its_bound() {
    let mut config = Config::audio(ClockRate::OPUS);
    config.max_pending_outputs = 8;
    config.delay = strata_jitter::DelayMode::Fixed(Duration::ZERO);
    let mut buffer = JitterBuffer::new(config).unwrap();
    let start = Instant::now();
    for i in 0..100u32 {
        let now = start + Duration::from_millis(u64::from(i) * 20);
        let _ = buffer.handle_packet(now, Packet::new(Ssrc(1), i as u16, i * 960, Bytes::new()));
        buffer.handle_timeout(now);
    }
    let mut count = 0;
    let mut last = None;
    while let Some(output) = buffer.poll_output() {
        if let Output::Audio(audio) = output {
            assert!(last.is_none_or(|l| audio.seq > l));
            last = Some(audio.seq);
        }
        count += 1;
        assert!(count <= 200);
    }
    // Media waits in the stream rather than being lost; draining releases all of it.
    assert_eq!(buffer.stats().streams.audio_released, 100);
}

#[test]
fn audio_pushed_out_by_the_bound_is_reported_as_a_gap() {
    let mut config = Config::audio(ClockRate::OPUS);
    config.max_packets_per_stream = 16;
    let mut buffer = JitterBuffer::new(config).unwrap();
    let now = Instant::now();
    let _ = buffer.handle_packet(now, Packet::new(Ssrc(2), 100, 0, Bytes::new()));
    // 40 ahead, within the jump threshold but beyond the 16-packet window.
    let _ = buffer.handle_packet(now, Packet::new(Ssrc(2), 140, 40 * 960, Bytes::new()));
    let mut gaps = Vec::new();
    while let Some(output) = buffer.poll_output() {
        if let Output::Gap(gap) = output {
            gaps.push((gap.first_seq.wire(), gap.count));
        }
    }
    assert_eq!(gaps, [(100, 25)]);
    let stats = buffer.stream_stats(Ssrc(2)).unwrap();
    assert_eq!(
        (stats.overflow_discarded, stats.concealed, stats.buffered),
        (1, 25, 1)
    );
}
