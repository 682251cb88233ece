//! Sending faster than the path raises `buffered_amount`; once the peer acknowledges,
//! it falls and the low-threshold event fires.

mod support;

use bytes::Bytes;
use strata_datachannel::{ChannelEvent, ChannelOptions, Error, MaxMessageSize};
use support::{PATIENCE, accept, next_event, pair_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backpressure_raises_buffered_amount_and_signals_low() {
    let mut pair = pair_with(|config| {
        config.remote_max_message_size = MaxMessageSize::Bytes(256 * 1024);
        config.max_buffered_amount = 2 << 20;
    })
    .await;
    let mut channel = pair.client.create_channel("bp", ChannelOptions::default()).await.unwrap();
    let mut remote = accept(&mut pair.server_events).await;
    channel.set_buffered_amount_low_threshold(64 * 1024);
    assert_eq!(channel.buffered_amount_low_threshold(), 64 * 1024);

    let chunk = Bytes::from(vec![9u8; 128 * 1024]);
    let mut peak = 0;
    let refused = loop {
        match channel.send(chunk.clone()).await {
            Ok(()) => peak = peak.max(channel.buffered_amount()),
            Err(error) => break error,
        }
    };
    assert!(matches!(refused, Error::SendBufferFull { limit, .. } if limit == 2 << 20), "{refused:?}");
    assert!(peak > 64 * 1024, "buffered_amount never rose: {peak}");

    // Drain the receiver so the sender's data is acknowledged.
    let reader = tokio::spawn(async move {
        let mut bytes = 0;
        while bytes < peak {
            if let ChannelEvent::Message(message) = next_event(&mut remote).await {
                bytes += message.len();
            }
        }
        remote
    });
    tokio::time::timeout(PATIENCE, channel.buffered_amount_low()).await.unwrap();
    assert!(channel.buffered_amount() <= 64 * 1024);
    loop {
        match next_event(&mut channel).await {
            ChannelEvent::BufferedAmountLow => break,
            ChannelEvent::Open => continue,
            other => panic!("expected BufferedAmountLow, got {other:?}"),
        }
    }
    let _remote = reader.await.unwrap();
}
