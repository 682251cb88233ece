//! Malformed SCTP packets (among them those that made webrtc-sctp 0.17.2 panic or spin)
//! are dropped and counted by reason; the association keeps serving its channels.

mod support;

use std::sync::atomic::Ordering;

use strata_datachannel::sctp::MalformedPacket;
use strata_datachannel::{ChannelOptions, DataChannel, Message};
use support::{Pair, accept, inject, next_message, pair, sctp_chunk, sctp_packet};

async fn round_trip(
    pair: &mut Pair,
    local: &mut DataChannel,
    remote: &mut DataChannel,
    text: &str,
) {
    local.send_text(text).await.unwrap();
    assert_eq!(next_message(remote).await, Message::Text(text.into()));
    remote.send_text(text).await.unwrap();
    assert_eq!(next_message(local).await, Message::Text(text.into()));
    let _ = pair;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_sctp_packets_are_dropped_and_the_association_survives() {
    let mut pair = pair().await;
    let mut local = pair
        .client
        .create_channel("c", ChannelOptions::default())
        .await
        .unwrap();
    let mut remote = accept(&mut pair.server_events).await;
    round_trip(&mut pair, &mut local, &mut remote, "before").await;

    // Packets go from the server's socket to the client association, with the client's
    // verification tag and a valid CRC32c, so only their structure is wrong.
    let tag = pair.client_transport.local_tag.load(Ordering::Relaxed);
    let peer_tsn = pair
        .server_transport
        .local_initial_tsn
        .load(Ordering::Relaxed);
    assert_ne!(tag, 0);
    let cases: Vec<(Vec<u8>, MalformedPacket)> = vec![
        // SHUTDOWN claiming 4 bytes, 4 more bytes after it: `get_u32` past the chunk.
        (
            sctp_packet(tag, &[sctp_chunk(7, 0, 4, &[]), sctp_chunk(11, 0, 4, &[])]),
            MalformedPacket::ChunkLengthTooShort,
        ),
        // FORWARD-TSN claiming 4 bytes, then a chunk: the same read past the end.
        (
            sctp_packet(
                tag,
                &[sctp_chunk(192, 0, 4, &[]), sctp_chunk(11, 0, 4, &[])],
            ),
            MalformedPacket::ChunkLengthTooShort,
        ),
        // INIT whose last parameter's padding ends past the chunk, followed by a chunk:
        // the parameter walk slices backwards.
        (
            sctp_packet(
                0,
                &[
                    {
                        let mut value = vec![0, 0, 0, 9, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1];
                        value.extend_from_slice(&[0x80, 0x07, 0x00, 0x05, 0xaa]);
                        sctp_chunk(1, 0, 25, &value)
                    },
                    sctp_chunk(11, 0, 4, &[]),
                ],
            ),
            MalformedPacket::InitNotAlone,
        ),
        // A FORWARD-TSN 2^31 - 2 ahead: a two-billion-step loop under the lock.
        (
            sctp_packet(
                tag,
                &[sctp_chunk(
                    192,
                    0,
                    8,
                    &peer_tsn.wrapping_add((1 << 31) - 2).to_be_bytes(),
                )],
            ),
            MalformedPacket::ForwardTsnOutOfWindow,
        ),
        // DATA a million TSNs ahead.
        (
            sctp_packet(
                tag,
                &[{
                    let mut value = peer_tsn.wrapping_add(1_000_000).to_be_bytes().to_vec();
                    value.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 53, b'x']);
                    sctp_chunk(0, 3, 17, &value)
                }],
            ),
            MalformedPacket::DataTsnOutOfWindow,
        ),
        // A correct SACK under someone else's verification tag.
        (
            sctp_packet(tag ^ 0xffff, &[sctp_chunk(3, 0, 16, &[0; 12])]),
            MalformedPacket::VerificationTag,
        ),
    ];
    for (round, (packet, kind)) in cases.into_iter().enumerate() {
        let before = pair.client.stats().malformed_packets.get(kind);
        inject(&pair.server_transport, &packet).await;
        round_trip(
            &mut pair,
            &mut local,
            &mut remote,
            &format!("after case {round}"),
        )
        .await;
        assert_eq!(
            pair.client.stats().malformed_packets.get(kind),
            before + 1,
            "case {round} was not counted as {kind:?}"
        );
    }
    // Garbage of every length up to 64 bytes, with a valid checksum.
    for len in 0..64usize {
        let mut garbage = sctp_packet(tag, &[]);
        garbage.extend((0..len).map(|i| (i * 37 + len) as u8));
        strata_datachannel::sctp::seal(&mut garbage);
        inject(&pair.server_transport, &garbage).await;
    }
    round_trip(&mut pair, &mut local, &mut remote, "after garbage").await;
    assert!(pair.client.stats().malformed_packets.total() >= 6);
}
