//! Fuzzing with cargo-fuzz (libFuzzer) on the stable toolchain.
//!
//! Only stable Rust exists on our machines. cargo-fuzz needs nightly-only flags
//! (`-Zsanitizer`), which stable rustc accepts with `RUSTC_BOOTSTRAP=1`; that is set for
//! the fuzz builds only, never for the workspace. cargo-fuzz is installed on first use.

use std::path::Path;

use anyhow::{Context, bail};

use crate::shell::{self, cargo};

const DEFAULT_SMOKE_SECS: u64 = 10;

/// One `[[bin]]` of `fuzz/Cargo.toml` and its checked-in seed directories.
#[derive(Debug, PartialEq)]
struct Target {
    name: String,
    /// Relative to the repository root, from `[package.metadata.seeds]`.
    seeds: Vec<String>,
}

/// `cargo xtask fuzz-smoke [SECS]`: every target for SECS seconds; any crash fails.
pub(crate) fn smoke(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let secs = match args {
        [] => DEFAULT_SMOKE_SECS,
        [secs] => secs
            .parse()
            .with_context(|| format!("SECS must be a number, got {secs}"))?,
        _ => bail!("usage: cargo xtask fuzz-smoke [SECS]"),
    };
    let targets = targets(root)?;
    ensure_cargo_fuzz(root)?;
    // One build for every target: `cargo fuzz run` then finds them fresh.
    shell::run(fuzz_command(root).args(["build", "--fuzz-dir", "fuzz"]))
        .context("the fuzz targets failed to build")?;
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
    let (name, secs) = match args {
        [target] => (target, 600),
        [target, flag, secs] if flag == "--time" => (
            target,
            secs.parse()
                .with_context(|| format!("--time takes seconds, got {secs}"))?,
        ),
        _ => bail!("usage: cargo xtask fuzz TARGET [--time SECS]"),
    };
    let targets = targets(root)?;
    let Some(target) = targets.iter().find(|t| &t.name == name) else {
        let names: Vec<_> = targets.iter().map(|t| t.name.as_str()).collect();
        bail!("no fuzz target `{name}`; targets: {}", names.join(", "));
    };
    ensure_cargo_fuzz(root)?;
    run_target(root, target, secs)
}

/// The targets declared in `fuzz/Cargo.toml`, each with its seeds.
fn targets(root: &Path) -> anyhow::Result<Vec<Target>> {
    let manifest = root.join("fuzz").join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    let targets = parse_manifest(&text)?;
    if targets.is_empty() {
        bail!("{} declares no [[bin]] targets", manifest.display());
    }
    for target in &targets {
        for dir in &target.seeds {
            if !root.join(dir).is_dir() {
                bail!(
                    "seed directory `{dir}` of fuzz target `{}` does not exist",
                    target.name
                );
            }
        }
    }
    Ok(targets)
}

