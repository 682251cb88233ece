//! Fuzzing with cargo-fuzz (libFuzzer) on the stable toolchain.
//!
//! Only stable Rust exists on our machines. cargo-fuzz needs nightly-only flags
//! (`-Zsanitizer`), which stable rustc accepts with `RUSTC_BOOTSTRAP=1`; that is set for
//! the fuzz builds only, never for the workspace. cargo-fuzz is installed on first use.

use std::path::Path;

use anyhow::{Context, bail};

use crate::shell::{self, cargo};

const DEFAULT_SMOKE_SECS: u64 = 10;

/// `cargo xtask fuzz-smoke [SECS]`: every target for SECS seconds; any crash fails.
pub(crate) fn smoke(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let secs = match args {
        [] => DEFAULT_SMOKE_SECS,
        [secs] => secs
            .parse()
            .with_context(|| format!("SECS must be a number, got {secs}"))?,
        _ => bail!("usage: cargo xtask fuzz-smoke [SECS]"),
    };
    let Some(targets) = targets(root)? else {
        eprintln!("xtask fuzz-smoke: no fuzz targets yet (fuzz/Cargo.toml does not exist)");
        return Ok(());
    };
    ensure_cargo_fuzz(root)?;
    for target in &targets {
        run_target(root, target, secs)?;
    }
    eprintln!(
        "xtask fuzz-smoke: {} target(s) ran {secs} s each without a crash",
        targets.len()
    );
    Ok(())
}

/// `cargo xtask fuzz TARGET [--time SECS]`: one long run.
pub(crate) fn run(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let (target, secs) = match args {
        [target] => (target, 600),
        [target, flag, secs] if flag == "--time" => (
            target,
            secs.parse()
                .with_context(|| format!("--time takes seconds, got {secs}"))?,
        ),
        _ => bail!("usage: cargo xtask fuzz TARGET [--time SECS]"),
    };
    let known = targets(root)?.context("no fuzz targets yet (fuzz/Cargo.toml does not exist)")?;
    if !known.contains(target) {
        bail!("no fuzz target `{target}`; targets: {}", known.join(", "));
    }
    ensure_cargo_fuzz(root)?;
    run_target(root, target, secs)
}

/// The `[[bin]]` names declared in `fuzz/Cargo.toml`, or `None` when there is no fuzz crate.
fn targets(root: &Path) -> anyhow::Result<Option<Vec<String>>> {
    let manifest = root.join("fuzz").join("Cargo.toml");
    if !manifest.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&manifest)?;
    let mut targets = Vec::new();
    let mut in_bin = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if let Some(name) = in_bin.then(|| line.strip_prefix("name")).flatten() {
            let name = name
                .trim_start()
                .trim_start_matches('=')
                .trim()
                .trim_matches('"');
            targets.push(name.to_owned());
        }
    }
    Ok(Some(targets))
}

fn ensure_cargo_fuzz(root: &Path) -> anyhow::Result<()> {
    let installed = cargo(root)
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        eprintln!("xtask: installing cargo-fuzz");
        shell::run(cargo(root).args(["install", "--locked", "cargo-fuzz"]))?;
    }
    Ok(())
}

/// Runs one target. New inputs go to a working corpus under `fuzz/target` (ignored by
/// git); the checked-in seeds in `fuzz/corpus/<target>` are read, never written.
fn run_target(root: &Path, target: &str, secs: u64) -> anyhow::Result<()> {
    let working = root.join("fuzz").join("target").join("corpus").join(target);
    let seeds = root.join("fuzz").join("corpus").join(target);
    std::fs::create_dir_all(&working)?;
    std::fs::create_dir_all(&seeds)?;
    shell::run(
        cargo(root)
            .env("RUSTC_BOOTSTRAP", "1")
            .args(["fuzz", "run", "--fuzz-dir", "fuzz", target])
            .arg(&working)
            .arg(&seeds)
            .args([
                "--",
                &format!("-max_total_time={secs}"),
                "-print_final_stats=1",
            ]),
    )
    .with_context(|| format!("fuzz target `{target}` crashed or failed to build"))
}
