//! Anti-replay for records (RFC 6347 §4.1.2.6): a 64-record sliding window.

/// Which record sequence numbers of one epoch were already accepted.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ReplayWindow {
    /// The highest sequence number accepted, once one was.
    highest: Option<u64>,
    /// Bit `i` set: `highest - i` was accepted.
    bits: u64,
}

impl ReplayWindow {
    /// Whether `sequence` is new: neither accepted before nor older than the window.
    pub(crate) fn is_new(&self, sequence: u64) -> bool {
        match self.highest {
            None => true,
            Some(highest) if sequence > highest => true,
            Some(highest) => {
                let age = highest - sequence;
                age < 64 && self.bits & (1 << age) == 0
            }
        }
    }

    /// Records `sequence` as accepted (call only after it authenticated).
    pub(crate) fn accept(&mut self, sequence: u64) {
        match self.highest {
            Some(highest) if sequence <= highest => {
                let age = highest - sequence;
                if age < 64 {
                    self.bits |= 1 << age;
                }
            }
            Some(highest) => {
                let shift = sequence - highest;
                self.bits = if shift >= 64 { 0 } else { self.bits << shift };
                self.bits |= 1;
                self.highest = Some(sequence);
            }
            None => {
                self.bits = 1;
                self.highest = Some(sequence);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_and_records_older_than_the_window_are_refused() {
        let mut window = ReplayWindow::default();
        for sequence in [5, 3, 4, 70] {
            assert!(window.is_new(sequence));
            window.accept(sequence);
            assert!(!window.is_new(sequence));
        }
        assert!(!window.is_new(6), "64 behind the highest");
        assert!(window.is_new(7));
        assert!(!window.is_new(5));
        window.accept(1_000);
        assert!(!window.is_new(70));
        assert!(window.is_new(999));
    }
}
