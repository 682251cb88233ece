//! Eight transports join one room of a real server: the 28 connections of a full mesh
//! form by themselves, every broadcast reaches the seven others, and `list_peers` shows
//! seven connected peers with a measured round-trip time.

mod room_harness;

use std::collections::HashSet;
use std::time::Instant;

use room_harness::{PATIENCE, config, connected, id, next, server, start};
use strata::{Message, PeerState, TransportEvent};

const PEERS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_transports_form_a_full_mesh_and_every_broadcast_reaches_all_others() {
    let server = server().await;
    let url = server.ws_url();
    let started = Instant::now();
    let mut transports = Vec::new();
    for i in 0..PEERS {
        transports.push(start(config(&url, "mesh", &format!("peer-{i}"))).await);
    }
    for (i, (_, events)) in transports.iter_mut().enumerate() {
        let peers = connected(events, PEERS - 1).await;
        let expected: Vec<_> = (0..PEERS)
            .filter(|&j| j != i)
            .map(|j| id(&format!("peer-{j}")))
            .collect();
        assert_eq!(peers, expected, "peer-{i}'s mesh");
    }
    eprintln!("mesh of {PEERS} formed in {:?}", started.elapsed());

    // Every transport broadcasts; every other one receives each broadcast once.
    for (i, (transport, _)) in transports.iter().enumerate() {
        let stats = transport.broadcast(format!("from {i}").into_bytes()).await;
        assert_eq!(
            (stats.sent, stats.failed),
            (PEERS - 1, 0),
            "peer-{i}'s broadcast"
        );
    }
    for (i, (_, events)) in transports.iter_mut().enumerate() {
        let mut heard = HashSet::new();
        while heard.len() < PEERS - 1 {
            let (peer, message) = next(events, "broadcast", |event| match event {
                TransportEvent::Message { peer, message } => Some((peer, message)),
                _ => None,
            })
            .await;
            let Message::Binary(data) = message else {
                panic!("a text message from {peer}");
            };
            let sender = peer.as_str().strip_prefix("peer-").unwrap().to_owned();
            assert_eq!(data, format!("from {sender}").as_bytes());
            assert!(heard.insert(peer.clone()), "peer-{i} heard {peer} twice");
        }
        assert!(!heard.contains(&id(&format!("peer-{i}"))));
    }

    // Probes measure every link.
    for (i, (transport, _)) in transports.iter().enumerate() {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let peers = transport.list_peers();
            assert_eq!(peers.len(), PEERS - 1, "peer-{i}'s peers");
            let measured = peers.iter().all(|p| {
                p.state == PeerState::Connected
                    && p.rtt.is_some_and(|rtt| !rtt.is_zero())
                    && p.messages_received == 1
                    && p.messages_sent == 1
                    && p.connected_since.is_some()
            });
            if measured {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "peer-{i}'s links unmeasured: {peers:#?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    for (transport, _) in &transports {
        transport.shutdown().await;
    }
    server.shutdown().await;
}
