//! A peer that completes ICE, DTLS and the SCTP handshake honestly, then speaks hostile
//! SCTP and DCEP to Strata: DCEP garbage, thousands of OPENs, a message far above the
//! advertised `max-message-size`, chunks with bad lengths, absurd FORWARD-TSN values, or
//! it stops reading. Each is refused, counted or bounded; nothing panics; memory stays
//! bounded; and a healthy connection in the same process delivers its data intact.

mod hostile;
mod peers;

use std::time::Duration;

use hostile::peer::{HostilePeer, Victim, connect_ice};
use hostile::sctp::{
    END, PPID_BINARY, PPID_DCEP, RawSctp, chunk_bytes, chunk_with_length, dcep_open,
};
use hostile::{Healthy, Memory, PanicWatch};
use peers::{PATIENCE, loopback};
use strata::{
    ChannelEvent, ChannelOptions, ChannelState, Configuration, DataChannel, Message,
    PeerConnectionState,
};
use strata_datachannel::AssociationStats;
use strata_interop::netns::run_isolated;

/// OPENs in the flood: more than four times the default channel cap (1024).
const OPEN_FLOOD: u16 = 4500;
/// The victim's advertised `max-message-size`.
const VICTIM_MAX_MESSAGE: usize = 64 * 1024;
/// Growth of the resident set each test allows (measured at most about 26 MiB; the
/// never-reading case holds its channel's 16 MiB send buffer).
const MEMORY_BOUND_MIB: u64 = 128;

fn victim_config() -> Configuration {
    Configuration {
        max_message_size: VICTIM_MAX_MESSAGE,
        ..loopback()
    }
}

/// The victim, the hostile peer with its SCTP endpoint up, and the healthy transfer
/// already running.
async fn set_up() -> (Victim, HostilePeer, RawSctp, hostile::Transfer) {
    let healthy = Healthy::connect(false).await.start();
    let (mut victim, ice) = connect_ice(victim_config()).await;
    let hostile = ice.complete_dtls().await;
    let sctp = RawSctp::accept(std::sync::Arc::clone(&hostile.dtls)).await;
    victim
        .wait_for(|s| s == PeerConnectionState::Connected)
        .await;
    (victim, hostile, sctp, healthy)
}

async fn sctp_stats(victim: &Victim) -> AssociationStats {
    victim
        .pc
        .stats()
        .await
        .expect("the victim's driver is alive")
        .sctp
        .expect("the association is up")
}

/// Waits until the victim's association stats satisfy `done`.
async fn wait_stats(victim: &Victim, what: &str, done: impl Fn(&AssociationStats) -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let stats = sctp_stats(victim).await;
        if done(&stats) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} within the patience bound: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The next channel the hostile peer opened that the victim accepted, with `label`.
async fn accepted(victim: &mut Victim, label: &str) -> DataChannel {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let channel = victim.channels.recv().await.expect("event pump alive");
            if channel.label() == label {
                return channel;
            }
        }
    })
    .await
    .expect("the channel within the patience bound")
}

/// Opens `label` on `stream` and sends `message` on it; returns the victim's channel and
/// what it received (`None`: the channel closed instead).
async fn open_and_send(
    victim: &mut Victim,
    sctp: &RawSctp,
    stream: u16,
    label: &str,
    message: &[u8],
) -> (DataChannel, Option<Message>) {
    let mut chunks = sctp.message(stream, PPID_DCEP, &dcep_open(label), 1000);
    chunks.extend(sctp.message(stream, PPID_BINARY, message, 1000));
    sctp.send_chunks(chunks).await;
    let channel = accepted(victim, label).await;
    let received = peers::next_message(&channel).await;
    (channel, received)
}

