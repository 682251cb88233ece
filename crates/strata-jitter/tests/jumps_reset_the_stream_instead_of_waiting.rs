//! A sequence-number jump (confirmed by a second packet) or a timestamp jump resets the
//! stream cleanly: no flood of NACKs, no waiting for thousands of missing packets, and
//! playout continues promptly from the new packets.

use std::time::{Duration, Instant};

use bytes::Bytes;
use strata_jitter::{
    ClockRate, Config, Event, JitterBuffer, Output, Packet, PacketOutcome, ResetReason, Ssrc,
};

struct Audio {
    buffer: JitterBuffer,
    start: Instant,
    played: Vec<(u16, Duration)>,
    resets: Vec<ResetReason>,
    nacked: usize,
}

impl Audio {
    fn new() -> Self {
        let mut config = Config::audio(ClockRate::OPUS);
        config.nack.enabled = true;
        Self {
            buffer: JitterBuffer::new(config).unwrap(),
            start: Instant::now(),
            played: Vec::new(),
            resets: Vec::new(),
            nacked: 0,
        }
    }

    fn send(&mut self, at_ms: u64, seq: u16, ts: u32) -> PacketOutcome {
        let now = self.start + Duration::from_millis(at_ms);
        self.run_until(now);
        let outcome = self
            .buffer
            .handle_packet(now, Packet::new(Ssrc(3), seq, ts, Bytes::new()));
        self.drain(now);
        outcome
    }

    fn run_until(&mut self, until: Instant) {
        while let Some(at) = self.buffer.poll_timeout().filter(|&t| t <= until) {
            self.buffer.handle_timeout(at);
            self.drain(at);
        }
    }

    fn drain(&mut self, now: Instant) {
        while let Some(output) = self.buffer.poll_output() {
            match output {
                Output::Audio(audio) => self
                    .played
                    .push((audio.seq.wire(), now.duration_since(self.start))),
                Output::Nack(nack) => self.nacked += nack.seqs.len(),
                Output::Event(Event::StreamReset { reason, .. }) => self.resets.push(reason),
                _ => {}
            }
        }
    }
}

#[test]
fn a_confirmed_sequence_jump_resets_the_stream_and_playout_continues() {
    let mut audio = Audio::new();
    for i in 0..50u16 {
        audio.send(u64::from(i) * 20, 100 + i, u32::from(i) * 960);
    }
    // The sender restarts its sequence 30 000 further on.
    assert_eq!(
        audio.send(1000, 30_150, 50 * 960),
        PacketOutcome::HeldAfterJump
    );
    assert_eq!(audio.send(1020, 30_151, 51 * 960), PacketOutcome::Buffered);
    for i in 52..100u16 {
        audio.send(u64::from(i) * 20, 30_100 + i, u32::from(i) * 960);
    }
    audio.run_until(audio.start + Duration::from_secs(3));
    assert_eq!(audio.resets, [ResetReason::SequenceJump]);
    assert_eq!(
        audio.nacked, 0,
        "the jump must not be taken for 30 000 losses"
    );
    let after: Vec<u16> = audio
        .played
        .iter()
        .map(|&(s, _)| s)
        .filter(|&s| s >= 30_000)
        .collect();
    assert_eq!(after, (30_150..30_200).collect::<Vec<_>>());
    let last = audio.played.last().unwrap().1;
    assert!(last < Duration::from_millis(2200), "played out at {last:?}");
}

#[test]
fn a_single_stray_packet_far_from_the_sequence_is_held_and_forgotten() {
    let mut audio = Audio::new();
    for i in 0..20u16 {
        audio.send(u64::from(i) * 20, i, u32::from(i) * 960);
    }
    assert_eq!(audio.send(400, 40_000, 0), PacketOutcome::HeldAfterJump);
    for i in 20..40u16 {
        audio.send(u64::from(i) * 20, i, u32::from(i) * 960);
    }
    audio.run_until(audio.start + Duration::from_secs(2));
    assert!(audio.resets.is_empty());
    assert_eq!(audio.played.len(), 40);
}

#[test]
fn a_timestamp_jump_resets_the_stream_instead_of_stalling_playout() {
    let mut audio = Audio::new();
    for i in 0..50u16 {
        audio.send(u64::from(i) * 20, i, u32::from(i) * 960);
    }
    // Same sequence, but the media clock leaps an hour ahead (a restarted encoder).
    let leap = 3600 * 48_000u32;
    for i in 50..100u16 {
        audio.send(u64::from(i) * 20, i, leap + u32::from(i) * 960);
    }
    audio.run_until(audio.start + Duration::from_secs(3));
    assert_eq!(audio.resets, [ResetReason::TimestampJump]);
    // The packets after the leap play within a second instead of an hour later.
    assert!(audio.played.iter().any(|&(s, _)| s == 99));
    assert!(audio.played.last().unwrap().1 < Duration::from_secs(3));
}

#[test]
fn timestamps_wrapping_past_32_bits_play_without_a_reset() {
    let mut audio = Audio::new();
    let first = u32::MAX - 20 * 960;
    for i in 0..60u16 {
        audio.send(
            u64::from(i) * 20,
            65_500u16.wrapping_add(i),
            first.wrapping_add(u32::from(i) * 960),
        );
    }
    audio.run_until(audio.start + Duration::from_secs(3));
    assert!(audio.resets.is_empty());
    assert_eq!(audio.played.len(), 60);
    assert!(audio.played.windows(2).all(|w| w[1].1 >= w[0].1));
}
