//! Two Strata peers in a loopback-only namespace, with in-test signaling: descriptions
//! are handed over directly and candidates trickle through event pumps.

// Each test binary uses its own subset of this module.
#![allow(dead_code)]

pub(crate) mod media;
mod negotiate;

pub(crate) use negotiate::negotiate;

use std::time::Duration;

use bytes::Bytes;
use strata::{
    CandidatePolicy, ChannelEvent, Configuration, DataChannel, IceConfig, Message, PeerConnection,
    PeerConnectionEvent, PeerConnectionState, TrackRemote, WeakPeerConnection,
};
use tokio::sync::{mpsc, watch};

/// Generous bound for anything a test waits on.
pub(crate) const PATIENCE: Duration = Duration::from_secs(20);

/// What a loopback-only namespace offers: IPv4 loopback, no mDNS.
pub(crate) fn loopback() -> Configuration {
    Configuration {
        ice: IceConfig {
            policy: CandidatePolicy {
                include_loopback: true,
                ipv6: false,
                ..CandidatePolicy::default()
            },
            mdns: false,
            ..IceConfig::default()
        },
        ..Configuration::default()
    }
}

/// One peer: its connection, the channels and tracks its peer opened, how often it asked
/// for negotiation, its aggregate state.
pub(crate) struct Peer {
    pub(crate) pc: PeerConnection,
    pub(crate) incoming: mpsc::UnboundedReceiver<DataChannel>,
    pub(crate) tracks: mpsc::UnboundedReceiver<TrackRemote>,
    pub(crate) negotiation_needed: watch::Receiver<u64>,
    pub(crate) state: watch::Receiver<PeerConnectionState>,
}

impl Peer {
    /// The next channel the remote side opened.
    pub(crate) async fn accept(&mut self) -> DataChannel {
        tokio::time::timeout(PATIENCE, self.incoming.recv())
            .await
            .expect("a channel within the patience bound")
            .expect("peer alive")
    }

    /// The next track the remote side started sending.
    pub(crate) async fn next_track(&mut self) -> TrackRemote {
        tokio::time::timeout(PATIENCE, self.tracks.recv())
            .await
            .expect("a track within the patience bound")
            .expect("peer alive")
    }

    /// Waits until `NegotiationNeeded` fired `count` times in all.
    pub(crate) async fn wait_negotiation_needed(&mut self, count: u64) {
        tokio::time::timeout(PATIENCE, self.negotiation_needed.wait_for(|n| *n >= count))
            .await
            .expect("negotiation needed within the patience bound")
            .expect("event pump alive");
    }

    /// Waits until the aggregate state satisfies `accept`.
    pub(crate) async fn wait_for(
        &mut self,
        accept: impl Fn(PeerConnectionState) -> bool,
    ) -> PeerConnectionState {
        *tokio::time::timeout(PATIENCE, self.state.wait_for(|s| accept(*s)))
            .await
            .expect("state within the patience bound")
            .expect("event pump alive")
    }
}

/// What [`pump`] hands to the test.
struct Pumped {
    channels: mpsc::UnboundedReceiver<DataChannel>,
    tracks: mpsc::UnboundedReceiver<TrackRemote>,
    negotiation_needed: watch::Receiver<u64>,
    state: watch::Receiver<PeerConnectionState>,
}

/// Reads `pc`'s events: candidates go to `peer`, channels, tracks and states to the test.
fn pump(mut events: strata::PeerConnectionEvents, peer: WeakPeerConnection) -> Pumped {
    let (channels_tx, channels_rx) = mpsc::unbounded_channel();
    let (tracks_tx, tracks_rx) = mpsc::unbounded_channel();
    let (needed_tx, needed_rx) = watch::channel(0);
    let (state_tx, state_rx) = watch::channel(PeerConnectionState::New);
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            match event {
                PeerConnectionEvent::IceCandidate(candidate) => {
                    if let Some(peer) = peer.upgrade() {
                        let _ = peer.add_ice_candidate(candidate).await;
                    }
                }
                PeerConnectionEvent::DataChannel(channel) => {
                    let _ = channels_tx.send(channel);
                }
                PeerConnectionEvent::Track(track) => {
                    let _ = tracks_tx.send(track);
                }
                PeerConnectionEvent::NegotiationNeeded => {
                    needed_tx.send_modify(|n| *n += 1);
                }
                PeerConnectionEvent::ConnectionStateChange(state) => {
                    let _ = state_tx.send(state);
                }
                _ => {}
            }
        }
    });
    Pumped {
        channels: channels_rx,
        tracks: tracks_rx,
        negotiation_needed: needed_rx,
        state: state_rx,
    }
}

