//! Two associations joined by a simulated path, in virtual time: loss, delay, jitter and
//! reordering from a seed, so every run is the same.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{Association, CloseReason, Config, Event, ReceivedMessage, SendOptions, State};

/// A deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn chance(&mut self, probability: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= probability
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// What the path does to each packet.
#[derive(Clone, Copy, Default)]
struct Path {
    loss: f64,
    delay: Duration,
    jitter: Duration,
}

struct InFlight {
    at: Instant,
    to_b: bool,
    packet: Bytes,
}

/// Two associations and the packets between them.
struct Pair {
    a: Association,
    b: Association,
    now: Instant,
    path: Path,
    rng: Rng,
    wire: Vec<InFlight>,
    a_events: Vec<Event>,
    b_events: Vec<Event>,
    /// Drops every packet while set.
    cut: bool,
}

impl Pair {
    fn new(path: Path, seed: u64) -> Self {
        Self::with_configs(Config::default(), Config::default(), path, seed)
    }

    fn with_configs(a: Config, b: Config, path: Path, seed: u64) -> Self {
        let now = super::test_epoch();
        Self {
            a: Association::new(a, now, seed.wrapping_mul(3)),
            b: Association::new(b, now, seed.wrapping_mul(5)),
            now,
            path,
            rng: Rng(seed | 1),
            wire: Vec::new(),
            a_events: Vec::new(),
            b_events: Vec::new(),
            cut: false,
        }
    }

    /// A connected pair: `a` connects, `b` answers.
    fn connected(path: Path, seed: u64) -> Self {
        let mut pair = Self::new(path, seed);
        pair.a.connect(pair.now);
        pair.run_until(Duration::from_secs(30), |p| {
            p.a.state() == State::Established && p.b.state() == State::Established
        });
        assert_eq!(pair.a.state(), State::Established);
        assert_eq!(pair.b.state(), State::Established);
        assert!(pair.a_events.contains(&Event::Connected));
        assert!(pair.b_events.contains(&Event::Connected));
        pair.a_events.clear();
        pair.b_events.clear();
        pair
    }

    fn transmit(&mut self) {
        for to_b in [true, false] {
            loop {
                let sender = if to_b { &mut self.a } else { &mut self.b };
                let Some(packet) = sender.poll_transmit(self.now) else {
                    break;
                };
                if self.cut || self.rng.chance(self.path.loss) {
                    continue;
                }
                let jitter = if self.path.jitter.is_zero() {
                    Duration::ZERO
                } else {
                    Duration::from_nanos(self.rng.below(self.path.jitter.as_nanos() as u64))
                };
                self.wire.push(InFlight {
                    at: self.now + self.path.delay + jitter,
                    to_b,
                    packet,
                });
            }
        }
    }

    fn collect(&mut self) {
        while let Some(event) = self.a.poll_event() {
            self.a_events.push(event);
        }
        while let Some(event) = self.b.poll_event() {
            self.b_events.push(event);
        }
    }

    /// One step: send what is ready, then jump to the next delivery or timer.
    fn step(&mut self) -> bool {
        self.transmit();
        self.collect();
        let next_packet = self.wire.iter().map(|p| p.at).min();
        let next_timer = [self.a.poll_timeout(), self.b.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = [next_packet, next_timer].into_iter().flatten().min() else {
            return false;
        };
        self.now = self.now.max(next);
        let (due, rest): (Vec<_>, Vec<_>) = self.wire.drain(..).partition(|p| p.at <= self.now);
        self.wire = rest;
        for packet in due {
            let receiver = if packet.to_b {
                &mut self.b
            } else {
                &mut self.a
            };
            receiver.handle_packet(self.now, &packet.packet);
        }
        self.a.handle_timeout(self.now);
        self.b.handle_timeout(self.now);
        self.collect();
        true
    }

    /// Steps until `done` holds or `limit` of virtual time passed.
    fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&mut Self) -> bool) {
        let end = self.now + limit;
        while !done(self) && self.now < end {
            if !self.step() {
                break;
            }
        }
    }

    fn messages_at_b(&self) -> Vec<&ReceivedMessage> {
        self.b_events
            .iter()
            .filter_map(|e| match e {
                Event::Message(m) => Some(m),
                _ => None,
            })
            .collect()
    }
}

