//! A token bucket per connection, fed with time.

use std::time::Instant;

/// Admits on average `rate` events per second with bursts of up to `burst`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Option<Instant>,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: f64, burst: f64) -> Self {
        let burst = burst.max(1.0);
        Self {
            rate: rate.max(0.0),
            burst,
            tokens: burst,
            last: None,
        }
    }

    /// Takes one token at `now` if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        if let Some(last) = self.last {
            let elapsed = now.saturating_duration_since(last).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        }
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn bursts_pass_then_the_rate_holds() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10.0, 5.0);
        assert_eq!((0..8).filter(|_| bucket.try_take(start)).count(), 5);
        let later = start + Duration::from_millis(500);
        assert_eq!((0..8).filter(|_| bucket.try_take(later)).count(), 5);
        let much_later = later + Duration::from_mins(1);
        assert_eq!((0..8).filter(|_| bucket.try_take(much_later)).count(), 5);
    }
}
