//! The HTTP/WebSocket front of the hub: routes, connections, admin API, shutdown.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use futures_util::SinkExt as _;
use serde::Deserialize;
use strata_signal::{
    ErrorCode, ErrorObject, PeerId, Permissions, Request, RequestId, RoomName, parse_request,
};
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, debug, info, warn};

use crate::ServerError;
use crate::auth::{Authenticator, RoomClaims};
use crate::config::ServerConfig;
use crate::hub::{CloseReason, ConnId, Hub, HubOutput};
use crate::metrics::{Metrics, bump, render};
use crate::rate_limit::TokenBucket;

/// The demo page served at `/`.
const DEMO_PAGE: &str = include_str!("../demo/index.html");
/// The camera page served at `/camera`: audio and video with everyone in a room (and
/// with Strata's `reflect` example, which sends each participant's media back).
const CAMERA_PAGE: &str = include_str!("../demo/camera.html");

/// How long one frame may take to reach a client's socket before the client counts as
/// gone.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Pause after a failed `accept` (out of descriptors, say) before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Frames larger than `max_frame_bytes` times this close the connection at the WebSocket
/// layer (reading them already costs memory); smaller oversize frames get `too_large`.
const HARD_FRAME_FACTOR: usize = 4;

/// Bytes of frames buffered before a write reaches the socket (a batch is flushed at its
/// end anyway); the buffer is allocated on first use.
const WRITE_BUFFER_BYTES: usize = 16 * 1024;

/// Most queued frames written with one flush.
const WRITE_BATCH: usize = 64;

/// Read buffer of each connection; grows for larger frames. Small, so idle connections
/// stay cheap.
const READ_BUFFER_BYTES: usize = 4 * 1024;

enum Outbound {
    Frame(Utf8Bytes),
    Close(CloseReason),
}

struct ConnHandle {
    tx: mpsc::Sender<Outbound>,
    cancel: CancellationToken,
}

struct Rooms {
    hub: Hub,
    conns: HashMap<ConnId, ConnHandle>,
}

