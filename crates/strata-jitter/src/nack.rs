//! Loss detection and the NACK list of one stream.
//!
//! A hole opens when a packet arrives more than one ahead of the highest sequence number.
//! Each missing number is asked for once it has been missing for `reorder_wait`, again
//! only after a round-trip time has passed, at most `max_retries` times, and never once a
//! retransmission (arriving one RTT from now) would come after the packet's last useful
//! moment. The list holds at most `max_list_len` numbers; the oldest are forgotten first.

use std::collections::VecDeque;

/// One missing packet.
#[derive(Debug, Clone, Copy)]
struct Missing {
    seq: u64,
    /// Timestamp interpolated from the packets around the hole.
    timestamp: u64,
    detected_at: i64,
    sent: u8,
    last_sent_at: i64,
}

/// The result of asking the tracker what to send.
#[derive(Debug, Default)]
pub(crate) struct NackRound {
    /// Numbers to request now, ascending.
    pub(crate) seqs: Vec<u64>,
    /// Entries dropped because they ran out of retries.
    pub(crate) gave_up_retries: u64,
    /// Entries dropped because a retransmission would be too late.
    pub(crate) gave_up_too_late: u64,
}

/// The missing packets of one stream, ascending by sequence number.
#[derive(Debug)]
pub(crate) struct NackTracker {
    missing: VecDeque<Missing>,
    max_len: usize,
    /// Earliest moment a request could be due; `i64::MAX` when nothing is pending.
    next_due: i64,
}

/// Tunables, copied from the configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NackPolicy {
    pub(crate) reorder_wait: i64,
    pub(crate) max_retries: u8,
    pub(crate) rtt: i64,
}

impl NackTracker {
    pub(crate) fn new(max_len: usize) -> Self {
        Self {
            missing: VecDeque::new(),
            max_len,
            next_due: i64::MAX,
        }
    }

    pub(crate) fn clear(&mut self) {
        self.missing.clear();
        self.next_due = i64::MAX;
    }

    /// Missing packets on the list.
    pub(crate) fn len(&self) -> usize {
        self.missing.len()
    }

    /// Records the hole `(low_seq, high_seq)` (both exclusive) between packets with
    /// timestamps `low_ts` and `high_ts`. Returns how many old entries were forgotten to
    /// stay within the bound (the hole itself counts: only its newest part is kept).
    pub(crate) fn add_hole(
        &mut self,
        now: i64,
        (low_seq, low_ts): (u64, u64),
        (high_seq, high_ts): (u64, u64),
        reorder_wait: i64,
    ) -> u64 {
        let span = high_seq.saturating_sub(low_seq);
        if span < 2 {
            return 0;
        }
        let holes = span - 1;
        let keep = holes.min(self.max_len as u64);
        let mut forgotten = holes - keep;
        let ts_span = high_ts.saturating_sub(low_ts);
        for seq in (high_seq - keep)..high_seq {
            let timestamp = low_ts + interpolate(ts_span, seq - low_seq, span);
            self.missing.push_back(Missing {
                seq,
                timestamp,
                detected_at: now,
                sent: 0,
                last_sent_at: now,
            });
        }
        while self.missing.len() > self.max_len {
            self.missing.pop_front();
            forgotten += 1;
        }
        self.next_due = self.next_due.min(now.saturating_add(reorder_wait));
        forgotten
    }

    /// A packet arrived: forget it. Returns whether it had been requested.
    pub(crate) fn arrived(&mut self, seq: u64) -> Option<bool> {
        let index = self.missing.binary_search_by_key(&seq, |m| m.seq).ok()?;
        let entry = self.missing.remove(index)?;
        Some(entry.sent > 0)
    }

    /// Forgets everything before `seq` (played, concealed or skipped).
    pub(crate) fn forget_before(&mut self, seq: u64) {
        while self.missing.front().is_some_and(|m| m.seq < seq) {
            self.missing.pop_front();
        }
    }

    /// Whether [`round`](Self::round) at `now` may have something to do (when not, it
    /// would return an empty round and change nothing).
    pub(crate) fn is_due(&self, now: i64) -> bool {
        now >= self.next_due
    }

