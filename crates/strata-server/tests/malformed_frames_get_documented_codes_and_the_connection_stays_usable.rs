//! Every kind of bad frame is answered with its documented code, and the same connection
//! keeps working afterwards.

mod harness;

use harness::{Raw, start, token};
use serde_json::json;
use strata_signal::{ErrorCode, Permissions};

#[tokio::test]
async fn malformed_frames_get_documented_codes_and_the_connection_stays_usable() {
    let server = start(|_| {}).await;
    let mut raw = Raw::connect(&server).await;

    let cases: Vec<(String, ErrorCode)> = vec![
        ("{not json".into(), ErrorCode::PARSE_ERROR),
        ("[1,2]".into(), ErrorCode::INVALID_REQUEST),
        ("\"text\"".into(), ErrorCode::INVALID_REQUEST),
        (
            r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#.into(),
            ErrorCode::INVALID_REQUEST,
        ),
        (
            r#"{"jsonrpc":"2.0","id":true,"method":"ping"}"#.into(),
            ErrorCode::INVALID_REQUEST,
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"ping","extra":0}"#.into(),
            ErrorCode::INVALID_REQUEST,
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"teleport"}"#.into(),
            ErrorCode::METHOD_NOT_FOUND,
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"join","params":{"room":5}}"#.into(),
            ErrorCode::INVALID_PARAMS,
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"join","params":{"room":"r","colour":"red"}}"#
                .into(),
            ErrorCode::INVALID_PARAMS,
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"offer","params":["bob","sdp"]}"#.into(),
            ErrorCode::INVALID_PARAMS,
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"offer","params":{"to":"bob","sdp":"x"}}"#.into(),
            ErrorCode::NOT_JOINED,
        ),
        (
            format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"message","params":{{"data":"{}"}}}}"#,
                "x".repeat(70_000)
            ),
            ErrorCode::TOO_LARGE,
        ),
    ];
    for (frame, expected) in &cases {
        raw.send_text(frame.clone()).await;
        let response = raw.response().await;
        assert_eq!(
            response["error"]["code"],
            json!(expected.0),
            "frame {} answered {response}",
            &frame[..frame.len().min(80)]
        );
        assert!(
            response["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    // The id is echoed whenever it could be read; null otherwise.
    raw.send_text(r#"{"jsonrpc":"2.0","id":"abc","method":"teleport"}"#)
        .await;
    assert_eq!(raw.response().await["id"], json!("abc"));
    raw.send_text("{").await;
    assert_eq!(raw.response().await["id"], json!(null));
    // Unknown fields are named in the message.
    raw.send_text(
        r#"{"jsonrpc":"2.0","id":9,"method":"join","params":{"room":"r","colour":"red"}}"#,
    )
    .await;
    let message = raw.response().await["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("colour"), "{message}");
    // Binary frames are refused the same way.
    raw.send_binary(vec![1, 2, 3]).await;
    assert_eq!(
        raw.response().await["error"]["code"],
        json!(ErrorCode::INVALID_REQUEST.0)
    );
    // A client notification (no id) is not answered: the next response is the ping's.
    raw.send_text(r#"{"jsonrpc":"2.0","method":"ping"}"#).await;

    // Still usable: ping, then a real join.
    assert_eq!(raw.request("ping", json!({})).await["result"], json!({}));
    let token = token(&server, "r", None, Permissions::PARTICIPANT);
    let joined = raw
        .request(
            "join",
            json!({"room": "r", "token": token, "peer_id": "ok"}),
        )
        .await;
    assert_eq!(joined["result"]["peer_id"], json!("ok"));

    let metrics = harness::http(&server, "GET", "/metrics", None, None)
        .await
        .body;
    assert!(harness::metric(&metrics, "strata_errors_total{code=\"parse_error\"}") >= 2);
    assert!(harness::metric(&metrics, "strata_errors_total{code=\"too_large\"}") >= 1);
    server.shutdown().await;
}
