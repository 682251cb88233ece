//! Two peers of one stack in this process, talking over loopback UDP: the setup, transfer
//! and teardown every facade benchmark measures, once for Strata and once for webrtc-rs.
//!
//! Both stacks are configured alike: host candidates on `lo` only, IPv4 only, no mDNS,
//! signaling handed over in-process with trickled candidates, one reliable ordered
//! channel created by the offerer before `create_offer`.

// Each bench binary uses its own subset of this module.
#![allow(dead_code)]

pub(crate) mod strata_pair;
#[cfg(feature = "compare")]
pub(crate) mod webrtc_rs_pair;

use std::time::Duration;

/// Bound on anything a benchmark waits for; a stalled transfer fails loudly.
pub(crate) const PATIENCE: Duration = Duration::from_mins(1);

/// The channel's label on both stacks.
pub(crate) const LABEL: &str = "bench";

/// The runtime every facade benchmark runs its peers on: two workers, as the machine has
/// two cores.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Rounds of an interleaved run: `STRATA_BENCH_ROUNDS` when set to a positive number,
/// `default` otherwise.
pub(crate) fn rounds(default: usize) -> usize {
    std::env::var("STRATA_BENCH_ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .filter(|&rounds| rounds > 0)
        .unwrap_or(default)
}

/// A message of `len` bytes (content does not matter to either stack).
pub(crate) fn message(len: usize) -> bytes::Bytes {
    bytes::Bytes::from(vec![0x5a; len])
}

/// With `RUST_LOG` set, logs to stderr with the time since start (e.g.
/// `RUST_LOG=strata=debug` shows each connection's setup steps).
pub(crate) fn trace_from_env() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_timer(tracing_subscriber::fmt::time::uptime())
            .with_writer(std::io::stderr)
            .try_init();
    }
}

/// The process's resident set size in bytes (`VmRSS` of `/proc/self/status`).
pub(crate) fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse::<u64>().ok())
        .expect("VmRSS in /proc/self/status")
        * 1024
}

/// Median and 90th percentile of `samples` (sorted in place).
pub(crate) fn median_p90(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort_unstable();
    let at = |q: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let index = ((samples.len() - 1) as f64 * q).round() as usize;
        samples[index]
    };
    (at(0.5), at(0.9))
}
