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

use loopback_pairs::strata_pair::Breakdown;
use loopback_pairs::{median_p90, rounds, runtime, strata_pair};

/// Setups per stack in the interleaved run (`STRATA_BENCH_ROUNDS` overrides).
const ROUNDS: usize = 40;

async fn strata_setup() -> Duration {
    strata_setup_broken_down().await.0
}

async fn strata_setup_broken_down() -> (Duration, Breakdown) {
    let (pair, setup) = strata_pair::connect().await;
    let breakdown = pair.breakdown().await;
    pair.close().await;
    (setup, breakdown)
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

/// The median of the present values, in milliseconds, or `-`.
fn median_ms(mut values: Vec<Duration>) -> String {
    if values.is_empty() {
        return "-".to_owned();
    }
    values.sort_unstable();
    format!("{:.2}", millis(values[values.len() / 2]))
}

fn show(value: Option<Duration>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{:.1}", millis(v)))
}

/// One setup step: its name, and when the offerer and the answerer reached it.
type Step = (&'static str, Option<Duration>, Option<Duration>);

/// Where Strata's setup time goes: each step's median offset from `create_offer`, per
/// side, then every slow sample (over twice the median) with its retransmissions.
fn print_breakdown(breakdowns: &[Breakdown]) {
    println!(
        "\nStrata setup steps, median ms after create_offer ({} samples)",
        breakdowns.len()
    );
    println!("| step | offerer | answerer |");
    println!("|---|---|---|");
    let steps = breakdowns[0].steps.len();
    for index in 0..steps {
        let name = breakdowns[0].steps[index].0;
        let side = |pick: fn(&Step) -> Option<Duration>| {
            median_ms(
                breakdowns
                    .iter()
                    .filter_map(|b| pick(&b.steps[index]))
                    .collect(),
            )
        };
        println!("| {name} | {} | {} |", side(|s| s.1), side(|s| s.2));
    }
    println!(
        "| offerer's channel open | {} | |",
        median_ms(breakdowns.iter().map(|b| b.open).collect())
    );
    let total = |pick: fn(&Breakdown) -> u64| breakdowns.iter().map(pick).sum::<u64>();
    println!(
        "retransmissions over all samples: DTLS handshake datagrams {}, SCTP chunks {}; ICE-layer drops {}",
        total(|b| b.dtls_resent),
        total(|b| b.sctp_resent),
        total(|b| b.ice_dropped),
    );
    let mut opens: Vec<Duration> = breakdowns.iter().map(|b| b.open).collect();
    opens.sort_unstable();
    let median = opens[opens.len() / 2];
    for slow in breakdowns.iter().filter(|b| b.open > median * 2) {
        let steps: Vec<String> = slow
            .steps
            .iter()
            .map(|(name, o, a)| format!("{name} {}/{}", show(*o), show(*a)))
            .collect();
        println!(
            "slow sample: open {:.1} ms; DTLS resent {}, SCTP resent {}, ICE drops {}; steps (offerer/answerer ms): {}",
            millis(slow.open),
            slow.dtls_resent,
            slow.sctp_resent,
            slow.ice_dropped,
            steps.join(", ")
        );
    }
}

/// The interleaved run and its table.
fn interleaved(runtime: &Runtime) {
    let rounds = rounds(ROUNDS);
    let mut strata = Vec::with_capacity(rounds);
    let mut breakdowns = Vec::with_capacity(rounds);
    #[cfg(feature = "compare")]
    let mut webrtc_rs = Vec::with_capacity(rounds);
    runtime.block_on(async {
        // Warm-up: first-use costs (certificate code paths, allocator arenas).
        strata_setup().await;
        #[cfg(feature = "compare")]
        webrtc_rs_setup().await;
        for _ in 0..rounds {
            let (setup, breakdown) = strata_setup_broken_down().await;
            strata.push(setup);
            breakdowns.push(breakdown);
            #[cfg(feature = "compare")]
            webrtc_rs.push(webrtc_rs_setup().await);
        }
    });
    let (strata_median, strata_p90) = median_p90(&mut strata);
    println!("\nconnection setup, create_offer → first channel open ({rounds} interleaved rounds)");
    println!("| stack | median ms | p90 ms | min ms | max ms | mean ms |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| Strata | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
        millis(strata_median),
        millis(strata_p90),
        millis(strata[0]),
        millis(strata[rounds - 1]),
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
            millis(webrtc_rs[rounds - 1]),
            millis(mean(&webrtc_rs)),
        );
        println!(
            "Strata / webrtc-rs (median): {:.3}×",
            strata_median.as_secs_f64() / median.as_secs_f64()
        );
    }
    print_breakdown(&breakdowns);
    println!();
}

fn connection_setup(c: &mut Criterion) {
    loopback_pairs::trace_from_env();
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
