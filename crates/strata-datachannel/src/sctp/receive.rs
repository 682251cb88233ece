//! The receiving side: which TSNs arrived (for SACKs), and per-stream reassembly and
//! ordered delivery.
//!
//! Interface (the association uses exactly this):
//!
//! ```text
//! pub(crate) struct Receiver { .. }
//! impl Receiver {
//!     /// `peer_initial_tsn` from the peer's INIT / INIT-ACK; `window` is our a_rwnd;
//!     /// messages above `max_message_size` are dropped and reported.
//!     pub(crate) fn new(peer_initial_tsn: Tsn, window: u32, max_message_size: usize) -> Self;
//!     /// One DATA chunk.
//!     pub(crate) fn handle_data(&mut self, data: Data) -> DataOutcome;
//!     /// A FORWARD-TSN (RFC 3758 §3.6): moves the cumulative TSN, drops fragments it
//!     /// skips, advances ordered streams past the skipped SSNs and delivers what that
//!     /// unblocks.
//!     pub(crate) fn handle_forward_tsn(&mut self, forward: &ForwardTsn);
//!     /// The next complete message (or oversize report), in delivery order.
//!     pub(crate) fn poll(&mut self) -> Option<Delivery>;
//!     /// The cumulative TSN ack.
//!     pub(crate) fn cumulative_tsn(&self) -> Tsn;
//!     /// Whether TSNs above the cumulative ack have arrived (gaps exist).
//!     pub(crate) fn has_gaps(&self) -> bool;
//!     /// A SACK for now: cumulative ack, a_rwnd, gap blocks, the duplicates seen since the
//!     /// last SACK (then forgotten).
//!     pub(crate) fn build_sack(&mut self) -> Sack;
//!     /// A peer's Outgoing SSN Reset Request for these streams (empty: all), once every
//!     /// TSN up to `sender_last_tsn` arrived: returns Ok(streams reset) or
//!     /// Err(Deferred) when data before `sender_last_tsn` is still missing.
//!     pub(crate) fn reset_incoming(&mut self, sender_last_tsn: Tsn, streams: &[u16]) -> Result<Vec<u16>, Deferred>;
//!     /// Bytes held (out-of-order and partial messages, plus messages not yet polled).
//!     pub(crate) fn buffered(&self) -> usize;
//! }
//! pub(crate) enum DataOutcome { New, Duplicate, /* beyond the window or the TSN lead */ Dropped }
//! pub(crate) enum Delivery { Message(ReceivedMessage), Oversize { stream: u16 } }
//! ```
//!
//! # Design
//!
//! TSNs are kept internally as 64-bit *extended* numbers (the 32-bit TSN unwrapped
//! against the cumulative ack), so ordered maps and plain comparisons work across the
//! 32-bit wrap. Three structures carry the state, each touched in `O(log n)` per chunk:
//!
//! - **Received TSNs** above the cumulative ack, as disjoint, non-adjacent inclusive
//!   ranges in a `BTreeMap` keyed by start: a duplicate check is one lookup, a gap block
//!   is one entry, and the cumulative ack swallows the first range when it touches it.
//! - **Runs**: fragments not yet forming a whole message, grouped into runs of
//!   consecutive TSNs that belong to the same message (same stream and direction, same
//!   SSN when ordered; no B inside, no E before the end), keyed by their first TSN. A
//!   new fragment only ever extends a run at either end, or joins two runs (the smaller
//!   joins the larger), so fragments never move in the middle of a buffer. A run is a
//!   whole message once it begins with B and ends with E; its payload is then copied
//!   once into one buffer (or, for a single fragment, handed on as is).
//! - **Streams**: per stream, the next SSN to deliver and the complete ordered messages
//!   that wait for an earlier SSN, by SSN.
//!
//! Every fragment of a message has consecutive TSNs (RFC 9260 §6.9), so a run whose
//! neighbouring TSN arrived without joining it can never grow on that side. Because the
//! cumulative ack is the highest TSN before the first missing one, every run that starts
//! at or below it also ends at or below it, and of those only one ending exactly at it
//! without the E bit can still grow: the others are dropped whenever the cumulative ack
//! moves. What a peer abandons or mangles is therefore always released, without a timer.
//!
//! # Bounds
//!
//! - A TSN more than 65 535 past the cumulative ack is dropped (a gap block could not
//!   express it), so at most 65 535 TSNs are held above the ack.
//! - Past the window, only the TSN right after the cumulative ack is accepted: it always
//!   makes progress, and everything held is released as the application polls.
//! - A message that grows past the largest size is released at once; later fragments of
//!   it are not kept.
//! - A `FORWARD-TSN` moves the cumulative ack by arithmetic and touches each held range,
//!   run and waiting message at most once.
//! - 32 duplicate TSNs per SACK, 64 gap blocks per SACK.
//! - An idle receiver holds empty collections only.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, VecDeque};

