//! The delay estimator: RFC 3550 interarrival jitter plus a sliding-window quantile of
//! transit time.
//!
//! *Transit* is arrival time minus media time (the timestamp converted to microseconds):
//! a constant plus the packet's network delay, plus the sender's clock drift. The
//! estimator keeps the transit of recent original packets over a time window (bounded by
//! [`MAX_SAMPLES`]) and answers two questions in O(1):
//!
//! - the *base*: the smallest transit in the window (a monotonic deque) — the fastest path;
//! - a *quantile* of the transit: a histogram with [`BUCKET_MICROS`]-wide buckets over a
//!   range anchored just below the base, with a pointer to the quantile's bucket moved
//!   incrementally as samples come and go.
//!
//! A playout offset equal to the transit quantile `q` would have had a fraction `q` of the
//! window's packets on time — the best fixed delay for the recent past, which is what the
//! buffer aims for. Unlike an exponentially forgetting histogram of delay relative to a
//! moving minimum (`NetEq`'s approach), a window of raw transits stays correct when the base
//! itself moves (a route change, clock drift): the quantile moves with it.

use std::collections::VecDeque;

/// Most samples kept; at higher packet rates the window is effectively shorter.
pub(crate) const MAX_SAMPLES: usize = 4096;

/// Samples needed before the quantile is trusted.
pub(crate) const MIN_SAMPLES: usize = 20;

/// Histogram resolution.
pub(crate) const BUCKET_MICROS: i64 = 1_000;

/// Room kept below the base when re-anchoring the histogram, in buckets.
const HEADROOM_BUCKETS: i64 = 64;

/// Estimates network delay variation for one stream.
#[derive(Debug)]
pub(crate) struct DelayEstimator {
    window_micros: i64,
    /// `(arrival, transit)` in arrival order.
    samples: VecDeque<(i64, i64)>,
    /// Increasing transits: the front is the window minimum.
    minimum: VecDeque<(i64, i64)>,
    histogram: QuantileHistogram,
    /// RFC 3550 §6.4.1 interarrival jitter in microseconds, times 16.
    jitter_x16: i64,
    last_transit: Option<i64>,
}

impl DelayEstimator {
    /// `range_micros`: the largest transit spread above the base worth resolving.
    pub(crate) fn new(window_micros: i64, quantile: f64, range_micros: i64) -> Self {
        let buckets = (range_micros / BUCKET_MICROS + 2 * HEADROOM_BUCKETS + 1).max(1) as usize;
        Self {
            window_micros,
            samples: VecDeque::new(),
            minimum: VecDeque::new(),
            histogram: QuantileHistogram::new(buckets, quantile),
            jitter_x16: 0,
            last_transit: None,
        }
    }

    /// Forgets everything (the stream restarted).
    pub(crate) fn reset(&mut self) {
        self.samples.clear();
        self.minimum.clear();
        self.histogram.clear();
        self.jitter_x16 = 0;
        self.last_transit = None;
    }

    /// Adds one original packet's transit.
    pub(crate) fn add(&mut self, arrival: i64, transit: i64) {
        if let Some(last) = self.last_transit {
            // J += (|D| - J) / 16, in fixed point (RFC 3550 §A.8).
            // |transit - last|, saturated at `i64::MAX` (as `saturating_sub` then
            // `saturating_abs` would), without the two saturation checks.
            let d = i64::try_from(transit.abs_diff(last)).unwrap_or(i64::MAX);
            self.jitter_x16 = self
                .jitter_x16
                .saturating_add(d.saturating_sub(self.jitter_x16.saturating_add(8) >> 4));
        }
        self.last_transit = Some(transit);

        self.expire(arrival);
        if self.samples.len() >= MAX_SAMPLES {
            self.pop_oldest();
        }
        self.samples.push_back((arrival, transit));
        while self.minimum.back().is_some_and(|&(_, t)| t >= transit) {
            self.minimum.pop_back();
        }
        self.minimum.push_back((arrival, transit));

        let base = self.minimum.front().map_or(transit, |&(_, t)| t);
        if self.histogram.covers(base) {
            self.histogram.insert(transit);
        } else {
            self.histogram.rebuild(
                base.saturating_sub(HEADROOM_BUCKETS * BUCKET_MICROS),
                &self.samples,
            );
        }
        self.histogram.settle();
    }