/// `len` bytes that say which message they belong to.
fn body(index: u32, len: usize) -> Bytes {
    let mut data = Vec::with_capacity(len);
    let mut state = u64::from(index).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while data.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data.extend_from_slice(&state.to_le_bytes());
    }
    data.truncate(len);
    if len >= 4 {
        data[..4].copy_from_slice(&index.to_be_bytes());
    }
    Bytes::from(data)
}

fn index_of(payload: &[u8]) -> u32 {
    u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]])
}

const RELIABLE: SendOptions = SendOptions {
    unordered: false,
    max_retransmits: None,
    lifetime: None,
};

#[test]
fn a_handshake_over_a_clean_path_takes_two_round_trips() {
    let mut pair = Pair::new(
        Path {
            delay: Duration::from_millis(10),
            ..Path::default()
        },
        1,
    );
    let start = pair.now;
    pair.a.connect(pair.now);
    pair.run_until(Duration::from_secs(5), |p| {
        p.a.state() == State::Established && p.b.state() == State::Established
    });
    assert_eq!(pair.now - start, Duration::from_millis(40));
    assert_eq!(pair.a.stats().handshake_retransmits, 0);
}

#[test]
fn inits_that_cross_make_one_association() {
    let mut pair = Pair::new(
        Path {
            delay: Duration::from_millis(10),
            ..Path::default()
        },
        2,
    );
    pair.a.connect(pair.now);
    pair.b.connect(pair.now);
    pair.run_until(Duration::from_secs(5), |p| {
        p.a.state() == State::Established && p.b.state() == State::Established
    });
    assert_eq!(pair.a.state(), State::Established);
    assert_eq!(pair.b.state(), State::Established);
    pair.collect();
    let connected = |events: &[Event]| events.iter().filter(|e| **e == Event::Connected).count();
    assert_eq!(connected(&pair.a_events), 1);
    assert_eq!(connected(&pair.b_events), 1);
    pair.a
        .send(
            pair.now,
            0,
            51,
            Bytes::from_static(b"after the collision"),
            RELIABLE,
        )
        .expect("send");
    pair.run_until(Duration::from_secs(5), |p| !p.messages_at_b().is_empty());
    assert_eq!(&pair.messages_at_b()[0].payload[..], b"after the collision");
}

#[test]
fn a_lost_init_is_sent_again() {
    let mut pair = Pair::new(Path::default(), 3);
    pair.a.connect(pair.now);
    // The first INIT disappears.
    let first = pair.a.poll_transmit(pair.now);
    assert!(first.is_some());
    pair.run_until(Duration::from_secs(10), |p| {
        p.a.state() == State::Established && p.b.state() == State::Established
    });
    assert_eq!(pair.a.state(), State::Established);
    assert_eq!(pair.a.stats().handshake_retransmits, 1);
}

#[test]
fn a_duplicated_init_still_connects() {
    let mut pair = Pair::new(Path::default(), 5);
    pair.a.connect(pair.now);
    // The INIT arrives twice; each gets an INIT-ACK, and A echoes the first cookie.
    let init = pair.a.poll_transmit(pair.now).expect("an INIT");
    pair.b.handle_packet(pair.now, &init);
    pair.b.handle_packet(pair.now, &init);
    let first_ack = pair.b.poll_transmit(pair.now).expect("an INIT-ACK");
    pair.a.handle_packet(pair.now, &first_ack);
    pair.run_until(Duration::from_secs(10), |p| {
        p.a.state() == State::Established && p.b.state() == State::Established
    });
    assert_eq!(pair.a.state(), State::Established);
    assert_eq!(pair.b.state(), State::Established);
}

