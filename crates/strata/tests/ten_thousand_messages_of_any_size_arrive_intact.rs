//! 10,000 messages of random sizes from 0 to 256 KiB, every byte checked.

mod peers;

use peers::{connected_with_channel, loopback, next_message, payload, sizes};
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
        let mut bytes = 0usize;
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
            bytes += len;
        }
        send.await.unwrap();
        assert!(bytes > 1_000_000_000, "{bytes} bytes checked");
    });
}
