//! The association: handshake (with INIT collisions, RFC 9260 §5.2), data transfer,
//! stream reset (RFC 6525), heartbeats, shutdown and abort.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};

use super::malformed::{MAX_TSN_LEAD, MalformedCounts, MalformedPacket};
use super::receive::{DataOutcome, Deferred, Delivery, Receiver};
use super::send::Sender;
use super::tsn::Tsn;
use super::wire::{
    Chunk, ErrorCause, Init, Packet, PacketWriter, ReconfigParam, ReconfigResult, Sack, cause,
};
use super::{CloseReason, Config, Event, SendError, SendOptions, State, Stats};

/// Chunk types we announce in Supported Extensions: RE-CONFIG and `FORWARD-TSN`.
const SUPPORTED_EXTENSIONS: [u8; 2] = [130, 192];
/// Control chunks queued for the next packet at most; beyond, the oldest replies are
/// dropped (the peer retransmits what it needs answered).
const MAX_CONTROL_CHUNKS: usize = 64;
/// Bytes of an abort reason we send.
const MAX_ABORT_REASON: usize = 128;

/// Where the association is, in RFC 9260's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Closed,
    CookieWait,
    CookieEchoed,
    Established,
    ShutdownPending,
    ShutdownSent,
    ShutdownReceived,
    ShutdownAckSent,
    Terminated,
}

/// What the peer told us in its INIT or `INIT-ACK`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PeerParams {
    tag: u32,
    a_rwnd: u32,
    /// Streams it sends on.
    outbound_streams: u16,
    /// Streams it accepts.
    inbound_streams: u16,
    initial_tsn: Tsn,
    forward_tsn: bool,
    reconfig: bool,
}

impl PeerParams {
    fn from_init(init: &Init) -> Self {
        Self {
            tag: init.initiate_tag,
            a_rwnd: init.a_rwnd,
            outbound_streams: init.outbound_streams,
            inbound_streams: init.inbound_streams,
            initial_tsn: init.initial_tsn,
            forward_tsn: init.forward_tsn_supported || init.supported_extensions.contains(&192),
            reconfig: init.supported_extensions.contains(&130),
        }
    }
}

/// A State Cookie we issued and the INIT it answers.
#[derive(Debug)]
struct IssuedCookie {
    cookie: Bytes,
    peer: PeerParams,
}

/// Our outstanding Outgoing SSN Reset Request.
#[derive(Debug)]
struct ResetRequest {
    seq: u32,
    streams: Vec<u16>,
    last_tsn: Tsn,
    deadline: Instant,
}

/// A peer's reset we answered "in progress": performed once its data is in.
#[derive(Debug)]
struct DeferredReset {
    seq: u32,
    last_tsn: Tsn,
    streams: Vec<u16>,
}

/// A retransmitting timer with back-off (T1 for the handshake, T2 for shutdown).
#[derive(Debug, Clone, Copy)]
struct Timer {
    deadline: Instant,
    timeout: Duration,
    count: u32,
}

impl Timer {
    fn start(now: Instant, timeout: Duration) -> Self {
        Self {
            deadline: now + timeout,
            timeout,
            count: 0,
        }
    }

    fn back_off(&mut self, now: Instant, max: Duration) {
        self.count += 1;
        self.timeout = (self.timeout * 2).min(max);
        self.deadline = now + self.timeout;
    }
}

/// When our next SACK goes out.
#[derive(Debug, Default)]
struct AckState {
    /// In the next packet.
    due: bool,
    /// When the delayed-ack timer fires.
    deadline: Option<Instant>,
    /// Packets with DATA since our last SACK.
    unacked_packets: u32,
}

/// What the chunks of one inbound packet asked for.
#[derive(Debug, Default)]
struct Inbound {
    /// DATA arrived.
    data_seen: bool,
    /// A `FORWARD-TSN` moved the cumulative TSN.
    forwarded: bool,
    /// A SACK must go out without delay.
    ack_now: bool,
}

/// `SplitMix64`: the stream of bits behind tags, the initial TSN and cookies.
#[derive(Debug)]
struct SplitMix(u64);

impl SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
}

/// A sans-IO SCTP association. See the [module docs](super).
#[derive(Debug)]
pub struct Association {
    config: Config,
    phase: Phase,
    my_tag: u32,
    my_initial_tsn: Tsn,
    random: SplitMix,
    epoch: Instant,
    peer: Option<PeerParams>,
    issued: Option<IssuedCookie>,
    /// The cookie to echo while in `COOKIE-ECHOED`.
    cookie_echo: Option<Bytes>,
    /// INIT or `COOKIE-ECHO` must go out.
    handshake_due: bool,
    t1: Option<Timer>,
    t2: Option<Timer>,
    sender: Sender,
    receiver: Option<Receiver>,
    ack: AckState,
    /// Chunks for the next packet.
    control: VecDeque<Chunk>,
    /// Packets that stand alone: INIT-ACK, ABORT, `SHUTDOWN-COMPLETE`.
    standalone: VecDeque<Bytes>,
    my_reconfig_seq: u32,
    resets_wanted: Vec<u16>,
    reset_in_flight: Option<ResetRequest>,
    reset_due: bool,
    peer_reconfig_seq: u32,
    last_peer_reset_result: ReconfigResult,
    deferred_reset: Option<DeferredReset>,
    heartbeat_deadline: Option<Instant>,
    heartbeat_unanswered: bool,
    /// Timeouts in a row with nothing acknowledged.
    errors: u32,
    events: VecDeque<Event>,
    malformed: MalformedCounts,
    packets_sent: u64,
    packets_received: u64,
    handshake_retransmits: u64,
    duplicate_chunks: u64,
}

