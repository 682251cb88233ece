//! Loss detection and the NACK list of one stream.
//!
//! A hole opens when a packet arrives more than one ahead of the highest sequence number.
//! Each missing number is asked for once it has been missing for `reorder_wait`, and again
//! after a retry timeout, at most `max_retries` times, and never once its answer would come
//! after the packet's last useful moment. The list holds at most `max_list_len` numbers;
//! the oldest are forgotten first.
//!
//! The retry timeout is learnt from how long requests take to be answered, the way TCP
//! learns its retransmission timeout (RFC 6298): a smoothed answer time plus four times its
//! variation, never below the RTT. A retry sent sooner than that mostly crosses the answer
//! to the first request, and a sender that resent the packet less than an RTT ago (as
//! libwebrtc does, and `strata-media`) ignores it. Only answers to packets asked for once
//! are measured (Karn's rule): the answer to a repeated request is ambiguous. When the
//! timeout would leave no time for the answer, the retry goes out at the last moment that
//! still leaves the expected answer time, but never sooner than one RTT after the request.

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
    answers: AnswerTime,
}

/// Tunables, copied from the configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NackPolicy {
    pub(crate) reorder_wait: i64,
    pub(crate) max_retries: u8,
    pub(crate) rtt: i64,
}

/// The longest a retry waits beyond the RTT, however slow answers have been.
const MAX_RETRY_BEYOND_RTT_MICROS: i64 = 1_000_000;

/// How long requests take to be answered: RFC 6298's smoothed mean and mean deviation,
/// in microseconds.
#[derive(Debug, Clone, Copy, Default)]
struct AnswerTime {
    smoothed: Option<i64>,
    variation: i64,
}

impl AnswerTime {
    fn add(&mut self, sample: i64) {
        let sample = sample.max(0);
        match self.smoothed {
            None => {
                self.smoothed = Some(sample);
                self.variation = sample / 4;
            }
            Some(smoothed) => {
                // β = 1/4, α = 1/8; in 128 bits, as times can be anything a caller gives.
                // Each result lies between its two inputs, so it fits back.
                let deviation = i128::from(smoothed.abs_diff(sample));
                let variation = (3 * i128::from(self.variation) + deviation) / 4;
                let mean = (7 * i128::from(smoothed) + i128::from(sample)) / 8;
                self.variation = i64::try_from(variation).unwrap_or(i64::MAX);
                self.smoothed = Some(i64::try_from(mean).unwrap_or(i64::MAX));
            }
        }
    }
}

impl NackTracker {
    pub(crate) fn new(max_len: usize) -> Self {
        Self {
            missing: VecDeque::new(),
            max_len,
            next_due: i64::MAX,
            answers: AnswerTime::default(),
        }
    }

    /// How long after a request its answer is expected: the smoothed answer time once one
    /// was measured, the RTT before.
    pub(crate) fn answer_time(&self, rtt: i64) -> i64 {
        self.answers.smoothed.unwrap_or(rtt)
    }

    /// How long a request waits for its answer before being repeated: the learnt timeout
    /// (smoothed answer time plus four variations), within `[rtt, rtt + 1 s]`.
    pub(crate) fn retry_interval(&self, rtt: i64) -> i64 {
        let learnt = self.answers.smoothed.map_or(rtt, |smoothed| {
            smoothed.saturating_add(self.answers.variation.saturating_mul(4))
        });
        learnt.clamp(rtt, rtt.saturating_add(MAX_RETRY_BEYOND_RTT_MICROS))
    }

    /// How long repairing a loss may take with `rounds` requests: the reorder wait, the
    /// retry timeouts between them and the answer to the last; nothing for no requests.
    pub(crate) fn repair_time(&self, policy: NackPolicy, rounds: u8) -> i64 {
        if rounds == 0 {
            return 0;
        }
        let retries = i64::from(rounds.saturating_sub(1));
        policy
            .reorder_wait
            .saturating_add(retries.saturating_mul(self.retry_interval(policy.rtt)))
            .saturating_add(self.answer_time(policy.rtt))
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
    /// timestamps `low_ts` and `high_ts`, wherever it lies relative to the holes already
    /// on the list. Returns how many old entries were forgotten to
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
        let entry = |seq: u64| Missing {
            seq,
            timestamp: low_ts + interpolate(ts_span, seq - low_seq, span),
            detected_at: now,
            sent: 0,
            last_sent_at: now,
        };
        let new = (high_seq - keep)..high_seq;
        if self.missing.back().is_none_or(|last| last.seq < new.start) {
            self.missing.extend(new.map(entry));
        } else {
            // Below some entries: a hole under the first packet of a stream that has not
            // started yet.
            let first = self.missing.partition_point(|m| m.seq < new.start);
            for (position, seq) in (first..).zip(new) {
                if self.missing.get(position).is_none_or(|m| m.seq != seq) {
                    self.missing.insert(position, entry(seq));
                }
            }
        }
        while self.missing.len() > self.max_len {
            self.missing.pop_front();
            forgotten += 1;
        }
        self.next_due = self.next_due.min(now.saturating_add(reorder_wait));
        forgotten
    }

