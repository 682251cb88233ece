//! A scripted peer (raw webrtc-sctp, no DCEP of ours) sends malformed and misbehaving
//! DCEP; each gets a typed refusal or a clean channel close, and the association keeps
//! serving its other channels.

mod support;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use strata_datachannel::DataChannel;
use strata_datachannel::{
    Association, AssociationConfig, AssociationEvent, AssociationEvents, ChannelCloseReason,
    ChannelEvent, DcepParseError, DtlsRole, Error, ProtocolViolation, StreamId,
};
use support::{PATIENCE, expect_established, next_event, udp_pair};

/// The next message or close, skipping open and low-buffer notices.
async fn next_significant(channel: &mut DataChannel) -> ChannelEvent {
    loop {
        match next_event(channel).await {
            ChannelEvent::Open | ChannelEvent::BufferedAmountLow => {}
            other => return other,
        }
    }
}
use tokio::time::timeout;
use webrtc_sctp::association::{Association as RawAssociation, Config};
use webrtc_sctp::chunk::chunk_payload_data::PayloadProtocolIdentifier as Ppid;
use webrtc_sctp::stream::Stream;

/// Our association as DTLS client (even ids), a raw webrtc-sctp peer as server.
async fn with_raw_peer() -> (Association, AssociationEvents, RawAssociation) {
    let (ours, theirs) = udp_pair().await;
    let (association, mut events) =
        Association::new(ours, AssociationConfig::new(DtlsRole::Client)).unwrap();
    let socket: Arc<dyn webrtc_util::Conn + Send + Sync> = Arc::clone(&theirs.socket) as _;
    let raw = RawAssociation::server(Config {
        net_conn: socket,
        max_receive_buffer_size: 0,
        max_message_size: 0,
        mtu: 0,
        name: "raw".into(),
        remote_port: 5000,
        local_port: 5000,
    });
    let raw = timeout(PATIENCE, raw).await.unwrap().unwrap();
    expect_established(&mut events).await;
    (association, events, raw)
}

async fn raw_send(raw: &RawAssociation, id: u16, ppid: Ppid, bytes: &[u8]) -> Arc<Stream> {
    let stream = raw.open_stream(id, ppid).await.unwrap();
    stream
        .write_sctp(&Bytes::copy_from_slice(bytes), ppid)
        .await
        .unwrap();
    stream
}

async fn next_association_event(events: &mut AssociationEvents) -> AssociationEvent {
    timeout(PATIENCE, events.recv()).await.unwrap().unwrap()
}

/// The raw peer sees its stream reset by us: its reads end.
async fn expect_reset(stream: &Stream) {
    let mut buf = vec![0u8; 1024];
    loop {
        let read = timeout(PATIENCE, stream.read_sctp(&mut buf)).await.unwrap();
        if matches!(read, Ok((0, _)) | Err(_)) {
            return;
        }
    }
}

fn open_message(label: &str) -> Vec<u8> {
    let mut out = vec![
        0x03,
        0x00,
        0x01,
        0x00,
        0,
        0,
        0,
        0,
        0,
        label.len() as u8,
        0,
        0,
    ];
    out.extend_from_slice(label.as_bytes());
    out
}

