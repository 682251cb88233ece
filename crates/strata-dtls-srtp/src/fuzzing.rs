//! Fuzz-target bodies, called by the central `fuzz/` crate (feature `fuzzing`).

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::certificate::Certificate;
use crate::keying::SrtpProfile;
use crate::protocol::{Handshake, HandshakeParams};

/// The most steps one input drives.
const MAX_STEPS: usize = 64;

fn certificates() -> &'static (Certificate, Certificate) {
    static PAIR: OnceLock<(Certificate, Certificate)> = OnceLock::new();
    PAIR.get_or_init(|| {
        let generate = || Certificate::generate().expect("certificate generation");
        (generate(), generate())
    })
}

/// Handshake parameters for `ours` authenticating `theirs`, with a 100 ms first
/// retransmission (shared with the engine's unit tests).
pub(crate) fn params(
    ours: &Certificate,
    theirs: &Certificate,
    is_client: bool,
    mtu: usize,
) -> HandshakeParams {
    HandshakeParams {
        is_client,
        certificate: Arc::clone(&ours.owned),
        remote_fingerprints: vec![theirs.fingerprint().clone()],
        srtp_profiles: vec![SrtpProfile::AeadAes128Gcm, SrtpProfile::Aes128CmHmacSha1_80],
        mtu,
        retransmit_interval: Duration::from_millis(100),
    }
}

/// One side of the fuzzed handshake: its engine (until it fails) and what it sent.
struct Side {
    engine: Option<Handshake>,
    sent: Vec<Vec<u8>>,
}

impl Side {
    fn collect(&mut self) {
        if let Some(engine) = &mut self.engine {
            self.sent.extend(engine.take_outbox());
        }
    }

    fn receive(&mut self, datagram: &[u8], now: Instant) {
        if let Some(engine) = &mut self.engine
            && engine.handle_datagram(datagram, now).is_err()
        {
            self.engine = None;
        }
    }
}

/// Runs a client and a server against each other while `data` decides, step by step,
/// which datagram is delivered, dropped, corrupted or replaced by bytes of its own, and
/// when timers fire. No input may panic either engine; when both finish, their SRTP
/// keys must mirror each other.
///
/// # Panics
///
/// When an engine panics, or two established sides disagree on keys: a bug.
pub fn dtls_handshake(data: &[u8]) {
    drive(data);
}

/// The body of [`dtls_handshake`]; `true` when both sides finished.
fn drive(data: &[u8]) -> bool {
    let (a, b) = certificates();
    let mut input = data.iter().copied();
    let server_mtu = 100 + usize::from(input.next().unwrap_or(0)) * 8;
    let mut now = Instant::now();
    let mut client = Side {
        engine: Handshake::new(params(a, b, true, 1200), now).ok(),
        sent: Vec::new(),
    };
    let mut server = Side {
        engine: Handshake::new(params(b, a, false, server_mtu), now).ok(),
        sent: Vec::new(),
    };
    for _ in 0..MAX_STEPS {
        client.collect();
        server.collect();
        let Some(op) = input.next() else { break };
        let (from, to) = if op & 1 == 0 {
            (&mut client, &mut server)
        } else {
            (&mut server, &mut client)
        };
        match op >> 1 & 0x7 {
            // Deliver the oldest datagram.
            0..=2 => {
                if !from.sent.is_empty() {
                    let datagram = from.sent.remove(0);
                    to.receive(&datagram, now);
                }
            }
            // Drop it.
            3 => {
                if !from.sent.is_empty() {
                    from.sent.remove(0);
                }
            }
            // Corrupt one byte of it, then deliver.
            4 => {
                let (at, xor) = (input.next().unwrap_or(0), input.next().unwrap_or(1));
                if !from.sent.is_empty() {
                    let mut datagram = from.sent.remove(0);
                    let len = datagram.len();
                    datagram[usize::from(at) % len] ^= xor;
                    to.receive(&datagram, now);
                }
            }
            // Deliver bytes from the input.
            5 => {
                let len = usize::from(input.next().unwrap_or(0));
                let bytes: Vec<u8> = input.by_ref().take(len).collect();
                to.receive(&bytes, now);
            }
            // Deliver it twice.
            6 => {
                if let Some(datagram) = from.sent.first().cloned() {
                    to.receive(&datagram, now);
                    to.receive(&datagram, now);
                    from.sent.remove(0);
                }
            }
            // Time passes.
            _ => {
                now += Duration::from_millis(u64::from(input.next().unwrap_or(0)) * 10);
                for side in [&mut client, &mut server] {
                    if let Some(engine) = &mut side.engine {
                        engine.handle_timeout(now);
                    }
                }
            }
        }
    }
    let done = |side: &Side| side.engine.as_ref().is_some_and(Handshake::is_established);
    if done(&client) && done(&server) {
        let keys = |side: Side| side.engine.and_then(|engine| engine.srtp_keying());
        let (c, s) = (keys(client), keys(server));
        let (c, s) = (c.expect("client keys"), s.expect("server keys"));
        assert_eq!((c.local, c.remote), (s.remote, s.local));
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn schedules_that_deliver_every_flight_complete_the_handshake() {
        // Client to server, server to client, twice.
        assert!(drive(&[150, 0, 1, 0, 1]));
        // The same with the server's flight lost once: both timers fire after 100 ms, so
        // the server's flight comes twice and the client repeats its own once more.
        assert!(!drive(&[150, 0, 7]));
        assert!(drive(&[150, 0, 7, 14, 10, 0, 1, 0, 1, 1, 1]));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn no_schedule_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            dtls_handshake(&data);
        }
    }
}