    /// Packet `seq` arrived at `now`, as a `retransmission` or not: forget it. Returns
    /// whether it had been requested. A retransmission of a packet requested once times
    /// the answer.
    pub(crate) fn arrived(&mut self, seq: u64, now: i64, retransmission: bool) -> Option<bool> {
        let index = self.missing.binary_search_by_key(&seq, |m| m.seq).ok()?;
        let entry = self.missing.remove(index)?;
        if retransmission && entry.sent == 1 {
            self.answers.add(now.saturating_sub(entry.last_sent_at));
        }
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
        let answer = self.answer_time(policy.rtt);
        let retry = self.retry_interval(policy.rtt);
        let mut next_due = i64::MAX;
        self.missing.retain_mut(|entry| {
            if entry.sent >= policy.max_retries {
                round.gave_up_retries += 1;
                return false;
            }
            let last_useful = last_useful(entry.timestamp);
            let last_chance = last_useful.saturating_sub(answer);
            if now > last_chance {
                round.gave_up_too_late += 1;
                return false;
            }
            let due = if entry.sent == 0 {
                entry.detected_at.saturating_add(policy.reorder_wait)
            } else {
                // Wait out the timeout, unless that leaves no time for the answer; never
                // less than an RTT, which the sender would ignore.
                let timeout = entry.last_sent_at.saturating_add(retry);
                let earliest = entry.last_sent_at.saturating_add(policy.rtt);
                timeout.min(last_chance.max(earliest))
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

    /// Requests at once, without a reorder wait.
    const PROMPT: NackPolicy = NackPolicy {
        reorder_wait: 0,
        ..POLICY
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
        // A late original, not an answer: nothing is learnt from it.
        assert_eq!(nack.arrived(11, 104, false), Some(true));
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
    fn retries_wait_for_the_learnt_answer_time_and_its_variation() {
        let mut nack = NackTracker::new(100);
        nack.add_hole(0, (10, 0), (14, 0), 0);
        assert_eq!(nack.round(0, PROMPT, |_| i64::MAX).seqs, vec![11, 12, 13]);
        // 11 is answered after 160: the first sample sets the mean and a quarter of it as
        // the variation, so a retry waits 160 + 4 * 40.
        assert_eq!(nack.arrived(11, 160, true), Some(true));
        assert_eq!(nack.answer_time(POLICY.rtt), 160);
        assert_eq!(nack.retry_interval(POLICY.rtt), 320);
        assert!(nack.round(319, PROMPT, |_| i64::MAX).seqs.is_empty());
        assert_eq!(nack.round(320, PROMPT, |_| i64::MAX).seqs, vec![12, 13]);
        // 12 was asked for twice: its answer cannot be timed (Karn's rule).
        assert_eq!(nack.arrived(12, 330, true), Some(true));
        assert_eq!(nack.answer_time(POLICY.rtt), 160);
        // Repair with two rounds: the reorder wait, one timeout and one answer.
        assert_eq!(nack.repair_time(PROMPT, 2), 320 + 160);
        assert_eq!(nack.repair_time(PROMPT, 1), 160);
        assert_eq!(nack.repair_time(PROMPT, 0), 0);
    }

    #[test]
    fn the_learnt_timeout_stays_within_one_rtt_and_one_second_beyond() {
        let mut nack = NackTracker::new(100);
        nack.add_hole(0, (0, 0), (3, 0), 0);
        nack.round(0, PROMPT, |_| i64::MAX);
        nack.arrived(1, 10, true);
        assert_eq!(nack.retry_interval(POLICY.rtt), POLICY.rtt);
        nack.arrived(2, 5_000_000, true);
        assert_eq!(
            nack.retry_interval(POLICY.rtt),
            POLICY.rtt + MAX_RETRY_BEYOND_RTT_MICROS
        );
    }

    /// 11 and 12 asked for at 0; 11 answered at 160, so a retry waits 320 and an answer
    /// is expected 160 after its request.
    fn one_answered_after_160() -> NackTracker {
        let mut nack = NackTracker::new(100);
        nack.add_hole(0, (10, 0), (13, 0), 0);
        nack.round(0, PROMPT, |_| i64::MAX);
        nack.arrived(11, 160, true);
        nack
    }

    #[test]
    fn a_retry_goes_out_early_when_the_timeout_would_leave_no_time_for_the_answer() {
        let mut nack = one_answered_after_160();
        // 12 is useful until 400: its retry (timeout at 320) must leave 160 for the
        // answer, so it goes at 240; never before one RTT after the request, though.
        assert!(nack.round(239, PROMPT, |_| 400).seqs.is_empty());
        assert_eq!(nack.next_due(), Some(240));
        assert_eq!(nack.round(240, PROMPT, |_| 400).seqs, vec![12]);

        let mut nack = one_answered_after_160();
        // Useful until 250, its last chance is at 90, before one RTT has passed: it is not
        // sent again, and given up when next looked at.
        assert!(nack.round(80, PROMPT, |_| 250).seqs.is_empty());
        assert_eq!(nack.next_due(), Some(100));
        let round = nack.round(100, PROMPT, |_| 250);
        assert!(round.seqs.is_empty());
        assert_eq!(round.gave_up_too_late, 1);
    }

    #[test]
    fn answer_times_at_the_ends_of_the_clock_do_not_overflow() {
        let mut answers = AnswerTime::default();
        for sample in [i64::MAX, 0, i64::MAX, i64::MAX, -5, i64::MAX] {
            answers.add(sample);
        }
        assert!(answers.smoothed.is_some_and(|s| s >= 0) && answers.variation >= 0);
        // However slow the answers, a retry waits at most a second beyond the RTT.
        let mut nack = NackTracker::new(10);
        nack.answers = answers;
        assert_eq!(
            nack.retry_interval(POLICY.rtt),
            POLICY.rtt + MAX_RETRY_BEYOND_RTT_MICROS
        );
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
