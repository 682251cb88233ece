//! The HTTP server a scenario's pages are loaded from, and the channel back to the test.
//!
//! Pages are served from a real `127.0.0.1` origin (Chromium's Local Network Access rules
//! forbid a non-local page from reaching loopback). Each page opens one WebSocket to
//! `/ws?page=<id>` through `/harness.js` and uses it to exchange JSON with the test (SDP,
//! candidates, commands), to log, and finally to post its verdict.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// The page-side half of the protocol, imported by every scenario page.
const HARNESS_JS: &str = include_str!("../pages/harness.js");

/// How many messages may wait in either direction before the sender waits.
const QUEUE: usize = 1024;

/// A page's final word on its part of a scenario.
#[derive(Debug, Clone, Deserialize)]
pub struct Verdict {
    /// Whether the page's checks all passed.
    pub ok: bool,
    /// Whatever the page measured or the reason it failed.
    #[serde(default)]
    pub detail: Value,
}

/// What a page sends up its WebSocket.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum FromPage {
    Msg { body: Value },
    Log { text: String },
    Verdict(Verdict),
}

struct PageEnds {
    to_page: Option<mpsc::Receiver<Value>>,
    from_page: mpsc::Sender<FromPage>,
}

struct Shared {
    pages: &'static [(&'static str, &'static str)],
    ends: Mutex<HashMap<String, PageEnds>>,
}

/// Serves scenario pages on `127.0.0.1` and connects each opened page to a [`PageHandle`].
pub struct PageServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl PageServer {
    /// Binds an ephemeral loopback port and serves `pages` (name, HTML) at `/p/<name>`.
    pub async fn start(pages: &'static [(&'static str, &'static str)]) -> anyhow::Result<Self> {
        let shared = Arc::new(Shared {
            pages,
            ends: Mutex::new(HashMap::new()),
        });
        let router = Router::new()
            .route("/harness.js", get(harness_js))
            .route("/p/{name}", get(page_html))
            .route("/ws", get(page_socket))
            .with_state(Arc::clone(&shared));
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                eprintln!("page server stopped: {error}");
            }
        });
        Ok(Self { addr, shared })
    }

    /// The URL that loads page `name` as participant `id`.
    pub fn url(&self, name: &str, id: &str) -> String {
        format!("http://{}/p/{name}?page={id}", self.addr)
    }

    /// Prepares the channel for participant `id`; open the page's URL afterwards.
    pub fn expect_page(&self, id: &str) -> PageHandle {
        let (to_page_tx, to_page_rx) = mpsc::channel(QUEUE);
        let (from_page_tx, from_page_rx) = mpsc::channel(QUEUE);
        let ends = PageEnds {
            to_page: Some(to_page_rx),
            from_page: from_page_tx,
        };
        lock(&self.shared.ends).insert(id.to_owned(), ends);
        PageHandle {
            id: id.to_owned(),
            to_page: to_page_tx,
            from_page: from_page_rx,
            logs: Vec::new(),
        }
    }
}

/// The test's end of one page: send it JSON, receive its JSON, await its verdict.
pub struct PageHandle {
    id: String,
    to_page: mpsc::Sender<Value>,
    from_page: mpsc::Receiver<FromPage>,
    logs: Vec<String>,
}

impl PageHandle {
    /// Sends a JSON message to the page (delivered once the page has connected).
    pub async fn send(&self, body: Value) -> anyhow::Result<()> {
        self.to_page
            .send(body)
            .await
            .map_err(|_| anyhow::anyhow!("page {} is gone", self.id))
    }

    /// Waits for the page's next message. A verdict arriving first is an error: the page
    /// stopped before saying what the test waited for.
    pub async fn recv(&mut self) -> anyhow::Result<Value> {
        loop {
            match self.next().await? {
                FromPage::Msg { body } => return Ok(body),
                FromPage::Log { text } => self.logs.push(text),
                FromPage::Verdict(verdict) => bail!(
                    "page {} finished while the test waited for a message: {}",
                    self.id,
                    verdict.detail
                ),
            }
        }
    }

    /// Waits for the page's verdict; messages the test did not read are kept in the log.
    pub async fn verdict(&mut self) -> anyhow::Result<Verdict> {
        loop {
            match self.next().await? {
                FromPage::Verdict(verdict) => return Ok(verdict),
                FromPage::Log { text } => self.logs.push(text),
                FromPage::Msg { body } => self.logs.push(format!("(unread message) {body}")),
            }
        }
    }

    /// Everything the page logged so far.
    pub fn logs(&self) -> &[String] {
        &self.logs
    }

    async fn next(&mut self) -> anyhow::Result<FromPage> {
        self.from_page
            .recv()
            .await
            .with_context(|| format!("page {} closed its harness socket", self.id))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn harness_js() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript")], HARNESS_JS).into_response()
}

async fn page_html(State(shared): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    match shared.pages.iter().find(|(page, _)| *page == name) {
        Some((_, html)) => ([(header::CONTENT_TYPE, "text/html")], *html).into_response(),
        None => (StatusCode::NOT_FOUND, format!("no page named {name}")).into_response(),
    }
}

#[derive(Deserialize)]
struct SocketQuery {
    page: String,
}

async fn page_socket(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<SocketQuery>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let claimed = lock(&shared.ends)
        .get_mut(&query.page)
        .and_then(|ends| Some((ends.to_page.take()?, ends.from_page.clone())));
    match claimed {
        Some((to_page, from_page)) => upgrade
            .max_message_size(64 << 20)
            .on_upgrade(move |socket| bridge(socket, to_page, from_page))
            .into_response(),
        None => (StatusCode::CONFLICT, "unknown or already connected page id").into_response(),
    }
}

/// Pumps JSON between one page's WebSocket and its [`PageHandle`].
async fn bridge(
    socket: WebSocket,
    mut to_page: mpsc::Receiver<Value>,
    from_page: mpsc::Sender<FromPage>,
) {
    let (mut sink, mut stream) = socket.split();
    let outbound = async {
        while let Some(body) = to_page.recv().await {
            if sink
                .send(Message::Text(body.to_string().into()))
                .await
                .is_err()
            {
                break;
            }
        }
    };
    let inbound = async {
        while let Some(Ok(message)) = stream.next().await {
            let Message::Text(text) = message else {
                continue;
            };
            let event = serde_json::from_str(&text).unwrap_or_else(|error| FromPage::Log {
                text: format!("(malformed harness frame: {error}) {text}"),
            });
            if from_page.send(event).await.is_err() {
                break;
            }
        }
    };
    tokio::select! {
        () = outbound => {}
        () = inbound => {}
    }
}
