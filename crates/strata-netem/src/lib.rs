//! Seeded network impairment as a sans-IO link model.
//!
//! A [`Link`] is one direction of a network path. Packets go in with the time they were
//! sent; they come out at the time they would arrive, after loss, delay, jitter,
//! reordering, duplication and a rate limit with a bounded queue have been applied. All
//! randomness comes from the seed, so a run reproduces exactly; time is an input, so the
//! same model drives virtual-time simulations and real sockets (`strata-ice` puts one on
//! each direction of its UDP socket).
//!
//! ```
//! use std::time::{Duration, Instant};
//! use strata_netem::{Impairment, Link, Loss};
//!
//! let lossy = Impairment {
//!     loss: Loss::Random { probability: 0.05 },
//!     delay: Duration::from_millis(30),
//!     jitter: Duration::from_millis(5),
//!     ..Impairment::default()
//! };
//! let mut link = Link::new(lossy, 7)?;
//! let start = Instant::now();
//! for seq in 0u32..1000 {
//!     link.handle_packet(start, seq.to_be_bytes().to_vec());
//! }
//! // Nothing arrives before the base delay minus the jitter...
//! assert!(link.poll_packet(start + Duration::from_millis(24)).is_none());
//! // ...and everything that was not lost has arrived after delay + jitter.
//! let later = start + Duration::from_millis(36);
//! let delivered = std::iter::from_fn(|| link.poll_packet(later)).count() as u64;
//! assert_eq!(delivered + link.stats().lost, 1000);
//! assert!(link.stats().lost > 20 && link.stats().lost < 90);
//! # Ok::<(), strata_netem::Error>(())
//! ```
//!
//! # Calling convention
//!
//! Feed packets with [`Link::handle_packet`], then drain [`Link::poll_packet`] until it
//! returns `None`, then wait until [`Link::poll_timeout`] (or the next packet) and drain
//! again. Time only moves forward: a `now` earlier than one already seen is treated as
//! the latest time seen.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Packets a link holds at most, whatever the configuration: input cannot grow it further.
pub const MAX_QUEUED_PACKETS: usize = 65_536;

/// How packets are lost.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Loss {
    /// No loss.
    #[default]
    None,
    /// Each packet is lost independently with `probability`.
    Random {
        /// Loss probability in `0.0..=1.0`.
        probability: f64,
    },
    /// Bursty loss: the two-state Gilbert–Elliott model. The link moves between a good and a
    /// bad state before each packet and loses it with the state's loss probability.
    Burst {
        /// Probability of moving from good to bad, per packet.
        good_to_bad: f64,
        /// Probability of moving from bad to good, per packet.
        bad_to_good: f64,
        /// Loss probability in the good state.
        loss_in_good: f64,
        /// Loss probability in the bad state.
        loss_in_bad: f64,
    },
}

/// One direction's impairment. The default impairs nothing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Impairment {
    /// Which packets are lost.
    pub loss: Loss,
    /// Base one-way delay.
    pub delay: Duration,
    /// Each packet's delay is drawn uniformly from `delay ± jitter` (never below zero).
    /// Independent draws reorder packets sent closer together than the spread.
    pub jitter: Duration,
    /// Probability that a packet skips the delay and overtakes those queued before it
    /// (netem's `reorder`).
    pub reorder: f64,
    /// Probability that a packet is delivered twice (the copy draws its own delay).
    pub duplicate: f64,
    /// Bottleneck rate in bits per second; `None` for unlimited. Packets queue behind each
    /// other at this rate.
    pub rate_bps: Option<u64>,
    /// Bytes the bottleneck queue holds before it drops arriving packets (tail drop); only
    /// meaningful with `rate_bps`. Zero means 64 KiB.
    pub queue_bytes: usize,
}

