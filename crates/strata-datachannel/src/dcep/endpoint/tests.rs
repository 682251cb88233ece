//! DCEP state machine tests in virtual time: two endpoints wired back to back, the
//! "network" being the outputs of one fed to the other.

use std::time::{Duration, Instant};

use super::*;
use crate::dcep::ids::DtlsRole;

fn request(label: &str, ordered: bool) -> ChannelRequest {
    ChannelRequest {
        open: DataChannelOpen::new(
            ChannelType {
                ordered,
                reliability: Reliability::MaxRetransmits(2),
            },
            256,
            label.to_owned(),
            "proto".to_owned(),
        )
        .unwrap(),
        negotiated: None,
    }
}

fn id(n: u16) -> StreamId {
    StreamId::new(n).unwrap()
}

fn drain(endpoint: &mut DcepEndpoint) -> Vec<DcepOutput> {
    std::iter::from_fn(|| endpoint.poll_output()).collect()
}

/// Carries DCEP messages and resets from `from`'s outputs to `to`; returns what `from`
/// reported locally (everything that is not wire traffic).
fn deliver(now: Instant, from: &mut DcepEndpoint, to: &mut DcepEndpoint) -> Vec<DcepOutput> {
    let mut local = Vec::new();
    for output in drain(from) {
        match output {
            DcepOutput::SendDcep { id, message } => {
                assert!(
                    to.handle_message(now, id, PayloadKind::Dcep, message.encode())
                        .is_none()
                );
            }
            DcepOutput::ResetStream { id } => to.handle_stream_reset(now, id),
            other => local.push(other),
        }
    }
    local
}

fn pair() -> (DcepEndpoint, DcepEndpoint, Instant) {
    (
        DcepEndpoint::new(DcepConfig::new(DtlsRole::Client)),
        DcepEndpoint::new(DcepConfig::new(DtlsRole::Server)),
        test_epoch(),
    )
}

#[test]
fn open_then_ack_moves_the_opener_from_connecting_to_open() {
    let (mut client, mut server, now) = pair();
    let channel = client.open_channel(now, request("chat", false)).unwrap();
    assert_eq!(channel, id(0));
    assert_eq!(
        client.channel_state(channel),
        Some(ChannelState::Connecting)
    );

    let local = deliver(now, &mut client, &mut server);
    assert_eq!(
        local,
        vec![DcepOutput::ConfigureStream {
            id: channel,
            ordered: true,
            reliability: Reliability::MaxRetransmits(2)
        }],
        "an unordered channel sends ordered until the ACK"
    );
    let at_server = deliver(now, &mut server, &mut client);
    assert!(
        matches!(&at_server[1], DcepOutput::RemoteChannel { id, open } if *id == channel && open.label == "chat")
    );
    assert_eq!(server.channel_state(channel), Some(ChannelState::Open));
    assert_eq!(client.channel_state(channel), Some(ChannelState::Open));
    assert_eq!(
        drain(&mut client),
        vec![
            DcepOutput::ConfigureStream {
                id: channel,
                ordered: false,
                reliability: Reliability::MaxRetransmits(2)
            },
            DcepOutput::ChannelOpen { id: channel }
        ]
    );
}

#[test]
fn data_before_the_ack_implies_it_on_the_opener_side() {
    let (mut client, mut server, now) = pair();
    let channel = client.open_channel(now, request("a", true)).unwrap();
    deliver(now, &mut client, &mut server);
    drain(&mut server); // the ACK is lost in this scenario
    let message =
        client.handle_message(now, channel, PayloadKind::Binary, Bytes::from_static(b"x"));
    assert_eq!(message.map(|m| m.data), Some(Bytes::from_static(b"x")));
    assert_eq!(client.channel_state(channel), Some(ChannelState::Open));
    assert!(drain(&mut client).contains(&DcepOutput::ChannelOpen { id: channel }));
}