#[test]
fn a_handshake_nobody_answers_times_out() {
    let mut pair = Pair::new(Path::default(), 4);
    pair.cut = true;
    pair.a.connect(pair.now);
    pair.run_until(Duration::from_mins(2), |p| p.a.state() == State::Terminated);
    assert!(
        pair.a_events
            .contains(&Event::Closed(CloseReason::HandshakeTimeout))
    );
}

#[test]
fn reliable_ordered_messages_survive_loss_and_reordering_intact() {
    let mut pair = Pair::connected(
        Path {
            loss: 0.05,
            delay: Duration::from_millis(30),
            jitter: Duration::from_millis(10),
        },
        5,
    );
    let mut rng = Rng(99);
    let count = 600u32;
    let mut sizes = Vec::new();
    for i in 0..count {
        let len = 4 + rng.below(20_000) as usize;
        sizes.push(len);
        pair.a
            .send(pair.now, 3, 53, body(i, len), RELIABLE)
            .expect("send");
    }
    pair.run_until(Duration::from_mins(10), |p| {
        p.messages_at_b().len() == count as usize
    });
    let received = pair.messages_at_b();
    assert_eq!(received.len(), count as usize);
    for (i, message) in received.iter().enumerate() {
        assert_eq!(message.stream, 3);
        assert_eq!(message.ppid, 53);
        assert_eq!(message.payload, body(i as u32, sizes[i]), "message {i}");
    }
    let stats = pair.a.stats();
    assert!(stats.retransmitted_chunks > 0, "5 % loss must cost resends");
    assert!(
        stats.fast_retransmits > 0,
        "gaps must trigger fast retransmit"
    );
    pair.run_until(Duration::from_secs(10), |p| p.a.buffered_amount(3) == 0);
    assert_eq!(pair.a.buffered_amount(3), 0);
}

#[test]
fn a_lost_tail_is_recovered_within_a_few_retransmission_timeouts() {
    let mut pair = Pair::connected(
        Path {
            delay: Duration::from_millis(20),
            ..Path::default()
        },
        6,
    );
    pair.a
        .send(pair.now, 1, 51, Bytes::from_static(b"tail"), RELIABLE)
        .expect("send");
    // The message and its first two retransmissions are lost.
    let start = pair.now;
    pair.cut = true;
    pair.run_until(Duration::from_secs(2), |p| {
        p.a.stats().retransmission_timeouts >= 2
    });
    pair.cut = false;
    pair.run_until(Duration::from_secs(30), |p| !p.messages_at_b().is_empty());
    assert_eq!(pair.messages_at_b().len(), 1);
    // Backed off at most to `rto_max` (3 s): a few seconds, not a minute.
    assert!(
        pair.now - start < Duration::from_secs(8),
        "{:?}",
        pair.now - start
    );
}

#[test]
fn unreliable_unordered_messages_never_stall_and_never_repeat() {
    let mut pair = Pair::connected(
        Path {
            loss: 0.05,
            delay: Duration::from_millis(30),
            jitter: Duration::from_millis(10),
        },
        7,
    );
    let options = SendOptions {
        unordered: true,
        max_retransmits: Some(0),
        lifetime: None,
    };
    let count = 2000u32;
    for i in 0..count {
        pair.a
            .send(pair.now, 2, 53, body(i, 200), options)
            .expect("send");
        // A steady pace, as a game sends its state.
        let until = pair.now + Duration::from_millis(2);
        pair.run_until(Duration::from_millis(2), |p| p.now >= until);
    }
    pair.run_until(Duration::from_secs(5), |_| false);
    let mut seen = std::collections::HashSet::new();
    for message in pair.messages_at_b() {
        assert_eq!(message.payload, body(index_of(&message.payload), 200));
        assert!(seen.insert(index_of(&message.payload)), "delivered twice");
    }
    let delivered = seen.len() as u32;
    assert!(delivered < count, "5 % loss without resends loses some");
    assert!(delivered > count * 85 / 100, "only {delivered} of {count}");
    assert!(pair.a.stats().abandoned_messages > 0);
    // Nothing waits: the abandoned chunks were skipped with FORWARD-TSN.
    assert_eq!(pair.a.buffered_amount(2), 0);
}

