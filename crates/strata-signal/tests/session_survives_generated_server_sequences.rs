//! Property tests: a session fed generated sequences of server frames, time steps,
//! disconnections and calls stays within its bounds and keeps its invariants.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use serde_json::json;
use strata_signal::{Event, Output, PeerId, RoomName, Session, SessionConfig, SessionState};

#[derive(Debug, Clone)]
enum Step {
    Frame(String),
    ReplyToLast { ok: bool },
    PeerJoined(u8),
    PeerLeft(u8),
    Advance(u16),
    Offer(u8),
    Disconnect,
    Connect,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        "[ -~]{0,60}".prop_map(Step::Frame),
        any::<bool>().prop_map(|ok| Step::ReplyToLast { ok }),
        (0u8..6).prop_map(Step::PeerJoined),
        (0u8..6).prop_map(Step::PeerLeft),
        (0u16..20_000).prop_map(Step::Advance),
        (0u8..6).prop_map(Step::Offer),
        Just(Step::Disconnect),
        Just(Step::Connect),
    ]
}

fn peer(n: u8) -> String {
    format!("p{n}")
}

proptest! {
    #[test]
    fn sessions_keep_their_invariants(steps in proptest::collection::vec(step(), 1..80)) {
        let mut config = SessionConfig::new(RoomName::new("room").unwrap());
        config.max_pending = 8;
        let mut session = Session::new(config);
        let mut now = Instant::now();
        let mut connected = false;
        let mut last_sent: Option<u64> = None;
        let mut joins_sent = 0;
        for step in steps {
            match step {
                Step::Frame(text) => { let _ = session.handle_frame(now, &text); }
                Step::ReplyToLast { ok } => {
                    if let Some(id) = last_sent {
                        let frame = if ok && session.state() == SessionState::Joining {
                            json!({"jsonrpc":"2.0","id":id,"result":{"room":"room","peer_id":"me","participants":[{"peer_id":"p0"}],"permissions":{"publish":true,"subscribe":true,"admin":false}}})
                        } else if ok {
                            json!({"jsonrpc":"2.0","id":id,"result":{}})
                        } else {
                            json!({"jsonrpc":"2.0","id":id,"error":{"code":-32004,"message":"no"}})
                        };
                        let _ = session.handle_frame(now, &frame.to_string());
                    }
                }
                Step::PeerJoined(n) => {
                    let frame = json!({"jsonrpc":"2.0","method":"peer_joined","params":{"peer_id":peer(n)}});
                    let _ = session.handle_frame(now, &frame.to_string());
                }
                Step::PeerLeft(n) => {
                    let frame = json!({"jsonrpc":"2.0","method":"peer_left","params":{"peer_id":peer(n),"reason":"left"}});
                    let _ = session.handle_frame(now, &frame.to_string());
                }
                Step::Advance(ms) => {
                    now += Duration::from_millis(u64::from(ms));
                    session.handle_timeout(now);
                }
                Step::Offer(n) => {
                    let allowed = connected && session.is_joined();
                    let result = session.offer(now, PeerId::new(peer(n)).unwrap(), "v=0".into());
                    if !allowed {
                        prop_assert!(result.is_err(), "offer accepted while not joined");
                    }
                }
                Step::Disconnect => { session.handle_disconnected(now); connected = false; }
                Step::Connect => {
                    if !connected { session.handle_connected(now); connected = true; }
                }
            }
            while let Some(output) = session.poll_output() {
                match output {
                    Output::Transmit(frame) => {
                        prop_assert!(connected, "transmitted while disconnected: {}", frame);
                        let value: serde_json::Value = serde_json::from_str(&frame).unwrap();
                        last_sent = value["id"].as_u64();
                        if value["method"] == "join" { joins_sent += 1; }
                    }
                    Output::Event(Event::Joined { result, .. }) => {
                        prop_assert_eq!(result.peer_id.as_str(), "me");
                    }
                    _ => {}
                }
            }
            // Invariants: bounded pending requests, no duplicate participants, a
            // deadline whenever something waits.
            prop_assert!(session.pending_requests() <= 8 + 2);
            let mut ids: Vec<_> = session.participants().iter().map(|p| p.peer_id.clone()).collect();
            let before = ids.len();
            ids.sort();
            ids.dedup();
            prop_assert_eq!(before, ids.len());
            if session.pending_requests() > 0 {
                prop_assert!(session.poll_timeout().is_some());
            }
            if !connected {
                prop_assert_eq!(session.pending_requests(), 0);
                prop_assert!(!session.is_joined());
            }
            prop_assert_eq!(session.stats().dropped_outputs, 0);
        }
        prop_assert!(joins_sent <= 80);
    }
}

