//! Two Strata peers with one open channel.

use std::time::{Duration, Instant};

use bytes::Bytes;
use strata::{
    CandidatePolicy, ChannelEvent, ChannelOptions, Configuration, DataChannel, IceConfig,
    Interfaces, PeerConnection, PeerConnectionEvent, PeerConnectionEvents, PeerConnectionStats,
    SetupTimeline, WeakPeerConnection,
};
use tokio::sync::mpsc;

use super::{LABEL, PATIENCE};

#[path = "../../tests/peers/negotiate.rs"]
mod negotiate;
use negotiate::negotiate;

/// Loopback only, IPv4 only, no mDNS.
pub(crate) fn config() -> Configuration {
    let mut config = Configuration {
        ice: IceConfig {
            policy: CandidatePolicy {
                interfaces: Interfaces::Named(vec!["lo".to_owned()]),
                ipv6: false,
                ..CandidatePolicy::default()
            },
            mdns: false,
            ..IceConfig::default()
        },
        ..Configuration::default()
    };
    config.ice.policy.include_loopback = true;
    // `STRATA_BENCH_PRFLX_WAIT_MS=1000` restores webrtc-ice's own wait, for comparison.
    if let Some(millis) = std::env::var("STRATA_BENCH_PRFLX_WAIT_MS")
        .ok()
        .and_then(|millis| millis.parse().ok())
    {
        config.ice.peer_reflexive_wait = Duration::from_millis(millis);
    }
    config
}

/// A connected pair: `sender` is the offerer's channel, `receiver` the answerer's.
pub(crate) struct Pair {
    offerer: PeerConnection,
    answerer: PeerConnection,
    pub(crate) sender: DataChannel,
    pub(crate) receiver: DataChannel,
    /// When `create_offer` was called.
    started: Instant,
    /// When the offerer's channel opened.
    opened: Instant,
}

/// Where one pair's setup time went: each step's offset from `create_offer`, per side,
/// and the retransmissions and drops that make a setup slow.
#[derive(Debug, Clone)]
pub(crate) struct Breakdown {
    /// `(step, offerer, answerer)`, offsets from `create_offer`.
    pub(crate) steps: Vec<(&'static str, Option<Duration>, Option<Duration>)>,
    /// The offerer's channel open.
    pub(crate) open: Duration,
    /// DTLS handshake datagrams sent again, by either side.
    pub(crate) dtls_resent: u64,
    /// SCTP chunks (DATA, INIT, COOKIE-ECHO) sent again, by either side.
    pub(crate) sctp_resent: u64,
    /// DTLS/media datagrams the ICE layers dropped (queues full, or never from the
    /// selected address), both sides.
    pub(crate) ice_dropped: u64,
}

/// The timeline's steps, named, as offsets from `start`.
fn offsets(timeline: &SetupTimeline, start: Instant) -> Vec<(&'static str, Option<Duration>)> {
    let since = |at: Option<Instant>| at.map(|at| at.saturating_duration_since(start));
    vec![
        ("local description", since(timeline.local_description)),
        ("remote description", since(timeline.remote_description)),
        ("ICE checking", since(timeline.ice_checking)),
        ("ICE connected", since(timeline.ice_connected)),
        ("DTLS started", since(timeline.dtls_started)),
        ("DTLS connected", since(timeline.dtls_connected)),
        ("SCTP started", since(timeline.sctp_started)),
        ("SCTP established", since(timeline.sctp_established)),
    ]
}

impl Breakdown {
    fn new(offerer: &PeerConnectionStats, answerer: &PeerConnectionStats, pair: &Pair) -> Self {
        let ours = offsets(&offerer.setup, pair.started);
        let theirs = offsets(&answerer.setup, pair.started);
        let steps = ours
            .into_iter()
            .zip(theirs)
            .map(|((name, o), (_, a))| (name, o, a))
            .collect();
        let dtls = |s: &PeerConnectionStats| s.dtls.map_or(0, |d| d.handshake_datagrams_resent);
        let sctp = |s: &PeerConnectionStats| s.sctp.map_or(0, |a| a.retransmitted_chunks);
        let ice = |s: &PeerConnectionStats| s.ice.queue_dropped + s.ice.unverified_dropped;
        Self {
            steps,
            open: pair.opened.saturating_duration_since(pair.started),
            dtls_resent: dtls(offerer) + dtls(answerer),
            sctp_resent: sctp(offerer) + sctp(answerer),
            ice_dropped: ice(offerer) + ice(answerer),
        }
    }
}

/// Forwards `events`' candidates to `peer` and channels the peer opened to `channels`.
fn pump(
    mut events: PeerConnectionEvents,
    peer: WeakPeerConnection,
    channels: Option<mpsc::UnboundedSender<DataChannel>>,
) {
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            match event {
                PeerConnectionEvent::IceCandidate(candidate) => {
                    if let Some(peer) = peer.upgrade() {
                        let _ = peer.add_ice_candidate(candidate).await;
                    }
                }
                PeerConnectionEvent::DataChannel(channel) => {
                    if let Some(channels) = &channels {
                        let _ = channels.send(channel);
                    }
                }
                _ => {}
            }
        }
    });
}