#[allow(clippy::too_many_lines)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_misbehaving_dcep_is_refused_and_the_association_survives() {
    let (association, mut events, raw) = with_raw_peer().await;

    // A good channel first, opened by the raw peer on an odd id, acknowledged by us.
    let good = raw_send(&raw, 1, Ppid::Dcep, &open_message("good")).await;
    let AssociationEvent::ChannelOpened(mut channel) = next_association_event(&mut events).await
    else {
        panic!("expected the good channel");
    };
    assert_eq!(channel.label(), "good");

    let cases: [(u16, Vec<u8>, Error); 4] = [
        (
            3,
            vec![0x07, 1, 2, 3],
            Error::PeerMisbehaved(ProtocolViolation::MalformedDcep {
                id: StreamId::new(3).unwrap(),
                error: DcepParseError::UnknownMessageType { message_type: 0x07 },
            }),
        ),
        (
            5,
            vec![0x03, 0x00, 0x01],
            Error::PeerMisbehaved(ProtocolViolation::MalformedDcep {
                id: StreamId::new(5).unwrap(),
                error: DcepParseError::Truncated { len: 3 },
            }),
        ),
        (
            7,
            vec![0x03, 0, 0, 0, 0, 0, 0, 0, 0, 40, 0, 0, b'a'],
            Error::PeerMisbehaved(ProtocolViolation::MalformedDcep {
                id: StreamId::new(7).unwrap(),
                error: DcepParseError::LengthOverrun {
                    field: strata_datachannel::DcepField::Label,
                    declared: 40,
                    available: 1,
                },
            }),
        ),
        (
            2,
            open_message("wrong parity"),
            Error::PeerMisbehaved(ProtocolViolation::OpenWithWrongParity {
                id: StreamId::new(2).unwrap(),
            }),
        ),
    ];
    for (id, bytes, expected) in cases {
        let stream = raw_send(&raw, id, Ppid::Dcep, &bytes).await;
        match next_association_event(&mut events).await {
            AssociationEvent::OpenRefused { id: refused, error } => {
                assert_eq!(refused.get(), id);
                assert_eq!(error, expected);
            }
            other => panic!("expected a refusal for stream {id}, got {other:?}"),
        }
        expect_reset(&stream).await;
    }
    assert_eq!(association.stats().refused_opens, 4);

    // The good channel still works both ways.
    good.write_sctp(&Bytes::from_static(b"still fine"), Ppid::Binary)
        .await
        .unwrap();
    assert_eq!(
        next_significant(&mut channel).await,
        ChannelEvent::Message(strata_datachannel::Message::Binary(Bytes::from_static(
            b"still fine"
        )))
    );
    channel.send_text("yes").await.unwrap();
    let mut buf = vec![0u8; 64];
    loop {
        let (len, ppid) = timeout(PATIENCE, good.read_sctp(&mut buf))
            .await
            .unwrap()
            .unwrap();
        if ppid == Ppid::String {
            assert_eq!(&buf[..len], b"yes");
            break;
        }
    }

    // An OPEN on the stream that already carries it closes that channel, no ACK.
    good.write_sctp(&Bytes::from(open_message("again")), Ppid::Dcep)
        .await
        .unwrap();
    assert_eq!(
        next_significant(&mut channel).await,
        ChannelEvent::Closed(ChannelCloseReason::PeerMisbehaved(
            ProtocolViolation::OpenOnUsedStream {
                id: StreamId::new(1).unwrap()
            }
        ))
    );
    expect_reset(&good).await;

    // Deprecated partial PPIDs close their channel too (RFC 8831 §6.6).
    let partial = raw_send(&raw, 9, Ppid::Dcep, &open_message("partial")).await;
    let AssociationEvent::ChannelOpened(mut partial_channel) =
        next_association_event(&mut events).await
    else {
        panic!("expected the partial channel");
    };
    // webrtc-sctp has no variant for PPID 52; its "unknown" value goes out as 58.
    partial
        .write_sctp(&Bytes::from_static(b"x"), Ppid::Unknown)
        .await
        .unwrap();
    assert!(matches!(
        next_significant(&mut partial_channel).await,
        ChannelEvent::Closed(ChannelCloseReason::PeerMisbehaved(
            ProtocolViolation::UnsupportedPayloadProtocol { .. }
        ))
    ));

    // And a fresh channel from our side still opens and carries data.
    let fresh = association
        .create_channel("fresh", strata_datachannel::ChannelOptions::default())
        .await
        .unwrap();
    let raw_fresh = timeout(Duration::from_secs(30), raw.accept_stream())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(raw_fresh.stream_identifier(), fresh.id().get());
}
