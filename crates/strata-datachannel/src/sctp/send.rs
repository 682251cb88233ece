//! The sending side: per-stream queues, fragmentation, retransmission, congestion
//! control (RFC 9260 §6.3, §7) and partial reliability (RFC 3758).
//!
//! Messages wait whole in their stream's queue and are cut into DATA chunks only when
//! the congestion window lets them out, so a fragment always fits the packet it goes
//! in. The fragments of one message take consecutive TSNs (RFC 9260 §6.9): streams take
//! turns message by message.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::tsn::Tsn;
use super::wire::{DATA_HEADER_LEN, Data, ForwardTsn, Sack};
use super::{Config, SendOptions};

/// The packet size congestion control counts in.
const INITIAL_CWND_PACKETS: usize = 4;
/// Missing reports after which a chunk is fast-retransmitted (RFC 9260 §7.2.4).
const FAST_RETRANSMIT_MISSES: u8 = 3;

/// Retransmission timeout estimation (RFC 9260 §6.3.1).
#[derive(Debug)]
pub(crate) struct Rto {
    srtt: Option<Duration>,
    rttvar: Duration,
    current: Duration,
    min: Duration,
    max: Duration,
}

impl Rto {
    pub(crate) fn new(config: &Config) -> Self {
        Self {
            srtt: None,
            rttvar: Duration::ZERO,
            current: config.rto_initial,
            min: config.rto_min,
            max: config.rto_max,
        }
    }

    /// Folds in one measured round trip.
    pub(crate) fn measure(&mut self, rtt: Duration) {
        let srtt = match self.srtt {
            None => {
                self.rttvar = rtt / 2;
                rtt
            }
            Some(srtt) => {
                self.rttvar = self.rttvar * 3 / 4 + srtt.abs_diff(rtt) / 4;
                srtt * 7 / 8 + rtt / 8
            }
        };
        self.srtt = Some(srtt);
        self.current = (srtt + self.rttvar * 4).clamp(self.min, self.max);
    }

    /// The current timeout.
    pub(crate) fn get(&self) -> Duration {
        self.current
    }

    /// Doubles the timeout after it expired (RFC 9260 §6.3.3 E2), up to the maximum.
    pub(crate) fn back_off(&mut self) {
        self.current = (self.current * 2).min(self.max);
    }

    /// The smoothed round trip, once measured.
    pub(crate) fn srtt(&self) -> Option<Duration> {
        self.srtt
    }
}

/// A message waiting in its stream's queue.
#[derive(Debug)]
struct Queued {
    ppid: u32,
    payload: Bytes,
    /// Bytes of `payload` already cut into chunks.
    offset: usize,
    /// Assigned with the first fragment.
    ssn: u16,
    options: SendOptions,
    expires: Option<Instant>,
    id: u64,
}

#[derive(Debug, Default)]
struct OutStream {
    queue: VecDeque<Queued>,
    next_ssn: u16,
    /// Bytes queued or in flight, not yet acknowledged nor abandoned.
    buffered: usize,
    low_threshold: usize,
    /// In the round-robin list.
    scheduled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    InFlight,
    /// Acknowledged by a gap block; still held until the cumulative ack passes it.
    GapAcked,
    /// Waits to be sent again.
    Lost,
    /// Given up (partial reliability); a `FORWARD-TSN` skips it.
    Abandoned,
}

#[derive(Debug)]
struct Outstanding {
    data: Data,
    message: u64,
    sent_at: Instant,
    transmissions: u16,
    misses: u8,
    state: ChunkState,
    max_retransmits: Option<u16>,
    expires: Option<Instant>,
    /// Fast-retransmitted already in this recovery.
    fast_retransmitted: bool,
}

impl Outstanding {
    fn wire_len(&self) -> usize {
        DATA_HEADER_LEN + self.data.payload.len()
    }
}

/// What a SACK changed.
#[derive(Debug, Default)]
pub(crate) struct SackOutcome {
    /// The cumulative ack moved or gap blocks acknowledged new chunks.
    pub(crate) progress: bool,
    /// Every chunk sent is acknowledged or abandoned.
    pub(crate) all_acked: bool,
}