use bytes::{Bytes, BytesMut};

use super::ReceivedMessage;
use super::malformed::MAX_TSN_LEAD;
use super::tsn::{Tsn, ssn_after};
use super::wire::{Data, ForwardTsn, Sack};

/// Duplicate TSNs remembered for the next SACK at most.
const MAX_DUPLICATES: usize = 32;
/// Gap blocks in one SACK at most.
const MAX_GAP_BLOCKS: usize = 64;
/// Deliveries the ready queue keeps room for once drained; a larger queue is freed.
const MAX_IDLE_READY_CAPACITY: usize = 256;

/// What became of one DATA chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DataOutcome {
    /// Accepted: its TSN is acknowledged from now on.
    New,
    /// Its TSN had already arrived; it is listed in the next SACK's duplicates.
    Duplicate,
    /// Not accepted, beyond the window or too far past the cumulative ack; the peer
    /// sends it again.
    Dropped,
}

/// What the receiver hands to the application, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// A complete message.
    Message(ReceivedMessage),
    /// A message larger than the largest size arrived on `stream` and was dropped.
    Oversize {
        /// The stream it came on.
        stream: u16,
    },
}

impl Delivery {
    /// Bytes it holds, as counted in [`Receiver::buffered`].
    fn held_bytes(&self) -> usize {
        match self {
            Self::Message(message) => message.payload.len(),
            Self::Oversize { .. } => 0,
        }
    }
}

/// A stream reset cannot be performed yet: data sent before it is still missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deferred;

/// The receiving half of an association.
///
/// After each `handle_*` call or [`reset_incoming`](Self::reset_incoming), drain
/// [`poll`](Self::poll) until it returns `None`; acknowledge with
/// [`build_sack`](Self::build_sack). A deferred reset is tried again after more data
/// or a `FORWARD-TSN` arrived.
#[derive(Debug)]
pub(crate) struct Receiver {
    /// The cumulative TSN ack, extended to 64 bits (see the module docs).
    cumulative: u64,
    /// Our receive window, bytes.
    window: u32,
    /// The largest message we accept, bytes.
    max_message_size: usize,
    /// TSNs received above the cumulative ack: inclusive ranges, start to end, disjoint
    /// and never adjacent; the first starts at `cumulative + 2` or later.
    received: BTreeMap<u64, u64>,
    /// Duplicate TSNs since the last SACK.
    duplicates: Vec<Tsn>,
    /// Fragments of incomplete messages, in runs keyed by their first TSN.
    runs: BTreeMap<u64, Run>,
    /// Per-stream ordering state, for every stream that carried data since its last reset.
    streams: BTreeMap<u16, Stream>,
    /// What [`poll`](Self::poll) returns next.
    ready: VecDeque<Delivery>,
    /// Payload bytes held: in runs, waiting in streams, ready, or stashed.
    held: usize,
    /// A peer's stream reset waiting for its data to arrive (RFC 6525 §5.2.2).
    pending_reset: Option<PendingReset>,
    /// DATA sent after a pending reset on the streams it resets, held back until the
    /// reset is performed, with its extended TSN.
    stash: Vec<(u64, Data)>,
}

