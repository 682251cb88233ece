//! Packets per second through push + pop, against webrtc-rs's `SampleBuilder` (the
//! reorder-and-assemble stage of webrtc-rs, from `webrtc-media`) when the `compare`
//! feature is on (`cargo xtask bench` turns it on).
//!
//! Each iteration pushes 100 000 packets in arrival order (with virtual arrival times) and
//! pops everything that becomes ready. Our buffer also estimates jitter, tracks losses and
//! schedules playout on every packet; `SampleBuilder` only reorders and assembles.
//!
//! Run: `cargo bench -p strata-jitter --features compare --bench jitter_throughput`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use strata_jitter::{ClockRate, Config, JitterBuffer, Packet, Ssrc};

const PACKETS: usize = 100_000;

/// One packet of the workload: sequence number, timestamp, marker, frame start, arrival.
#[derive(Clone, Copy)]
struct Arrival {
    seq: u16,
    ts: u32,
    marker: bool,
    frame_start: bool,
    at_us: u64,
}

/// Audio: one packet every 20 ms, 960 ticks at 48 kHz.
fn audio_workload() -> Vec<Arrival> {
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
fn video_workload() -> Vec<Arrival> {
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

fn strata_packets(workload: &[Arrival], start: Instant) -> Vec<(Instant, Packet)> {
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

fn run_strata(config: &Config, packets: Vec<(Instant, Packet)>) -> usize {
    let mut buffer = JitterBuffer::new(config.clone()).expect("valid config");
    let mut popped = 0;
    for (now, packet) in packets {
        let _ = buffer.handle_packet(now, packet);
        while let Some(output) = buffer.poll_output() {
            black_box(&output);
            popped += 1;
        }
    }
    popped
}

#[cfg(feature = "compare")]
mod peer {
    use bytes::Bytes;
    use rtp::codecs::opus::OpusPacket;
    use rtp::codecs::vp8::Vp8Packet;
    use rtp::header::Header;
    use rtp::packet::Packet;
    use webrtc_media::io::sample_builder::SampleBuilder;

    use super::Arrival;

    pub(super) fn packets(workload: &[Arrival], video: bool) -> Vec<Packet> {
        workload
            .iter()
            .map(|a| {
                let mut payload = vec![0x5A; 160];
                if video {
                    // VP8 payload descriptor: S bit on the first packet of a frame.
                    payload[0] = if a.frame_start { 0x10 } else { 0x00 };
                }
                Packet {
                    header: Header {
                        version: 2,
                        marker: a.marker,
                        payload_type: 96,
                        sequence_number: a.seq,
                        timestamp: a.ts,
                        ssrc: 1,
                        ..Header::default()
                    },
                    payload: Bytes::from(payload),
                }
            })
            .collect()
    }

    pub(super) fn run(packets: Vec<Packet>, video: bool) -> usize {
        let mut popped = 0;
        if video {
            let mut builder = SampleBuilder::new(50, Vp8Packet::default(), 90_000);
            for packet in packets {
                builder.push(packet);
                while let Some(sample) = builder.pop() {
                    std::hint::black_box(&sample);
                    popped += 1;
                }
            }
        } else {
            let mut builder = SampleBuilder::new(50, OpusPacket, 48_000);
            for packet in packets {
                builder.push(packet);
                while let Some(sample) = builder.pop() {
                    std::hint::black_box(&sample);
                    popped += 1;
                }
            }
        }
        popped
    }
}

fn throughput(c: &mut Criterion) {
    let start = Instant::now();
    for (name, workload, config) in [
        (
            "audio in order",
            audio_workload(),
            Config::audio(ClockRate::OPUS),
        ),
        ("video with reordering", video_workload(), Config::video()),
    ] {
        let mut group = c.benchmark_group(format!("push+pop/{name}"));
        group.throughput(Throughput::Elements(PACKETS as u64));
        group.sample_size(20);
        group.measurement_time(Duration::from_secs(4));
        let ours = strata_packets(&workload, start);
        group.bench_function("strata-jitter", |b| {
            b.iter_batched(
                || ours.clone(),
                |packets| run_strata(&config, packets),
                BatchSize::LargeInput,
            );
        });
        #[cfg(feature = "compare")]
        {
            let video = name.starts_with("video");
            let theirs = peer::packets(&workload, video);
            group.bench_function("webrtc-media SampleBuilder", |b| {
                b.iter_batched(
                    || theirs.clone(),
                    |packets| peer::run(packets, video),
                    BatchSize::LargeInput,
                );
            });
        }
        group.finish();
    }
}

/// On-CPU time of this thread in nanoseconds (Linux `schedstat`), so that the rate below
/// does not depend on how busy the machine's other cores are.
fn thread_cpu_nanos() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Packets per CPU-second of `run` alone (the input is prepared by `setup`, untimed), over
/// at least two CPU-seconds of repetitions.
fn cpu_rate<T>(mut setup: impl FnMut() -> T, mut run: impl FnMut(T) -> usize) -> Option<f64> {
    let mut spent = 0;
    let mut packets = 0;
    while spent < 2_000_000_000 {
        let input = setup();
        let before = thread_cpu_nanos()?;
        black_box(run(input));
        spent += thread_cpu_nanos()? - before;
        packets += PACKETS;
    }
    Some(packets as f64 / (spent as f64 / 1e9))
}

fn cpu_time_report() {
    let start = Instant::now();
    println!("packets per CPU-second of push + pop (thread CPU time):");
    for (name, workload, config) in [
        (
            "audio in order",
            audio_workload(),
            Config::audio(ClockRate::OPUS),
        ),
        ("video with reordering", video_workload(), Config::video()),
    ] {
        let ours = strata_packets(&workload, start);
        let Some(rate) = cpu_rate(|| ours.clone(), |packets| run_strata(&config, packets)) else {
            println!("  (no /proc/thread-self/schedstat: skipped)");
            return;
        };
        print!("  {name}: strata-jitter {:.2} M/s", rate / 1e6);
        #[cfg(feature = "compare")]
        {
            let video = name.starts_with("video");
            let theirs = peer::packets(&workload, video);
            if let Some(peer_rate) =
                cpu_rate(|| theirs.clone(), |packets| peer::run(packets, video))
            {
                print!(
                    ", webrtc-media SampleBuilder {:.2} M/s, ratio {:.2}",
                    peer_rate / 1e6,
                    rate / peer_rate
                );
            }
        }
        println!();
    }
}

criterion_group!(benches, throughput);

fn main() {
    cpu_time_report();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