/// The sending half of an association.
#[derive(Debug)]
pub(crate) struct Sender {
    mtu: usize,
    next_tsn: Tsn,
    /// The peer's cumulative TSN ack.
    cumulative_ack: Tsn,
    /// TSN `cumulative_ack + 1 + i` at index `i`.
    outstanding: VecDeque<Outstanding>,
    streams: HashMap<u16, OutStream>,
    /// Streams with queued messages, in turn order.
    ready: VecDeque<u16>,
    /// The stream whose message is partly cut into chunks: it goes on first.
    current: Option<u16>,
    flight_size: usize,
    cwnd: usize,
    ssthresh: usize,
    partial_bytes_acked: usize,
    peer_rwnd: usize,
    fast_recovery_exit: Option<Tsn>,
    /// Chunks in [`ChunkState::Lost`].
    lost: usize,
    /// The next packet may break the congestion window once for fast retransmit.
    fast_retransmit_now: bool,
    /// The peer accepts `FORWARD-TSN`.
    partial_reliability: bool,
    forward_tsn_due: bool,
    pub(crate) rto: Rto,
    t3: Option<Instant>,
    next_message_id: u64,
    low_events: Vec<u16>,
    /// Bytes queued or in flight on every stream.
    total_buffered: usize,
    pub(crate) retransmitted_chunks: u64,
    pub(crate) fast_retransmits: u64,
    pub(crate) abandoned_messages: u64,
    pub(crate) bytes_acked: u64,
    pub(crate) timeouts: u64,
}

impl Sender {
    pub(crate) fn new(config: &Config, initial_tsn: Tsn) -> Self {
        let mtu = config.mtu;
        Self {
            mtu,
            next_tsn: initial_tsn,
            cumulative_ack: initial_tsn.prev(),
            outstanding: VecDeque::new(),
            streams: HashMap::new(),
            ready: VecDeque::new(),
            current: None,
            flight_size: 0,
            cwnd: INITIAL_CWND_PACKETS * mtu,
            ssthresh: usize::MAX,
            partial_bytes_acked: 0,
            peer_rwnd: 0,
            fast_recovery_exit: None,
            lost: 0,
            fast_retransmit_now: false,
            partial_reliability: false,
            forward_tsn_due: false,
            rto: Rto::new(config),
            t3: None,
            next_message_id: 0,
            low_events: Vec::new(),
            total_buffered: 0,
            retransmitted_chunks: 0,
            fast_retransmits: 0,
            abandoned_messages: 0,
            bytes_acked: 0,
            timeouts: 0,
        }
    }

    /// What the handshake told us about the peer.
    pub(crate) fn set_peer(&mut self, a_rwnd: u32, partial_reliability: bool) {
        self.peer_rwnd = a_rwnd as usize;
        self.partial_reliability = partial_reliability;
    }

    /// Queues a message. The caller checked the stream and that the payload is not empty.
    pub(crate) fn enqueue(
        &mut self,
        now: Instant,
        stream: u16,
        ppid: u32,
        payload: Bytes,
        options: SendOptions,
    ) {
        let len = payload.len();
        let id = self.next_message_id;
        self.next_message_id += 1;
        let expires = options.lifetime.map(|lifetime| now + lifetime);
        let out = self.streams.entry(stream).or_default();
        out.queue.push_back(Queued {
            ppid,
            payload,
            offset: 0,
            ssn: 0,
            options,
            expires,
            id,
        });
        out.buffered += len;
        self.total_buffered += len;
        if !out.scheduled {
            out.scheduled = true;
            self.ready.push_back(stream);
        }
    }

    /// Bytes queued or in flight on `stream`.
    pub(crate) fn buffered_amount(&self, stream: u16) -> usize {
        self.streams.get(&stream).map_or(0, |s| s.buffered)
    }

    /// Bytes queued or in flight on every stream.
    pub(crate) fn total_buffered(&self) -> usize {
        self.total_buffered
    }

    pub(crate) fn set_low_threshold(&mut self, stream: u16, threshold: usize) {
        self.streams.entry(stream).or_default().low_threshold = threshold;
    }

    /// Streams whose buffered amount fell to their threshold since the last call.
    pub(crate) fn take_low_events(&mut self) -> Vec<u16> {
        std::mem::take(&mut self.low_events)
    }