/// The ordering state of one incoming stream.
#[derive(Debug, Default)]
struct Stream {
    /// The SSN of the next ordered message to deliver.
    next_ssn: u16,
    /// Complete ordered messages (or oversize reports) that wait for an earlier SSN.
    waiting: BTreeMap<u16, Delivery>,
    /// How many runs in [`Receiver::runs`] belong to this stream.
    runs: u32,
}

impl Stream {
    /// Whether the ordered message `ssn` is already done with: delivered or skipped
    /// (before the next SSN), or complete and waiting.
    fn has_finished(&self, ssn: u16) -> bool {
        ssn != self.next_ssn && (!ssn_after(ssn, self.next_ssn) || self.waiting.contains_key(&ssn))
    }

    /// Whether the stream can be forgotten: it is as a new stream would be.
    fn is_pristine(&self) -> bool {
        self.next_ssn == 0 && self.waiting.is_empty() && self.runs == 0
    }

    /// Moves waiting messages from the next SSN on to `ready`, as long as they follow
    /// each other.
    fn release_in_order(&mut self, ready: &mut VecDeque<Delivery>) {
        while let Some(delivery) = self.waiting.remove(&self.next_ssn) {
            ready.push_back(delivery);
            self.next_ssn = self.next_ssn.wrapping_add(1);
        }
    }

    /// Removes and returns the waiting message with the lowest SSN in the serial range
    /// `from..=to`.
    fn take_first_waiting(&mut self, from: u16, to: u16) -> Option<Delivery> {
        let ssn = if from <= to {
            self.waiting.range(from..=to).next()
        } else {
            self.waiting
                .range(from..)
                .next()
                .or_else(|| self.waiting.range(..=to).next())
        }
        .map(|(&ssn, _)| ssn)?;
        self.waiting.remove(&ssn)
    }
}

/// A peer's Outgoing SSN Reset Request that waits for its data.
#[derive(Debug)]
struct PendingReset {
    /// The extended Sender's Last Assigned TSN.
    last: u64,
    /// The streams it resets, sorted; empty means all.
    streams: Vec<u16>,
}

impl PendingReset {
    /// Whether it resets `stream`.
    fn covers(&self, stream: u16) -> bool {
        self.streams.is_empty() || self.streams.binary_search(&stream).is_ok()
    }

    /// Whether it is the request for `last` and `streams`.
    fn is_for(&self, last: u64, streams: &[u16]) -> bool {
        self.last == last
            && self.streams.len() == streams.len()
            && streams
                .iter()
                .all(|stream| self.streams.binary_search(stream).is_ok())
    }
}

/// Consecutive fragments of one message, not yet the whole of it.
#[derive(Debug)]
struct Run {
    /// The extended TSN of the last fragment (the first is the key in the map).
    last: u64,
    /// The stream.
    stream: u16,
    /// `Some(ssn)` for an ordered message, `None` for an unordered one.
    ssn: Option<u16>,
    /// The payload protocol identifier of the first fragment.
    ppid: u32,
    /// The first fragment has the B bit: the run starts the message.
    begins: bool,
    /// The last fragment has the E bit: the run ends the message.
    ends: bool,
    /// The payload, unless the message turned out too large.
    content: Content,
}

/// What a run keeps of its payload.
#[derive(Debug)]
enum Content {
    /// The fragments in TSN order, and their total length.
    Kept {
        /// The fragments.
        fragments: VecDeque<Bytes>,
        /// Their total length.
        bytes: usize,
    },
    /// The message is larger than the largest size: nothing of it is kept.
    Oversize {
        /// The application was told (once, by the run that holds the B fragment).
        reported: bool,
    },
}

impl Content {
    /// Keeps `payload` at the front or the back; returns the bytes kept (none when
    /// oversize).
    fn keep(&mut self, payload: Bytes, front: bool) -> usize {
        let Content::Kept { fragments, bytes } = self else {
            return 0;
        };
        let len = payload.len();
        if front {
            fragments.push_front(payload);
        } else {
            fragments.push_back(payload);
        }
        *bytes += len;
        len
    }
}

/// The stream and SSN (`None`: unordered) a DATA chunk belongs to.
fn message_of(data: &Data) -> (u16, Option<u16>) {
    (data.stream, (!data.unordered).then_some(data.ssn))
}

