//! Headless Chromium, started with a fresh profile and killed by process group.
//!
//! The browser is driven through its own DevTools HTTP endpoint (`PUT /json/new?<url>` opens
//! a tab); pages report back to the test over the [`crate::page`] server's WebSocket, so no
//! CDP client is needed. Chromium's stderr (which carries the pages' console output with
//! `--enable-logging=stderr`) is kept in a bounded ring for failure reports.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

use crate::log_tail::LogTail;

/// Flags every run uses: headless, no sandbox (we run as root), no background traffic
/// towards the closed internet, a fake camera and microphone whose permission prompt is
/// auto-accepted, and loopback candidates allowed (a private namespace has only `lo`).
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-default-apps",
    "--allow-loopback-in-peer-connection",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--enable-logging=stderr",
    "--v=0",
    "--remote-debugging-port=0",
];

/// Where Debian puts the real binary; `/usr/bin/chromium` is a shell wrapper around it.
const CANDIDATE_PATHS: &[&str] = &["/usr/lib/chromium/chromium", "/usr/bin/chromium"];

/// How many stderr lines are kept for a failure report.
const LOG_LINES: usize = 400;

/// How long Chromium may take to start and announce its DevTools port.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Finds Chromium, installing Debian's package when it is missing.
///
/// `STRATA_CHROMIUM` overrides the search. Fails with a clear message when Chromium is
/// neither present nor installable; it never pretends to have run a browser.
pub fn find_or_install() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("STRATA_CHROMIUM") {
        let path = PathBuf::from(path);
        if !path.exists() {
            bail!(
                "STRATA_CHROMIUM points at {}, which does not exist",
                path.display()
            );
        }
        return Ok(path);
    }
    if let Some(path) = installed() {
        return Ok(path);
    }
    eprintln!("chromium is not installed; installing it with apt-get (Debian package `chromium`)");
    let install = |update: bool| -> anyhow::Result<bool> {
        if update {
            std::process::Command::new("apt-get")
                .args(["update", "-qq"])
                .status()?;
        }
        Ok(std::process::Command::new("apt-get")
            .args(["install", "-y", "-qq", "chromium"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()?
            .success())
    };
    let installed_now = install(false).unwrap_or(false) || install(true).unwrap_or(false);
    match installed() {
        Some(path) if installed_now => Ok(path),
        _ => bail!(
            "Chromium is required for browser interop and could not be installed \
             (`apt-get install -y chromium` failed; run it as root, or set STRATA_CHROMIUM)"
        ),
    }
}

fn installed() -> Option<PathBuf> {
    CANDIDATE_PATHS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// A running headless Chromium with its own throw-away profile.
pub struct Chromium {
    child: Child,
    devtools_port: u16,
    log: LogTail,
    // Kept alive until the browser is gone; removed on drop.
    _profile: TempDir,
}

impl Chromium {
    /// Starts Chromium on `about:blank` and waits until its DevTools endpoint is up.
    ///
    /// Start it from the scenario's thread or runtime so it inherits the scenario's
    /// private network namespace.
    pub async fn launch(binary: &Path) -> anyhow::Result<Self> {
        let profile = tempfile::Builder::new()
            .prefix("strata-chromium-")
            .tempdir()?;
        let mut child = Command::new(binary)
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            // Its own process group, so renderer and utility processes die with it.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;

        let stderr = child
            .stderr
            .take()
            .context("chromium stderr not captured")?;
        let (port_tx, port_rx) = oneshot::channel();
        let mut port_tx = Some(port_tx);
        let log = LogTail::collect(stderr, LOG_LINES, move |line| {
            if port_tx.is_some()
                && let Some(port) = devtools_port(line)
                && let Some(tx) = port_tx.take()
            {
                let _ = tx.send(port);
            }
        });

        let Ok(Ok(devtools_port)) = tokio::time::timeout(START_TIMEOUT, port_rx).await else {
            let tail = log.last(40);
            bail!("chromium did not announce its DevTools port within {START_TIMEOUT:?}:\n{tail}");
        };
        Ok(Self {
            child,
            devtools_port,
            log,
            _profile: profile,
        })
    }

    /// Opens `url` in a new tab.
    pub async fn open(&self, url: &str) -> anyhow::Result<()> {
        let request = format!(
            "PUT /json/new?{url} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let mut stream = TcpStream::connect(("127.0.0.1", self.devtools_port))
            .await
            .context("cannot reach chromium's DevTools endpoint")?;
        stream.write_all(request.as_bytes()).await?;
        // The DevTools server keeps the connection open whatever the request says, so read
        // the status line only.
        let mut status = String::new();
        BufReader::new(stream).read_line(&mut status).await?;
        if !status.contains(" 200 ") {
            bail!("chromium refused to open {url}: {}", status.trim_end());
        }
        Ok(())
    }

    /// The last `lines` lines Chromium wrote to stderr (console output included).
    pub fn log_tail(&self, lines: usize) -> String {
        self.log.last(lines)
    }

    /// Kills the whole browser process group and waits for the main process to exit.
    pub async fn shutdown(mut self) {
        self.kill_group();
        let _ = self.child.wait().await;
    }

    fn kill_group(&self) {
        if let Some(pid) = self.child.id() {
            // The group id equals the main process id (process_group(0) above).
            let _ = killpg(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        self.kill_group();
    }
}

/// Parses `DevTools listening on ws://127.0.0.1:PORT/devtools/browser/...`.
fn devtools_port(line: &str) -> Option<u16> {
    let rest = line.strip_prefix("DevTools listening on ws://")?;
    let host_port = rest.split('/').next()?;
    host_port.rsplit(':').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devtools_port_is_read_from_the_announcement_line() {
        let line = "DevTools listening on ws://127.0.0.1:41235/devtools/browser/6c1d-4f";
        assert_eq!(devtools_port(line), Some(41235));
        assert_eq!(devtools_port("[123:WARNING] something else"), None);
        assert_eq!(
            devtools_port("DevTools listening on ws://127.0.0.1:notaport/x"),
            None
        );
    }
}
