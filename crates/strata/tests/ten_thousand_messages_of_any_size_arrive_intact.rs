//! 10,000 messages of random sizes from 0 to 256 KiB, every byte checked.
//!
//! Sizes are drawn scale by scale (see `peers::sizes`): as many messages of a few bytes
//! as of a few hundred KiB, so every fragmentation case is exercised without pushing a
//! gigabyte through a debug build.

mod peers;

use std::collections::BTreeSet;

use peers::{connected_with_channel, loopback, next_message, payload, size_scale, sizes};
use strata::{ChannelOptions, Message};
use strata_interop::netns::run_isolated;

const MESSAGES: usize = 10_000;
const MAX_SIZE: usize = 256 * 1024;

#[test]
fn ten_thousand_messages_up_to_256_kib_arrive_intact_and_in_order() {
    run_isolated(|| async {
        let (_a, _b, local, remote) =
            connected_with_channel(loopback(), loopback(), "bulk", ChannelOptions::default()).await;
        let sender = local.clone();
        let send = tokio::spawn(async move {
            for (i, len) in sizes(7, MESSAGES, MAX_SIZE).into_iter().enumerate() {
                // Alternate text and binary; text is ASCII so every size works.
                if i % 2 == 0 {
                    sender.send(payload(i as u64, len)).await.unwrap();
                } else {
                    sender.send_text("t".repeat(len)).await.unwrap();
                }
            }
        });
        let mut scales = BTreeSet::new();
        for (i, len) in sizes(7, MESSAGES, MAX_SIZE).into_iter().enumerate() {
            match next_message(&remote).await {
                Some(Message::Binary(data)) if i % 2 == 0 => {
                    assert!(data == payload(i as u64, len), "message {i} corrupted");
                }
                Some(Message::Text(text)) if i % 2 == 1 => {
                    assert_eq!(text.len(), len, "message {i}");
                    assert!(text.bytes().all(|b| b == b't'), "message {i} corrupted");
                }
                other => panic!("message {i}: unexpected {:?}", other.map(|m| m.len())),
            }
            scales.insert(size_scale(len));
        }
        send.await.unwrap();
        // Every scale from empty to 256 KiB went through intact.
        assert_eq!(scales, (0..=size_scale(MAX_SIZE)).collect::<BTreeSet<_>>());
    });
}
