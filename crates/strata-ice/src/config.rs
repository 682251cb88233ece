//! What an [`IceAgent`](crate::IceAgent) is built from.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use strata_netem::Impairment;

use crate::url::IceServer;

/// Which interfaces host candidates come from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Interfaces {
    /// Every interface that is up (native-stack behaviour; the default).
    #[default]
    All,
    /// Only the address the default route uses, per family (browser behaviour without
    /// media permission).
    DefaultRoute,
    /// Only the named interfaces (e.g. `eth0`).
    Named(Vec<String>),
}

/// Which candidates may be used (W3C `RTCIceTransportPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransportPolicy {
    /// Every kind of candidate.
    #[default]
    All,
    /// Relay candidates only: traffic always goes through a TURN server, hiding our
    /// addresses from the peer. Needs at least one TURN server.
    Relay,
}

/// Where candidates are gathered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidatePolicy {
    /// Which interfaces provide host candidates.
    pub interfaces: Interfaces,
    /// Gather IPv4 candidates.
    pub ipv4: bool,
    /// Gather IPv6 candidates.
    ///
    /// With both families enabled, host candidates come from IPv4 when the host has a
    /// usable IPv4 address and from IPv6 otherwise (webrtc-ice cannot keep two families
    /// apart on one socket); server-reflexive and relay candidates are not restricted.
    pub ipv6: bool,
    /// Include loopback addresses. Off by default, as in browsers; tests in a
    /// loopback-only network namespace turn it on.
    pub include_loopback: bool,
}

impl Default for CandidatePolicy {
    fn default() -> Self {
        Self {
            interfaces: Interfaces::All,
            ipv4: true,
            ipv6: true,
            include_loopback: false,
        }
    }
}

/// A seeded impairment applied at the connection's own UDP socket, per direction.
///
/// For tests, benchmarks, and applications that want to see how they behave under loss:
/// the kernels we run on have no `netem`, and a seed makes the run reproducible.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkImpairment {
    /// Applied to datagrams as they arrive.
    pub inbound: Impairment,
    /// Applied to datagrams as they leave.
    pub outbound: Impairment,
    /// Seed for every random choice (the outbound link uses `seed + 1`).
    pub seed: u64,
    /// A switch that takes the path down entirely while it is on (never, unless flipped).
    pub outage: Outage,
}

/// Takes an impaired socket's path down and brings it back, from outside the connection:
/// while the outage lasts, every datagram either way is dropped, as when a cable is
/// pulled. Clones share one switch, so a test keeps a clone and flips it while the
/// connection runs.
#[derive(Debug, Clone, Default)]
pub struct Outage(Arc<OutageState>);

#[derive(Debug, Default)]
struct OutageState {
    down: AtomicBool,
    dropped: AtomicU64,
}

impl Outage {
    /// A switch that is off (the path is up).
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the path down.
    pub fn begin(&self) {
        self.0.down.store(true, Ordering::Relaxed);
    }

    /// Brings the path back.
    pub fn end(&self) {
        self.0.down.store(false, Ordering::Relaxed);
    }

    /// Whether the path is down.
    pub fn is_down(&self) -> bool {
        self.0.down.load(Ordering::Relaxed)
    }

    /// Datagrams dropped by outages of this switch so far, both ways, on every socket
    /// sharing it.
    pub fn dropped(&self) -> u64 {
        self.0.dropped.load(Ordering::Relaxed)
    }

    /// Counts a datagram against the outage when the path is down; `true`: drop it.
    pub(crate) fn drops(&self) -> bool {
        let down = self.is_down();
        if down {
            self.0.dropped.fetch_add(1, Ordering::Relaxed);
        }
        down
    }
}

/// Two outages are equal when they are the same switch.
impl PartialEq for Outage {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Configuration of one ICE agent.
#[derive(Debug, Clone, PartialEq)]
pub struct IceConfig {
    /// STUN servers (server-reflexive candidates) and TURN servers (relay candidates; they
    /// also answer STUN).
    pub servers: Vec<IceServer>,
    /// Where host candidates come from.
    pub policy: CandidatePolicy,
    /// Which candidates may be used.
    pub transport_policy: TransportPolicy,
    /// Local UDP port; 0 picks a free one.
    pub port: u16,
    /// Resolve remote `.local` (mDNS) host candidates, as browsers hiding their addresses
    /// send them.
    pub mdns: bool,
    /// Impairment at the socket, if any.
    pub impairment: Option<NetworkImpairment>,
    /// How long a STUN server has to answer a server-reflexive query (with retransmits).
    pub srflx_timeout: Duration,
    /// Without any traffic for this long, the connection is `Disconnected`.
    pub disconnected_timeout: Duration,
    /// Disconnected for this long more, the connection has `Failed`.
    pub failed_timeout: Duration,
    /// Interval of keepalive (consent) checks on the selected pair.
    pub keepalive_interval: Duration,
    /// Interval between connectivity checks while checking (RFC 8445 `Ta`).
    pub check_interval: Duration,
    /// How long after checks start a pair whose remote end is peer-reflexive (learned
    /// from the peer's own check, RFC 8445 §7.3.1.3) may be nominated.
    ///
    /// webrtc-ice waits a second by default, hoping for a better pair. But a peer whose
    /// checks arrive before its trickled candidate (the answer and the candidates cross a
    /// signaling server; the answerer checks at once) is known by that peer-reflexive
    /// candidate for good: webrtc-ice matches later checks and responses to it by address,
    /// so the host pair it later signals never becomes valid, and every such connection
    /// waited the full second. The pair is verified in both directions either way.
    pub peer_reflexive_wait: Duration,
}

impl Default for IceConfig {
    fn default() -> Self {
        Self {
            servers: Vec::new(),
            policy: CandidatePolicy::default(),
            transport_policy: TransportPolicy::All,
            port: 0,
            mdns: true,
            impairment: None,
            srflx_timeout: Duration::from_secs(3),
            disconnected_timeout: Duration::from_secs(5),
            failed_timeout: Duration::from_secs(25),
            keepalive_interval: Duration::from_secs(2),
            check_interval: Duration::from_millis(50),
            peer_reflexive_wait: Duration::ZERO,
        }
    }
}
