//! Signaling under load: the `strata` server and the `strata-loadgen` client fleet as two
//! processes on loopback.
//!
//! Reports relayed messages per second, relay latency at a fixed rate, and the server's
//! resident memory per idle connected client, plus how the CPU time split between server
//! and load generator (both share this machine's cores). Arguments: `--quick` runs a
//! smaller fleet for a smoke check; other arguments (`--bench`, filters) are ignored
//! unless a filter excludes `signaling`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

const SECRET: &str = "bench-secret-0123456789abcdef";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    if !filters.is_empty()
        && !filters
            .iter()
            .any(|f| "signaling_load".contains(f.as_str()))
    {
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let clients: u32 = if quick { 500 } else { 5000 };
    let seconds = if quick { 2 } else { 5 };

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port");
    let mut server = spawn_server(port);
    let server_pid = server.id();
    wait_for_line(&mut server, "listening on");
    std::thread::sleep(Duration::from_millis(200));
    let rss_before = rss_kib(server_pid);

    let mut loadgen = spawn_loadgen(port, clients, seconds);
    let loadgen_pid = loadgen.id();
    let mut stdin = loadgen.stdin.take().expect("loadgen stdin");
    let mut lines = BufReader::new(loadgen.stdout.take().expect("loadgen stdout")).lines();
    let mut next_line = || -> String {
        lines
            .next()
            .and_then(Result::ok)
            .expect("strata-loadgen stopped early")
    };

    let ready = next_line();
    // Let allocations settle, then measure idle memory.
    std::thread::sleep(Duration::from_secs(1));
    let rss_idle = rss_kib(server_pid);
    let per_client = (rss_idle.saturating_sub(rss_before)) as f64 / f64::from(clients);
    go(&mut stdin);

    let mut report = vec![
        format!("signaling_load: {clients} clients in rooms of 10 ({ready})"),
        format!(
            "  server RSS: {rss_before} KiB empty, {rss_idle} KiB with {clients} idle clients -> {per_client:.1} KiB per idle client (target <= 30)"
        ),
    ];
    let mut cpu_mark = (
        cpu_ticks(server_pid),
        cpu_ticks(loadgen_pid),
        Instant::now(),
    );
    loop {
        let line = next_line();
        if line.starts_with("START") {
            cpu_mark = (
                cpu_ticks(server_pid),
                cpu_ticks(loadgen_pid),
                Instant::now(),
            );
            continue;
        }
        let (server_ticks, loadgen_ticks, at) = cpu_mark;
        let wall = at.elapsed().as_secs_f64();
        let ticks_per_sec = 100.0;
        let server_cpu = (cpu_ticks(server_pid) - server_ticks) as f64 / ticks_per_sec / wall;
        let loadgen_cpu = (cpu_ticks(loadgen_pid) - loadgen_ticks) as f64 / ticks_per_sec / wall;
        report.push(format!("  {line}"));
        report.push(format!(
            "    cpu: server {:.0}% of a core, load generator {:.0}% of a core (2 cores in all; load average {})",
            server_cpu * 100.0,
            loadgen_cpu * 100.0,
            load_average()
        ));
        if let Some(relayed) = field(&line, "relayed_per_sec")
            && server_cpu > 0.0
        {
            report.push(format!(
                "    server cost: {:.0} relayed messages per server CPU-second",
                relayed / server_cpu
            ));
        }
        if line.starts_with("DONE") {
            report.pop();
            report.pop();
            break;
        }
    }
    let status = loadgen.wait().expect("loadgen wait");
    let _ = server.kill();
    let _ = server.wait();
    for line in &report {
        println!("{line}");
    }
    assert!(status.success(), "strata-loadgen failed: {status}");
}

fn spawn_server(port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--jwt-secret",
            SECRET,
            "--max-participants",
            "10",
            "--rate-limit",
            "100000",
            "--rate-burst",
            "100000",
            "--send-queue",
            "1024",
            "--max-connections",
            "20000",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cannot start strata")
}

fn spawn_loadgen(port: u16, clients: u32, seconds: u64) -> Child {
    Command::new(env!("CARGO_BIN_EXE_strata-loadgen"))
        .args([
            "--url",
            &format!("ws://127.0.0.1:{port}/ws"),
            "--secret",
            SECRET,
            "--clients",
            &clients.to_string(),
            "--room-size",
            "10",
            "--seconds",
            &seconds.to_string(),
            "--rate",
            "10000,2000",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cannot start strata-loadgen")
}

/// The number after `key=` in a `key=value` line.
fn field(line: &str, key: &str) -> Option<f64> {
    line.split_whitespace()
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
}

/// The one-minute load average: how much else competed for the cores.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_default()
}

fn go(stdin: &mut ChildStdin) {
    stdin.write_all(b"GO\n").expect("loadgen stdin");
    stdin.flush().expect("loadgen stdin");
}

fn wait_for_line(child: &mut Child, needle: &str) {
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        if line.expect("server stdout").contains(needle) {
            // Keep draining in the background so the server never blocks on stdout.
            std::thread::spawn(move || for _ in lines {});
            return;
        }
    }
    panic!("strata exited before printing {needle:?}");
}

/// Resident set size of `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

/// User + system CPU time of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("proc stat");
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let parse = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    parse(11) + parse(12)
}
