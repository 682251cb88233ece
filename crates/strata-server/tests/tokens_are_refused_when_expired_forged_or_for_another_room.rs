//! Room tokens admit exactly their room, until they expire, and only if the server
//! signed them; permissions in them are enforced.

mod harness;

use harness::{Raw, start, token, unix_now};
use serde_json::json;
use strata_server::auth::{Authenticator, RoomClaims};
use strata_signal::{ErrorCode, Permissions};

#[tokio::test]
async fn tokens_are_refused_when_expired_forged_or_for_another_room() {
    let server = start(|_| {}).await;
    let claims = |room: &str, exp: u64| RoomClaims {
        sub: Some("alice".into()),
        room: room.into(),
        permissions: Permissions::PARTICIPANT,
        exp,
        max_participants: None,
    };
    let mut raw = Raw::connect(&server).await;
    let join = |token: &str| json!({"room": "lobby", "token": token});

    let expired = server
        .mint_token(&claims("lobby", unix_now() - 60))
        .unwrap();
    let forged = Authenticator::new(b"somebody-elses-secret-entirely", false)
        .mint(&claims("lobby", unix_now() + 60))
        .unwrap();
    let elsewhere = server
        .mint_token(&claims("kitchen", unix_now() + 60))
        .unwrap();
    let mut tampered = server
        .mint_token(&claims("lobby", unix_now() + 60))
        .unwrap();
    tampered.pop();
    for bad in [
        expired.as_str(),
        forged.as_str(),
        elsewhere.as_str(),
        tampered.as_str(),
        "not-a-jwt",
    ] {
        assert_eq!(
            raw.error_code("join", join(bad)).await,
            ErrorCode::UNAUTHORIZED.0,
            "{bad}"
        );
    }
    assert_eq!(
        raw.error_code("join", json!({"room": "lobby"})).await,
        ErrorCode::UNAUTHORIZED.0
    );

    // An identity token fixes the peer id.
    let good = server
        .mint_token(&claims("lobby", unix_now() + 60))
        .unwrap();
    assert_eq!(
        raw.error_code(
            "join",
            json!({"room": "lobby", "token": good, "peer_id": "mallory"})
        )
        .await,
        ErrorCode::UNAUTHORIZED.0
    );
    let joined = raw.request("join", join(&good)).await;
    assert_eq!(joined["result"]["peer_id"], "alice");

    // Subscribe-only participants cannot send; nobody can send to them... unless they subscribe.
    let listener = token(
        &server,
        "lobby",
        None,
        Permissions {
            publish: false,
            subscribe: true,
            admin: false,
        },
    );
    let (mut quiet, _) = Raw::joined(&server, "lobby", &listener, "quiet").await;
    assert_eq!(
        quiet.error_code("message", json!({"data": 1})).await,
        ErrorCode::FORBIDDEN.0
    );
    let deaf = token(
        &server,
        "lobby",
        None,
        Permissions {
            publish: true,
            subscribe: false,
            admin: false,
        },
    );
    let (_deaf, _) = Raw::joined(&server, "lobby", &deaf, "deaf").await;
    assert_eq!(
        raw.error_code("offer", json!({"to": "deaf", "sdp": "x"}))
            .await,
        ErrorCode::FORBIDDEN.0
    );
    assert_eq!(
        raw.request("offer", json!({"to": "quiet", "sdp": "x"}))
            .await["result"],
        json!({})
    );
    // Kicking needs admin.
    assert_eq!(
        raw.error_code("kick", json!({"peer_id": "quiet"})).await,
        ErrorCode::FORBIDDEN.0
    );
    server.shutdown().await;
}

#[tokio::test]
async fn dev_mode_admits_joins_without_a_token_only_when_enabled() {
    let strict = start(|_| {}).await;
    let mut raw = Raw::connect(&strict).await;
    assert_eq!(
        raw.error_code("join", json!({"room": "any"})).await,
        ErrorCode::UNAUTHORIZED.0
    );
    strict.shutdown().await;

    let dev = start(|c| c.dev_mode = true).await;
    let mut raw = Raw::connect(&dev).await;
    let joined = raw.request("join", json!({"room": "any"})).await;
    assert!(
        joined["result"]["peer_id"]
            .as_str()
            .unwrap()
            .starts_with("peer-"),
        "{joined}"
    );
    dev.shutdown().await;
}