struct Shared {
    config: ServerConfig,
    auth: Authenticator,
    admin_token: String,
    rooms: Mutex<Rooms>,
    metrics: Metrics,
    tracker: TaskTracker,
    /// Cancelled when shutdown starts: stop accepting.
    stopping: CancellationToken,
    /// Cancelled when the grace period is over: every connection stops at once.
    hard_stop: CancellationToken,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Rooms> {
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Rooms {
    /// Carries out everything the hub asked for. Never blocks: a connection whose queue
    /// is full is a slow client and is cut off.
    fn deliver(&mut self, metrics: &Metrics) {
        while let Some(output) = self.hub.poll_output() {
            let (conn, outbound) = match output {
                HubOutput::Send { conn, frame } => match Utf8Bytes::try_from(frame) {
                    Ok(text) => (conn, Outbound::Frame(text)),
                    Err(_) => continue,
                },
                HubOutput::Close { conn, reason } => (conn, Outbound::Close(reason)),
            };
            let Some(handle) = self.conns.get(&conn) else {
                continue;
            };
            match handle.tx.try_send(outbound) {
                Ok(()) | Err(TrySendError::Closed(_)) => {}
                Err(TrySendError::Full(_)) => {
                    bump(&metrics.dropped_frames);
                    if !handle.cancel.is_cancelled() {
                        bump(&metrics.slow_client_disconnects);
                        debug!(conn = conn.0, "send queue full: disconnecting slow client");
                        handle.cancel.cancel();
                    }
                }
            }
        }
    }
}

/// A running signaling server. Dropping it does not stop it; call
/// [`shutdown`](Self::shutdown).
pub struct Server {
    shared: Arc<Shared>,
    addr: SocketAddr,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds `config.listen` and starts serving on the current tokio runtime.
    pub async fn start(config: ServerConfig) -> Result<Self, ServerError> {
        config.validate()?;
        let secret = config.jwt_secret.clone().unwrap_or_else(|| {
            let bytes: [u8; 32] = rand::random();
            bytes.to_vec()
        });
        let admin_token = config
            .admin_token
            .clone()
            .unwrap_or_else(|| format!("{:032x}", rand::random::<u128>()));
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
        let shared = Arc::new(Shared {
            auth: Authenticator::new(&secret, config.dev_mode),
            admin_token,
            rooms: Mutex::new(Rooms {
                hub: Hub::new(config.hub),
                conns: HashMap::new(),
            }),
            metrics: Metrics::default(),
            tracker: TaskTracker::new(),
            stopping: CancellationToken::new(),
            hard_stop: CancellationToken::new(),
            config,
        });
        let router = Router::new()
            .route("/", get(demo_page))
            .route("/camera", get(camera_page))
            .route("/ws", get(upgrade))
            .route("/healthz", get(healthz))
            .route("/metrics", get(metrics))
            .route("/admin/rooms", get(admin_rooms))
            .route("/admin/rooms/{room}", delete(admin_close_room))
            .route("/admin/rooms/{room}/kick/{peer}", post(admin_kick))
            .route("/admin/tokens", post(admin_mint_token))
            .with_state(Arc::clone(&shared));
        shared
            .tracker
            .spawn(accept_loop(listener, router, Arc::clone(&shared)));
        info!(%addr, dev_mode = shared.config.dev_mode, "strata signaling server listening");
        Ok(Self { shared, addr })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The WebSocket URL clients connect to.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// The admin API's bearer token.
    pub fn admin_token(&self) -> &str {
        &self.shared.admin_token
    }

    /// Signs a room token with the server's secret.
    pub fn mint_token(&self, claims: &RoomClaims) -> Result<String, ServerError> {
        self.shared
            .auth
            .mint(claims)
            .map_err(|e| ServerError::Token(e.to_string()))
    }

    /// A publish + subscribe token for `room` without a fixed identity, valid for the
    /// configured token ttl.
    pub fn participant_token(&self, room: &str) -> Result<String, ServerError> {
        self.mint_token(&RoomClaims {
            sub: None,
            room: room.to_owned(),
            permissions: Permissions::PARTICIPANT,
            exp: unix_now() + self.shared.config.token_ttl.as_secs(),
            max_participants: None,
        })
    }

    /// The room of the token printed at start.
    pub fn demo_room(&self) -> &str {
        &self.shared.config.demo_room
    }

    /// Whether joins without a token are admitted.
    pub fn dev_mode(&self) -> bool {
        self.shared.config.dev_mode
    }

    /// Graceful shutdown: stop accepting, tell every client (`room_closed` with reason
    /// `shutdown`, then a WebSocket close 1001), let the queues drain for up to the
    /// configured grace period, then cut off what is left. Returns when every task has
    /// stopped.
    pub async fn shutdown(self) {
        info!("shutting down: no new connections, notifying clients");
        self.shared.stopping.cancel();
        {
            let mut rooms = self.shared.lock();
            rooms.hub.shutdown();
            rooms.deliver(&self.shared.metrics);
        }
        self.shared.tracker.close();
        let grace = self.shared.config.shutdown_grace;
        if tokio::time::timeout(grace, self.shared.tracker.wait())
            .await
            .is_err()
        {
            warn!(?grace, "connections did not drain in time; closing them");
            self.shared.hard_stop.cancel();
            self.shared.tracker.wait().await;
        }
        info!("shut down");
    }
}

/// Accepts TCP connections and serves HTTP/1 on each until shutdown starts.
///
/// Our own loop rather than `axum::serve`, for two bounds that does not have: a client
/// gets [`ServerConfig::handshake_timeout`] to send each request head (the WebSocket
/// upgrade included), so a socket that connects and then goes silent, or trickles half a
/// request, is closed then instead of holding a descriptor and a task for ever; and at
/// most [`ServerConfig::max_http_connections`] connections speak HTTP at once (a
/// connection leaves that count when it is upgraded or closed), so a flood of them
/// cannot take every descriptor before the timeout closes them.
async fn accept_loop(listener: TcpListener, router: Router, shared: Arc<Shared>) {
    let speaking_http = Arc::new(Semaphore::new(shared.config.max_http_connections));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(shared.config.handshake_timeout);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shared.stopping.cancelled() => return,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            Err(error) => {
                // Out of descriptors or the like: the condition outlives one attempt,
                // so back off briefly instead of spinning.
                warn!(%error, "accept failed");
                tokio::select! {
                    () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                    () = shared.stopping.cancelled() => return,
                }
            }
        };
        let Ok(permit) = Arc::clone(&speaking_http).try_acquire_owned() else {
            bump(&shared.metrics.http_connections_refused);
            drop(tcp);
            continue;
        };
        // Signaling frames are small and latency-bound: no Nagle delay.
        let _ = tcp.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        let conn = http
            .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
            .with_upgrades();
        let stopping = shared.stopping.clone();
        let hard_stop = shared.hard_stop.clone();
        shared.tracker.spawn(async move {
            // Held while the connection speaks HTTP: its future ends when it is upgraded
            // (the WebSocket runs in a task of its own) or closed.
            let _permit = permit;
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => return,
                () = stopping.cancelled() => conn.as_mut().graceful_shutdown(),
            }
            tokio::select! {
                _ = conn => {}
                () = hard_stop.cancelled() => {}
            }
        });
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn demo_page() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        DEMO_PAGE,
    )
        .into_response()
}

