//! Pre-negotiated channels (`negotiated: true, id`) carry data without DCEP, including
//! data that arrives before the receiving side created its channel.

mod support;

use strata_datachannel::{ChannelOptions, Message, StreamId};
use support::{next_message, pair};

fn negotiated(id: u16) -> ChannelOptions {
    ChannelOptions {
        negotiated: Some(id),
        ..ChannelOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negotiated_channels_carry_data_both_ways_without_dcep() {
    let mut pair = pair().await;
    let mut a = pair
        .client
        .create_channel("n", negotiated(7))
        .await
        .unwrap();
    let mut b = pair
        .server
        .create_channel("n", negotiated(7))
        .await
        .unwrap();
    assert_eq!(a.id(), StreamId::new(7).unwrap());
    assert!(a.negotiated());
    a.send_text("ping").await.unwrap();
    assert_eq!(next_message(&mut b).await, Message::Text("ping".into()));
    b.send_text("pong").await.unwrap();
    assert_eq!(next_message(&mut a).await, Message::Text("pong".into()));
    // No OPEN crossed: neither side saw a remote channel, and the id is taken.
    assert!(pair.server_events_pending_is_empty());
    assert!(matches!(
        pair.client.create_channel("again", negotiated(7)).await,
        Err(strata_datachannel::Error::StreamIdInUse { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_sent_before_the_peer_creates_its_negotiated_channel_is_kept() {
    let pair = pair().await;
    let a = pair
        .client
        .create_channel("early", negotiated(3))
        .await
        .unwrap();
    a.send_text("first").await.unwrap();
    a.send_text("second").await.unwrap();
    // The server has not created channel 3 yet; its messages wait, bounded, unclaimed.
    let mut b = pair
        .server
        .create_channel("early", negotiated(3))
        .await
        .unwrap();
    assert_eq!(next_message(&mut b).await, Message::Text("first".into()));
    assert_eq!(next_message(&mut b).await, Message::Text("second".into()));
}

trait NoPendingEvents {
    fn server_events_pending_is_empty(&mut self) -> bool;
}

impl NoPendingEvents for support::Pair {
    fn server_events_pending_is_empty(&mut self) -> bool {
        use futures_util::FutureExt;
        self.server_events.recv().now_or_never().is_none()
    }
}