    /// Drops samples older than the window (the quantile pointer settles on the next add).
    fn expire(&mut self, now: i64) {
        let oldest = now.saturating_sub(self.window_micros);
        while self.samples.front().is_some_and(|&(a, _)| a < oldest) {
            self.pop_oldest();
        }
    }

    #[inline]
    fn pop_oldest(&mut self) {
        if let Some((arrival, transit)) = self.samples.pop_front() {
            self.histogram.remove(transit);
            if self.minimum.front() == Some(&(arrival, transit)) {
                self.minimum.pop_front();
            }
        }
    }

    /// Forgets the samples that arrived before `arrival` (the path's delay changed then).
    pub(crate) fn forget_before(&mut self, arrival: i64) {
        while self.samples.front().is_some_and(|&(a, _)| a < arrival) {
            self.pop_oldest();
        }
    }

    /// The smallest transit in the window.
    pub(crate) fn base(&self) -> Option<i64> {
        self.minimum.front().map(|&(_, t)| t)
    }

    /// The transit below which a fraction `quantile` of the window lies (rounded up to a
    /// bucket edge), once enough samples are in.
    pub(crate) fn quantile_transit(&self) -> Option<i64> {
        if self.samples.len() < MIN_SAMPLES {
            return None;
        }
        self.histogram.value()
    }

    /// RFC 3550 interarrival jitter, in microseconds.
    pub(crate) fn jitter_micros(&self) -> i64 {
        self.jitter_x16 >> 4
    }

    #[cfg(test)]
    pub(crate) fn sample_count(&self) -> usize {
        self.samples.len()
    }
}

/// A histogram of transit values with an incrementally maintained quantile pointer.
#[derive(Debug)]
struct QuantileHistogram {
    counts: Vec<u32>,
    /// Transit at the lower edge of bucket 0.
    anchor: i64,
    total: u32,
    /// The quantile as a 32.32 fixed-point fraction.
    quantile_q32: u64,
    /// The quantile's bucket: `below < rank <= below + counts[pointer]`.
    pointer: usize,
    /// Samples in buckets below `pointer`.
    below: u32,
    anchored: bool,
}

impl QuantileHistogram {
    fn new(buckets: usize, quantile: f64) -> Self {
        Self {
            counts: vec![0; buckets],
            quantile_q32: (quantile.clamp(0.0, 1.0) * (1u64 << 32) as f64) as u64,
            anchor: 0,
            total: 0,
            pointer: 0,
            below: 0,
            anchored: false,
        }
    }

    fn clear(&mut self) {
        self.counts.fill(0);
        self.total = 0;
        self.pointer = 0;
        self.below = 0;
        self.anchored = false;
    }

    /// Whether a window whose minimum is `base` still fits the current anchoring.
    fn covers(&self, base: i64) -> bool {
        self.anchored
            && base >= self.anchor
            && base
                < self
                    .anchor
                    .saturating_add(2 * HEADROOM_BUCKETS * BUCKET_MICROS)
    }

    fn bucket(&self, transit: i64) -> usize {
        // `transit - anchor` clamped at 0; as an unsigned difference it cannot overflow,
        // and a difference beyond `i64::MAX` lands in the last bucket either way.
        let offset = if transit > self.anchor {
            transit.abs_diff(self.anchor) / BUCKET_MICROS.unsigned_abs()
        } else {
            0
        };
        usize::try_from(offset).map_or(self.counts.len() - 1, |offset| {
            offset.min(self.counts.len() - 1)
        })
    }

    fn rebuild(&mut self, anchor: i64, samples: &VecDeque<(i64, i64)>) {
        self.clear();
        self.anchor = anchor;
        self.anchored = true;
        for &(_, transit) in samples {
            self.insert(transit);
        }
    }

    fn insert(&mut self, transit: i64) {
        let bucket = self.bucket(transit);
        self.counts[bucket] += 1;
        self.total += 1;
        if bucket < self.pointer {
            self.below += 1;
        }
    }

