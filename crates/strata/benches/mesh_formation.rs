//! Mesh formation: N transports join one room of an in-process `strata` server at once;
//! the time from the first `start` until every transport has reported its N − 1 peers
//! connected (N(N − 1)/2 connections). Measured for 8 and 16 peers.
//!
//! The reference measured in the same run is one Strata loopback pair's setup
//! (`loopback_pairs`), the unit a mesh is built of: the ratio says what forming a mesh
//! costs in pair setups. A 16-peer mesh also gives the memory per connected peer (the
//! process's resident set before and after, over the 240 peer links).
//!
//! First an interleaved run (pair, 8-mesh, 16-mesh, repeated) whose medians are the
//! reported numbers; then criterion measures each mesh size on its own.

mod loopback_pairs;

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use strata::{Transport, TransportConfig, TransportEvent};
use strata_server::{Server, ServerConfig};
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

use loopback_pairs::{PATIENCE, median_p90, rounds, rss_bytes, runtime, strata_pair};

/// Rounds of the interleaved run (`STRATA_BENCH_ROUNDS` overrides).
const ROUNDS: usize = 5;

async fn server() -> Server {
    Server::start(ServerConfig {
        listen: "127.0.0.1:0".parse().expect("address"),
        dev_mode: true,
        rate_limit_per_sec: 10_000.0,
        rate_limit_burst: 10_000.0,
        ..ServerConfig::default()
    })
    .await
    .expect("server")
}

/// Configured like the loopback pairs: `lo` only, IPv4, no mDNS.
fn config(url: &str, room: &str) -> TransportConfig {
    let mut config = TransportConfig::new(url, room);
    config.include_loopback = true;
    config.interfaces = vec!["lo".to_owned()];
    config.ipv6 = false;
    config.mdns = false;
    config.max_peers = 32;
    config
}

/// Forms a mesh of `peers` in a fresh room; returns how long it took and the transports
/// (still connected, for the caller to measure or shut down).
async fn form(url: &str, room: &str, peers: usize) -> (Duration, Vec<Transport>) {
    let started = Instant::now();
    let mut joining = JoinSet::new();
    for _ in 0..peers {
        let config = config(url, room);
        joining.spawn(async move {
            let (transport, mut events) = Transport::new(config).expect("config");
            transport.start().await.expect("join");
            let mut connected = 0;
            while connected < peers - 1 {
                match tokio::time::timeout(PATIENCE, events.recv()).await {
                    Ok(Some(TransportEvent::PeerConnected { .. })) => connected += 1,
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => panic!("the mesh did not form"),
                }
            }
            // Keep reading so the links never wait for us.
            tokio::spawn(async move { while events.recv().await.is_some() {} });
            transport
        });
    }
    let transports = joining.join_all().await;
    (started.elapsed(), transports)
}

async fn shutdown(transports: Vec<Transport>) {
    let mut closing = JoinSet::new();
    for transport in transports {
        closing.spawn(async move { transport.shutdown().await });
    }
    closing.join_all().await;
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn interleaved(runtime: &Runtime) {
    runtime.block_on(async {
        let server = server().await;
        let url = server.ws_url();
        let mut pair = Vec::new();
        let mut eight = Vec::new();
        let mut sixteen = Vec::new();
        let mut per_peer = Vec::new();
        // Warm-up.
        let (_, warm) = form(&url, "warm-up", 4).await;
        shutdown(warm).await;
        let rounds = rounds(ROUNDS);
        for round in 0..rounds {
            let (connected, setup) = strata_pair::connect().await;
            connected.close().await;
            pair.push(setup);
            let (took, transports) = form(&url, &format!("eight-{round}"), 8).await;
            shutdown(transports).await;
            eight.push(took);
            let before = rss_bytes();
            let (took, transports) = form(&url, &format!("sixteen-{round}"), 16).await;
            let after = rss_bytes();
            shutdown(transports).await;
            sixteen.push(took);
            per_peer.push(after.saturating_sub(before) / (16 * 15));
        }
        let (pair_median, _) = median_p90(&mut pair);
        let (eight_median, eight_p90) = median_p90(&mut eight);
        let (sixteen_median, sixteen_p90) = median_p90(&mut sixteen);
        per_peer.sort_unstable();
        let memory = per_peer[per_peer.len() / 2];
        println!("mesh_formation, interleaved, {rounds} rounds (median / p90):");
        println!("  one strata pair setup   {:8.1} ms", millis(pair_median));
        println!(
            "  8-peer mesh (28 conns)  {:8.1} / {:8.1} ms  = {:.1} pair setups",
            millis(eight_median),
            millis(eight_p90),
            eight_median.as_secs_f64() / pair_median.as_secs_f64()
        );
        println!(
            "  16-peer mesh (120)      {:8.1} / {:8.1} ms  = {:.1} pair setups",
            millis(sixteen_median),
            millis(sixteen_p90),
            sixteen_median.as_secs_f64() / pair_median.as_secs_f64()
        );
        println!(
            "  memory per connected peer in a 16-peer mesh: {:.1} KiB (median of RSS growth / 240)",
            memory as f64 / 1024.0
        );
        server.shutdown().await;
    });
}

fn mesh_formation(c: &mut Criterion) {
    loopback_pairs::trace_from_env();
    let runtime = runtime();
    interleaved(&runtime);
    let server = runtime.block_on(server());
    let url = server.ws_url();
    let mut group = c.benchmark_group("mesh_formation");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for peers in [8, 16] {
        let mut room = 0_u64;
        group.bench_function(format!("{peers}_peers"), |b| {
            b.iter_custom(|iterations| {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    room += 1;
                    runtime.block_on(async {
                        let (took, transports) =
                            form(&url, &format!("m{peers}-{room}"), peers).await;
                        shutdown(transports).await;
                        total += took;
                    });
                }
                total
            });
        });
    }
    group.finish();
    runtime.block_on(server.shutdown());
}

criterion_group!(benches, mesh_formation);
criterion_main!(benches);
