//! `strata-loadgen`: a signaling load generator over real WebSockets.
//!
//! Connects `--clients` clients to a running `strata` server in rooms of `--room-size`,
//! then runs, each on a line of stdin from the driving program (`GO`):
//!
//! 1. **idle**: everyone joined, nothing sent (the driver measures server memory);
//! 2. **throughput**: every client keeps `--window` requests in flight for
//!    `--seconds`, cycling candidate → offer → broadcast message → candidate → answer;
//!    every relayed frame a client receives is counted;
//! 3. **latency**, once per `--rate` value: unicast messages at that total rate for `--seconds`, each
//!    carrying its send time; receivers record the relay latency.
//!
//! Results are printed as `key=value` lines (`READY`, `THROUGHPUT`, `LATENCY`).
//!
//! The clients are spread over `--threads` worker threads (one per core by default), each
//! with a single-threaded runtime of its own: a client's task never migrates, so a relayed
//! frame's latency is not paid for in work stealing and cross-core wake-ups, and both
//! cores generate load.

use std::io::BufRead as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use strata_server::auth::{Authenticator, RoomClaims};
use strata_signal::Permissions;
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

#[derive(Debug, Parser)]
#[command(name = "strata-loadgen", about = "Signaling load generator")]
struct Args {
    /// The server's WebSocket URL.
    #[arg(long)]
    url: String,
    /// The server's token secret (tokens are minted here).
    #[arg(long)]
    secret: String,
    /// Concurrent clients.
    #[arg(long, default_value_t = 5000)]
    clients: usize,
    /// Clients per room.
    #[arg(long, default_value_t = 10)]
    room_size: usize,
    /// Requests each client keeps in flight in the throughput phase.
    #[arg(long, default_value_t = 4)]
    window: usize,
    /// Length of each measured phase.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Total relayed messages per second in the latency phases, one phase per value.
    #[arg(long, value_delimiter = ',', default_value = "10000")]
    rate: Vec<u64>,
    /// Connections opened at once while connecting (shared among the worker threads).
    #[arg(long, default_value_t = 128)]
    connect_concurrency: usize,
    /// Worker threads, each running its share of the clients (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Throughput,
    /// Each client sends one probe per this interval.
    Latency(Duration),
    Done,
}

struct Counters {
    sent: AtomicU64,
    received: AtomicU64,
    errors: AtomicU64,
    /// Relay latencies of the current latency phase in microseconds, one list per worker
    /// thread (a worker only ever locks its own).
    samples: Vec<Mutex<Vec<u32>>>,
}

impl Counters {
    fn new(workers: usize) -> Self {
        Self {
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            samples: (0..workers).map(|_| Mutex::new(Vec::new())).collect(),
        }
    }

    fn record(&self, worker: usize, latency: u32) {
        lock(&self.samples[worker]).push(latency);
    }

    /// Takes every worker's samples, sorted.
    fn take_samples(&self) -> Vec<u32> {
        let mut all: Vec<u32> = self
            .samples
            .iter()
            .flat_map(|list| std::mem::take(&mut *lock(list)))
            .collect();
        all.sort_unstable();
        all
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn main() -> anyhow::Result<()> {
    let args = Arc::new(Args::parse());
    if args.room_size < 2 || args.clients < args.room_size {
        bail!("need at least two clients per room");
    }
    raise_fd_limit();
    let workers = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from))
        .clamp(1, args.clients);
    let tokens = Arc::new(mint_tokens(&args)?);
    let counters = Arc::new(Counters::new(workers));
    let (phase_tx, phase_rx) = watch::channel(Phase::Idle);
    let epoch = Instant::now();
    let started = Instant::now();