    /// Whether `stream` still has messages not wholly cut into chunks.
    pub(crate) fn has_queued(&self, stream: u16) -> bool {
        self.streams
            .get(&stream)
            .is_some_and(|s| !s.queue.is_empty())
    }

    /// The last TSN assigned.
    pub(crate) fn last_assigned_tsn(&self) -> Tsn {
        self.next_tsn.prev()
    }

    /// Restarts `stream`'s SSNs at 0 after a completed reset, and forgets the stream once
    /// it holds nothing.
    pub(crate) fn reset_stream(&mut self, stream: u16) {
        if let Some(out) = self.streams.get_mut(&stream) {
            out.next_ssn = 0;
            if out.queue.is_empty() && out.buffered == 0 && out.low_threshold == 0 {
                self.streams.remove(&stream);
            }
        }
    }

    /// Whether nothing is queued or unacknowledged.
    pub(crate) fn is_idle(&self) -> bool {
        self.outstanding.is_empty() && self.ready.is_empty() && self.current.is_none()
    }

    /// When the retransmission timer fires.
    pub(crate) fn t3_deadline(&self) -> Option<Instant> {
        self.t3
    }

    /// Whether a `FORWARD-TSN` should go out.
    pub(crate) fn forward_tsn_due(&self) -> bool {
        self.forward_tsn_due
    }

    fn window_open(&self) -> bool {
        self.flight_size < self.cwnd && (self.flight_size == 0 || self.peer_rwnd > 0)
    }

    /// Writes the next DATA chunk that fits in `room` bytes (chunk header included), or
    /// `None`. Retransmissions go first.
    pub(crate) fn next_chunk(&mut self, now: Instant, room: usize) -> Option<Data> {
        if self.lost > 0 {
            // Retransmissions wait for the window; new data must not overtake them.
            return if self.fast_retransmit_now || self.flight_size < self.cwnd {
                self.next_retransmission(now, room)
            } else {
                None
            };
        }
        if !self.window_open() || room <= DATA_HEADER_LEN {
            return None;
        }
        self.next_new_chunk(now, room)
    }

    /// The packet being built is complete: after a fast retransmission only the first
    /// packet may exceed the window.
    pub(crate) fn end_packet(&mut self) {
        self.fast_retransmit_now = false;
    }

    fn next_retransmission(&mut self, now: Instant, room: usize) -> Option<Data> {
        let index = self
            .outstanding
            .iter()
            .position(|c| c.state == ChunkState::Lost)?;
        if self.outstanding[index].wire_len() > room {
            return None;
        }
        let chunk = &mut self.outstanding[index];
        chunk.state = ChunkState::InFlight;
        chunk.transmissions = chunk.transmissions.saturating_add(1);
        chunk.sent_at = now;
        chunk.misses = 0;
        let len = chunk.wire_len();
        let data = chunk.data.clone();
        self.lost -= 1;
        self.flight_size += len;
        self.retransmitted_chunks += 1;
        self.arm_t3(now);
        Some(data)
    }

