//! Two media sessions joined by a seeded, impaired network in virtual time.

#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use strata_media::{Error, Event, MediaData, MediaSession, Output};
use strata_netem::{Impairment, Link};

/// A datagram on the simulated wire.
#[derive(Debug, Clone)]
pub enum Datagram {
    Rtp(Bytes),
    Rtcp(Bytes),
}

impl Datagram {
    fn len(&self) -> usize {
        match self {
            Self::Rtp(b) | Self::Rtcp(b) => b.len(),
        }
    }
}

/// One side: a session, the events it emitted, and what it sent.
pub struct Side {
    pub session: MediaSession,
    pub events: Vec<Event>,
    pub sent: Vec<Datagram>,
    pub received: Vec<Datagram>,
}

impl Side {
    /// The frames and audio packets this side received, in order.
    pub fn media(&self) -> Vec<&MediaData> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Media(media) => Some(media),
                _ => None,
            })
            .collect()
    }
}

pub struct Pair {
    pub now: Instant,
    pub a: Side,
    pub b: Side,
    a_to_b: Link<Datagram>,
    b_to_a: Link<Datagram>,
}

impl Pair {
    pub fn new(
        start: Instant,
        a: MediaSession,
        b: MediaSession,
        impairment: &Impairment,
        seed: u64,
    ) -> Self {
        Self {
            now: start,
            a: Side {
                session: a,
                events: Vec::new(),
                sent: Vec::new(),
                received: Vec::new(),
            },
            b: Side {
                session: b,
                events: Vec::new(),
                sent: Vec::new(),
                received: Vec::new(),
            },
            a_to_b: Link::new(impairment.clone(), seed).expect("valid impairment"),
            b_to_a: Link::new(impairment.clone(), seed ^ 0x5555).expect("valid impairment"),
        }
    }

    /// Moves every queued output of both sessions onto the wire (events to `events`).
    fn drain(&mut self) {
        let now = self.now;
        for (side, link) in [
            (&mut self.a, &mut self.a_to_b),
            (&mut self.b, &mut self.b_to_a),
        ] {
            while let Some(output) = side.session.poll_output() {
                let datagram = match output {
                    Output::Rtp(bytes) => Datagram::Rtp(bytes),
                    Output::Rtcp(bytes) => Datagram::Rtcp(bytes),
                    Output::Event(event) => {
                        side.events.push(event);
                        continue;
                    }
                    other => panic!("unexpected output {other:?}"),
                };
                side.sent.push(datagram.clone());
                let len = datagram.len();
                link.handle_sized_packet(now, datagram, len);
            }
        }
    }

    fn deliver(&mut self) {
        let now = self.now;
        for (side, link) in [
            (&mut self.b, &mut self.a_to_b),
            (&mut self.a, &mut self.b_to_a),
        ] {
            while let Some(datagram) = link.poll_packet(now) {
                side.received.push(datagram.clone());
                let result = match &datagram {
                    Datagram::Rtp(bytes) => side.session.handle_rtp(now, bytes),
                    Datagram::Rtcp(bytes) => side.session.handle_rtcp(now, bytes),
                };
                match result {
                    // A closed session refuses input; the peer does not know yet.
                    Ok(()) | Err(Error::Closed) => {}
                    Err(error) => panic!("the sessions only exchange well-formed packets: {error}"),
                }
            }
        }
    }

    /// Runs both sessions and the network until `until`.
    pub fn run_until(&mut self, until: Instant) {
        loop {
            self.drain();
            let next = [
                self.a.session.poll_timeout(),
                self.b.session.poll_timeout(),
                self.a_to_b.poll_timeout(),
                self.b_to_a.poll_timeout(),
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(until)
            .min(until);
            // At least a millisecond per step, so that a timer that keeps firing cannot stall
            // virtual time.
            self.now = next
                .max(self.now + Duration::from_millis(1))
                .min(until.max(self.now));
            self.deliver();
            self.a.session.handle_timeout(self.now);
            self.b.session.handle_timeout(self.now);
            self.drain();
            if self.now >= until {
                break;
            }
        }
    }

    pub fn run_for(&mut self, duration: Duration) {
        let until = self.now + duration;
        self.run_until(until);
    }
}
