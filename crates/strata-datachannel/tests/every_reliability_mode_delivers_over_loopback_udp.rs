//! Each reliability mode carries messages between two associations over real UDP.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use strata_datachannel::{ChannelOptions, Message, Reliability};
use support::{accept, next_message, pair, payload, send_all};

const SEED: u64 = 0x5eed_0001;
const MESSAGES: u64 = 300;

async fn exchange(options: ChannelOptions, expected: Reliability) {
    let mut pair = pair().await;
    let channel = pair
        .client
        .create_channel("mode", options.clone())
        .await
        .unwrap();
    let mut remote = accept(&mut pair.server_events).await;
    assert_eq!(remote.reliability(), expected);
    assert_eq!(remote.ordered(), options.ordered);
    assert_eq!(channel.reliability(), expected);

    let sender = tokio::spawn(async move {
        for index in 0..MESSAGES {
            send_all(
                &channel,
                Message::Binary(Bytes::from(payload(SEED, index, 4000))),
            )
            .await;
        }
        channel
    });
    let reliable = expected == Reliability::Reliable;
    // Unreliable modes may lose what the kernel drops on loopback; stop after a quiet spell.
    let quiet = if reliable {
        support::PATIENCE
    } else {
        Duration::from_secs(3)
    };
    let mut seen = BTreeSet::new();
    let mut previous = None;
    while seen.len() < MESSAGES as usize {
        let Ok(message) = tokio::time::timeout(quiet, next_message(&mut remote)).await else {
            assert!(!reliable, "a reliable channel stalled");
            break;
        };
        let Message::Binary(data) = message else {
            panic!("text on a binary exchange");
        };
        let index = (0..MESSAGES)
            .find(|i| payload(SEED, *i, 4000) == data)
            .expect("a message that was never sent, or corrupted");
        assert!(seen.insert(index), "message {index} delivered twice");
        if options.ordered {
            assert!(previous < Some(index), "out of order on an ordered channel");
        }
        previous = Some(index);
    }
    let channel = sender.await.unwrap();
    assert_eq!(channel.stats().messages_sent, MESSAGES);
    assert!(
        seen.len() as u64 >= MESSAGES * 9 / 10,
        "only {} of {MESSAGES} arrived on a loopback path",
        seen.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reliable_ordered_delivers_everything_in_order() {
    exchange(ChannelOptions::default(), Reliability::Reliable).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reliable_unordered_delivers_everything() {
    let options = ChannelOptions {
        ordered: false,
        ..ChannelOptions::default()
    };
    exchange(options, Reliability::Reliable).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_retransmits_zero_delivers_on_a_clean_path() {
    let options = ChannelOptions {
        ordered: false,
        max_retransmits: Some(0),
        ..ChannelOptions::default()
    };
    exchange(options, Reliability::MaxRetransmits(0)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_packet_life_time_delivers_on_a_clean_path() {
    let options = ChannelOptions {
        max_packet_life_time: Some(Duration::from_secs(5)),
        ..ChannelOptions::default()
    };
    exchange(options, Reliability::MaxPacketLifetimeMs(5000)).await;
}
