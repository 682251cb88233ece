//! The ICE agent: webrtc-ice for checks and candidates, our socket and demultiplexer for
//! everything else.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use webrtc_ice::agent::Agent;
use webrtc_ice::agent::agent_config::AgentConfig;
use webrtc_ice::candidate::candidate_base::unmarshal_candidate;
use webrtc_ice::candidate::{Candidate, CandidateType};
use webrtc_ice::mdns::MulticastDnsMode;
use webrtc_ice::network_type::NetworkType;
use webrtc_ice::state::ConnectionState;
use webrtc_ice::udp_network::UDPNetwork;
use webrtc_util::Conn;

use crate::config::{IceConfig, Interfaces, TransportPolicy};
use crate::demux::{PacketKind, classify};
use crate::error::{Error, Upstream};
use crate::mux::{STUN_QUEUE, StunConn, StunMux};
use crate::socket::{self, Datagram, Socket};
use crate::srflx;
use crate::stun_auth::{self, LocalKey};
use crate::url::{IceServer, Scheme, Transport};

/// DTLS records or RTP/RTCP packets waiting for their layer to read them.
pub const LANE_QUEUE: usize = 1024;
/// DTLS/RTP packets held while no pair is selected yet (or from an address that is not the
/// selected one), released when a pair from their address is selected.
pub const PENDING_LIMIT: usize = 64;
/// Events waiting for the application.
const EVENT_QUEUE: usize = 256;
/// How long a send on a just-selected relayed pair waits for webrtc-ice's connection.
const RELAY_HANDOVER: Duration = Duration::from_secs(2);
/// webrtc-ice's close can hang (a known upstream deadlock); we stop waiting after this.
const UPSTREAM_CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// ICE username fragment and password (RFC 8445 §5.3).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Username fragment (`a=ice-ufrag`).
    pub ufrag: String,
    /// Password (`a=ice-pwd`).
    pub pwd: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("ufrag", &self.ufrag)
            .field("pwd", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    /// Fresh random credentials: a 16-character ufrag and a 32-character password.
    pub fn random() -> Self {
        Self {
            ufrag: random_ice_chars(16),
            pwd: random_ice_chars(32),
        }
    }

    /// Checks remote credentials against RFC 8445 §5.3 (`ice-char` only; ufrag 4–256
    /// characters, password 22–256).
    pub fn validate(&self) -> Result<(), Error> {
        let ice_chars = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        };
        if !(4..=256).contains(&self.ufrag.len()) {
            return Err(Error::InvalidCredentials(
                "ufrag must be 4 to 256 characters",
            ));
        }
        if !(22..=256).contains(&self.pwd.len()) {
            return Err(Error::InvalidCredentials(
                "password must be 22 to 256 characters",
            ));
        }
        if !ice_chars(&self.ufrag) || !ice_chars(&self.pwd) {
            return Err(Error::InvalidCredentials(
                "only letters, digits, '+' and '/' are allowed",
            ));
        }
        Ok(())
    }
}

fn random_ice_chars(len: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// Which side controls nomination (RFC 8445 §6.1.1): the offerer, unless it is ICE-lite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IceRole {
    /// Nominates the pair.
    Controlling,
    /// Accepts the nomination.
    Controlled,
}

/// The connection state (W3C `RTCIceConnectionState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum IceConnectionState {
    /// Not started.
    New,
    /// Checking candidate pairs.
    Checking,
    /// A pair works.
    Connected,
    /// Checking has finished with a working pair.
    Completed,
    /// Consent checks are failing; may recover.
    Disconnected,
    /// No pair works; only an ICE restart can help.
    Failed,
    /// Closed.
    Closed,
}

impl IceConnectionState {
    fn from_upstream(state: ConnectionState) -> Self {
        match state {
            ConnectionState::Checking => Self::Checking,
            ConnectionState::Connected => Self::Connected,
            ConnectionState::Completed => Self::Completed,
            ConnectionState::Disconnected => Self::Disconnected,
            ConnectionState::Failed => Self::Failed,
            ConnectionState::Closed => Self::Closed,
            _ => Self::New,
        }
    }

    fn from_u8(value: u8) -> Self {
        [
            Self::New,
            Self::Checking,
            Self::Connected,
            Self::Completed,
            Self::Disconnected,
            Self::Failed,
            Self::Closed,
        ]
        .get(usize::from(value))
        .copied()
        .unwrap_or(Self::Closed)
    }
}

/// The type of a candidate (RFC 8445 §5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CandidateKind {
    /// An address of a local interface.
    Host,
    /// Our address as a STUN server sees it.
    ServerReflexive,
    /// An address learned from a connectivity check.
    PeerReflexive,
    /// An address on a TURN server.
    Relay,
}

impl CandidateKind {
    fn from_upstream(kind: CandidateType) -> Self {
        match kind {
            CandidateType::ServerReflexive => Self::ServerReflexive,
            CandidateType::PeerReflexive => Self::PeerReflexive,
            CandidateType::Relay => Self::Relay,
            _ => Self::Host,
        }
    }
}

/// One end of a candidate pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateInfo {
    /// Its type.
    pub kind: CandidateKind,
    /// Its transport address (an mDNS name stays unresolved in `address`).
    pub address: String,
    /// Its port.
    pub port: u16,
}

/// The pair ICE selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidatePair {
    /// Our end.
    pub local: CandidateInfo,
    /// Their end.
    pub remote: CandidateInfo,
}

