//! Identifiers and numbers of RTP, as newtypes.

use std::fmt;
use std::sync::Arc;

pub use strata_jitter::Ssrc;

use crate::Error;

/// An RTP sequence number as carried on the wire (16 bits, wraps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SeqNo(pub u16);

impl SeqNo {
    /// The number after this one, wrapping.
    #[must_use]
    pub const fn next(self) -> Self {
        Self(self.0.wrapping_add(1))
    }
}

impl fmt::Display for SeqNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A sequence number extended to 64 bits with its roll-over count, so it never wraps
/// (RFC 3550 §6.4.1 "extended highest sequence number").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ExtendedSeqNo(pub u64);

impl ExtendedSeqNo {
    /// The 16-bit number carried on the wire.
    pub const fn wire(self) -> SeqNo {
        SeqNo(self.0 as u16)
    }
}

/// Extends 16-bit sequence numbers to [`ExtendedSeqNo`] by picking, for each number, the
/// extension closest to the highest seen so far (a packet up to 32 767 behind counts as
/// reordered, not as a wrap forward).
#[derive(Debug, Clone, Copy, Default)]
pub struct SeqUnwrapper {
    highest: Option<u64>,
}

impl SeqUnwrapper {
    /// The extended value of `seq`; advances the highest when it is newer.
    pub fn unwrap(&mut self, seq: SeqNo) -> ExtendedSeqNo {
        let value = self.peek(seq);
        if self.highest.is_none_or(|h| value.0 > h) {
            self.highest = Some(value.0);
        }
        value
    }

    /// The extended value of `seq` without remembering it.
    pub fn peek(&self, seq: SeqNo) -> ExtendedSeqNo {
        let Some(highest) = self.highest else {
            // Start one cycle up so that reordered packets before the first stay positive.
            return ExtendedSeqNo(0x1_0000 + u64::from(seq.0));
        };
        let delta = seq.0.wrapping_sub(highest as u16) as i16;
        ExtendedSeqNo(highest.saturating_add_signed(i64::from(delta)))
    }

    /// The highest extended number seen.
    pub fn highest(&self) -> Option<ExtendedSeqNo> {
        self.highest.map(ExtendedSeqNo)
    }
}

/// An RTP payload type (7 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PayloadType(pub(crate) u8);

impl PayloadType {
    /// A payload type; `None` above 127.
    pub const fn new(value: u8) -> Option<Self> {
        if value < 128 { Some(Self(value)) } else { None }
    }

    /// Its value, 0 to 127.
    pub const fn value(self) -> u8 {
        self.0
    }
}

impl fmt::Display for PayloadType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A media identification tag (RFC 8843 §4, the `a=mid` value and the `sdes:mid` RTP header
/// extension): 1 to 255 token characters. Cloning it is cheap (shared text).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mid(Arc<str>);

/// Longest MID the two-byte header extension form can carry.
pub const MAX_MID_LEN: usize = 255;

impl Mid {
    /// Validates `value` as a MID.
    pub fn new(value: impl Into<String>) -> Result<Self, Error> {
        let value = value.into();
        if Self::valid(value.as_bytes()) {
            Ok(Self(value.into()))
        } else {
            Err(Error::InvalidMid(value))
        }
    }

    pub(crate) fn from_wire(bytes: &[u8]) -> Option<Self> {
        if Self::valid(bytes) {
            std::str::from_utf8(bytes).ok().map(|s| Self(s.into()))
        } else {
            None
        }
    }

    fn valid(bytes: &[u8]) -> bool {
        // RFC 4566 `token-char`: visible ASCII except the separators.
        !bytes.is_empty()
            && bytes.len() <= MAX_MID_LEN
            && bytes.iter().all(|&b| {
                matches!(b, 0x21 | 0x23..=0x27 | 0x2A | 0x2B | 0x2D | 0x2E | 0x30..=0x39
                    | 0x41..=0x5A | 0x5E..=0x7E)
            })
    }

    /// The MID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Mid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwrapper_follows_wrap_and_reordering() {
        let mut unwrapper = SeqUnwrapper::default();
        let first = unwrapper.unwrap(SeqNo(65_534));
        let second = unwrapper.unwrap(SeqNo(65_535));
        let wrapped = unwrapper.unwrap(SeqNo(0));
        let reordered = unwrapper.unwrap(SeqNo(65_533));
        assert_eq!(second.0, first.0 + 1);
        assert_eq!(wrapped.0, first.0 + 2);
        assert_eq!(reordered.0, first.0 - 1);
        assert_eq!(unwrapper.highest(), Some(wrapped));
        assert_eq!(wrapped.wire(), SeqNo(0));
    }

    #[test]
    fn mids_are_tokens() {
        assert!(Mid::new("0").is_ok());
        assert!(Mid::new("audio-1").is_ok());
        assert!(Mid::new("").is_err());
        assert!(Mid::new("a b").is_err());
        assert!(Mid::new("x".repeat(256)).is_err());
        assert!(PayloadType::new(128).is_none());
    }
}
