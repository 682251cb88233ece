//! Two webrtc-rs 0.17.2 peers (the `webrtc` crate) with one open channel.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, mpsc, oneshot};
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::{API, APIBuilder};
use webrtc::data_channel::RTCDataChannel;
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::ice::network_type::NetworkType;
use webrtc::ice_transport::ice_candidate::RTCIceCandidateInit;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;

use super::{LABEL, PATIENCE};

/// One `API` per process, as an application would hold it: loopback only, IPv4 only, no
/// mDNS.
fn api() -> &'static API {
    static API: OnceLock<API> = OnceLock::new();
    API.get_or_init(|| {
        let mut settings = SettingEngine::default();
        settings.set_include_loopback_candidate(true);
        settings.set_interface_filter(Box::new(|name| name == "lo"));
        settings.set_network_types(vec![NetworkType::Udp4]);
        settings.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
        APIBuilder::new().with_setting_engine(settings).build()
    })
}

/// Bytes the receiving channel has seen, and a wake-up once `target` is reached.
#[derive(Default)]
struct Received {
    bytes: AtomicUsize,
    target: AtomicUsize,
    reached: Notify,
}

/// A connected pair: `sender` is the offerer's channel, `receiver` the answerer's.
pub(crate) struct Pair {
    offerer: Arc<RTCPeerConnection>,
    answerer: Arc<RTCPeerConnection>,
    pub(crate) sender: Arc<RTCDataChannel>,
    receiver: Arc<RTCDataChannel>,
    received: Arc<Received>,
}

/// Candidates for one peer: held until it has a remote description (webrtc-rs refuses
/// them before), then added as they come.
#[derive(Default)]
struct Inbox {
    ready: bool,
    held: Vec<RTCIceCandidateInit>,
}

/// Trickles `from`'s candidates to `to` (weakly: no cycle keeps either alive).
fn trickle(from: &RTCPeerConnection, to: Weak<RTCPeerConnection>, inbox: Arc<Mutex<Inbox>>) {
    from.on_ice_candidate(Box::new(move |candidate| {
        let to = to.clone();
        let inbox = Arc::clone(&inbox);
        Box::pin(async move {
            let Some(init) = candidate.and_then(|candidate| candidate.to_json().ok()) else {
                return;
            };
            {
                let mut inbox = inbox.lock().expect("inbox");
                if !inbox.ready {
                    inbox.held.push(init);
                    return;
                }
            }
            if let Some(to) = to.upgrade() {
                let _ = to.add_ice_candidate(init).await;
            }
        })
    }));
}

/// Sets `remote` on `peer`, then adds the candidates held for it.
async fn set_remote(peer: &RTCPeerConnection, remote: RTCSessionDescription, inbox: &Mutex<Inbox>) {
    peer.set_remote_description(remote)
        .await
        .expect("remote description");
    let held = {
        let mut inbox = inbox.lock().expect("inbox");
        inbox.ready = true;
        std::mem::take(&mut inbox.held)
    };
    for init in held {
        let _ = peer.add_ice_candidate(init).await;
    }
}

/// Connects a pair; the duration runs from `create_offer` to the offerer's channel open.
pub(crate) async fn connect() -> (Pair, Duration) {
    let offerer = Arc::new(
        api()
            .new_peer_connection(RTCConfiguration::default())
            .await
            .expect("offerer"),
    );
    let answerer = Arc::new(
        api()
            .new_peer_connection(RTCConfiguration::default())
            .await
            .expect("answerer"),
    );
    let offerer_inbox = Arc::new(Mutex::new(Inbox::default()));
    let answerer_inbox = Arc::new(Mutex::new(Inbox::default()));
    trickle(
        &offerer,
        Arc::downgrade(&answerer),
        Arc::clone(&answerer_inbox),
    );
    trickle(
        &answerer,
        Arc::downgrade(&offerer),
        Arc::clone(&offerer_inbox),
    );

    let received = Arc::new(Received::default());
    let (channels_tx, mut channels) = mpsc::unbounded_channel();
    let counter = Arc::clone(&received);
    answerer.on_data_channel(Box::new(move |channel: Arc<RTCDataChannel>| {
        let counter = Arc::clone(&counter);
        channel.on_message(Box::new(move |message| {
            let before = counter
                .bytes
                .fetch_add(message.data.len(), Ordering::AcqRel);
            let target = counter.target.load(Ordering::Acquire);
            // Exactly one wake-up per transfer: when the count crosses the target.
            if before < target && before + message.data.len() >= target {
                counter.reached.notify_one();
            }
            Box::pin(async {})
        }));
        let _ = channels_tx.send(channel);
        Box::pin(async {})
    }));

    let sender = offerer
        .create_data_channel(LABEL, None)
        .await
        .expect("channel");
    let (open_tx, open) = oneshot::channel();
    sender.on_open(Box::new(move || {
        let _ = open_tx.send(());
        Box::pin(async {})
    }));

    let start = Instant::now();
    let offer = offerer.create_offer(None).await.expect("offer");
    offerer
        .set_local_description(offer.clone())
        .await
        .expect("local offer");
    set_remote(&answerer, offer, &answerer_inbox).await;
    let answer = answerer.create_answer(None).await.expect("answer");
    answerer
        .set_local_description(answer.clone())
        .await
        .expect("local answer");
    set_remote(&offerer, answer, &offerer_inbox).await;
    tokio::time::timeout(PATIENCE, open)
        .await
        .expect("the channel opens")
        .expect("open handler kept");
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
            received,
        },
        setup,
    )
}

impl Pair {
    /// Sends `count` messages of `len` bytes and waits until the receiver has them all;
    /// the time from the first send to the last byte read.
    pub(crate) async fn transfer(&self, len: usize, count: usize) -> Duration {
        self.expect(len * count);
        let data = super::message(len);
        let start = Instant::now();
        for _ in 0..count {
            self.sender.send(&data).await.expect("send");
        }
        tokio::time::timeout(PATIENCE, self.received.reached.notified())
            .await
            .expect("the transfer completes");
        start.elapsed()
    }

    /// Starts counting received bytes afresh, waking at `bytes`.
    fn expect(&self, bytes: usize) {
        self.received.bytes.store(0, Ordering::Release);
        self.received.target.store(bytes, Ordering::Release);
    }

    /// One small message, then both ends close.
    pub(crate) async fn use_and_close(self) {
        self.expect(100);
        self.sender.send(&super::message(100)).await.expect("send");
        tokio::time::timeout(PATIENCE, self.received.reached.notified())
            .await
            .expect("the message arrives");
        self.close().await;
    }

    /// Closes both ends.
    pub(crate) async fn close(self) {
        let _ = self.receiver.close().await;
        let _ = self.offerer.close().await;
        let _ = self.answerer.close().await;
    }
}