async fn camera_page() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        CAMERA_PAGE,
    )
        .into_response()
}

async fn healthz(State(shared): State<Arc<Shared>>) -> Response {
    if shared.stopping.is_cancelled() {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response()
    } else {
        (StatusCode::OK, "ok\n").into_response()
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let text = {
        let rooms = shared.lock();
        render(&shared.metrics, &rooms.hub)
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

async fn upgrade(State(shared): State<Arc<Shared>>, upgrade: WebSocketUpgrade) -> Response {
    let refused = shared.stopping.is_cancelled()
        || shared.lock().hub.connection_count() >= shared.config.max_connections;
    if refused {
        bump(&shared.metrics.connections_refused);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "no capacity for new connections\n",
        )
            .into_response();
    }
    let hard_limit = shared.config.max_frame_bytes * HARD_FRAME_FACTOR;
    let tracker = shared.tracker.clone();
    upgrade
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_write_buffer_size(WRITE_BUFFER_BYTES + 4 * hard_limit)
        .max_message_size(hard_limit)
        .max_frame_size(hard_limit)
        .on_upgrade(move |socket| tracker.track_future(connection(socket, shared)))
}

/// One client connection: owns its socket, reads requests, writes what the hub queued.
async fn connection(socket: WebSocket, shared: Arc<Shared>) {
    let (tx, rx) = mpsc::channel(shared.config.send_queue);
    let cancel = shared.hard_stop.child_token();
    let conn = {
        let mut rooms = shared.lock();
        let conn = rooms.hub.connect();
        rooms.conns.insert(
            conn,
            ConnHandle {
                tx,
                cancel: cancel.clone(),
            },
        );
        conn
    };
    bump(&shared.metrics.connections_accepted);
    let span = tracing::debug_span!("conn", id = conn.0);
    let mut driver = Connection {
        shared: Arc::clone(&shared),
        conn,
        socket,
        rx,
        cancel,
        bucket: TokenBucket::new(
            shared.config.rate_limit_per_sec,
            shared.config.rate_limit_burst,
        ),
        refused: false,
    };
    driver.run().instrument(span).await;
    let mut rooms = shared.lock();
    rooms.conns.remove(&conn);
    rooms.hub.disconnect(conn);
    rooms.deliver(&shared.metrics);
}

struct Connection {
    shared: Arc<Shared>,
    conn: ConnId,
    socket: WebSocket,
    rx: mpsc::Receiver<Outbound>,
    cancel: CancellationToken,
    bucket: TokenBucket,
    /// The frame being handled was answered with an error by this task.
    refused: bool,
}

impl Connection {
    async fn run(&mut self) {
        let idle_timeout = self.shared.config.idle_timeout;
        let ping_interval = self.shared.config.ping_interval;
        let quiet_limit = ping_interval.min(idle_timeout);
        let mut last_seen = Instant::now();
        let mut pinged = false;
        // One timer for the connection's life, re-armed only when it fires: traffic just
        // moves `last_seen`, so a busy connection does not touch the timer wheel per frame.
        let idle = tokio::time::sleep(quiet_limit);
        tokio::pin!(idle);
        loop {
            tokio::select! {
                biased;
                () = self.cancel.cancelled() => {
                    let reason = if self.shared.hard_stop.is_cancelled() {
                        (close_code::AWAY, "server shutting down")
                    } else {
                        (close_code::POLICY, "too slow: send queue full")
                    };
                    self.close(reason.0, reason.1).await;
                    return;
                }
                outbound = self.rx.recv() => {
                    let reason = match outbound {
                        Some(Outbound::Frame(frame)) => match self.write_batch(frame).await {
                            Ok(None) => continue,
                            Ok(Some(reason)) => reason,
                            Err(()) => return,
                        },
                        Some(Outbound::Close(reason)) => reason,
                        None => return,
                    };
                    let (code, text) = match reason {
                        CloseReason::Kicked => (close_code::POLICY, "kicked"),
                        CloseReason::Replaced => (close_code::POLICY, "replaced by a new connection"),
                        CloseReason::RoomClosed => (close_code::NORMAL, "room closed"),
                        CloseReason::Shutdown => (close_code::AWAY, "server shutting down"),
                    };
                    self.close(code, text).await;
                    return;
                }
                inbound = self.socket.recv() => {
                    let message = match inbound {
                        Some(Ok(message)) => message,
                        Some(Err(error)) => {
                            if is_too_big(error) {
                                // RFC 6455 section 7.4.1: 1009 for a message too big to
                                // process. The WebSocket layer refused it from the frame
                                // header or from the fragments so far, before holding
                                // more than the hard limit.
                                bump(&self.shared.metrics.oversize_disconnects);
                                self.close(close_code::SIZE, "message too big").await;
                            }
                            return;
                        }
                        None => return,
                    };
                    last_seen = Instant::now();
                    pinged = false;
                    match message {
                        Message::Text(text) => {
                            if !self.handle_text(text.as_str()).await {
                                return;
                            }
                        }
                        Message::Binary(data) => {
                            let error = if !self.within_rate() {
                                self.rate_limited()
                            } else if data.len() > self.shared.config.max_frame_bytes {
                                too_large(data.len(), self.shared.config.max_frame_bytes)
                            } else {
                                ErrorObject::new(
                                ErrorCode::INVALID_REQUEST,
                                    "binary frames are not part of the protocol; send text",
                                )
                            };
                            if !self.reply_error(None, error).await {
                                return;
                            }
                        }
                        Message::Close(_) => return,
                        Message::Ping(_) | Message::Pong(_) => {}
                    }
                    // A refused frame costs its sender the rest of its turn: a client
                    // pipelining garbage (or requests beyond its rate) would otherwise
                    // have up to tokio's whole cooperative budget of frames handled
                    // before another connection's next frame.
                    if std::mem::take(&mut self.refused) {
                        tokio::task::yield_now().await;
                    }
                }
                () = &mut idle => {
                    let quiet = last_seen.elapsed();
                    if pinged && quiet >= idle_timeout {
                        bump(&self.shared.metrics.idle_disconnects);
                        self.close(close_code::AWAY, "idle timeout").await;
                        return;
                    }
                    if !pinged && quiet >= quiet_limit {
                        if !self.send(Message::Ping(bytes::Bytes::new())).await {
                            return;
                        }
                        pinged = true;
                    }
                    let next = if pinged { idle_timeout } else { quiet_limit };
                    idle.as_mut().reset(last_seen + next);
                }
            }
        }
    }

    /// Writes `first` and whatever else is already queued (up to [`WRITE_BATCH`] frames)
    /// with one flush, so a busy connection costs one write call per batch rather than
    /// per frame. Returns the close the queue asked for, if it held one; `Err` when the
    /// client is gone.
    async fn write_batch(&mut self, first: Utf8Bytes) -> Result<Option<CloseReason>, ()> {
        let mut close = None;
        let mut batch = 1;
        let write = async {
            self.socket.feed(Message::Text(first)).await?;
            while batch < WRITE_BATCH {
                match self.rx.try_recv() {
                    Ok(Outbound::Frame(frame)) => {
                        self.socket.feed(Message::Text(frame)).await?;
                        batch += 1;
                    }
                    Ok(Outbound::Close(reason)) => {
                        close = Some(reason);
                        break;
                    }
                    Err(_) => break,
                }
            }
            self.socket.flush().await
        };
        // Biased: a write that completes at once never registers the timeout's timer.
        let written = tokio::select! {
            biased;
            result = write => result.is_ok(),
            () = self.cancel.cancelled() => false,
            () = tokio::time::sleep(SEND_TIMEOUT) => false,
        };
        self.shared
            .metrics
            .frames_sent
            .fetch_add(batch as u64, std::sync::atomic::Ordering::Relaxed);
        if written { Ok(close) } else { Err(()) }
    }

    /// Writes one message, giving up on a client that does not read or when cut off.
    async fn send(&mut self, message: Message) -> bool {
        tokio::select! {
            biased;
            result = self.socket.send(message) => result.is_ok(),
            () = self.cancel.cancelled() => false,
            () = tokio::time::sleep(SEND_TIMEOUT) => false,
        }
    }

    async fn close(&mut self, code: u16, reason: &'static str) {
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        };
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            self.socket.send(Message::Close(Some(frame))),
        )
        .await;
    }

    async fn reply_error(&mut self, id: Option<RequestId>, error: ErrorObject) -> bool {
        self.refused = true;
        self.shared.lock().hub.count_error(error.code);
        let frame = strata_signal::Response::error(id, error).encode();
        self.send(Message::Text(frame.into())).await
    }

    /// Takes a token for one frame. Every frame counts against the rate, whether it
    /// parses or not: garbage is no way around the limit.
    fn within_rate(&mut self) -> bool {
        self.bucket.try_take(Instant::now().into_std())
    }

    /// The answer to a frame beyond the rate limit.
    fn rate_limited(&self) -> ErrorObject {
        ErrorObject::new(
            ErrorCode::RATE_LIMITED,
            format!(
                "more than {} frames per second",
                self.shared.config.rate_limit_per_sec
            ),
        )
    }

    /// Handles one text frame; `false` when the connection is gone.
    async fn handle_text(&mut self, text: &str) -> bool {
        bump(&self.shared.metrics.frames_received);
        let within_rate = self.within_rate();
        if text.len() > self.shared.config.max_frame_bytes {
            let error = if within_rate {
                too_large(text.len(), self.shared.config.max_frame_bytes)
            } else {
                self.rate_limited()
            };
            return self.reply_error(None, error).await;
        }
        let frame = match parse_request(text) {
            Ok(frame) => frame,
            Err(refusal) => {
                if !refusal.reply {
                    self.refused = true;
                    self.shared.lock().hub.count_error(refusal.error.code);
                    return true;
                }
                let error = if within_rate {
                    refusal.error
                } else {
                    self.rate_limited()
                };
                return self.reply_error(refusal.id, error).await;
            }
        };
        if !within_rate {
            let error = self.rate_limited();
            return self.reply_error(Some(frame.id), error).await;
        }
        match frame.request {
            Request::Join(params) => {
                let grant = self.shared.auth.admit(&params, unix_now());
                match grant {
                    Err(error) => return self.reply_error(Some(frame.id), error).await,
                    Ok(grant) => {
                        let fresh = fresh_peer_id();
                        let mut rooms = self.shared.lock();
                        rooms.hub.join(self.conn, frame.id, params, &grant, fresh);
                        rooms.deliver(&self.shared.metrics);
                    }
                }
            }
            request => {
                let mut rooms = self.shared.lock();
                rooms.hub.handle_request(self.conn, frame.id, request);
                rooms.deliver(&self.shared.metrics);
            }
        }
        true
    }
}