/// What the agent reports, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IceEvent {
    /// A local candidate to signal to the remote side: the `candidate:...` attribute value
    /// (as in `RTCIceCandidate.candidate`).
    LocalCandidate(String),
    /// Every local candidate has been reported (signal end-of-candidates).
    GatheringComplete,
    /// A STUN or TURN server could not be used (W3C `icecandidateerror`).
    ServerUnreachable {
        /// The server URL, without credentials.
        server: String,
        /// Why.
        reason: String,
    },
    /// The connection state changed.
    StateChanged(IceConnectionState),
    /// A (new) candidate pair carries the traffic. Boxed: it is the largest event by far,
    /// and the event queue reserves room for 32 events when it is created.
    SelectedPairChanged(Box<CandidatePair>),
}

/// Counters of the socket and the demultiplexer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IceStats {
    /// Datagrams received, of every kind.
    pub packets_received: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// Datagrams sent by DTLS and media (STUN not included).
    pub packets_sent: u64,
    /// Bytes sent by DTLS and media.
    pub bytes_sent: u64,
    /// Datagrams of no protocol we speak (RFC 7983 ranges), dropped.
    pub unknown_dropped: u64,
    /// DTLS/RTP datagrams from an address that never became the selected one, dropped.
    pub unverified_dropped: u64,
    /// Datagrams dropped because the layer above did not keep up (bounded queues).
    pub queue_dropped: u64,
    /// STUN Binding requests refused before webrtc-ice: malformed, or not authenticated
    /// with our credentials (RFC 8445 §7.3; see [`stun_auth`](crate::stun_auth)).
    pub stun_rejected: u64,
    /// Connectivity checks webrtc-ice tried to send between an ICE restart and the
    /// remote side's new credentials, held back: keyed with no credentials, the peer
    /// would have refused them ([`names_no_peer`](crate::stun_auth::names_no_peer)).
    pub unkeyed_checks_held: u64,
}

#[derive(Default)]
struct Counters {
    packets_received: AtomicU64,
    bytes_received: AtomicU64,
    packets_sent: AtomicU64,
    bytes_sent: AtomicU64,
    unknown_dropped: AtomicU64,
    unverified_dropped: AtomicU64,
    queue_dropped: AtomicU64,
    stun_rejected: AtomicU64,
}

/// Where DTLS and media datagrams go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    /// Straight to the remote address through our socket.
    Direct(SocketAddr),
    /// Through the TURN relay, via webrtc-ice's connection.
    Relay,
}

struct Lane {
    tx: mpsc::Sender<Bytes>,
    rx: tokio::sync::Mutex<mpsc::Receiver<Bytes>>,
}

impl Lane {
    fn new() -> Self {
        let (tx, rx) = mpsc::channel(LANE_QUEUE);
        Self {
            tx,
            rx: tokio::sync::Mutex::new(rx),
        }
    }
}

#[derive(Default)]
struct Gathering {
    upstream_done: bool,
    srflx_pending: usize,
    complete_reported: bool,
}

pub(crate) struct Shared {
    agent: Agent,
    /// Taken on close, so the port is free as soon as our tasks have stopped.
    socket: RwLock<Option<Arc<Socket>>>,
    local_addr: SocketAddr,
    config: IceConfig,
    cancel: CancellationToken,
    tasks: TaskTracker,
    events: mpsc::Sender<IceEvent>,
    state: AtomicU8,
    started: AtomicBool,
    path: RwLock<Option<Path>>,
    /// The relayed path's connection, which webrtc-ice hands over just after it reports
    /// `Connected`.
    relay_conn: watch::Sender<Option<Arc<dyn Conn + Send + Sync>>>,
    dial_cancel: Mutex<Option<mpsc::Sender<()>>>,
    dtls: Lane,
    media: Lane,
    pending: Mutex<VecDeque<(PacketKind, Datagram)>>,
    stun: mpsc::Sender<Datagram>,
    /// What webrtc-ice reads STUN from and writes it to; kept for its counter.
    stun_conn: Arc<StunConn>,
    pub(crate) srflx_waiters: Mutex<HashMap<[u8; 12], oneshot::Sender<Bytes>>>,
    gathering: Mutex<Gathering>,
    local: Mutex<LocalCredentials>,
    counters: Counters,
}

/// Our credentials, as incoming checks may be keyed with them.
struct LocalCredentials {
    current: Credentials,
    /// The generation before the last ICE restart: checks the peer sent before it
    /// learned the new one are still let through to webrtc-ice, which decides.
    previous: Option<Credentials>,
    /// Credentials being handed to webrtc-ice by a restart in progress.
    installing: Option<Credentials>,
}

