//! Each reliability mode between two Strata peers over real UDP on loopback.

mod peers;

use std::time::Duration;

use peers::{
    connected_with_channel, indexed_payload, loopback, next_message, payload, read_indexed, sizes,
};
use strata::{ChannelOptions, Message};
use strata_interop::netns::run_isolated;

const MESSAGES: usize = 500;
const MAX_SIZE: usize = 16 * 1024;

#[test]
fn reliable_ordered_delivers_every_message_in_order_both_ways() {
    run_isolated(|| async {
        let (_a, _b, local, remote) =
            connected_with_channel(loopback(), loopback(), "ordered", ChannelOptions::default())
                .await;
        let lens = sizes(1, MESSAGES, MAX_SIZE);
        let sender = local.clone();
        let send = tokio::spawn(async move {
            for (i, len) in lens.iter().enumerate() {
                sender.send(payload(i as u64, *len)).await.unwrap();
            }
        });
        for (i, len) in sizes(1, MESSAGES, MAX_SIZE).iter().enumerate() {
            let Some(Message::Binary(data)) = next_message(&remote).await else {
                panic!("message {i} missing")
            };
            assert_eq!(data, payload(i as u64, *len), "message {i}");
        }
        send.await.unwrap();
        // The other direction, with text.
        for i in 0..50 {
            remote.send_text(format!("reply {i}")).await.unwrap();
        }
        for i in 0..50 {
            assert_eq!(
                next_message(&local).await,
                Some(Message::Text(format!("reply {i}")))
            );
        }
    });
}

async fn unordered_delivery(options: ChannelOptions, require_all: bool) {
    let (_a, _b, local, remote) =
        connected_with_channel(loopback(), loopback(), "unordered", options).await;
    for (i, len) in sizes(2, MESSAGES, MAX_SIZE).into_iter().enumerate() {
        local.send(indexed_payload(i as u64, len)).await.unwrap();
    }
    let mut seen = vec![false; MESSAGES];
    let mut received = 0;
    while received < MESSAGES {
        let next = if require_all {
            next_message(&remote).await
        } else {
            // Without retransmissions, loopback may still drop under a burst: stop once
            // the channel has been quiet for a while.
            match tokio::time::timeout(Duration::from_secs(2), next_message(&remote)).await {
                Ok(message) => message,
                Err(_) => break,
            }
        };
        let Some(Message::Binary(data)) = next else {
            panic!("channel ended after {received} messages")
        };
        let index = read_indexed(&data).expect("every byte intact") as usize;
        assert!(!seen[index], "message {index} delivered twice");
        seen[index] = true;
        received += 1;
    }
    if require_all {
        assert!(seen.iter().all(|s| *s));
    } else {
        assert!(
            received * 10 >= MESSAGES * 9,
            "only {received} of {MESSAGES} arrived over loopback"
        );
    }
}

#[test]
fn unordered_reliable_delivers_every_message_exactly_once() {
    run_isolated(|| {
        unordered_delivery(
            ChannelOptions {
                ordered: false,
                ..ChannelOptions::default()
            },
            true,
        )
    });
}

#[test]
fn unordered_without_retransmissions_delivers_intact_messages_at_most_once() {
    run_isolated(|| {
        unordered_delivery(
            ChannelOptions {
                ordered: false,
                max_retransmits: Some(0),
                ..ChannelOptions::default()
            },
            false,
        )
    });
}

#[test]
fn partially_reliable_by_lifetime_delivers_intact_messages_at_most_once() {
    run_isolated(|| {
        unordered_delivery(
            ChannelOptions {
                ordered: false,
                max_packet_life_time: Some(Duration::from_millis(500)),
                ..ChannelOptions::default()
            },
            false,
        )
    });
}

#[test]
fn the_remote_side_sees_the_options_the_opener_chose() {
    run_isolated(|| async {
        let options = ChannelOptions {
            ordered: false,
            max_retransmits: Some(3),
            protocol: "game-state".into(),
            ..ChannelOptions::default()
        };
        let (_a, _b, _local, remote) =
            connected_with_channel(loopback(), loopback(), "state", options).await;
        assert_eq!(remote.label(), "state");
        assert_eq!(remote.protocol(), "game-state");
        assert!(!remote.options().ordered);
        assert_eq!(remote.options().max_retransmits, Some(3));
    });
}