/// The `too_large` answer to a frame of `len` bytes.
fn too_large(len: usize, max: usize) -> ErrorObject {
    ErrorObject::new(
        ErrorCode::TOO_LARGE,
        format!("frame is {len} bytes, at most {max} allowed"),
    )
}

/// Whether a read failed because the message passed the WebSocket layer's size limit
/// (the hard limit, [`HARD_FRAME_FACTOR`] times `max_frame_bytes`).
fn is_too_big(error: axum::Error) -> bool {
    use tokio_tungstenite::tungstenite::Error as WsError;
    error
        .into_inner()
        .downcast_ref::<WsError>()
        .is_some_and(|e| matches!(e, WsError::Capacity(_)))
}

fn fresh_peer_id() -> PeerId {
    let id = format!("peer-{:012x}", rand::random::<u64>() >> 16);
    // Always valid: ASCII letters, digits and '-'.
    PeerId::new(id).unwrap_or_else(|_| fresh_peer_id())
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(token) = value.strip_prefix("Bearer ") else {
        return false;
    };
    bool::from(token.as_bytes().ct_eq(shared.admin_token.as_bytes()))
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        "admin token required\n",
    )
        .into_response()
}

fn json_response<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_string(body).unwrap_or_else(|_| "null".to_owned()),
    )
        .into_response()
}