impl LocalCredentials {
    fn check(&self, stun: &[u8]) -> Result<(), stun_auth::Rejection> {
        let keys = [
            Some(&self.current),
            self.installing.as_ref(),
            self.previous.as_ref(),
        ];
        stun_auth::check(
            stun,
            keys.into_iter().flatten().map(|credentials| LocalKey {
                ufrag: &credentials.ufrag,
                pwd: &credentials.pwd,
            }),
        )
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An ICE agent bound to its own UDP socket.
///
/// Created with [`IceAgent::new`], which returns the agent and the receiver of its
/// [`IceEvent`]s; the events must be drained (they are bounded, and webrtc-ice waits when
/// the queue is full). Dropping the agent closes it.
pub struct IceAgent {
    shared: Arc<Shared>,
}

impl fmt::Debug for IceAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IceAgent")
            .field("local_addr", &self.shared.local_addr)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl IceAgent {
    /// Binds the socket and creates the agent. Nothing is sent until [`gather`](Self::gather)
    /// or [`start`](Self::start).
    pub async fn new(config: IceConfig) -> Result<(Self, mpsc::Receiver<IceEvent>), Error> {
        validate(&config)?;
        let cancel = CancellationToken::new();
        let bind = socket::unspecified(config.policy.ipv6, config.port);
        let socket =
            Socket::bind(bind, config.impairment.as_ref(), &cancel).map_err(Error::Socket)?;
        let (stun_tx, stun_rx) = mpsc::channel(STUN_QUEUE);
        let stun_conn = Arc::new(StunConn::new(&socket, stun_rx, cancel.clone()));
        let local_addr = socket.local_addr().map_err(Error::Socket)?;
        let local = Credentials::random();
        let agent = Agent::new(agent_config(&config, &local, Arc::clone(&stun_conn)))
            .await
            .map_err(|e| Error::Agent(Upstream::new(e)))?;
        let (events_tx, events_rx) = mpsc::channel(EVENT_QUEUE);
        let shared = Arc::new(Shared {
            agent,
            socket: RwLock::new(Some(socket)),
            local_addr,
            config,
            cancel,
            tasks: TaskTracker::new(),
            events: events_tx,
            state: AtomicU8::new(IceConnectionState::New as u8),
            started: AtomicBool::new(false),
            path: RwLock::new(None),
            relay_conn: watch::Sender::new(None),
            dial_cancel: Mutex::new(None),
            dtls: Lane::new(),
            media: Lane::new(),
            // Grows only if datagrams arrive before a pair is selected.
            pending: Mutex::new(VecDeque::new()),
            stun: stun_tx,
            stun_conn,
            srflx_waiters: Mutex::new(HashMap::new()),
            gathering: Mutex::new(Gathering::default()),
            local: Mutex::new(LocalCredentials {
                current: local,
                previous: None,
                installing: None,
            }),
            counters: Counters::default(),
        });
        install_handlers(&shared);
        shared.tasks.spawn(read_socket(Arc::clone(&shared)));
        Ok((Self { shared }, events_rx))
    }

    /// Our current username fragment and password (they change on [`restart`](Self::restart)).
    pub fn local_credentials(&self) -> Credentials {
        lock(&self.shared.local).current.clone()
    }

    /// The address the socket is bound to (unspecified IP, real port).
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// Starts gathering: host and relay candidates through webrtc-ice, server-reflexive
    /// candidates through our own socket. Candidates arrive as [`IceEvent::LocalCandidate`],
    /// then [`IceEvent::GatheringComplete`].
    pub fn gather(&self) -> Result<(), Error> {
        let srflx_servers: Vec<IceServer> = self
            .shared
            .config
            .servers
            .iter()
            .filter(|s| !s.scheme.is_secure() && s.transport == Transport::Udp)
            .filter(|_| self.shared.config.transport_policy == TransportPolicy::All)
            .cloned()
            .collect();
        {
            let mut gathering = lock(&self.shared.gathering);
            *gathering = Gathering {
                srflx_pending: srflx_servers.len(),
                ..Gathering::default()
            };
        }
        self.shared.agent.gather_candidates().map_err(|e| match e {
            webrtc_ice::Error::ErrMultipleGatherAttempted => {
                Error::Misuse("gathering already started")
            }
            other => Error::Agent(Upstream::new(other)),
        })?;
        for server in srflx_servers {
            self.shared
                .tasks
                .spawn(srflx::discover(Arc::clone(&self.shared), server));
        }
        Ok(())
    }

    /// Adds a remote candidate (`candidate:...`, with or without the `a=` and `candidate:`
    /// prefixes), before or after [`start`](Self::start). An empty string (end of
    /// candidates) is accepted and ignored.
    pub fn add_remote_candidate(&self, candidate: &str) -> Result<(), Error> {
        let line = candidate.trim();
        let line = line.strip_prefix("a=").unwrap_or(line);
        let line = line.strip_prefix("candidate:").unwrap_or(line);
        if line.is_empty() {
            return Ok(());
        }
        let invalid = |e| Error::InvalidCandidate {
            candidate: candidate.to_owned(),
            source: Upstream::new(e),
        };
        let parsed = unmarshal_candidate(line).map_err(invalid)?;
        if parsed.component() != 1 {
            // RTCP-mux is mandatory in WebRTC: component 2 candidates are never used.
            return Ok(());
        }
        let parsed: Arc<dyn Candidate + Send + Sync> = Arc::new(parsed);
        self.shared
            .agent
            .add_remote_candidate(&parsed)
            .map_err(invalid)
    }

    /// Starts connectivity checks in `role` against the remote `credentials`. The state
    /// moves to checking, then connected (or failed) as [`IceEvent::StateChanged`].
    pub fn start(&self, role: IceRole, remote: Credentials) -> Result<(), Error> {
        remote.validate()?;
        if self.shared.cancel.is_cancelled() {
            return Err(Error::Closed);
        }
        if self.shared.started.swap(true, Ordering::SeqCst) {
            return Err(Error::Misuse(
                "connectivity checks already started; use restart",
            ));
        }
        let (cancel_tx, cancel_rx) = mpsc::channel(1);
        *lock(&self.shared.dial_cancel) = Some(cancel_tx);
        let shared = Arc::clone(&self.shared);
        self.shared.tasks.spawn(async move {
            // The checks' futures are boxed: this task lives on as the relay reader,
            // and would otherwise keep their (much larger) room for the connection's
            // lifetime.
            let connected = match role {
                IceRole::Controlling => {
                    Box::pin(shared.agent.dial(cancel_rx, remote.ufrag, remote.pwd))
                        .await
                        .map(|c| c as Arc<dyn Conn + Send + Sync>)
                }
                IceRole::Controlled => {
                    Box::pin(shared.agent.accept(cancel_rx, remote.ufrag, remote.pwd))
                        .await
                        .map(|c| c as Arc<dyn Conn + Send + Sync>)
                }
            };
            match connected {
                Ok(conn) => {
                    shared.relay_conn.send_replace(Some(Arc::clone(&conn)));
                    read_relay(shared, conn).await;
                }
                Err(error) => tracing::debug!(%error, "ICE checks ended without a connection"),
            }
        });
        Ok(())
    }

    /// Restarts ICE (RFC 8445 §9) with fresh local credentials, which it returns, and
    /// gathers again. Traffic keeps using the current path until a new pair is selected.
    /// Give the remote side's new credentials with
    /// [`set_remote_credentials`](Self::set_remote_credentials).
    pub async fn restart(&self) -> Result<Credentials, Error> {
        let fresh = Credentials::random();
        lock(&self.shared.local).installing = Some(fresh.clone());
        let restarted = self
            .shared
            .agent
            .restart(fresh.ufrag.clone(), fresh.pwd.clone())
            .await;
        {
            let mut local = lock(&self.shared.local);
            local.installing = None;
            if restarted.is_ok() {
                let old = std::mem::replace(&mut local.current, fresh.clone());
                local.previous = Some(old);
            }
        }
        restarted.map_err(|e| match e {
            webrtc_ice::Error::ErrRestartWhenGathering => {
                Error::Misuse("cannot restart ICE while gathering")
            }
            webrtc_ice::Error::ErrClosed => Error::Closed,
            other => Error::Agent(Upstream::new(other)),
        })?;
        self.gather()?;
        Ok(fresh)
    }

    /// Sets the remote side's credentials after an ICE restart.
    pub async fn set_remote_credentials(&self, remote: Credentials) -> Result<(), Error> {
        remote.validate()?;
        self.shared
            .agent
            .set_remote_credentials(remote.ufrag, remote.pwd)
            .await
            .map_err(|e| Error::Agent(Upstream::new(e)))
    }

    /// The current connection state.
    pub fn state(&self) -> IceConnectionState {
        IceConnectionState::from_u8(self.shared.state.load(Ordering::SeqCst))
    }

    /// The selected pair, if any.
    pub fn selected_pair(&self) -> Option<CandidatePair> {
        self.shared
            .agent
            .get_selected_candidate_pair()
            .map(|pair| CandidatePair {
                local: candidate_info(&*pair.local),
                remote: candidate_info(&*pair.remote),
            })
    }

    /// Counters of the socket and demultiplexer.
    pub fn stats(&self) -> IceStats {
        let c = &self.shared.counters;
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        IceStats {
            packets_received: load(&c.packets_received),
            bytes_received: load(&c.bytes_received),
            packets_sent: load(&c.packets_sent),
            bytes_sent: load(&c.bytes_sent),
            unknown_dropped: load(&c.unknown_dropped),
            unverified_dropped: load(&c.unverified_dropped),
            queue_dropped: load(&c.queue_dropped),
            stun_rejected: load(&c.stun_rejected),
            unkeyed_checks_held: self.shared.stun_conn.held_checks(),
        }
    }

    /// The channel DTLS records travel on.
    pub fn dtls_channel(&self) -> PacketChannel {
        PacketChannel {
            shared: Arc::clone(&self.shared),
            kind: PacketKind::Dtls,
        }
    }

    /// The channel SRTP and SRTCP packets travel on.
    pub fn media_channel(&self) -> PacketChannel {
        PacketChannel {
            shared: Arc::clone(&self.shared),
            kind: PacketKind::Rtp,
        }
    }

    /// Closes the agent: stops checks and every task, and releases the socket.
    pub async fn close(&self) {
        if self.shared.cancel.is_cancelled() {
            return;
        }
        self.shared.shut_down();
        if tokio::time::timeout(UPSTREAM_CLOSE_TIMEOUT, self.shared.agent.close())
            .await
            .is_err()
        {
            tracing::warn!("webrtc-ice did not close in time; its tasks are abandoned");
        }
        self.shared.set_state(IceConnectionState::Closed).await;
        self.shared.tasks.close();
        self.shared.tasks.wait().await;
        // Our tasks are done: dropping our reference closes the socket.
        self.shared
            .socket
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }
}

impl Drop for IceAgent {
    fn drop(&mut self) {
        if self.shared.cancel.is_cancelled() {
            return;
        }
        self.shared.shut_down();
        // The upstream agent needs an async close; finish it in the background if we can.
        let shared = Arc::clone(&self.shared);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = tokio::time::timeout(UPSTREAM_CLOSE_TIMEOUT, shared.agent.close()).await;
            });
        }
    }
}