#[test]
fn a_message_past_its_lifetime_is_abandoned_and_the_stream_goes_on() {
    let mut pair = Pair::connected(
        Path {
            delay: Duration::from_millis(10),
            ..Path::default()
        },
        8,
    );
    let timed = SendOptions {
        unordered: false,
        max_retransmits: None,
        lifetime: Some(Duration::from_millis(100)),
    };
    pair.cut = true;
    pair.a
        .send(pair.now, 4, 53, body(0, 3000), timed)
        .expect("send");
    pair.run_until(Duration::from_millis(300), |_| false);
    pair.cut = false;
    pair.a
        .send(pair.now, 4, 53, body(1, 100), RELIABLE)
        .expect("send");
    pair.run_until(Duration::from_secs(10), |p| !p.messages_at_b().is_empty());
    let received = pair.messages_at_b();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].payload, body(1, 100));
    assert_eq!(pair.a.stats().abandoned_messages, 1);
}

#[test]
fn a_stream_reset_follows_the_data_sent_before_it() {
    let mut pair = Pair::connected(
        Path {
            loss: 0.05,
            delay: Duration::from_millis(5),
            ..Path::default()
        },
        9,
    );
    for i in 0..50 {
        pair.a
            .send(pair.now, 6, 53, body(i, 2000), RELIABLE)
            .expect("send");
    }
    pair.a.reset_streams(&[6]);
    assert_eq!(
        pair.a
            .send(pair.now, 6, 53, body(99, 10), RELIABLE)
            .unwrap_err(),
        super::SendError::InvalidStream(6)
    );
    pair.run_until(Duration::from_mins(1), |p| {
        p.a_events.contains(&Event::OutgoingStreamsReset(vec![6]))
    });
    assert!(
        pair.a_events
            .contains(&Event::OutgoingStreamsReset(vec![6]))
    );
    let reset_at = pair
        .b_events
        .iter()
        .position(|e| *e == Event::IncomingStreamsReset(vec![6]))
        .expect("the peer sees the reset");
    let messages_before = pair.b_events[..reset_at]
        .iter()
        .filter(|e| matches!(e, Event::Message(_)))
        .count();
    assert_eq!(
        messages_before, 50,
        "every message arrives before the reset"
    );
    // The stream is usable again, from SSN 0 on both sides.
    pair.a
        .send(pair.now, 6, 51, Bytes::from_static(b"again"), RELIABLE)
        .expect("send after reset");
    pair.run_until(Duration::from_secs(10), |p| p.messages_at_b().len() == 51);
    assert_eq!(&pair.messages_at_b()[50].payload[..], b"again");
}

#[test]
fn a_graceful_shutdown_delivers_everything_first() {
    let mut pair = Pair::connected(
        Path {
            delay: Duration::from_millis(5),
            ..Path::default()
        },
        10,
    );
    for i in 0..20 {
        pair.a
            .send(pair.now, 0, 53, body(i, 5000), RELIABLE)
            .expect("send");
    }
    pair.a.shutdown(pair.now);
    pair.run_until(Duration::from_secs(10), |p| {
        p.a.state() == State::Terminated && p.b.state() == State::Terminated
    });
    assert_eq!(pair.messages_at_b().len(), 20);
    assert!(
        pair.a_events
            .contains(&Event::Closed(CloseReason::Shutdown))
    );
    assert!(
        pair.b_events
            .contains(&Event::Closed(CloseReason::Shutdown))
    );
}

#[test]
fn an_abort_reaches_the_peer_with_its_reason() {
    let mut pair = Pair::connected(Path::default(), 11);
    pair.a.abort("going away");
    pair.run_until(Duration::from_secs(1), |p| p.b.state() == State::Terminated);
    assert!(pair.a_events.contains(&Event::Closed(CloseReason::Aborted)));
    assert!(
        pair.b_events
            .contains(&Event::Closed(CloseReason::PeerAborted(
                "user-initiated abort: going away".into()
            )))
    );
}