    let (ready_tx, ready_rx) = mpsc::channel();
    let handles: Vec<_> = (0..workers)
        .map(|worker| {
            let shard = Shard {
                worker,
                workers,
                args: Arc::clone(&args),
                tokens: Arc::clone(&tokens),
                counters: Arc::clone(&counters),
                phase: phase_rx.clone(),
                epoch,
            };
            let ready = ready_tx.clone();
            std::thread::Builder::new()
                .name(format!("loadgen-{worker}"))
                .spawn(move || shard.run(&ready))
        })
        .collect::<Result<_, _>>()?;
    drop(ready_tx);
    for _ in 0..workers {
        ready_rx
            .recv()
            .context("a worker thread stopped while connecting")??;
    }
    println!(
        "READY clients={} rooms={} connect_secs={:.2} threads={workers}",
        args.clients,
        tokens.len(),
        started.elapsed().as_secs_f64()
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_phases(&args, &counters, &phase_tx))?;
    for handle in handles {
        handle
            .join()
            .map_err(|_| anyhow::anyhow!("a worker thread panicked"))??;
    }
    println!("DONE");
    Ok(())
}

/// One worker thread's share of the clients: every `workers`-th client from `worker`.
struct Shard {
    worker: usize,
    workers: usize,
    args: Arc<Args>,
    tokens: Arc<Vec<String>>,
    counters: Arc<Counters>,
    phase: watch::Receiver<Phase>,
    epoch: Instant,
}

impl Shard {
    /// Connects this shard's clients, reports on `ready`, then runs them until the last
    /// phase.
    fn run(self, ready: &mpsc::Sender<anyhow::Result<()>>) -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let sockets = match self.connect().await {
                Ok(sockets) => {
                    let _ = ready.send(Ok(()));
                    sockets
                }
                Err(error) => {
                    let _ = ready.send(Err(anyhow::anyhow!("{error:#}")));
                    return Err(error);
                }
            };
            let args = &self.args;
            let mut tasks = Vec::with_capacity(sockets.len());
            for (index, socket) in sockets {
                let room = index / args.room_size;
                let first = room * args.room_size;
                let members = args.room_size.min(args.clients - first);
                tasks.push(tokio::spawn(client(
                    socket,
                    Peers {
                        me: index,
                        first,
                        members,
                    },
                    args.window,
                    Probe {
                        worker: self.worker,
                        epoch: self.epoch,
                    },
                    self.phase.clone(),
                    Arc::clone(&self.counters),
                )));
            }
            for task in tasks {
                task.await.context("client task failed")?;
            }
            Ok(())
        })
    }

    /// Connects and joins this shard's clients, `connect_concurrency / workers` at once.
    async fn connect(&self) -> anyhow::Result<Vec<(usize, Socket)>> {
        let gate = Arc::new(Semaphore::new(
            (self.args.connect_concurrency / self.workers).max(1),
        ));
        let mut joins = Vec::new();
        for index in (self.worker..self.args.clients).step_by(self.workers) {
            let gate = Arc::clone(&gate);
            let url = self.args.url.clone();
            let room = index / self.args.room_size;
            let token = self.tokens[room].clone();
            joins.push(tokio::spawn(async move {
                let _permit = gate.acquire_owned().await?;
                join(&url, room, &token, index)
                    .await
                    .map(|socket| (index, socket))
            }));
        }
        let mut sockets = Vec::with_capacity(joins.len());
        for join in joins {
            sockets.push(join.await??);
        }
        Ok(sockets)
    }
}

/// Runs the measured phases once every client is connected.
async fn run_phases(
    args: &Args,
    counters: &Counters,
    phase_tx: &watch::Sender<Phase>,
) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(wait_for_go).await??;
    let before = counters.received.load(Ordering::Relaxed);
    let sent_before = counters.sent.load(Ordering::Relaxed);
    println!("START throughput");
    let started = Instant::now();
    phase_tx.send_replace(Phase::Throughput);
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    let received = counters.received.load(Ordering::Relaxed) - before;
    let sent = counters.sent.load(Ordering::Relaxed) - sent_before;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "THROUGHPUT relayed={received} requests={sent} secs={secs:.2} relayed_per_sec={:.0} requests_per_sec={:.0} errors={}",
        received as f64 / secs,
        sent as f64 / secs,
        counters.errors.load(Ordering::Relaxed)
    );

    for &rate in &args.rate {
        phase_tx.send_replace(Phase::Idle);
        drain(counters).await;
        counters.take_samples();
        println!("START latency");
        let before = counters.received.load(Ordering::Relaxed);
        let started = Instant::now();
        let interval = Duration::from_secs_f64(args.clients as f64 / rate.max(1) as f64);
        phase_tx.send_replace(Phase::Latency(interval));
        tokio::time::sleep(Duration::from_secs(args.seconds)).await;
        phase_tx.send_replace(Phase::Idle);
        let secs = started.elapsed().as_secs_f64();
        let received = counters.received.load(Ordering::Relaxed) - before;
        let samples = counters.take_samples();
        let quantile = |q: f64| -> u32 {
            if samples.is_empty() {
                return 0;
            }
            samples[((samples.len() - 1) as f64 * q).round() as usize]
        };
        println!(
            "LATENCY target_per_sec={rate} achieved_per_sec={:.0} samples={} p50_us={} p99_us={} max_us={}",
            received as f64 / secs,
            samples.len(),
            quantile(0.50),
            quantile(0.99),
            samples.last().copied().unwrap_or(0)
        );
    }
    phase_tx.send_replace(Phase::Done);
    Ok(())
}