impl Run {
    /// A run of the one fragment `data` at `tsn`.
    fn new(tsn: u64, data: Data) -> Self {
        let (stream, ssn) = message_of(&data);
        let bytes = data.payload.len();
        Self {
            last: tsn,
            stream,
            ssn,
            ppid: data.ppid,
            begins: data.beginning,
            ends: data.ending,
            content: Content::Kept {
                fragments: VecDeque::from([data.payload]),
                bytes,
            },
        }
    }

    /// Payload bytes it holds.
    fn bytes(&self) -> usize {
        match self.content {
            Content::Kept { bytes, .. } => bytes,
            Content::Oversize { .. } => 0,
        }
    }

    /// Whether `data` may be the fragment right after this run's last one.
    fn continues_with(&self, data: &Data) -> bool {
        !self.ends && !data.beginning && (self.stream, self.ssn) == message_of(data)
    }

    /// Whether `data` may be the fragment right before this run's first one.
    fn follows(&self, data: &Data) -> bool {
        !self.begins && !data.ending && (self.stream, self.ssn) == message_of(data)
    }

    /// Appends `data` at `tsn` (right after the last fragment); returns the bytes kept.
    fn push_back(&mut self, tsn: u64, data: Data) -> usize {
        self.last = tsn;
        self.ends = data.ending;
        self.content.keep(data.payload, false)
    }

    /// Prepends `data` (right before the first fragment); returns the bytes kept.
    fn push_front(&mut self, data: Data) -> usize {
        self.begins = data.beginning;
        self.ppid = data.ppid;
        self.content.keep(data.payload, true)
    }

    /// Appends `other`, which starts right after this run's last fragment; returns the
    /// bytes released (when either was oversize, the joined run keeps nothing).
    fn append(&mut self, other: Run) -> usize {
        self.last = other.last;
        self.ends = other.ends;
        match (&mut self.content, other.content) {
            (
                Content::Kept { fragments, bytes },
                Content::Kept {
                    fragments: mut theirs,
                    bytes: their_bytes,
                },
            ) => {
                *bytes += their_bytes;
                if fragments.len() >= theirs.len() {
                    fragments.append(&mut theirs);
                } else {
                    while let Some(fragment) = fragments.pop_back() {
                        theirs.push_front(fragment);
                    }
                    *fragments = theirs;
                }
                0
            }
            (Content::Kept { bytes, .. }, Content::Oversize { reported }) => {
                let released = *bytes;
                self.content = Content::Oversize { reported };
                released
            }
            (Content::Oversize { .. }, Content::Kept { bytes, .. }) => bytes,
            (Content::Oversize { reported }, Content::Oversize { reported: theirs }) => {
                *reported |= theirs;
                0
            }
        }
    }

    /// Drops the payload: the message is too large. Returns the bytes released.
    fn make_oversize(&mut self) -> usize {
        let released = self.bytes();
        self.content = Content::Oversize { reported: false };
        released
    }

    /// The whole payload, copied once (a single fragment is handed on as is).
    fn into_payload(self) -> Bytes {
        let Content::Kept {
            mut fragments,
            bytes,
        } = self.content
        else {
            return Bytes::new();
        };
        if fragments.len() == 1
            && let Some(only) = fragments.pop_front()
        {
            return only;
        }
        let mut payload = BytesMut::with_capacity(bytes);
        for fragment in &fragments {
            payload.extend_from_slice(fragment);
        }
        payload.freeze()
    }
}

impl Receiver {
    /// A receiver for a peer whose first TSN is `peer_initial_tsn` (from its INIT or
    /// `INIT-ACK`), advertising `window` bytes (`a_rwnd`) and dropping, with a report,
    /// messages larger than `max_message_size`.
    pub(crate) fn new(peer_initial_tsn: Tsn, window: u32, max_message_size: usize) -> Self {
        Self {
            // Extended above 2^32 so that TSNs up to 2^31 behind stay representable.
            cumulative: (1 << 32) | u64::from(peer_initial_tsn.prev().0),
            window,
            max_message_size,
            received: BTreeMap::new(),
            duplicates: Vec::new(),
            runs: BTreeMap::new(),
            streams: BTreeMap::new(),
            ready: VecDeque::new(),
            held: 0,
            pending_reset: None,
            stash: Vec::new(),
        }
    }

