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

/// Runs `body` on a fresh thread moved into its own loopback-only network namespace, on a
/// tokio runtime whose threads, sockets and child processes all live there, and returns its
/// output. For tests that must see only loopback (candidate gathering, peer processes).
///
/// # Panics
///
/// When the namespace or runtime cannot be created (not root), and when `body` panics: the
/// panic is re-raised on the calling thread, so a failing assertion fails the calling test.
pub fn run_isolated<F, Fut>(body: F) -> Fut::Output
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future + 'static,
    Fut::Output: Send + 'static,
{
    let thread = std::thread::spawn(move || {
        if let Err(error) = isolate_current_thread() {
            panic!("cannot isolate the test in a network namespace: {error:#}");
        }
        // Built after isolation: its worker threads inherit the namespace.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap_or_else(|error| panic!("cannot build a tokio runtime: {error}"));
        runtime.block_on(body())
    });
    match thread.join() {
        Ok(output) => output,
        Err(panic) => std::panic::resume_unwind(panic),
    }
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
    fn run_isolated_runs_the_body_in_a_loopback_only_namespace() {
        let names = run_isolated(|| async { interface_names() });
        assert_eq!(names, ["lo"]);
    }

    #[test]
    #[should_panic(expected = "body failed")]
    fn run_isolated_propagates_panics() {
        run_isolated(|| async { panic!("body failed") });
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
