//! Extended packet indices and the replay window (RFC 3711 §3.3.1, §3.3.2).

/// Packets the replay window remembers behind the newest one.
///
/// RFC 3711 §3.3.2 asks for at least 64. libwebrtc (and so Chromium) uses 1024 because
/// high-bitrate video paced in bursts and reordered by the network easily arrives more
/// than 64 packets late, and a late packet outside the window is dropped as a replay; we
/// follow it. The window costs 128 bytes per SSRC and direction.
pub const REPLAY_WINDOW: u64 = 1024;

const WORDS: usize = (REPLAY_WINDOW / 64) as usize;

/// The highest SRTP index (48 bits: ROC and sequence number, RFC 3711 §3.3.1).
pub(crate) const MAX_SRTP_INDEX: u64 = (1 << 48) - 1;
/// The highest SRTCP index (31 bits, RFC 3711 §3.3.2).
pub(crate) const MAX_SRTCP_INDEX: u32 = (1 << 31) - 1;

/// The index of a packet with sequence number `sequence`, given the highest index seen
/// so far (RFC 3711 §3.3.1 and Appendix A): the candidate with ROC − 1, ROC or ROC + 1
/// closest to it. `None` when the guess falls before index 0 (a packet from before the
/// stream began) or past the 48-bit index space.
pub(crate) fn estimate_index(highest: u64, sequence: u16) -> Option<u64> {
    let roc = highest >> 16;
    let last = highest as u16;
    let candidate = |roc: u64| (roc << 16) | u64::from(sequence);
    let index = if last < 0x8000 {
        if sequence > last && sequence - last > 0x8000 {
            candidate(roc.checked_sub(1)?)
        } else {
            candidate(roc)
        }
    } else if sequence < last - 0x8000 {
        candidate(roc + 1)
    } else {
        candidate(roc)
    };
    (index <= MAX_SRTP_INDEX).then_some(index)
}

/// What the window says about an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Not seen and inside or ahead of the window.
    Fresh,
    /// Seen already, or too old to tell.
    Replayed,
}

/// A sliding window over packet indices: the highest index seen and a bitmap of the
/// [`REPLAY_WINDOW`] indices at and below it, stored as a ring (bit `i % REPLAY_WINDOW`
/// for index `i`). Moves only through [`ReplayWindow::accept`], which the session calls
/// after a packet authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReplayWindow {
    highest: u64,
    seen: [u64; WORDS],
}

impl ReplayWindow {
    /// A window whose first packet is `index`.
    pub(crate) fn starting_at(index: u64) -> Self {
        let mut window = Self {
            highest: index,
            seen: [0; WORDS],
        };
        window.mark(index);
        window
    }

    pub(crate) fn highest(&self) -> u64 {
        self.highest
    }

    pub(crate) fn check(&self, index: u64) -> Verdict {
        if index > self.highest {
            return Verdict::Fresh;
        }
        if self.highest - index >= REPLAY_WINDOW || self.is_marked(index) {
            return Verdict::Replayed;
        }
        Verdict::Fresh
    }

    /// Records an authenticated packet. Call only after [`ReplayWindow::check`] said
    /// [`Verdict::Fresh`].
    pub(crate) fn accept(&mut self, index: u64) {
        if index > self.highest {
            let advance = index - self.highest;
            if advance >= REPLAY_WINDOW {
                self.seen = [0; WORDS];
            } else {
                for skipped in self.highest + 1..=index {
                    self.clear(skipped);
                }
            }
            self.highest = index;
        }
        self.mark(index);
    }

    fn position(index: u64) -> (usize, u64) {
        let bit = index % REPLAY_WINDOW;
        ((bit / 64) as usize, 1 << (bit % 64))
    }

    fn mark(&mut self, index: u64) {
        let (word, mask) = Self::position(index);
        self.seen[word] |= mask;
    }

    fn clear(&mut self, index: u64) {
        let (word, mask) = Self::position(index);
        self.seen[word] &= !mask;
    }

    fn is_marked(&self, index: u64) -> bool {
        let (word, mask) = Self::position(index);
        self.seen[word] & mask != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_index_follows_sequence_wrap_forwards_and_backwards() {
        // Just before a wrap, a small sequence number is the next ROC.
        assert_eq!(estimate_index(0xfffe, 1), Some(0x1_0001));
        // Just after a wrap, a large one belongs to the previous ROC.
        assert_eq!(estimate_index(0x1_0002, 0xfffd), Some(0xfffd));
        // Ordinary steps keep the ROC.
        assert_eq!(estimate_index(0x3_1000, 0x1005), Some(0x3_1005));
        assert_eq!(estimate_index(0x3_9000, 0x8fff), Some(0x3_8fff));
        // A packet from before index 0 has no index.
        assert_eq!(estimate_index(5, 0xfff0), None);
        // Nor one past 2^48.
        assert_eq!(estimate_index(MAX_SRTP_INDEX, 3), None);
    }

    #[test]
    fn the_window_refuses_duplicates_and_packets_older_than_it() {
        let mut window = ReplayWindow::starting_at(5000);
        assert_eq!(window.check(5000), Verdict::Replayed);
        assert_eq!(window.check(4999), Verdict::Fresh);
        window.accept(4999);
        assert_eq!(window.check(4999), Verdict::Replayed);
        assert_eq!(window.check(5000 - REPLAY_WINDOW + 1), Verdict::Fresh);
        assert_eq!(window.check(5000 - REPLAY_WINDOW), Verdict::Replayed);
        window.accept(5003);
        assert_eq!(window.check(5001), Verdict::Fresh);
        assert_eq!(window.check(5000), Verdict::Replayed);
        // A long jump forgets everything below the new window.
        window.accept(100_000);
        assert_eq!(window.check(100_000), Verdict::Replayed);
        assert_eq!(window.check(99_999), Verdict::Fresh);
        assert_eq!(window.check(5003), Verdict::Replayed);
    }

    proptest! {
        /// The ring agrees with a set of every index seen.
        #[test]
        fn the_window_agrees_with_a_model(steps in proptest::collection::vec(0u64..3000, 1..400)) {
            let mut window = ReplayWindow::starting_at(10_000);
            let mut seen = std::collections::BTreeSet::from([10_000u64]);
            for step in steps {
                let index = window.highest() + 1500 - step.min(window.highest() + 1500);
                let expected = if index + REPLAY_WINDOW <= window.highest() || seen.contains(&index) {
                    Verdict::Replayed
                } else {
                    Verdict::Fresh
                };
                prop_assert_eq!(window.check(index), expected);
                if expected == Verdict::Fresh {
                    window.accept(index);
                    seen.insert(index);
                }
            }
        }
    }
}