    fn remove(&mut self, transit: i64) {
        let bucket = self.bucket(transit);
        if self.counts[bucket] == 0 {
            return;
        }
        self.counts[bucket] -= 1;
        self.total -= 1;
        if bucket < self.pointer {
            self.below -= 1;
        }
    }

    /// Moves the pointer to the bucket holding the sample of rank `ceil(q * total)`.
    fn settle(&mut self) {
        if self.total == 0 {
            return;
        }
        let rank = ((self.quantile_q32 * u64::from(self.total)).div_ceil(1 << 32) as u32)
            .clamp(1, self.total);
        loop {
            if self.below >= rank && self.pointer > 0 {
                self.pointer -= 1;
                self.below -= self.counts[self.pointer];
            } else if self.below + self.counts[self.pointer] < rank
                && self.pointer + 1 < self.counts.len()
            {
                self.below += self.counts[self.pointer];
                self.pointer += 1;
            } else {
                break;
            }
        }
    }

    /// The upper edge of the quantile's bucket.
    fn value(&self) -> Option<i64> {
        (self.total > 0).then(|| {
            self.anchor
                .saturating_add((self.pointer as i64 + 1) * BUCKET_MICROS)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MS: i64 = 1_000;

    #[test]
    fn quantile_of_a_steady_stream_is_its_transit() {
        let mut estimator = DelayEstimator::new(10_000 * MS, 0.99, 1_000 * MS);
        for i in 0..100 {
            estimator.add(i * 20 * MS, 50 * MS);
        }
        assert_eq!(estimator.base(), Some(50 * MS));
        assert_eq!(estimator.quantile_transit(), Some(51 * MS));
        assert_eq!(estimator.jitter_micros(), 0);
    }

    #[test]
    fn base_and_quantile_follow_a_delay_step_once_the_window_has_passed() {
        let mut estimator = DelayEstimator::new(2_000 * MS, 0.99, 1_000 * MS);
        for i in 0..200 {
            estimator.add(i * 20 * MS, 50 * MS + (i % 5) * MS);
        }
        for i in 200..400 {
            estimator.add(i * 20 * MS, 250 * MS + (i % 5) * MS);
        }
        assert_eq!(estimator.base(), Some(250 * MS));
        assert_eq!(estimator.quantile_transit(), Some(255 * MS));
    }

    #[test]
    fn samples_are_bounded_by_count_as_well_as_time() {
        let mut estimator = DelayEstimator::new(60_000 * MS, 0.5, 1_000 * MS);
        for i in 0..(MAX_SAMPLES as i64 * 3) {
            estimator.add(i, 10 * MS);
        }
        assert_eq!(estimator.sample_count(), MAX_SAMPLES);
    }

    #[test]
    fn extreme_transits_saturate_instead_of_overflowing() {
        let mut estimator = DelayEstimator::new(10_000 * MS, 0.99, 1_000 * MS);
        for (i, transit) in [i64::MIN, i64::MAX, i64::MIN, 0, i64::MAX, i64::MAX]
            .into_iter()
            .enumerate()
        {
            estimator.add(i as i64, transit);
        }
        assert_eq!(estimator.base(), Some(i64::MIN));
        assert!(estimator.jitter_micros() > 0);
        assert!(estimator.quantile_transit().is_none());
    }

    proptest! {
        #[test]
        fn the_histogram_quantile_matches_a_sorted_window(
            transits in proptest::collection::vec(0i64..400, 20..600),
            quantile in 0.5f64..1.0,
        ) {
            let window = 100;
            let mut estimator = DelayEstimator::new(window * MS, quantile, 1_000 * MS);
            for (i, &t) in transits.iter().enumerate() {
                estimator.add(i as i64 * MS, 7_000 * MS + t * MS + 300);
            }
            let n = transits.len();
            let recent: Vec<i64> = transits[n.saturating_sub(window as usize + 1)..].to_vec();
            let mut sorted = recent.clone();
            sorted.sort_unstable();
            let rank = ((quantile * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
            let expected = 7_000 * MS + sorted[rank - 1] * MS + MS + 300;
            if sorted.len() >= MIN_SAMPLES {
                prop_assert_eq!(estimator.quantile_transit(), Some(expected));
            }
            prop_assert_eq!(estimator.base(), Some(7_000 * MS + sorted[0] * MS + 300));
        }
    }
}
