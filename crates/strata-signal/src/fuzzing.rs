//! Fuzz-target bodies (feature `fuzzing`), called by the workspace's fuzz crate.
//!
//! Each takes arbitrary bytes and must never panic; the round-trip checks assert that
//! what parses re-encodes to an equivalent frame.
//!
//! # Panics
//!
//! Each body panics exactly when it found a bug: a round trip that changes a message,
//! or a session that grows past its bounds.

#![allow(clippy::missing_panics_doc)] // Documented once, above: a panic here is a found bug.

use std::time::{Duration, Instant};

use crate::message::{ServerMessage, parse_request, parse_server_message};
use crate::{RoomName, Session, SessionConfig};

/// Parses `data` as a client frame; whatever parses must re-encode and parse to the same
/// request, and every refusal that is answered must encode.
pub fn request_frame(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_request(text) {
        Ok(frame) => {
            let again = parse_request(&frame.encode());
            assert_eq!(
                again.as_ref().ok(),
                Some(&frame),
                "request does not round-trip"
            );
        }
        Err(error) => {
            if let Some(response) = error.response() {
                let encoded = response.encode();
                assert!(
                    parse_server_message(&encoded).is_ok(),
                    "error response does not parse"
                );
            }
        }
    }
}

/// Parses `data` as a server frame (response or notification); notifications must
/// round-trip.
pub fn server_frame(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(ServerMessage::Notification(notification)) = parse_server_message(text) {
        let again = parse_server_message(&notification.encode());
        assert_eq!(
            again.ok(),
            Some(ServerMessage::Notification(notification)),
            "notification does not round-trip"
        );
    }
}

/// Drives a joined [`Session`] with arbitrary inbound frames (split on newlines) and
/// time steps, draining it after every input.
///
/// `start` is the session's first instant (time is an input: the caller reads the clock
/// once).
pub fn session_frames(data: &[u8], start: Instant) {
    let Ok(room) = RoomName::new("fuzz") else {
        return;
    };
    let mut session = Session::new(SessionConfig::new(room));
    let mut now = start;
    session.handle_connected(now);
    let _ = session.handle_frame(
        now,
        r#"{"jsonrpc":"2.0","id":1,"result":{"room":"fuzz","peer_id":"me","participants":[],"permissions":{"publish":true,"subscribe":true,"admin":true}}}"#,
    );
    for chunk in data.split(|b| *b == b'\n') {
        while session.poll_output().is_some() {}
        if let Some(first) = chunk.first() {
            now += Duration::from_millis(u64::from(*first) * 50);
        }
        if let Ok(text) = std::str::from_utf8(chunk) {
            let _ = session.handle_frame(now, text);
        }
        session.handle_timeout(now);
        if chunk.len() % 7 == 3 {
            session.handle_disconnected(now);
            session.handle_connected(now);
        }
        assert!(session.pending_requests() <= 256 + 2);
    }
    while session.poll_output().is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzz_bodies_survive_their_seeds() {
        let start = Instant::now();
        for seed in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz-seeds"))
            .unwrap()
            .flatten()
        {
            for file in std::fs::read_dir(seed.path()).unwrap().flatten() {
                let data = std::fs::read(file.path()).unwrap();
                request_frame(&data);
                server_frame(&data);
                session_frames(&data, start);
            }
        }
    }
}
