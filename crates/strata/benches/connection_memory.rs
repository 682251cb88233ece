//! Memory per connection, Strata against webrtc-rs 0.17.2 (feature `compare`).
//!
//! Each measurement runs in a child process of its own (this binary, re-run with
//! `--child STACK PHASE`), so one stack's heap never colours the other's figure. Both
//! ends of every connection live in that child, over loopback UDP.
//!
//! - `idle`: warm up, read `VmRSS`, open `CONNECTIONS` connections, each with one open
//!   reliable channel that has carried one message, let them sit idle, read `VmRSS` again.
//!   Growth / connections / 2 is the cost of one `PeerConnection` end.
//! - `cycles`: `CYCLES` times, open a connection, send one message, close both ends, in
//!   `LANES` concurrent lanes. `VmRSS` after each tenth of the run shows whether memory
//!   grows with connections that are gone.
//!
//! `STRATA_BENCH_CONNECTIONS` and `STRATA_BENCH_CYCLES` override the counts for a quick run.

mod loopback_pairs;

use std::process::Command;
use std::time::Duration;

use loopback_pairs::{rss_bytes, strata_pair};

/// Idle connections held at once.
const CONNECTIONS: usize = 1_000;
/// Open/use/close cycles.
const CYCLES: usize = 10_000;
/// Connections set up at once (idle phase and cycles).
const LANES: usize = 8;
/// Cycles run before the first reading (allocator arenas, caches and pools fill).
const WARM_UP_CYCLES: usize = 100;
/// Pause before each reading, for closes and timers to settle.
const SETTLE: Duration = Duration::from_secs(2);

fn count(variable: &str, default: usize) -> usize {
    std::env::var(variable)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stack {
    Strata,
    #[cfg(feature = "compare")]
    WebrtcRs,
}

impl Stack {
    const ALL: &[Stack] = &[
        Stack::Strata,
        #[cfg(feature = "compare")]
        Stack::WebrtcRs,
    ];

    fn name(self) -> &'static str {
        match self {
            Stack::Strata => "strata",
            #[cfg(feature = "compare")]
            Stack::WebrtcRs => "webrtc-rs",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|stack| stack.name() == name)
    }
}

/// A connected pair of either stack.
enum Pair {
    Strata(strata_pair::Pair),
    #[cfg(feature = "compare")]
    WebrtcRs(loopback_pairs::webrtc_rs_pair::Pair),
}

impl Pair {
    async fn connect(stack: Stack) -> Self {
        match stack {
            Stack::Strata => Pair::Strata(strata_pair::connect().await.0),
            #[cfg(feature = "compare")]
            Stack::WebrtcRs => Pair::WebrtcRs(loopback_pairs::webrtc_rs_pair::connect().await.0),
        }
    }

    /// One 100-byte message from offerer to answerer.
    async fn exchange(&self) {
        match self {
            Pair::Strata(pair) => {
                pair.transfer(100, 1).await;
            }
            #[cfg(feature = "compare")]
            Pair::WebrtcRs(pair) => {
                pair.transfer(100, 1).await;
            }
        }
    }

    async fn close(self) {
        match self {
            Pair::Strata(pair) => pair.close().await,
            #[cfg(feature = "compare")]
            Pair::WebrtcRs(pair) => pair.close().await,
        }
    }
}

async fn cycle(stack: Stack) {
    let pair = Pair::connect(stack).await;
    pair.exchange().await;
    pair.close().await;
}

/// Runs `total` cycles in `LANES` lanes.
async fn cycles(stack: Stack, total: usize) {
    let mut lanes = tokio::task::JoinSet::new();
    for lane in 0..LANES {
        let share = total / LANES + usize::from(lane < total % LANES);
        lanes.spawn(async move {
            for _ in 0..share {
                cycle(stack).await;
            }
        });
    }
    while let Some(done) = lanes.join_next().await {
        done.expect("lane");
    }
}

#[allow(clippy::cast_precision_loss)]
fn kib(bytes: u64) -> f64 {
    bytes as f64 / 1024.0
}

