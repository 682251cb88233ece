//! A server that accepts the join and then goes silent (no responses, no pongs at the
//! protocol level) is detected by the client's heartbeat, which reconnects and rejoins.

mod harness;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use harness::WAIT;
use serde_json::{Value, json};
use strata_signal::client::{Client, ClientConfig, ClientEvent};
use strata_signal::{ReconnectPolicy, RoomName};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

/// Answers each connection's join, then reads everything and answers nothing.
async fn mute_server(listener: TcpListener, joins: tokio::sync::mpsc::Sender<u32>) {
    let mut count = 0;
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        count += 1;
        let joins = joins.clone();
        let number = count;
        tokio::spawn(async move {
            let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                return;
            };
            while let Some(Ok(message)) = ws.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let frame: Value = serde_json::from_str(&text).unwrap();
                if frame["method"] == "join" {
                    let result = json!({"jsonrpc": "2.0", "id": frame["id"], "result": {
                        "room": "r", "peer_id": "me", "participants": [],
                        "permissions": {"publish": true, "subscribe": true, "admin": false}}});
                    ws.send(Message::Text(result.to_string().into()))
                        .await
                        .unwrap();
                    let _ = joins.send(number).await;
                }
            }
        });
    }
}

#[tokio::test]
async fn client_reconnects_when_heartbeats_go_unanswered() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let (joins_tx, mut joins) = tokio::sync::mpsc::channel(8);
    let server = tokio::spawn(mute_server(listener, joins_tx));

    let mut config = ClientConfig::new(url, RoomName::new("r").unwrap());
    config.session.heartbeat_interval = Duration::from_millis(200);
    config.session.request_timeout = Duration::from_millis(300);
    config.reconnect = ReconnectPolicy {
        initial_delay: Duration::from_millis(20),
        ..ReconnectPolicy::default()
    };
    config.seed = Some(7);
    let (client, mut events) = Client::connect(config).await.unwrap();
    assert_eq!(joins.recv().await, Some(1));

    let mut saw_timeout = false;
    let rejoined = tokio::time::timeout(WAIT, async {
        while let Some(event) = events.recv().await {
            match event {
                ClientEvent::Disconnected { reason } => {
                    saw_timeout |=
                        matches!(reason, strata_signal::Error::Timeout { method: "ping" });
                }
                ClientEvent::Rejoined(result) => return result,
                _ => {}
            }
        }
        panic!("events ended");
    })
    .await
    .expect("no rejoin after the heartbeat timed out");
    assert!(saw_timeout, "the disconnect was not a heartbeat timeout");
    assert_eq!(rejoined.peer_id.as_str(), "me");
    assert_eq!(joins.recv().await, Some(2));
    client.close().await;
    server.abort();
}
