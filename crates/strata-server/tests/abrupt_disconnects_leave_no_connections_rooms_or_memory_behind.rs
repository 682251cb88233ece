//! 10,000 connections that end abruptly — TCP connects dropped before or during the HTTP
//! handshake, WebSocket upgrades dropped right after, joins dropped without a leave or
//! in the middle of a frame, half of them with a reset (`SO_LINGER` 0) instead of a FIN —
//! against the real `strata` binary. Afterwards the server reports no connections, rooms
//! or participants, its resident set is back within a stated bound of what it was after
//! a warm-up round, it never panicked, and it still exits cleanly.

mod harness;

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use harness::{
    Binary, WAIT, await_metrics, frame_header, metric, opcode, raw_upgrade, spawn_binary,
    write_join,
};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::Child;
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::Message;

/// Abrupt connections of the measured round.
const ROUND: usize = 10_000;
/// Abrupt connections of the warm-up round (allocator arenas, buffers, the timer wheel
/// reach their working size).
const WARM_UP: usize = 2_000;
/// Connections in flight at once.
const CONCURRENCY: usize = 48;
/// How far the resident set may stay above its post-warm-up value.
const RSS_BOUND_KIB: u64 = 4 * 1024;

/// A reset instead of a FIN when the socket is dropped.
fn reset_on_drop(stream: &TcpStream) {
    socket2::SockRef::from(stream)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
}

/// One abrupt connection of kind `n % 6`; returns whether it got as far as a join.
async fn abrupt(addr: SocketAddr, n: usize) -> bool {
    let reset = (n / 6) % 2 == 1;
    match n % 6 {
        // Connect, and go.
        0 => {
            let stream = TcpStream::connect(addr).await.unwrap();
            if reset {
                reset_on_drop(&stream);
            }
            false
        }
        // Half an upgrade request, and go.
        1 => {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            reset_on_drop(&stream);
            let _ = stream
                .write_all(b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: webso")
                .await;
            false
        }
        // A full upgrade, dropped at once.
        2 | 3 => {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            raw_upgrade(&mut stream).await;
            if reset {
                reset_on_drop(&stream);
            }
            false
        }
        // A join, dropped without a leave.
        4 => {
            let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
                .await
                .unwrap();
            let join = json!({"jsonrpc": "2.0", "id": 1, "method": "join",
                "params": {"room": format!("churn-{}", n % 37)}});
            ws.send(Message::Text(join.to_string().into()))
                .await
                .unwrap();
            let answer = tokio::time::timeout(WAIT, ws.next()).await.unwrap();
            let answer = answer.unwrap().unwrap();
            assert!(answer.to_text().unwrap().contains("\"result\""), "{answer}");
            if let MaybeTlsStream::Plain(stream) = ws.get_ref()
                && reset
            {
                reset_on_drop(stream);
            }
            true
        }
        // A join, then half a frame, and go (with a reset).
        _ => {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            raw_upgrade(&mut stream).await;
            write_join(&mut stream, json!({"room": format!("churn-{}", n % 37)})).await;
            // The answer: a text frame holding the join result.
            let mut head = [0u8; 4];
            tokio::time::timeout(WAIT, stream.read_exact(&mut head))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(head[0] & 0x0f, opcode::TEXT);
            let message = json!({"jsonrpc": "2.0", "id": 2, "method": "message",
                "params": {"data": "x".repeat(500)}})
            .to_string();
            let _ = stream
                .write_all(&frame_header(opcode::TEXT, true, message.len() as u64))
                .await;
            let _ = stream.write_all(&message.as_bytes()[..100]).await;
            reset_on_drop(&stream);
            true
        }
    }
}

/// Runs `count` abrupt connections starting at kind `offset`; returns how many joined.
async fn round(addr: SocketAddr, offset: usize, count: usize) -> usize {
    futures_util::stream::iter(offset..offset + count)
        .map(|n| abrupt(addr, n))
        .buffer_unordered(CONCURRENCY)
        .filter(|joined| std::future::ready(*joined))
        .count()
        .await
}

/// Waits until the server holds no connection, room or participant.
async fn await_empty(addr: SocketAddr) -> String {
    await_metrics(addr, Duration::from_secs(30), |m| {
        metric(m, "strata_connections") == 0
            && metric(m, "strata_rooms") == 0
            && metric(m, "strata_participants") == 0
    })
    .await
}

fn rss_kib(child: &Child) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id().unwrap())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abrupt_disconnects_leave_no_connections_rooms_or_memory_behind() {
    let Binary {
        mut child,
        addr,
        stdout: mut lines,
        ..
    } = spawn_binary(
        &[
            "--listen",
            "127.0.0.1:0",
            "--dev",
            "--rate-limit",
            "1000",
            "--rate-burst",
            "1000",
        ],
        Stdio::piped(),
    )
    .await;
    // Keep everything the server writes to stderr: a panic message would show there.
    let stderr = Arc::new(Mutex::new(String::new()));
    let mut err_lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let collected = Arc::clone(&stderr);
    tokio::spawn(async move {
        while let Ok(Some(line)) = err_lines.next_line().await {
            let mut all = collected.lock().unwrap();
            all.push_str(&line);
            all.push('\n');
        }
    });
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let warm_joins = round(addr, 0, WARM_UP).await;
    await_empty(addr).await;
    let baseline = rss_kib(&child);

    let joins = round(addr, WARM_UP, ROUND).await;
    let metrics = await_empty(addr).await;
    let after = rss_kib(&child);

    assert!(
        metric(&metrics, "strata_joins_total") >= (warm_joins + joins) as u64,
        "joins went missing:\n{metrics}"
    );
    assert!(metric(&metrics, "strata_connections_accepted_total") >= (warm_joins + joins) as u64);
    assert!(
        after <= baseline + RSS_BOUND_KIB,
        "resident set grew from {baseline} KiB to {after} KiB over {ROUND} abrupt connections"
    );
    eprintln!("RSS after warm-up {baseline} KiB, after {ROUND} abrupt connections {after} KiB");

    assert!(child.try_wait().unwrap().is_none(), "strata died");
    kill(Pid::from_raw(child.id().unwrap() as i32), Signal::SIGTERM).unwrap();
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "strata exited with {status}");
    let stderr = stderr.lock().unwrap().clone();
    assert!(!stderr.contains("panicked"), "strata panicked:\n{stderr}");
}