impl Association {
    /// A closed association; [`connect`](Self::connect) starts the handshake, or a
    /// peer's INIT does.
    ///
    /// `seed` is where its verification tag, initial TSN and cookies come from: give each
    /// association fresh random bits (RFC 9260 §5.3.1 wants the tag unpredictable).
    pub fn new(config: Config, now: Instant, seed: u64) -> Self {
        let mut random = SplitMix(seed);
        let my_tag = loop {
            let tag = random.next_u32();
            if tag != 0 {
                break tag;
            }
        };
        let my_initial_tsn = Tsn(random.next_u32());
        let sender = Sender::new(&config, my_initial_tsn);
        Self {
            phase: Phase::Closed,
            my_tag,
            my_initial_tsn,
            random,
            epoch: now,
            peer: None,
            issued: None,
            cookie_echo: None,
            handshake_due: false,
            t1: None,
            t2: None,
            sender,
            receiver: None,
            ack: AckState::default(),
            control: VecDeque::new(),
            standalone: VecDeque::new(),
            my_reconfig_seq: my_initial_tsn.0,
            resets_wanted: Vec::new(),
            reset_in_flight: None,
            reset_due: false,
            peer_reconfig_seq: 0,
            last_peer_reset_result: ReconfigResult::SuccessNothingToDo,
            deferred_reset: None,
            heartbeat_deadline: None,
            heartbeat_unanswered: false,
            errors: 0,
            events: VecDeque::new(),
            malformed: MalformedCounts::default(),
            packets_sent: 0,
            packets_received: 0,
            handshake_retransmits: 0,
            duplicate_chunks: 0,
            config,
        }
    }

    /// Sends INIT. In WebRTC the DTLS client connects; both may, and the collision is
    /// resolved as RFC 9260 §5.2 says.
    pub fn connect(&mut self, now: Instant) {
        if self.phase != Phase::Closed {
            return;
        }
        self.phase = Phase::CookieWait;
        self.handshake_due = true;
        self.t1 = Some(Timer::start(now, self.config.rto_initial));
    }

    /// Where the association is.
    pub fn state(&self) -> State {
        match self.phase {
            Phase::Closed => State::Closed,
            Phase::CookieWait => State::CookieWait,
            Phase::CookieEchoed => State::CookieEchoed,
            Phase::Established => State::Established,
            Phase::ShutdownPending
            | Phase::ShutdownSent
            | Phase::ShutdownReceived
            | Phase::ShutdownAckSent => State::ShuttingDown,
            Phase::Terminated => State::Terminated,
        }
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        Stats {
            packets_sent: self.packets_sent,
            packets_received: self.packets_received,
            malformed_packets: self.malformed,
            retransmitted_chunks: self.sender.retransmitted_chunks,
            handshake_retransmits: self.handshake_retransmits,
            retransmission_timeouts: self.sender.timeouts,
            fast_retransmits: self.sender.fast_retransmits,
            abandoned_messages: self.sender.abandoned_messages,
            duplicate_chunks: self.duplicate_chunks,
            bytes_acked: self.sender.bytes_acked,
            srtt: self.sender.rto.srtt(),
            cwnd: self.sender.cwnd(),
            receive_buffered: self.receiver.as_ref().map_or(0, Receiver::buffered),
        }
    }

    /// Queues one message on `stream`.
    pub fn send(
        &mut self,
        now: Instant,
        stream: u16,
        ppid: u32,
        payload: Bytes,
        options: SendOptions,
    ) -> Result<(), SendError> {
        if self.phase != Phase::Established {
            return Err(SendError::NotOpen);
        }
        let accepts = self.peer.map_or(0, |p| p.inbound_streams);
        if stream >= accepts || self.is_resetting(stream) {
            return Err(SendError::InvalidStream(stream));
        }
        if payload.is_empty() {
            return Err(SendError::Empty);
        }
        self.sender.enqueue(now, stream, ppid, payload, options);
        Ok(())
    }

    fn is_resetting(&self, stream: u16) -> bool {
        self.resets_wanted.contains(&stream)
            || self
                .reset_in_flight
                .as_ref()
                .is_some_and(|r| r.streams.contains(&stream))
    }

    /// Bytes queued or in flight on `stream`, not yet acknowledged.
    pub fn buffered_amount(&self, stream: u16) -> usize {
        self.sender.buffered_amount(stream)
    }

