//! Reassembly of handshake messages from fragments (RFC 6347 §4.2.3), in message order.

use std::collections::BTreeMap;

use super::wire::Fragment;

/// How far ahead of the next expected message fragments are kept.
const WINDOW: u16 = 16;
/// The largest handshake message accepted (a certificate chain is the large one; WebRTC
/// peers send one self-signed certificate of well under 2 KiB).
pub(crate) const MAX_MESSAGE_LEN: usize = 64 * 1024;

/// A message being put together.
#[derive(Debug)]
struct Partial {
    msg_type: u8,
    body: Vec<u8>,
    /// Received byte ranges, sorted and merged.
    ranges: Vec<(usize, usize)>,
}

impl Partial {
    fn complete(&self) -> bool {
        self.ranges == [(0, self.body.len())]
    }

    fn add(&mut self, offset: usize, bytes: &[u8]) {
        let end = offset + bytes.len();
        self.body[offset..end].copy_from_slice(bytes);
        self.ranges.push((offset, end));
        self.ranges.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(self.ranges.len());
        for &(start, end) in &self.ranges {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        self.ranges = merged;
    }
}

/// What became of a fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placed {
    /// Kept (or already had).
    Kept,
    /// Part of a message already delivered: the peer repeated its flight.
    Old,
    /// Dropped: too far ahead, too large, or contradicting earlier fragments.
    Dropped,
}

/// Collects the peer's handshake fragments and hands out whole messages in sequence.
#[derive(Debug, Default)]
pub(crate) struct Reassembler {
    /// The next message sequence number to deliver, once the first message fixed it.
    next: Option<u16>,
    partial: BTreeMap<u16, Partial>,
}

impl Reassembler {
    /// Files one fragment.
    pub(crate) fn add(&mut self, fragment: &Fragment<'_>) -> Placed {
        if let Some(next) = self.next {
            if fragment.message_seq < next {
                return Placed::Old;
            }
            if fragment.message_seq - next >= WINDOW {
                return Placed::Dropped;
            }
        }
        if fragment.length > MAX_MESSAGE_LEN {
            return Placed::Dropped;
        }
        if !self.partial.contains_key(&fragment.message_seq)
            && self.partial.len() >= usize::from(WINDOW)
        {
            return Placed::Dropped;
        }
        let partial = self
            .partial
            .entry(fragment.message_seq)
            .or_insert_with(|| Partial {
                msg_type: fragment.msg_type,
                body: vec![0; fragment.length],
                ranges: Vec::new(),
            });
        if partial.msg_type != fragment.msg_type || partial.body.len() != fragment.length {
            return Placed::Dropped;
        }
        if partial.ranges.len() > 64 {
            // A peer fragmenting absurdly finely; the message will be sent again.
            return Placed::Dropped;
        }
        partial.add(fragment.offset, fragment.body);
        Placed::Kept
    }

    /// Sets where in-order delivery starts, dropping anything before it.
    pub(crate) fn start_at(&mut self, next: u16) {
        self.next = Some(next);
        self.partial = self.partial.split_off(&next);
    }

    /// Forgets the starting point and everything kept (after a `HelloVerifyRequest`).
    pub(crate) fn reset(&mut self) {
        *self = Self::default();
    }

    /// The next message in sequence, if it is complete: `(message_seq, msg_type, body)`.
    pub(crate) fn pop(&mut self) -> Option<(u16, u8, Vec<u8>)> {
        let next = self.next?;
        if !self.partial.get(&next)?.complete() {
            return None;
        }
        let partial = self.partial.remove(&next)?;
        self.next = next.checked_add(1);
        Some((next, partial.msg_type, partial.body))
    }

    /// Before the start is known: the first complete message of one of `types`.
    pub(crate) fn first_of(&mut self, types: &[u8]) -> Option<(u16, u8, Vec<u8>)> {
        let seq = self
            .partial
            .iter()
            .find(|(_, partial)| types.contains(&partial.msg_type) && partial.complete())
            .map(|(seq, _)| *seq)?;
        let partial = self.partial.remove(&seq)?;
        Some((seq, partial.msg_type, partial.body))
    }

    /// Whether the start is known.
    pub(crate) fn started(&self) -> bool {
        self.next.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fragment(seq: u16, length: usize, offset: usize, body: &[u8]) -> Fragment<'_> {
        Fragment {
            msg_type: 11,
            length,
            message_seq: seq,
            offset,
            body,
        }
    }

    #[test]
    fn overlapping_out_of_order_fragments_make_one_message() {
        let mut r = Reassembler::default();
        r.start_at(2);
        assert_eq!(r.add(&fragment(2, 6, 3, &[4, 5, 6])), Placed::Kept);
        assert!(r.pop().is_none());
        assert_eq!(r.add(&fragment(2, 6, 0, &[1, 2, 3, 4])), Placed::Kept);
        assert_eq!(r.pop(), Some((2, 11, vec![1, 2, 3, 4, 5, 6])));
        assert_eq!(r.add(&fragment(2, 6, 0, &[1])), Placed::Old);
        assert_eq!(r.add(&fragment(3 + WINDOW, 1, 0, &[1])), Placed::Dropped);
        let mut contradicting = fragment(3, 1, 0, &[1]);
        assert_eq!(r.add(&contradicting), Placed::Kept);
        contradicting.length = 2;
        assert_eq!(r.add(&contradicting), Placed::Dropped);
    }

    #[test]
    fn before_the_start_is_known_messages_are_found_by_type() {
        let mut r = Reassembler::default();
        r.add(&fragment(4, 1, 0, &[9]));
        let mut hello = fragment(1, 1, 0, &[7]);
        hello.msg_type = 1;
        r.add(&hello);
        assert!(r.pop().is_none());
        assert_eq!(r.first_of(&[1]), Some((1, 1, vec![7])));
        r.start_at(2);
        assert!(r.pop().is_none());
        assert_eq!(r.add(&fragment(2, 1, 0, &[8])), Placed::Kept);
        assert_eq!(r.pop(), Some((2, 11, vec![8])));
    }
}
