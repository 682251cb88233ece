//! 10,000 messages of random sizes cross one reliable ordered channel over loopback UDP;
//! every byte is checked against the seed that made it.
//!
//! Sizes are uniform up to 64 KiB (about 320 MiB in all). The facade's
//! `ten_thousand_messages_of_any_size_arrive_intact` covers sizes up to 256 KiB, drawn
//! scale by scale; uniform sizes up to 256 KiB would push 1.3 GB through a debug build.

mod support;

use bytes::Bytes;
use strata_datachannel::{ChannelOptions, MaxMessageSize, Message};
use support::{accept, next_message, pair_with, payload, send_all};

const SEED: u64 = 0x1000_0000;
const COUNT: u64 = 10_000;
const MAX: usize = 64 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_random_messages_arrive_byte_for_byte() {
    let mut pair = pair_with(|config| {
        config.remote_max_message_size = MaxMessageSize::Bytes(MAX);
        // Checking every byte is slower than loopback; let the receiver fall behind.
        config.channel_receive_buffer = 512 << 20;
    })
    .await;
    let channel = pair
        .client
        .create_channel("bulk", ChannelOptions::default())
        .await
        .unwrap();
    let mut remote = accept(&mut pair.server_events).await;
    let sender = tokio::spawn(async move {
        for index in 0..COUNT {
            send_all(
                &channel,
                Message::Binary(Bytes::from(payload(SEED, index, MAX))),
            )
            .await;
        }
        channel
    });
    for index in 0..COUNT {
        let Message::Binary(data) = next_message(&mut remote).await else {
            panic!("message {index} arrived as text");
        };
        let expected = payload(SEED, index, MAX);
        assert_eq!(
            data.len(),
            expected.len(),
            "message {index} has the wrong length"
        );
        assert!(data[..] == expected[..], "message {index} is corrupted");
    }
    let channel = sender.await.unwrap();
    assert_eq!(remote.stats().messages_received, COUNT);
    assert_eq!(channel.stats().messages_sent, COUNT);
}