    /// Bytes queued or in flight on every stream.
    pub fn total_buffered_amount(&self) -> usize {
        self.sender.total_buffered()
    }

    /// Sets the level at or below which [`Event::BufferedAmountLow`] fires for `stream`
    /// (when the amount falls from above it).
    pub fn set_buffered_amount_low_threshold(&mut self, stream: u16, threshold: usize) {
        self.sender.set_low_threshold(stream, threshold);
    }

    /// Resets these outgoing streams (RFC 6525): messages already queued on them are
    /// sent first, then the request; [`Event::OutgoingStreamsReset`] reports completion.
    /// In WebRTC this closes the channels.
    pub fn reset_streams(&mut self, streams: &[u16]) {
        for &stream in streams {
            if !self.is_resetting(stream) {
                self.resets_wanted.push(stream);
            }
        }
    }

    /// Starts a graceful shutdown: queued data is delivered first.
    pub fn shutdown(&mut self, now: Instant) {
        match self.phase {
            Phase::Established => {
                self.phase = Phase::ShutdownPending;
                self.progress_shutdown(now);
            }
            Phase::Closed | Phase::CookieWait | Phase::CookieEchoed => {
                self.abort("shutdown before the association was established");
            }
            _ => {}
        }
    }

    /// Sends ABORT and ends the association at once.
    pub fn abort(&mut self, reason: &str) {
        if self.phase == Phase::Terminated {
            return;
        }
        self.send_abort(cause::USER_INITIATED_ABORT, reason);
        self.terminate(CloseReason::Aborted);
    }

    fn send_abort(&mut self, code: u16, reason: &str) {
        let Some(peer) = self.peer else {
            return;
        };
        let end = reason
            .char_indices()
            .map(|(i, c)| i + c.len_utf8())
            .take_while(|end| *end <= MAX_ABORT_REASON)
            .last()
            .unwrap_or(0);
        let mut writer = self.writer(peer.tag);
        writer.push(&Chunk::Abort {
            reflected: false,
            causes: vec![ErrorCause {
                code,
                info: Bytes::copy_from_slice(&reason.as_bytes()[..end]),
            }],
        });
        self.standalone.push_back(writer.finish());
    }

    fn terminate(&mut self, reason: CloseReason) {
        if self.phase == Phase::Terminated {
            return;
        }
        self.phase = Phase::Terminated;
        self.t1 = None;
        self.t2 = None;
        self.ack.deadline = None;
        self.heartbeat_deadline = None;
        self.control.clear();
        self.drain_receiver();
        self.events.push_back(Event::Closed(reason));
    }

    fn writer(&self, tag: u32) -> PacketWriter {
        PacketWriter::new(self.config.local_port, self.config.remote_port, tag)
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) wants to run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.phase == Phase::Terminated {
            return None;
        }
        [
            self.t1.map(|t| t.deadline),
            self.t2.map(|t| t.deadline),
            self.sender.t3_deadline(),
            self.ack.deadline,
            self.reset_in_flight.as_ref().map(|r| r.deadline),
            self.heartbeat_deadline,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Fires the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.phase == Phase::Terminated {
            return;
        }
        if let Some(mut t1) = self.t1.filter(|t| t.deadline <= now) {
            if t1.count >= self.config.max_init_retransmits {
                self.terminate(CloseReason::HandshakeTimeout);
                return;
            }
            t1.back_off(now, self.config.rto_max);
            self.t1 = Some(t1);
            self.handshake_due = true;
            self.handshake_retransmits += 1;
        }
        if let Some(mut t2) = self.t2.filter(|t| t.deadline <= now) {
            if t2.count >= self.config.max_retransmits {
                self.terminate(CloseReason::PeerUnreachable);
                return;
            }
            t2.back_off(now, self.config.rto_max);
            self.t2 = Some(t2);
            self.queue_shutdown_chunk();
        }
        if self.sender.handle_t3(now) {
            self.errors += 1;
            if self.errors > self.config.max_retransmits {
                self.send_abort(cause::PROTOCOL_VIOLATION, "peer unreachable");
                self.terminate(CloseReason::PeerUnreachable);
                return;
            }
        }
        if self.ack.deadline.is_some_and(|at| at <= now) {
            self.ack.deadline = None;
            self.ack.due = true;
        }
        if let Some(request) = self.reset_in_flight.as_mut()
            && request.deadline <= now
        {
            request.deadline = now + self.sender.rto.get();
            self.reset_due = true;
        }
        if self.heartbeat_deadline.is_some_and(|at| at <= now) {
            if std::mem::replace(&mut self.heartbeat_unanswered, true) {
                self.errors += 1;
                if self.errors > self.config.max_retransmits {
                    self.terminate(CloseReason::PeerUnreachable);
                    return;
                }
            }
            let nanos = now.saturating_duration_since(self.epoch).as_nanos() as u64;
            self.push_control(Chunk::Heartbeat(Bytes::copy_from_slice(
                &nanos.to_be_bytes(),
            )));
            self.heartbeat_deadline = self
                .config
                .heartbeat_interval
                .map(|interval| now + interval + self.sender.rto.get());
        }
    }