#[test]
fn a_peer_that_stops_answering_is_declared_unreachable() {
    let mut pair = Pair::connected(Path::default(), 12);
    pair.cut = true;
    pair.a
        .send(pair.now, 0, 51, Bytes::from_static(b"anyone?"), RELIABLE)
        .expect("send");
    pair.run_until(Duration::from_mins(2), |p| p.a.state() == State::Terminated);
    assert!(
        pair.a_events
            .contains(&Event::Closed(CloseReason::PeerUnreachable))
    );
}

#[test]
fn buffered_amount_falls_below_its_threshold_once() {
    let mut pair = Pair::connected(
        Path {
            delay: Duration::from_millis(5),
            ..Path::default()
        },
        13,
    );
    pair.a.set_buffered_amount_low_threshold(7, 10_000);
    for i in 0..40 {
        pair.a
            .send(pair.now, 7, 53, body(i, 1000), RELIABLE)
            .expect("send");
    }
    assert_eq!(pair.a.buffered_amount(7), 40_000);
    pair.run_until(Duration::from_secs(10), |p| p.messages_at_b().len() == 40);
    pair.run_until(Duration::from_secs(1), |_| false);
    let lows = pair
        .a_events
        .iter()
        .filter(|e| **e == Event::BufferedAmountLow { stream: 7 })
        .count();
    assert_eq!(lows, 1);
    assert_eq!(pair.a.buffered_amount(7), 0);
}

#[test]
fn a_message_above_the_limit_is_reported_and_the_stream_goes_on() {
    let small = Config {
        max_message_size: 10_000,
        ..Config::default()
    };
    let mut pair = Pair::with_configs(Config::default(), small, Path::default(), 14);
    pair.a.connect(pair.now);
    pair.run_until(Duration::from_secs(5), |p| {
        p.a.state() == State::Established && p.b.state() == State::Established
    });
    pair.a
        .send(pair.now, 8, 53, body(0, 50_000), RELIABLE)
        .expect("send");
    pair.a
        .send(pair.now, 8, 53, body(1, 100), RELIABLE)
        .expect("send");
    pair.run_until(Duration::from_secs(10), |p| !p.messages_at_b().is_empty());
    assert!(
        pair.b_events
            .contains(&Event::OversizeMessage { stream: 8 })
    );
    assert_eq!(pair.messages_at_b()[0].payload, body(1, 100));
}

#[test]
fn garbage_is_counted_and_changes_nothing() {
    let mut pair = Pair::connected(Path::default(), 15);
    let now = pair.now;
    for junk in [
        &b""[..],
        &b"\x13\x88\x13\x88"[..],
        &[0u8; 12][..],
        &[0xffu8; 64][..],
    ] {
        pair.b.handle_packet(now, &Bytes::copy_from_slice(junk));
    }
    assert_eq!(pair.b.stats().malformed_packets.total(), 4);
    pair.a
        .send(pair.now, 0, 51, Bytes::from_static(b"still here"), RELIABLE)
        .expect("send");
    pair.run_until(Duration::from_secs(5), |p| !p.messages_at_b().is_empty());
    assert_eq!(&pair.messages_at_b()[0].payload[..], b"still here");
}

#[test]
fn sends_before_the_handshake_or_on_unknown_streams_are_refused() {
    let now = super::test_epoch();
    let mut lone = Association::new(Config::default(), now, 17);
    assert_eq!(
        lone.send(now, 0, 51, Bytes::from_static(b"x"), RELIABLE),
        Err(super::SendError::NotOpen)
    );
    let mut pair = Pair::connected(Path::default(), 16);
    assert_eq!(
        pair.a.send(pair.now, 0, 51, Bytes::new(), RELIABLE),
        Err(super::SendError::Empty)
    );
    assert_eq!(
        pair.a
            .send(pair.now, u16::MAX, 51, Bytes::from_static(b"x"), RELIABLE),
        Err(super::SendError::InvalidStream(u16::MAX))
    );
}
