//! The bounded queue between the streams and `poll_output`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::Output;

/// Where streams put their outputs. Media waits in the streams while the queue is full
/// (they check [`has_room`](Self::has_room)); control outputs are dropped and counted.
pub(crate) struct OutputSink<'a> {
    pub(crate) queue: &'a mut VecDeque<Output>,
    pub(crate) max: usize,
    pub(crate) dropped: &'a mut u64,
    pub(crate) epoch: Instant,
}

impl OutputSink<'_> {
    pub(crate) fn has_room(&self) -> bool {
        self.queue.len() < self.max
    }

    /// Queues media; the caller has checked for room.
    pub(crate) fn media(&mut self, output: Output) {
        self.queue.push_back(output);
    }

    /// Queues a control output if there is room. Returns whether it was queued.
    pub(crate) fn control(&mut self, output: Output) -> bool {
        if self.has_room() {
            self.queue.push_back(output);
            true
        } else {
            *self.dropped += 1;
            false
        }
    }

    /// The instant `micros` after the epoch (never before it).
    pub(crate) fn instant(&self, micros: i64) -> Instant {
        // Clamped to a century so that the addition cannot overflow.
        let micros = micros
            .clamp(0, 100 * 365 * 86_400 * 1_000_000)
            .unsigned_abs();
        self.epoch
            .checked_add(Duration::from_micros(micros))
            .unwrap_or(self.epoch)
    }
}
