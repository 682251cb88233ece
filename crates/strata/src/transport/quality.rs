//! Link quality from round-trip probes: RTT, its jitter, and the share of probes lost.
//! Sans-IO: the caller passes the time in.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Probes remembered; older ones leave the loss window.
pub(crate) const PROBE_WINDOW: usize = 32;

#[derive(Debug, Clone, Copy)]
struct Probe {
    seq: u32,
    sent: Instant,
    answered: bool,
}

/// The probes of one peer and what their answers say.
///
/// Drain rule: call [`probe_sent`](Self::probe_sent) for every probe, and
/// [`handle_answer`](Self::handle_answer) for every answer; read the getters with the
/// current time. A probe unanswered after `expiry` counts as lost.
#[derive(Debug, Clone)]
pub(crate) struct ProbeTracker {
    next_seq: u32,
    probes: VecDeque<Probe>,
    expiry: Duration,
    srtt: Option<Duration>,
    latest_rtt: Option<Duration>,
    /// RFC 3550-style smoothed mean deviation of consecutive RTTs.
    jitter: Duration,
    /// Answers to probes we no longer remember (or never sent), ignored.
    pub(crate) unknown_answers: u64,
}

impl ProbeTracker {
    pub(crate) fn new(expiry: Duration) -> Self {
        Self {
            next_seq: 0,
            probes: VecDeque::with_capacity(PROBE_WINDOW),
            expiry,
            srtt: None,
            latest_rtt: None,
            jitter: Duration::ZERO,
            unknown_answers: 0,
        }
    }

    /// Records a probe sent now; returns its sequence number.
    pub(crate) fn probe_sent(&mut self, now: Instant) -> u32 {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        if self.probes.len() == PROBE_WINDOW {
            self.probes.pop_front();
        }
        self.probes.push_back(Probe {
            seq,
            sent: now,
            answered: false,
        });
        seq
    }

    /// Handles an answer; returns the round-trip time it measured.
    pub(crate) fn handle_answer(&mut self, now: Instant, seq: u32) -> Option<Duration> {
        let Some(probe) = self.probes.iter_mut().find(|p| p.seq == seq && !p.answered) else {
            self.unknown_answers += 1;
            return None;
        };
        probe.answered = true;
        let rtt = now.saturating_duration_since(probe.sent);
        if let Some(previous) = self.latest_rtt {
            let delta = rtt.abs_diff(previous);
            // J += (|D| - J) / 16, in nanoseconds.
            let j = self.jitter.as_nanos() as i128;
            let d = delta.as_nanos() as i128;
            self.jitter = Duration::from_nanos((j + (d - j) / 16).max(0) as u64);
        }
        self.latest_rtt = Some(rtt);
        self.srtt = Some(match self.srtt {
            // RFC 6298: SRTT = 7/8 SRTT + 1/8 R.
            Some(srtt) => (srtt * 7 + rtt) / 8,
            None => rtt,
        });
        Some(rtt)
    }

    /// The smoothed round-trip time, once a probe was answered.
    pub(crate) fn rtt(&self) -> Option<Duration> {
        self.srtt
    }

    /// The variation of the round-trip time.
    pub(crate) fn jitter(&self) -> Duration {
        self.jitter
    }

    /// The share of settled probes (answered, or older than the expiry) that were lost.
    pub(crate) fn loss(&self, now: Instant) -> f64 {
        let mut settled = 0_u32;
        let mut lost = 0_u32;
        for probe in &self.probes {
            if probe.answered {
                settled += 1;
            } else if now.saturating_duration_since(probe.sent) >= self.expiry {
                settled += 1;
                lost += 1;
            }
        }
        if settled == 0 {
            0.0
        } else {
            f64::from(lost) / f64::from(settled)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtt_jitter_and_loss_follow_the_answers() {
        let start = Instant::now();
        let mut tracker = ProbeTracker::new(Duration::from_secs(1));
        let ms = Duration::from_millis;
        for i in 0..10_u32 {
            let sent = start + ms(u64::from(i) * 100);
            let seq = tracker.probe_sent(sent);
            // Every other probe is lost; the others take 10 or 20 ms.
            if i % 2 == 0 {
                let rtt = if i % 4 == 0 { ms(10) } else { ms(20) };
                assert_eq!(tracker.handle_answer(sent + rtt, seq), Some(rtt));
            }
        }
        let rtt = tracker.rtt().unwrap();
        assert!(rtt >= ms(10) && rtt <= ms(20), "{rtt:?}");
        assert!(tracker.jitter() > Duration::ZERO);
        // Not yet expired: the unanswered ones do not count yet.
        assert!(tracker.loss(start + ms(950)) < 0.5);
        assert!((tracker.loss(start + ms(3000)) - 0.5).abs() < 1e-9);
        assert_eq!(tracker.handle_answer(start, 1234), None);
        assert_eq!(tracker.unknown_answers, 1);
    }

    #[test]
    fn the_window_is_bounded_and_sequence_numbers_wrap() {
        let start = Instant::now();
        let mut tracker = ProbeTracker::new(Duration::from_secs(1));
        tracker.next_seq = u32::MAX - 3;
        for _ in 0..(PROBE_WINDOW * 3) {
            let seq = tracker.probe_sent(start);
            tracker.handle_answer(start + Duration::from_millis(1), seq);
        }
        assert_eq!(tracker.probes.len(), PROBE_WINDOW);
        assert!(tracker.loss(start + Duration::from_secs(5)).abs() < 1e-9);
    }
}