    /// One DATA chunk: records its TSN and reassembles it. Drain [`poll`](Self::poll)
    /// afterwards.
    pub(crate) fn handle_data(&mut self, data: Data) -> DataOutcome {
        let tsn = self.extend(data.tsn);
        if tsn <= self.cumulative || self.has_received(tsn) {
            if self.duplicates.len() < MAX_DUPLICATES {
                self.duplicates.push(data.tsn);
            }
            return DataOutcome::Duplicate;
        }
        let lead = tsn - self.cumulative;
        if lead > u64::from(MAX_TSN_LEAD) {
            return DataOutcome::Dropped;
        }
        // Past the window only the next TSN is taken: it is what lets data flow again.
        if lead > 1 && self.held.saturating_add(data.payload.len()) > self.window as usize {
            return DataOutcome::Dropped;
        }
        self.record(tsn);
        if self
            .pending_reset
            .as_ref()
            .is_some_and(|reset| tsn > reset.last && reset.covers(data.stream))
        {
            self.held += data.payload.len();
            self.stash.push((tsn, data));
        } else {
            self.reassemble(tsn, data);
        }
        self.drop_dead_runs();
        DataOutcome::New
    }

    /// A `FORWARD-TSN` (RFC 3758 §3.6): moves the cumulative ack to its new cumulative
    /// TSN when that is ahead (a stale one, or one more than 2^31 - 1 ahead, is ignored),
    /// drops the fragments of messages starting at or below it, advances the listed
    /// ordered streams past their skipped SSNs and delivers what that unblocks. Drain
    /// [`poll`](Self::poll) afterwards.
    pub(crate) fn handle_forward_tsn(&mut self, forward: &ForwardTsn) {
        let forwarded = self.extend(forward.new_cumulative_tsn);
        if forwarded <= self.cumulative {
            return;
        }
        self.cumulative = forwarded;
        while let Some(entry) = self.received.first_entry() {
            if *entry.key() > forwarded {
                break;
            }
            let end = entry.remove();
            self.cumulative = self.cumulative.max(end);
        }
        self.absorb_first_range();
        while let Some(entry) = self.runs.first_entry() {
            if *entry.key() > forwarded {
                break;
            }
            let run = entry.remove();
            self.forget_run(&run);
        }
        let mut partial_on_skipped_streams = false;
        for &(stream_id, skipped) in &forward.streams {
            let stream = self.streams.entry(stream_id).or_default();
            let next = skipped.wrapping_add(1);
            if !ssn_after(next, stream.next_ssn) {
                continue;
            }
            // Complete messages up to the skipped SSN are delivered, in order.
            while let Some(delivery) = stream.take_first_waiting(stream.next_ssn, skipped) {
                self.ready.push_back(delivery);
            }
            stream.next_ssn = next;
            stream.release_in_order(&mut self.ready);
            partial_on_skipped_streams |= stream.runs > 0;
        }
        if partial_on_skipped_streams {
            self.drop_finished_ordered_runs();
        }
        self.drop_dead_runs();
    }

    /// The next complete message or oversize report, in delivery order.
    pub(crate) fn poll(&mut self) -> Option<Delivery> {
        let delivery = self.ready.pop_front()?;
        self.release(delivery.held_bytes());
        if self.ready.is_empty() && self.ready.capacity() > MAX_IDLE_READY_CAPACITY {
            // A burst is over: give its memory back.
            self.ready = VecDeque::new();
        }
        Some(delivery)
    }

    /// The cumulative TSN ack.
    pub(crate) fn cumulative_tsn(&self) -> Tsn {
        Tsn(self.cumulative as u32)
    }

    /// Whether TSNs above the cumulative ack have arrived (gaps exist).
    pub(crate) fn has_gaps(&self) -> bool {
        !self.received.is_empty()
    }

