//! Many clients send seeded garbage as fast as they can — random bytes as text and binary
//! frames, broken JSON, JSON of the wrong shape, huge numbers, deep nesting, bad ids,
//! methods out of order — while two well-behaved peers relay to each other. Every bad
//! frame is answered with its documented error code (or `rate_limited`), nothing panics,
//! every relayed message arrives in order and intact, and the server's counts agree
//! with what the clients saw.

mod harness;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use harness::{Raw, WAIT, await_metrics, metric, record_panics, start, token};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use strata_signal::{ErrorCode, Permissions};
use tokio_tungstenite::tungstenite::Message;

/// Garbage clients at once.
const FLOODERS: usize = 12;
/// How long they flood.
const FLOOD: Duration = Duration::from_secs(3);
/// Frame size limit of this server (so oversize-but-answered frames stay cheap).
const MAX_FRAME: usize = 8 * 1024;

/// What a frame may be answered with.
#[derive(Clone, Copy)]
enum Expect {
    /// A response with this id and one of these codes (or `rate_limited`).
    Id(u64, &'static [ErrorCode]),
    /// A response with `"id": null` and one of these codes.
    Null(&'static [ErrorCode]),
}

const NULL_ID_CODES: &[ErrorCode] = &[
    ErrorCode::PARSE_ERROR,
    ErrorCode::INVALID_REQUEST,
    ErrorCode::TOO_LARGE,
];

/// One bad frame of a seeded kind, and the answers the protocol documents for it.
#[allow(clippy::too_many_lines)] // one arm per kind of garbage
fn bad_frame(rng: &mut StdRng, id: u64, joined: bool) -> (Message, Expect) {
    let text = |s: String| Message::Text(s.into());
    match rng.random_range(0..14) {
        // Random bytes as text: not JSON (or, rarely, a bare JSON scalar).
        0 => {
            let len = rng.random_range(1..2048);
            let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            let mut s = String::from_utf8_lossy(&bytes).into_owned();
            s.insert(0, '#');
            (text(s), Expect::Null(&[ErrorCode::PARSE_ERROR]))
        }
        // Random bytes as a binary frame: not part of the protocol.
        1 => {
            let len = rng.random_range(0..4096);
            let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            (
                Message::Binary(bytes.into()),
                Expect::Null(&[ErrorCode::INVALID_REQUEST]),
            )
        }
        // A valid request cut short.
        2 => {
            let full = json!({"jsonrpc": "2.0", "id": id, "method": "ping"}).to_string();
            let cut = rng.random_range(1..full.len());
            (
                text(full[..cut].to_owned()),
                Expect::Null(&[ErrorCode::PARSE_ERROR]),
            )
        }
        // JSON that is not a request object.
        3 => {
            let shapes = [
                "[]",
                "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]",
                "42",
                "null",
                "\"join\"",
                "true",
            ];
            let s = shapes[rng.random_range(0..shapes.len())];
            (
                text(s.to_owned()),
                Expect::Null(&[ErrorCode::INVALID_REQUEST]),
            )
        }
        // Ids that are not ids.
        4 => {
            let long = format!("\"{}\"", "i".repeat(65));
            let ids = [
                "{}",
                "[1]",
                "true",
                "1.5",
                "-1e999",
                &long,
                "18446744073709551616000",
            ];
            let bad = ids[rng.random_range(0..ids.len())];
            let s = format!(r#"{{"jsonrpc":"2.0","id":{bad},"method":"ping"}}"#);
            (text(s), Expect::Null(NULL_ID_CODES))
        }
        // Huge numbers where small ones belong.
        5 => {
            let huge = ["1e308", "-99999999999999999999999", "4294967296", "1e400"];
            let n = huge[rng.random_range(0..huge.len())];
            let s = format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"candidate","params":{{"to":"x","candidate":"","sdp_mline_index":{n}}}}}"#
            );
            if n == "1e400" {
                // Out of range for serde_json's f64: not parseable at all.
                (text(s), Expect::Null(&[ErrorCode::PARSE_ERROR]))
            } else {
                (text(s), Expect::Id(id, &[ErrorCode::INVALID_PARAMS]))
            }
        }
        // Nesting far deeper than any parser should recurse.
        6 => {
            let depth = rng.random_range(200..3000);
            let s = format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"message","params":{{"data":{}{}}}}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            );
            (text(s), Expect::Null(&[ErrorCode::PARSE_ERROR]))
        }
        // Unknown methods, members and params.
        7 => {
            let s = match rng.random_range(0..3) {
                0 => format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"teleport"}}"#),
                1 => format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping","x":1}}"#),
                _ => format!(
                    r#"{{"jsonrpc":"2.0","id":{id},"method":"offer","params":{{"to":"a","spd":"v=0"}}}}"#
                ),
            };
            let codes: &[ErrorCode] = if s.contains("teleport") {
                &[ErrorCode::METHOD_NOT_FOUND]
            } else if s.contains("\"x\"") {
                &[ErrorCode::INVALID_REQUEST]
            } else {
                &[ErrorCode::INVALID_PARAMS]
            };
            (text(s), Expect::Id(id, codes))
        }
        // Params of the wrong shape.
        8 => {
            let s = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"join","params":[1,2,3]}}"#);
            (text(s), Expect::Id(id, &[ErrorCode::INVALID_PARAMS]))
        }
        // Relays before joining, or to peers who are not in the room (another room's
        // peer included).
        9 => {
            let method = ["offer", "answer"][rng.random_range(0..2)];
            let s = format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{{"to":"bob","sdp":"v=0"}}}}"#
            );
            let codes: &[ErrorCode] = if joined {
                &[ErrorCode::PEER_NOT_FOUND]
            } else {
                &[ErrorCode::NOT_JOINED]
            };
            (text(s), Expect::Id(id, codes))
        }
        // Leave or kick out of order.
        10 => {
            let s = if !joined && rng.random() {
                format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"leave"}}"#)
            } else {
                format!(
                    r#"{{"jsonrpc":"2.0","id":{id},"method":"kick","params":{{"peer_id":"bob"}}}}"#
                )
            };
            let codes: &[ErrorCode] = if joined {
                &[ErrorCode::FORBIDDEN, ErrorCode::PEER_NOT_FOUND]
            } else {
                &[ErrorCode::NOT_JOINED]
            };
            (text(s), Expect::Id(id, codes))
        }
        // Oversize, but within what is answered rather than closed.
        11 => {
            let len = rng.random_range(MAX_FRAME + 1..MAX_FRAME * 3);
            let s = format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"message","params":{{"data":"{}"}}}}"#,
                "z".repeat(len)
            );
            (text(s), Expect::Null(&[ErrorCode::TOO_LARGE]))
        }
        // A join with a forged token, or for a room the token does not name.
        12 => {
            let s = format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"join","params":{{"room":"calm","token":"eyJhbGciOiJIUzI1NiJ9.e30.AAAA"}}}}"#
            );
            let codes: &[ErrorCode] = if joined {
                &[ErrorCode::UNAUTHORIZED, ErrorCode::ALREADY_JOINED]
            } else {
                &[ErrorCode::UNAUTHORIZED]
            };
            (text(s), Expect::Id(id, codes))
        }
        // Invalid UTF-8-free but control-character-laden strings where ids belong.
        _ => {
            let s = format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"join","params":{{"room":"\u0000\u0007../../etc","peer_id":"{}"}}}}"#,
                "é".repeat(100)
            );
            (text(s), Expect::Id(id, &[ErrorCode::INVALID_PARAMS]))
        }
    }
}