#[test]
fn heartbeat_goes_out_after_silence_and_its_loss_reports_stale() {
    let mut config = SessionConfig::new(RoomName::new("room").unwrap());
    config.heartbeat_interval = Duration::from_secs(5);
    config.request_timeout = Duration::from_secs(2);
    let mut session = Session::new(config);
    let start = Instant::now();
    session.handle_connected(start);
    let _join = session.poll_output();
    session
        .handle_frame(start, r#"{"jsonrpc":"2.0","id":1,"result":{"room":"room","peer_id":"me","participants":[],"permissions":{"publish":true,"subscribe":true,"admin":false}}}"#)
        .unwrap();
    while session.poll_output().is_some() {}
    assert_eq!(session.poll_timeout(), Some(start + Duration::from_secs(5)));
    session.handle_timeout(start + Duration::from_secs(5));
    let Some(Output::Transmit(ping)) = session.poll_output() else {
        panic!("no heartbeat")
    };
    assert!(ping.contains(r#""method":"ping""#));
    // Unanswered: stale two seconds later.
    assert_eq!(session.poll_timeout(), Some(start + Duration::from_secs(7)));
    session.handle_timeout(start + Duration::from_secs(7));
    assert!(matches!(
        session.poll_output(),
        Some(Output::Event(Event::Stale))
    ));
    // Reconnecting rejoins under the granted id.
    session.handle_disconnected(start + Duration::from_secs(7));
    session.handle_connected(start + Duration::from_secs(8));
    let Some(Output::Transmit(join)) = session.poll_output() else {
        panic!("no rejoin")
    };
    assert!(join.contains(r#""peer_id":"me""#), "{join}");
}

#[test]
fn calls_before_joining_or_beyond_the_pending_bound_are_refused() {
    let mut config = SessionConfig::new(RoomName::new("room").unwrap());
    config.max_pending = 2;
    let mut session = Session::new(config);
    let now = Instant::now();
    let bob = PeerId::new("bob").unwrap();
    assert!(matches!(
        session.offer(now, bob.clone(), "x".into()),
        Err(strata_signal::Error::NotJoined)
    ));
    session.handle_connected(now);
    session
        .handle_frame(now, r#"{"jsonrpc":"2.0","id":1,"result":{"room":"room","peer_id":"me","participants":[],"permissions":{"publish":true,"subscribe":true,"admin":false}}}"#)
        .unwrap();
    session.offer(now, bob.clone(), "x".into()).unwrap();
    session.offer(now, bob.clone(), "x".into()).unwrap();
    assert!(matches!(
        session.offer(now, bob.clone(), "x".into()),
        Err(strata_signal::Error::TooManyPending { limit: 2 })
    ));
    assert!(matches!(
        session.offer(now, bob, "x".repeat(60_000)),
        Err(strata_signal::Error::InvalidArgument { what: "sdp", .. })
    ));
    // A response to an id never sent is a protocol violation, counted, not a crash.
    assert!(
        session
            .handle_frame(now, r#"{"jsonrpc":"2.0","id":99,"result":{}}"#)
            .is_err()
    );
    assert_eq!(session.stats().protocol_violations, 1);
}
