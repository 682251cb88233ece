//! Half-open clients: ones that join and then never read while relays pile up for them,
//! ones that go silent without a FIN after joining, ones that go silent in the middle of
//! the HTTP handshake, and more silent sockets than `max_http_connections` allows. The
//! server drops each by its rule (slow-client queue limit, idle timeout after an
//! unanswered ping, handshake timeout, the bound on connections speaking HTTP), its
//! counts return to zero, and well-behaved clients meanwhile carry on.

mod harness;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use harness::{
    Raw, WAIT, await_metrics, metric, raw_upgrade, read_close_code, record_panics, start, token,
    write_join,
};
use serde_json::json;
use strata_signal::Permissions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A WebSocket client over a socket with a small receive buffer that joins `room` as
/// `peer` and is then left alone: it never reads again, never writes, never closes.
async fn joined_then_silent(
    server: &strata_server::Server,
    room: &str,
    token: &str,
    peer: &str,
) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(server.local_addr()).await.unwrap();
    raw_upgrade(&mut stream).await;
    write_join(
        &mut stream,
        json!({"room": room, "token": token, "peer_id": peer}),
    )
    .await;
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_never_read_are_cut_off_while_a_reader_gets_every_relay() {
    const NON_READERS: usize = 6;
    let panics = record_panics();
    let server = start(|c| {
        c.send_queue = 16;
        c.rate_limit_per_sec = 100_000.0;
        c.rate_limit_burst = 100_000.0;
    })
    .await;
    let addr = server.local_addr();
    let t = token(&server, "r", None, Permissions::PARTICIPANT);
    let (mut sender, _) = Raw::joined(&server, "r", &t, "sender").await;
    let (mut reader, _) = Raw::joined(&server, "r", &t, "reader").await;
    let mut stuck = Vec::new();
    for i in 0..NON_READERS {
        stuck.push(joined_then_silent(&server, "r", &t, &format!("stuck{i}")).await);
    }
    await_metrics(addr, WAIT, |m| {
        metric(m, "strata_participants") == 2 + NON_READERS as u64
    })
    .await;

    // Broadcasts of 4 kB: the non-readers' socket buffers fill, then their queues. The
    // sender waits for the reader to have each one before the next, so the reader's queue
    // never fills however the machine schedules it: only those who never read fall behind.
    let (progress, mut read_so_far) = tokio::sync::watch::channel(0u64);
    let reading = tokio::spawn(async move {
        let mut expected = 0u64;
        let mut left = 0;
        loop {
            let frame = reader.next().await.expect("the reader was disconnected");
            match frame["method"].as_str() {
                Some("message") => {
                    let data = &frame["params"]["data"];
                    if data["last"] == json!(true) {
                        return (reader, expected, left);
                    }
                    assert_eq!(data["seq"], json!(expected), "relay lost or reordered");
                    assert_eq!(data["pad"].as_str().map(str::len), Some(4000));
                    expected += 1;
                    progress.send_replace(expected);
                }
                Some("peer_left") => {
                    assert_eq!(frame["params"]["reason"], "disconnected", "{frame}");
                    left += 1;
                }
                Some("peer_joined") => {}
                _ => panic!("reader got {frame}"),
            }
        }
    });
    let pad = "p".repeat(4000);
    let mut sent = 0u64;
    loop {
        let response = sender
            .request("message", json!({"data": {"seq": sent, "pad": pad}}))
            .await;
        assert_eq!(response["result"], json!({}), "{response}");
        sent += 1;
        tokio::time::timeout(WAIT, read_so_far.wait_for(|&read| read >= sent))
            .await
            .expect("the reader fell behind")
            .expect("the reader stopped");
        if sent.is_multiple_of(64) {
            let m = harness::http(&server, "GET", "/metrics", None, None)
                .await
                .body;
            if metric(&m, "strata_participants") == 2 {
                break;
            }
        }
        assert!(sent < 20_000, "the non-readers were never cut off");
    }
    sender
        .request("message", json!({"to": "reader", "data": {"last": true}}))
        .await;
    let (reader, received, left) = tokio::time::timeout(WAIT, reading).await.unwrap().unwrap();
    assert_eq!(received, sent, "the reader missed relays");
    assert_eq!(left, NON_READERS, "peer_left for each non-reader");
    let metrics = await_metrics(addr, WAIT, |m| metric(m, "strata_connections") == 2).await;
    assert_eq!(
        metric(&metrics, "strata_slow_client_disconnects_total"),
        NON_READERS as u64
    );
    assert!(metric(&metrics, "strata_dropped_frames_total") >= NON_READERS as u64);

    drop((sender, reader, stuck));
    await_metrics(addr, WAIT, |m| {
        metric(m, "strata_connections") == 0 && metric(m, "strata_rooms") == 0
    })
    .await;
    server.shutdown().await;
    assert_eq!(panics.load(Ordering::SeqCst), 0, "the server panicked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one case, told in order
async fn silent_clients_are_dropped_by_the_idle_and_handshake_timeouts() {
    const SILENT: usize = 12;
    const MID_HANDSHAKE: usize = 8;
    /// Relays alice may have sent that bob has not read yet.
    const WINDOW: u64 = 64;
    let panics = record_panics();
    let server = start(|c| {
        c.ping_interval = Duration::from_millis(200);
        c.idle_timeout = Duration::from_millis(700);
        c.handshake_timeout = Duration::from_millis(500);
        c.rate_limit_per_sec = 10_000.0;
        c.rate_limit_burst = 10_000.0;
    })
    .await;
    let addr = server.local_addr();
    let t = token(&server, "r", None, Permissions::PARTICIPANT);
    let (mut alice, _) = Raw::joined(&server, "r", &t, "alice").await;
    let (mut bob, _) = Raw::joined(&server, "r", &t, "bob").await;

    // Joined, then silent: no reads (so no pongs), no writes, no FIN.
    let mut silent = Vec::new();
    for i in 0..SILENT {
        silent.push(joined_then_silent(&server, "r", &t, &format!("quiet{i}")).await);
    }
    // Silent in the middle of the upgrade request, or before sending anything.
    let mut half_shaken = Vec::new();
    for i in 0..MID_HANDSHAKE {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        if i % 2 == 0 {
            stream
                .write_all(b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n")
                .await
                .unwrap();
        }
        half_shaken.push(stream);
    }

    // Meanwhile alice and bob keep relaying, well past the timeouts. Alice keeps at most
    // a window of relays ahead of bob's reading: flat out, a loaded machine can leave
    // bob's reader behind by a whole send queue, and the server rightly drops a client
    // that slow.
    let bob_read = Arc::new(AtomicU64::new(0));
    let read_so_far = Arc::clone(&bob_read);
    let relaying = tokio::spawn(async move {
        let started = tokio::time::Instant::now();
        let mut seq = 0u64;
        while started.elapsed() < Duration::from_millis(2500) {
            if seq >= read_so_far.load(Ordering::SeqCst) + WINDOW {
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
            let response = alice
                .request("message", json!({"to": "bob", "data": seq}))
                .await;
            assert_eq!(response["result"], json!({}), "{response}");
            seq += 1;
        }
        (alice, seq)
    });
    let mut relaying = relaying;
    let mut finished: Option<(Raw, u64)> = None;
    let mut received = 0u64;
    let mut left = 0;
    loop {
        if let Some((_, sent)) = &finished
            && received == *sent
            && left == SILENT
        {
            break;
        }
        let frame = tokio::select! {
            frame = bob.next() => frame.expect("bob was disconnected"),
            done = &mut relaying, if finished.is_none() => {
                finished = Some(done.expect("alice's relays failed"));
                continue;
            }
        };
        match frame["method"].as_str() {
            Some("message") => {
                assert_eq!(
                    frame["params"]["data"],
                    json!(received),
                    "relay lost or reordered"
                );
                received += 1;
                bob_read.store(received, Ordering::SeqCst);
            }
            Some("peer_left") => {
                assert_eq!(frame["params"]["reason"], "disconnected", "{frame}");
                left += 1;
            }
            Some("peer_joined") => {}
            _ => panic!("bob got {frame}"),
        }
    }
    let (alice, sent) = finished.unwrap();
    assert_eq!((received, left), (sent, SILENT));

    // The silent ones were told why: a close frame with 1001 (going away).
    for mut stream in silent {
        let code = tokio::time::timeout(WAIT, read_close_code(&mut stream))
            .await
            .unwrap();
        assert_eq!(code, Some(1001));
    }
    // The half-shaken ones were closed without an upgrade.
    for mut stream in half_shaken {
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(WAIT, stream.read_to_end(&mut rest))
            .await
            .expect("a socket silent in the handshake was kept open");
        assert!(!String::from_utf8_lossy(&rest).contains(" 101 "));
    }
    let metrics = await_metrics(addr, WAIT, |m| metric(m, "strata_connections") == 2).await;
    assert_eq!(
        metric(&metrics, "strata_idle_disconnects_total"),
        SILENT as u64
    );
    assert_eq!(metric(&metrics, "strata_participants"), 2);

    drop((alice, bob));
    await_metrics(addr, WAIT, |m| {
        metric(m, "strata_connections") == 0 && metric(m, "strata_rooms") == 0
    })
    .await;
    server.shutdown().await;
    assert_eq!(panics.load(Ordering::SeqCst), 0, "the server panicked");
}

/// Whether the server closes `stream` (EOF or reset) within `within`, without a byte.
async fn closed_at_once(stream: &mut TcpStream, within: Duration) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(within, stream.read(&mut byte)).await,
        Ok(Ok(0) | Err(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_still_speaking_http_are_bounded_while_upgraded_ones_carry_on() {
    const SPEAKING: usize = 3;
    let panics = record_panics();
    let server = start(|c| {
        c.max_http_connections = SPEAKING;
        // Far beyond the test: only the bound can close the sockets below.
        c.handshake_timeout = Duration::from_mins(1);
    })
    .await;
    let addr = server.local_addr();
    let t = token(&server, "r", None, Permissions::PARTICIPANT);
    // Upgraded WebSockets leave the HTTP count: more of them than the bound.
    let mut joined = Vec::new();
    for i in 0..=SPEAKING {
        joined.push(Raw::joined(&server, "r", &t, &format!("peer{i}")).await.0);
    }
    // Sockets that connect and say nothing fill the bound...
    let mut silent = Vec::new();
    for _ in 0..SPEAKING {
        silent.push(TcpStream::connect(addr).await.unwrap());
    }
    // ...after which the server closes every new connection at once.
    for _ in 0..5 {
        let mut refused = TcpStream::connect(addr).await.unwrap();
        assert!(
            closed_at_once(&mut refused, WAIT).await,
            "a connection beyond the bound was kept"
        );
    }
    for stream in &mut silent {
        assert!(
            !closed_at_once(stream, Duration::from_millis(200)).await,
            "a connection within the bound was closed"
        );
    }
    // The joined clients are untouched.
    for client in &mut joined {
        let pong = client.request("ping", json!({})).await;
        assert_eq!(pong["result"], json!({}), "{pong}");
    }
    // Freeing one place lets HTTP in again, and the refusals were counted.
    drop(silent.pop());
    let deadline = tokio::time::Instant::now() + WAIT;
    let text = loop {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut raw = Vec::new();
        let _ = tokio::time::timeout(WAIT, stream.read_to_end(&mut raw)).await;
        if !raw.is_empty() {
            break String::from_utf8_lossy(&raw).into_owned();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "HTTP stayed refused after a place was freed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        metric(&text, "strata_http_connections_refused_total") >= 5,
        "{text}"
    );
    assert_eq!(panics.load(Ordering::SeqCst), 0);
}