/// Two peers with their event pumps running; nothing negotiated yet.
pub(crate) async fn pair(a: Configuration, b: Configuration) -> (Peer, Peer) {
    let (a_pc, a_events) = PeerConnection::new(a).await.expect("peer a");
    let (b_pc, b_events) = PeerConnection::new(b).await.expect("peer b");
    let a_pumped = pump(a_events, b_pc.downgrade());
    let b_pumped = pump(b_events, a_pc.downgrade());
    let peer = |pc, pumped: Pumped| Peer {
        pc,
        incoming: pumped.channels,
        tracks: pumped.tracks,
        negotiation_needed: pumped.negotiation_needed,
        state: pumped.state,
    };
    (peer(a_pc, a_pumped), peer(b_pc, b_pumped))
}

/// Two connected peers; `a` created `channel` before offering, `b` accepted it.
pub(crate) async fn connected_with_channel(
    a: Configuration,
    b: Configuration,
    label: &str,
    options: strata::ChannelOptions,
) -> (Peer, Peer, DataChannel, DataChannel) {
    let (mut a, mut b) = pair(a, b).await;
    let local =
        a.pc.create_data_channel(label, options)
            .await
            .expect("channel");
    negotiate(&a.pc, &b.pc).await;
    let remote = b.accept().await;
    wait_open(&local).await;
    a.wait_for(|s| s == PeerConnectionState::Connected).await;
    b.wait_for(|s| s == PeerConnectionState::Connected).await;
    (a, b, local, remote)
}

/// Waits for the channel's open event.
pub(crate) async fn wait_open(channel: &DataChannel) {
    loop {
        match tokio::time::timeout(PATIENCE, channel.recv())
            .await
            .expect("open within the patience bound")
        {
            Some(ChannelEvent::Open) => return,
            Some(ChannelEvent::BufferedAmountLow) => {}
            other => panic!("expected the channel to open, got {other:?}"),
        }
    }
}

/// The next message on `channel`, skipping notices.
pub(crate) async fn next_message(channel: &DataChannel) -> Option<Message> {
    next_message_within(channel, PATIENCE).await
}

/// The next message on `channel` within `patience`, skipping notices.
pub(crate) async fn next_message_within(
    channel: &DataChannel,
    patience: Duration,
) -> Option<Message> {
    loop {
        match tokio::time::timeout(patience, channel.recv())
            .await
            .expect("a message within the patience bound")?
        {
            ChannelEvent::Message(message) => return Some(message),
            ChannelEvent::Closed(_) => return None,
            _ => {}
        }
    }
}

/// `len` deterministic bytes derived from `index`: the receiver regenerates them to check
/// every byte without keeping a copy.
pub(crate) fn payload(index: u64, len: usize) -> Bytes {
    let mut state = index.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut data = Vec::with_capacity(len + 8);
    while data.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data.extend_from_slice(&state.to_le_bytes());
    }
    data.truncate(len);
    Bytes::from(data)
}

/// A payload that carries its own index in its first 8 bytes (`len` is at least 8), for
/// channels that may reorder or lose messages.
pub(crate) fn indexed_payload(index: u64, len: usize) -> Bytes {
    let mut data = index.to_be_bytes().to_vec();
    data.extend_from_slice(&payload(index, len.max(8) - 8));
    Bytes::from(data)
}

/// The index an [`indexed_payload`] carries, if every byte is intact.
pub(crate) fn read_indexed(data: &[u8]) -> Option<u64> {
    let index = u64::from_be_bytes(data.get(..8)?.try_into().ok()?);
    (payload(index, data.len() - 8) == data[8..]).then_some(index)
}

/// `count` message sizes in `0..=max`, from `seed`: every power-of-two scale up to `max`
/// is drawn equally often (a size is uniform within its scale), so empty and tiny
/// messages, the SCTP fragmentation boundaries and the largest messages all occur; the
/// first two sizes are always `0` and `max`.
pub(crate) fn sizes(seed: u64, count: usize, max: usize) -> Vec<usize> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    // Scale `s` holds the sizes with `s` significant bits; the top one ends at `max`.
    let top = size_scale(max.saturating_sub(1));
    let edges = [0, max].into_iter().take(count);
    let drawn = (edges.len()..count).map(|_| {
        let scale = rng.random_range(0..=top);
        let low = (1usize << scale) >> 1;
        let high = if scale == top { max } else { (1 << scale) - 1 };
        rng.random_range(low..=high)
    });
    edges.chain(drawn).collect()
}

/// The power-of-two scale of a message size, its number of significant bits (`0` for an
/// empty message): what [`sizes`] draws uniformly.
pub(crate) fn size_scale(len: usize) -> u32 {
    usize::BITS - len.leading_zeros()
}
