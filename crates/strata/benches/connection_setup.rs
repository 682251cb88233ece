//! Connection setup, `create_offer` to the offerer's first channel open, Strata↔Strata
//! against webrtc-rs↔webrtc-rs (feature `compare`), over loopback UDP.
//!
//! First an interleaved run (one Strata setup, then one webrtc-rs setup, repeated) so both
//! stacks see the same machine load; its medians are the reported numbers. Then criterion
//! measures each stack on its own.

mod loopback_pairs;

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime;

use loopback_pairs::{median_p90, strata_pair};

/// Setups per stack in the interleaved run.
const ROUNDS: usize = 40;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

async fn strata_setup() -> Duration {
    let (pair, setup) = strata_pair::connect().await;
    pair.close().await;
    setup
}

#[cfg(feature = "compare")]
async fn webrtc_rs_setup() -> Duration {
    let (pair, setup) = loopback_pairs::webrtc_rs_pair::connect().await;
    pair.close().await;
    setup
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn mean(samples: &[Duration]) -> Duration {
    samples.iter().sum::<Duration>() / u32::try_from(samples.len()).expect("few samples")
}

/// The interleaved run and its table.
fn interleaved(runtime: &Runtime) {
    let mut strata = Vec::with_capacity(ROUNDS);
    #[cfg(feature = "compare")]
    let mut webrtc_rs = Vec::with_capacity(ROUNDS);
    runtime.block_on(async {
        // Warm-up: first-use costs (certificate code paths, allocator arenas).
        strata_setup().await;
        #[cfg(feature = "compare")]
        webrtc_rs_setup().await;
        for _ in 0..ROUNDS {
            strata.push(strata_setup().await);
            #[cfg(feature = "compare")]
            webrtc_rs.push(webrtc_rs_setup().await);
        }
    });
    let (strata_median, strata_p90) = median_p90(&mut strata);
    println!("\nconnection setup, create_offer → first channel open ({ROUNDS} interleaved rounds)");
    println!("| stack | median ms | p90 ms | min ms | max ms | mean ms |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| Strata | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
        millis(strata_median),
        millis(strata_p90),
        millis(strata[0]),
        millis(strata[ROUNDS - 1]),
        millis(mean(&strata)),
    );
    #[cfg(feature = "compare")]
    {
        let (median, p90) = median_p90(&mut webrtc_rs);
        println!(
            "| webrtc-rs 0.17.2 | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            millis(median),
            millis(p90),
            millis(webrtc_rs[0]),
            millis(webrtc_rs[ROUNDS - 1]),
            millis(mean(&webrtc_rs)),
        );
        println!(
            "Strata / webrtc-rs (median): {:.3}×",
            strata_median.as_secs_f64() / median.as_secs_f64()
        );
    }
    println!();
}

fn connection_setup(c: &mut Criterion) {
    let runtime = runtime();
    interleaved(&runtime);
    let mut group = c.benchmark_group("connection_setup");
    group.sample_size(20);
    group.bench_function("strata", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += strata_setup().await;
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
                    total += webrtc_rs_setup().await;
                }
                total
            })
        });
    });
    group.finish();
}

criterion_group!(benches, connection_setup);
criterion_main!(benches);
