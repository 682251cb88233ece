//! game-sync load: 8 transports in one room of an in-process `strata` server, each
//! broadcasting a 24-byte position 60 times a second over unreliable unordered channels
//! (what `examples/game_sync` does), for `SECONDS` seconds once the mesh has formed.
//!
//! Reported: the age of updates on arrival (receive instant − send instant, one clock:
//! the one-way delay through the whole stack, including the receivers' event handling),
//! p50 / p99 / max; the share of updates delivered; and CPU time per peer as a
//! percentage of one core (the process's user + system time over the wall time, divided
//! by the number of peers). The reference measured in the same run is the same traffic
//! through one Strata loopback pair's raw `DataChannel` (no Transport, one sender), so
//! the ratio shows what the mesh (8 senders, 7 receivers each, on 2 cores) adds to the
//! per-update age.
//!
//! `harness = false`: one run of fixed length, not a criterion loop.

mod loopback_pairs;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use strata::{ChannelMode, Message, Transport, TransportConfig, TransportEvent};
use strata_server::{Server, ServerConfig};
use tokio::task::JoinSet;

use loopback_pairs::{PATIENCE, median_p90};

const PEERS: usize = 8;
const RATE_HZ: u32 = 60;
const SECONDS: u64 = 10;

/// The process's user + system CPU time (`/proc/self/stat`, clock ticks of 10 ms).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let after_name = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    Duration::from_millis(ticks * 10)
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index]
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

async fn mesh_run() -> (Vec<Duration>, u64, f64) {
    let server = Server::start(ServerConfig {
        listen: "127.0.0.1:0".parse().expect("address"),
        dev_mode: true,
        rate_limit_per_sec: 10_000.0,
        rate_limit_burst: 10_000.0,
        ..ServerConfig::default()
    })
    .await
    .expect("server");
    let epoch = Instant::now();
    let ages = Arc::new(Mutex::new(Vec::with_capacity(
        PEERS * (PEERS - 1) * 60 * SECONDS as usize,
    )));
    let mut peers = JoinSet::new();
    let formed = Arc::new(tokio::sync::Barrier::new(PEERS + 1));
    let go = Arc::new(tokio::sync::Notify::new());
    for _ in 0..PEERS {
        let mut config = TransportConfig::new(server.ws_url(), "game");
        config.include_loopback = true;
        config.interfaces = vec!["lo".to_owned()];
        config.ipv6 = false;
        config.mdns = false;
        config.channel = ChannelMode::UnreliableUnordered { max_retransmits: 0 };
        let (ages, formed, go) = (Arc::clone(&ages), Arc::clone(&formed), Arc::clone(&go));
        peers.spawn(async move {
            let (transport, mut events) = Transport::new(config).expect("config");
            transport.start().await.expect("join");
            let mut connected = 0;
            while connected < PEERS - 1 {
                match tokio::time::timeout(PATIENCE, events.recv()).await {
                    Ok(Some(TransportEvent::PeerConnected { .. })) => connected += 1,
                    Ok(Some(_)) => {}
                    _ => panic!("the mesh did not form"),
                }
            }
            let notified = go.notified();
            formed.wait().await;
            notified.await;
            let stop = Instant::now() + Duration::from_secs(SECONDS);
            let mut tick = tokio::time::interval(Duration::from_secs(1) / RATE_HZ);
            let mut sent = 0_u64;
            let mut local = Vec::new();
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if Instant::now() >= stop {
                            break;
                        }
                        let at = u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
                        let mut update = at.to_be_bytes().to_vec();
                        update.extend_from_slice(&[0; 16]);
                        sent += transport.broadcast(update).await.sent as u64;
                    }
                    Some(event) = events.recv() => {
                        if let TransportEvent::Message { message: Message::Binary(data), .. } = event {
                            let at = u64::from_be_bytes(data[..8].try_into().expect("8 bytes"));
                            local.push(epoch.elapsed().saturating_sub(Duration::from_nanos(at)));
                        }
                    }
                }
            }
            // Updates still in flight at the stop.
            let drain = Instant::now() + Duration::from_millis(200);
            while let Ok(Some(event)) = tokio::time::timeout_at(drain.into(), events.recv()).await {
                if let TransportEvent::Message { message: Message::Binary(data), .. } = event {
                    let at = u64::from_be_bytes(data[..8].try_into().expect("8 bytes"));
                    local.push(epoch.elapsed().saturating_sub(Duration::from_nanos(at)));
                }
            }
            ages.lock().expect("ages").extend(local);
            transport.shutdown().await;
            sent
        });
    }
    formed.wait().await;
    let cpu_before = cpu_time();
    let wall = Instant::now();
    go.notify_waiters();
    let sent: u64 = peers.join_all().await.into_iter().sum();
    let cpu = cpu_time().saturating_sub(cpu_before);
    let cpu_per_peer = cpu.as_secs_f64() / wall.elapsed().as_secs_f64() / PEERS as f64 * 100.0;
    server.shutdown().await;
    let ages = std::mem::take(&mut *ages.lock().expect("ages"));
    (ages, sent, cpu_per_peer)
}

