//! Two agents in a loopback-only namespace, connected through an in-test "signaling" that
//! forwards candidates as they are gathered.

// Each test binary uses its own subset of this module.
#![allow(dead_code)]

use std::time::Duration;

use strata_ice::{CandidatePolicy, IceAgent, IceConfig, IceConnectionState, IceEvent, IceRole};
use tokio::sync::{mpsc, watch};

/// Generous bound for anything the tests wait on.
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

/// Loopback only, IPv4, no mDNS: what a loopback-only namespace offers.
pub(crate) fn loopback_config() -> IceConfig {
    IceConfig {
        policy: CandidatePolicy {
            include_loopback: true,
            ipv6: false,
            ..CandidatePolicy::default()
        },
        mdns: false,
        ..IceConfig::default()
    }
}

/// One side of a pair: the agent, its observed state, and every event it emitted.
pub(crate) struct Side {
    pub(crate) agent: std::sync::Arc<IceAgent>,
    pub(crate) state: watch::Receiver<IceConnectionState>,
    pub(crate) events: watch::Receiver<Vec<IceEvent>>,
}

impl Side {
    /// Waits until the state satisfies `accept`.
    pub(crate) async fn wait_for(
        &mut self,
        accept: impl Fn(IceConnectionState) -> bool,
    ) -> IceConnectionState {
        let state = tokio::time::timeout(PATIENCE, self.state.wait_for(|s| accept(*s)))
            .await
            .expect("state change within the patience bound")
            .expect("event pump alive");
        *state
    }

    /// Waits until an emitted event satisfies `accept`, and returns it.
    pub(crate) async fn wait_for_event(&mut self, accept: impl Fn(&IceEvent) -> bool) -> IceEvent {
        let events = tokio::time::timeout(
            PATIENCE,
            self.events.wait_for(|events| events.iter().any(&accept)),
        )
        .await
        .expect("event within the patience bound")
        .expect("event pump alive");
        events
            .iter()
            .find(|e| accept(e))
            .cloned()
            .expect("found above")
    }
}

/// Drains `events`, forwarding local candidates to `peer` (through `forward`, which may
/// drop some) and publishing state and history.
fn pump(
    mut events: mpsc::Receiver<IceEvent>,
    peer: mpsc::UnboundedSender<String>,
    forward: fn(&str) -> bool,
) -> (
    watch::Receiver<IceConnectionState>,
    watch::Receiver<Vec<IceEvent>>,
) {
    let (state_tx, state_rx) = watch::channel(IceConnectionState::New);
    let (history_tx, history_rx) = watch::channel(Vec::new());
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            match &event {
                IceEvent::LocalCandidate(candidate) if forward(candidate) => {
                    let _ = peer.send(candidate.clone());
                }
                IceEvent::StateChanged(state) => {
                    let _ = state_tx.send(*state);
                }
                _ => {}
            }
            history_tx.send_modify(|history| history.push(event));
        }
    });
    (state_rx, history_rx)
}

/// Adds every candidate arriving on `rx` to `agent`.
fn apply(agent: std::sync::Arc<IceAgent>, mut rx: mpsc::UnboundedReceiver<String>) {
    tokio::spawn(async move {
        while let Some(candidate) = rx.recv().await {
            agent
                .add_remote_candidate(&candidate)
                .expect("our own candidates parse");
        }
    });
}

/// Two agents that gather, exchange candidates (those `forward` accepts) and start.
pub(crate) async fn start_pair(
    a: IceConfig,
    b: IceConfig,
    forward: fn(&str) -> bool,
) -> (Side, Side) {
    let (a_agent, a_events) = IceAgent::new(a).await.expect("agent a");
    let (b_agent, b_events) = IceAgent::new(b).await.expect("agent b");
    let (a_agent, b_agent) = (std::sync::Arc::new(a_agent), std::sync::Arc::new(b_agent));
    let (to_b, for_b) = mpsc::unbounded_channel();
    let (to_a, for_a) = mpsc::unbounded_channel();
    let (a_state, a_history) = pump(a_events, to_b, forward);
    let (b_state, b_history) = pump(b_events, to_a, forward);
    apply(std::sync::Arc::clone(&b_agent), for_b);
    apply(std::sync::Arc::clone(&a_agent), for_a);
    a_agent.gather().expect("gather a");
    b_agent.gather().expect("gather b");
    a_agent
        .start(IceRole::Controlling, b_agent.local_credentials())
        .expect("start a");
    b_agent
        .start(IceRole::Controlled, a_agent.local_credentials())
        .expect("start b");
    (
        Side {
            agent: a_agent,
            state: a_state,
            events: a_history,
        },
        Side {
            agent: b_agent,
            state: b_state,
            events: b_history,
        },
    )
}

/// A connected pair over loopback.
pub(crate) async fn connected_pair(a: IceConfig, b: IceConfig) -> (Side, Side) {
    let (mut a, mut b) = start_pair(a, b, |_| true).await;
    a.wait_for(|s| s == IceConnectionState::Connected).await;
    b.wait_for(|s| s == IceConnectionState::Connected).await;
    (a, b)
}

/// A DTLS-looking record (first byte 22) carrying `n`.
pub(crate) fn dtls_record(n: u32) -> Vec<u8> {
    let mut record = vec![22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4];
    record.extend_from_slice(&n.to_be_bytes());
    record
}

/// An RTP-looking packet carrying `n`.
pub(crate) fn rtp_packet(n: u32) -> Vec<u8> {
    let mut packet = vec![0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7];
    packet.extend_from_slice(&n.to_be_bytes());
    packet
}