/// The child: one stack, one phase; prints `key value` lines for the parent.
async fn child(stack: Stack, phase: &str) {
    cycles(stack, WARM_UP_CYCLES).await;
    tokio::time::sleep(SETTLE).await;
    let before = rss_bytes();
    println!("before {before}");
    match phase {
        "idle" => {
            let connections = count("STRATA_BENCH_CONNECTIONS", CONNECTIONS);
            let mut held = Vec::with_capacity(connections);
            let mut lanes = tokio::task::JoinSet::new();
            let mut started = 0;
            while held.len() < connections {
                while started < connections && lanes.len() < LANES {
                    started += 1;
                    lanes.spawn(async move {
                        let pair = Pair::connect(stack).await;
                        pair.exchange().await;
                        pair
                    });
                }
                held.push(lanes.join_next().await.expect("lane").expect("connect"));
            }
            tokio::time::sleep(SETTLE).await;
            println!("after {}", rss_bytes());
            println!("connections {connections}");
            for pair in held {
                pair.close().await;
            }
        }
        "cycles" => {
            let total = count("STRATA_BENCH_CYCLES", CYCLES);
            let step = total.div_ceil(10);
            let mut done = 0;
            while done < total {
                let now = step.min(total - done);
                cycles(stack, now).await;
                done += now;
                tokio::time::sleep(SETTLE).await;
                println!("sample {done} {}", rss_bytes());
            }
        }
        other => panic!("unknown phase {other}"),
    }
}

/// Runs one child and returns its `key value...` lines.
fn run_child(stack: Stack, phase: &str) -> Vec<Vec<u64>> {
    let output = Command::new(std::env::current_exe().expect("this binary"))
        .args(["--child", stack.name(), phase])
        .output()
        .expect("child process");
    assert!(
        output.status.success(),
        "{} {phase} failed: {}",
        stack.name(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            line.split_whitespace()
                .skip(1)
                .map(|n| n.parse().expect("number"))
                .collect()
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|arg| arg == "--child") {
        let stack = Stack::parse(&args[at + 1]).expect("stack name");
        let runtime = loopback_pairs::runtime();
        runtime.block_on(child(stack, &args[at + 2]));
        return;
    }
    // `cargo bench` passes `--bench`; a filter argument selects phases.
    let filter = args.iter().skip(1).find(|arg| !arg.starts_with('-'));
    let wanted = |phase: &str| filter.is_none_or(|f| phase.contains(f.as_str()));

    if wanted("idle") {
        println!("\nRSS per idle connection with one open channel");
        println!(
            "| stack | RSS before | RSS with N connections | N | per connection (both ends) | per PeerConnection |"
        );
        println!("|---|---|---|---|---|---|");
        for &stack in Stack::ALL {
            let lines = run_child(stack, "idle");
            let (before, after, n) = (lines[0][0], lines[1][0], lines[2][0]);
            let growth = after.saturating_sub(before);
            println!(
                "| {} | {:.1} MiB | {:.1} MiB | {n} | {:.1} KiB | {:.1} KiB |",
                stack.name(),
                kib(before) / 1024.0,
                kib(after) / 1024.0,
                kib(growth) / n as f64,
                kib(growth) / n as f64 / 2.0,
            );
        }
    }
    if wanted("cycles") {
        println!("\nRSS over open/use/close cycles ({WARM_UP_CYCLES} warm-up cycles first)");
        for &stack in Stack::ALL {
            let lines = run_child(stack, "cycles");
            let before = lines[0][0];
            let samples: Vec<String> = lines[1..]
                .iter()
                .map(|s| format!("{}: {:.1} MiB", s[0], kib(s[1]) / 1024.0))
                .collect();
            let last = lines.last().expect("samples");
            let growth = i128::from(last[1]) - i128::from(before);
            #[allow(clippy::cast_precision_loss)]
            let per_cycle = growth as f64 / 1024.0 / last[0] as f64;
            println!(
                "{}: warm {:.1} MiB; {}; growth {per_cycle:.2} KiB per cycle",
                stack.name(),
                kib(before) / 1024.0,
                samples.join(", ")
            );
        }
    }
    println!();
}