    /// A SACK for now: the cumulative ack, our window minus what is held, up to 64 gap
    /// blocks (ascending), and the duplicates seen since the last SACK, which are then
    /// forgotten.
    pub(crate) fn build_sack(&mut self) -> Sack {
        let base = self.cumulative;
        // Offsets fit: nothing is accepted more than 65 535 past the ack, which only grows.
        let offset = |tsn: u64| u16::try_from(tsn - base).unwrap_or(u16::MAX);
        Sack {
            cumulative_tsn_ack: self.cumulative_tsn(),
            a_rwnd: self.advertised_window(),
            gap_blocks: self
                .received
                .iter()
                .take(MAX_GAP_BLOCKS)
                .map(|(&start, &end)| (offset(start), offset(end)))
                .collect(),
            duplicates: std::mem::take(&mut self.duplicates),
        }
    }

    /// A peer's Outgoing SSN Reset Request (RFC 6525 §5.2.2) for `streams` (empty: every
    /// stream that carried data), whose data ends at `sender_last_tsn`.
    ///
    /// While a TSN up to `sender_last_tsn` is missing this returns `Err(Deferred)`, and
    /// data arriving meanwhile on those streams after `sender_last_tsn` is held back;
    /// call again once more data or a `FORWARD-TSN` arrived. Once performed, the streams
    /// expect SSN 0 next: messages already complete on them stay deliverable, partial
    /// ones sent before the reset are dropped, and the held-back data is processed.
    /// Returns the streams reset: those listed, or for "all" every stream with state.
    pub(crate) fn reset_incoming(
        &mut self,
        sender_last_tsn: Tsn,
        streams: &[u16],
    ) -> Result<Vec<u16>, Deferred> {
        let last = self.extend(sender_last_tsn);
        if last > self.cumulative {
            if !self
                .pending_reset
                .as_ref()
                .is_some_and(|reset| reset.is_for(last, streams))
            {
                let mut sorted = streams.to_vec();
                sorted.sort_unstable();
                sorted.dedup();
                self.pending_reset = Some(PendingReset {
                    last,
                    streams: sorted,
                });
            }
            return Err(Deferred);
        }
        let reset: Vec<u16> = if streams.is_empty() {
            self.streams.keys().copied().collect()
        } else {
            streams.to_vec()
        };
        for &stream in &reset {
            self.reset_stream(stream, last);
        }
        self.pending_reset = None;
        for (tsn, data) in std::mem::take(&mut self.stash) {
            self.release(data.payload.len());
            self.reassemble(tsn, data);
        }
        self.drop_dead_runs();
        Ok(reset)
    }

    /// Bytes held: out-of-order and partial messages, plus messages not yet polled.
    pub(crate) fn buffered(&self) -> usize {
        self.held
    }

    /// Our window minus what is held, saturating at 0.
    fn advertised_window(&self) -> u32 {
        self.window
            .saturating_sub(u32::try_from(self.held).unwrap_or(u32::MAX))
    }

    /// `tsn` extended to 64 bits against the cumulative ack.
    fn extend(&self, tsn: Tsn) -> u64 {
        self.cumulative
            .wrapping_add_signed(tsn.distance_from(self.cumulative_tsn()))
    }

    /// Whether `tsn`, above the cumulative ack, already arrived.
    fn has_received(&self, tsn: u64) -> bool {
        self.received
            .range(..=tsn)
            .next_back()
            .is_some_and(|(_, &end)| end >= tsn)
    }

    /// Records the arrival of `tsn`, new and above the cumulative ack.
    fn record(&mut self, tsn: u64) {
        if tsn == self.cumulative + 1 {
            self.cumulative = tsn;
            self.absorb_first_range();
            return;
        }
        let right_end = self.received.remove(&(tsn + 1));
        if let Some((_, end)) = self.received.range_mut(..tsn).next_back()
            && *end + 1 == tsn
        {
            *end = right_end.unwrap_or(tsn);
        } else {
            self.received.insert(tsn, right_end.unwrap_or(tsn));
        }
    }

