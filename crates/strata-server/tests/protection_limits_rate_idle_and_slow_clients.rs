//! Per-connection protection: the rate limit answers `rate_limited` (malformed frames
//! count against it like requests), silent connections
//! are pinged and closed, and a client that stops reading is cut off instead of making
//! the server buffer without bound.

mod harness;

use std::time::Duration;

use futures_util::SinkExt;
use harness::{Raw, WAIT, http, metric, start, token};
use serde_json::json;
use strata_signal::{ErrorCode, Permissions};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn requests_beyond_the_rate_limit_are_answered_rate_limited() {
    let server = start(|c| {
        c.rate_limit_per_sec = 5.0;
        c.rate_limit_burst = 10.0;
    })
    .await;
    let mut raw = Raw::connect(&server).await;
    let mut limited = 0;
    for _ in 0..30 {
        let response = raw.request("ping", json!({})).await;
        if response["error"]["code"] == json!(ErrorCode::RATE_LIMITED.0) {
            limited += 1;
        }
    }
    assert!(
        (15..=20).contains(&limited),
        "{limited} of 30 limited with a burst of 10"
    );
    let metrics = http(&server, "GET", "/metrics", None, None).await.body;
    assert_eq!(
        metric(&metrics, "strata_errors_total{code=\"rate_limited\"}"),
        limited
    );
    server.shutdown().await;
}

#[tokio::test]
async fn malformed_frames_count_against_the_rate_limit_too() {
    let server = start(|c| {
        c.rate_limit_per_sec = 5.0;
        c.rate_limit_burst = 10.0;
    })
    .await;
    let mut raw = Raw::connect(&server).await;
    let (mut parse_errors, mut limited) = (0, 0);
    for _ in 0..30 {
        raw.send_text("{not json").await;
        let code = raw.response().await["error"]["code"].clone();
        if code == json!(ErrorCode::PARSE_ERROR.0) {
            parse_errors += 1;
        } else if code == json!(ErrorCode::RATE_LIMITED.0) {
            limited += 1;
        }
    }
    assert_eq!(parse_errors + limited, 30);
    assert!(
        (15..=20).contains(&limited),
        "{limited} of 30 garbage frames limited with a burst of 10"
    );
    // The garbage spent the budget: a valid request right after is limited as well.
    let response = raw.request("ping", json!({})).await;
    assert_eq!(
        response["error"]["code"],
        json!(ErrorCode::RATE_LIMITED.0),
        "{response}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn silent_connections_are_pinged_then_closed() {
    let server = start(|c| {
        c.ping_interval = Duration::from_millis(200);
        c.idle_timeout = Duration::from_millis(600);
    })
    .await;
    // A client that reads answers the server's pings (tungstenite does) and stays.
    let mut lively = Raw::connect(&server).await;
    // One that never reads never answers, and is closed.
    let (silent, _) = tokio_tungstenite::connect_async(server.ws_url())
        .await
        .unwrap();
    let reader = tokio::spawn(async move {
        let started = tokio::time::Instant::now();
        while started.elapsed() < Duration::from_millis(1500) {
            let _ = tokio::time::timeout(Duration::from_millis(100), lively.next()).await;
        }
        lively.request("ping", json!({})).await
    });
    let response = tokio::time::timeout(WAIT, reader).await.unwrap().unwrap();
    assert_eq!(
        response["result"],
        json!({}),
        "a reading client outlives the idle timeout"
    );
    let metrics = http(&server, "GET", "/metrics", None, None).await.body;
    assert_eq!(metric(&metrics, "strata_idle_disconnects_total"), 1);
    drop(silent);
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_that_stops_reading_is_disconnected_and_others_carry_on() {
    let server = start(|c| {
        c.send_queue = 8;
        c.rate_limit_per_sec = 100_000.0;
        c.rate_limit_burst = 100_000.0;
    })
    .await;
    let t = token(&server, "r", None, Permissions::PARTICIPANT);
    // The slow client joins, then never reads again.
    let (slow, _) = Raw::joined(&server, "r", &t, "slow").await;
    let (mut sender, _) = Raw::joined(&server, "r", &t, "sender").await;
    let big = "x".repeat(60_000);
    let mut sent = 0;
    let mut gone = false;
    // Each message is ~60 kB; loopback socket buffers hold a few MB at most.
    while sent < 2_000 && !gone {
        let response = sender
            .request("message", json!({"to": "slow", "data": big}))
            .await;
        gone = response["error"]["code"] == json!(ErrorCode::PEER_NOT_FOUND.0);
        sent += 1;
    }
    assert!(
        gone,
        "the slow client was never cut off after {sent} messages"
    );
    let metrics = http(&server, "GET", "/metrics", None, None).await.body;
    assert!(metric(&metrics, "strata_slow_client_disconnects_total") >= 1);
    // The sender is unaffected.
    assert_eq!(sender.request("ping", json!({})).await["result"], json!({}));
    drop(slow);
    server.shutdown().await;
}

#[tokio::test]
async fn graceful_shutdown_notifies_connected_clients_and_refuses_new_ones() {
    let server = start(|_| {}).await;
    let t = token(&server, "r", None, Permissions::PARTICIPANT);
    let (mut a, _) = Raw::joined(&server, "r", &t, "a").await;
    let (mut b, _) = Raw::joined(&server, "r", &t, "b").await;
    let mut idle = Raw::connect(&server).await;
    idle.request("ping", json!({})).await;
    let url = server.ws_url();
    let health = http(&server, "GET", "/healthz", None, None).await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));

    tokio::time::timeout(WAIT, server.shutdown())
        .await
        .expect("shutdown hung");
    for peer in [&mut a, &mut b] {
        assert_eq!(
            peer.notification("room_closed").await,
            json!({"reason": "shutdown"})
        );
        assert_eq!(peer.closed().await, Some(1001));
    }
    assert_eq!(idle.closed().await, Some(1001));
    assert!(tokio_tungstenite::connect_async(url).await.is_err());
}

#[tokio::test]
async fn frames_far_beyond_the_limit_close_the_connection() {
    let server = start(|c| c.max_frame_bytes = 4096).await;
    let mut raw = Raw::connect(&server).await;
    // Up to four times the limit: answered with too_large, connection kept.
    raw.send_text("y".repeat(10_000)).await;
    assert_eq!(
        raw.response().await["error"]["code"],
        json!(ErrorCode::TOO_LARGE.0)
    );
    assert_eq!(raw.request("ping", json!({})).await["result"], json!({}));
    // Beyond: the WebSocket layer refuses to buffer it.
    let (mut ws, _) = tokio_tungstenite::connect_async(server.ws_url())
        .await
        .unwrap();
    let _ = ws.send(Message::Text("z".repeat(20_000).into())).await;
    let mut closed = false;
    for _ in 0..10 {
        match tokio::time::timeout(WAIT, futures_util::StreamExt::next(&mut ws))
            .await
            .unwrap()
        {
            Some(Ok(Message::Close(_)) | Err(_)) | None => {
                closed = true;
                break;
            }
            Some(Ok(_)) => {}
        }
    }
    assert!(closed);
    server.shutdown().await;
}
