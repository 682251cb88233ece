//! Exponential reconnection backoff with jitter, seeded so tests reproduce.

use std::time::Duration;

/// How a client retries a lost connection.
///
/// The `n`-th retry (from 0) waits `min(max_delay, initial_delay * multiplier^n)`, less a
/// random share of up to `jitter` of it, so that many clients cut off together do not
/// reconnect in lockstep.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconnectPolicy {
    /// The wait before the first retry.
    pub initial_delay: Duration,
    /// The longest wait between retries.
    pub max_delay: Duration,
    /// Growth factor per retry (at least 1).
    pub multiplier: f64,
    /// Share of each delay drawn at random, in `0.0..=1.0`.
    pub jitter: f64,
    /// Give up after this many failed retries in a row; `None` retries forever.
    pub max_attempts: Option<u32>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
            multiplier: 2.0,
            jitter: 0.5,
            max_attempts: None,
        }
    }
}

/// The retry schedule of one client: sans-IO, randomness from a seed.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: ReconnectPolicy,
    attempt: u32,
    rng: SplitMix64,
}

impl Backoff {
    /// A schedule following `policy`, with jitter drawn from `seed`.
    pub fn new(policy: ReconnectPolicy, seed: u64) -> Self {
        Self {
            policy,
            attempt: 0,
            rng: SplitMix64(seed),
        }
    }

    /// The wait before the next retry, or `None` when the policy gives up.
    pub fn next_delay(&mut self) -> Option<Duration> {
        if self
            .policy
            .max_attempts
            .is_some_and(|max| self.attempt >= max)
        {
            return None;
        }
        let exponent = i32::try_from(self.attempt).unwrap_or(i32::MAX);
        let base = self.policy.initial_delay.as_secs_f64()
            * self.policy.multiplier.max(1.0).powi(exponent);
        let capped = base.min(self.policy.max_delay.as_secs_f64());
        let jitter = self.policy.jitter.clamp(0.0, 1.0);
        let delay = capped * (1.0 - jitter * self.rng.next_unit());
        self.attempt = self.attempt.saturating_add(1);
        Some(Duration::from_secs_f64(delay.max(0.0)))
    }

    /// Retries made since the last [`reset`](Self::reset).
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// Starts over after a successful connection.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// `SplitMix64`: tiny, seedable, good enough for jitter.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn next_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_exponentially_up_to_the_cap_without_jitter() {
        let policy = ReconnectPolicy {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
            multiplier: 2.0,
            jitter: 0.0,
            max_attempts: None,
        };
        let mut backoff = Backoff::new(policy, 1);
        let delays: Vec<_> = (0..5)
            .map(|_| backoff.next_delay().unwrap().as_millis())
            .collect();
        assert_eq!(delays, [100, 200, 400, 500, 500]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), Some(Duration::from_millis(100)));
    }

    #[test]
    fn jitter_stays_within_its_share_and_reproduces_from_the_seed() {
        let policy = ReconnectPolicy {
            jitter: 0.5,
            ..ReconnectPolicy::default()
        };
        let run = |seed| {
            let mut b = Backoff::new(policy.clone(), seed);
            (0..20).map(|_| b.next_delay().unwrap()).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let mut plain = Backoff::new(
            ReconnectPolicy {
                jitter: 0.0,
                ..policy.clone()
            },
            0,
        );
        for delay in run(7) {
            let full = plain.next_delay().unwrap();
            assert!(delay <= full && delay >= full / 2, "{delay:?} vs {full:?}");
        }
    }

    #[test]
    fn gives_up_after_max_attempts() {
        let mut backoff = Backoff::new(
            ReconnectPolicy {
                max_attempts: Some(2),
                ..ReconnectPolicy::default()
            },
            0,
        );
        assert!(backoff.next_delay().is_some());
        assert!(backoff.next_delay().is_some());
        assert!(backoff.next_delay().is_none());
        assert_eq!(backoff.attempts(), 2);
    }
}
