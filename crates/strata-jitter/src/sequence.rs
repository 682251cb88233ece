//! Identifiers and wrap-around: SSRCs, extended sequence numbers and timestamps, clock rates.
//!
//! RTP carries a 16-bit sequence number and a 32-bit timestamp (RFC 3550 §5.1), both of
//! which wrap. Inside the buffer every packet is placed on an *extended* axis of 64 bits
//! that never wraps, by picking the value nearest to a reference (RFC 3550 §A.1):
//!
//! ```text
//!  wire:      ... 65534 65535     0     1 ...
//!  extended:  ... 131070 131071 131072 131073 ...   (cycle count << 16 | wire value)
//! ```
//!
//! A stream's first packet is placed in cycle 1, so that reordered packets from just before
//! it stay representable; after a stream reset the axis continues two cycles later, so
//! extended values of one SSRC only ever grow across everything the buffer emits.

use std::fmt;
use std::num::NonZeroU32;

use crate::Error;

/// A synchronisation source identifier (RFC 3550 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ssrc(pub u32);

impl fmt::Display for Ssrc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010x}", self.0)
    }
}

impl From<u32> for Ssrc {
    fn from(value: u32) -> Self {
        Self(value)
    }
}

/// An RTP sequence number extended to 64 bits so that it never wraps.
///
/// Only order and differences are meaningful; [`wire`](Self::wire) gives back the 16-bit
/// value the packet carried (what an RTCP NACK names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExtendedSeq(u64);

impl ExtendedSeq {
    /// The extended value.
    pub const fn value(self) -> u64 {
        self.0
    }

    /// The 16-bit sequence number as carried on the wire.
    pub const fn wire(self) -> u16 {
        self.0 as u16
    }

    pub(crate) const fn new(value: u64) -> Self {
        Self(value)
    }
}

impl fmt::Display for ExtendedSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.wire(), self.0 >> 16)
    }
}

/// An RTP timestamp extended to 64 bits so that it never wraps.
///
/// Only order and differences are meaningful; [`wire`](Self::wire) gives back the 32-bit
/// value the packet carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExtendedTimestamp(u64);

impl ExtendedTimestamp {
    /// The extended value.
    pub const fn value(self) -> u64 {
        self.0
    }

    /// The 32-bit timestamp as carried on the wire.
    pub const fn wire(self) -> u32 {
        self.0 as u32
    }

    pub(crate) const fn new(value: u64) -> Self {
        Self(value)
    }
}

impl fmt::Display for ExtendedTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.wire(), self.0 >> 32)
    }
}

/// The RTP clock rate of a stream's payload format, in Hz (RFC 3550 §5.1): 48 000 for Opus,
/// 90 000 for video, 8 000 for G.711.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClockRate(NonZeroU32);

impl ClockRate {
    /// 90 kHz, the clock of every video payload format.
    pub const VIDEO: Self = Self(NonZeroU32::new(90_000).expect("non-zero"));
    /// 48 kHz, Opus's RTP clock.
    pub const OPUS: Self = Self(NonZeroU32::new(48_000).expect("non-zero"));

    /// A clock rate of `hz`; zero is rejected.
    pub fn new(hz: u32) -> Result<Self, Error> {
        NonZeroU32::new(hz).map(Self).ok_or(Error::ZeroClockRate)
    }

    /// The rate in Hz.
    pub const fn hz(self) -> u32 {
        self.0.get()
    }

    /// `ticks` of this clock as signed microseconds, saturating.
    #[cfg(test)]
    pub(crate) fn ticks_to_micros(self, ticks: i64) -> i64 {
        TickScale::new(self).micros(ticks)
    }
}

/// Converts ticks of one clock rate to microseconds with a multiplication instead of a
/// division: `micros = ticks * (10^6 / rate)`, the factor held as a 32.32 fixed-point
/// number. The error stays below a few microseconds for spans up to a day.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TickScale {
    micros_per_tick_q32: i128,
}

impl TickScale {
    pub(crate) fn new(rate: ClockRate) -> Self {
        Self {
            micros_per_tick_q32: (1_000_000_i128 << 32) / i128::from(rate.hz()),
        }
    }

    /// `ticks` as signed microseconds, saturating.
    #[inline]
    pub(crate) fn micros(self, ticks: i64) -> i64 {
        // Rounded to nearest; `>>` floors, also for negative values. With the factor split
        // into whole microseconds `w` and a 32-bit fraction `f`, `(t * (w * 2^32 + f) +
        // 2^31) >> 32 == t * w + ((t * f + 2^31) >> 32)` exactly (`t * w * 2^32` is a
        // multiple of 2^32), and for `|t| < 2^31` (hours of media time) every term fits
        // in 64 bits.
        if ticks.unsigned_abs() < 1 << 31 {
            let whole = (self.micros_per_tick_q32 >> 32) as i64;
            let fraction = (self.micros_per_tick_q32 & 0xFFFF_FFFF) as i64;
            return ticks * whole + ((ticks * fraction + (1 << 31)) >> 32);
        }
        let scaled = (i128::from(ticks) * self.micros_per_tick_q32 + (1 << 31)) >> 32;
        scaled.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }
}

