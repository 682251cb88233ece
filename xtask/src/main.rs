//! Project automation, in Rust so it runs wherever cargo does.
//!
//! ```text
//! cargo xtask ci                  everything CI checks, in order; stops at the first failure
//! cargo xtask test                cargo test --workspace, then the interop scenarios
//! cargo xtask tidy                mechanical architecture checks
//! cargo xtask interop [FILTER..]  browser/peer interop scenarios, as a table
//! cargo xtask soak                the long tests CI runs in the background, in the foreground
//! cargo xtask bench [ARGS..]      criterion benchmarks (see BENCHMARKS.md)
//! cargo xtask fuzz-smoke [SECS]   every fuzz target for SECS seconds (default 10)
//! cargo xtask fuzz TARGET --time N  one fuzz target for N seconds
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod bench;
mod ci;
mod fuzz;
mod shell;
mod soak;
mod tidy;

const USAGE: &str = "usage: cargo xtask <ci | test | tidy | interop [FILTER..] | soak | bench [ARGS..] | \
                     fuzz-smoke [SECS] | fuzz TARGET [--time SECS]>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::FAILURE;
    };
    let root = workspace_root();
    let result = match command.as_str() {
        "ci" => ci::run(&root),
        "test" => ci::test(&root),
        "tidy" => tidy::run(&root),
        "interop" => ci::interop(&root, rest),
        "soak" => soak::run(&root),
        "bench" => bench::run(&root, rest),
        "fuzz-smoke" => fuzz::smoke(&root, rest),
        "fuzz" => fuzz::run(&root, rest),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(anyhow::anyhow!("unknown command `{other}`\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask {command}: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the parent of this crate's directory.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}