impl Impairment {
    /// Checks that probabilities are within `0.0..=1.0` and the rate is not zero.
    pub fn validate(&self) -> Result<(), Error> {
        let probability = |name: &'static str, value: f64| {
            if (0.0..=1.0).contains(&value) {
                Ok(())
            } else {
                Err(Error::Probability { name, value })
            }
        };
        match self.loss {
            Loss::None => {}
            Loss::Random { probability: p } => probability("loss", p)?,
            Loss::Burst {
                good_to_bad,
                bad_to_good,
                loss_in_good,
                loss_in_bad,
            } => {
                probability("good_to_bad", good_to_bad)?;
                probability("bad_to_good", bad_to_good)?;
                probability("loss_in_good", loss_in_good)?;
                probability("loss_in_bad", loss_in_bad)?;
            }
        }
        probability("reorder", self.reorder)?;
        probability("duplicate", self.duplicate)?;
        if self.rate_bps == Some(0) {
            return Err(Error::ZeroRate);
        }
        Ok(())
    }

    /// Whether this impairs anything at all (a link that does not can be skipped).
    pub fn is_transparent(&self) -> bool {
        *self == Self::default()
    }

    fn queue_limit(&self) -> usize {
        if self.queue_bytes == 0 {
            64 * 1024
        } else {
            self.queue_bytes
        }
    }
}

/// A configuration the model cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A probability outside `0.0..=1.0` (or NaN).
    #[error("impairment `{name}` must be a probability in 0.0..=1.0, got {value}")]
    Probability {
        /// Which setting.
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// A rate limit of zero bits per second would never deliver anything.
    #[error("impairment rate must be above zero bits per second (use None for unlimited)")]
    ZeroRate,
}

/// What a link did with the packets it was given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Packets handed to the link.
    pub sent: u64,
    /// Packets released (duplicates included).
    pub delivered: u64,
    /// Packets dropped by the loss model.
    pub lost: u64,
    /// Packets dropped because the rate-limited queue was full (or held
    /// [`MAX_QUEUED_PACKETS`]).
    pub queue_dropped: u64,
    /// Extra copies made.
    pub duplicated: u64,
    /// Packets that skipped the delay (reorder).
    pub reordered: u64,
}

struct Queued<P> {
    due: Instant,
    order: u64,
    packet: P,
    len: usize,
}

impl<P> PartialEq for Queued<P> {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.order) == (other.due, other.order)
    }
}
impl<P> Eq for Queued<P> {}
impl<P> PartialOrd for Queued<P> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<P> Ord for Queued<P> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.due, self.order).cmp(&(other.due, other.order))
    }
}

/// One direction of an impaired path; see the [crate docs](crate) for the calling
/// convention.
pub struct Link<P> {
    config: Impairment,
    rng: StdRng,
    queue: BinaryHeap<Reverse<Queued<P>>>,
    /// Bytes waiting for (or on) the bottleneck.
    queued_bytes: usize,
    /// When the bottleneck finishes sending what it has (rate limit only).
    bottleneck_free: Option<Instant>,
    bad_state: bool,
    order: u64,
    latest: Option<Instant>,
    stats: LinkStats,
}

impl<P: Clone> Link<P> {
    /// A link applying `config`, drawing every random choice from `seed`.
    pub fn new(config: Impairment, seed: u64) -> Result<Self, Error> {
        config.validate()?;
        Ok(Self {
            config,
            rng: StdRng::seed_from_u64(seed),
            queue: BinaryHeap::new(),
            queued_bytes: 0,
            bottleneck_free: None,
            bad_state: false,
            order: 0,
            latest: None,
            stats: LinkStats::default(),
        })
    }

    /// Offers a packet sent at `now`; its length is taken from [`AsRef<[u8]>`].
    pub fn handle_packet(&mut self, now: Instant, packet: P)
    where
        P: AsRef<[u8]>,
    {
        let len = packet.as_ref().len();
        self.handle_sized_packet(now, packet, len);
    }

    /// Offers a packet of `len` bytes sent at `now` (for packet types that are not bytes).
    pub fn handle_sized_packet(&mut self, now: Instant, packet: P, len: usize) {
        let now = self.advance(now);
        self.stats.sent += 1;
        if self.lose() {
            self.stats.lost += 1;
            return;
        }
        if self.config.duplicate > 0.0 && self.rng.random_bool(self.config.duplicate) {
            self.stats.duplicated += 1;
            self.enqueue(now, packet.clone(), len);
        }
        self.enqueue(now, packet, len);
    }