    fn next_new_chunk(&mut self, now: Instant, room: usize) -> Option<Data> {
        loop {
            let stream = match self.current {
                Some(stream) => stream,
                None => self.ready.pop_front()?,
            };
            let Some(out) = self.streams.get_mut(&stream) else {
                self.current = None;
                continue;
            };
            let Some(message) = out.queue.front_mut() else {
                out.scheduled = false;
                self.current = None;
                continue;
            };
            let beginning = message.offset == 0;
            if beginning && message.expires.is_some_and(|at| at <= now) {
                // Expired before its first byte went out: drop it quietly.
                let Some(expired) = out.queue.pop_front() else {
                    continue;
                };
                self.abandoned_messages += 1;
                let len = expired.payload.len();
                release(
                    out,
                    &mut self.total_buffered,
                    &mut self.low_events,
                    stream,
                    len,
                );
                self.requeue(stream);
                continue;
            }
            let remaining = message.payload.len() - message.offset;
            let take = remaining.min(room - DATA_HEADER_LEN);
            if beginning && take < remaining && room < self.mtu / 2 {
                // A fresh message that must be cut anyway starts in a fuller packet. (A
                // message at its beginning is never `current`: it came off `ready`.)
                self.ready.push_front(stream);
                return None;
            }
            if beginning {
                message.ssn = if message.options.unordered {
                    0
                } else {
                    let ssn = out.next_ssn;
                    out.next_ssn = out.next_ssn.wrapping_add(1);
                    ssn
                };
            }
            let payload = message.payload.slice(message.offset..message.offset + take);
            message.offset += take;
            let ending = message.offset == message.payload.len();
            let data = Data {
                tsn: self.next_tsn,
                stream,
                ssn: message.ssn,
                ppid: message.ppid,
                unordered: message.options.unordered,
                beginning,
                ending,
                immediate: false,
                payload,
            };
            let chunk = Outstanding {
                data: data.clone(),
                message: message.id,
                sent_at: now,
                transmissions: 1,
                misses: 0,
                state: ChunkState::InFlight,
                max_retransmits: message.options.max_retransmits,
                expires: message.expires,
                fast_retransmitted: false,
            };
            if ending {
                out.queue.pop_front();
                self.current = None;
                self.requeue(stream);
            } else {
                self.current = Some(stream);
            }
            self.next_tsn = self.next_tsn.next();
            self.flight_size += chunk.wire_len();
            self.peer_rwnd = self.peer_rwnd.saturating_sub(chunk.wire_len());
            self.outstanding.push_back(chunk);
            self.arm_t3(now);
            return Some(data);
        }
    }

    /// Starts the retransmission timer unless it runs already (RFC 9260 §6.3.2 R1).
    fn arm_t3(&mut self, now: Instant) {
        if self.t3.is_none() {
            self.t3 = Some(now + self.rto.get());
        }
    }

    /// Puts `stream` back in turn if it has more to send.
    fn requeue(&mut self, stream: u16) {
        if let Some(out) = self.streams.get_mut(&stream) {
            if out.queue.is_empty() {
                out.scheduled = false;
            } else {
                self.ready.push_back(stream);
            }
        }
    }

    /// A SHUTDOWN's cumulative ack (RFC 9260 §9.2): acknowledges as a SACK without gap
    /// blocks would, and leaves the peer's window as its last SACK advertised it (a
    /// SHUTDOWN carries none).
    pub(crate) fn handle_cumulative_ack(&mut self, now: Instant, tsn: Tsn) -> SackOutcome {
        let last_advertised = self.peer_rwnd.saturating_add(self.flight_size);
        let sack = Sack {
            cumulative_tsn_ack: tsn,
            a_rwnd: u32::try_from(last_advertised).unwrap_or(u32::MAX),
            ..Sack::default()
        };
        self.handle_sack(now, &sack)
    }

