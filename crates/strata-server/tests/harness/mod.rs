//! What the server tests share: a server on an ephemeral loopback port, a raw WebSocket
//! client that speaks JSON-RPC by hand, and a minimal HTTP/1.1 client for the admin API.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use strata_server::auth::RoomClaims;
use strata_server::{Server, ServerConfig};
use strata_signal::Permissions;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdout, Command};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Generous bound for anything a test awaits.
pub const WAIT: Duration = Duration::from_secs(10);

/// The real `strata` binary, started by a test and listening.
pub struct Binary {
    /// The process (killed when dropped). Its stderr is whatever [`spawn_binary`] was
    /// given; piped, the test takes it from here.
    pub child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its stdout up to the `listening on` line, that line included.
    pub banner: Vec<String>,
    /// Its stdout after that line.
    pub stdout: Lines<BufReader<ChildStdout>>,
}

/// Starts the `strata` binary with `args` (logs at `warn`, stderr to `stderr`) and waits
/// until it prints where it listens.
pub async fn spawn_binary(args: &[&str], stderr: Stdio) -> Binary {
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = Vec::new();
    let addr = tokio::time::timeout(WAIT, async {
        loop {
            let line = stdout
                .next_line()
                .await
                .unwrap()
                .expect("strata exited before listening");
            let addr = line
                .split("listening on http://")
                .nth(1)
                .map(|rest| rest.trim_end_matches('/').parse().unwrap());
            banner.push(line);
            if let Some(addr) = addr {
                return addr;
            }
        }
    })
    .await
    .expect("strata did not start");
    Binary {
        child,
        addr,
        banner,
        stdout,
    }
}

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
    http_at(server.local_addr(), method, path, bearer, body).await
}

/// One HTTP/1.1 request with `Connection: close` to a server at `addr` (in-process or a
/// child process).
pub async fn http_at(
    addr: SocketAddr,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&str>,
) -> HttpResponse {
    let mut stream = TcpStream::connect(addr).await.unwrap();
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

/// Polls `/metrics` at `addr` until `done` holds for its text; returns that text. Panics
/// with the last text if it does not within `within`.
pub async fn await_metrics(
    addr: SocketAddr,
    within: Duration,
    mut done: impl FnMut(&str) -> bool,
) -> String {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let text = http_at(addr, "GET", "/metrics", None, None).await.body;
        if done(&text) {
            return text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "metrics never reached the expected state:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Counts panics on any thread of this test process (and still prints them).
pub fn record_panics() -> &'static std::sync::atomic::AtomicUsize {
    static PANICS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            previous(info);
        }));
    });
    &PANICS
}

/// A `GET /ws` upgrade written by hand over `stream`; panics unless the answer is 101.
pub async fn raw_upgrade(stream: &mut TcpStream) {
    let request = "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(WAIT, stream.read(&mut byte))
            .await
            .expect("no upgrade answer")
            .unwrap();
        assert_eq!(n, 1, "closed during the upgrade");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
}

/// A `join` request with `params` (id 1), written by hand over `stream` as one masked
/// text frame (after [`raw_upgrade`]).
pub async fn write_join(stream: &mut TcpStream, params: Value) {
    let join = json!({"jsonrpc": "2.0", "id": 1, "method": "join", "params": params}).to_string();
    stream
        .write_all(&frame_header(opcode::TEXT, true, join.len() as u64))
        .await
        .unwrap();
    stream.write_all(join.as_bytes()).await.unwrap();
}

/// WebSocket opcodes a test writes by hand.
pub mod opcode {
    pub const CONTINUATION: u8 = 0x0;
    pub const TEXT: u8 = 0x1;
    pub const BINARY: u8 = 0x2;
    pub const CLOSE: u8 = 0x8;
}

/// The header of a masked client frame (RFC 6455 section 5.2) announcing `len` payload
/// bytes, with the all-zero masking key (so the payload goes out as is).
pub fn frame_header(opcode: u8, fin: bool, len: u64) -> Vec<u8> {
    let mut header = vec![if fin { 0x80 } else { 0 } | opcode];
    match len {
        0..=125 => header.push(0x80 | len as u8),
        126..=0xffff => {
            header.push(0x80 | 0x7e);
            header.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            header.push(0x80 | 0x7f);
            header.extend_from_slice(&len.to_be_bytes());
        }
    }
    header.extend_from_slice(&[0, 0, 0, 0]);
    header
}

/// Reads server frames (unmasked) until a close frame; its status code, or `None` if the
/// connection ended without one. Other frames are skipped.
pub async fn read_close_code(stream: &mut (impl tokio::io::AsyncRead + Unpin)) -> Option<u16> {
    loop {
        let mut head = [0u8; 2];
        stream.read_exact(&mut head).await.ok()?;
        let len = match head[1] & 0x7f {
            126 => {
                let mut ext = [0u8; 2];
                stream.read_exact(&mut ext).await.ok()?;
                u64::from(u16::from_be_bytes(ext))
            }
            127 => {
                let mut ext = [0u8; 8];
                stream.read_exact(&mut ext).await.ok()?;
                u64::from_be_bytes(ext)
            }
            short => u64::from(short),
        };
        let mut payload = vec![0u8; usize::try_from(len).ok()?];
        stream.read_exact(&mut payload).await.ok()?;
        if head[0] & 0x0f == opcode::CLOSE {
            return payload
                .get(..2)
                .map(|code| u16::from_be_bytes([code[0], code[1]]));
        }
    }
}
