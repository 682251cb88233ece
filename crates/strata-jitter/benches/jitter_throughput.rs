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

use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use strata_jitter::{ClockRate, Config, JitterBuffer, Packet};

#[path = "../tests/throughput_workload/mod.rs"]
mod throughput_workload;

use throughput_workload::{Arrival, PACKETS, audio_workload, strata_packets, video_workload};

/// Set to run each workload through our buffer a few times and exit, without criterion:
/// the mode for counting instructions under callgrind (`--toggle-collect=*run_strata*`).
/// `audio` or `video` runs only that workload; any other value runs both.
const ONCE_VARIABLE: &str = "STRATA_JITTER_THROUGHPUT_ONCE";

// Kept out of line so that callgrind can count exactly its instructions.
#[inline(never)]
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

    use super::throughput_workload::Arrival;

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

/// Both workloads, named, with the buffer configuration each runs under.
fn workloads() -> [(&'static str, Vec<Arrival>, Config); 2] {
    [
        (
            "audio in order",
            audio_workload(),
            Config::audio(ClockRate::OPUS),
        ),
        ("video with reordering", video_workload(), Config::video()),
    ]
}

fn throughput(c: &mut Criterion) {
    let start = Instant::now();
    for (name, workload, config) in workloads() {
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
    for (name, workload, config) in workloads() {
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

/// Three passes of each workload through our buffer, the setup outside `run_strata`, and
/// the outputs' digests (the ones pinned by the `throughput_workloads_keep_their_outputs`
/// test).
fn once(only: &str) {
    let start = Instant::now();
    for (name, workload, config) in workloads() {
        if matches!(only, "audio" | "video") && !name.starts_with(only) {
            continue;
        }
        let ours = strata_packets(&workload, start);
        let mut popped = 0;
        for _ in 0..3 {
            popped += run_strata(&config, ours.clone());
        }
        let summary = throughput_workload::summarize(&config, &workload);
        println!(
            "{name}: {popped} outputs in 3 passes; digest {:#018x} ({} outputs, {} media)",
            summary.digest, summary.outputs, summary.media
        );
    }
}

fn main() {
    if let Some(only) = std::env::var_os(ONCE_VARIABLE) {
        once(&only.to_string_lossy());
        return;
    }
    cpu_time_report();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