impl Shared {
    fn shut_down(&self) {
        self.cancel.cancel();
        lock(&self.dial_cancel).take();
    }

    /// The socket, until the agent closes.
    pub(crate) fn socket(&self) -> Result<Arc<Socket>, Error> {
        self.socket
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or(Error::Closed)
    }

    async fn set_state(&self, state: IceConnectionState) {
        let previous = self.state.swap(state as u8, Ordering::SeqCst);
        if previous != state as u8 {
            let _ = self.events.send(IceEvent::StateChanged(state)).await;
        }
    }

    pub(crate) async fn emit(&self, event: IceEvent) {
        let _ = self.events.send(event).await;
    }

    pub(crate) fn config(&self) -> &IceConfig {
        &self.config
    }

    pub(crate) fn cancelled(&self) -> &CancellationToken {
        &self.cancel
    }

    /// One server-reflexive query finished; reports completion when all gathering has.
    pub(crate) async fn srflx_done(&self) {
        let complete = {
            let mut gathering = lock(&self.gathering);
            gathering.srflx_pending = gathering.srflx_pending.saturating_sub(1);
            take_completion(&mut gathering)
        };
        if complete {
            self.emit(IceEvent::GatheringComplete).await;
        }
    }

    async fn upstream_gathering_done(&self) {
        let complete = {
            let mut gathering = lock(&self.gathering);
            gathering.upstream_done = true;
            take_completion(&mut gathering)
        };
        if complete {
            self.emit(IceEvent::GatheringComplete).await;
        }
    }

