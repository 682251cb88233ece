//! Strata's `offer`, `answer`, `chat`, `reflect`, `record` and `play-from-disk` examples (package `strata-examples`), built for
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
    /// `mesh_chat`: `chat` on a `strata::Transport` mesh.
    pub mesh_chat: PathBuf,
    /// `reflect`: sends every track of every participant in a room back to them.
    pub reflect: PathBuf,
    /// `record`: records the audio and video a participant sends to Ogg/Opus and IVF.
    pub record: PathBuf,
    /// `play-from-disk`: sends an IVF and an Ogg/Opus file to a participant.
    pub play_from_disk: PathBuf,
}

/// The variables `cargo run` sets for the program it runs (by prefix), which must not
/// reach the nested build.
const CARGO_RUN_VARIABLES: &[&str] = &[
    "CARGO_MANIFEST_",
    "CARGO_PKG_",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
];

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
    // `cargo run` gave this harness its own package's variables (CARGO_MANIFEST_DIR,
    // CARGO_PKG_NAME, ...). Build scripts that watch them (ring's) would see them change
    // and rebuild, here and again in the next outer build.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if CARGO_RUN_VARIABLES
            .iter()
            .any(|prefix| name.starts_with(prefix))
        {
            command.env_remove(name.as_ref());
        }
    }
    let mut child = command
        .spawn()
        .context("cannot run cargo to build the strata-examples binaries")?;
    let stdout = child.stdout.take().context("cargo stdout not captured")?;
    let mut built = std::collections::HashMap::new();
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
        if let (Some(name), Some(executable)) = (
            message["target"]["name"].as_str(),
            message["executable"].as_str(),
        ) {
            built.insert(name.to_owned(), PathBuf::from(executable));
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("`cargo build -p strata-examples --bins` failed ({status})");
    }
    let mut take = |name: &str| {
        built.remove(name).with_context(|| {
            format!("cargo built strata-examples but did not name its `{name}` executable")
        })
    };
    Ok(ExampleBinaries {
        offer: take("offer")?,
        answer: take("answer")?,
        chat: take("chat")?,
        mesh_chat: take("mesh_chat")?,
        reflect: take("reflect")?,
        record: take("record")?,
        play_from_disk: take("play-from-disk")?,
    })
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