    /// Processes a SACK (RFC 9260 §6.2.1, §7.2).
    pub(crate) fn handle_sack(&mut self, now: Instant, sack: &Sack) -> SackOutcome {
        let mut outcome = SackOutcome::default();
        let cumulative = sack.cumulative_tsn_ack;
        if !cumulative.is_at_or_after(self.cumulative_ack)
            || cumulative.is_after(self.last_assigned_tsn())
        {
            // Old, or acknowledges what we never sent.
            outcome.all_acked = self.outstanding.is_empty();
            return outcome;
        }
        let flight_before = self.flight_size;
        let mut newly_acked = 0usize;
        let mut rtt_sample = None;
        let cumulative_advanced = cumulative.is_after(self.cumulative_ack);
        // Chunks up to the cumulative ack leave.
        while self.cumulative_ack != cumulative {
            let Some(chunk) = self.outstanding.pop_front() else {
                break;
            };
            self.cumulative_ack = self.cumulative_ack.next();
            self.settle(&chunk, now, &mut newly_acked, &mut rtt_sample);
        }
        self.cumulative_ack = cumulative;
        let mut highest_newly_acked =
            self.apply_gap_blocks(now, sack, &mut newly_acked, &mut rtt_sample);
        if cumulative_advanced && highest_newly_acked.is_none() {
            highest_newly_acked = Some(cumulative);
        }
        if let Some(rtt) = rtt_sample {
            self.rto.measure(rtt);
        }
        // Fast retransmit: chunks below the highest newly acknowledged TSN that are still
        // missing gather miss indications (RFC 9260 §7.2.4, HTNA). In fast recovery, a
        // SACK that advances the cumulative ack counts a miss for every TSN it reports
        // missing, up to its last gap block.
        let in_fast_recovery = self.fast_recovery_exit.is_some();
        let miss_limit = match sack.gap_blocks.last() {
            Some(&(_, end)) if in_fast_recovery && cumulative_advanced => {
                Some(Tsn(cumulative.0.wrapping_add(u32::from(end))))
            }
            _ => highest_newly_acked,
        };
        let mut fast = false;
        if let Some(highest) = miss_limit
            && !sack.gap_blocks.is_empty()
        {
            for chunk in &mut self.outstanding {
                if chunk.data.tsn.is_after(highest) {
                    break;
                }
                if chunk.state == ChunkState::InFlight && !chunk.fast_retransmitted {
                    chunk.misses = chunk.misses.saturating_add(1);
                    if chunk.misses >= FAST_RETRANSMIT_MISSES {
                        fast = true;
                    }
                }
            }
        }
        if let Some(exit) = self.fast_recovery_exit
            && cumulative.is_at_or_after(exit)
        {
            self.fast_recovery_exit = None;
        }
        if fast {
            self.fast_retransmit(now);
        }
        // Congestion window (RFC 9260 §7.2.1, §7.2.2).
        if cumulative_advanced && self.fast_recovery_exit.is_none() {
            let fully_used = flight_before + self.mtu >= self.cwnd;
            if self.cwnd <= self.ssthresh {
                if fully_used {
                    self.cwnd += newly_acked.min(self.mtu);
                }
            } else {
                self.partial_bytes_acked += newly_acked;
                if self.partial_bytes_acked >= self.cwnd && fully_used {
                    self.partial_bytes_acked -= self.cwnd;
                    self.cwnd += self.mtu;
                }
            }
        }
        self.peer_rwnd = (sack.a_rwnd as usize).saturating_sub(self.flight_size);
        outcome.progress = newly_acked > 0;
        // The retransmission timer (RFC 9260 §6.3.2 R2, R3).
        // Abandoned chunks at the front keep it running too: a lost `FORWARD-TSN` is sent
        // again when it fires (RFC 3758 §3.5 F3).
        if self.outstanding.is_empty() {
            self.t3 = None;
            // Nothing in flight: the next window starts counting afresh (§7.2.2).
            self.partial_bytes_acked = 0;
        } else if cumulative_advanced || self.t3.is_none() {
            self.t3 = Some(now + self.rto.get());
        }
        self.advance_ack_point();
        outcome.all_acked = self.outstanding.is_empty();
        outcome
    }

    /// Marks the chunks the SACK's gap blocks acknowledge. Returns the highest TSN newly
    /// acknowledged.
    ///
    /// A gap-acknowledged chunk stays acknowledged: a SACK that reordering delivers late
    /// reports fewer gaps without the peer having dropped anything, and WebRTC peers
    /// never renege (RFC 9260 §6.2.1 lets a receiver drop such chunks; one that did would
    /// be declared unreachable after its retransmission timeouts).
    fn apply_gap_blocks(
        &mut self,
        now: Instant,
        sack: &Sack,
        newly_acked: &mut usize,
        rtt_sample: &mut Option<Duration>,
    ) -> Option<Tsn> {
        let mut highest_newly_acked = None;
        for &(start, end) in &sack.gap_blocks {
            let (start, end) = (usize::from(start), usize::from(end));
            if start == 0 || end < start {
                continue;
            }
            for index in start - 1..end.min(self.outstanding.len()) {
                let chunk = &mut self.outstanding[index];
                match chunk.state {
                    ChunkState::InFlight => self.flight_size -= chunk.wire_len(),
                    ChunkState::Lost => self.lost -= 1,
                    ChunkState::GapAcked | ChunkState::Abandoned => continue,
                }
                chunk.state = ChunkState::GapAcked;
                *newly_acked += chunk.wire_len();
                if highest_newly_acked.is_none_or(|h: Tsn| chunk.data.tsn.is_after(h)) {
                    highest_newly_acked = Some(chunk.data.tsn);
                }
                if chunk.transmissions == 1 {
                    *rtt_sample = Some(now.saturating_duration_since(chunk.sent_at));
                }
                release_chunk(
                    &mut self.streams,
                    &mut self.total_buffered,
                    &mut self.low_events,
                    &mut self.bytes_acked,
                    chunk,
                );
            }
        }
        highest_newly_acked
    }

