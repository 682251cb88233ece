//! Serial-number arithmetic (RFC 1982) for TSNs and SSNs.

use std::fmt;

/// A transmission sequence number: 32 bits that wrap, compared as serial numbers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) struct Tsn(pub(crate) u32);

impl Tsn {
    /// The next TSN.
    pub(crate) fn next(self) -> Self {
        Self(self.0.wrapping_add(1))
    }

    /// The previous TSN.
    pub(crate) fn prev(self) -> Self {
        Self(self.0.wrapping_sub(1))
    }

    /// How far `self` is ahead of `base`: positive when later, negative when earlier.
    pub(crate) fn distance_from(self, base: Tsn) -> i64 {
        i64::from(self.0.wrapping_sub(base.0) as i32)
    }

    /// Whether `self` comes after `other`.
    pub(crate) fn is_after(self, other: Tsn) -> bool {
        self.distance_from(other) > 0
    }

    /// Whether `self` comes after `other` or equals it.
    pub(crate) fn is_at_or_after(self, other: Tsn) -> bool {
        self.distance_from(other) >= 0
    }
}

impl fmt::Debug for Tsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tsn({})", self.0)
    }
}

/// Whether SSN `a` comes after `b` (16-bit serial numbers).
pub(crate) fn ssn_after(a: u16, b: u16) -> bool {
    let d = a.wrapping_sub(b);
    d != 0 && d < 0x8000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_order_survives_wrap() {
        let last = Tsn(u32::MAX);
        assert!(last.next().is_after(last));
        assert_eq!(last.next(), Tsn(0));
        assert_eq!(Tsn(2).distance_from(Tsn(u32::MAX)), 3);
        assert_eq!(Tsn(u32::MAX).distance_from(Tsn(2)), -3);
        assert!(Tsn(5).is_at_or_after(Tsn(5)));
        assert!(!Tsn(4).is_after(Tsn(5)));
        assert!(ssn_after(0, u16::MAX));
        assert!(!ssn_after(7, 7));
        assert!(!ssn_after(u16::MAX, 0));
    }
}
