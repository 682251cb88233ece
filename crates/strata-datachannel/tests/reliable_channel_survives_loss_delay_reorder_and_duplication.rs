//! Through a seeded impairment layer (5% loss, 30 ms delay, 2% of packets reordered,
//! 2% duplicated, both directions): a reliable channel delivers every byte intact and in
//! order, and an unreliable unordered channel delivers what arrives without stalling.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use strata_datachannel::{
    Association, AssociationConfig, AssociationEvents, ChannelOptions, DtlsRole, MaxMessageSize,
    Message,
};
use support::{
    ImpairedTransport, Impairment, Loss, accept, expect_established, next_message,
    next_message_within, payload, send_all, udp_pair,
};

fn impairment() -> Impairment {
    Impairment {
        loss: Loss::Random { probability: 0.05 },
        delay: Duration::from_millis(30),
        jitter: Duration::from_millis(1),
        reorder: 0.02,
        duplicate: 0.02,
        ..Impairment::default()
    }
}

async fn impaired_pair(
    seed: u64,
) -> (
    Association,
    AssociationEvents,
    Association,
    AssociationEvents,
) {
    let (a, b) = udp_pair().await;
    let mut client_config = AssociationConfig::new(DtlsRole::Client);
    let mut server_config = AssociationConfig::new(DtlsRole::Server);
    for config in [&mut client_config, &mut server_config] {
        config.remote_max_message_size = MaxMessageSize::Bytes(256 * 1024);
        config.channel_receive_buffer = 16 << 20;
    }
    let (client, mut client_events) =
        Association::new(ImpairedTransport::new(a, impairment(), seed), client_config).unwrap();
    let (server, mut server_events) = Association::new(
        ImpairedTransport::new(b, impairment(), seed + 1),
        server_config,
    )
    .unwrap();
    expect_established(&mut client_events).await;
    expect_established(&mut server_events).await;
    (client, client_events, server, server_events)
}

const SEED: u64 = 0x1055;
/// 2 MiB: enough for many losses, retransmissions and reorderings on this path, and a
/// test that runs in seconds.
const TOTAL: usize = 2 << 20;
/// The longest wait for the next message: far beyond a backed-off retransmission timeout,
/// even on a loaded machine. Silence beyond this is a stall no timer explains.
const NEXT_MESSAGE: Duration = Duration::from_secs(90);
const MESSAGE: usize = 64 * 1024;
/// Messages on the unreliable channel.
const COUNT: u64 = 3000;
/// Once the unreliable sender is done: silence this long means everything has arrived.
const QUIET: Duration = Duration::from_secs(3);
/// While it sends: silence this long is a stall.
const STALL: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reliable_channel_delivers_every_byte_in_order_under_loss() {
    let (client, _client_events, _server, mut server_events) = impaired_pair(SEED).await;
    let channel = client
        .create_channel("bulk", ChannelOptions::default())
        .await
        .unwrap();
    let mut remote = accept(&mut server_events).await;
    let count = (TOTAL / MESSAGE) as u64;
    let message = |index: u64| {
        let mut data = payload(SEED, index, 0);
        data.resize(MESSAGE, 0);
        for (i, byte) in data.iter_mut().enumerate() {
            *byte = (index as usize * 31 + i * 7) as u8;
        }
        data
    };
    let sender = tokio::spawn(async move {
        for index in 0..count {
            send_all(&channel, Message::Binary(Bytes::from(message(index)))).await;
        }
        channel
    });
    let mut received = 0usize;
    for index in 0..count {
        let Message::Binary(data) = next_message_within(&mut remote, NEXT_MESSAGE).await else {
            panic!("text on a binary channel");
        };
        assert!(
            data[..] == message(index)[..],
            "message {index} corrupted or out of order"
        );
        received += data.len();
    }
    assert_eq!(received, TOTAL);
    let _channel = sender.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreliable_unordered_channel_delivers_what_arrives_without_stalling() {
    let (client, _client_events, _server, mut server_events) = impaired_pair(SEED + 10).await;
    let options = ChannelOptions {
        ordered: false,
        max_retransmits: Some(0),
        ..ChannelOptions::default()
    };
    let channel = client.create_channel("lossy", options).await.unwrap();
    let mut remote = accept(&mut server_events).await;
    let sender = tokio::spawn(async move {
        for index in 0..COUNT {
            let mut data = index.to_be_bytes().to_vec();
            data.extend(payload(SEED, index, 800));
            send_all(&channel, Message::Binary(Bytes::from(data))).await;
        }
        // Queued is not sent: up to 1 MiB can still wait in the association. Finish only when
        // it has gone out (or been abandoned), so that a finished sender leaves nothing but
        // network delay before the tail arrives.
        let drained = tokio::time::timeout(STALL, async {
            while channel.buffered_amount() > 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(drained.is_ok(), "the send buffer never drained: a stall");
        channel
    });
    let mut seen = BTreeSet::new();
    loop {
        // Lost messages are never waited for: once sending ends, what is coming arrives
        // within a few round trips. While the sender is still at it, a long silence is a
        // stall (the generous bound leaves room for retransmission timeouts on a loaded
        // machine, where the sender itself may wait for a CPU).
        let patience = if sender.is_finished() { QUIET } else { STALL };
        let Ok(message) = tokio::time::timeout(patience, next_message(&mut remote)).await else {
            assert!(
                sender.is_finished(),
                "nothing arrived for {STALL:?} while the sender was sending ({} so far): a stall",
                seen.len()
            );
            break;
        };
        let Message::Binary(data) = message else {
            panic!("text")
        };
        let index = u64::from_be_bytes(data[..8].try_into().unwrap());
        assert!(
            data[8..] == payload(SEED, index, 800)[..],
            "message {index} corrupted"
        );
        assert!(seen.insert(index), "message {index} delivered twice");
    }
    let _channel = sender.await.unwrap();
    let delivered = seen.len() as u64;
    eprintln!("unordered: {delivered} of {COUNT} delivered");
    // Every message goes out once (`max_retransmits: 0`): what the network loses (5 %)
    // stays lost, and FORWARD-TSN tells the receiver to stop waiting for it. About 95 %
    // arrive.
    assert!(
        delivered >= COUNT * 85 / 100,
        "only {delivered} of {COUNT} arrived"
    );
    assert!(
        delivered < COUNT,
        "5% loss with no retransmission lost nothing"
    );
    assert!(
        seen.range(COUNT - 100..).count() > 50,
        "the tail did not arrive: a stall"
    );
}
