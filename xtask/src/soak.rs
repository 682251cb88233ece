//! Long tests that spend their time waiting on a network path, not on the processor:
//! `cargo xtask ci` starts them once the workspace tests are built and passed, lets its
//! later steps run meanwhile, and waits for them at the end.

use std::cell::RefCell;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, bail};

use crate::shell::{self, cargo};

/// One ignored test run on its own: its package, test target and name.
struct LongTest {
    package: &'static str,
    target: &'static str,
    name: &'static str,
}

/// The tests run in the background, each too long for the test step.
const LONG_TESTS: &[LongTest] = &[LongTest {
    package: "strata",
    target: "channels_survive_loss_delay_reordering_and_duplication",
    name: "fifty_mib_arrive_intact_and_in_order",
}];

/// The long tests under way, with where each writes its output.
#[derive(Default)]
pub(crate) struct Soak {
    running: RefCell<Vec<Running>>,
}

struct Running {
    test: &'static LongTest,
    child: Child,
    log: PathBuf,
}

impl Soak {
    /// Starts every long test from the build the test step made (so nothing is built
    /// twice), each writing to its own log under `target/soak`.
    pub(crate) fn start(&self, root: &Path) -> anyhow::Result<()> {
        let logs = root.join("target").join("soak");
        std::fs::create_dir_all(&logs)
            .with_context(|| format!("cannot create {}", logs.display()))?;
        for test in LONG_TESTS {
            let executable = test_executable(root, test)?;
            let log = logs.join(format!("{}.log", test.name));
            let out =
                File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
            let err = out.try_clone()?;
            let mut command = Command::new(&executable);
            // As `cargo test` runs it: from the package's directory.
            command
                .current_dir(package_dir(root, test.package))
                .args(["--ignored", "--exact", test.name])
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err);
            eprintln!(
                "$ {} &  (output in {})",
                shell::display(&command),
                log.display()
            );
            let child = command
                .spawn()
                .with_context(|| format!("cannot start {}", executable.display()))?;
            self.running.borrow_mut().push(Running { test, child, log });
        }
        Ok(())
    }

    /// Waits for every long test; a failure shows its output.
    pub(crate) fn finish(&self) -> anyhow::Result<()> {
        let mut failed = Vec::new();
        for mut running in self.running.borrow_mut().drain(..) {
            let status = running.child.wait()?;
            let output = std::fs::read_to_string(&running.log).unwrap_or_default();
            // A renamed test would match nothing, and libtest calls that a success.
            let ran = output.contains("test result: ok. 1 passed");
            if status.success() && ran {
                eprintln!("{}: passed", running.test.name);
            } else if status.success() {
                eprintln!(
                    "{}: no test by that name ran; its output:\n{output}",
                    running.test.name
                );
                failed.push(running.test.name);
            } else {
                eprintln!(
                    "{}: failed ({status}); its output:\n{output}",
                    running.test.name
                );
                failed.push(running.test.name);
            }
        }
        if !failed.is_empty() {
            bail!("long tests failed: {}", failed.join(", "));
        }
        Ok(())
    }
}

impl Drop for Soak {
    /// A step failed before the end: the long tests have nothing left to prove.
    fn drop(&mut self) {
        for running in self.running.get_mut() {
            let _ = running.child.kill();
            let _ = running.child.wait();
        }
    }
}

/// `cargo xtask soak`: builds the workspace tests, runs the long ones and waits.
pub(crate) fn run(root: &Path) -> anyhow::Result<()> {
    let soak = Soak::default();
    soak.start(root)?;
    soak.finish()
}

/// The test binary of `test`, as the test step built it. The selection is the test
/// step's own (the whole workspace): a narrower one unifies features differently and
/// would rebuild the package and its dependencies.
fn test_executable(root: &Path, test: &LongTest) -> anyhow::Result<PathBuf> {
    let json = shell::output(cargo(root).args([
        "test",
        "--workspace",
        "--locked",
        "--no-run",
        "--message-format=json",
    ]))?;
    let package_dir = package_dir(root, test.package).canonicalize()?;
    let mut found: Vec<PathBuf> = json
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| {
            message["target"]["name"] == test.target
                && message["profile"]["test"] == true
                && message["manifest_path"]
                    .as_str()
                    .and_then(|manifest| Path::new(manifest).canonicalize().ok())
                    .is_some_and(|manifest| manifest.starts_with(&package_dir))
        })
        .filter_map(|message| message["executable"].as_str().map(PathBuf::from))
        .collect();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => bail!("cargo built no executable for test `{}`", test.target),
        _ => bail!(
            "more than one executable for test `{}`: {found:?}",
            test.target
        ),
    }
}

fn package_dir(root: &Path, package: &str) -> PathBuf {
    root.join("crates").join(package)
}