    /// Accounts a chunk that left the outstanding list under the cumulative ack.
    fn settle(
        &mut self,
        chunk: &Outstanding,
        now: Instant,
        newly_acked: &mut usize,
        rtt_sample: &mut Option<Duration>,
    ) {
        match chunk.state {
            ChunkState::InFlight | ChunkState::Lost => {
                if chunk.state == ChunkState::InFlight {
                    self.flight_size -= chunk.wire_len();
                } else {
                    self.lost -= 1;
                }
                *newly_acked += chunk.wire_len();
                if chunk.transmissions == 1 {
                    *rtt_sample = Some(now.saturating_duration_since(chunk.sent_at));
                }
                release_chunk(
                    &mut self.streams,
                    &mut self.total_buffered,
                    &mut self.low_events,
                    &mut self.bytes_acked,
                    chunk,
                );
            }
            ChunkState::GapAcked | ChunkState::Abandoned => {}
        }
    }

    fn fast_retransmit(&mut self, now: Instant) {
        if self.fast_recovery_exit.is_none() {
            self.ssthresh = (self.cwnd / 2).max(4 * self.mtu);
            self.cwnd = self.ssthresh;
            self.partial_bytes_acked = 0;
            self.fast_recovery_exit = Some(self.last_assigned_tsn());
        }
        let mut marked = Vec::new();
        for (index, chunk) in self.outstanding.iter_mut().enumerate() {
            if chunk.state == ChunkState::InFlight && chunk.misses >= FAST_RETRANSMIT_MISSES {
                chunk.fast_retransmitted = true;
                marked.push(index);
            }
        }
        for index in marked {
            self.mark_lost(now, index);
        }
        self.fast_retransmits += 1;
        self.fast_retransmit_now = true;
        self.advance_ack_point();
    }

    /// Marks chunk `index` for retransmission, or abandons its message when its
    /// reliability is spent.
    fn mark_lost(&mut self, now: Instant, index: usize) {
        let chunk = &self.outstanding[index];
        if chunk.state != ChunkState::InFlight {
            return;
        }
        let spent = chunk
            .max_retransmits
            .is_some_and(|max| chunk.transmissions > max)
            || chunk.expires.is_some_and(|at| at <= now);
        if spent && self.partial_reliability {
            let message = chunk.message;
            self.abandon(message);
            return;
        }
        let chunk = &mut self.outstanding[index];
        chunk.state = ChunkState::Lost;
        self.flight_size -= chunk.wire_len();
        self.lost += 1;
    }

    /// Abandons every chunk of `message`, and whatever of it is not yet cut.
    fn abandon(&mut self, message: u64) {
        let mut stream = None;
        for chunk in &mut self.outstanding {
            if chunk.message != message {
                continue;
            }
            match chunk.state {
                ChunkState::InFlight => self.flight_size -= chunk.wire_len(),
                ChunkState::Lost => self.lost -= 1,
                ChunkState::GapAcked | ChunkState::Abandoned => continue,
            }
            chunk.state = ChunkState::Abandoned;
            stream = Some(chunk.data.stream);
            let len = chunk.data.payload.len();
            if let Some(out) = self.streams.get_mut(&chunk.data.stream) {
                release(
                    out,
                    &mut self.total_buffered,
                    &mut self.low_events,
                    chunk.data.stream,
                    len,
                );
            }
        }
        let Some(stream) = stream else {
            return;
        };
        self.abandoned_messages += 1;
        // The rest of a message still being cut goes too.
        if let Some(out) = self.streams.get_mut(&stream)
            && out.queue.front().is_some_and(|m| m.id == message)
            && let Some(rest) = out.queue.pop_front()
        {
            let len = rest.payload.len() - rest.offset;
            release(
                out,
                &mut self.total_buffered,
                &mut self.low_events,
                stream,
                len,
            );
            if self.current == Some(stream) {
                self.current = None;
                self.requeue(stream);
            }
        }
        self.forward_tsn_due = true;
    }