/// Reads the `[[bin]]` names and the `[package.metadata.seeds]` table (one
/// `name = ["dir", ...]` line per target) of the fuzz manifest. Every target must have
/// seeds, and every seed line must name a target.
fn parse_manifest(text: &str) -> anyhow::Result<Vec<Target>> {
    let mut names = Vec::new();
    let mut seeds = std::collections::BTreeMap::new();
    let mut section = "";
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match section {
            "[[bin]]" if key == "name" => names.push(value.trim_matches('"').to_owned()),
            "[package.metadata.seeds]" => {
                let list = value
                    .strip_prefix('[')
                    .and_then(|v| v.strip_suffix(']'))
                    .with_context(|| format!("seeds of `{key}` must be a one-line list"))?;
                let dirs = list
                    .split(',')
                    .map(|d| d.trim().trim_matches('"').to_owned())
                    .filter(|d| !d.is_empty())
                    .collect::<Vec<_>>();
                seeds.insert(key.to_owned(), dirs);
            }
            _ => {}
        }
    }
    let targets = names
        .into_iter()
        .map(|name| {
            let seeds = seeds
                .remove(&name)
                .filter(|dirs| !dirs.is_empty())
                .with_context(|| format!("fuzz target `{name}` has no seed corpus"))?;
            Ok(Target { name, seeds })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if let Some(orphan) = seeds.keys().next() {
        bail!("seeds are declared for `{orphan}`, which is not a fuzz target");
    }
    Ok(targets)
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

/// `cargo fuzz` with the sanitizer flags allowed on stable rustc.
fn fuzz_command(root: &Path) -> std::process::Command {
    let mut command = cargo(root);
    command.env("RUSTC_BOOTSTRAP", "1").arg("fuzz");
    command
}

/// Runs one target. New inputs go to a working corpus under `fuzz/target` (ignored by
/// git); the checked-in seed directories are read, never written (libFuzzer writes only
/// to the first corpus directory it is given).
fn run_target(root: &Path, target: &Target, secs: u64) -> anyhow::Result<()> {
    let working = root
        .join("fuzz")
        .join("target")
        .join("corpus")
        .join(&target.name);
    std::fs::create_dir_all(&working)?;
    let mut command = fuzz_command(root);
    command
        .args(["run", "--fuzz-dir", "fuzz", &target.name])
        .arg(&working);
    for dir in &target.seeds {
        command.arg(root.join(dir));
    }
    command.args([
        "--",
        &format!("-max_total_time={secs}"),
        "-print_final_stats=1",
    ]);
    shell::run(&mut command)
        .with_context(|| format!("fuzz target `{}` crashed or failed to build", target.name))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn every_target_is_read_with_its_seed_directories() {
        let manifest = "[package]\nname = \"f\"\n\n[package.metadata.seeds]\n\
                        a = [\"x/one\", \"x/two\"]\nb = [\"y\"]\n\n\
                        [[bin]]\nname = \"a\"\npath = \"a.rs\"\n[[bin]]\nname = \"b\"\n";
        let targets = parse_manifest(manifest).unwrap();
        assert_eq!(
            targets,
            vec![
                Target {
                    name: "a".into(),
                    seeds: vec!["x/one".into(), "x/two".into()]
                },
                Target {
                    name: "b".into(),
                    seeds: vec!["y".into()]
                },
            ]
        );
    }

    #[test]
    fn a_target_without_seeds_is_refused() {
        let manifest =
            "[package.metadata.seeds]\na = [\"x\"]\n[[bin]]\nname = \"a\"\n[[bin]]\nname = \"b\"\n";
        let error = parse_manifest(manifest).unwrap_err().to_string();
        assert!(error.contains("`b` has no seed corpus"), "{error}");
    }

    #[test]
    fn seeds_for_an_unknown_target_are_refused() {
        let manifest = "[package.metadata.seeds]\nghost = [\"x\"]\n";
        let error = parse_manifest(manifest).unwrap_err().to_string();
        assert!(error.contains("`ghost`"), "{error}");
    }

    /// Fuzz bodies: every `pub fn` of a crate's `fuzz.rs`/`fuzzing.rs` module, and every
    /// `pub fn fuzz_*` elsewhere in its sources.
    fn fuzz_bodies(root: &Path) -> Vec<(PathBuf, String)> {
        let mut bodies = Vec::new();
        let mut pending = vec![root.join("crates")];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    if path
                        .file_name()
                        .is_some_and(|n| n != "target" && n != "tests")
                    {
                        pending.push(path);
                    }
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs") {
                    continue;
                }
                let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
                let whole_module = stem == "fuzz" || stem == "fuzzing";
                let text = std::fs::read_to_string(&path).unwrap();
                for line in text.lines().map(str::trim_start) {
                    let Some(rest) = line.strip_prefix("pub fn ") else {
                        continue;
                    };
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if whole_module || name.starts_with("fuzz_") {
                        bodies.push((path.clone(), name));
                    }
                }
            }
        }
        bodies
    }

    #[test]
    fn every_fuzz_body_in_the_crates_has_a_target() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let mut sources = String::new();
        for target in targets(root).unwrap() {
            let source = root
                .join("fuzz/fuzz_targets")
                .join(format!("{}.rs", target.name));
            sources += &std::fs::read_to_string(&source)
                .unwrap_or_else(|_| panic!("{} is missing", source.display()));
        }
        let bodies = fuzz_bodies(root);
        assert!(
            bodies.len() >= 16,
            "found only {} fuzz bodies",
            bodies.len()
        );
        let missing: Vec<_> = bodies
            .iter()
            .filter(|(_, name)| !sources.contains(&format!("::{name}(")))
            .map(|(path, name)| format!("{} in {}", name, path.display()))
            .collect();
        assert!(
            missing.is_empty(),
            "fuzz bodies without a target: {missing:?}"
        );
    }
}