#[test]
fn both_sides_opening_at_once_never_collide() {
    let (mut client, mut server, now) = pair();
    let mut ids = Vec::new();
    for i in 0..50 {
        ids.push(
            client
                .open_channel(now, request(&format!("c{i}"), true))
                .unwrap(),
        );
        ids.push(
            server
                .open_channel(now, request(&format!("s{i}"), true))
                .unwrap(),
        );
    }
    let c = deliver(now, &mut client, &mut server);
    let s = deliver(now, &mut server, &mut client);
    assert!(!c.iter().chain(&s).any(|o| matches!(
        o,
        DcepOutput::ChannelClosed { .. } | DcepOutput::OpenRefused { .. }
    )));
    deliver(now, &mut client, &mut server);
    deliver(now, &mut server, &mut client);
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 100);
    for id in ids {
        assert_eq!(client.channel_state(id), Some(ChannelState::Open));
        assert_eq!(server.channel_state(id), Some(ChannelState::Open));
    }
}

#[test]
fn an_open_of_our_parity_is_refused_with_a_reset_and_no_ack() {
    let (mut client, _, now) = pair();
    let open = DcepMessage::Open(request("x", true).open).encode();
    assert!(
        client
            .handle_message(now, id(4), PayloadKind::Dcep, open)
            .is_none()
    );
    let outputs = drain(&mut client);
    assert_eq!(
        outputs,
        vec![
            DcepOutput::OpenRefused {
                id: id(4),
                error: Error::PeerMisbehaved(ProtocolViolation::OpenWithWrongParity { id: id(4) })
            },
            DcepOutput::ResetStream { id: id(4) }
        ]
    );
    assert_eq!(client.stats().refused_opens, 1);
}

#[test]
fn an_open_on_a_used_stream_closes_that_channel() {
    let (mut client, mut server, now) = pair();
    let channel = client.open_channel(now, request("a", true)).unwrap();
    deliver(now, &mut client, &mut server);
    drain(&mut server);
    let again = DcepMessage::Open(request("b", true).open).encode();
    server.handle_message(now, channel, PayloadKind::Dcep, again);
    let outputs = drain(&mut server);
    let violation = ProtocolViolation::OpenOnUsedStream { id: channel };
    assert!(outputs.contains(&DcepOutput::ResetStream { id: channel }));
    assert!(outputs.contains(&DcepOutput::ChannelClosed {
        id: channel,
        reason: ChannelCloseReason::PeerMisbehaved(violation)
    }));
    assert!(
        !outputs
            .iter()
            .any(|o| matches!(o, DcepOutput::SendDcep { .. }))
    );
    // The peer's answering reset frees the id without a second report.
    server.handle_stream_reset(now, channel);
    assert_eq!(drain(&mut server), vec![]);
    assert_eq!(server.channel_count(), 0);
}

#[test]
fn malformed_dcep_on_a_new_stream_is_refused_with_its_typed_error() {
    let (_, mut server, now) = pair();
    for (n, bytes) in [
        (0u16, vec![0x07]),
        (2, vec![0x03, 0, 0]),
        (6, vec![0x03, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0]),
    ] {
        server.handle_message(now, id(n), PayloadKind::Dcep, Bytes::from(bytes.clone()));
        let outputs = drain(&mut server);
        let Some(DcepOutput::OpenRefused {
            error: Error::PeerMisbehaved(ProtocolViolation::MalformedDcep { error, .. }),
            ..
        }) = outputs.first()
        else {
            panic!("{outputs:?}");
        };
        assert_eq!(Err(error.clone()), DcepMessage::decode(&bytes).map(|_| ()));
        assert_eq!(outputs[1], DcepOutput::ResetStream { id: id(n) });
    }
}

#[test]
fn opens_beyond_the_channel_limit_are_refused_and_counted() {
    let mut config = DcepConfig::new(DtlsRole::Server);
    config.max_channels = 3;
    let mut server = DcepEndpoint::new(config);
    let now = test_epoch();
    for n in 0..10u16 {
        let open = DcepMessage::Open(request("x", true).open).encode();
        server.handle_message(now, id(n * 2), PayloadKind::Dcep, open);
    }
    drain(&mut server);
    assert_eq!(server.channel_count(), 3);
    assert_eq!(server.stats().refused_opens, 7);
    assert_eq!(
        server.open_channel(now, request("y", true)),
        Err(Error::TooManyChannels { limit: 3 })
    );
}

