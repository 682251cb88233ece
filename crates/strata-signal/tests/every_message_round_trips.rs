//! Every request, response and notification survives encode → parse unchanged, for
//! generated contents (property tests).

use proptest::prelude::*;
use serde_json::{Value, json};
use strata_signal::{
    CandidateParams, ErrorCode, ErrorObject, JoinParams, KickParams, Kicked, LeaveReason,
    MessageParams, Notification, Participant, PeerId, PeerLeft, RelayedCandidate, RelayedMessage,
    RelayedSdp, Request, RequestFrame, RequestId, Response, RoomClosed, RoomClosedReason, RoomName,
    SdpParams, ServerMessage, parse_request, parse_server_message,
};

fn peer_id() -> impl Strategy<Value = PeerId> {
    "[A-Za-z0-9_.:@-]{1,64}".prop_map(|s| PeerId::new(s).unwrap())
}

fn room() -> impl Strategy<Value = RoomName> {
    "[^\\p{Cc}]{1,32}".prop_filter_map("too long", |s| RoomName::new(s).ok())
}

fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<char>(), 0..max).prop_map(|c| c.into_iter().collect())
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        text(20).prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Metadata `null` and absent metadata are the same on the wire.
fn metadata() -> impl Strategy<Value = Option<Value>> {
    proptest::option::of(json_value().prop_filter("null is absent", |v| !v.is_null()))
}

fn request_id() -> impl Strategy<Value = RequestId> {
    prop_oneof![
        any::<u64>().prop_map(RequestId::Number),
        "[ -~]{0,64}".prop_map(RequestId::Text),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (
            room(),
            proptest::option::of("[A-Za-z0-9._-]{1,200}"),
            proptest::option::of(peer_id()),
            metadata()
        )
            .prop_map(
                |(room, token, peer_id, metadata)| Request::Join(JoinParams {
                    room,
                    token,
                    peer_id,
                    metadata
                })
            ),
        Just(Request::Leave),
        (peer_id(), text(300)).prop_map(|(to, sdp)| Request::Offer(SdpParams { to, sdp })),
        (peer_id(), text(300)).prop_map(|(to, sdp)| Request::Answer(SdpParams { to, sdp })),
        (
            peer_id(),
            text(200),
            proptest::option::of(text(10)),
            proptest::option::of(any::<u16>())
        )
            .prop_map(
                |(to, candidate, sdp_mid, sdp_mline_index)| Request::Candidate(CandidateParams {
                    to,
                    candidate,
                    sdp_mid,
                    sdp_mline_index
                })
            ),
        (proptest::option::of(peer_id()), json_value())
            .prop_map(|(to, data)| Request::Message(MessageParams { to, data })),
        (peer_id(), proptest::option::of(text(50)))
            .prop_map(|(peer_id, reason)| Request::Kick(KickParams { peer_id, reason })),
        Just(Request::Ping),
    ]
}

fn notification() -> impl Strategy<Value = Notification> {
    let reason = prop_oneof![
        Just(LeaveReason::Left),
        Just(LeaveReason::Disconnected),
        Just(LeaveReason::Kicked),
        Just(LeaveReason::Replaced)
    ];
    prop_oneof![
        (peer_id(), metadata()).prop_map(|(peer_id, metadata)| Notification::PeerJoined(
            Participant { peer_id, metadata }
        )),
        (peer_id(), reason)
            .prop_map(|(peer_id, reason)| Notification::PeerLeft(PeerLeft { peer_id, reason })),
        (peer_id(), text(300))
            .prop_map(|(from, sdp)| Notification::Offer(RelayedSdp { from, sdp })),
        (peer_id(), text(300))
            .prop_map(|(from, sdp)| Notification::Answer(RelayedSdp { from, sdp })),
        (
            peer_id(),
            text(200),
            proptest::option::of(text(10)),
            proptest::option::of(any::<u16>())
        )
            .prop_map(|(from, candidate, sdp_mid, sdp_mline_index)| {
                Notification::Candidate(RelayedCandidate {
                    from,
                    candidate,
                    sdp_mid,
                    sdp_mline_index,
                })
            }),
        (peer_id(), any::<bool>(), json_value()).prop_map(|(from, broadcast, data)| {
            Notification::Message(RelayedMessage {
                from,
                broadcast,
                data,
            })
        }),
        proptest::option::of(text(50)).prop_map(|reason| Notification::Kicked(Kicked { reason })),
        prop_oneof![
            Just(RoomClosedReason::Closed),
            Just(RoomClosedReason::Shutdown)
        ]
        .prop_map(|reason| Notification::RoomClosed(RoomClosed { reason })),
    ]
}

proptest! {
    #[test]
    fn requests_round_trip(id in request_id(), request in request()) {
        let frame = RequestFrame { id, request };
        prop_assert_eq!(parse_request(&frame.encode()), Ok(frame));
    }

    #[test]
    fn notifications_round_trip(notification in notification()) {
        let parsed = parse_server_message(&notification.encode()).unwrap();
        prop_assert_eq!(parsed, ServerMessage::Notification(notification));
    }

    #[test]
    fn responses_round_trip(id in proptest::option::of(request_id()), result in json_value(), code in any::<i64>(), message in text(40), ok in any::<bool>()) {
        // `"data": null` and no `data` are the same on the wire.
        let response = if ok {
            Response { id, outcome: Ok(result) }
        } else {
            Response { id, outcome: Err(ErrorObject { code: ErrorCode(code), message, data: (!result.is_null()).then_some(result) }) }
        };
        prop_assert_eq!(parse_server_message(&response.encode()).unwrap(), ServerMessage::Response(response));
    }

    #[test]
    fn arbitrary_text_never_panics_the_parsers(frame in text(200)) {
        let _ = parse_request(&frame);
        let _ = parse_server_message(&frame);
    }
}

#[test]
fn every_method_and_notification_has_a_documented_example_that_parses() {
    let requests = [
        json!({"jsonrpc":"2.0","id":1,"method":"join","params":{"room":"lobby","token":"eyJ","metadata":{"name":"Ada"}}}),
        json!({"jsonrpc":"2.0","id":2,"method":"offer","params":{"to":"bob","sdp":"v=0"}}),
        json!({"jsonrpc":"2.0","id":3,"method":"candidate","params":{"to":"bob","candidate":"candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host","sdp_mid":"0","sdp_mline_index":0}}),
        json!({"jsonrpc":"2.0","id":4,"method":"message","params":{"data":{"text":"hi all"}}}),
        json!({"jsonrpc":"2.0","id":5,"method":"ping"}),
        json!({"jsonrpc":"2.0","id":6,"method":"leave","params":{}}),
        json!({"jsonrpc":"2.0","id":7,"method":"answer","params":{"to":"bob","sdp":"v=0"}}),
        json!({"jsonrpc":"2.0","id":8,"method":"kick","params":{"peer_id":"bob","reason":"spam"}}),
    ];
    let methods: Vec<_> = requests
        .iter()
        .map(|r| parse_request(&r.to_string()).unwrap().request.method())
        .collect();
    assert_eq!(methods.len(), strata_signal::Method::ALL.len());
    for method in strata_signal::Method::ALL {
        assert!(methods.contains(&method), "{method:?} has no example");
    }
}