fn error_response(status: StatusCode, message: &str) -> Response {
    json_response(status, &serde_json::json!({ "error": message }))
}

async fn admin_rooms(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if !authorized(&shared, &headers) {
        return unauthorized();
    }
    let rooms = shared.lock().hub.rooms();
    json_response(StatusCode::OK, &rooms)
}

async fn admin_close_room(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(room): Path<String>,
) -> Response {
    if !authorized(&shared, &headers) {
        return unauthorized();
    }
    let Ok(room) = RoomName::new(room) else {
        return error_response(StatusCode::BAD_REQUEST, "invalid room name");
    };
    let mut rooms = shared.lock();
    let result = rooms.hub.close_room(&room);
    rooms.deliver(&shared.metrics);
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => error_response(StatusCode::NOT_FOUND, &error.to_string()),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct KickBody {
    reason: Option<String>,
}

async fn admin_kick(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((room, peer)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    if !authorized(&shared, &headers) {
        return unauthorized();
    }
    let (Ok(room), Ok(peer)) = (RoomName::new(room), PeerId::new(peer)) else {
        return error_response(StatusCode::BAD_REQUEST, "invalid room name or peer id");
    };
    let body: KickBody = if body.is_empty() {
        KickBody::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(body) => body,
            Err(e) => return error_response(StatusCode::BAD_REQUEST, &e.to_string()),
        }
    };
    let mut rooms = shared.lock();
    let result = rooms.hub.kick(&room, &peer, body.reason);
    rooms.deliver(&shared.metrics);
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => error_response(StatusCode::NOT_FOUND, &error.to_string()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MintBody {
    room: String,
    identity: Option<String>,
    ttl_secs: Option<u64>,
    permissions: Option<Permissions>,
    max_participants: Option<usize>,
}

async fn admin_mint_token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !authorized(&shared, &headers) {
        return unauthorized();
    }
    let body: MintBody = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(e) => return error_response(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    if RoomName::new(body.room.clone()).is_err()
        || body
            .identity
            .as_ref()
            .is_some_and(|i| PeerId::new(i.clone()).is_err())
    {
        return error_response(StatusCode::BAD_REQUEST, "invalid room name or identity");
    }
    let ttl = body.ttl_secs.unwrap_or(shared.config.token_ttl.as_secs());
    let claims = RoomClaims {
        sub: body.identity,
        room: body.room,
        permissions: body.permissions.unwrap_or(Permissions::PARTICIPANT),
        exp: unix_now().saturating_add(ttl),
        max_participants: body.max_participants,
    };
    match shared.auth.mint(&claims) {
        Ok(token) => json_response(StatusCode::OK, &serde_json::json!({ "token": token })),
        Err(e) => error_response(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}
