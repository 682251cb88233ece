//! `cargo xtask bench`: the criterion benchmarks, side by side with their peers.

use std::path::Path;

use crate::shell::{self, cargo};

/// The package that holds every benchmark (see BENCHMARKS.md).
const BENCH_PACKAGE: &str = "strata-bench";

/// Runs the benchmarks; extra arguments go to criterion (a filter, `--quick`, ...).
pub(crate) fn run(root: &Path, args: &[String]) -> anyhow::Result<()> {
    if !root
        .join("crates")
        .join(BENCH_PACKAGE)
        .join("Cargo.toml")
        .exists()
    {
        eprintln!("xtask bench: no benchmarks yet ({BENCH_PACKAGE} does not exist)");
        return Ok(());
    }
    shell::run(
        cargo(root)
            .args([
                "bench",
                "--locked",
                "--package",
                BENCH_PACKAGE,
                "--features",
                "compare",
                "--",
            ])
            .args(args),
    )
}