    /// Moves past abandoned chunks at the front (RFC 3758 §3.5 C2); they are the
    /// "advanced peer ack point".
    fn advance_ack_point(&mut self) {
        if self
            .outstanding
            .front()
            .is_some_and(|c| c.state == ChunkState::Abandoned)
        {
            self.forward_tsn_due = true;
        }
    }

    /// Asks for the `FORWARD-TSN` again: the packet it was built for was full.
    pub(crate) fn request_forward_tsn(&mut self) {
        self.forward_tsn_due = true;
    }

    /// Builds the `FORWARD-TSN` for the abandoned chunks at the front, or `None` when
    /// there are none.
    pub(crate) fn forward_tsn(&mut self) -> Option<ForwardTsn> {
        self.forward_tsn_due = false;
        let mut new_cumulative = None;
        let mut streams: Vec<(u16, u16)> = Vec::new();
        for chunk in &self.outstanding {
            if chunk.state != ChunkState::Abandoned {
                break;
            }
            new_cumulative = Some(chunk.data.tsn);
            if !chunk.data.unordered {
                match streams.iter_mut().find(|(s, _)| *s == chunk.data.stream) {
                    Some(entry) => entry.1 = chunk.data.ssn,
                    None => streams.push((chunk.data.stream, chunk.data.ssn)),
                }
            }
        }
        Some(ForwardTsn {
            new_cumulative_tsn: new_cumulative?,
            streams,
        })
    }

    /// The retransmission timer fired (RFC 9260 §6.3.3). Returns `false` when nothing
    /// was outstanding.
    pub(crate) fn handle_t3(&mut self, now: Instant) -> bool {
        if self.t3.is_none_or(|at| at > now) {
            return false;
        }
        self.t3 = None;
        if self.outstanding.is_empty() {
            return false;
        }
        self.timeouts += 1;
        self.rto.back_off();
        self.ssthresh = (self.cwnd / 2).max(4 * self.mtu);
        self.cwnd = self.mtu;
        self.partial_bytes_acked = 0;
        self.fast_recovery_exit = None;
        for index in 0..self.outstanding.len() {
            self.mark_lost(now, index);
        }
        self.advance_ack_point();
        if self.forward_tsn_due || self.lost > 0 {
            self.t3 = Some(now + self.rto.get());
        }
        true
    }

    /// The congestion window, bytes.
    pub(crate) fn cwnd(&self) -> usize {
        self.cwnd
    }
}

/// Returns `len` bytes of `stream`'s buffered amount, noting a crossing of its threshold.
fn release(
    out: &mut OutStream,
    total: &mut usize,
    low_events: &mut Vec<u16>,
    stream: u16,
    len: usize,
) {
    let before = out.buffered;
    out.buffered = out.buffered.saturating_sub(len);
    *total = total.saturating_sub(len);
    if before > out.low_threshold && out.buffered <= out.low_threshold {
        low_events.push(stream);
    }
}

fn release_chunk(
    streams: &mut HashMap<u16, OutStream>,
    total: &mut usize,
    low_events: &mut Vec<u16>,
    bytes_acked: &mut u64,
    chunk: &Outstanding,
) {
    let len = chunk.data.payload.len();
    *bytes_acked += len as u64;
    if let Some(out) = streams.get_mut(&chunk.data.stream) {
        release(out, total, low_events, chunk.data.stream, len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shutdowns_cumulative_ack_keeps_the_peers_window() {
        let now = crate::sctp::test_epoch();
        let mut sender = Sender::new(&Config::default(), Tsn(1));
        sender.set_peer(4000, true);
        for _ in 0..3 {
            sender.enqueue(
                now,
                0,
                53,
                Bytes::from(vec![7; 1000]),
                SendOptions::default(),
            );
        }
        let first = sender.next_chunk(now, 1200).expect("a chunk");
        while sender.next_chunk(now, 1200).is_some() {}
        sender.handle_cumulative_ack(now, first.tsn);
        // 4000 advertised, the two chunks still in flight are charged against it.
        assert!(sender.peer_rwnd < 4000, "{}", sender.peer_rwnd);
        assert!(sender.peer_rwnd >= 4000 - 2 * 1016, "{}", sender.peer_rwnd);
    }
}