/// What one flooder saw.
#[derive(Default, Debug)]
struct Seen {
    sent: u64,
    /// Error responses by code.
    codes: HashMap<i64, u64>,
}

/// Floods for [`FLOOD`], then waits for every answer; panics on any answer that is not
/// one the protocol documents for the frame.
#[allow(clippy::too_many_lines)] // writer and checking reader, side by side
async fn flood(server_url: String, join_token: Option<String>, seed: u64) -> Seen {
    let mut rng = StdRng::seed_from_u64(seed);
    let (ws, _) = tokio_tungstenite::connect_async(server_url).await.unwrap();
    let (mut sink, mut stream) = ws.split();
    let joined = join_token.is_some();
    let mut next_id = 1_000u64;
    let mut by_id: HashMap<u64, &'static [ErrorCode]> = HashMap::new();
    let mut null_expected: VecDeque<&'static [ErrorCode]> = VecDeque::new();
    if let Some(t) = join_token {
        let join = json!({"jsonrpc": "2.0", "id": 1, "method": "join",
            "params": {"room": "storm", "token": t, "peer_id": format!("f{seed}")}});
        sink.send(Message::Text(join.to_string().into()))
            .await
            .unwrap();
        let first = stream.next().await.unwrap().unwrap();
        let first: Value = serde_json::from_str(first.to_text().unwrap()).unwrap();
        assert!(
            first.get("result").is_some(),
            "flooder join refused: {first}"
        );
    }
    let mut seen = Seen::default();
    // Writer and reader run together; the reader checks each answer against what was
    // sent. Answers to frames with a readable id come back by id; the rest carry
    // `"id": null` and are matched by count, each against the codes any of them allows.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Expect>();
    let writer = async {
        let mut sent = 0u64;
        let started = tokio::time::Instant::now();
        while started.elapsed() < FLOOD {
            next_id += 1;
            let (frame, expect) = bad_frame(&mut rng, next_id, joined);
            tx.send(expect).unwrap();
            if sink.send(frame).await.is_err() {
                break;
            }
            sent += 1;
        }
        drop(tx);
        sent
    };
    let reader = async {
        let mut writer_done = false;
        loop {
            // Record what the writer promised before matching answers to it.
            loop {
                match rx.try_recv() {
                    Ok(Expect::Id(id, codes)) => {
                        by_id.insert(id, codes);
                    }
                    Ok(Expect::Null(codes)) => null_expected.push_back(codes),
                    Err(tokio::sync::mpsc::error::TryRecvError::Empty) => break,
                    Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => {
                        writer_done = true;
                        break;
                    }
                }
            }
            if writer_done && by_id.is_empty() && null_expected.is_empty() {
                return;
            }
            // Biased: what the writer promised is recorded before the answer to it,
            // which it sent only after promising.
            let message = tokio::select! {
                biased;
                expect = rx.recv(), if !writer_done => {
                    match expect {
                        Some(Expect::Id(id, codes)) => { by_id.insert(id, codes); }
                        Some(Expect::Null(codes)) => null_expected.push_back(codes),
                        None => writer_done = true,
                    }
                    continue;
                }
                m = tokio::time::timeout(WAIT, stream.next()) => {
                    m.unwrap_or_else(|_| panic!("flooder {seed}: no answer within the wait"))
                }
            };
            let text = match message {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Close(frame))) => {
                    panic!("flooder {seed} closed by the server: {frame:?}")
                }
                Some(Ok(_)) => continue,
                other => panic!("flooder {seed} lost its connection: {other:?}"),
            };
            let response: Value = serde_json::from_str(&text).unwrap();
            if response.get("method").is_some() {
                // Presence in the flooders' own room.
                continue;
            }
            let code = response["error"]["code"]
                .as_i64()
                .unwrap_or_else(|| panic!("a bad frame was accepted: {response}"));
            *seen.codes.entry(code).or_default() += 1;
            let rate_limited = code == ErrorCode::RATE_LIMITED.0;
            match &response["id"] {
                Value::Null => {
                    // Null-id answers come back in the order their frames were read.
                    assert!(
                        !null_expected.is_empty(),
                        "unexpected null-id answer {response}"
                    );
                    let codes = null_expected.pop_front().unwrap();
                    assert!(
                        codes.iter().any(|c| c.0 == code),
                        "flooder {seed}: {response} not among {codes:?}"
                    );
                }
                Value::Number(n) => {
                    let id = n.as_u64().unwrap();
                    let codes = by_id
                        .remove(&id)
                        .unwrap_or_else(|| panic!("answer to an unknown id: {response}"));
                    assert!(
                        rate_limited || codes.iter().any(|c| c.0 == code),
                        "flooder {seed}: {response} not among {codes:?}"
                    );
                }
                other => panic!("odd id {other}"),
            }
        }
    };
    let wait_reader = async {
        tokio::time::timeout(FLOOD + WAIT * 2, reader)
            .await
            .unwrap_or_else(|_| panic!("flooder {seed}: answers missing"));
    };
    let (sent, ()) = tokio::join!(writer, wait_reader);
    seen.sent = sent;
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one case, told in order
async fn hostile_frames_at_high_rate_leave_relays_between_good_peers_intact() {
    let panics = record_panics();
    let server = start(|c| {
        c.max_frame_bytes = MAX_FRAME;
        // The good pair relays as fast as the server answers. (Bad frames are answered
        // whatever the rate; `rate_limited` is accepted for any request that parses.)
        c.rate_limit_per_sec = 100_000.0;
        c.rate_limit_burst = 100_000.0;
    })
    .await;
    let addr = server.local_addr();
    let calm = token(&server, "calm", None, Permissions::PARTICIPANT);
    let storm = token(&server, "storm", None, Permissions::PARTICIPANT);
    let (mut alice, _) = Raw::joined(&server, "calm", &calm, "alice").await;
    let (mut bob, _) = Raw::joined(&server, "calm", &calm, "bob").await;
    assert_eq!(alice.notification("peer_joined").await["peer_id"], "bob");

    let flooders: Vec<_> = (0..FLOODERS as u64)
        .map(|seed| {
            let t = (seed % 2 == 0).then(|| storm.clone());
            tokio::spawn(flood(server.ws_url(), t, seed))
        })
        .collect();

    // The good pair: alice relays numbered messages, offers and candidates to bob while
    // the flood runs; bob checks each arrives once, in order, intact, until the last.
    let receiver = tokio::spawn(async move {
        let mut expected = 0u64;
        loop {
            let frame = bob.next().await.expect("bob's connection closed");
            let params = &frame["params"];
            assert_eq!(params["from"], "alice", "bob got {frame}");
            let seq = match frame["method"].as_str() {
                Some("message") => {
                    let data = &params["data"];
                    let seq = data["seq"].as_u64().unwrap();
                    if data["last"] == json!(true) {
                        return (bob, expected, seq);
                    }
                    assert_eq!(data["body"], json!(body(seq)), "message {seq} altered");
                    seq
                }
                Some("offer") => {
                    let sdp = params["sdp"].as_str().unwrap();
                    let seq = sdp.strip_prefix("v=0\r\ns=").unwrap().trim_end();
                    seq.parse().unwrap()
                }
                Some("candidate") => {
                    assert_eq!(params["sdp_mline_index"], json!(0));
                    let line = params["candidate"].as_str().unwrap();
                    line.rsplit(' ').next().unwrap().parse().unwrap()
                }
                _ => panic!("bob got {frame}"),
            };
            assert_eq!(seq, expected, "relay out of order or lost");
            expected += 1;
        }
    });
    // Alice relays for as long as any flooder is still at it (and at least a few times).
    let mut relayed = 0u64;
    while relayed < 30 || !flooders.iter().all(tokio::task::JoinHandle::is_finished) {
        let params = match relayed % 3 {
            0 => json!({"to": "bob", "data": {"seq": relayed, "body": body(relayed)}}),
            1 => json!({"to": "bob", "sdp": format!("v=0\r\ns={relayed}\r\n")}),
            _ => {
                json!({"to": "bob", "candidate": format!("candidate:1 1 udp 1 127.0.0.1 9 typ host {relayed}"),
                "sdp_mid": "0", "sdp_mline_index": 0})
            }
        };
        let method = ["message", "offer", "candidate"][(relayed % 3) as usize];
        let response = alice.request(method, params).await;
        assert_eq!(response["result"], json!({}), "relay refused: {response}");
        relayed += 1;
    }
    let mut seen_total: HashMap<i64, u64> = HashMap::new();
    let mut sent_total = 0;
    for flooder in flooders {
        let seen = tokio::time::timeout(WAIT * 3, flooder)
            .await
            .expect("a flooder hung")
            .expect("a flooder's checks failed");
        sent_total += seen.sent;
        for (code, n) in seen.codes {
            *seen_total.entry(code).or_default() += n;
        }
    }
    let last = alice
        .request(
            "message",
            json!({"to": "bob", "data": {"seq": relayed, "last": true}}),
        )
        .await;
    assert_eq!(last["result"], json!({}));
    let (bob, received, last_seq) = tokio::time::timeout(WAIT, receiver)
        .await
        .expect("bob never got the last message")
        .expect("bob's checks failed");
    assert_eq!((received, last_seq), (relayed, relayed), "relays lost");
    assert!(
        sent_total > 1_000,
        "the flood sent only {sent_total} frames"
    );
    eprintln!("{sent_total} bad frames answered; {relayed} relays delivered meanwhile");
    drop((alice, bob));

    // The server counted exactly the errors the clients were sent.
    let metrics = await_metrics(addr, WAIT, |m| {
        metric(m, "strata_connections") == 0 && metric(m, "strata_rooms") == 0
    })
    .await;
    for code in ErrorCode::ALL {
        let counted = metric(
            &metrics,
            &format!("strata_errors_total{{code=\"{}\"}}", code.name()),
        );
        let seen = seen_total.get(&code.0).copied().unwrap_or(0);
        assert_eq!(counted, seen, "errors of {} counted vs seen", code.name());
    }
    server.shutdown().await;
    assert_eq!(panics.load(Ordering::SeqCst), 0, "the server panicked");
}

fn body(seq: u64) -> String {
    format!("{seq}:{}", "abcdefghij".repeat((seq % 50) as usize))
}
