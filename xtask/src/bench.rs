//! `cargo xtask bench`: every benchmark in the workspace, side by side with its peers.
//!
//! Each benchmark is a `[[bench]]` target of the crate it measures (criterion, or
//! `harness = false` for whole-system programs such as load generators). Comparison peers
//! (webrtc-rs's `webrtc` crate, ...) sit behind a `compare` feature of the measuring crate,
//! so `cargo test` and `cargo clippy` never compile them; this command turns them on.

use std::path::Path;

use crate::shell::{self, cargo};
use crate::tidy::Workspace;

/// Runs every benchmark; extra arguments go to the bench binaries (a filter, `--quick`, ...).
pub(crate) fn run(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let workspace = Workspace::load(root)?;
    let compare: Vec<String> = workspace
        .crates
        .iter()
        .filter(|krate| krate.features.iter().any(|f| f == "compare"))
        .map(|krate| format!("{}/compare", krate.name))
        .collect();
    let mut command = cargo(root);
    command.args(["bench", "--workspace", "--benches", "--locked"]);
    if !compare.is_empty() {
        command.args(["--features", &compare.join(",")]);
    }
    shell::run(command.arg("--").args(args))
}