    fn push_control(&mut self, chunk: Chunk) {
        if self.control.len() >= MAX_CONTROL_CHUNKS {
            self.control.pop_front();
        }
        self.control.push_back(chunk);
    }

    /// Handles one packet from the peer. Malformed or misaddressed packets are dropped
    /// and counted in [`Stats::malformed_packets`].
    pub fn handle_packet(&mut self, now: Instant, packet: &Bytes) {
        if self.phase == Phase::Terminated {
            return;
        }
        let packet = match Packet::parse(packet) {
            Ok(packet) => packet,
            Err(kind) => {
                self.malformed.add(kind);
                return;
            }
        };
        if !self.tag_accepted(&packet) {
            self.malformed.add(MalformedPacket::VerificationTag);
            return;
        }
        if let Err(kind) = self.check_tsn_window(&packet) {
            self.malformed.add(kind);
            return;
        }
        self.packets_received += 1;
        if let Some(interval) = self.config.heartbeat_interval
            && self.peer.is_some()
        {
            self.heartbeat_deadline = Some(now + interval);
        }
        let mut inbound = Inbound::default();
        for chunk in packet.chunks {
            if !self.handle_chunk(now, chunk, &mut inbound) || self.phase == Phase::Terminated {
                break;
            }
        }
        if self.phase == Phase::Terminated {
            return;
        }
        if inbound.data_seen {
            self.ack.unacked_packets += 1;
            let gaps = self.receiver.as_ref().is_some_and(Receiver::has_gaps);
            if inbound.ack_now
                || gaps
                || self.ack.unacked_packets >= 2
                || self.phase != Phase::Established
            {
                self.ack.due = true;
                self.ack.deadline = None;
            } else if self.ack.deadline.is_none() {
                let delay = self.config.delayed_ack.min(self.sender.rto.get() / 2);
                self.ack.deadline = Some(now + delay);
            }
        } else if inbound.ack_now {
            self.ack.due = true;
        }
        if inbound.data_seen || inbound.forwarded {
            self.retry_deferred_reset();
        }
        self.drain_receiver();
        self.collect_low_events();
    }

    /// One chunk of an accepted packet. Returns `false` when the rest of the packet must
    /// be skipped (RFC 9260 §3.2: an unknown chunk type whose upper bit is clear).
    fn handle_chunk(&mut self, now: Instant, chunk: Chunk, inbound: &mut Inbound) -> bool {
        match chunk {
            Chunk::Data(data) => {
                if !self.accepts_data() {
                    return true;
                }
                let Some(receiver) = self.receiver.as_mut() else {
                    return true;
                };
                inbound.data_seen = true;
                inbound.ack_now |= data.immediate;
                match receiver.handle_data(data) {
                    DataOutcome::New => {}
                    DataOutcome::Duplicate => {
                        self.duplicate_chunks += 1;
                        inbound.ack_now = true;
                    }
                    DataOutcome::Dropped => inbound.ack_now = true,
                }
            }
            Chunk::Init(init) => self.on_init(&init),
            Chunk::InitAck(init) => self.on_init_ack(now, &init),
            Chunk::CookieEcho(cookie) => self.on_cookie_echo(now, &cookie),
            Chunk::CookieAck => {
                if self.phase == Phase::CookieEchoed {
                    self.establish(now);
                }
            }
            Chunk::Sack(sack) => self.on_sack(now, &sack),
            Chunk::ForwardTsn(forward) => {
                if self.accepts_data()
                    && let Some(receiver) = self.receiver.as_mut()
                {
                    receiver.handle_forward_tsn(&forward);
                    inbound.ack_now = true;
                    inbound.forwarded = true;
                }
            }
            Chunk::Heartbeat(info) => self.push_control(Chunk::HeartbeatAck(info)),
            Chunk::HeartbeatAck(_) => {
                self.heartbeat_unanswered = false;
                self.errors = 0;
            }
            Chunk::Reconfig(params) => {
                self.drain_receiver();
                for param in params {
                    self.on_reconfig(now, param);
                }
            }
            Chunk::Abort { causes, .. } => {
                let text = describe(&causes);
                self.terminate(CloseReason::PeerAborted(text));
            }
            Chunk::Shutdown { cumulative_tsn_ack } => {
                self.on_shutdown(now, cumulative_tsn_ack);
            }
            Chunk::ShutdownAck => self.on_shutdown_ack(),
            Chunk::ShutdownComplete { .. } => {
                if self.phase == Phase::ShutdownAckSent {
                    self.terminate(CloseReason::Shutdown);
                }
            }
            Chunk::Error { .. } => {}
            Chunk::Unknown { kind, flags, value } => {
                if kind & 0x40 != 0 {
                    self.report_unknown_chunk(kind, flags, &value);
                }
                if kind & 0x80 == 0 {
                    return false;
                }
            }
        }
        true
    }