    /// Advances the cumulative ack over the first received range if it now touches it.
    fn absorb_first_range(&mut self) {
        if let Some(entry) = self.received.first_entry()
            && *entry.key() == self.cumulative + 1
        {
            self.cumulative = entry.remove();
        }
    }

    /// Takes in a new fragment at `tsn`: delivers it if it is a whole message, or adds it
    /// to the runs.
    fn reassemble(&mut self, tsn: u64, data: Data) {
        if data.beginning && data.ending {
            self.complete_unfragmented(data);
            return;
        }
        if !data.unordered && self.has_finished(data.stream, data.ssn) {
            // A fragment of a message delivered, skipped or found too large: not kept.
            return;
        }
        let before = self
            .runs
            .range(..tsn)
            .next_back()
            .filter(|(_, run)| run.last + 1 == tsn && run.continues_with(&data))
            .map(|(&start, _)| start);
        let after = self
            .runs
            .get(&(tsn + 1))
            .is_some_and(|run| run.follows(&data));
        let start = match (before, after) {
            (None, false) => {
                self.held += data.payload.len();
                self.streams.entry(data.stream).or_default().runs += 1;
                self.runs.insert(tsn, Run::new(tsn, data));
                tsn
            }
            (Some(start), false) => {
                if let Some(run) = self.runs.get_mut(&start) {
                    self.held += run.push_back(tsn, data);
                }
                start
            }
            (None, true) => {
                if let Some(mut run) = self.runs.remove(&(tsn + 1)) {
                    self.held += run.push_front(data);
                    self.runs.insert(tsn, run);
                }
                tsn
            }
            (Some(start), true) => {
                if let Some(next) = self.take_run(tsn + 1)
                    && let Some(run) = self.runs.get_mut(&start)
                {
                    self.held += run.push_back(tsn, data);
                    let released = run.append(next);
                    self.release(released);
                }
                start
            }
        };
        self.settle_run(start);
    }

    /// Whether the ordered message `ssn` of `stream_id` is done with (see
    /// [`Stream::has_finished`]); a stream without state expects SSN 0.
    fn has_finished(&self, stream_id: u16, ssn: u16) -> bool {
        self.streams.get(&stream_id).map_or_else(
            || Stream::default().has_finished(ssn),
            |s| s.has_finished(ssn),
        )
    }

    /// Delivers a message that came in one chunk (B and E set), without copying it.
    fn complete_unfragmented(&mut self, data: Data) {
        let delivery = if data.payload.len() > self.max_message_size {
            Delivery::Oversize {
                stream: data.stream,
            }
        } else {
            self.held += data.payload.len();
            Delivery::Message(ReceivedMessage {
                stream: data.stream,
                ppid: data.ppid,
                payload: data.payload,
            })
        };
        if data.unordered {
            self.streams.entry(data.stream).or_default();
            self.ready.push_back(delivery);
        } else {
            self.deliver_ordered(data.stream, data.ssn, delivery);
        }
    }

    /// Hands the complete ordered message `ssn` of `stream_id` on: at once if it is the
    /// next one, later if an earlier one is missing, never if its SSN is done with.
    fn deliver_ordered(&mut self, stream_id: u16, ssn: u16, delivery: Delivery) {
        let stream = self.streams.entry(stream_id).or_default();
        if ssn == stream.next_ssn {
            self.ready.push_back(delivery);
            stream.next_ssn = ssn.wrapping_add(1);
            stream.release_in_order(&mut self.ready);
            return;
        }
        if ssn_after(ssn, stream.next_ssn)
            && let Entry::Vacant(slot) = stream.waiting.entry(ssn)
        {
            slot.insert(delivery);
            return;
        }
        // Its SSN was delivered or skipped already, or is taken: the peer misbehaves.
        self.release(delivery.held_bytes());
    }

