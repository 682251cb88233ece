//! Throughput of one reliable ordered data channel over loopback UDP, 1 KiB and 64 KiB
//! messages, Strata against webrtc-rs 0.17.2 (feature `compare`).
//!
//! One connected pair per stack, kept for the whole run. The sender awaits each `send`
//! (both stacks wait there while webrtc-sctp's 128 KiB association send queue is full);
//! a transfer ends when the receiver has read every byte. First an interleaved run (one
//! Strata transfer, then one webrtc-rs transfer, repeated) so both stacks see the same
//! machine load; its medians are the reported numbers. Then criterion measures each.

mod loopback_pairs;

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tokio::runtime::Runtime;

use loopback_pairs::{median_p90, runtime, strata_pair};

/// Bytes per transfer.
const VOLUME: usize = 16 << 20;
/// Transfers per stack and message size in the interleaved run.
const ROUNDS: usize = 8;
/// Message sizes measured. The large one is 64 KiB − 1: webrtc-rs 0.17 reads each
/// message into a 65,535-byte buffer and closes the channel on a 65,536-byte one.
const SIZES: [(usize, &str); 2] = [(1024, "1 KiB"), (65_535, "64 KiB - 1")];

/// Messages of `len` bytes per transfer.
fn messages(len: usize) -> usize {
    VOLUME / len
}

fn mib_per_s(len: usize, duration: Duration) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let mib = (messages(len) * len) as f64 / f64::from(1 << 20);
    mib / duration.as_secs_f64()
}

struct Pairs {
    strata: strata_pair::Pair,
    #[cfg(feature = "compare")]
    webrtc_rs: loopback_pairs::webrtc_rs_pair::Pair,
}

/// The interleaved run and its table.
fn interleaved(runtime: &Runtime, pairs: &Pairs) {
    println!(
        "\none reliable ordered channel, {} MiB per transfer, {ROUNDS} interleaved rounds",
        VOLUME >> 20
    );
    println!("| message size | Strata MiB/s (median) | webrtc-rs MiB/s (median) | ratio |");
    println!("|---|---|---|---|");
    for (len, name) in SIZES {
        let count = messages(len);
        let mut strata = Vec::with_capacity(ROUNDS);
        #[cfg(feature = "compare")]
        let mut webrtc_rs = Vec::with_capacity(ROUNDS);
        runtime.block_on(async {
            // Warm-up: congestion windows open, buffers allocated.
            pairs.strata.transfer(len, count).await;
            #[cfg(feature = "compare")]
            pairs.webrtc_rs.transfer(len, count).await;
            for _ in 0..ROUNDS {
                strata.push(pairs.strata.transfer(len, count).await);
                #[cfg(feature = "compare")]
                webrtc_rs.push(pairs.webrtc_rs.transfer(len, count).await);
            }
        });
        let (strata_median, _) = median_p90(&mut strata);
        let strata_rate = mib_per_s(len, strata_median);
        #[cfg(feature = "compare")]
        {
            let (median, _) = median_p90(&mut webrtc_rs);
            let rate = mib_per_s(len, median);
            println!(
                "| {name} | {strata_rate:.1} (range {:.1}–{:.1}) | {rate:.1} (range {:.1}–{:.1}) | {:.2}× |",
                mib_per_s(len, strata[ROUNDS - 1]),
                mib_per_s(len, strata[0]),
                mib_per_s(len, webrtc_rs[ROUNDS - 1]),
                mib_per_s(len, webrtc_rs[0]),
                strata_rate / rate
            );
        }
        #[cfg(not(feature = "compare"))]
        println!(
            "| {name} | {strata_rate:.1} (range {:.1}–{:.1}) | (feature `compare` off) | |",
            mib_per_s(len, strata[ROUNDS - 1]),
            mib_per_s(len, strata[0]),
        );
    }
    println!();
}

fn data_channel_throughput(c: &mut Criterion) {
    let runtime = runtime();
    let pairs = runtime.block_on(async {
        Pairs {
            strata: strata_pair::connect().await.0,
            #[cfg(feature = "compare")]
            webrtc_rs: loopback_pairs::webrtc_rs_pair::connect().await.0,
        }
    });
    interleaved(&runtime, &pairs);
    for (len, _) in SIZES {
        let count = messages(len);
        let mut group = c.benchmark_group(format!("data_channel_throughput/{len}B"));
        group.sample_size(10);
        group.throughput(Throughput::Bytes((count * len) as u64));
        group.bench_function("strata", |b| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += pairs.strata.transfer(len, count).await;
                    }
                    total
                })
            });
        });
        #[cfg(feature = "compare")]
        group.bench_function("webrtc-rs", |b| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += pairs.webrtc_rs.transfer(len, count).await;
                    }
                    total
                })
            });
        });
        group.finish();
    }
    runtime.block_on(async {
        pairs.strata.close().await;
        #[cfg(feature = "compare")]
        pairs.webrtc_rs.close().await;
    });
}

criterion_group!(benches, data_channel_throughput);
criterion_main!(benches);