    fn lane(&self, kind: PacketKind) -> Option<&Lane> {
        match kind {
            PacketKind::Dtls => Some(&self.dtls),
            PacketKind::Rtp => Some(&self.media),
            PacketKind::Stun | PacketKind::Unknown => None,
        }
    }

    fn deliver(&self, kind: PacketKind, data: Bytes) {
        let Some(lane) = self.lane(kind) else { return };
        if lane.tx.try_send(data).is_err() {
            self.counters.queue_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Routes one datagram from the socket (RFC 7983).
    fn route(&self, datagram: Datagram) {
        self.counters
            .packets_received
            .fetch_add(1, Ordering::Relaxed);
        self.counters
            .bytes_received
            .fetch_add(datagram.data.len() as u64, Ordering::Relaxed);
        match classify(&datagram.data) {
            PacketKind::Stun => {
                if let Some(reply) = self.srflx_reply(&datagram.data) {
                    let _ = reply.send(datagram.data);
                } else if let Err(rejection) = lock(&self.local).check(&datagram.data) {
                    tracing::trace!(from = %datagram.peer, ?rejection, "STUN request refused");
                    self.counters.stun_rejected.fetch_add(1, Ordering::Relaxed);
                } else if self.stun.try_send(datagram).is_err() {
                    self.counters.queue_dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            PacketKind::Unknown => {
                self.counters
                    .unknown_dropped
                    .fetch_add(1, Ordering::Relaxed);
            }
            kind => {
                let path = *self.path.read().unwrap_or_else(PoisonError::into_inner);
                if path == Some(Path::Direct(datagram.peer)) {
                    self.deliver(kind, datagram.data);
                } else {
                    self.hold(kind, datagram);
                }
            }
        }
    }

    /// The waiter of a server-reflexive query this STUN response answers, if any.
    fn srflx_reply(&self, stun: &[u8]) -> Option<oneshot::Sender<Bytes>> {
        let transaction: [u8; 12] = stun.get(8..20)?.try_into().ok()?;
        let mut waiters = lock(&self.srflx_waiters);
        if waiters.is_empty() {
            return None;
        }
        waiters.remove(&transaction)
    }

    /// Keeps a DTLS/RTP datagram from an address that is not (yet) the selected one.
    fn hold(&self, kind: PacketKind, datagram: Datagram) {
        let mut pending = lock(&self.pending);
        // `select` changes the path and drains this queue under the same lock: look at the
        // path again, or a datagram read just before a selection would be queued after the
        // drain and wait there, unseen, while its sender waits for a retransmission timer.
        let path = *self.path.read().unwrap_or_else(PoisonError::into_inner);
        if path == Some(Path::Direct(datagram.peer)) {
            self.deliver(kind, datagram.data);
            return;
        }
        if pending.len() == PENDING_LIMIT {
            pending.pop_front();
            self.counters
                .unverified_dropped
                .fetch_add(1, Ordering::Relaxed);
        }
        pending.push_back((kind, datagram));
    }

    /// A pair was selected: traffic now flows on `path`; held datagrams from its address
    /// are delivered, others are dropped.
    fn select(&self, path: Path) {
        // Under the pending lock, so `hold` sees either the old path and queues before this
        // drain, or the new one and delivers; held datagrams go out before later ones.
        let mut pending = lock(&self.pending);
        *self.path.write().unwrap_or_else(PoisonError::into_inner) = Some(path);
        // Taken whole, so the queue's memory goes with it once a path is up.
        for (kind, datagram) in std::mem::take(&mut *pending) {
            if path == Path::Direct(datagram.peer) {
                self.deliver(kind, datagram.data);
            } else {
                self.counters
                    .unverified_dropped
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The relayed connection, waiting briefly for webrtc-ice to hand it over when the
    /// relayed pair was only just selected.
    async fn relay(&self) -> Result<Arc<dyn Conn + Send + Sync>, Error> {
        // Every relayed packet passes here: no subscription or timer once it is known.
        if let Some(conn) = self.relay_conn.borrow().clone() {
            return Ok(conn);
        }
        let mut ready = self.relay_conn.subscribe();
        let handed_over = tokio::select! {
            () = self.cancel.cancelled() => return Err(Error::Closed),
            waited = tokio::time::timeout(RELAY_HANDOVER, ready.wait_for(Option::is_some)) => {
                waited.ok().and_then(|conn| conn.ok().and_then(|conn| conn.clone()))
            }
        };
        handed_over.ok_or(Error::NotConnected)
    }

    async fn send(&self, packet: &[u8]) -> Result<(), Error> {
        if self.cancel.is_cancelled() {
            return Err(Error::Closed);
        }
        let path = *self.path.read().unwrap_or_else(PoisonError::into_inner);
        match path {
            None => return Err(Error::NotConnected),
            Some(Path::Direct(peer)) => self
                .socket()?
                .send_to(packet, peer)
                .await
                .map_err(Error::Send)?,
            Some(Path::Relay) => {
                let conn = self.relay().await?;
                conn.send(packet)
                    .await
                    .map_err(|e| Error::Send(std::io::Error::other(e)))?;
            }
        }
        self.counters.packets_sent.fetch_add(1, Ordering::Relaxed);
        self.counters
            .bytes_sent
            .fetch_add(packet.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

fn take_completion(gathering: &mut Gathering) -> bool {
    let complete =
        gathering.upstream_done && gathering.srflx_pending == 0 && !gathering.complete_reported;
    if complete {
        gathering.complete_reported = true;
    }
    complete
}

/// One kind of traffic (DTLS records, or SRTP/SRTCP) on the selected path.
///
/// Cheap to clone; every clone shares one receive queue, so have a single reader.
#[derive(Clone)]
pub struct PacketChannel {
    shared: Arc<Shared>,
    kind: PacketKind,
}

impl fmt::Debug for PacketChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PacketChannel")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl PacketChannel {
    /// Sends one datagram on the selected path.
    pub async fn send(&self, packet: &[u8]) -> Result<(), Error> {
        self.shared.send(packet).await
    }

    /// Receives the next datagram of this kind; `None` once the agent is closed.
    pub async fn recv(&self) -> Option<Bytes> {
        let lane = self.shared.lane(self.kind)?;
        let mut rx = lane.rx.lock().await;
        tokio::select! {
            () = self.shared.cancel.cancelled() => None,
            packet = rx.recv() => packet,
        }
    }

    /// The selected remote address, when traffic goes directly to it.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        match *self
            .shared
            .path
            .read()
            .unwrap_or_else(PoisonError::into_inner)
        {
            Some(Path::Direct(addr)) => Some(addr),
            _ => None,
        }
    }

    /// Our socket's local address.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }
}

fn validate(config: &IceConfig) -> Result<(), Error> {
    if !config.policy.ipv4 && !config.policy.ipv6 {
        return Err(Error::Config(
            "at least one of IPv4 and IPv6 must be enabled",
        ));
    }
    if config.transport_policy == TransportPolicy::Relay
        && !config.servers.iter().any(|s| s.scheme.is_turn())
    {
        return Err(Error::Config(
            "the relay transport policy needs a TURN server",
        ));
    }
    if config.check_interval.is_zero() || config.keepalive_interval.is_zero() {
        return Err(Error::Config(
            "check and keepalive intervals must be above zero",
        ));
    }
    if let Some(impairment) = &config.impairment {
        impairment
            .inbound
            .validate()
            .map_err(|_| Error::Config("invalid inbound impairment"))?;
        impairment
            .outbound
            .validate()
            .map_err(|_| Error::Config("invalid outbound impairment"))?;
    }
    Ok(())
}

fn agent_config(config: &IceConfig, local: &Credentials, conn: Arc<StunConn>) -> AgentConfig {
    let turn: Vec<webrtc_ice::url::Url> = config
        .servers
        .iter()
        .filter(|server| server.scheme.is_turn())
        .map(upstream_url)
        .collect();
    let mut candidate_types = Vec::new();
    if config.transport_policy == TransportPolicy::All {
        candidate_types.push(CandidateType::Host);
    }
    if !turn.is_empty() {
        candidate_types.push(CandidateType::Relay);
    }
    let mut network_types = Vec::new();
    if config.policy.ipv4 {
        network_types.push(NetworkType::Udp4);
    }
    if config.policy.ipv6 {
        network_types.push(NetworkType::Udp6);
    }
    let (interface_filter, ip_filter) = interface_filters(config);
    AgentConfig {
        urls: turn,
        udp_network: UDPNetwork::Muxed(Arc::new(StunMux::new(conn))),
        local_ufrag: local.ufrag.clone(),
        local_pwd: local.pwd.clone(),
        multicast_dns_mode: if config.mdns {
            MulticastDnsMode::QueryOnly
        } else {
            MulticastDnsMode::Disabled
        },
        disconnected_timeout: Some(config.disconnected_timeout),
        failed_timeout: Some(config.failed_timeout),
        keepalive_interval: Some(config.keepalive_interval),
        check_interval: config.check_interval,
        prflx_acceptance_min_wait: Some(config.peer_reflexive_wait),
        network_types,
        candidate_types,
        include_loopback: config.policy.include_loopback,
        interface_filter: Arc::new(interface_filter),
        ip_filter: Arc::new(ip_filter),
        ..AgentConfig::default()
    }
}

type InterfaceFilter = Option<Box<dyn Fn(&str) -> bool + Send + Sync>>;
type IpFilter = Option<Box<dyn Fn(IpAddr) -> bool + Send + Sync>>;

fn interface_filters(config: &IceConfig) -> (InterfaceFilter, IpFilter) {
    let policy = &config.policy;
    let names = match &policy.interfaces {
        Interfaces::Named(names) => Some(names.clone()),
        Interfaces::All | Interfaces::DefaultRoute => None,
    };
    let routes = match &policy.interfaces {
        Interfaces::DefaultRoute => Some(default_route_addresses()),
        Interfaces::All | Interfaces::Named(_) => None,
    };
    let loopback = policy.include_loopback;
    let admitted = move |ip: IpAddr| {
        routes
            .as_ref()
            .is_none_or(|routes| routes.contains(&ip) || (loopback && ip.is_loopback()))
    };
    let family = (policy.ipv4 && policy.ipv6).then(|| {
        let usable = system_addresses().into_iter().filter(|(name, ip)| {
            names.as_ref().is_none_or(|names| names.contains(name))
                && (loopback || !ip.is_loopback())
                && admitted(*ip)
        });
        HostFamily::choose(usable.map(|(_, ip)| ip))
    });
    let interface_filter: InterfaceFilter =
        names.map(|names| Box::new(move |name: &str| names.iter().any(|n| n == name)) as Box<_>);
    let ip_filter: IpFilter = Some(Box::new(move |ip: IpAddr| {
        admitted(ip) && family.is_none_or(|family| family.contains(ip))
    }));
    (interface_filter, ip_filter)
}

/// The one address family host candidates come from when both are enabled.
///
/// webrtc-ice runs one receive loop per host candidate on the single connection our mux
/// gives it, and looks a datagram's sender up among the remote candidates of the
/// *reading* candidate's family: with host candidates of both families, an IPv4 check read
/// by the IPv6 candidate's loop is dropped or turns into a wrong peer-reflexive candidate,
/// and about one connection in four fails. Within one family any loop may read any
/// datagram harmlessly (see `mux`). So host candidates come from IPv4 when the host has a
/// usable IPv4 address, and from IPv6 otherwise; server-reflexive and relay candidates
/// are unaffected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HostFamily {
    V4,
    V6,
}

impl HostFamily {
    /// IPv4 if any of the usable host addresses is IPv4, else IPv6.
    fn choose(usable: impl IntoIterator<Item = IpAddr>) -> Self {
        if usable.into_iter().any(|ip| ip.is_ipv4()) {
            Self::V4
        } else {
            Self::V6
        }
    }

    fn contains(self, ip: IpAddr) -> bool {
        match self {
            Self::V4 => ip.is_ipv4(),
            Self::V6 => ip.is_ipv6(),
        }
    }
}

/// Every (interface name, address) pair of the host, as webrtc-ice enumerates them.
fn system_addresses() -> Vec<(String, IpAddr)> {
    webrtc_util::ifaces::ifaces()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|iface| Some((iface.name, iface.addr?.ip())))
        .collect()
}

/// The source address the kernel would use towards the public internet, per family.
/// Connecting a UDP socket sends nothing; it only asks the routing table.
fn default_route_addresses() -> Vec<IpAddr> {
    let probes: [SocketAddr; 2] = [
        SocketAddr::from(([192, 0, 2, 1], 9)),
        SocketAddr::from(([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1], 9)),
    ];
    probes
        .iter()
        .filter_map(|probe| {
            let bind = socket::unspecified(probe.is_ipv6(), 0);
            let socket = std::net::UdpSocket::bind(bind).ok()?;
            socket.connect(probe).ok()?;
            Some(socket.local_addr().ok()?.ip())
        })
        .collect()
}

fn upstream_url(server: &IceServer) -> webrtc_ice::url::Url {
    use webrtc_ice::url::{ProtoType, SchemeType, Url};
    Url {
        scheme: match server.scheme {
            Scheme::Stun => SchemeType::Stun,
            Scheme::Stuns => SchemeType::Stuns,
            Scheme::Turn => SchemeType::Turn,
            Scheme::Turns => SchemeType::Turns,
        },
        host: match &server.host {
            crate::url::Host::Name(name) => name.clone(),
            crate::url::Host::Ip(ip) => ip.to_string(),
        },
        port: server.port,
        username: server.username.clone().unwrap_or_default(),
        password: server.credential.clone().unwrap_or_default(),
        proto: match server.transport {
            Transport::Udp => ProtoType::Udp,
            Transport::Tcp => ProtoType::Tcp,
        },
    }
}

fn candidate_info(candidate: &(dyn Candidate + Send + Sync)) -> CandidateInfo {
    CandidateInfo {
        kind: CandidateKind::from_upstream(candidate.candidate_type()),
        address: candidate.address(),
        port: candidate.port(),
    }
}

/// Where traffic goes for a selected pair.
fn path_of(local: &(dyn Candidate + Send + Sync), remote: &(dyn Candidate + Send + Sync)) -> Path {
    if local.candidate_type() == CandidateType::Relay {
        Path::Relay
    } else {
        Path::Direct(socket::normalize(remote.addr()))
    }
}

/// Hooks webrtc-ice's callbacks to our events. Each captures a `Weak` to the shared state
/// or the event sender only, never the agent itself.
fn install_handlers(shared: &Arc<Shared>) {
    let weak: Weak<Shared> = Arc::downgrade(shared);
    shared.agent.on_candidate(Box::new(move |candidate| {
        let weak = weak.clone();
        Box::pin(async move {
            let Some(shared) = weak.upgrade() else { return };
            match candidate {
                Some(candidate) => {
                    shared
                        .emit(IceEvent::LocalCandidate(format!(
                            "candidate:{}",
                            candidate.marshal()
                        )))
                        .await;
                }
                None => shared.upstream_gathering_done().await,
            }
        })
    }));

    let weak: Weak<Shared> = Arc::downgrade(shared);
    shared
        .agent
        .on_connection_state_change(Box::new(move |state| {
            let weak = weak.clone();
            Box::pin(async move {
                if let Some(shared) = weak.upgrade() {
                    let state = IceConnectionState::from_upstream(state);
                    if matches!(
                        state,
                        IceConnectionState::Connected | IceConnectionState::Completed
                    ) && let Some(pair) = shared.agent.get_selected_candidate_pair()
                    {
                        // webrtc-ice stores the pair before reporting the state, but reports
                        // the two from different tasks: adopt the pair now, so traffic can
                        // flow the moment `Connected` is seen.
                        shared.select(path_of(&*pair.local, &*pair.remote));
                    }
                    shared.set_state(state).await;
                }
            })
        }));

    let weak: Weak<Shared> = Arc::downgrade(shared);
    shared
        .agent
        .on_selected_candidate_pair_change(Box::new(move |local, remote| {
            let weak = weak.clone();
            let pair = Box::new(CandidatePair {
                local: candidate_info(&**local),
                remote: candidate_info(&**remote),
            });
            let path = path_of(&**local, &**remote);
            Box::pin(async move {
                if let Some(shared) = weak.upgrade() {
                    shared.select(path);
                    shared.emit(IceEvent::SelectedPairChanged(pair)).await;
                }
            })
        }));
}

/// Reads the socket until the agent closes, routing every datagram.
async fn read_socket(shared: Arc<Shared>) {
    let Ok(socket) = shared.socket() else { return };
    let mut buffer = BytesMut::new();
    let mut errors = 0u32;
    loop {
        let received = tokio::select! {
            () = shared.cancel.cancelled() => return,
            received = socket.recv(&mut buffer) => received,
        };
        match received {
            Ok(datagram) => {
                errors = 0;
                shared.route(datagram);
            }
            Err(error) => {
                errors += 1;
                tracing::debug!(%error, "ICE socket receive failed");
                // Back off instead of spinning on a socket that keeps failing.
                tokio::time::sleep(Duration::from_millis(u64::from(errors.min(10)) * 10)).await;
            }
        }
    }
}

/// Reads what webrtc-ice delivers from the selected pair: only relayed traffic reaches it,
/// since direct DTLS and media never pass through webrtc-ice.
async fn read_relay(shared: Arc<Shared>, conn: Arc<dyn Conn + Send + Sync>) {
    let mut buffer = vec![0u8; socket::RECV_BUFFER];
    loop {
        let received = tokio::select! {
            () = shared.cancel.cancelled() => return,
            received = conn.recv(&mut buffer) => received,
        };
        let Ok(n) = received else { return };
        let data = Bytes::copy_from_slice(&buffer[..n]);
        match classify(&data) {
            kind @ (PacketKind::Dtls | PacketKind::Rtp) => shared.deliver(kind, data),
            PacketKind::Stun | PacketKind::Unknown => {
                shared
                    .counters
                    .unknown_dropped
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CandidatePolicy;

    /// The event queue lives as long as the agent and reserves room for 32 events when it
    /// is created: an event stays a few words (the selected pair is boxed).
    #[test]
    fn events_stay_a_few_words() {
        let size = size_of::<IceEvent>();
        assert!(size <= 56, "IceEvent is {size} bytes");
    }

    #[test]
    fn host_candidates_come_from_ipv4_whenever_the_host_has_a_usable_ipv4_address() {
        let v4: IpAddr = "192.0.2.10".parse().unwrap();
        let v6: IpAddr = "2001:db8::10".parse().unwrap();
        assert_eq!(HostFamily::choose([v6, v4]), HostFamily::V4);
        assert_eq!(HostFamily::choose([v6]), HostFamily::V6);
        assert_eq!(HostFamily::choose([]), HostFamily::V6);
        assert!(HostFamily::V4.contains(v4) && !HostFamily::V4.contains(v6));
        assert!(HostFamily::V6.contains(v6) && !HostFamily::V6.contains(v4));
    }

    #[test]
    fn with_both_families_enabled_the_ip_filter_admits_only_one() {
        let config = IceConfig {
            policy: CandidatePolicy {
                include_loopback: true,
                ..CandidatePolicy::default()
            },
            ..IceConfig::default()
        };
        let (_, ip_filter) = interface_filters(&config);
        let admits = ip_filter.expect("a filter");
        let v4 = admits("127.0.0.1".parse().unwrap());
        let v6 = admits("::1".parse().unwrap());
        assert!(
            v4 != v6,
            "exactly one family is admitted (v4 {v4}, v6 {v6})"
        );
    }
}
