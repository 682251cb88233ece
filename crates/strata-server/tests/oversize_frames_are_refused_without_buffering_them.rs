//! Frames above the size limit are refused as documented: up to four times the limit
//! (text or binary, whole or fragmented) they are answered `too_large` and the connection
//! stays usable; beyond that the connection is closed with 1009 (message too big) as
//! soon as the size is known — from a frame's header, or from the fragments so far — so
//! the server never holds the whole message.

mod harness;

use std::sync::atomic::Ordering;

use harness::{
    Raw, WAIT, await_metrics, frame_header, metric, opcode, raw_upgrade, read_close_code,
    record_panics, start,
};
use serde_json::json;
use strata_signal::{ErrorCode, MAX_FRAME_BYTES};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Close code of RFC 6455 section 7.4.1: a message too big to process.
const MESSAGE_TOO_BIG: u16 = 1009;
/// The connection closes above this many bytes in one message.
const HARD_LIMIT: usize = 4 * MAX_FRAME_BYTES;
/// At most this much of a refused message may be written before the connection is cut
/// off: the loopback socket buffers of both ends, nowhere near the message's size.
const WRITTEN_BOUND: u64 = 24 * 1024 * 1024;

/// Writes `first` (a frame header and maybe payload), then `chunk` over and over (up to
/// `total` bytes in all), until the server cuts the connection off; returns the close
/// code the server sent and the bytes written.
async fn write_until_cut_off(
    first: Vec<u8>,
    chunk: Vec<u8>,
    total: u64,
    server: &strata_server::Server,
) -> (Option<u16>, u64) {
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    raw_upgrade(&mut stream).await;
    let (mut read, mut write) = stream.into_split();
    let mut reader = tokio::spawn(async move {
        tokio::time::timeout(WAIT, read_close_code(&mut read))
            .await
            .expect("the server neither closed nor cut off the connection")
    });
    let mut written = 0u64;
    let writing = async {
        if write.write_all(&first).await.is_err() {
            return;
        }
        written += first.len() as u64;
        while written < total {
            if write.write_all(&chunk).await.is_err() {
                return;
            }
            written += chunk.len() as u64;
        }
    };
    // Writing stops when the server resets the connection, or once the reader has seen
    // the close (a server that read everything would let the writer finish instead).
    let code = tokio::select! {
        () = writing => None,
        code = &mut reader => Some(code.unwrap()),
    };
    let code = match code {
        Some(code) => code,
        None => reader.await.unwrap(),
    };
    eprintln!("{written} bytes written of {total} before the connection was closed");
    (code, written)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one case, told in order
async fn oversize_frames_are_refused_without_buffering_them() {
    let panics = record_panics();
    let server = start(|_| {}).await;
    let addr = server.local_addr();

    // Just above the limit, text and binary: answered, connection kept.
    let mut raw = Raw::connect(&server).await;
    raw.send_text(format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"message","params":{{"data":"{}"}}}}"#,
        "x".repeat(MAX_FRAME_BYTES)
    ))
    .await;
    let response = raw.response().await;
    assert_eq!(
        response["error"]["code"],
        json!(ErrorCode::TOO_LARGE.0),
        "{response}"
    );
    raw.send_binary(vec![7; MAX_FRAME_BYTES + 1]).await;
    let response = raw.response().await;
    assert_eq!(
        response["error"]["code"],
        json!(ErrorCode::TOO_LARGE.0),
        "{response}"
    );
    assert_eq!(raw.request("ping", json!({})).await["result"], json!({}));

    // A fragmented text message whose total passes the limit (but not four times it):
    // answered too_large once complete, connection kept.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    raw_upgrade(&mut stream).await;
    let piece = vec![b' '; 30_000];
    for (op, fin) in [
        (opcode::TEXT, false),
        (opcode::CONTINUATION, false),
        (opcode::CONTINUATION, true),
    ] {
        stream
            .write_all(&frame_header(op, fin, piece.len() as u64))
            .await
            .unwrap();
        stream.write_all(&piece).await.unwrap();
    }
    let mut ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
        stream,
        tokio_tungstenite::tungstenite::protocol::Role::Client,
        None,
    )
    .await;
    let answer = tokio::time::timeout(WAIT, futures_util::StreamExt::next(&mut ws))
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let answer: serde_json::Value = serde_json::from_str(answer.to_text().unwrap()).unwrap();
    assert_eq!(
        answer["error"]["code"],
        json!(ErrorCode::TOO_LARGE.0),
        "{answer}"
    );
    drop(ws);

    // Just above the hard limit, as one text frame: closed with 1009.
    let len = HARD_LIMIT as u64 + 1;
    let (code, _) = write_until_cut_off(
        frame_header(opcode::TEXT, true, len),
        vec![b'a'; 64 * 1024],
        len,
        &server,
    )
    .await;
    assert_eq!(code, Some(MESSAGE_TOO_BIG));

    // A binary and a text frame announcing a gigabyte: closed from the header alone; far
    // less than the gigabyte is ever written.
    let len = 1u64 << 30;
    for (opcode, filler) in [(opcode::BINARY, 0xA5), (opcode::TEXT, b'{')] {
        let (code, written) = write_until_cut_off(
            frame_header(opcode, true, len),
            vec![filler; 64 * 1024],
            len,
            &server,
        )
        .await;
        assert_eq!(code, Some(MESSAGE_TOO_BIG), "opcode {opcode}");
        assert!(
            written < WRITTEN_BOUND,
            "{written} bytes of a refused frame (opcode {opcode}) were taken"
        );
    }

    // A message of endless small fragments, each within the limit: closed once the
    // fragments so far pass the hard limit.
    let fragment = {
        let mut f = frame_header(opcode::CONTINUATION, false, 16 * 1024);
        f.extend(std::iter::repeat_n(b'b', 16 * 1024));
        f
    };
    let mut first = frame_header(opcode::TEXT, false, 16 * 1024);
    first.extend(std::iter::repeat_n(b'b', 16 * 1024));
    let (code, written) = write_until_cut_off(first, fragment, 1 << 30, &server).await;
    assert_eq!(code, Some(MESSAGE_TOO_BIG));
    assert!(
        written < WRITTEN_BOUND,
        "{written} bytes of a refused message were taken"
    );

    // Everything is counted, nothing is left open, and the server still serves.
    let metrics = await_metrics(addr, WAIT, |m| metric(m, "strata_connections") == 1).await;
    assert_eq!(metric(&metrics, "strata_oversize_disconnects_total"), 4);
    assert_eq!(
        metric(&metrics, "strata_errors_total{code=\"too_large\"}"),
        3
    );
    assert_eq!(raw.request("ping", json!({})).await["result"], json!({}));
    drop(raw);
    await_metrics(addr, WAIT, |m| metric(m, "strata_connections") == 0).await;
    server.shutdown().await;
    assert_eq!(panics.load(Ordering::SeqCst), 0, "the server panicked");
}
