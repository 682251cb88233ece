//! Fuzz-target bodies (feature `fuzzing`; also compiled for this crate's tests).
//!
//! [`operations`] decodes arbitrary bytes into a sequence of packets (arbitrary sequence
//! number, timestamp, marker, flags, SSRC and arrival time), timeouts, RTT changes and
//! polls, runs them through a small [`JitterBuffer`], and checks the invariants after
//! every step: no panic, no stream beyond `max_streams`, no stream holding more than
//! `max_packets_per_stream`, no more than `max_pending_outputs` outputs queued, and per
//! SSRC every media output strictly after the previous one (no duplicate delivery, order
//! kept) with non-decreasing playout times.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::{ClockRate, Config, JitterBuffer, Output, Packet, Ssrc};

/// Reads the input a byte at a time; zeros once it runs out.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&first, rest)) => {
                self.0 = rest;
                first
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Per-SSRC record of what came out, to check order and uniqueness.
#[derive(Default)]
struct Delivered {
    last_seq: Option<u64>,
    last_playout: Option<Instant>,
}

impl Delivered {
    fn check(&mut self, first: u64, last: u64, playout: Instant) {
        assert!(first <= last, "an output spans backwards");
        if let Some(previous) = self.last_seq {
            assert!(
                first > previous,
                "sequence {first} delivered after {previous}"
            );
        }
        if let Some(previous) = self.last_playout {
            assert!(playout >= previous, "playout time went backwards");
        }
        self.last_seq = Some(last);
        self.last_playout = Some(playout);
    }
}

/// Runs arbitrary operations against a jitter buffer and checks its invariants. `start` is
/// the virtual clock's origin (a fuzz harness passes `Instant::now()`; the body itself reads
/// no clock); every later time is decoded from `data`.
///
/// # Panics
///
/// When an invariant is broken — which is what the fuzzer looks for.
pub fn operations(start: Instant, data: &[u8]) {
    let mut input = Input(data);
    let mut config = if input.byte() % 2 == 0 {
        Config::video()
    } else {
        Config::audio(ClockRate::OPUS)
    };
    config.max_packets_per_stream = 1 + usize::from(input.byte() % 64);
    config.max_streams = 1 + usize::from(input.byte() % 4);
    config.max_pending_outputs = 1 + usize::from(input.byte() % 32);
    config.nack.enabled = input.byte() % 2 == 0;
    config.nack.max_list_len = 1 + usize::from(input.byte() % 50);
    let Ok(mut buffer) = JitterBuffer::new(config.clone()) else {
        return;
    };

    let mut now = start;
    let mut delivered: HashMap<Ssrc, Delivered> = HashMap::new();
    let mut seq = input.u16();
    let mut ts = input.u32();
    let mut dropped_before = 0;
    while !input.is_empty() {
        match input.byte() % 6 {
            0 | 1 => {
                let kind = input.byte();
                let ssrc = if kind & 0x80 != 0 {
                    Ssrc(input.u32())
                } else {
                    Ssrc(u32::from(kind % 3))
                };
                // Mostly small steps, sometimes anything at all.
                let step = input.byte();
                seq = if step & 0x80 != 0 {
                    input.u16()
                } else {
                    seq.wrapping_add(u16::from(step % 8)).wrapping_sub(2)
                };
                let ts_step = input.byte();
                ts = if ts_step & 0x80 != 0 {
                    input.u32()
                } else {
                    ts.wrapping_add(u32::from(ts_step) * 480)
                };
                let flags = input.byte();
                let mut packet = Packet::new(ssrc, seq, ts, Bytes::from(vec![flags; 3]))
                    .with_marker(flags & 1 != 0);
                if flags & 2 != 0 {
                    packet = packet.starting_frame();
                }
                if flags & 4 != 0 {
                    packet = packet.starting_keyframe();
                }
                if flags & 8 != 0 {
                    packet = packet.retransmitted();
                }
                now += Duration::from_micros(u64::from(input.u16()) * 10);
                let _ = buffer.handle_packet(now, packet);
            }
            2 => {
                now += Duration::from_millis(u64::from(input.byte()));
                buffer.handle_timeout(now);
            }
            3 => {
                if let Some(timeout) = buffer.poll_timeout() {
                    now = now.max(timeout);
                    buffer.handle_timeout(now);
                }
            }
            4 => buffer.set_rtt(Duration::from_millis(u64::from(input.u16()))),
            _ => {
                // A call with an earlier time than the last: must be tolerated.
                let back = Duration::from_millis(u64::from(input.byte()));
                buffer.handle_timeout(now.checked_sub(back).unwrap_or(now));
            }
        }
        check_bounds(&buffer, &config);
        let dropped = buffer.stats().outputs_dropped;
        if dropped != dropped_before {
            // A dropped event may have hidden a stream's removal and return; order is only
            // checked between outputs known to belong to one stream's life.
            delivered.clear();
            dropped_before = dropped;
        }
        let mut polled = 0;
        while let Some(output) = buffer.poll_output() {
            polled += 1;
            assert!(
                polled <= config.max_pending_outputs + config.max_packets_per_stream * 4,
                "the output queue exceeded its bound"
            );
            record(&mut delivered, &output);
        }
    }
}

fn check_bounds(buffer: &JitterBuffer, config: &Config) {
    let stats = buffer.stats();
    assert!(stats.active_streams <= config.max_streams);
    for ssrc in buffer.ssrcs() {
        let Some(stream) = buffer.stream_stats(ssrc) else {
            continue;
        };
        assert!(stream.buffered <= config.max_packets_per_stream as u64);
    }
}

fn record(delivered: &mut HashMap<Ssrc, Delivered>, output: &Output) {
    match output {
        Output::Frame(frame) => {
            assert_eq!(
                frame.payloads.len() as u64,
                frame.last_seq.value() - frame.first_seq.value() + 1,
                "a frame is missing packets"
            );
            delivered.entry(frame.ssrc).or_default().check(
                frame.first_seq.value(),
                frame.last_seq.value(),
                frame.playout_at,
            );
        }
        Output::Audio(audio) => delivered.entry(audio.ssrc).or_default().check(
            audio.seq.value(),
            audio.seq.value(),
            audio.playout_at,
        ),
        Output::Gap(gap) => delivered.entry(gap.ssrc).or_default().check(
            gap.first_seq.value(),
            gap.first_seq.value() + gap.count.max(1) - 1,
            gap.playout_at,
        ),
        Output::Event(
            crate::Event::StreamRemoved { ssrc, .. } | crate::Event::StreamStarted(ssrc),
        ) => {
            // A stream that comes back starts a new sequence axis.
            delivered.remove(ssrc);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzz_seeds_run_without_breaking_an_invariant() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz-seeds");
        let mut ran = 0;
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            operations(Instant::now(), &std::fs::read(entry.path()).unwrap());
            ran += 1;
        }
        assert!(ran > 0);
    }

    #[test]
    fn random_operation_sequences_break_no_invariant() {
        // A seeded xorshift stream of inputs of varied length.
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        for round in 0..300 {
            let len = 16 + (round * 37) % 2000;
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            operations(Instant::now(), &data);
        }
    }
}
