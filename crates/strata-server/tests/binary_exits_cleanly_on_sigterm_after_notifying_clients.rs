//! The `strata` binary, stopped with SIGTERM while clients are connected, tells them the
//! server is going away and exits with status 0.

mod harness;

use std::process::Stdio;

use harness::{Binary, WAIT, spawn_binary};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn binary_exits_cleanly_on_sigterm_after_notifying_clients() {
    let Binary {
        mut child,
        addr,
        mut banner,
        stdout: mut lines,
    } = spawn_binary(&["--listen", "127.0.0.1:0", "--dev"], Stdio::null()).await;
    // The banner goes on with the token and the URL to open.
    for _ in 0..8 {
        let line = lines.next_line().await.unwrap().unwrap_or_default();
        let done = line.contains("#room=") && line.contains("token=");
        banner.push(line);
        if done {
            break;
        }
    }
    let banner = banner.join("\n");
    assert!(banner.contains("#room=demo&token=ey"), "{banner}");
    assert!(banner.contains("admin token:"), "{banner}");

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    let join = json!({"jsonrpc": "2.0", "id": 1, "method": "join", "params": {"room": "r"}});
    futures_util::SinkExt::send(&mut ws, Message::Text(join.to_string().into()))
        .await
        .unwrap();
    let first = futures_util::StreamExt::next(&mut ws)
        .await
        .unwrap()
        .unwrap();
    assert!(first.to_text().unwrap().contains("\"result\""));

    kill(Pid::from_raw(child.id().unwrap() as i32), Signal::SIGTERM).unwrap();
    let mut told = false;
    let mut close_code = None;
    while let Ok(Some(Ok(message))) =
        tokio::time::timeout(WAIT, futures_util::StreamExt::next(&mut ws)).await
    {
        match message {
            Message::Text(text) => {
                let frame: Value = serde_json::from_str(&text).unwrap();
                told |= frame["method"] == "room_closed" && frame["params"]["reason"] == "shutdown";
            }
            Message::Close(frame) => {
                close_code = frame.map(|f| u16::from(f.code));
                break;
            }
            _ => {}
        }
    }
    assert!(told, "no room_closed before the close");
    assert_eq!(close_code, Some(1001));
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "strata exited with {status}");
}
