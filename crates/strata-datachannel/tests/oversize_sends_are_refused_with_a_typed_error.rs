//! The peer's `a=max-message-size` is enforced on send with a typed error.

mod support;

use bytes::Bytes;
use strata_datachannel::{ChannelOptions, Error, MaxMessageSize, Message};
use support::{accept, next_message, pair_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_sends_are_refused_with_a_typed_error() {
    let mut pair = pair_with(|config| {
        config.remote_max_message_size = MaxMessageSize::Bytes(64 * 1024);
    })
    .await;
    let channel = pair
        .client
        .create_channel("big", ChannelOptions::default())
        .await
        .unwrap();
    let mut remote = accept(&mut pair.server_events).await;
    assert_eq!(
        channel.send(Bytes::from(vec![1u8; 64 * 1024 + 1])).await,
        Err(Error::MessageTooLarge {
            size: 64 * 1024 + 1,
            limit: 64 * 1024
        })
    );
    assert_eq!(
        channel.send_text("x".repeat(70_000)).await,
        Err(Error::MessageTooLarge {
            size: 70_000,
            limit: 64 * 1024
        })
    );
    // Exactly the limit passes, and the refused sends left no trace.
    channel
        .send(Bytes::from(vec![2u8; 64 * 1024]))
        .await
        .unwrap();
    assert_eq!(
        next_message(&mut remote).await,
        Message::Binary(Bytes::from(vec![2u8; 64 * 1024]))
    );
    assert_eq!(channel.stats().messages_sent, 1);

    // A renegotiated limit applies to the next send.
    pair.client
        .set_remote_max_message_size(MaxMessageSize::Bytes(16));
    assert!(matches!(
        channel.send(Bytes::from(vec![0u8; 17])).await,
        Err(Error::MessageTooLarge { .. })
    ));
    pair.client
        .set_remote_max_message_size(MaxMessageSize::from_sdp(Some(0)));
    channel.send(Bytes::from(vec![3u8; 100_000])).await.unwrap();
}