#[test]
#[allow(clippy::too_many_lines)] // one case, told in order
fn dcep_garbage_an_open_flood_and_an_oversize_message_are_refused_and_bounded() {
    let panics = PanicWatch::install();
    run_isolated(|| async {
        let mut memory = Memory::start();
        let (victim, _hostile, sctp, healthy) = set_up().await;

        // DCEP garbage, one message per odd stream (we are the DTLS server, RFC 8832 §6):
        // an unknown message type; an OPEN cut short; an OPEN whose label length runs
        // past the end; an ACK for a channel nobody opened; an OPEN of an unknown
        // channel type. Then an OPEN on an even stream, which is the victim's to use.
        // (An empty DCEP message is an empty DATA chunk, which SCTP itself refuses: the
        // chunk test covers it.)
        let garbage: [&[u8]; 5] = [
            &[0x07, 1, 2, 3],
            &[0x03, 0x00, 0x00],
            &[0x03, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0, b'x'],
            &[0x02],
            &[0x03, 0x7F, 0x00, 0x00, 0, 0, 0, 0, 0, 1, 0, 0, b'x'],
        ];
        let mut chunks = Vec::new();
        for (i, message) in garbage.iter().enumerate() {
            let stream = 2 * u16::try_from(i).unwrap() + 1;
            chunks.extend(sctp.message(stream, PPID_DCEP, message, 1000));
        }
        chunks.extend(sctp.message(1000, PPID_DCEP, &dcep_open("wrong-parity"), 1000));
        sctp.send_chunks(chunks).await;
        wait_stats(&victim, "the garbage is refused", |s| {
            s.dcep.refused_opens + s.dcep.protocol_violations + s.dcep.unexpected_acks >= 4
        })
        .await;

        // An OPEN flood on fresh odd streams, in batches the victim absorbs.
        let first_flood_stream = 101u16;
        let mut sent = 0u64;
        let before = sctp_stats(&victim).await.dcep;
        for batch in 0..OPEN_FLOOD / 100 {
            let mut chunks = Vec::new();
            for i in 0..100 {
                let stream = first_flood_stream + 2 * (batch * 100 + i);
                chunks.extend(sctp.message(stream, PPID_DCEP, &dcep_open("flood"), 1000));
                sent += 1;
            }
            sctp.send_chunks(chunks).await;
            wait_stats(&victim, "the OPENs are answered", |s| {
                s.dcep.channels_opened + s.dcep.refused_opens
                    >= before.channels_opened + before.refused_opens + sent
            })
            .await;
            memory.sample();
        }
        let flooded = sctp_stats(&victim).await;
        assert!(flooded.open_channels <= 1024, "{flooded:?}");
        assert!(
            flooded.dcep.refused_opens - before.refused_opens >= sent - 1024,
            "{flooded:?}"
        );

        // A message four times the advertised max-message-size on the first flooded
        // channel: refused (that channel is closed) and counted.
        let oversize = vec![0xAB; 4 * VICTIM_MAX_MESSAGE];
        sctp.send_chunks(sctp.message(first_flood_stream, PPID_BINARY, &oversize, 1000))
            .await;
        wait_stats(&victim, "the oversize message is counted", |s| {
            s.oversize_inbound >= 1
        })
        .await;

        healthy.finish().await;
        memory.assert_growth_below("DCEP garbage and OPEN flood", MEMORY_BOUND_MIB);
        assert_eq!(victim.pc.connection_state(), PeerConnectionState::Connected);
        victim.pc.close().await;
    });
    panics.assert_none();
}

#[test]
#[allow(clippy::too_many_lines)] // one case, told in order
fn sctp_chunks_with_bad_lengths_and_absurd_forward_tsns_are_dropped() {
    let panics = PanicWatch::install();
    run_isolated(|| async {
        let mut memory = Memory::start();
        let (mut victim, _hostile, sctp, healthy) = set_up().await;

        // The association works before.
        let (_, before) = open_and_send(&mut victim, &sctp, 1, "before", b"ping").await;
        assert_eq!(before, Some(Message::Binary(b"ping".to_vec().into())));
        let dropped_before = sctp_stats(&victim).await.malformed_packets.total();

        let tag = sctp.their_tag();
        let next = sctp.next_tsn();
        let heartbeat = chunk_bytes(4, 0, &[0, 1, 0, 8, 1, 2, 3, 4]);
        let malformed: Vec<Vec<Vec<u8>>> = vec![
            // Length 0, 3, and one longer than the packet.
            vec![chunk_with_length(4, 0, 0, &[0; 8])],
            vec![chunk_with_length(4, 0, 3, &[0; 8])],
            vec![chunk_with_length(4, 0, 400, &[0; 8])],
            // DATA shorter than its own header, and DATA whose length runs past the end.
            vec![chunk_with_length(0, END, 15, &[0; 12])],
            vec![chunk_with_length(0, 0b011, 40, &next.to_be_bytes())],
            // FORWARD-TSN and SHUTDOWN claiming 4 bytes, followed by a chunk.
            vec![chunk_with_length(192, 0, 4, &[]), heartbeat.clone()],
            vec![chunk_with_length(7, 0, 4, &[]), heartbeat.clone()],
            // INIT bundled with another chunk (RFC 9260 §6.10 forbids it).
            vec![
                chunk_bytes(1, 0, &[1, 2, 3, 4, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1]),
                heartbeat.clone(),
            ],
            // SACK announcing 65535 gap blocks and carrying none.
            vec![chunk_bytes(
                3,
                0,
                &[0, 0, 0, 0, 0, 1, 0, 0, 0xFF, 0xFF, 0, 0],
            )],
        ];
        for packet in &malformed {
            sctp.send_packet(tag, packet).await;
        }
        // A packet with the wrong verification tag.
        sctp.send_packet(tag ^ 0xFFFF, std::slice::from_ref(&heartbeat))
            .await;
        // FORWARD-TSNs (RFC 3758 §3.2) far beyond anything sent, half the TSN space
        // away, behind the cumulative ack, and with absurd stream/sequence pairs.
        for new_cumulative in [
            next.wrapping_add(1 << 30),
            next.wrapping_add(0x7FFF_FFFF),
            next.wrapping_add(0x8000_0000),
            next.wrapping_sub(1 << 20),
        ] {
            let mut value = new_cumulative.to_be_bytes().to_vec();
            for stream in [0xFFFFu16, 0xFFFE, 1] {
                value.extend_from_slice(&stream.to_be_bytes());
                value.extend_from_slice(&0xFFFFu16.to_be_bytes());
            }
            sctp.send_packet(tag, &[chunk_bytes(192, 0, &value)]).await;
        }
        memory.sample();

        wait_stats(&victim, "the malformed packets are counted", |s| {
            s.malformed_packets.total() - dropped_before >= malformed.len() as u64
        })
        .await;

        // The association still delivers what follows.
        let (_, after) = open_and_send(&mut victim, &sctp, 3, "after", b"pong").await;
        assert_eq!(after, Some(Message::Binary(b"pong".to_vec().into())));

        healthy.finish().await;
        memory.assert_growth_below("bad SCTP chunks", MEMORY_BOUND_MIB);
        assert_eq!(victim.pc.connection_state(), PeerConnectionState::Connected);
        victim.pc.close().await;
    });
    panics.assert_none();
}

