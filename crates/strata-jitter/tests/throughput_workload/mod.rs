//! The two push + pop workloads of the `jitter_throughput` benchmark, and a digest of what
//! the buffer gives for them, shared by the benchmark and the test that pins the outputs
//! (speed work must not change behaviour).

#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use strata_jitter::{Config, JitterBuffer, Output, Packet, Ssrc};

/// Packets per workload.
pub const PACKETS: usize = 100_000;

/// One packet of a workload: sequence number, timestamp, marker, frame start, arrival.
#[derive(Debug, Clone, Copy)]
pub struct Arrival {
    pub seq: u16,
    pub ts: u32,
    pub marker: bool,
    pub frame_start: bool,
    pub at_us: u64,
}

/// Audio: one packet every 20 ms, 960 ticks at 48 kHz.
pub fn audio_workload() -> Vec<Arrival> {
    (0..PACKETS)
        .map(|i| Arrival {
            seq: 40_000u16.wrapping_add(i as u16),
            ts: (i as u32).wrapping_mul(960),
            marker: false,
            frame_start: true,
            at_us: i as u64 * 20_000,
        })
        .collect()
}

/// Video: 30 frames/s of 5 packets 1 ms apart, with every 7th pair of neighbours swapped.
pub fn video_workload() -> Vec<Arrival> {
    let mut packets: Vec<Arrival> = (0..PACKETS)
        .map(|i| {
            let frame = i / 5;
            let part = i % 5;
            Arrival {
                seq: 40_000u16.wrapping_add(i as u16),
                ts: (frame as u32).wrapping_mul(3000),
                marker: part == 4,
                frame_start: part == 0,
                at_us: frame as u64 * 33_333 + part as u64 * 1000,
            }
        })
        .collect();
    for i in (0..PACKETS - 1).step_by(7) {
        let (a, b) = (packets[i].at_us, packets[i + 1].at_us);
        packets.swap(i, i + 1);
        packets[i].at_us = a;
        packets[i + 1].at_us = b;
    }
    packets
}

/// The workload as our buffer's input: arrival instants from `start`, 160-byte payloads,
/// every frame start flagged as a keyframe start.
pub fn strata_packets(workload: &[Arrival], start: Instant) -> Vec<(Instant, Packet)> {
    static PAYLOAD: [u8; 160] = [0x5A; 160];
    workload
        .iter()
        .map(|a| {
            let mut packet = Packet::new(Ssrc(1), a.seq, a.ts, Bytes::from_static(&PAYLOAD))
                .with_marker(a.marker);
            if a.frame_start {
                packet = packet.starting_keyframe();
            }
            (start + Duration::from_micros(a.at_us), packet)
        })
        .collect()
}

/// FNV-1a over 64-bit words: stable across Rust versions, unlike `DefaultHasher`.
#[derive(Debug, Clone, Copy)]
pub struct Digest(u64);

impl Default for Digest {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Digest {
    pub fn word(&mut self, value: u64) {
        for byte in value.to_le_bytes() {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    pub fn value(self) -> u64 {
        self.0
    }

    /// Every field of `output` that a user sees, with times as microseconds after `start`.
    pub fn output(&mut self, output: &Output, start: Instant) {
        let micros = |at: Instant| at.duration_since(start).as_micros() as u64;
        match output {
            Output::Frame(frame) => {
                self.word(1);
                self.word(u64::from(frame.ssrc.0));
                self.word(frame.timestamp.value());
                self.word(frame.first_seq.value());
                self.word(frame.last_seq.value());
                self.word(u64::from(frame.keyframe));
                self.word(frame.payloads.len() as u64);
                for payload in &frame.payloads {
                    self.word(payload.len() as u64);
                }
                self.word(micros(frame.playout_at));
                self.word(u64::from(frame.late));
            }
            Output::Audio(audio) => {
                self.word(2);
                self.word(u64::from(audio.ssrc.0));
                self.word(audio.seq.value());
                self.word(audio.timestamp.value());
                self.word(u64::from(audio.marker));
                self.word(audio.payload.len() as u64);
                self.word(micros(audio.playout_at));
            }
            Output::Gap(gap) => {
                self.word(3);
                self.word(u64::from(gap.ssrc.0));
                self.word(gap.first_seq.value());
                self.word(gap.count);
                self.word(gap.timestamp.value());
                self.word(micros(gap.playout_at));
            }
            Output::Nack(nack) => {
                self.word(4);
                self.word(u64::from(nack.ssrc.0));
                for seq in &nack.seqs {
                    self.word(seq.value());
                }
            }
            Output::KeyframeRequest(ssrc) => {
                self.word(5);
                self.word(u64::from(ssrc.0));
            }
            Output::Event(event) => {
                self.word(6);
                for byte in format!("{event:?}").bytes() {
                    self.word(u64::from(byte));
                }
            }
            other => {
                self.word(7);
                for byte in format!("{other:?}").bytes() {
                    self.word(u64::from(byte));
                }
            }
        }
    }
}

/// What one pass of a workload gives: outputs, media outputs, and their digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub outputs: usize,
    pub media: usize,
    pub digest: u64,
}

/// Pushes the workload through a buffer with `config`, draining after every push, and
/// digests everything that comes out, the packet outcomes and the final stats.
pub fn summarize(config: &Config, workload: &[Arrival]) -> Summary {
    let start = Instant::now();
    let mut buffer = JitterBuffer::new(config.clone()).expect("valid config");
    let mut digest = Digest::default();
    let mut outputs = 0;
    let mut media = 0;
    for (now, packet) in strata_packets(workload, start) {
        let outcome = buffer.handle_packet(now, packet);
        for byte in format!("{outcome:?}").bytes() {
            digest.word(u64::from(byte));
        }
        while let Some(output) = buffer.poll_output() {
            outputs += 1;
            if matches!(output, Output::Frame(_) | Output::Audio(_) | Output::Gap(_)) {
                media += 1;
            }
            digest.output(&output, start);
        }
        if let Some(at) = buffer.poll_timeout() {
            digest.word(at.duration_since(start).as_micros() as u64);
        }
    }
    for byte in format!("{:?}", buffer.stats()).bytes() {
        digest.word(u64::from(byte));
    }
    Summary {
        outputs,
        media,
        digest: digest.value(),
    }
}