/// Where a stream's first sequence number lands: cycle 1.
pub(crate) fn first_extended_seq(seq: u16) -> u64 {
    (1 << 16) | u64::from(seq)
}

/// Where a stream's first timestamp lands: cycle 1.
pub(crate) fn first_extended_timestamp(timestamp: u32) -> u64 {
    (1 << 32) | u64::from(timestamp)
}

/// After a reset, the axis continues two cycles past `highest`, so it never goes back.
pub(crate) fn restarted_extended_seq(highest: u64, seq: u16) -> u64 {
    ((highest >> 16).saturating_add(2) << 16) | u64::from(seq)
}

/// After a reset, the timestamp axis continues two cycles past `highest`.
pub(crate) fn restarted_extended_timestamp(highest: u64, timestamp: u32) -> u64 {
    ((highest >> 32).saturating_add(2) << 32) | u64::from(timestamp)
}

/// The extended value of `seq` nearest to `reference` (RFC 3550 §A.1).
pub(crate) fn unwrap_seq(reference: u64, seq: u16) -> u64 {
    let delta = i64::from(seq.wrapping_sub(reference as u16) as i16);
    reference.saturating_add_signed(delta)
}

/// The extended value of `timestamp` nearest to `reference`.
pub(crate) fn unwrap_timestamp(reference: u64, timestamp: u32) -> u64 {
    let delta = i64::from(timestamp.wrapping_sub(reference as u32) as i32);
    reference.saturating_add_signed(delta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sequence_numbers_unwrap_across_the_16_bit_boundary() {
        let start = first_extended_seq(65_534);
        assert_eq!(unwrap_seq(start, 65_535), start + 1);
        assert_eq!(unwrap_seq(start + 1, 0), start + 2);
        assert_eq!(unwrap_seq(start + 2, 65_535), start + 1);
        assert_eq!(ExtendedSeq::new(start + 2).wire(), 0);
    }

    #[test]
    fn timestamps_unwrap_across_the_32_bit_boundary() {
        let start = first_extended_timestamp(u32::MAX - 10);
        assert_eq!(unwrap_timestamp(start, 20), start + 31);
        assert_eq!(unwrap_timestamp(start + 31, u32::MAX - 10), start);
    }

    #[test]
    fn restarted_axes_continue_above_everything_before() {
        let highest = first_extended_seq(65_000) + 70_000;
        assert!(restarted_extended_seq(highest, 0) > highest + 1);
        let ts = first_extended_timestamp(5) + u64::from(u32::MAX);
        assert!(restarted_extended_timestamp(ts, 0) > ts);
    }

    #[test]
    fn zero_clock_rate_is_rejected() {
        assert_eq!(ClockRate::new(0), Err(Error::ZeroClockRate));
        assert_eq!(ClockRate::new(8000).map(ClockRate::hz), Ok(8000));
    }

    #[test]
    fn clock_conversion_saturates_instead_of_overflowing() {
        let rate = ClockRate::new(1).unwrap();
        assert_eq!(rate.ticks_to_micros(i64::MAX), i64::MAX);
        assert_eq!(ClockRate::VIDEO.ticks_to_micros(90_000), 1_000_000);
    }

    proptest! {
        #[test]
        fn clock_conversion_matches_exact_rounding_at_every_magnitude(
            hz in 1u32..=u32::MAX,
            ticks in any::<i64>(),
            small in -(1i64 << 33)..(1i64 << 33),
        ) {
            let scale = TickScale::new(ClockRate::new(hz).unwrap());
            for ticks in [ticks, small] {
                let exact = (i128::from(ticks) * ((1_000_000_i128 << 32) / i128::from(hz))
                    + (1 << 31))
                    >> 32;
                let exact = exact.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
                prop_assert_eq!(scale.micros(ticks), exact);
            }
        }

        #[test]
        fn unwrapping_recovers_any_step_smaller_than_half_the_space(
            start in any::<u16>(), steps in proptest::collection::vec(-32_000i64..32_000, 1..200)
        ) {
            let mut truth = first_extended_seq(start) + (1 << 20);
            let mut reference = truth;
            for step in steps {
                truth = truth.saturating_add_signed(step);
                let unwrapped = unwrap_seq(reference, truth as u16);
                prop_assert_eq!(unwrapped, truth);
                reference = unwrapped;
            }
        }

        #[test]
        fn timestamp_unwrapping_recovers_any_step_smaller_than_half_the_space(
            start in any::<u32>(),
            steps in proptest::collection::vec(-2_000_000_000i64..2_000_000_000, 1..200)
        ) {
            let mut truth = first_extended_timestamp(start) + (1 << 40);
            let mut reference = truth;
            for step in steps {
                truth = truth.saturating_add_signed(step);
                let unwrapped = unwrap_timestamp(reference, truth as u32);
                prop_assert_eq!(unwrapped, truth);
                reference = unwrapped;
            }
        }
    }
}
