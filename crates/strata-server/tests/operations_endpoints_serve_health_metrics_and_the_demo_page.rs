//! `/healthz`, `/metrics`, `/` and `/camera` answer what operators and newcomers expect.

mod harness;

use harness::{Raw, http, metric, start, token};
use serde_json::json;
use strata_signal::Permissions;

#[tokio::test]
async fn operations_endpoints_serve_health_metrics_and_the_demo_page() {
    let server = start(|_| {}).await;
    let health = http(&server, "GET", "/healthz", None, None).await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));

    let page = http(&server, "GET", "/", None, None).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("RTCPeerConnection") && page.body.contains("createDataChannel"));
    let camera = http(&server, "GET", "/camera", None, None).await;
    assert_eq!(camera.status, 200);
    assert!(camera.body.contains("getUserMedia") && camera.body.contains("addTrack"));

    let t = token(&server, "r", None, Permissions::PARTICIPANT);
    let (mut a, _) = Raw::joined(&server, "r", &t, "a").await;
    let (mut b, _) = Raw::joined(&server, "r", &t, "b").await;
    a.request("message", json!({"data": "x"})).await;
    b.notification("message").await;
    a.send_text("nonsense").await;
    a.response().await;

    let metrics = http(&server, "GET", "/metrics", None, None).await;
    assert_eq!(metrics.status, 200);
    let text = metrics.body;
    assert_eq!(metric(&text, "strata_connections"), 2);
    assert_eq!(metric(&text, "strata_rooms"), 1);
    assert_eq!(metric(&text, "strata_participants"), 2);
    assert_eq!(metric(&text, "strata_messages_relayed_total"), 1);
    assert_eq!(metric(&text, "strata_joins_total"), 2);
    assert_eq!(
        metric(&text, "strata_errors_total{code=\"parse_error\"}"),
        1
    );
    assert!(text.contains("# TYPE strata_errors_total counter"));
    server.shutdown().await;
}