    /// Releases the next packet due at or before `now`, in arrival order.
    #[must_use]
    pub fn poll_packet(&mut self, now: Instant) -> Option<P> {
        let now = self.advance(now);
        if self.queue.peek().is_some_and(|Reverse(q)| q.due <= now) {
            let Reverse(queued) = self.queue.pop()?;
            self.queued_bytes -= queued.len;
            self.stats.delivered += 1;
            return Some(queued.packet);
        }
        None
    }

    /// When the next queued packet is due, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.queue.peek().map(|Reverse(q)| q.due)
    }

    /// Counters so far.
    pub fn stats(&self) -> LinkStats {
        self.stats
    }

    /// The configuration in force.
    pub fn impairment(&self) -> &Impairment {
        &self.config
    }

    /// Packets currently held.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    fn advance(&mut self, now: Instant) -> Instant {
        let now = self.latest.map_or(now, |latest| latest.max(now));
        self.latest = Some(now);
        now
    }

    fn lose(&mut self) -> bool {
        match self.config.loss {
            Loss::None => false,
            Loss::Random { probability } => self.rng.random_bool(probability),
            Loss::Burst {
                good_to_bad,
                bad_to_good,
                loss_in_good,
                loss_in_bad,
            } => {
                let flip = if self.bad_state {
                    bad_to_good
                } else {
                    good_to_bad
                };
                if self.rng.random_bool(flip) {
                    self.bad_state = !self.bad_state;
                }
                let loss = if self.bad_state {
                    loss_in_bad
                } else {
                    loss_in_good
                };
                self.rng.random_bool(loss)
            }
        }
    }

    fn enqueue(&mut self, now: Instant, packet: P, len: usize) {
        if self.queue.len() >= MAX_QUEUED_PACKETS {
            self.stats.queue_dropped += 1;
            return;
        }
        // The bottleneck serialises packets at the configured rate.
        let departs = match self.config.rate_bps {
            None => now,
            Some(rate) => {
                if self.queued_bytes + len > self.config.queue_limit() {
                    self.stats.queue_dropped += 1;
                    return;
                }
                let start = self.bottleneck_free.map_or(now, |free| free.max(now));
                let transmit = Duration::from_secs_f64(len as f64 * 8.0 / rate as f64);
                let done = start + transmit;
                self.bottleneck_free = Some(done);
                done
            }
        };
        let skips_delay = self.config.reorder > 0.0 && self.rng.random_bool(self.config.reorder);
        let delay = if skips_delay {
            self.stats.reordered += 1;
            Duration::ZERO
        } else {
            self.draw_delay()
        };
        self.order += 1;
        self.queued_bytes += len;
        self.queue.push(Reverse(Queued {
            due: departs + delay,
            order: self.order,
            packet,
            len,
        }));
    }

    fn draw_delay(&mut self) -> Duration {
        let Impairment { delay, jitter, .. } = self.config;
        if jitter.is_zero() {
            return delay;
        }
        let low = delay.saturating_sub(jitter);
        let high = delay + jitter;
        let nanos = self.rng.random_range(low.as_nanos()..=high.as_nanos());
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn drain(link: &mut Link<Vec<u8>>, now: Instant) -> Vec<u32> {
        std::iter::from_fn(|| link.poll_packet(now))
            .map(|p| u32::from_be_bytes(p[..4].try_into().unwrap()))
            .collect()
    }

    fn send_numbered(link: &mut Link<Vec<u8>>, now: Instant, count: u32, gap: Duration) {
        for seq in 0..count {
            link.handle_packet(now + gap * seq, seq.to_be_bytes().to_vec());
        }
    }

    #[test]
    fn transparent_link_delivers_everything_at_once_in_order() {
        let mut link = Link::new(Impairment::default(), 1).unwrap();
        let now = Instant::now();
        send_numbered(&mut link, now, 100, Duration::ZERO);
        assert_eq!(drain(&mut link, now), (0..100).collect::<Vec<_>>());
        assert_eq!(link.poll_timeout(), None);
    }

    #[test]
    fn delay_holds_packets_until_due_and_reports_the_deadline() {
        let config = Impairment {
            delay: Duration::from_millis(40),
            ..Impairment::default()
        };
        let mut link = Link::new(config, 1).unwrap();
        let now = Instant::now();
        link.handle_packet(now, 7u32.to_be_bytes().to_vec());
        assert_eq!(link.poll_timeout(), Some(now + Duration::from_millis(40)));
        assert!(drain(&mut link, now + Duration::from_millis(39)).is_empty());
        assert_eq!(drain(&mut link, now + Duration::from_millis(40)), [7]);
    }

    #[test]
    fn same_seed_reproduces_the_same_run() {
        let config = Impairment {
            loss: Loss::Random { probability: 0.2 },
            delay: Duration::from_millis(10),
            jitter: Duration::from_millis(8),
            duplicate: 0.1,
            reorder: 0.1,
            ..Impairment::default()
        };
        let run = |seed| {
            let mut link = Link::new(config.clone(), seed).unwrap();
            let now = Instant::now();
            send_numbered(&mut link, now, 500, Duration::from_millis(1));
            drain(&mut link, now + Duration::from_secs(5))
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
    }

    #[test]
    fn random_loss_rate_is_close_to_the_configured_probability() {
        let config = Impairment {
            loss: Loss::Random { probability: 0.05 },
            ..Impairment::default()
        };
        let mut link = Link::new(config, 9).unwrap();
        let now = Instant::now();
        let mut delivered = 0;
        for _ in 0..10 {
            send_numbered(&mut link, now, 10_000, Duration::ZERO);
            delivered += drain(&mut link, now).len() as u64;
        }
        let lost = link.stats().lost as f64 / 100_000.0;
        assert!((0.045..0.055).contains(&lost), "loss rate {lost}");
        assert_eq!(delivered + link.stats().lost, 100_000);
    }

    #[test]
    fn burst_loss_clusters_losses_into_runs() {
        let config = Impairment {
            loss: Loss::Burst {
                good_to_bad: 0.01,
                bad_to_good: 0.2,
                loss_in_good: 0.0,
                loss_in_bad: 1.0,
            },
            ..Impairment::default()
        };
        let mut link = Link::new(config, 3).unwrap();
        let now = Instant::now();
        let mut delivered = Vec::new();
        for batch in 0..10u32 {
            for seq in batch * 10_000..(batch + 1) * 10_000 {
                link.handle_packet(now, seq.to_be_bytes().to_vec());
            }
            delivered.extend(drain(&mut link, now));
        }
        let gaps: Vec<u32> = delivered
            .windows(2)
            .map(|w| w[1] - w[0] - 1)
            .filter(|g| *g > 0)
            .collect();
        let mean_run = f64::from(gaps.iter().sum::<u32>()) / gaps.len() as f64;
        // Expected mean burst length is 1 / bad_to_good = 5 packets.
        assert!((4.0..6.0).contains(&mean_run), "mean loss run {mean_run}");
    }

    #[test]
    fn jitter_and_reorder_change_the_order_but_lose_nothing() {
        let config = Impairment {
            delay: Duration::from_millis(30),
            jitter: Duration::from_millis(10),
            reorder: 0.05,
            ..Impairment::default()
        };
        let mut link = Link::new(config, 5).unwrap();
        let now = Instant::now();
        send_numbered(&mut link, now, 1000, Duration::from_millis(1));
        let mut delivered = drain(&mut link, now + Duration::from_secs(2));
        assert_ne!(
            delivered,
            (0..1000).collect::<Vec<_>>(),
            "expected some reordering"
        );
        delivered.sort_unstable();
        assert_eq!(delivered, (0..1000).collect::<Vec<_>>());
        assert!(link.stats().reordered > 20);
    }

    #[test]
    fn duplicates_arrive_twice() {
        let config = Impairment {
            duplicate: 1.0,
            ..Impairment::default()
        };
        let mut link = Link::new(config, 5).unwrap();
        let now = Instant::now();
        send_numbered(&mut link, now, 10, Duration::ZERO);
        let delivered = drain(&mut link, now);
        assert_eq!(delivered.len(), 20);
        assert_eq!(link.stats().duplicated, 10);
    }

    #[test]
    fn rate_limit_paces_packets_and_drops_beyond_the_queue() {
        // 1000-byte packets at 8 Mbit/s: 1 ms each; the queue holds 10 of them.
        let config = Impairment {
            rate_bps: Some(8_000_000),
            queue_bytes: 10_000,
            ..Impairment::default()
        };
        let mut link = Link::new(config, 5).unwrap();
        let now = Instant::now();
        for seq in 0u32..20 {
            let mut packet = seq.to_be_bytes().to_vec();
            packet.resize(1000, 0);
            link.handle_packet(now, packet);
        }
        assert_eq!(link.stats().queue_dropped, 10);
        assert_eq!(
            drain(&mut link, now + Duration::from_micros(4_500)),
            [0, 1, 2, 3]
        );
        assert_eq!(
            drain(&mut link, now + Duration::from_millis(10)),
            [4, 5, 6, 7, 8, 9]
        );
    }

    #[test]
    fn time_going_backwards_is_treated_as_the_latest_time() {
        let config = Impairment {
            delay: Duration::from_millis(10),
            ..Impairment::default()
        };
        let mut link = Link::new(config, 1).unwrap();
        let now = Instant::now();
        link.handle_packet(now + Duration::from_millis(100), vec![0, 0, 0, 1]);
        link.handle_packet(now, vec![0, 0, 0, 2]);
        assert_eq!(link.poll_timeout(), Some(now + Duration::from_millis(110)));
        assert_eq!(drain(&mut link, now + Duration::from_millis(110)), [1, 2]);
    }

    #[test]
    fn invalid_configurations_are_refused() {
        let bad_loss = Impairment {
            loss: Loss::Random { probability: 1.5 },
            ..Impairment::default()
        };
        assert!(matches!(
            Link::<Vec<u8>>::new(bad_loss, 0),
            Err(Error::Probability { name: "loss", .. })
        ));
        let nan = Impairment {
            duplicate: f64::NAN,
            ..Impairment::default()
        };
        assert!(Link::<Vec<u8>>::new(nan, 0).is_err());
        let zero_rate = Impairment {
            rate_bps: Some(0),
            ..Impairment::default()
        };
        assert_eq!(
            Link::<Vec<u8>>::new(zero_rate, 0).err(),
            Some(Error::ZeroRate)
        );
    }

    #[test]
    fn queue_never_exceeds_its_hard_bound() {
        let config = Impairment {
            delay: Duration::from_secs(10),
            duplicate: 1.0,
            ..Impairment::default()
        };
        let mut link = Link::new(config, 1).unwrap();
        let now = Instant::now();
        for _ in 0..MAX_QUEUED_PACKETS {
            link.handle_packet(now, vec![0u8; 4]);
        }
        assert_eq!(link.queued(), MAX_QUEUED_PACKETS);
        assert_eq!(link.stats().queue_dropped, MAX_QUEUED_PACKETS as u64);
    }

    proptest! {
        #[test]
        fn every_packet_is_delivered_lost_or_dropped_exactly_once(
            seed in any::<u64>(),
            loss in 0.0f64..0.5,
            duplicate in 0.0f64..0.3,
            reorder in 0.0f64..0.3,
            jitter_ms in 0u64..20,
            count in 1u32..400,
        ) {
            let config = Impairment {
                loss: Loss::Random { probability: loss },
                delay: Duration::from_millis(20),
                jitter: Duration::from_millis(jitter_ms),
                duplicate,
                reorder,
                ..Impairment::default()
            };
            let mut link = Link::new(config, seed).unwrap();
            let now = Instant::now();
            send_numbered(&mut link, now, count, Duration::from_micros(300));
            let delivered = drain(&mut link, now + Duration::from_secs(10));
            let stats = link.stats();
            prop_assert_eq!(stats.sent, u64::from(count));
            prop_assert_eq!(delivered.len() as u64, stats.sent - stats.lost + stats.duplicated - stats.queue_dropped);
            prop_assert_eq!(link.queued(), 0);
        }
    }
}
