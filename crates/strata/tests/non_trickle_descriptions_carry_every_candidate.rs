//! Peers that do not trickle: the description after gathering carries every candidate.

mod peers;

use peers::{loopback, next_message, wait_open};
use strata::{ChannelOptions, Message, PeerConnection, PeerConnectionEvent};
use strata_interop::netns::run_isolated;

async fn drain(
    mut events: strata::PeerConnectionEvents,
    channels: tokio::sync::mpsc::UnboundedSender<strata::DataChannel>,
) {
    while let Some(event) = events.recv().await {
        if let PeerConnectionEvent::DataChannel(channel) = event {
            let _ = channels.send(channel);
        }
    }
}

#[test]
fn descriptions_exchanged_once_after_gathering_connect_without_trickle() {
    run_isolated(|| async {
        let (a, a_events) = PeerConnection::new(loopback()).await.unwrap();
        let (b, b_events) = PeerConnection::new(loopback()).await.unwrap();
        let (a_channels, _) = tokio::sync::mpsc::unbounded_channel();
        let (b_channels, mut incoming) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(drain(a_events, a_channels));
        tokio::spawn(drain(b_events, b_channels));

        let chat = a
            .create_data_channel("chat", ChannelOptions::default())
            .await
            .unwrap();
        a.set_local_description_implicit().await.unwrap();
        a.gathering_complete().await;
        let offer = a.local_description().await.unwrap().unwrap();
        assert!(offer.sdp.contains("a=candidate:"), "{}", offer.sdp);
        assert!(offer.sdp.contains("a=end-of-candidates"), "{}", offer.sdp);

        b.set_remote_description(offer).await.unwrap();
        b.set_local_description_implicit().await.unwrap();
        b.gathering_complete().await;
        let answer = b.local_description().await.unwrap().unwrap();
        assert!(answer.sdp.contains("a=candidate:"), "{}", answer.sdp);
        a.set_remote_description(answer).await.unwrap();

        let remote = incoming.recv().await.unwrap();
        wait_open(&chat).await;
        chat.send_text("no trickle needed").await.unwrap();
        assert_eq!(
            next_message(&remote).await,
            Some(Message::Text("no trickle needed".into()))
        );
    });
}
