//! Rooms appear on first join and vanish when empty; everyone hears who comes and goes.

mod harness;

use harness::{Raw, http, start, token};
use serde_json::{Value, json};
use strata_signal::Permissions;

#[tokio::test]
async fn presence_follows_joins_leaves_and_disconnects() {
    let server = start(|_| {}).await;
    let t = token(&server, "room", None, Permissions::PARTICIPANT);

    let (mut alice, first) = Raw::joined(&server, "room", &t, "alice").await;
    assert_eq!(first["participants"], json!([]));
    assert_eq!(
        first["permissions"],
        json!({"publish": true, "subscribe": true, "admin": false})
    );

    let mut bob = Raw::connect(&server).await;
    let joined = bob
        .request(
            "join",
            json!({"room": "room", "token": t, "peer_id": "bob", "metadata": {"name": "Bob"}}),
        )
        .await;
    assert_eq!(
        joined["result"]["participants"],
        json!([{"peer_id": "alice"}])
    );
    assert_eq!(
        alice.notification("peer_joined").await,
        json!({"peer_id": "bob", "metadata": {"name": "Bob"}})
    );

    let (carol, third) = Raw::joined(&server, "room", &t, "carol").await;
    let listed: Vec<&Value> = third["participants"].as_array().unwrap().iter().collect();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        listed[0]["peer_id"], "alice",
        "participants are listed in join order"
    );
    assert_eq!(alice.notification("peer_joined").await["peer_id"], "carol");

    // A leave is announced as such; a dropped connection as a disconnect.
    assert_eq!(bob.request("leave", json!({})).await["result"], json!({}));
    assert_eq!(
        alice.notification("peer_left").await,
        json!({"peer_id": "bob", "reason": "left"})
    );
    drop(carol);
    assert_eq!(
        alice.notification("peer_left").await,
        json!({"peer_id": "carol", "reason": "disconnected"})
    );

    // The same connection may join again after leaving.
    let again = bob
        .request(
            "join",
            json!({"room": "room", "token": t, "peer_id": "bob"}),
        )
        .await;
    assert_eq!(
        again["result"]["participants"],
        json!([{"peer_id": "alice"}])
    );
    // But not twice.
    assert_eq!(
        bob.error_code(
            "join",
            json!({"room": "room", "token": t, "peer_id": "bob2"})
        )
        .await,
        strata_signal::ErrorCode::ALREADY_JOINED.0
    );

    let rooms = http(
        &server,
        "GET",
        "/admin/rooms",
        Some(server.admin_token()),
        None,
    )
    .await;
    assert_eq!(rooms.status, 200);
    let rooms: Value = serde_json::from_str(&rooms.body).unwrap();
    assert_eq!(rooms[0]["room"], "room");
    assert_eq!(rooms[0]["participants"].as_array().unwrap().len(), 2);

    drop(alice);
    bob.request("leave", json!({})).await;
    let rooms = http(
        &server,
        "GET",
        "/admin/rooms",
        Some(server.admin_token()),
        None,
    )
    .await;
    assert_eq!(rooms.body, "[]", "an empty room is destroyed");
    server.shutdown().await;
}
