//! Text, binary and empty messages of both kinds arrive as what was sent (PPIDs 51, 53,
//! 56, 57).

mod support;

use bytes::Bytes;
use strata_datachannel::{ChannelOptions, Message};
use support::{accept, next_message, pair};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_binary_and_empty_messages_keep_their_kind() {
    let mut pair = pair().await;
    let channel = pair
        .client
        .create_channel("kinds", ChannelOptions::default())
        .await
        .unwrap();
    let mut remote = accept(&mut pair.server_events).await;
    let sent = [
        Message::Text("héllo".into()),
        Message::Binary(Bytes::from_static(b"\x00\x01\xff")),
        Message::Text(String::new()),
        Message::Binary(Bytes::new()),
        Message::Text("after empties".into()),
    ];
    for message in &sent {
        channel.send_message(message.clone()).await.unwrap();
    }
    for message in &sent {
        assert_eq!(&next_message(&mut remote).await, message);
    }
    // And back the other way, on the channel the peer accepted.
    remote.send_text("").await.unwrap();
    remote.send(Bytes::new()).await.unwrap();
    let mut channel = channel;
    assert_eq!(
        next_message(&mut channel).await,
        Message::Text(String::new())
    );
    assert_eq!(
        next_message(&mut channel).await,
        Message::Binary(Bytes::new())
    );
}