    /// DATA and `FORWARD-TSN` must stay within what a SACK can acknowledge of our
    /// cumulative TSN: a peer pointing further ahead is broken or hostile, and one
    /// absurd `FORWARD-TSN` would otherwise make every later chunk look old.
    fn check_tsn_window(&self, packet: &Packet) -> Result<(), MalformedPacket> {
        let Some(receiver) = self.receiver.as_ref() else {
            return Ok(());
        };
        let cumulative = receiver.cumulative_tsn();
        let lead = i64::from(MAX_TSN_LEAD);
        for chunk in &packet.chunks {
            match chunk {
                Chunk::Data(data) if data.tsn.distance_from(cumulative) > lead => {
                    return Err(MalformedPacket::DataTsnOutOfWindow);
                }
                Chunk::ForwardTsn(forward)
                    if forward.new_cumulative_tsn.distance_from(cumulative) > lead =>
                {
                    return Err(MalformedPacket::ForwardTsnOutOfWindow);
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn accepts_data(&self) -> bool {
        matches!(
            self.phase,
            Phase::Established | Phase::ShutdownPending | Phase::ShutdownSent
        )
    }

    /// RFC 9260 §8.5 and §8.5.1.
    fn tag_accepted(&self, packet: &Packet) -> bool {
        let tag = packet.verification_tag;
        match packet.chunks.first() {
            Some(Chunk::Init(_)) => tag == 0,
            Some(Chunk::Abort { reflected, .. } | Chunk::ShutdownComplete { reflected }) => {
                if *reflected {
                    self.peer.is_some_and(|p| p.tag == tag)
                } else {
                    tag == self.my_tag
                }
            }
            _ => tag == self.my_tag,
        }
    }

    fn report_unknown_chunk(&mut self, kind: u8, flags: u8, value: &Bytes) {
        let mut info = BytesMut::with_capacity(4 + value.len());
        info.put_u8(kind);
        info.put_u8(flags);
        info.put_u16(u16::try_from(4 + value.len()).unwrap_or(u16::MAX));
        info.put_slice(value);
        self.push_control(Chunk::Error {
            causes: vec![ErrorCause {
                code: cause::UNRECOGNIZED_CHUNK,
                info: info.freeze(),
            }],
        });
    }

    fn our_init(&self, cookie: Option<Bytes>, unrecognized: Vec<Bytes>) -> Init {
        Init {
            initiate_tag: self.my_tag,
            a_rwnd: self.config.receive_window,
            outbound_streams: self.config.streams,
            inbound_streams: self.config.streams,
            initial_tsn: self.my_initial_tsn,
            cookie,
            forward_tsn_supported: true,
            supported_extensions: SUPPORTED_EXTENSIONS.to_vec(),
            unrecognized,
            reported_unrecognized: Vec::new(),
        }
    }

    /// A peer's INIT: answered with an `INIT-ACK` carrying a cookie, in any state (RFC
    /// 9260 §5.1, and §5.2.1 for an INIT that crosses ours). No state is kept but the
    /// cookie, which only we can match. The same INIT again (duplicated, or resent
    /// because our `INIT-ACK` was slow) gets the same cookie: the peer may echo the
    /// first one it received.
    fn on_init(&mut self, init: &Init) {
        if init.initiate_tag == 0 || init.inbound_streams == 0 || init.outbound_streams == 0 {
            return;
        }
        let peer = PeerParams::from_init(init);
        let cookie = match &self.issued {
            Some(issued) if issued.peer == peer => issued.cookie.clone(),
            _ => {
                let mut cookie = BytesMut::with_capacity(32);
                cookie.put_u32(self.my_tag);
                cookie.put_u32(peer.tag);
                for _ in 0..3 {
                    cookie.put_u64(self.random.next_u64());
                }
                let cookie = cookie.freeze();
                self.issued = Some(IssuedCookie {
                    cookie: cookie.clone(),
                    peer,
                });
                cookie
            }
        };
        let ack = self.our_init(Some(cookie), init.unrecognized.clone());
        let mut writer = self.writer(peer.tag);
        writer.push(&Chunk::InitAck(ack));
        self.standalone.push_back(writer.finish());
    }

    fn on_init_ack(&mut self, now: Instant, init: &Init) {
        if self.phase != Phase::CookieWait || init.initiate_tag == 0 {
            return;
        }
        let Some(cookie) = init.cookie.clone() else {
            return;
        };
        let peer = PeerParams::from_init(init);
        self.adopt_peer(peer);
        self.cookie_echo = Some(cookie);
        self.phase = Phase::CookieEchoed;
        self.handshake_due = true;
        self.t1 = Some(Timer::start(now, self.sender.rto.get()));
    }

    fn adopt_peer(&mut self, peer: PeerParams) {
        self.peer = Some(peer);
        self.sender.set_peer(peer.a_rwnd, peer.forward_tsn);
        self.receiver = Some(Receiver::new(
            peer.initial_tsn,
            self.config.receive_window,
            self.config.max_message_size,
        ));
        self.peer_reconfig_seq = peer.initial_tsn.0;
    }

    fn on_cookie_echo(&mut self, now: Instant, cookie: &Bytes) {
        let Some(issued) = self.issued.as_ref().filter(|i| i.cookie == *cookie) else {
            return;
        };
        let peer = issued.peer;
        match self.phase {
            Phase::Closed | Phase::CookieWait | Phase::CookieEchoed => {
                if self.peer != Some(peer) {
                    self.adopt_peer(peer);
                }
                self.push_control(Chunk::CookieAck);
                self.establish(now);
            }
            _ if self.peer.is_some_and(|p| p.tag == peer.tag) => {
                // Our COOKIE-ACK was lost.
                self.push_control(Chunk::CookieAck);
            }
            _ => {
                // A restart (RFC 9260 §5.2.4 case A): WebRTC never restarts an
                // association, so the old one ends.
                self.send_abort(cause::PROTOCOL_VIOLATION, "restart not supported");
                self.terminate(CloseReason::ProtocolViolation(
                    "the peer restarted the association",
                ));
            }
        }
    }

    fn establish(&mut self, now: Instant) {
        self.phase = Phase::Established;
        self.t1 = None;
        self.handshake_due = false;
        self.cookie_echo = None;
        self.heartbeat_deadline = self.config.heartbeat_interval.map(|i| now + i);
        self.events.push_back(Event::Connected);
    }

    fn on_sack(&mut self, now: Instant, sack: &Sack) {
        if !matches!(
            self.phase,
            Phase::Established
                | Phase::ShutdownPending
                | Phase::ShutdownSent
                | Phase::ShutdownReceived
                | Phase::ShutdownAckSent
        ) {
            return;
        }
        let outcome = self.sender.handle_sack(now, sack);
        if outcome.progress {
            self.errors = 0;
        }
        if outcome.all_acked {
            self.progress_shutdown(now);
        }
    }

    fn on_shutdown(&mut self, now: Instant, cumulative_tsn_ack: Tsn) {
        match self.phase {
            Phase::Established | Phase::ShutdownPending | Phase::ShutdownReceived => {
                self.sender.handle_cumulative_ack(now, cumulative_tsn_ack);
                self.phase = Phase::ShutdownReceived;
                self.progress_shutdown(now);
            }
            Phase::ShutdownSent => {
                self.phase = Phase::ShutdownAckSent;
                self.t2 = Some(Timer::start(now, self.sender.rto.get()));
                self.queue_shutdown_chunk();
            }
            _ => {}
        }
    }

    fn on_shutdown_ack(&mut self) {
        if !matches!(self.phase, Phase::ShutdownSent | Phase::ShutdownAckSent) {
            return;
        }
        if let Some(peer) = self.peer {
            let mut writer = self.writer(peer.tag);
            writer.push(&Chunk::ShutdownComplete { reflected: false });
            self.standalone.push_back(writer.finish());
        }
        self.terminate(CloseReason::Shutdown);
    }

    /// Moves a pending shutdown on once everything we sent is acknowledged.
    fn progress_shutdown(&mut self, now: Instant) {
        if !self.sender.is_idle() {
            return;
        }
        let next = match self.phase {
            Phase::ShutdownPending => Phase::ShutdownSent,
            Phase::ShutdownReceived => Phase::ShutdownAckSent,
            _ => return,
        };
        self.phase = next;
        self.t2 = Some(Timer::start(now, self.sender.rto.get()));
        self.queue_shutdown_chunk();
    }

    fn queue_shutdown_chunk(&mut self) {
        let chunk = match self.phase {
            Phase::ShutdownSent => Chunk::Shutdown {
                cumulative_tsn_ack: self
                    .receiver
                    .as_ref()
                    .map_or(Tsn::default(), Receiver::cumulative_tsn),
            },
            Phase::ShutdownAckSent => Chunk::ShutdownAck,
            _ => return,
        };
        self.push_control(chunk);
    }

    fn on_reconfig(&mut self, now: Instant, param: ReconfigParam) {
        if !matches!(
            self.phase,
            Phase::Established | Phase::ShutdownPending | Phase::ShutdownReceived
        ) {
            return;
        }
        match param {
            ReconfigParam::OutgoingReset {
                request_seq,
                sender_last_tsn,
                streams,
                ..
            } => self.on_peer_reset(request_seq, sender_last_tsn, streams),
            ReconfigParam::IncomingReset { request_seq, .. } => {
                self.respond_reconfig(request_seq, ReconfigResult::Denied);
            }
            ReconfigParam::Response {
                response_seq,
                result,
            } => self.on_reset_response(now, response_seq, result),
            ReconfigParam::Other { kind, value } => {
                // SSN/TSN reset (15) and add-streams requests (17, 18) start with their
                // request sequence number; we perform none of them.
                if matches!(kind, 15 | 17 | 18) && value.len() >= 4 {
                    let seq = u32::from_be_bytes([value[0], value[1], value[2], value[3]]);
                    self.respond_reconfig(seq, ReconfigResult::Denied);
                }
            }
        }
    }

    fn respond_reconfig(&mut self, response_seq: u32, result: ReconfigResult) {
        self.push_control(Chunk::Reconfig(vec![ReconfigParam::Response {
            response_seq,
            result,
        }]));
    }

    /// A peer's Outgoing SSN Reset Request (RFC 6525 §5.2.2).
    fn on_peer_reset(&mut self, seq: u32, last_tsn: Tsn, streams: Vec<u16>) {
        if self.deferred_reset.as_ref().is_some_and(|d| d.seq == seq) {
            self.retry_deferred_reset();
            let result = if self.deferred_reset.is_some() {
                ReconfigResult::InProgress
            } else {
                self.last_peer_reset_result
            };
            self.respond_reconfig(seq, result);
            return;
        }
        if seq == self.peer_reconfig_seq.wrapping_sub(1) {
            self.respond_reconfig(seq, self.last_peer_reset_result);
            return;
        }
        if seq != self.peer_reconfig_seq || self.deferred_reset.is_some() {
            self.respond_reconfig(seq, ReconfigResult::ErrorBadSequenceNumber);
            return;
        }
        self.deferred_reset = Some(DeferredReset {
            seq,
            last_tsn,
            streams,
        });
        self.retry_deferred_reset();
        let result = if self.deferred_reset.is_some() {
            ReconfigResult::InProgress
        } else {
            self.last_peer_reset_result
        };
        self.respond_reconfig(seq, result);
    }

    /// Performs a deferred peer reset once its data is all in.
    fn retry_deferred_reset(&mut self) {
        let (Some(deferred), Some(receiver)) =
            (self.deferred_reset.as_ref(), self.receiver.as_mut())
        else {
            return;
        };
        match receiver.reset_incoming(deferred.last_tsn, &deferred.streams) {
            Err(Deferred) => {}
            Ok(streams) => {
                self.deferred_reset = None;
                self.peer_reconfig_seq = self.peer_reconfig_seq.wrapping_add(1);
                self.last_peer_reset_result = ReconfigResult::SuccessPerformed;
                self.drain_receiver();
                self.events.push_back(Event::IncomingStreamsReset(streams));
            }
        }
    }

    fn on_reset_response(&mut self, now: Instant, seq: u32, result: ReconfigResult) {
        let Some(request) = self.reset_in_flight.as_ref().filter(|r| r.seq == seq) else {
            return;
        };
        match result {
            ReconfigResult::InProgress => {
                let deadline = now + self.sender.rto.get();
                if let Some(request) = self.reset_in_flight.as_mut() {
                    request.deadline = deadline;
                }
            }
            ReconfigResult::SuccessPerformed | ReconfigResult::SuccessNothingToDo => {
                let streams = request.streams.clone();
                for &stream in &streams {
                    self.sender.reset_stream(stream);
                }
                self.finish_reset(streams);
            }
            _ => {
                // Denied or failed: the channels are closed on our side all the same.
                let streams = request.streams.clone();
                self.finish_reset(streams);
            }
        }
    }

    fn finish_reset(&mut self, streams: Vec<u16>) {
        self.reset_in_flight = None;
        self.reset_due = false;
        self.my_reconfig_seq = self.my_reconfig_seq.wrapping_add(1);
        self.events.push_back(Event::OutgoingStreamsReset(streams));
    }

    /// Starts the next Outgoing SSN Reset Request when none is in flight and the
    /// streams' queued data is all out (RFC 6525 §5.1.2).
    fn start_reset(&mut self, now: Instant) {
        if self.reset_in_flight.is_some()
            || self.resets_wanted.is_empty()
            || !matches!(self.phase, Phase::Established | Phase::ShutdownPending)
        {
            return;
        }
        let sender = &self.sender;
        let (ready, waiting): (Vec<u16>, Vec<u16>) = self
            .resets_wanted
            .iter()
            .partition(|&&stream| !sender.has_queued(stream));
        if ready.is_empty() {
            return;
        }
        if self.peer.is_some_and(|p| !p.reconfig) {
            // The peer cannot reset streams: the channels close on our side only.
            self.resets_wanted = waiting;
            self.events.push_back(Event::OutgoingStreamsReset(ready));
            return;
        }
        self.resets_wanted = waiting;
        self.reset_in_flight = Some(ResetRequest {
            seq: self.my_reconfig_seq,
            streams: ready,
            last_tsn: self.sender.last_assigned_tsn(),
            deadline: now + self.sender.rto.get(),
        });
        self.reset_due = true;
    }

    fn reset_request_chunk(&self) -> Option<Chunk> {
        let request = self.reset_in_flight.as_ref()?;
        Some(Chunk::Reconfig(vec![ReconfigParam::OutgoingReset {
            request_seq: request.seq,
            response_seq: self.peer_reconfig_seq.wrapping_sub(1),
            sender_last_tsn: request.last_tsn,
            streams: request.streams.clone(),
        }]))
    }

    fn drain_receiver(&mut self) {
        let Some(receiver) = self.receiver.as_mut() else {
            return;
        };
        while let Some(delivery) = receiver.poll() {
            self.events.push_back(match delivery {
                Delivery::Message(message) => Event::Message(message),
                Delivery::Oversize { stream } => Event::OversizeMessage { stream },
            });
        }
    }

    fn collect_low_events(&mut self) {
        for stream in self.sender.take_low_events() {
            self.events.push_back(Event::BufferedAmountLow { stream });
        }
    }

    /// The next packet to send, at most [`Config::mtu`] bytes.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Bytes> {
        if let Some(packet) = self.standalone.pop_front() {
            self.packets_sent += 1;
            return Some(packet);
        }
        if self.phase == Phase::Terminated {
            return None;
        }
        if self.handshake_due && self.phase == Phase::CookieWait {
            self.handshake_due = false;
            let mut writer = self.writer(0);
            writer.push(&Chunk::Init(self.our_init(None, Vec::new())));
            self.packets_sent += 1;
            return Some(writer.finish());
        }
        let peer = self.peer?;
        self.start_reset(now);
        let mut writer = self.writer(peer.tag);
        let mtu = self.config.mtu;
        if self.handshake_due && self.phase == Phase::CookieEchoed {
            self.handshake_due = false;
            if let Some(cookie) = self.cookie_echo.clone() {
                writer.push(&Chunk::CookieEcho(cookie));
            }
        }
        while let Some(chunk) = self.control.front() {
            if !writer.is_empty() && writer.len() + chunk.wire_len() > mtu {
                break;
            }
            if let Some(chunk) = self.control.pop_front() {
                writer.push(&chunk);
            }
        }
        if self.ack.due
            && let Some(receiver) = self.receiver.as_mut()
        {
            let sack = Chunk::Sack(receiver.build_sack());
            if writer.is_empty() || writer.len() + sack.wire_len() <= mtu {
                writer.push(&sack);
                self.ack.due = false;
                self.ack.deadline = None;
                self.ack.unacked_packets = 0;
            }
        }
        // A `FORWARD-TSN` ends its packet: webrtc-sctp 0.17 reads whatever follows it as
        // more of its stream entries and drops the whole packet.
        if self.sender.forward_tsn_due()
            && let Some(forward) = self.sender.forward_tsn()
        {
            let chunk = Chunk::ForwardTsn(forward);
            if writer.is_empty() || writer.len() + chunk.wire_len() <= mtu {
                writer.push(&chunk);
            } else {
                // It goes first in the next packet.
                self.sender.request_forward_tsn();
            }
            self.packets_sent += 1;
            return Some(writer.finish());
        }
        if self.reset_due
            && let Some(chunk) = self.reset_request_chunk()
            && (writer.is_empty() || writer.len() + chunk.wire_len() <= mtu)
        {
            writer.push(&chunk);
            self.reset_due = false;
        }
        if matches!(
            self.phase,
            Phase::Established | Phase::ShutdownPending | Phase::ShutdownReceived
        ) {
            while let Some(data) = self
                .sender
                .next_chunk(now, mtu.saturating_sub(writer.len()))
            {
                writer.push_data(&data);
            }
            self.sender.end_packet();
            self.collect_low_events();
        }
        if writer.is_empty() {
            return None;
        }
        self.packets_sent += 1;
        Some(writer.finish())
    }
}

/// A readable summary of an ABORT's error causes.
fn describe(causes: &[ErrorCause]) -> String {
    let mut text = String::new();
    for cause in causes {
        if !text.is_empty() {
            text.push_str("; ");
        }
        let name = match cause.code {
            cause::INVALID_STREAM => "invalid stream identifier",
            cause::MISSING_PARAMETER => "missing mandatory parameter",
            cause::STALE_COOKIE => "stale cookie",
            cause::OUT_OF_RESOURCE => "out of resource",
            cause::UNRECOGNIZED_CHUNK => "unrecognized chunk type",
            cause::INVALID_MANDATORY_PARAMETER => "invalid mandatory parameter",
            cause::NO_USER_DATA => "no user data",
            cause::USER_INITIATED_ABORT => "user-initiated abort",
            cause::PROTOCOL_VIOLATION => "protocol violation",
            _ => "error cause",
        };
        text.push_str(name);
        if matches!(
            cause.code,
            cause::USER_INITIATED_ABORT | cause::PROTOCOL_VIOLATION
        ) && !cause.info.is_empty()
        {
            text.push_str(": ");
            text.push_str(&String::from_utf8_lossy(&cause.info));
        } else if !matches!(
            cause.code,
            cause::INVALID_STREAM
                | cause::MISSING_PARAMETER
                | cause::STALE_COOKIE
                | cause::OUT_OF_RESOURCE
                | cause::UNRECOGNIZED_CHUNK
                | cause::INVALID_MANDATORY_PARAMETER
                | cause::NO_USER_DATA
        ) {
            let _ = write!(text, " {}", cause.code);
        }
    }
    if text.is_empty() {
        text.push_str("no cause given");
    }
    text
}
