//! Participant limits from the config and from tokens, kicks by a room admin and through
//! the admin API, closing rooms, and the admin API's own protection.

mod harness;

use harness::{Raw, http, start, token, unix_now};
use serde_json::{Value, json};
use strata_server::auth::RoomClaims;
use strata_signal::{ErrorCode, Permissions};

#[tokio::test]
async fn participant_limits_come_from_config_and_tokens() {
    let server = start(|c| c.hub.max_participants = 2).await;
    let t = token(&server, "r", None, Permissions::PARTICIPANT);
    let (_a, _) = Raw::joined(&server, "r", &t, "a").await;
    let (_b, _) = Raw::joined(&server, "r", &t, "b").await;
    let mut c = Raw::connect(&server).await;
    assert_eq!(
        c.error_code("join", json!({"room": "r", "token": t, "peer_id": "c"}))
            .await,
        ErrorCode::ROOM_FULL.0
    );
    // Another peer may not take a seat by reusing an id with a token that names nobody.
    assert_eq!(
        c.error_code("join", json!({"room": "r", "token": t, "peer_id": "a"}))
            .await,
        ErrorCode::PEER_ID_TAKEN.0
    );

    let small = server
        .mint_token(&RoomClaims {
            sub: None,
            room: "s".into(),
            permissions: Permissions::PARTICIPANT,
            exp: unix_now() + 60,
            max_participants: Some(1),
        })
        .unwrap();
    let (_first, _) = Raw::joined(&server, "s", &small, "first").await;
    assert_eq!(
        c.error_code(
            "join",
            json!({"room": "s", "token": small, "peer_id": "second"})
        )
        .await,
        ErrorCode::ROOM_FULL.0
    );
    server.shutdown().await;
}

#[tokio::test]
async fn kicks_and_room_closing_remove_participants() {
    let server = start(|_| {}).await;
    let admin_token = token(&server, "r", Some("boss"), Permissions::ALL);
    let t = token(&server, "r", None, Permissions::PARTICIPANT);
    let (mut boss, _) = Raw::joined(&server, "r", &admin_token, "boss").await;
    let (mut pest, _) = Raw::joined(&server, "r", &t, "pest").await;
    let (mut other, _) = Raw::joined(&server, "r", &t, "other").await;

    // A room admin kicks.
    assert_eq!(
        boss.request("kick", json!({"peer_id": "pest", "reason": "spam"}))
            .await["result"],
        json!({})
    );
    assert_eq!(pest.notification("kicked").await, json!({"reason": "spam"}));
    assert_eq!(pest.closed().await, Some(1008));
    assert_eq!(
        other.notification("peer_left").await,
        json!({"peer_id": "pest", "reason": "kicked"})
    );

    // The admin API needs its token.
    let path = "/admin/rooms/r/kick/other";
    assert_eq!(http(&server, "POST", path, None, None).await.status, 401);
    assert_eq!(
        http(&server, "POST", path, Some("wrong"), None)
            .await
            .status,
        401
    );
    assert_eq!(
        http(
            &server,
            "POST",
            "/admin/rooms/r/kick/nobody",
            Some(server.admin_token()),
            None
        )
        .await
        .status,
        404
    );
    let kicked = http(
        &server,
        "POST",
        path,
        Some(server.admin_token()),
        Some(r#"{"reason":"admin says so"}"#),
    )
    .await;
    assert_eq!(kicked.status, 204);
    assert_eq!(
        other.notification("kicked").await,
        json!({"reason": "admin says so"})
    );
    assert_eq!(other.closed().await, Some(1008));

    // Closing the room tells the rest and disconnects them.
    let (mut late, _) = Raw::joined(&server, "r", &t, "late").await;
    assert_eq!(
        http(
            &server,
            "DELETE",
            "/admin/rooms/r",
            Some(server.admin_token()),
            None
        )
        .await
        .status,
        204
    );
    for peer in [&mut boss, &mut late] {
        assert_eq!(
            peer.notification("room_closed").await,
            json!({"reason": "closed"})
        );
        assert_eq!(peer.closed().await, Some(1000));
    }
    assert_eq!(
        http(
            &server,
            "DELETE",
            "/admin/rooms/r",
            Some(server.admin_token()),
            None
        )
        .await
        .status,
        404
    );

    // The admin API mints tokens the server accepts.
    let minted = http(
        &server,
        "POST",
        "/admin/tokens",
        Some(server.admin_token()),
        Some(r#"{"room":"new","identity":"zed"}"#),
    )
    .await;
    assert_eq!(minted.status, 200);
    let minted: Value = serde_json::from_str(&minted.body).unwrap();
    let (_zed, joined) =
        Raw::joined(&server, "new", minted["token"].as_str().unwrap(), "zed").await;
    assert_eq!(joined["peer_id"], "zed");
    server.shutdown().await;
}

#[tokio::test]
async fn connections_beyond_the_limit_are_refused() {
    let server = start(|c| c.max_connections = 1).await;
    let mut first = Raw::connect(&server).await;
    first.request("ping", json!({})).await;
    let refused = tokio_tungstenite::connect_async(server.ws_url()).await;
    assert!(refused.is_err(), "a second connection was accepted");
    server.shutdown().await;
}
