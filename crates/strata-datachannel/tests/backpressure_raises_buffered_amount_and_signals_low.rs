//! Sending faster than the path raises `buffered_amount`; past its bound a send is
//! refused with a typed error; once the peer acknowledges, the amount falls and the
//! low-threshold event fires.

mod support;

use bytes::Bytes;
use std::time::Duration;

use strata_datachannel::{
    Association, AssociationConfig, ChannelEvent, ChannelOptions, DtlsRole, Error, MaxMessageSize,
};
use support::{
    ImpairedTransport, Impairment, PATIENCE, accept, expect_established, next_event, udp_pair,
};

const LIMIT: usize = 150 * 1024;
const CHUNK: usize = 100 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backpressure_raises_buffered_amount_and_signals_low() {
    // A 40 ms path each way: acknowledgements lag behind a sender on loopback speed.
    let (a, b) = udp_pair().await;
    let slow = Impairment {
        delay: Duration::from_millis(40),
        ..Impairment::default()
    };
    let config = |role| {
        let mut config = AssociationConfig::new(role);
        config.remote_max_message_size = MaxMessageSize::Bytes(256 * 1024);
        config.max_buffered_amount = LIMIT;
        config
    };
    let (client, mut client_events) = Association::new(
        ImpairedTransport::new(a, slow.clone(), 1),
        config(DtlsRole::Client),
    )
    .unwrap();
    let (_server, mut server_events) =
        Association::new(ImpairedTransport::new(b, slow, 2), config(DtlsRole::Server)).unwrap();
    expect_established(&mut client_events).await;
    expect_established(&mut server_events).await;
    let mut channel = client
        .create_channel("bp", ChannelOptions::default())
        .await
        .unwrap();
    let mut remote = accept(&mut server_events).await;
    channel.set_buffered_amount_low_threshold(16 * 1024);
    assert_eq!(channel.buffered_amount_low_threshold(), 16 * 1024);

    // Two 100 KiB sends back to back: the first fills the 150 KiB bound long before the
    // peer, 80 ms away, can acknowledge it.
    let chunk = Bytes::from(vec![9u8; CHUNK]);
    let mut peak = 0;
    let mut refused = None;
    for _ in 0..2 {
        match channel.send(chunk.clone()).await {
            Ok(()) => peak = peak.max(channel.buffered_amount()),
            Err(error) => {
                refused = Some(error);
                break;
            }
        }
    }
    assert!(
        matches!(refused, Some(Error::SendBufferFull { limit: LIMIT, .. })),
        "{refused:?}"
    );
    assert!(peak >= CHUNK, "buffered_amount only reached {peak}");

    let sent = channel.stats().bytes_sent as usize;
    let reader = tokio::spawn(async move {
        let mut bytes = 0;
        while bytes < sent {
            if let ChannelEvent::Message(message) = next_event(&mut remote).await {
                bytes += message.len();
            }
        }
        remote
    });
    tokio::time::timeout(PATIENCE, channel.buffered_amount_low())
        .await
        .unwrap();
    assert!(channel.buffered_amount() <= 16 * 1024);
    loop {
        match next_event(&mut channel).await {
            ChannelEvent::BufferedAmountLow => break,
            ChannelEvent::Open => {}
            other => panic!("expected BufferedAmountLow, got {other:?}"),
        }
    }
    // With room again, sending works.
    channel.send(chunk).await.unwrap();
    let _remote = tokio::time::timeout(PATIENCE, reader)
        .await
        .unwrap()
        .unwrap();
}