    /// When [`round`](Self::round) may next have something to do.
    pub(crate) fn next_due(&self) -> Option<i64> {
        (!self.missing.is_empty() && self.next_due != i64::MAX).then_some(self.next_due)
    }

    /// Collects the requests due at `now`. `last_useful(ts)` is the last moment a packet
    /// with timestamp `ts` can still be used.
    pub(crate) fn round(
        &mut self,
        now: i64,
        policy: NackPolicy,
        mut last_useful: impl FnMut(u64) -> i64,
    ) -> NackRound {
        let mut round = NackRound::default();
        if now < self.next_due {
            return round;
        }
        let mut next_due = i64::MAX;
        self.missing.retain_mut(|entry| {
            if entry.sent >= policy.max_retries {
                round.gave_up_retries += 1;
                return false;
            }
            if now.saturating_add(policy.rtt) > last_useful(entry.timestamp) {
                round.gave_up_too_late += 1;
                return false;
            }
            let due = if entry.sent == 0 {
                entry.detected_at.saturating_add(policy.reorder_wait)
            } else {
                entry.last_sent_at.saturating_add(policy.rtt)
            };
            if now >= due {
                round.seqs.push(entry.seq);
                entry.sent += 1;
                entry.last_sent_at = now;
                next_due = next_due.min(now.saturating_add(policy.rtt.max(1)));
            } else {
                next_due = next_due.min(due);
            }
            true
        });
        self.next_due = next_due;
        round
    }
}

/// `span_ts * position / span`, without overflow.
fn interpolate(span_ts: u64, position: u64, span: u64) -> u64 {
    (u128::from(span_ts) * u128::from(position) / u128::from(span.max(1))) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: NackPolicy = NackPolicy {
        reorder_wait: 5,
        max_retries: 3,
        rtt: 100,
    };

    #[test]
    fn a_hole_is_requested_after_the_reorder_wait_and_again_after_an_rtt() {
        let mut nack = NackTracker::new(100);
        assert_eq!(
            nack.add_hole(0, (10, 0), (13, 3000), POLICY.reorder_wait),
            0
        );
        assert!(nack.round(4, POLICY, |_| i64::MAX).seqs.is_empty());
        assert_eq!(nack.round(5, POLICY, |_| i64::MAX).seqs, vec![11, 12]);
        assert!(nack.round(104, POLICY, |_| i64::MAX).seqs.is_empty());
        assert_eq!(nack.next_due(), Some(105));
        assert_eq!(nack.arrived(11), Some(true));
        assert_eq!(nack.round(105, POLICY, |_| i64::MAX).seqs, vec![12]);
    }

    #[test]
    fn requests_stop_after_the_retry_limit_or_when_too_late() {
        let mut nack = NackTracker::new(100);
        nack.add_hole(0, (10, 0), (12, 0), 0);
        for round in 0..3 {
            assert_eq!(
                nack.round(5 + round * 100, POLICY, |_| i64::MAX).seqs,
                vec![11]
            );
        }
        let last = nack.round(305, POLICY, |_| i64::MAX);
        assert!(last.seqs.is_empty());
        assert_eq!(last.gave_up_retries, 1);

        nack.add_hole(0, (20, 0), (22, 0), 0);
        let late = nack.round(10, POLICY, |_| 50);
        assert_eq!(late.gave_up_too_late, 1);
        assert_eq!(nack.len(), 0);
    }

    #[test]
    fn a_huge_hole_keeps_only_its_newest_part() {
        let mut nack = NackTracker::new(4);
        assert_eq!(nack.add_hole(0, (0, 0), (11, 0), 0), 6);
        assert_eq!(nack.round(5, POLICY, |_| i64::MAX).seqs, vec![7, 8, 9, 10]);
    }

    #[test]
    fn missing_timestamps_are_interpolated() {
        let mut nack = NackTracker::new(10);
        nack.add_hole(0, (0, 1000), (4, 1400), 0);
        let mut seen = Vec::new();
        nack.round(0, POLICY, |ts| {
            seen.push(ts);
            i64::MAX
        });
        assert_eq!(seen, vec![1100, 1200, 1300]);
    }
}
