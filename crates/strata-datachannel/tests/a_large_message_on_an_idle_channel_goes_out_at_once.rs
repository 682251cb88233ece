//! A message of hundreds of KiB on an idle association goes out at once, whole: nothing
//! waits for the peer's next packet (a heartbeat, 30 s away) to move it along.

mod support;

use std::time::Duration;

use bytes::Bytes;
use strata_datachannel::{ChannelEvent, ChannelOptions, MaxMessageSize, Message};
use support::{accept, next_message, pair_with};

/// Far below the 30 s heartbeat interval, far above a loopback transfer.
const NO_STALL: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_message_on_an_idle_channel_goes_out_at_once() {
    let mut pair = pair_with(|config| {
        config.remote_max_message_size = MaxMessageSize::Bytes(256 * 1024);
    })
    .await;
    let mut channel = pair
        .client
        .create_channel("bulk", ChannelOptions::default())
        .await
        .unwrap();
    let mut remote = accept(&mut pair.server_events).await;
    let open = tokio::time::timeout(NO_STALL, channel.recv())
        .await
        .unwrap();
    assert_eq!(open, Some(ChannelEvent::Open));
    for size in [100 * 1024, 256 * 1024] {
        // Idle first: with every earlier packet acknowledged, no packet from the peer
        // prompts the sender during the write.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let data = Bytes::from((0..size).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
        let sent = Message::Binary(data);
        tokio::time::timeout(NO_STALL, channel.send_message(sent.clone()))
            .await
            .expect("the write stalled")
            .unwrap();
        let received = tokio::time::timeout(NO_STALL, next_message(&mut remote))
            .await
            .expect("the message stalled");
        assert_eq!(received, sent, "{size} bytes");
    }
}
