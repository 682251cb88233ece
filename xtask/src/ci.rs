//! `cargo xtask ci`: every check CI runs, in order, stopping at the first failure.

use std::path::Path;
use std::process::Command;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::shell::{self, cargo};
use crate::soak::Soak;
use crate::tidy;

/// One CI step: a name for the report and what it runs.
struct Step {
    name: &'static str,
    run: Box<dyn Fn() -> anyhow::Result<()>>,
}

fn cargo_step(root: &Path, name: &'static str, args: &'static [&'static str]) -> Step {
    cargo_step_with_env(root, name, args, &[])
}

fn cargo_step_with_env(
    root: &Path,
    name: &'static str,
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
) -> Step {
    let root = root.to_path_buf();
    Step {
        name,
        run: Box::new(move || shell::run(cargo(&root).args(args).envs(env.iter().copied()))),
    }
}

fn steps(root: &Path) -> Vec<Step> {
    let tidy_root = root.to_path_buf();
    let interop_root = root.to_path_buf();
    let fuzz_root = root.to_path_buf();
    let soak_root = root.to_path_buf();
    let soak = Rc::new(Soak::default());
    let soak_end = Rc::clone(&soak);
    vec![
        cargo_step(root, "format", &["fmt", "--all", "--check"]),
        cargo_step(
            root,
            "clippy",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--locked",
                "--",
                "-D",
                "warnings",
            ],
        ),
        cargo_step(root, "test", &["test", "--workspace", "--locked"]),
        Step {
            name: "soak-start",
            run: Box::new(move || soak.start(&soak_root)),
        },
        cargo_step_with_env(
            root,
            "doc",
            &["doc", "--workspace", "--no-deps", "--locked"],
            &[("RUSTDOCFLAGS", "-D warnings")],
        ),
        Step {
            name: "tidy",
            run: Box::new(move || tidy::run(&tidy_root)),
        },
        Step {
            name: "interop",
            run: Box::new(move || interop(&interop_root, &[])),
        },
        Step {
            name: "fuzz-smoke",
            run: Box::new(move || crate::fuzz::smoke(&fuzz_root, &[])),
        },
        Step {
            name: "soak",
            run: Box::new(move || soak_end.finish()),
        },
    ]
}

/// Runs every step; the first failure stops the run and names the step.
pub(crate) fn run(root: &Path) -> anyhow::Result<()> {
    let steps = steps(root);
    let total = steps.len();
    let mut timings: Vec<(&str, Duration)> = Vec::new();
    for (index, step) in steps.iter().enumerate() {
        eprintln!("\n==> [{}/{total}] {}", index + 1, step.name);
        let started = Instant::now();
        let result = (step.run)();
        timings.push((step.name, started.elapsed()));
        if let Err(error) = result {
            print_timings(&timings);
            return Err(error).with_context(|| {
                format!(
                    "CI FAILED at step {}/{total} ({}); steps after it did not run",
                    index + 1,
                    step.name
                )
            });
        }
    }
    print_timings(&timings);
    eprintln!("xtask ci: all {total} steps passed");
    Ok(())
}

fn print_timings(timings: &[(&str, Duration)]) {
    eprintln!("\nstep        time");
    for (name, elapsed) in timings {
        eprintln!("{name:<10}  {:>6.1} s", elapsed.as_secs_f64());
    }
}

/// `cargo xtask test`: the workspace tests, then the interop scenarios.
pub(crate) fn test(root: &Path) -> anyhow::Result<()> {
    shell::run(cargo(root).args(["test", "--workspace"]))?;
    interop(root, &[])
}

/// `cargo xtask interop [FILTER..]`: builds and runs the scenario runner, which prints the
/// table (scenario, result, time, detail). Uses the dev profile so it shares the build
/// `cargo test` already made.
pub(crate) fn interop(root: &Path, filters: &[String]) -> anyhow::Result<()> {
    let mut command: Command = cargo(root);
    command
        .args([
            "run",
            "--quiet",
            "--locked",
            "--package",
            "strata-interop",
            "--",
        ])
        .args(filters);
    shell::run(&mut command)
}