fn raise_fd_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
        && soft < hard
    {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}

fn wait_for_go() -> anyhow::Result<()> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    if line.trim() != "GO" {
        bail!("expected GO on stdin, got {line:?}");
    }
    Ok(())
}

/// Waits until nothing more arrives for half a second (at most ten seconds), so one
/// phase's backlog does not count in the next.
async fn drain(counters: &Counters) {
    let started = Instant::now();
    let mut last = counters.received.load(Ordering::Relaxed);
    while started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = counters.received.load(Ordering::Relaxed);
        if now == last {
            break;
        }
        last = now;
    }
}

/// One token per room.
fn mint_tokens(args: &Args) -> anyhow::Result<Vec<String>> {
    let auth = Authenticator::new(args.secret.as_bytes(), false);
    let exp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() + 3600;
    (0..args.clients.div_ceil(args.room_size))
        .map(|room| {
            auth.mint(&RoomClaims {
                sub: None,
                room: format!("room-{room}"),
                permissions: Permissions::PARTICIPANT,
                exp,
                max_participants: None,
            })
            .map_err(|e| anyhow::anyhow!("{e}"))
        })
        .collect()
}

async fn join(url: &str, room: usize, token: &str, index: usize) -> anyhow::Result<Socket> {
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
        .await
        .with_context(|| format!("client {index} cannot connect"))?;
    let join = format!(
        r#"{{"jsonrpc":"2.0","id":0,"method":"join","params":{{"room":"room-{room}","token":"{token}","peer_id":"c{index}"}}}}"#
    );
    socket.send(Message::Text(join.into())).await?;
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) if text.starts_with(r#"{"jsonrpc":"2.0","id":0,"#) => {
                if text.contains(r#""error""#) {
                    bail!("client {index} could not join: {text}");
                }
                return Ok(socket);
            }
            Some(Ok(_)) => {}
            other => bail!("client {index} lost its connection while joining: {other:?}"),
        }
    }
}

/// Who a client can send to: the members of its room.
#[derive(Clone, Copy)]
struct Peers {
    me: usize,
    first: usize,
    members: usize,
}

impl Peers {
    fn nth_other(&self, n: usize) -> usize {
        let offset = (self.me - self.first + 1 + n % (self.members - 1)) % self.members;
        self.first + offset
    }
}

/// Where a client's latency samples go, and the clock they are measured on.
#[derive(Clone, Copy)]
struct Probe {
    worker: usize,
    epoch: Instant,
}