    /// Checks the run starting at `start` after it grew: drops its payload if it is too
    /// large, reports that once, and delivers or forgets it once complete.
    fn settle_run(&mut self, start: u64) {
        let Some(run) = self.runs.get_mut(&start) else {
            return;
        };
        if run.bytes() > self.max_message_size {
            let released = run.make_oversize();
            self.held -= released;
            if let Some(ssn) = run.ssn {
                // The SSN alone names the message: report it in order, and drop its
                // later fragments as they come.
                let stream = run.stream;
                self.take_run(start);
                self.deliver_ordered(stream, ssn, Delivery::Oversize { stream });
                return;
            }
        }
        if run.begins
            && let Content::Oversize { reported } = &mut run.content
            && !*reported
        {
            // Only one run holds a message's B fragment: it reports.
            *reported = true;
            self.ready
                .push_back(Delivery::Oversize { stream: run.stream });
        }
        if !(run.begins && run.ends) {
            return;
        }
        let Some(run) = self.take_run(start) else {
            return;
        };
        if matches!(run.content, Content::Oversize { .. }) {
            return;
        }
        let (stream, ssn, ppid) = (run.stream, run.ssn, run.ppid);
        let delivery = Delivery::Message(ReceivedMessage {
            stream,
            ppid,
            payload: run.into_payload(),
        });
        match ssn {
            Some(ssn) => self.deliver_ordered(stream, ssn, delivery),
            None => self.ready.push_back(delivery),
        }
    }

    /// Removes the run starting at `start` from the runs and its stream's count; its
    /// bytes stay counted as held.
    fn take_run(&mut self, start: u64) -> Option<Run> {
        let run = self.runs.remove(&start)?;
        if let Some(stream) = self.streams.get_mut(&run.stream) {
            stream.runs -= 1;
        }
        Some(run)
    }

    /// Accounts for a run removed from the runs and dropped.
    fn forget_run(&mut self, run: &Run) {
        if let Some(stream) = self.streams.get_mut(&run.stream) {
            stream.runs -= 1;
        }
        self.release(run.bytes());
    }

    /// Drops the runs that can no longer complete: those starting at or below the
    /// cumulative ack (all TSNs before them arrived) unless they end right at it without
    /// the E bit, the only way left to grow (see the module docs).
    fn drop_dead_runs(&mut self) {
        while let Some(entry) = self.runs.first_entry() {
            let run = entry.get();
            if *entry.key() > self.cumulative || (run.last == self.cumulative && !run.ends) {
                break;
            }
            let run = entry.remove();
            self.forget_run(&run);
        }
    }

    /// Drops the ordered runs whose SSN their stream is done with (after a
    /// `FORWARD-TSN` skipped it).
    fn drop_finished_ordered_runs(&mut self) {
        let streams = &mut self.streams;
        let mut released = 0;
        self.runs.retain(|_, run| {
            let Some(ssn) = run.ssn else {
                return true;
            };
            let Some(stream) = streams.get_mut(&run.stream) else {
                return true;
            };
            if !stream.has_finished(ssn) {
                return true;
            }
            stream.runs -= 1;
            released += run.bytes();
            false
        });
        self.release(released);
    }

    /// Resets the incoming `stream_id` to SSN 0 for a request whose data ends at the
    /// extended TSN `last`, at or below the cumulative ack.
    fn reset_stream(&mut self, stream_id: u16, last: u64) {
        // Runs starting at or below the cumulative ack are few: only one can be alive.
        while let Some(start) = self
            .runs
            .range(..=last)
            .find(|(_, run)| run.stream == stream_id)
            .map(|(&start, _)| start)
        {
            if let Some(run) = self.runs.remove(&start) {
                self.forget_run(&run);
            }
        }
        let Some(stream) = self.streams.get_mut(&stream_id) else {
            return;
        };
        let from = stream.next_ssn;
        while let Some(delivery) = stream.take_first_waiting(from, from.wrapping_sub(1)) {
            self.ready.push_back(delivery);
        }
        stream.next_ssn = 0;
        if stream.is_pristine() {
            self.streams.remove(&stream_id);
        }
    }

    /// Accounts for `bytes` no longer held.
    fn release(&mut self, bytes: usize) {
        debug_assert!(bytes <= self.held, "releasing more than is held");
        self.held = self.held.saturating_sub(bytes);
    }
}

#[cfg(test)]
mod tests;
