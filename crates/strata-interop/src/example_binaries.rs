//! Strata's `offer`, `answer` and `chat` examples (package `strata-examples`), built for
//! the scenarios that run them as peers.
//!
//! [`build`] runs `cargo build --locked -p strata-examples -p strata-interop --bins` in the
//! profile this harness was built with (read from the directory its executable sits in),
//! before the scenario is isolated, and takes the binaries' paths from Cargo's JSON
//! messages, so it works with any target directory. Building the harness alongside makes
//! Cargo resolve features as it did for the harness, so only the examples themselves
//! compile.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// Paths to the example binaries.
#[derive(Debug, Clone)]
pub struct ExampleBinaries {
    /// `offer`: opens channel `chat`, prints its offer, sends stdin lines, prints messages.
    pub offer: PathBuf,
    /// `answer`: reads an offer, prints its answer, echoes every message.
    pub answer: PathBuf,
    /// `chat`: joins a room through a `strata` server and chats over data channels.
    pub chat: PathBuf,
}

/// Builds the examples (or finds them up to date) and returns where they are.
pub fn build() -> anyhow::Result<ExampleBinaries> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut command = Command::new(cargo);
    command
        .current_dir(&workspace)
        .args([
            "build",
            "--locked",
            "--package",
            "strata-examples",
            // With the harness itself in the same build, Cargo unifies features the way
            // `cargo run -p strata-interop` did, so shared dependencies are not rebuilt
            // with a different feature set.
            "--package",
            "strata-interop",
            "--bins",
            "--message-format=json-render-diagnostics",
        ])
        .args(profile_args())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = command
        .spawn()
        .context("cannot run cargo to build the strata-examples binaries")?;
    let stdout = child.stdout.take().context("cargo stdout not captured")?;
    let mut offer = None;
    let mut answer = None;
    let mut chat = None;
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line?;
        let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact"
            || message["package_id"]
                .as_str()
                .is_none_or(|id| !id.contains("strata-examples"))
        {
            continue;
        }
        let name = message["target"]["name"].as_str();
        let executable = message["executable"].as_str().map(PathBuf::from);
        match name {
            Some("offer") => offer = executable,
            Some("answer") => answer = executable,
            Some("chat") => chat = executable,
            _ => {}
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("`cargo build -p strata-examples --bins` failed ({status})");
    }
    match (offer, answer, chat) {
        (Some(offer), Some(answer), Some(chat)) => Ok(ExampleBinaries {
            offer,
            answer,
            chat,
        }),
        _ => bail!(
            "cargo built strata-examples but did not name all of its `offer`, `answer` and \
             `chat` executables"
        ),
    }
}

/// The profile flags matching this executable's own build: `target/<dir>/...` where
/// `<dir>` is `debug` for the dev profile and the profile's name otherwise.
fn profile_args() -> Vec<String> {
    let Ok(exe) = std::env::current_exe() else {
        return Vec::new();
    };
    let dir = exe
        .parent()
        .map(|dir| {
            if dir.ends_with("deps") {
                dir.parent()
            } else {
                Some(dir)
            }
        })
        .and_then(|dir| dir?.file_name()?.to_str().map(str::to_owned));
    match dir.as_deref() {
        None | Some("debug") => Vec::new(),
        Some(profile) => vec!["--profile".to_owned(), profile.to_owned()],
    }
}