/// Connects a pair; the duration runs from `create_offer` to the offerer's channel open.
pub(crate) async fn connect() -> (Pair, Duration) {
    let (offerer, offerer_events) = PeerConnection::new(config()).await.expect("offerer");
    let (answerer, answerer_events) = PeerConnection::new(config()).await.expect("answerer");
    let (channels_tx, mut channels) = mpsc::unbounded_channel();
    pump(offerer_events, answerer.downgrade(), None);
    pump(answerer_events, offerer.downgrade(), Some(channels_tx));
    let sender = offerer
        .create_data_channel(LABEL, ChannelOptions::default())
        .await
        .expect("channel");

    let start = Instant::now();
    negotiate(&offerer, &answerer).await;
    loop {
        match tokio::time::timeout(PATIENCE, sender.recv()).await {
            Ok(Some(ChannelEvent::Open)) => break,
            Ok(Some(_)) => {}
            other => panic!("the channel did not open: {other:?}"),
        }
    }
    let opened = Instant::now();
    let setup = opened - start;

    let receiver = tokio::time::timeout(PATIENCE, channels.recv())
        .await
        .expect("the answerer sees the channel")
        .expect("answerer alive");
    (
        Pair {
            offerer,
            answerer,
            sender,
            receiver,
            started: start,
            opened,
        },
        setup,
    )
}

impl Pair {
    /// Where this pair's setup time went.
    pub(crate) async fn breakdown(&self) -> Breakdown {
        let offerer = self.offerer.stats().await.expect("offerer stats");
        let answerer = self.answerer.stats().await.expect("answerer stats");
        Breakdown::new(&offerer, &answerer, self)
    }

    /// Sends `count` messages of `len` bytes and waits until the receiver has them all;
    /// the time from the first send to the last byte read.
    pub(crate) async fn transfer(&self, len: usize, count: usize) -> Duration {
        let receiver = self.receiver.clone();
        let expected = len * count;
        let start = Instant::now();
        let reading = tokio::spawn(async move {
            let mut received = 0;
            while received < expected {
                match receiver.recv().await {
                    Some(ChannelEvent::Message(message)) => received += message.len(),
                    Some(_) => {}
                    None => panic!("the channel closed after {received} of {expected} bytes"),
                }
            }
        });
        let data = super::message(len);
        for _ in 0..count {
            self.sender.send(Bytes::clone(&data)).await.expect("send");
        }
        tokio::time::timeout(PATIENCE, reading)
            .await
            .expect("the transfer completes")
            .expect("reader");
        start.elapsed()
    }

    /// One small message each way, then both ends close.
    pub(crate) async fn use_and_close(self) {
        self.sender.send(super::message(100)).await.expect("send");
        loop {
            match tokio::time::timeout(PATIENCE, self.receiver.recv()).await {
                Ok(Some(ChannelEvent::Message(_))) => break,
                Ok(Some(_)) => {}
                other => panic!("no message: {other:?}"),
            }
        }
        self.close().await;
    }

    /// Closes both ends.
    pub(crate) async fn close(self) {
        self.offerer.close().await;
        self.answerer.close().await;
    }
}
