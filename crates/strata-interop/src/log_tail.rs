//! The newest lines a child process wrote to stderr, kept in a bounded ring for failure
//! reports.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::ChildStderr;
use tokio::sync::watch;

/// A bounded ring of a child's stderr lines, filled by a task of its own.
#[derive(Debug, Clone)]
pub(crate) struct LogTail {
    lines: Arc<Mutex<VecDeque<String>>>,
    /// How many lines have been read so far; closed when stderr ends.
    read: watch::Receiver<u64>,
}

impl LogTail {
    /// Reads `stderr` until it ends, keeping the newest `capacity` lines; `inspect` sees
    /// every line first (Chromium's DevTools announcement, for one).
    pub(crate) fn collect(
        stderr: ChildStderr,
        capacity: usize,
        mut inspect: impl FnMut(&str) + Send + 'static,
    ) -> Self {
        let (read_tx, read) = watch::channel(0);
        let tail = Self {
            lines: Arc::new(Mutex::new(VecDeque::with_capacity(capacity))),
            read,
        };
        let ring = Arc::clone(&tail.lines);
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                inspect(&line);
                push_bounded(&ring, line, capacity);
                read_tx.send_modify(|read| *read += 1);
            }
        });
        tail
    }

    /// Resolves with `true` once `times` kept lines contain `needle`, or with `false`
    /// when stderr ended with fewer. Only the kept (newest) lines are searched.
    pub(crate) async fn wait_for(&self, needle: &str, times: usize) -> bool {
        let mut read = self.read.clone();
        loop {
            if self.count(needle) >= times {
                return true;
            }
            if read.changed().await.is_err() {
                return self.count(needle) >= times;
            }
        }
    }

    fn count(&self, needle: &str) -> usize {
        let ring = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        ring.iter().filter(|line| line.contains(needle)).count()
    }

    /// The last `lines` lines, oldest first.
    pub(crate) fn last(&self, lines: usize) -> String {
        let ring = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        let skip = ring.len().saturating_sub(lines);
        ring.iter()
            .skip(skip)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn push_bounded(ring: &Mutex<VecDeque<String>>, line: String, capacity: usize) {
    let mut ring = ring.lock().unwrap_or_else(PoisonError::into_inner);
    if ring.len() == capacity {
        ring.pop_front();
    }
    ring.push_back(line);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_keeps_the_newest_lines() {
        let tail = LogTail {
            lines: Arc::new(Mutex::new(VecDeque::new())),
            read: watch::channel(0).1,
        };
        for i in 0..10 {
            push_bounded(&tail.lines, i.to_string(), 5);
        }
        assert_eq!(tail.last(3), "7\n8\n9");
        assert_eq!(tail.last(50), "5\n6\n7\n8\n9");
    }
}
