//! Messages above the peer's `max-message-size` (256 KiB by default) are split and
//! reassembled on a reliable ordered channel between transports, up to the configured
//! `max_message_size`; on an unreliable channel they are refused with `MessageTooLarge`.

mod room_harness;

use bytes::Bytes;
use room_harness::{config, connected, next, server, start};
use strata::{ChannelMode, Error, Message, TransportEvent, TransportEvents};

fn payload(len: usize, seed: u8) -> Bytes {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect::<Vec<u8>>()
        .into()
}

async fn message(events: &mut TransportEvents, what: &str) -> Message {
    next(events, what, |event| match event {
        TransportEvent::Message { message, .. } => Some(message),
        _ => None,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_messages_are_split_on_reliable_channels_and_refused_on_unreliable_ones() {
    let server = server().await;
    let url = server.ws_url();

    let reliable = |name: &str| {
        let mut config = config(&url, "big", name);
        config.max_message_size = 4 * 1024 * 1024;
        config
    };
    let (a, mut a_events) = start(reliable("peer-a")).await;
    let (b, mut b_events) = start(reliable("peer-b")).await;
    let b_id = connected(&mut a_events, 1).await.remove(0);
    let a_id = connected(&mut b_events, 1).await.remove(0);

    // Several sizes around the peer's limit, both ways, in order, byte for byte.
    let sizes = [256 * 1024, 256 * 1024 + 1, 1024 * 1024, 3 * 1024 * 1024 + 7];
    for (i, &size) in sizes.iter().enumerate() {
        a.send_to_peer(&b_id, payload(size, i as u8)).await.unwrap();
    }
    for (i, &size) in sizes.iter().enumerate() {
        assert_eq!(
            message(&mut b_events, &format!("the message of {size} bytes")).await,
            Message::Binary(payload(size, i as u8))
        );
    }
    let text = "é".repeat(300 * 1024);
    b.send_text_to_peer(&a_id, text.clone()).await.unwrap();
    assert_eq!(
        message(&mut a_events, "the long text").await,
        Message::Text(text)
    );
    // Above our own bound: refused before anything is sent.
    assert!(matches!(
        a.send_to_peer(&b_id, payload(4 * 1024 * 1024 + 1, 0)).await,
        Err(Error::MessageTooLarge {
            size: 4_194_305,
            limit: 4_194_304
        })
    ));
    a.send_to_peer(&b_id, &b"still fine"[..]).await.unwrap();
    assert_eq!(
        message(&mut b_events, "the message after the refusal").await,
        Message::Binary(Bytes::from_static(b"still fine"))
    );

    // Unreliable unordered: no splitting.
    let unreliable = |name: &str| {
        let mut config = config(&url, "lossy", name);
        config.channel = ChannelMode::UnreliableUnordered { max_retransmits: 0 };
        config
    };
    let (c, mut c_events) = start(unreliable("peer-c")).await;
    let (_d, mut d_events) = start(unreliable("peer-d")).await;
    let d_id = connected(&mut c_events, 1).await.remove(0);
    connected(&mut d_events, 1).await;
    match c.send_to_peer(&d_id, payload(300 * 1024, 1)).await {
        Err(Error::MessageTooLarge { size, limit }) => {
            assert_eq!(size, 300 * 1024);
            assert!(limit < size && limit >= 200 * 1024, "{limit}");
        }
        other => panic!("expected MessageTooLarge, got {other:?}"),
    }
    // Small ones still go (unreliable: sent again until one arrives).
    let mut resend = tokio::time::interval(std::time::Duration::from_millis(200));
    let arrived = tokio::time::timeout(room_harness::PATIENCE, async {
        loop {
            tokio::select! {
                _ = resend.tick() => c.send_to_peer(&d_id, payload(1000, 2)).await.unwrap(),
                Some(event) = d_events.recv() => {
                    if let TransportEvent::Message { message, .. } = event {
                        break message;
                    }
                }
            }
        }
    })
    .await
    .expect("a small message over the unreliable channel");
    assert_eq!(arrived, Message::Binary(payload(1000, 2)));

    for transport in [&a, &b, &c] {
        transport.shutdown().await;
    }
    server.shutdown().await;
}
