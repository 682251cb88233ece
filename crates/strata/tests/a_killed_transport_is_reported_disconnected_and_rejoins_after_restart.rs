//! One of three transports dies without a shutdown — dropped in-process, and, the hard
//! case, a child process running it killed with SIGKILL (its sockets vanish, nothing
//! says goodbye): the others report it disconnected within the configured stale-peer
//! timeout. Started again under the same id, it rejoins the room and the mesh
//! reconnects.
//!
//! A test without the libtest harness: run with `STRATA_TRANSPORT_CHILD=<url>` the
//! binary is that child (it joins as `peer-c` and runs until killed).

mod room_harness;

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use room_harness::{config, connected, id, next, server, start};
use strata::{Message, TransportEvent, TransportEvents};

async fn disconnected(events: &mut TransportEvents) -> strata::PeerId {
    next(events, "a disconnection", |event| match event {
        TransportEvent::PeerDisconnected { peer, .. } => Some(peer),
        _ => None,
    })
    .await
}

const CHILD: &str = "STRATA_TRANSPORT_CHILD";

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if let Ok(url) = std::env::var(CHILD) {
        runtime.block_on(child(&url));
        return;
    }
    let started = Instant::now();
    runtime.block_on(
        a_killed_transport_is_reported_disconnected_and_rejoins_after_restart(Death::Dropped),
    );
    runtime.block_on(
        a_killed_transport_is_reported_disconnected_and_rejoins_after_restart(Death::Killed),
    );
    println!(
        "a_killed_transport_is_reported_disconnected_and_rejoins_after_restart ... ok ({:?})",
        started.elapsed()
    );
}

/// The child: `peer-c` in room `crash`, until killed.
async fn child(url: &str) {
    let (_transport, mut events) = start(config(url, "crash", "peer-c")).await;
    println!("ready");
    while events.recv().await.is_some() {}
}

#[derive(Debug, Clone, Copy)]
enum Death {
    /// The transport is dropped without `shutdown`.
    Dropped,
    /// The process running it gets SIGKILL.
    Killed,
}

async fn a_killed_transport_is_reported_disconnected_and_rejoins_after_restart(death: Death) {
    let server = server().await;
    let url = server.ws_url();
    let (a, mut a_events) = start(config(&url, "crash", "peer-a")).await;
    let (b, mut b_events) = start(config(&url, "crash", "peer-b")).await;
    let victim_config = config(&url, "crash", "peer-c");
    let stale = Duration::from_millis(victim_config.stale_peer_timeout_ms);
    let killed = match death {
        Death::Dropped => {
            let (victim, victim_events) = start(victim_config.clone()).await;
            connected(&mut a_events, 2).await;
            connected(&mut b_events, 2).await;
            let killed = Instant::now();
            drop(victim);
            drop(victim_events);
            killed
        }
        Death::Killed => {
            let mut child = Command::new(std::env::current_exe().unwrap())
                .env(CHILD, &url)
                .stdout(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .unwrap();
            let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
            assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("ready"));
            connected(&mut a_events, 2).await;
            connected(&mut b_events, 2).await;
            let killed = Instant::now();
            child.kill().await.unwrap();
            killed
        }
    };
    // Reported gone within the stale timeout (plus a check interval and scheduling).
    let limit = stale + Duration::from_secs(1);
    for events in [&mut a_events, &mut b_events] {
        let peer = tokio::time::timeout(limit, disconnected(events))
            .await
            .expect("reported within the configured timeout");
        assert_eq!(peer, id("peer-c"));
    }
    eprintln!(
        "{death:?}: both reported the dead peer after {:?}",
        killed.elapsed()
    );
    assert_eq!(a.list_peers().len(), 1);

    // Back under the same id: it connects to both as the newcomer.
    let (again, mut again_events) = start(victim_config).await;
    assert_eq!(
        connected(&mut again_events, 2).await,
        vec![id("peer-a"), id("peer-b")]
    );
    assert_eq!(connected(&mut a_events, 1).await, vec![id("peer-c")]);
    assert_eq!(connected(&mut b_events, 1).await, vec![id("peer-c")]);
    let stats = again.broadcast(&b"back"[..]).await;
    assert_eq!((stats.sent, stats.failed), (2, 0));
    for events in [&mut a_events, &mut b_events] {
        let message = next(events, "the message", |event| match event {
            TransportEvent::Message { message, .. } => Some(message),
            _ => None,
        })
        .await;
        assert_eq!(message, Message::Binary(bytes::Bytes::from_static(b"back")));
    }
    for transport in [&a, &b, &again] {
        transport.shutdown().await;
    }
    server.shutdown().await;
}
