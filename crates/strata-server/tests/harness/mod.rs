//! What the server tests share: a server on an ephemeral loopback port, a raw WebSocket
//! client that speaks JSON-RPC by hand, and a minimal HTTP/1.1 client for the admin API.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use strata_server::auth::RoomClaims;
use strata_server::{Server, ServerConfig};
use strata_signal::Permissions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Generous bound for anything a test awaits.
pub const WAIT: Duration = Duration::from_secs(10);

/// A server on `127.0.0.1:0` with `adjust` applied to the defaults.
pub async fn start(adjust: impl FnOnce(&mut ServerConfig)) -> Server {
    let mut config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        jwt_secret: Some(b"test-secret-of-sufficient-length".to_vec()),
        ..ServerConfig::default()
    };
    adjust(&mut config);
    Server::start(config).await.unwrap()
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A token for `room` (identity `sub` if given) valid for an hour.
pub fn token(server: &Server, room: &str, sub: Option<&str>, permissions: Permissions) -> String {
    server
        .mint_token(&RoomClaims {
            sub: sub.map(str::to_owned),
            room: room.to_owned(),
            permissions,
            exp: unix_now() + 3600,
            max_participants: None,
        })
        .unwrap()
}

/// A WebSocket client that writes and reads JSON-RPC frames by hand.
pub struct Raw {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// Notifications read while waiting for a response.
    pub notifications: Vec<Value>,
}

impl Raw {
    pub async fn connect(server: &Server) -> Self {
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(server.ws_url()))
            .await
            .expect("connect timed out")
            .expect("connect failed");
        Self {
            ws,
            next_id: 100,
            notifications: Vec::new(),
        }
    }

    /// Connects and joins `room` with `token` as `peer_id`; returns the join result.
    pub async fn joined(server: &Server, room: &str, token: &str, peer_id: &str) -> (Self, Value) {
        let mut raw = Self::connect(server).await;
        let response = raw
            .request(
                "join",
                json!({"room": room, "token": token, "peer_id": peer_id}),
            )
            .await;
        assert!(response.get("result").is_some(), "join refused: {response}");
        (raw, response["result"].clone())
    }

    pub async fn send_text(&mut self, text: impl Into<String>) {
        self.ws
            .send(Message::Text(text.into().into()))
            .await
            .unwrap();
    }

    pub async fn send_binary(&mut self, data: Vec<u8>) {
        self.ws.send(Message::Binary(data.into())).await.unwrap();
    }

    /// The next JSON frame, or `None` when the connection closed.
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("no frame within the wait")?;
            match message {
                Ok(Message::Text(text)) => return Some(serde_json::from_str(&text).unwrap()),
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// The next frame that is a response (notifications are kept).
    pub async fn response(&mut self) -> Value {
        loop {
            let frame = self
                .next()
                .await
                .expect("connection closed before the response");
            if frame.get("method").is_some() {
                self.notifications.push(frame);
            } else {
                return frame;
            }
        }
    }

    /// Sends a request and returns its response.
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send_text(
            json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string(),
        )
        .await;
        let response = self.response().await;
        assert_eq!(
            response["id"],
            json!(id),
            "response to another request: {response}"
        );
        response
    }

    /// The error code of a request's response (panics on success).
    pub async fn error_code(&mut self, method: &str, params: Value) -> i64 {
        let response = self.request(method, params).await;
        response["error"]["code"]
            .as_i64()
            .unwrap_or_else(|| panic!("expected an error: {response}"))
    }

    /// The next notification of `method` (earlier ones of other methods are kept).
    pub async fn notification(&mut self, method: &str) -> Value {
        if let Some(index) = self
            .notifications
            .iter()
            .position(|n| n["method"] == method)
        {
            return self.notifications.remove(index)["params"].clone();
        }
        loop {
            let frame = self
                .next()
                .await
                .unwrap_or_else(|| panic!("closed while waiting for {method}"));
            if frame["method"] == method {
                return frame["params"].clone();
            }
            self.notifications.push(frame);
        }
    }

    /// Waits until the server closes the connection; returns the close code if any.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("still open")
            {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(Message::Text(text))) => {
                    self.notifications
                        .push(serde_json::from_str(&text).unwrap());
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            }
        }
    }
}

/// An HTTP response: status and body.
pub struct HttpResponse {
    pub status: u16,
    pub body: String,
}

/// One HTTP/1.1 request with `Connection: close`.
pub async fn http(
    server: &Server,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&str>,
) -> HttpResponse {
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let body = body.unwrap_or("");
    let auth = bearer.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text[9..12].parse().unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    HttpResponse { status, body }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

/// The value of a metric line `name` (with labels, if any, as written).
pub fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|line| {
            line.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .unwrap_or_else(|| panic!("no metric {name} in\n{text}"))
        .trim()
        .parse()
        .unwrap()
}
