//! A peer that runs as a child process and talks through lines on stdin and stdout: the
//! JSON-line signaling of Strata's `offer` and `answer` examples, and the chat after it.
//!
//! Its stderr is kept in a bounded ring for failure reports, and can be waited on for a
//! line (a program's report that it is connected, say). The child runs in a process
//! group of its own, killed when the [`PipedPeer`] is dropped.

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::log_tail::LogTail;

/// How many stderr lines are kept for a failure report (and searched by
/// [`PipedPeer::wait_for_stderr`]).
pub const LOG_LINES: usize = 200;

/// A running child process spoken to in lines.
pub struct PipedPeer {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
    log: LogTail,
}

impl PipedPeer {
    /// Starts `command` with piped stdin, stdout and stderr; `name` labels its reports.
    ///
    /// Start it from the scenario's runtime, so it inherits the private network namespace.
    pub fn spawn(name: &str, mut command: Command) -> anyhow::Result<Self> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        let stdin = child.stdin.take().context("stdin not captured")?;
        let stdout = child.stdout.take().context("stdout not captured")?;
        let stderr = child.stderr.take().context("stderr not captured")?;
        let log = LogTail::collect(stderr, LOG_LINES, |_| {});
        Ok(Self {
            name: name.to_owned(),
            child,
            stdin: Some(stdin),
            stdout: BufReader::new(stdout).lines(),
            log,
        })
    }

    /// The next stdout line, waiting at most `limit`.
    pub async fn read_line(&mut self, limit: Duration) -> anyhow::Result<String> {
        match tokio::time::timeout(limit, self.stdout.next_line()).await {
            Ok(Ok(Some(line))) => Ok(line),
            Ok(Ok(None)) => bail!(
                "{} closed its stdout; its stderr:\n{}",
                self.name,
                self.log_tail(40)
            ),
            Ok(Err(error)) => Err(error).with_context(|| format!("reading {}'s stdout", self.name)),
            Err(_) => bail!(
                "{} printed no line within {limit:?}; its stderr:\n{}",
                self.name,
                self.log_tail(40)
            ),
        }
    }

    /// Writes `line` and a line ending to its stdin.
    pub async fn write_line(&mut self, line: &str) -> anyhow::Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .with_context(|| format!("{}'s stdin is closed already", self.name))?;
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        stdin
            .write_all(&bytes)
            .await
            .with_context(|| format!("writing to {}'s stdin", self.name))?;
        stdin.flush().await?;
        Ok(())
    }

    /// Closes its stdin (end of input).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits at most `limit` for it to exit and returns its status.
    pub async fn wait(&mut self, limit: Duration) -> anyhow::Result<ExitStatus> {
        match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(status) => Ok(status?),
            Err(_) => bail!(
                "{} did not exit within {limit:?}; its stderr:\n{}",
                self.name,
                self.log_tail(40)
            ),
        }
    }

    /// Waits at most `limit` for it to exit, and fails unless it exited with status 0.
    pub async fn expect_success(&mut self, limit: Duration) -> anyhow::Result<()> {
        let status = self.wait(limit).await?;
        if !status.success() {
            bail!(
                "{} exited with {status}; its stderr:\n{}",
                self.name,
                self.log_tail(40)
            );
        }
        Ok(())
    }

    /// Waits at most `limit` until it has written `times` stderr lines containing
    /// `needle` (counted among the last [`LOG_LINES`] lines).
    pub async fn wait_for_stderr(
        &self,
        needle: &str,
        times: usize,
        limit: Duration,
    ) -> anyhow::Result<()> {
        match tokio::time::timeout(limit, self.log.wait_for(needle, times)).await {
            Ok(true) => Ok(()),
            Ok(false) => bail!(
                "{} closed its stderr before writing {needle:?} {times} times; its stderr:\n{}",
                self.name,
                self.log_tail(40)
            ),
            Err(_) => bail!(
                "{} did not write {needle:?} {times} times within {limit:?}; its stderr:\n{}",
                self.name,
                self.log_tail(40)
            ),
        }
    }

    /// Sends it SIGINT (what Ctrl-C in a terminal sends), to test a clean interruption.
    pub fn interrupt(&self) -> anyhow::Result<()> {
        let pid = self.child.id().context("the process has already exited")?;
        nix::sys::signal::kill(Pid::from_raw(pid as i32), Signal::SIGINT)
            .with_context(|| format!("cannot interrupt {}", self.name))
    }

    /// The last `lines` lines it wrote to stderr.
    pub fn log_tail(&self, lines: usize) -> String {
        self.log.last(lines)
    }
}

impl Drop for PipedPeer {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            // The group id equals the child's id (process_group(0) above).
            let _ = killpg(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
    }
}