#[test]
fn close_resets_and_completes_when_the_peer_resets_or_times_out() {
    let (mut client, mut server, now) = pair();
    let a = client.open_channel(now, request("a", true)).unwrap();
    let b = client.open_channel(now, request("b", true)).unwrap();
    deliver(now, &mut client, &mut server);
    deliver(now, &mut server, &mut client);
    drain(&mut client);

    client.close_channel(now, a).unwrap();
    assert_eq!(client.channel_state(a), Some(ChannelState::Closing));
    let server_saw = deliver(now, &mut client, &mut server);
    assert!(server_saw.is_empty());
    assert_eq!(
        drain(&mut server),
        vec![DcepOutput::ChannelClosed {
            id: a,
            reason: ChannelCloseReason::Remote
        }]
    );
    client.handle_stream_reset(now, a);
    assert_eq!(
        drain(&mut client),
        vec![DcepOutput::ChannelClosed {
            id: a,
            reason: ChannelCloseReason::Local
        }]
    );

    client.close_channel(now, b).unwrap();
    drain(&mut client);
    let deadline = client.poll_timeout().unwrap();
    assert_eq!(deadline, now + Duration::from_secs(10));
    client.handle_timeout(now + Duration::from_millis(9_999));
    assert_eq!(drain(&mut client), vec![]);
    client.handle_timeout(deadline);
    assert_eq!(
        drain(&mut client),
        vec![DcepOutput::ChannelClosed {
            id: b,
            reason: ChannelCloseReason::Local
        }]
    );
    assert_eq!(client.channel_count(), 0);
    assert_eq!(client.poll_timeout(), None);
}

#[test]
fn a_reset_before_the_ack_means_the_open_was_refused() {
    let (mut client, _, now) = pair();
    let a = client.open_channel(now, request("a", true)).unwrap();
    drain(&mut client);
    client.handle_stream_reset(now, a);
    assert_eq!(
        drain(&mut client),
        vec![DcepOutput::ChannelClosed {
            id: a,
            reason: ChannelCloseReason::OpenRefused
        }]
    );
}

#[test]
fn negotiated_channels_skip_dcep_and_adopt_data_that_arrived_first() {
    let (mut client, _, now) = pair();
    let early = client.handle_message(now, id(7), PayloadKind::Text, Bytes::from_static(b"hi"));
    assert!(early.is_none());
    let mut negotiated = request("n", true);
    negotiated.negotiated = Some(id(7));
    assert_eq!(client.open_channel(now, negotiated.clone()), Ok(id(7)));
    assert_eq!(
        drain(&mut client),
        vec![
            DcepOutput::ConfigureStream {
                id: id(7),
                ordered: true,
                reliability: Reliability::MaxRetransmits(2)
            },
            DcepOutput::Deliver {
                id: id(7),
                message: UserMessage {
                    text: true,
                    data: Bytes::from_static(b"hi")
                }
            }
        ]
    );
    assert_eq!(
        client.open_channel(now, negotiated),
        Err(Error::StreamIdInUse { id: id(7) })
    );
}

#[test]
fn unclaimed_streams_are_bounded_and_expire() {
    let mut config = DcepConfig::new(DtlsRole::Client);
    config.max_unclaimed_streams = 2;
    config.max_unclaimed_bytes = 10;
    let mut endpoint = DcepEndpoint::new(config);
    let now = test_epoch();
    let data = Bytes::from_static(b"12345678");
    endpoint.handle_message(now, id(1), PayloadKind::Binary, data.clone());
    endpoint.handle_message(now, id(1), PayloadKind::Binary, data.clone()); // over the byte bound
    endpoint.handle_message(now, id(3), PayloadKind::Binary, Bytes::from_static(b"1"));
    endpoint.handle_message(now, id(5), PayloadKind::Binary, Bytes::from_static(b"1")); // third stream
    assert_eq!(endpoint.stats().unclaimed_dropped, 2);
    assert_eq!(
        drain(&mut endpoint),
        vec![DcepOutput::ResetStream { id: id(5) }]
    );
    let deadline = endpoint.poll_timeout().unwrap();
    endpoint.handle_timeout(deadline);
    let outputs = drain(&mut endpoint);
    assert!(outputs.contains(&DcepOutput::ResetStream { id: id(1) }));
    assert!(outputs.contains(&DcepOutput::ResetStream { id: id(3) }));
    assert_eq!(endpoint.stats().unclaimed_dropped, 4);
}

