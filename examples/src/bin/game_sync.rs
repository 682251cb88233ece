//! `game_sync`: a game client's position sync over a [`strata::Transport`] mesh. Every
//! process joins one room of a `strata` server, broadcasts its position 60 times a
//! second over unreliable unordered channels (a stale position is worthless; a lost one
//! is replaced 16 ms later), and prints one line per second:
//!
//! ```text
//! t=3s peers=2 updates/s peer-1a2b=60 peer-3c4d=59 age p50=0.42ms p99=1.35ms
//! ```
//!
//! The age of an update is the receiver's clock minus the sender's at sending: one-way
//! delay when both run on one machine (or on clocks kept in sync). At the end (after
//! `--duration` seconds, or Ctrl-C) it prints a `total` line with the same figures over
//! the whole run, and leaves the room.
//!
//! ```text
//! cargo run --release -p strata-server -- --dev &
//! cargo run -p strata-examples --bin game_sync -- --include-loopback   # in 2+ terminals
//! ```

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use strata::{ChannelMode, Message, PeerId, TransportConfig, TransportEvent};
use strata_examples::join_transport_room;

/// Age samples kept per reporting second and over the run; beyond them samples are
/// dropped (and counted), so a flood cannot grow memory.
const MAX_SAMPLES: usize = 200_000;

/// Bytes of one update: sequence number, send time (µs since the Unix epoch), x, y.
const UPDATE_LEN: usize = 24;

/// Broadcast a position 60 times a second to everyone in a room, and report what arrives.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Args {
    /// The server's WebSocket URL.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws", value_name = "URL")]
    server: String,
    /// The room to join.
    #[arg(long, default_value = "game")]
    room: String,
    /// The room token (not needed by a server in `--dev` mode).
    #[arg(long)]
    token: Option<String>,
    /// Our peer id [default: a random one].
    #[arg(long)]
    id: Option<String>,
    /// A JSON or TOML `TransportConfig` to start from (the flags above override it).
    #[arg(long, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    /// Updates per second.
    #[arg(long, default_value_t = 60)]
    rate: u32,
    /// Seconds to run; 0 runs until Ctrl-C.
    #[arg(long, default_value_t = 0)]
    duration: u64,
    /// Gather `127.0.0.1` candidates (peers on this machine only).
    #[arg(long)]
    include_loopback: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    strata_examples::init_logging();
    strata_examples::exit_code("game_sync", run(args).await)
}

fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

fn encode_update(seq: u64, x: f32, y: f32) -> Vec<u8> {
    let mut update = Vec::with_capacity(UPDATE_LEN);
    update.extend_from_slice(&seq.to_be_bytes());
    update.extend_from_slice(&unix_micros().to_be_bytes());
    update.extend_from_slice(&x.to_be_bytes());
    update.extend_from_slice(&y.to_be_bytes());
    update
}

/// The send time of an update, if it has the update's shape.
fn sent_at(message: &Message) -> Option<u64> {
    let Message::Binary(data) = message else {
        return None;
    };
    if data.len() != UPDATE_LEN {
        return None;
    }
    Some(u64::from_be_bytes(data[8..16].try_into().ok()?))
}

/// Ages and counts over one period.
#[derive(Default)]
struct Window {
    updates: BTreeMap<PeerId, u64>,
    ages_us: Vec<u64>,
    dropped_samples: u64,
}

impl Window {
    fn record(&mut self, peer: PeerId, age_us: u64) {
        *self.updates.entry(peer).or_default() += 1;
        if self.ages_us.len() < MAX_SAMPLES {
            self.ages_us.push(age_us);
        } else {
            self.dropped_samples += 1;
        }
    }

    fn percentiles(&mut self) -> String {
        if self.ages_us.is_empty() {
            return "age p50=- p99=-".to_owned();
        }
        self.ages_us.sort_unstable();
        let at = |q: f64| {
            let index = ((self.ages_us.len() - 1) as f64 * q).round() as usize;
            self.ages_us[index] as f64 / 1000.0
        };
        format!("age p50={:.2}ms p99={:.2}ms", at(0.5), at(0.99))
    }

    fn line(&mut self, label: &str, peers: usize) -> String {
        let updates: Vec<String> = self
            .updates
            .iter()
            .map(|(peer, count)| format!("{peer}={count}"))
            .collect();
        let ages = self.percentiles();
        format!("{label} peers={peers} updates {} {ages}", updates.join(" "))
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let mut config = match &args.config {
        Some(path) => TransportConfig::from_file(path)?,
        None => TransportConfig::default(),
    };
    config.signaling_url = args.server.clone();
    config.room = args.room.clone();
    if args.token.is_some() {
        config.token = args.token.clone();
    }
    if args.id.is_some() {
        config.peer_id = args.id.clone();
    }
    config.include_loopback |= args.include_loopback;
    config.channel = ChannelMode::UnreliableUnordered { max_retransmits: 0 };
    let (transport, mut events) = join_transport_room(config).await?;

    let mut send = tokio::time::interval(Duration::from_secs(1) / args.rate.max(1));
    send.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut report = tokio::time::interval(Duration::from_secs(1));
    report.tick().await;
    let run_for = async {
        if args.duration == 0 {
            let _ = tokio::signal::ctrl_c().await;
        } else {
            tokio::time::sleep(Duration::from_secs(args.duration)).await;
        }
    };
    tokio::pin!(run_for);
    let mut second = Window::default();
    let mut total = Window::default();
    let (mut seq, mut malformed, mut seconds) = (0_u64, 0_u64, 0_u64);
    loop {
        tokio::select! {
            () = &mut run_for => break,
            _ = send.tick() => {
                seq += 1;
                let phase = seq as f32 / 60.0;
                transport.broadcast(encode_update(seq, phase.cos(), phase.sin())).await;
            }
            _ = report.tick() => {
                seconds += 1;
                let peers = transport.list_peers().len();
                println!("{}", second.line(&format!("t={seconds}s"), peers));
                second = Window::default();
            }
            event = events.recv() => match event {
                Some(TransportEvent::Message { peer, message }) => match sent_at(&message) {
                    Some(sent) => {
                        let age = unix_micros().saturating_sub(sent);
                        second.record(peer.clone(), age);
                        total.record(peer, age);
                    }
                    None => malformed += 1,
                },
                Some(TransportEvent::PeerConnected { peer }) => eprintln!("connected to {peer}"),
                Some(TransportEvent::PeerDisconnected { peer, reason }) => {
                    eprintln!("{peer} left ({reason:?})");
                }
                Some(TransportEvent::PeerFailed { peer, error }) => eprintln!("{peer}: {error}"),
                Some(_) => {}
                None => break,
            },
        }
    }
    let peers = transport.list_peers().len();
    println!("{}", total.line("total", peers));
    if malformed > 0 || total.dropped_samples > 0 {
        eprintln!(
            "skipped {malformed} malformed updates; {} age samples over the bound",
            total.dropped_samples
        );
    }
    transport.shutdown().await;
    Ok(())
}