#[test]
#[allow(clippy::too_many_lines)] // one case, told in order
fn a_peer_that_never_reads_meets_backpressure_within_the_send_buffer_bound() {
    let panics = PanicWatch::install();
    run_isolated(|| async {
        let mut memory = Memory::start();
        let (mut victim, _hostile, sctp, healthy) = set_up().await;
        let (sink, greeting) = open_and_send(&mut victim, &sctp, 1, "sink", b"hello").await;
        assert_eq!(greeting, Some(Message::Binary(b"hello".to_vec().into())));
        sctp.stop_reading();

        // The victim's application writes as fast as it is allowed: its sends wait for
        // the association's queue and then fail once the channel's send buffer is full.
        let message = bytes::Bytes::from(vec![0x5A; 60 * 1024]);
        let mut written = 0usize;
        let outcome = loop {
            match tokio::time::timeout(Duration::from_secs(3), sink.send(message.clone())).await {
                Ok(Ok(())) => written += message.len(),
                Ok(Err(error)) => break Some(error),
                Err(_) => break None,
            }
            assert!(
                written <= 64 << 20,
                "writes never stop: {written} bytes accepted"
            );
            if written % (1 << 20) < message.len() {
                memory.sample();
            }
        };
        eprintln!(
            "never-reading peer: {written} bytes accepted, buffered {} bytes, then {outcome:?}",
            sink.buffered_amount()
        );
        assert!(sink.buffered_amount() <= 16 << 20);

        // The healthy connection is untouched, and the victim still closes promptly.
        healthy.finish().await;
        memory.assert_growth_below("a peer that never reads", MEMORY_BOUND_MIB);
        tokio::time::timeout(PATIENCE, victim.pc.close())
            .await
            .expect("closing does not wait for the peer that never reads");
        drop(sctp);
    });
    panics.assert_none();
}

/// A channel Strata opens reports open once its `DATA_CHANNEL_OPEN` is sent, as browsers
/// do: this peer acknowledges the SCTP DATA but never sends a DCEP ACK, and the channel
/// opens and sends all the same (RFC 8832 §6 lets the opener send before the ACK).
#[test]
fn a_channel_strata_opens_is_open_before_the_peer_acknowledges_it() {
    run_isolated(|| async {
        let (mut victim, ice) = connect_ice(victim_config()).await;
        let hostile = ice.complete_dtls().await;
        let _sctp = RawSctp::accept(std::sync::Arc::clone(&hostile.dtls)).await;
        victim
            .wait_for(|s| s == PeerConnectionState::Connected)
            .await;
        let channel = victim
            .pc
            .create_data_channel("early", ChannelOptions::default())
            .await
            .unwrap();
        let opened = tokio::time::timeout(PATIENCE, channel.recv())
            .await
            .expect("the open within the patience bound");
        assert_eq!(opened, Some(ChannelEvent::Open));
        assert_eq!(channel.state(), ChannelState::Open);
        channel.send_text("before any ACK").await.unwrap();
        assert_eq!(channel.stats().map(|s| s.messages_sent), Some(1));
        assert_eq!(channel.state(), ChannelState::Open);
    });
}