#[test]
fn unsupported_and_deprecated_ppids_close_the_channel() {
    let (mut client, mut server, now) = pair();
    let a = client.open_channel(now, request("a", true)).unwrap();
    deliver(now, &mut client, &mut server);
    drain(&mut server);
    for ppid in [52, 54] {
        assert!(
            server
                .handle_message(now, a, PayloadKind::from_ppid(ppid), Bytes::new())
                .is_none()
        );
    }
    let outputs = drain(&mut server);
    assert_eq!(
        outputs,
        vec![
            DcepOutput::ResetStream { id: a },
            DcepOutput::ChannelClosed {
                id: a,
                reason: ChannelCloseReason::PeerMisbehaved(
                    ProtocolViolation::UnsupportedPayloadProtocol {
                        id: a,
                        ppid: Some(52)
                    }
                )
            }
        ]
    );
}

#[test]
fn unexpected_acks_are_ignored_and_counted() {
    let (mut client, mut server, now) = pair();
    server.handle_message(now, id(1), PayloadKind::Dcep, DcepMessage::Ack.encode());
    let a = client.open_channel(now, request("a", true)).unwrap();
    deliver(now, &mut client, &mut server);
    deliver(now, &mut server, &mut client);
    client.handle_message(now, a, PayloadKind::Dcep, DcepMessage::Ack.encode());
    assert_eq!(server.stats().unexpected_acks, 1);
    assert_eq!(client.stats().unexpected_acks, 1);
    assert_eq!(client.channel_state(a), Some(ChannelState::Open));
}

#[test]
fn ids_are_reused_only_after_both_sides_reset() {
    let (_, mut server, now) = pair();
    let mut config = DcepConfig::new(DtlsRole::Client);
    config.max_channels = 2;
    let mut client = DcepEndpoint::new(config);
    let a = client.open_channel(now, request("a", true)).unwrap();
    deliver(now, &mut client, &mut server);
    deliver(now, &mut server, &mut client);
    client.close_channel(now, a).unwrap();
    deliver(now, &mut client, &mut server);
    // Not yet reset by the peer: a new channel gets a different id.
    let b = client.open_channel(now, request("b", true)).unwrap();
    assert_ne!(a, b);
    deliver(now, &mut server, &mut client);
    client.handle_stream_reset(now, a);
    assert_eq!(client.channel_count(), 1);
}

#[test]
fn association_close_closes_every_channel() {
    let (mut client, _, now) = pair();
    let a = client.open_channel(now, request("a", true)).unwrap();
    let b = client.open_channel(now, request("b", true)).unwrap();
    drain(&mut client);
    client.handle_association_closed();
    assert_eq!(
        drain(&mut client),
        vec![
            DcepOutput::ChannelClosed {
                id: a,
                reason: ChannelCloseReason::AssociationClosed
            },
            DcepOutput::ChannelClosed {
                id: b,
                reason: ChannelCloseReason::AssociationClosed
            }
        ]
    );
}

#[test]
fn seeded_random_sequences_keep_the_counters_consistent() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut config = DcepConfig::new(DtlsRole::Client);
    config.max_channels = 8;
    let mut endpoint = DcepEndpoint::new(config);
    let mut now = test_epoch();
    let mut known: std::collections::BTreeSet<StreamId> = (0..24).map(id).collect();
    for _ in 0..20_000 {
        let stream = id((next() % 24) as u16);
        match next() % 8 {
            0 => {
                if let Ok(opened) = endpoint.open_channel(now, request("r", next() % 2 == 0)) {
                    known.insert(opened);
                }
            }
            1 => {
                let _ = endpoint.close_channel(now, stream);
            }
            2 => endpoint.handle_stream_reset(now, stream),
            3 => {
                let open = DcepMessage::Open(request("p", true).open).encode();
                endpoint.handle_message(now, stream, PayloadKind::Dcep, open);
            }
            4 => {
                endpoint.handle_message(now, stream, PayloadKind::Dcep, DcepMessage::Ack.encode());
            }
            5 => {
                endpoint.handle_message(now, stream, PayloadKind::Binary, Bytes::from_static(b"d"));
            }
            6 => now += Duration::from_millis(next() % 3000),
            _ => endpoint.handle_timeout(now),
        }
        drain(&mut endpoint);
        assert!(endpoint.channel_count() <= 8);
        let counted = known
            .iter()
            .filter(|n| endpoint.channel_state(**n).is_some())
            .count();
        assert_eq!(counted, endpoint.channel_count());
    }
}