/// The same updates from one sender through one raw data-channel pair (the benches'
/// shared loopback pair, a reliable channel: on loss-free loopback it delivers as fast
/// as an unreliable one), for reference.
async fn pair_run() -> Vec<Duration> {
    let (pair, _) = loopback_pairs::strata_pair::connect().await;
    let epoch = Instant::now();
    let (sender, receiver) = (pair.sender.clone(), pair.receiver.clone());
    let reader = tokio::spawn(async move {
        let mut ages = Vec::new();
        while let Ok(Some(event)) =
            tokio::time::timeout(Duration::from_millis(500), receiver.recv()).await
        {
            if let strata::ChannelEvent::Message(Message::Binary(data)) = event {
                let at = u64::from_be_bytes(data[..8].try_into().expect("8 bytes"));
                ages.push(epoch.elapsed().saturating_sub(Duration::from_nanos(at)));
            }
        }
        ages
    });
    let mut tick = tokio::time::interval(Duration::from_secs(1) / RATE_HZ);
    for _ in 0..(u64::from(RATE_HZ) * SECONDS) {
        tick.tick().await;
        let at = u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let mut update = at.to_be_bytes().to_vec();
        update.extend_from_slice(&[0; 16]);
        let _ = sender.send(Bytes::from(update)).await;
    }
    let ages = reader.await.expect("reader");
    pair.close().await;
    ages
}

fn main() {
    // `cargo bench` passes `--bench`; a filter that does not match skips the run.
    let filter = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    if filter.is_some_and(|f| !"game_sync_updates".contains(&f)) {
        return;
    }
    let runtime = loopback_pairs::runtime();
    let (mut ages, sent, cpu_per_peer) = runtime.block_on(mesh_run());
    let mut pair = runtime.block_on(pair_run());
    ages.sort_unstable();
    pair.sort_unstable();
    let (pair_p50, _) = median_p90(&mut pair);
    let expected = (PEERS * (PEERS - 1)) as u64 * u64::from(RATE_HZ) * SECONDS;
    println!("game_sync_updates: {PEERS} peers x {RATE_HZ} Hz x {SECONDS} s, unreliable unordered");
    println!(
        "  updates received {} of {} sent ({:.2} %), {expected} scheduled",
        ages.len(),
        sent,
        ages.len() as f64 / sent.max(1) as f64 * 100.0
    );
    println!(
        "  age p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        millis(percentile(&ages, 0.5)),
        millis(percentile(&ages, 0.99)),
        millis(*ages.last().expect("updates"))
    );
    println!(
        "  reference (one raw pair, one sender): age p50 {:.2} ms  p99 {:.2} ms  -> mesh p50 = {:.1} x pair",
        millis(pair_p50),
        millis(percentile(&pair, 0.99)),
        percentile(&ages, 0.5).as_secs_f64() / pair_p50.as_secs_f64()
    );
    println!("  CPU per peer: {cpu_per_peer:.1} % of one core");
}
