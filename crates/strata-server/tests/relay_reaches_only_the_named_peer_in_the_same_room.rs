//! Offers, answers, candidates and messages reach the named peer and nobody else; a peer
//! in another room is unreachable.

mod harness;

use harness::{Raw, start, token};
use serde_json::json;
use strata_signal::{ErrorCode, Permissions};

#[tokio::test]
async fn relay_reaches_only_the_named_peer_in_the_same_room() {
    let server = start(|_| {}).await;
    let red = token(&server, "red", None, Permissions::PARTICIPANT);
    let blue = token(&server, "blue", None, Permissions::PARTICIPANT);
    let (mut a, _) = Raw::joined(&server, "red", &red, "a").await;
    let (mut b, _) = Raw::joined(&server, "red", &red, "b").await;
    let (mut c, _) = Raw::joined(&server, "red", &red, "c").await;
    let (mut other, _) = Raw::joined(&server, "blue", &blue, "d").await;

    assert_eq!(
        a.request("offer", json!({"to": "b", "sdp": "v=0 offer"}))
            .await["result"],
        json!({})
    );
    assert_eq!(
        b.notification("offer").await,
        json!({"from": "a", "sdp": "v=0 offer"})
    );
    b.request("answer", json!({"to": "a", "sdp": "v=0 answer"}))
        .await;
    assert_eq!(
        a.notification("answer").await,
        json!({"from": "b", "sdp": "v=0 answer"})
    );
    let candidate = json!({"to": "b", "candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdp_mid": "0", "sdp_mline_index": 0});
    a.request("candidate", candidate).await;
    assert_eq!(
        b.notification("candidate").await,
        json!({"from": "a", "candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdp_mid": "0", "sdp_mline_index": 0})
    );
    a.request("candidate", json!({"to": "b", "candidate": ""}))
        .await;
    assert_eq!(
        b.notification("candidate").await,
        json!({"from": "a", "candidate": ""})
    );
    a.request("message", json!({"to": "b", "data": {"n": 1}}))
        .await;
    assert_eq!(
        b.notification("message").await,
        json!({"from": "a", "broadcast": false, "data": {"n": 1}})
    );

    // A peer in another room does not exist for the sender.
    assert_eq!(
        a.error_code("offer", json!({"to": "d", "sdp": "x"})).await,
        ErrorCode::PEER_NOT_FOUND.0
    );
    assert_eq!(
        other
            .error_code("message", json!({"to": "a", "data": 1}))
            .await,
        ErrorCode::PEER_NOT_FOUND.0
    );
    assert_eq!(
        a.error_code("offer", json!({"to": "a", "sdp": "x"})).await,
        ErrorCode::INVALID_PARAMS.0
    );

    // A broadcast reaches everyone else in the room, once.
    a.request("message", json!({"data": "all"})).await;
    for peer in [&mut b, &mut c] {
        assert_eq!(
            peer.notification("message").await,
            json!({"from": "a", "broadcast": true, "data": "all"})
        );
    }
    // c saw nothing of the unicast traffic, d nothing at all: their next frames are ours.
    assert_eq!(c.request("ping", json!({})).await["result"], json!({}));
    assert!(
        c.notifications.iter().all(|n| n["method"] == "peer_joined"),
        "{:?}",
        c.notifications
    );
    assert_eq!(other.request("ping", json!({})).await["result"], json!({}));
    assert!(other.notifications.is_empty(), "{:?}", other.notifications);
    server.shutdown().await;
}
