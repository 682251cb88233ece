//! Private network namespaces for interop scenarios.
//!
//! A scenario must not see the machine's real interfaces: Chromium and ICE agents would
//! gather the default-route address and multicast mDNS on it. [`isolate_current_thread`]
//! moves the calling thread into a fresh network namespace that holds only a loopback
//! interface. Linux keeps namespaces per thread and hands the creating thread's namespace
//! to every thread and process it starts, so a tokio runtime built afterwards on that
//! thread, every socket its tasks open, and every child process (Chromium included) live
//! in the same private namespace. The namespace disappears with its last thread and
//! process: nothing to clean up, even if a run is killed.

use std::process::Command;

use anyhow::{Context, bail};
use nix::sched::{CloneFlags, unshare};

/// Moves the calling thread into a new network namespace with `lo` up and nothing else.
///
/// Call it on a thread dedicated to one scenario, before creating any socket, runtime or
/// child process. Needs `CAP_SYS_ADMIN` (root), which development machines and CI have.
pub fn isolate_current_thread() -> anyhow::Result<()> {
    unshare(CloneFlags::CLONE_NEWNET).context(
        "cannot create a network namespace (unshare CLONE_NEWNET); interop scenarios need root",
    )?;
    // `ip` runs as a child of this thread, so it acts on the new namespace.
    let status = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()
        .context("cannot run `ip` (Debian package iproute2)")?;
    if !status.success() {
        bail!("`ip link set lo up` failed in the new namespace: {status}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interface_names() -> Vec<String> {
        let out = Command::new("ip")
            .args(["-o", "link", "show"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| line.split(':').nth(1).map(|name| name.trim().to_owned()))
            .collect()
    }

    #[test]
    fn isolated_thread_and_its_children_see_only_loopback() {
        std::thread::spawn(|| {
            isolate_current_thread().unwrap();
            assert_eq!(interface_names(), ["lo"]);
            // A thread started from the isolated thread inherits the namespace.
            let inner = std::thread::spawn(interface_names).join().unwrap();
            assert_eq!(inner, ["lo"]);
            // Loopback is up: a UDP datagram reaches its destination.
            let a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            a.send_to(b"ping", b.local_addr().unwrap()).unwrap();
            let mut buf = [0u8; 8];
            let (n, _) = b.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"ping");
        })
        .join()
        .unwrap();
    }

    #[test]
    fn isolation_leaves_other_threads_in_their_namespace() {
        let outside_before = interface_names();
        std::thread::spawn(|| isolate_current_thread().unwrap())
            .join()
            .unwrap();
        assert_eq!(interface_names(), outside_before);
    }
}
