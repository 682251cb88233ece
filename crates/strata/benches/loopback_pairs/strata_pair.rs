//! Two Strata peers with one open channel.

use std::time::{Duration, Instant};

use bytes::Bytes;
use strata::{
    CandidatePolicy, ChannelEvent, ChannelOptions, Configuration, DataChannel, IceConfig,
    Interfaces, PeerConnection, PeerConnectionEvent, PeerConnectionEvents, WeakPeerConnection,
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
    config
}

/// A connected pair: `sender` is the offerer's channel, `receiver` the answerer's.
pub(crate) struct Pair {
    offerer: PeerConnection,
    answerer: PeerConnection,
    pub(crate) sender: DataChannel,
    pub(crate) receiver: DataChannel,
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
    let setup = start.elapsed();

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
        },
        setup,
    )
}

impl Pair {
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
