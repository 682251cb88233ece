//! coturn, the STUN/TURN server, started for a test inside its network namespace.
//!
//! Debian's `turnserver` (INTEROP.md): run in the foreground (`-n`, no config file), with
//! `--allow-loopback-peers` (otherwise every permission for a 127.x peer is refused) and a
//! relay range on loopback. Readiness is proven with a real STUN Binding request.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::net::UdpSocket;
use tokio::process::{Child, Command};

/// Username every started server accepts.
pub const USERNAME: &str = "strata";
/// Password for [`USERNAME`].
pub const PASSWORD: &str = "strata-secret";
/// Realm of every started server.
pub const REALM: &str = "strata.test";

/// How long coturn may take to answer its first Binding request.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Interval between readiness probes (UDP has no connection to wait for).
const PROBE_INTERVAL: Duration = Duration::from_millis(50);

/// Finds `turnserver`, installing Debian's `coturn` when it is missing. Call it before
/// isolating (installation needs the network).
pub fn find_or_install() -> anyhow::Result<PathBuf> {
    let installed = || {
        ["/usr/bin/turnserver", "/usr/local/bin/turnserver"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
    };
    if let Some(path) = installed() {
        return Ok(path);
    }
    eprintln!("coturn is not installed; installing it with apt-get (Debian package `coturn`)");
    let install = |update: bool| -> bool {
        if update {
            let _ = std::process::Command::new("apt-get")
                .args(["update", "-qq"])
                .status();
        }
        std::process::Command::new("apt-get")
            .args(["install", "-y", "-qq", "coturn"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    if !install(false) {
        install(true);
    }
    installed().context("coturn is required and could not be installed (`apt-get install -y coturn` failed; run as root)")
}

/// A running coturn, killed on drop.
pub struct Coturn {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Coturn {
    /// Starts coturn on `127.0.0.1` (a free port), relaying on loopback, with long-term
    /// credentials [`USERNAME`]/[`PASSWORD`]; returns once it answers STUN.
    pub async fn start(binary: &Path) -> anyhow::Result<Self> {
        let port = free_udp_port().await?;
        let dir = tempfile::Builder::new()
            .prefix("strata-coturn-")
            .tempdir()?;
        let relay_min = free_udp_port().await?.min(65_000);
        let mut child = Command::new(binary)
            .args([
                "-n",
                "--no-cli",
                "--no-tls",
                "--no-dtls",
                "--lt-cred-mech",
                "--allow-loopback-peers",
            ])
            .args([
                "-L",
                "127.0.0.1",
                "--relay-ip",
                "127.0.0.1",
                "--realm",
                REALM,
            ])
            .args(["--listening-port", &port.to_string()])
            .args([
                "--min-port",
                &relay_min.to_string(),
                "--max-port",
                &(relay_min + 100).to_string(),
            ])
            .args(["--user", &format!("{USERNAME}:{PASSWORD}")])
            .args(["--log-file", "stdout", "--no-stdout-log"])
            .arg("--pidfile")
            .arg(dir.path().join("turnserver.pid"))
            .arg("--userdb")
            .arg(dir.path().join("turndb"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        if let Err(error) = wait_until_answering(addr).await {
            let _ = child.kill().await;
            return Err(error);
        }
        Ok(Self {
            child,
            addr,
            _dir: dir,
        })
    }

    /// Where it listens (UDP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `stun:` URL of this server.
    pub fn stun_url(&self) -> String {
        format!("stun:{}", self.addr)
    }

    /// `turn:` URL of this server (UDP), credentials separate.
    pub fn turn_url(&self) -> String {
        format!("turn:{}?transport=udp", self.addr)
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            let _ = killpg(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
    }
}

async fn free_udp_port() -> anyhow::Result<u16> {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    Ok(socket.local_addr()?.port())
}

/// Sends STUN Binding requests until one is answered.
async fn wait_until_answering(server: SocketAddr) -> anyhow::Result<()> {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    // RFC 5389 Binding request: type 0x0001, length 0, magic cookie, transaction id.
    let mut request = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42];
    request.extend_from_slice(b"strata-ready");
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    let mut reply = [0u8; 512];
    while tokio::time::Instant::now() < deadline {
        socket.send_to(&request, server).await?;
        if let Ok(Ok((n, _))) =
            tokio::time::timeout(PROBE_INTERVAL, socket.recv_from(&mut reply)).await
            && n >= 20
            && reply[8..20] == request[8..20]
        {
            return Ok(());
        }
    }
    bail!("coturn did not answer STUN on {server} within {READY_TIMEOUT:?}")
}
