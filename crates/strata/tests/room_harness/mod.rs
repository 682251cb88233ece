//! Transports in rooms of a real `strata` signaling server started in-process, on
//! loopback: the server, short timeouts for tests, and waiting for events.

// Each test binary uses its own subset of this module.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use strata::{PeerId, Transport, TransportConfig, TransportEvent, TransportEvents};
use strata_server::{Server, ServerConfig};

/// How long any one thing may take before the test fails.
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);

/// Starts a signaling server in dev mode (no tokens) on `addr` (port 0: any).
pub(crate) async fn server_on(addr: SocketAddr) -> Server {
    let config = ServerConfig {
        listen: addr,
        dev_mode: true,
        // Many transports of one test share the loopback address.
        rate_limit_per_sec: 1000.0,
        rate_limit_burst: 1000.0,
        shutdown_grace: Duration::from_millis(500),
        ..ServerConfig::default()
    };
    Server::start(config).await.expect("the server starts")
}

/// Starts a signaling server in dev mode on a free port.
pub(crate) async fn server() -> Server {
    server_on("127.0.0.1:0".parse().unwrap()).await
}

/// A configuration for `room` on `server` with timeouts short enough for tests.
pub(crate) fn config(url: &str, room: &str, id: &str) -> TransportConfig {
    let mut config = TransportConfig::new(url, room);
    config.peer_id = Some(id.to_owned());
    config.include_loopback = true;
    // Short enough to see failures quickly, long enough for a loaded CI machine.
    config.ice_timeout_ms = 2_000;
    config.connection_timeout_ms = 15_000;
    config.stale_peer_timeout_ms = 4_000;
    config.probe_interval_ms = 200;
    config.reconnect.initial_delay_ms = 100;
    config.reconnect.max_delay_ms = 1_000;
    config
}

/// Creates and starts a transport.
pub(crate) async fn start(config: TransportConfig) -> (Transport, TransportEvents) {
    let (transport, events) = Transport::new(config).expect("a valid configuration");
    transport.start().await.expect("the transport joins");
    (transport, events)
}

/// The first event `pick` accepts, within [`PATIENCE`]; other events are skipped.
pub(crate) async fn next<T>(
    events: &mut TransportEvents,
    what: &str,
    mut pick: impl FnMut(TransportEvent) -> Option<T>,
) -> T {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let event = events.recv().await.expect("the event stream ended");
            if let Some(found) = pick(event) {
                return found;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {what} within {PATIENCE:?}"))
}

/// Waits until `events` reported `count` distinct peers connected; returns them.
pub(crate) async fn connected(events: &mut TransportEvents, count: usize) -> Vec<PeerId> {
    let mut peers = Vec::new();
    while peers.len() < count {
        let peer = next(events, "peer connected", |event| match event {
            TransportEvent::PeerConnected { peer } => Some(peer),
            _ => None,
        })
        .await;
        if !peers.contains(&peer) {
            peers.push(peer);
        }
    }
    peers.sort();
    peers
}

pub(crate) fn id(s: &str) -> PeerId {
    PeerId::new(s).unwrap()
}