async fn client(
    mut socket: Socket,
    peers: Peers,
    window: usize,
    probe: Probe,
    mut phase: watch::Receiver<Phase>,
    counters: Arc<Counters>,
) {
    let mut in_flight = 0usize;
    let mut next_id = 1u64;
    let mut step = 0usize;
    let mut interval = Duration::from_secs(1);
    let mut next_send = Instant::now();
    let mut current = *phase.borrow();
    loop {
        if current == Phase::Throughput && in_flight < window {
            let to = peers.nth_other(step);
            let frame = match step % 5 {
                0 | 3 => format!(
                    r#"{{"jsonrpc":"2.0","id":{next_id},"method":"candidate","params":{{"to":"c{to}","candidate":"candidate:842163049 1 udp 1677729535 127.0.0.1 {} typ srflx raddr 0.0.0.0 rport 0 generation 0","sdp_mid":"0","sdp_mline_index":0}}}}"#,
                    40000 + step % 20000
                ),
                1 => format!(
                    r#"{{"jsonrpc":"2.0","id":{next_id},"method":"offer","params":{{"to":"c{to}","sdp":"{OFFER}"}}}}"#
                ),
                2 => format!(
                    r#"{{"jsonrpc":"2.0","id":{next_id},"method":"message","params":{{"data":{{"kind":"state","seq":{step}}}}}}}"#
                ),
                _ => format!(
                    r#"{{"jsonrpc":"2.0","id":{next_id},"method":"answer","params":{{"to":"c{to}","sdp":"{OFFER}"}}}}"#
                ),
            };
            step += 1;
            next_id += 1;
            in_flight += 1;
            if socket.send(Message::Text(frame.into())).await.is_err() {
                counters.errors.fetch_add(1, Ordering::Relaxed);
                return;
            }
            counters.sent.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let latency_due = matches!(current, Phase::Latency(_));
        tokio::select! {
            changed = phase.changed() => {
                if changed.is_err() { return; }
                current = *phase.borrow();
                if current == Phase::Done { return; }
                if let Phase::Latency(every) = current {
                    // Spread the clients' sends over the interval.
                    interval = every;
                    next_send = Instant::now() + every.mul_f64((peers.me % 1000) as f64 / 1000.0);
                }
            }
            () = tokio::time::sleep_until(next_send), if latency_due => {
                next_send += interval;
                let to = peers.nth_other(step);
                step += 1;
                let sent_at = probe.epoch.elapsed().as_micros();
                let frame = format!(
                    r#"{{"jsonrpc":"2.0","id":{next_id},"method":"message","params":{{"to":"c{to}","data":{{"t":{sent_at}}}}}}}"#
                );
                next_id += 1;
                if socket.send(Message::Text(frame.into())).await.is_err() {
                    counters.errors.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                counters.sent.fetch_add(1, Ordering::Relaxed);
            }
            frame = socket.next() => {
                let Some(Ok(Message::Text(text))) = frame else {
                    if matches!(frame, Some(Ok(_))) { continue; }
                    counters.errors.fetch_add(1, Ordering::Relaxed);
                    return;
                };
                if text.starts_with(r#"{"jsonrpc":"2.0","method""#) {
                    counters.received.fetch_add(1, Ordering::Relaxed);
                    if matches!(current, Phase::Latency(_))
                        && let Some(sent_at) = sent_at(&text)
                    {
                        let now = probe.epoch.elapsed().as_micros() as u64;
                        let latency = now.saturating_sub(sent_at).min(u64::from(u32::MAX)) as u32;
                        counters.record(probe.worker, latency);
                    }
                } else {
                    in_flight = in_flight.saturating_sub(1);
                    if text.contains(r#""error""#) {
                        counters.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }
}

/// The `"t":<micros>` of a latency probe.
fn sent_at(frame: &str) -> Option<u64> {
    let start = frame.find(r#"{"t":"#)? + 5;
    let digits: String = frame[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// A short but realistic offer (data channel only), escaped for JSON.
const OFFER: &str = "v=0\\r\\no=- 4611731400430051336 2 IN IP4 127.0.0.1\\r\\ns=-\\r\\nt=0 0\\r\\na=group:BUNDLE 0\\r\\na=extmap-allow-mixed\\r\\na=msid-semantic: WMS\\r\\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\\r\\nc=IN IP4 0.0.0.0\\r\\na=ice-ufrag:Yq1x\\r\\na=ice-pwd:7fOGm5x9k1hYj0p2QxLrT3cD\\r\\na=ice-options:trickle\\r\\na=fingerprint:sha-256 5B:0E:33:2A:6F:91:0C:7D:8E:44:1B:A2:9F:30:E6:55:C1:08:7A:2D:B9:4F:13:66:E0:8C:97:3B:D5:21:FA:4E\\r\\na=setup:actpass\\r\\na=mid:0\\r\\na=sctp-port:5000\\r\\na=max-message-size:262144\\r\\n";
