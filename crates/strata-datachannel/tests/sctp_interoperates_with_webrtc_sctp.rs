//! Our sans-IO SCTP association and webrtc-sctp 0.17.2, a stack that is not ours, talk
//! to each other over real UDP sockets on 127.0.0.1: handshakes from either side,
//! messages of every size both ways, unordered and partially reliable delivery with
//! `FORWARD-TSN`, stream resets both ways, and the ends of an association.
//!
//! Our association runs in a small driver task (socket, timer, commands); webrtc-sctp
//! gets the other socket. The driver reads every packet either way it passes (chunk
//! types, TSNs, flags) so the tests can check what crossed the wire, and can drop
//! chosen packets to make partial reliability do something.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::future::Future;
use std::net::Shutdown;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use strata_datachannel::sctp::{
    Association, CloseReason, Config, Event, ReceivedMessage, SendOptions, State, Stats,
};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};
use webrtc_sctp::association::{Association as PeerAssociation, Config as PeerConfig};
use webrtc_sctp::chunk::chunk_payload_data::PayloadProtocolIdentifier;
use webrtc_sctp::stream::{ReliabilityType, Stream};

/// How long any one wait may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(10);
/// The largest message either side is configured to carry.
const LARGEST_MESSAGE: usize = 256 * 1024;
/// WebRTC's payload protocol identifiers for a string and a binary message.
const PPID_STRING: u32 = 51;
const PPID_BINARY: u32 = 53;
/// Set to print every packet the driver passes, with its chunks, to stderr.
const TRACE_VARIABLE: &str = "SCTP_INTEROP_TRACE";

// ---------------------------------------------------------------------------------
// Payloads

/// `len` bytes that depend on `index` and on their position; from four bytes on, the
/// first four name the index so a message can be recognised out of order.
fn payload(index: u32, len: usize) -> Bytes {
    let mut bytes = vec![0; len];
    StdRng::seed_from_u64(u64::from(index) ^ 0x5c7a_0000_0000).fill_bytes(&mut bytes);
    if len >= 4 {
        bytes[..4].copy_from_slice(&index.to_be_bytes());
    }
    Bytes::from(bytes)
}

/// The index a message of four bytes or more names.
fn index_of(message: &[u8]) -> u32 {
    u32::from_be_bytes(
        message[..4]
            .try_into()
            .expect("a message of at least four bytes"),
    )
}

/// Waits for `future`, failing the test after [`PATIENCE`].
async fn within<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(PATIENCE, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing within {PATIENCE:?}"))
}

// ---------------------------------------------------------------------------------
// What crossed the wire

/// Serial-number order (RFC 1982) of two TSNs: whether `a` comes after `b`.
fn tsn_after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// The later of `current` (if any) and `candidate`.
fn later_tsn(current: Option<u32>, candidate: u32) -> Option<u32> {
    current
        .filter(|tsn| !tsn_after(candidate, *tsn))
        .or(Some(candidate))
}

/// DATA chunks seen on one stream, by their U bit.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct DataChunks {
    ordered: u64,
    unordered: u64,
}

/// An Outgoing SSN Reset Request parameter (RFC 6525 §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ResetRequest {
    sender_last_tsn: u32,
    streams: Vec<u16>,
    /// The highest DATA TSN that had gone the same way before this request.
    highest_tsn_before: Option<u32>,
}

/// What the packets going one way carried.
#[derive(Debug, Default)]
struct Flow {
    /// The highest TSN of any DATA chunk.
    highest_tsn: Option<u32>,
    /// The highest cumulative TSN ack of any SACK (acknowledging the other way's DATA).
    cumulative_ack: Option<u32>,
    forward_tsns: u64,
    data: BTreeMap<u16, DataChunks>,
    reset_requests: Vec<ResetRequest>,
    /// Indices of the messages on the lossy stream with a chunk in a dropped packet.
    lost: BTreeSet<u32>,
    /// TSNs in dropped packets: their retransmissions pass.
    dropped_tsns: HashSet<u32>,
    /// The message each DATA chunk on the lossy stream belongs to, by TSN.
    message_by_tsn: HashMap<u32, u32>,
}

/// Which way a packet goes, seen from our association.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Outbound,
    Inbound,
}

/// Packets the driver drops as if the network lost them: each packet going
/// `direction` that carries the first transmission of a DATA chunk of a message on
/// `stream` whose index is 2 more than a multiple of 5.
#[derive(Debug, Clone, Copy)]
struct Loss {
    direction: Direction,
    stream: u16,
}

fn is_lost_index(index: u32) -> bool {
    index % 5 == 2
}

/// Both ways.
#[derive(Debug, Default)]
struct Wire {
    outbound: Flow,
    inbound: Flow,
}

/// One chunk as the wire tap reads it.
#[derive(Debug)]
enum Seen {
    Data {
        tsn: u32,
        stream: u16,
        unordered: bool,
        beginning: bool,
        payload: Bytes,
    },
    Sack {
        cumulative_ack: u32,
    },
    ForwardTsn {
        new_cumulative_tsn: u32,
    },
    Reconfig(Vec<ResetRequest>),
    Other(u8),
}

fn be16(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}

fn be32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// The chunks of an SCTP packet (RFC 9260 §3), read just far enough for the checks here.
fn chunks_of(packet: &Bytes) -> Vec<Seen> {
    let mut chunks = Vec::new();
    let mut at = 12;
    while at + 4 <= packet.len() {
        let kind = packet[at];
        let flags = packet[at + 1];
        let len = usize::from(be16(packet, at + 2));
        if len < 4 || at + len > packet.len() {
            break;
        }
        let body = packet.slice(at..at + len);
        chunks.push(match kind {
            0 if len >= 16 => Seen::Data {
                tsn: be32(&body, 4),
                stream: be16(&body, 8),
                unordered: flags & 0x04 != 0,
                beginning: flags & 0x02 != 0,
                payload: body.slice(16..),
            },
            3 if len >= 8 => Seen::Sack {
                cumulative_ack: be32(&body, 4),
            },
            192 if len >= 8 => Seen::ForwardTsn {
                new_cumulative_tsn: be32(&body, 4),
            },
            130 => Seen::Reconfig(reset_requests_in(&body)),
            other => Seen::Other(other),
        });
        at += len.next_multiple_of(4);
    }
    chunks
}

/// The Outgoing SSN Reset Request parameters of a RE-CONFIG chunk.
fn reset_requests_in(chunk: &[u8]) -> Vec<ResetRequest> {
    let mut requests = Vec::new();
    let mut at = 4;
    while at + 4 <= chunk.len() {
        let kind = be16(chunk, at);
        let len = usize::from(be16(chunk, at + 2));
        if len < 4 || at + len > chunk.len() {
            break;
        }
        if kind == 13 && len >= 16 {
            requests.push(ResetRequest {
                sender_last_tsn: be32(chunk, at + 12),
                streams: (at + 16..at + len)
                    .step_by(2)
                    .map(|offset| be16(chunk, offset))
                    .collect(),
                highest_tsn_before: None,
            });
        }
        at += len.next_multiple_of(4);
    }
    requests
}

impl Flow {
    /// Notes the chunks of a packet going this way; returns whether to drop the packet.
    fn record(&mut self, chunks: &[Seen], loss: Option<Loss>) -> bool {
        // The message each DATA chunk on the lossy stream belongs to.
        let messages: Vec<Option<u32>> = chunks
            .iter()
            .map(|chunk| match (chunk, loss) {
                (Seen::Data { tsn, stream, .. }, Some(loss)) if *stream == loss.stream => {
                    self.message_of(chunk, *tsn)
                }
                _ => None,
            })
            .collect();
        let drop = chunks.iter().zip(&messages).any(|(chunk, message)| {
            matches!((chunk, message), (Seen::Data { tsn, .. }, Some(index))
                if is_lost_index(*index) && !self.dropped_tsns.contains(tsn))
        });
        for (chunk, message) in chunks.iter().zip(messages) {
            match chunk {
                Seen::Data {
                    tsn,
                    stream,
                    unordered,
                    ..
                } => {
                    self.highest_tsn = later_tsn(self.highest_tsn, *tsn);
                    let counts = self.data.entry(*stream).or_default();
                    if *unordered {
                        counts.unordered += 1;
                    } else {
                        counts.ordered += 1;
                    }
                    if drop {
                        self.dropped_tsns.insert(*tsn);
                        self.lost.extend(message);
                    }
                }
                Seen::Sack { cumulative_ack } if !drop => {
                    self.cumulative_ack = later_tsn(self.cumulative_ack, *cumulative_ack);
                }
                Seen::ForwardTsn { .. } if !drop => self.forward_tsns += 1,
                Seen::Reconfig(requests) if !drop => {
                    self.reset_requests
                        .extend(requests.iter().map(|request| ResetRequest {
                            highest_tsn_before: self.highest_tsn,
                            ..request.clone()
                        }));
                }
                _ => {}
            }
        }
        drop
    }

    /// The index of the message a DATA chunk on the lossy stream belongs to: named by
    /// its first fragment, which the fragments after it follow TSN by TSN.
    fn message_of(&mut self, chunk: &Seen, tsn: u32) -> Option<u32> {
        let Seen::Data {
            beginning, payload, ..
        } = chunk
        else {
            return None;
        };
        let index = if *beginning && payload.len() >= 4 {
            Some(index_of(payload))
        } else {
            self.message_by_tsn.get(&tsn.wrapping_sub(1)).copied()
        }?;
        self.message_by_tsn.insert(tsn, index);
        Some(index)
    }
}

fn describe(chunks: &[Seen]) -> String {
    let mut line = String::new();
    for chunk in chunks {
        let _ = match chunk {
            Seen::Data {
                tsn,
                stream,
                unordered,
                payload,
                ..
            } => write!(
                line,
                " DATA(tsn={tsn} sid={stream} u={unordered} len={})",
                payload.len()
            ),
            Seen::Sack { cumulative_ack } => write!(line, " SACK(cum={cumulative_ack})"),
            Seen::ForwardTsn { new_cumulative_tsn } => {
                write!(line, " FORWARD-TSN(cum={new_cumulative_tsn})")
            }
            Seen::Reconfig(requests) => write!(line, " RE-CONFIG({requests:?})"),
            Seen::Other(kind) => write!(line, " chunk-{kind}"),
        };
    }
    line
}

// ---------------------------------------------------------------------------------
// The driver of our association

type Command = Box<dyn FnOnce(&mut Association, Instant) + Send>;

/// Our association, driven by its own task over a UDP socket.
struct Ours {
    commands: mpsc::UnboundedSender<Command>,
    events: mpsc::UnboundedReceiver<Event>,
    wire: watch::Receiver<Wire>,
}

impl Ours {
    fn spawn(socket: UdpSocket, config: Config, connect: bool, loss: Option<Loss>) -> Self {
        let now = Instant::now();
        let mut association = Association::new(config, now, rand::random());
        if connect {
            association.connect(now);
        }
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (event_tx, events) = mpsc::unbounded_channel();
        let (wire_tx, wire) = watch::channel(Wire::default());
        let tap = Tap {
            wire: wire_tx,
            loss,
            trace: std::env::var_os(TRACE_VARIABLE).map(|_| now),
        };
        tokio::spawn(drive(association, socket, command_rx, event_tx, tap));
        Self {
            commands,
            events,
            wire,
        }
    }

    /// Runs `f` on the association inside the driver and returns what it returns. The
    /// packets `f` causes are sent before any later call runs.
    async fn with<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Association, Instant) -> R + Send + 'static,
    ) -> R {
        let (reply, result) = oneshot::channel();
        self.commands
            .send(Box::new(move |association, now| {
                let _ = reply.send(f(association, now));
            }))
            .expect("the driver ended");
        within("the driver to run a command", result)
            .await
            .expect("the driver dropped a command")
    }

    async fn send(&self, stream: u16, ppid: u32, payload: Bytes, options: SendOptions) {
        self.with(move |association, now| association.send(now, stream, ppid, payload, options))
            .await
            .unwrap_or_else(|error| panic!("our send on stream {stream} failed: {error}"));
    }

    async fn state_and_stats(&self) -> (State, Stats) {
        self.with(|association, _| (association.state(), association.stats()))
            .await
    }

    async fn next_event(&mut self) -> Event {
        within("our next event", self.events.recv())
            .await
            .expect("the driver ended")
    }

    /// The next event other than [`Event::BufferedAmountLow`], which fires whenever a
    /// stream's unacknowledged bytes fall to zero.
    async fn next_notable_event(&mut self) -> Event {
        loop {
            match self.next_event().await {
                Event::BufferedAmountLow { .. } => {}
                event => return event,
            }
        }
    }

    async fn expect_message(&mut self) -> ReceivedMessage {
        match self.next_notable_event().await {
            Event::Message(message) => message,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// Waits until the peer's cumulative ack reaches the last TSN we sent, then checks
    /// that nothing is left buffered.
    async fn expect_everything_acknowledged(&mut self) {
        self.wait_for_wire("the peer to acknowledge our last TSN", |wire| {
            wire.inbound.cumulative_ack.is_some()
                && wire.inbound.cumulative_ack == wire.outbound.highest_tsn
        })
        .await;
        let buffered = self
            .with(|association, _| association.total_buffered_amount())
            .await;
        assert_eq!(
            buffered, 0,
            "bytes still buffered after the last TSN was acknowledged"
        );
    }

    /// Everything we sent is acknowledged, the association is still established, and
    /// nothing the peer sent was malformed.
    async fn expect_settled(&mut self) {
        self.expect_everything_acknowledged().await;
        let (state, stats) = self.state_and_stats().await;
        assert_eq!(state, State::Established);
        assert_eq!(
            stats.malformed_packets.total(),
            0,
            "{:?}",
            stats.malformed_packets
        );
    }

    /// Waits until what crossed the wire satisfies `condition`.
    async fn wait_for_wire(&mut self, what: &str, condition: impl FnMut(&Wire) -> bool) {
        within(what, self.wire.wait_for(condition))
            .await
            .expect("the driver ended");
    }
}

/// The wire tap: records a packet going `direction` and says whether to drop it.
struct Tap {
    wire: watch::Sender<Wire>,
    loss: Option<Loss>,
    trace: Option<Instant>,
}

impl Tap {
    fn passes(&self, direction: Direction, packet: &Bytes) -> bool {
        let chunks = chunks_of(packet);
        let loss = self.loss.filter(|loss| loss.direction == direction);
        let mut dropped = false;
        self.wire.send_modify(|wire| {
            let flow = match direction {
                Direction::Outbound => &mut wire.outbound,
                Direction::Inbound => &mut wire.inbound,
            };
            dropped = flow.record(&chunks, loss);
        });
        if let Some(epoch) = self.trace {
            let arrow = match direction {
                Direction::Outbound => "->",
                Direction::Inbound => "<-",
            };
            let dropped = if dropped { " (dropped)" } else { "" };
            eprintln!(
                "{:>8.3?} ours {arrow}{}{dropped}",
                epoch.elapsed(),
                describe(&chunks)
            );
        }
        !dropped
    }
}

/// Runs our association until its [`Ours`] handle is dropped: socket in, timer, and
/// commands each followed by draining every packet and event.
async fn drive(
    mut association: Association,
    socket: UdpSocket,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<Event>,
    tap: Tap,
) {
    let mut buffer = vec![0; 65_536];
    loop {
        while let Some(packet) = association.poll_transmit(Instant::now()) {
            if tap.passes(Direction::Outbound, &packet) {
                // A refused datagram (the peer's socket gone) is a lost one.
                let _ = socket.send(&packet).await;
            }
        }
        while let Some(event) = association.poll_event() {
            let _ = events.send(event);
        }
        let deadline = association.poll_timeout();
        let timer = tokio::time::sleep_until(
            deadline.map_or_else(tokio::time::Instant::now, tokio::time::Instant::from_std),
        );
        tokio::select! {
            received = socket.recv(&mut buffer) => {
                // An error reports an earlier datagram refused; there is nothing to hand on.
                if let Ok(len) = received {
                    let packet = Bytes::copy_from_slice(&buffer[..len]);
                    if tap.passes(Direction::Inbound, &packet) {
                        association.handle_packet(Instant::now(), &packet);
                    }
                }
            }
            () = timer, if deadline.is_some() => association.handle_timeout(Instant::now()),
            command = commands.recv() => match command {
                Some(command) => command(&mut association, Instant::now()),
                None => return,
            },
        }
    }
}

// ---------------------------------------------------------------------------------
// Setting up a pair

/// Which side sends INIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opener {
    Us,
    Peer,
}

struct Pair {
    ours: Ours,
    peer: PeerAssociation,
}

/// Two UDP sockets on 127.0.0.1, each connected to the other.
async fn socket_pair() -> (UdpSocket, UdpSocket) {
    let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    a.connect(b.local_addr().unwrap()).await.unwrap();
    b.connect(a.local_addr().unwrap()).await.unwrap();
    (a, b)
}

fn peer_config(socket: UdpSocket) -> PeerConfig {
    PeerConfig {
        net_conn: Arc::new(socket),
        max_receive_buffer_size: 0,
        max_message_size: LARGEST_MESSAGE as u32,
        mtu: 0,
        name: "webrtc-sctp".to_owned(),
        remote_port: 5000,
        local_port: 5000,
    }
}

/// Our association and webrtc-sctp's, connected; `opener` sends INIT.
async fn connected_pair(opener: Opener, config: Config, loss: Option<Loss>) -> Pair {
    assert_eq!((config.local_port, config.remote_port), (5000, 5000));
    assert_eq!(config.max_message_size, LARGEST_MESSAGE);
    let (our_socket, peer_socket) = socket_pair().await;
    let mut ours = Ours::spawn(our_socket, config, opener == Opener::Us, loss);
    let peer = match opener {
        Opener::Us => {
            within(
                "webrtc-sctp to accept our association",
                PeerAssociation::server(peer_config(peer_socket)),
            )
            .await
        }
        Opener::Peer => {
            within(
                "webrtc-sctp to open an association to us",
                PeerAssociation::client(peer_config(peer_socket)),
            )
            .await
        }
    }
    .expect("webrtc-sctp's handshake failed");
    assert_eq!(ours.next_event().await, Event::Connected);
    assert_eq!(ours.state_and_stats().await.0, State::Established);
    Pair { ours, peer }
}

async fn peer_accepts(peer: &PeerAssociation, stream: u16) -> Arc<Stream> {
    let accepted = within("webrtc-sctp to accept a stream", peer.accept_stream())
        .await
        .expect("webrtc-sctp's association closed");
    assert_eq!(accepted.stream_identifier(), stream);
    accepted
}

async fn peer_opens(peer: &PeerAssociation, stream: u16) -> Arc<Stream> {
    peer.open_stream(stream, PayloadProtocolIdentifier::Binary)
        .await
        .expect("webrtc-sctp could not open a stream")
}

fn peer_ppid(ppid: u32) -> PayloadProtocolIdentifier {
    match ppid {
        PPID_STRING => PayloadProtocolIdentifier::String,
        PPID_BINARY => PayloadProtocolIdentifier::Binary,
        other => panic!("no webrtc-sctp identifier for PPID {other}"),
    }
}

async fn peer_write(stream: &Stream, ppid: u32, payload: &Bytes) {
    let written = stream
        .write_sctp(payload, peer_ppid(ppid))
        .await
        .expect("webrtc-sctp refused a write");
    assert_eq!(written, payload.len());
}

/// One message read by webrtc-sctp: `None` at the end of the stream.
async fn peer_read(
    stream: &Stream,
    buffer: &mut [u8],
) -> Option<(PayloadProtocolIdentifier, Bytes)> {
    match within("webrtc-sctp to read", stream.read_sctp(buffer)).await {
        Ok((0, PayloadProtocolIdentifier::Unknown)) => None,
        Ok((len, ppid)) => Some((ppid, Bytes::copy_from_slice(&buffer[..len]))),
        Err(error) => panic!("webrtc-sctp's read failed: {error}"),
    }
}

async fn peer_expect(stream: &Stream, buffer: &mut [u8], ppid: u32, payload: &Bytes) {
    let (got_ppid, got) = peer_read(stream, buffer)
        .await
        .expect("webrtc-sctp's stream ended before the message");
    assert_eq!(got_ppid, peer_ppid(ppid));
    assert_eq!(got.len(), payload.len());
    assert!(
        got == *payload,
        "webrtc-sctp read a corrupted {}-byte message",
        got.len()
    );
}

fn assert_message(message: &ReceivedMessage, stream: u16, ppid: u32, payload: &Bytes) {
    assert_eq!((message.stream, message.ppid), (stream, ppid));
    assert_eq!(message.payload.len(), payload.len());
    assert!(
        message.payload == *payload,
        "we received a corrupted {}-byte message",
        payload.len()
    );
}

// ---------------------------------------------------------------------------------
// 1 and 2: handshakes both ways, messages of every size both ways

/// Text, a small binary message, and two that take many DATA chunks.
fn assorted_messages() -> Vec<(u32, Bytes)> {
    vec![
        (
            PPID_STRING,
            Bytes::from_static("hello, peer: ünïcödé".as_bytes()),
        ),
        (PPID_BINARY, payload(1, 300)),
        (PPID_BINARY, payload(2, 64 * 1024)),
        (PPID_BINARY, payload(3, LARGEST_MESSAGE)),
    ]
}

async fn send_assorted_from_us(pair: &Pair, stream: u16) {
    for (ppid, message) in assorted_messages() {
        pair.ours
            .send(stream, ppid, message, SendOptions::default())
            .await;
    }
}

async fn receive_assorted_at_peer(peer_stream: &Stream) {
    let mut buffer = vec![0; LARGEST_MESSAGE + 1];
    for (ppid, message) in assorted_messages() {
        peer_expect(peer_stream, &mut buffer, ppid, &message).await;
    }
}

async fn send_assorted_from_peer(peer_stream: &Stream) {
    for (ppid, message) in assorted_messages() {
        peer_write(peer_stream, ppid, &message).await;
    }
}

async fn receive_assorted_at_us(pair: &mut Pair, stream: u16) {
    for (ppid, message) in assorted_messages() {
        let received = pair.ours.expect_message().await;
        assert_message(&received, stream, ppid, &message);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn we_connect_to_webrtc_sctp_and_messages_of_every_size_cross_both_ways() {
    let mut pair = connected_pair(Opener::Us, Config::default(), None).await;

    send_assorted_from_us(&pair, 1).await;
    let peer_stream = peer_accepts(&pair.peer, 1).await;
    receive_assorted_at_peer(&peer_stream).await;

    send_assorted_from_peer(&peer_stream).await;
    receive_assorted_at_us(&mut pair, 1).await;

    pair.ours.expect_settled().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webrtc_sctp_connects_to_us_and_messages_of_every_size_cross_both_ways() {
    let mut pair = connected_pair(Opener::Peer, Config::default(), None).await;

    let peer_stream = peer_opens(&pair.peer, 1).await;
    send_assorted_from_peer(&peer_stream).await;
    receive_assorted_at_us(&mut pair, 1).await;

    send_assorted_from_us(&pair, 1).await;
    receive_assorted_at_peer(&peer_stream).await;

    pair.ours.expect_settled().await;
}

// ---------------------------------------------------------------------------------
// 3: a thousand messages each way

const MANY: u32 = 1000;

/// The sizes of the many messages, 1 byte to 16 KiB.
fn many_sizes(seed: u64) -> Vec<usize> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..MANY).map(|_| rng.random_range(1..=16 * 1024)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_random_sized_messages_each_way_arrive_in_order_and_intact() {
    const OUR_SEED: u64 = 0x0005_eed0_0001;
    const PEER_SEED: u64 = 0x0005_eed0_0002;
    let mut pair = connected_pair(Opener::Us, Config::default(), None).await;
    let ours_to_peer = many_sizes(OUR_SEED);
    let peer_to_ours = many_sizes(PEER_SEED);

    // Both ways at once: webrtc-sctp writes from one task and reads from another.
    let peer_stream = peer_opens(&pair.peer, 2).await;
    let writer = {
        let peer_stream = Arc::clone(&peer_stream);
        let sizes = peer_to_ours.clone();
        tokio::spawn(async move {
            for (index, len) in (0..).zip(sizes) {
                peer_write(&peer_stream, PPID_BINARY, &payload(index, len)).await;
            }
        })
    };
    let sizes = ours_to_peer.clone();
    pair.ours
        .with(move |association, now| {
            for (index, len) in (0..).zip(sizes) {
                association
                    .send(
                        now,
                        3,
                        PPID_BINARY,
                        payload(index, len),
                        SendOptions::default(),
                    )
                    .expect("our send failed");
            }
        })
        .await;
    let reader = {
        let peer_stream = peer_accepts(&pair.peer, 3).await;
        let sizes = ours_to_peer;
        tokio::spawn(async move {
            let mut buffer = vec![0; LARGEST_MESSAGE];
            for (index, len) in (0..).zip(sizes) {
                peer_expect(&peer_stream, &mut buffer, PPID_BINARY, &payload(index, len)).await;
            }
        })
    };

    for (index, len) in (0..).zip(peer_to_ours) {
        let message = pair.ours.expect_message().await;
        assert_message(&message, 2, PPID_BINARY, &payload(index, len));
    }
    within("webrtc-sctp to write everything", writer)
        .await
        .unwrap();
    within("webrtc-sctp to read everything", reader)
        .await
        .unwrap();
    pair.ours.expect_settled().await;
}

// ---------------------------------------------------------------------------------
// 4: unordered and partially reliable messages

/// How many unordered, partially reliable messages go each way.
const SENT_ONCE: u32 = 40;

/// Sizes of 4 bytes to 1000: every message fits one DATA chunk and names its index.
fn sent_once_messages() -> Vec<Bytes> {
    let mut rng = StdRng::seed_from_u64(0x0005_eed0_0004);
    (0..SENT_ONCE)
        .map(|index| payload(index, rng.random_range(4..=1000)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_unordered_messages_sent_once_reach_webrtc_sctp_and_forward_tsn_skips_the_lost() {
    // Every packet carrying the first transmission of a message whose index is 2 more
    // than a multiple of 5 is dropped on its way out.
    let loss = Loss {
        direction: Direction::Outbound,
        stream: 2,
    };
    let mut pair = connected_pair(Opener::Us, Config::default(), Some(loss)).await;
    let once = SendOptions {
        unordered: true,
        max_retransmits: Some(0),
        lifetime: None,
    };
    let messages = sent_once_messages();
    let to_send = messages.clone();
    pair.ours
        .with(move |association, now| {
            for message in to_send {
                association
                    .send(now, 2, PPID_BINARY, message, once)
                    .expect("our send failed");
            }
            // A reliable, ordered message last: its arrival ends the reading.
            association
                .send(
                    now,
                    2,
                    PPID_STRING,
                    Bytes::from_static(b"end"),
                    SendOptions::default(),
                )
                .expect("our send failed");
        })
        .await;

    let peer_stream = peer_accepts(&pair.peer, 2).await;
    let mut buffer = vec![0; 2048];
    let mut received = BTreeSet::new();
    loop {
        let (ppid, message) = peer_read(&peer_stream, &mut buffer)
            .await
            .expect("webrtc-sctp's stream ended");
        if ppid == PayloadProtocolIdentifier::String {
            assert_eq!(&message[..], b"end");
            break;
        }
        assert_eq!(ppid, PayloadProtocolIdentifier::Binary);
        let index = index_of(&message);
        assert!(
            message == messages[index as usize],
            "message {index} corrupted"
        );
        assert!(received.insert(index), "message {index} delivered twice");
    }
    // webrtc-sctp's cumulative ack reaches our last TSN: it took our FORWARD-TSN over
    // the lost messages.
    pair.ours.expect_everything_acknowledged().await;

    let wire = pair.ours.wire.borrow();
    let lost = &wire.outbound.lost;
    assert!(!lost.is_empty(), "the test dropped nothing");
    let expected: BTreeSet<u32> = (0..SENT_ONCE).filter(|i| !lost.contains(i)).collect();
    assert_eq!(received, expected, "lost: {lost:?}");
    assert!(wire.outbound.forward_tsns > 0, "we sent no FORWARD-TSN");
    let chunks = wire.outbound.data[&2];
    assert!(chunks.unordered >= u64::from(SENT_ONCE), "{chunks:?}");
    assert!(chunks.ordered >= 1, "{chunks:?}");
    let lost_count = lost.len() as u64;
    drop(wire);
    let (state, stats) = pair.ours.state_and_stats().await;
    assert_eq!(state, State::Established);
    assert!(
        stats.abandoned_messages >= lost_count,
        "{} abandoned, {lost_count} lost",
        stats.abandoned_messages
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webrtc_sctps_unordered_messages_sent_once_reach_us_and_its_forward_tsn_skips_the_lost() {
    // Every packet carrying the first transmission of a message whose index is 2 more
    // than a multiple of 5 is dropped on its way in.
    let loss = Loss {
        direction: Direction::Inbound,
        stream: 3,
    };
    let mut pair = connected_pair(Opener::Us, Config::default(), Some(loss)).await;
    let peer_stream = peer_opens(&pair.peer, 3).await;
    peer_stream.set_reliability_params(true, ReliabilityType::Rexmit, 0);
    let messages = sent_once_messages();
    for message in &messages {
        peer_write(&peer_stream, PPID_BINARY, message).await;
    }

    // Until every message has arrived or been dropped on the way.
    let mut received = BTreeSet::new();
    within("webrtc-sctp's messages to arrive or be dropped", async {
        loop {
            let settled = {
                let wire = pair.ours.wire.borrow_and_update();
                received.len() + wire.inbound.lost.len() == SENT_ONCE as usize
            };
            if settled {
                break;
            }
            tokio::select! {
                event = pair.ours.events.recv() => match event.expect("the driver ended") {
                    Event::Message(message) => {
                        assert_eq!((message.stream, message.ppid), (3, PPID_BINARY));
                        let index = index_of(&message.payload);
                        assert!(
                            message.payload == messages[index as usize],
                            "message {index} corrupted"
                        );
                        assert!(received.insert(index), "message {index} delivered twice");
                    }
                    Event::BufferedAmountLow { .. } => {}
                    other => panic!("expected a message, got {other:?}"),
                },
                changed = pair.ours.wire.changed() => changed.expect("the driver ended"),
            }
        }
    })
    .await;
    // Our cumulative ack reaches webrtc-sctp's last TSN: we took its FORWARD-TSN.
    pair.ours
        .wait_for_wire("our acknowledgement of webrtc-sctp's last TSN", |wire| {
            wire.outbound.cumulative_ack.is_some()
                && wire.outbound.cumulative_ack == wire.inbound.highest_tsn
        })
        .await;

    let wire = pair.ours.wire.borrow();
    let lost = &wire.inbound.lost;
    assert!(!lost.is_empty(), "the test dropped nothing");
    assert!(
        received.is_disjoint(lost),
        "a dropped message arrived: {lost:?}"
    );
    assert!(
        wire.inbound.forward_tsns > 0,
        "webrtc-sctp sent no FORWARD-TSN"
    );
    let chunks = wire.inbound.data[&3];
    assert_eq!(chunks.ordered, 0, "{chunks:?}");
    assert!(chunks.unordered >= u64::from(SENT_ONCE), "{chunks:?}");
    drop(wire);

    // The association carries on: a reliable message each way after the losses.
    let after = Bytes::from_static(b"after");
    pair.ours
        .send(4, PPID_STRING, after.clone(), SendOptions::default())
        .await;
    let peer_stream = peer_accepts(&pair.peer, 4).await;
    let mut buffer = vec![0; 64];
    peer_expect(&peer_stream, &mut buffer, PPID_STRING, &after).await;
    peer_write(&peer_stream, PPID_STRING, &after).await;
    let message = pair.ours.expect_message().await;
    assert_message(&message, 4, PPID_STRING, &after);
    assert_eq!(pair.ours.state_and_stats().await.0, State::Established);
}

// ---------------------------------------------------------------------------------
// 5: stream resets both ways

/// Messages on each stream before its reset.
const BEFORE_RESET: u32 = 20;

impl Ours {
    /// Waits for our reset of `stream` to complete and for webrtc-sctp's reset of its
    /// own side of it, which it sends in answer to ours.
    async fn expect_both_resets(&mut self, stream: u16) {
        let mut outgoing_reset = false;
        let mut incoming_reset = false;
        while !(outgoing_reset && incoming_reset) {
            match self.next_notable_event().await {
                Event::OutgoingStreamsReset(streams) if !outgoing_reset => {
                    assert_eq!(streams, [stream]);
                    outgoing_reset = true;
                }
                Event::IncomingStreamsReset(streams) if !incoming_reset => {
                    assert_eq!(streams, [stream]);
                    incoming_reset = true;
                }
                other => panic!("expected the resets of stream {stream}, got {other:?}"),
            }
        }
    }

    /// Checks that every reset request of ours for `stream` went out after all our DATA
    /// and names the last of it as the sender's last TSN.
    fn assert_reset_requests_follow_the_data(&self, stream: u16) {
        let wire = self.wire.borrow();
        let last_data = wire.outbound.highest_tsn;
        let requests: Vec<_> = wire
            .outbound
            .reset_requests
            .iter()
            .filter(|request| request.streams == [stream])
            .collect();
        assert!(
            !requests.is_empty(),
            "no reset request for stream {stream} went out"
        );
        for request in requests {
            assert_eq!(Some(request.sender_last_tsn), last_data, "{request:?}");
            assert_eq!(request.highest_tsn_before, last_data, "{request:?}");
        }
    }
}

/// Ours: webrtc-sctp reads every message, then our reset ends its stream. (webrtc-sctp
/// discards what its reader has not yet taken when it performs a reset, so the reading
/// comes first.)
async fn our_reset_after_webrtc_sctp_read_everything(pair: &mut Pair, stream: u16) {
    for index in 0..BEFORE_RESET {
        pair.ours
            .send(
                stream,
                PPID_BINARY,
                payload(index, 1500),
                SendOptions::default(),
            )
            .await;
    }
    let peer_stream = peer_accepts(&pair.peer, stream).await;
    let mut buffer = vec![0; 4096];
    for index in 0..BEFORE_RESET {
        peer_expect(
            &peer_stream,
            &mut buffer,
            PPID_BINARY,
            &payload(index, 1500),
        )
        .await;
    }
    let reader = tokio::spawn(async move {
        let mut buffer = vec![0; 4096];
        peer_read(&peer_stream, &mut buffer).await
    });
    pair.ours
        .with(move |association, _| association.reset_streams(&[stream]))
        .await;
    let end = within("webrtc-sctp's read to end", reader).await.unwrap();
    assert_eq!(end, None, "webrtc-sctp read past our reset");
    pair.ours.expect_both_resets(stream).await;
    pair.ours.assert_reset_requests_follow_the_data(stream);
}

/// webrtc-sctp's: it writes, then shuts its stream down at once; we deliver every
/// message, then report the reset.
async fn webrtc_sctps_reset_after_its_messages(pair: &mut Pair, stream: u16) {
    let peer_stream = peer_opens(&pair.peer, stream).await;
    for index in 0..BEFORE_RESET {
        peer_write(&peer_stream, PPID_BINARY, &payload(index, 1500)).await;
    }
    peer_stream
        .shutdown(Shutdown::Both)
        .await
        .expect("webrtc-sctp could not reset its stream");
    for index in 0..BEFORE_RESET {
        let message = pair.ours.expect_message().await;
        assert_message(&message, stream, PPID_BINARY, &payload(index, 1500));
    }
    assert_eq!(
        pair.ours.next_notable_event().await,
        Event::IncomingStreamsReset(vec![stream])
    );
}

/// Ours, the reset queued together with the messages before it: the request goes out
/// once they all have, and covers them. webrtc-sctp's reader gets an in-order part of
/// them, then the end of the stream.
async fn our_reset_queued_behind_its_messages(pair: &mut Pair, stream: u16) {
    pair.ours
        .with(move |association, now| {
            for index in 0..BEFORE_RESET {
                let message = payload(index, 1500);
                association
                    .send(now, stream, PPID_BINARY, message, SendOptions::default())
                    .expect("our send failed");
            }
            association.reset_streams(&[stream]);
        })
        .await;
    pair.ours.expect_both_resets(stream).await;
    pair.ours.expect_everything_acknowledged().await;
    pair.ours.assert_reset_requests_follow_the_data(stream);
    let peer_stream = peer_accepts(&pair.peer, stream).await;
    let mut buffer = vec![0; 4096];
    let mut index = 0;
    while let Some((ppid, message)) = peer_read(&peer_stream, &mut buffer).await {
        assert!(index < BEFORE_RESET, "webrtc-sctp read more than we sent");
        assert_eq!(ppid, PayloadProtocolIdentifier::Binary);
        assert!(
            message == payload(index, 1500),
            "message {index} out of order or corrupted"
        );
        index += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_resets_both_ways_end_the_streams_after_their_messages() {
    let mut pair = connected_pair(Opener::Peer, Config::default(), None).await;

    our_reset_after_webrtc_sctp_read_everything(&mut pair, 5).await;
    webrtc_sctps_reset_after_its_messages(&mut pair, 6).await;

    // The association carries on, on a new stream.
    let still_here = Bytes::from_static(b"still here");
    pair.ours
        .send(7, PPID_STRING, still_here.clone(), SendOptions::default())
        .await;
    let peer_stream = peer_accepts(&pair.peer, 7).await;
    let mut buffer = vec![0; 64];
    peer_expect(&peer_stream, &mut buffer, PPID_STRING, &still_here).await;
    peer_write(&peer_stream, PPID_STRING, &still_here).await;
    let message = pair.ours.expect_message().await;
    assert_message(&message, 7, PPID_STRING, &still_here);

    our_reset_queued_behind_its_messages(&mut pair, 8).await;
    assert_eq!(pair.ours.state_and_stats().await.0, State::Established);
}

// ---------------------------------------------------------------------------------
// 6: the ends of an association

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_abort_closes_webrtc_sctps_association() {
    let mut pair = connected_pair(Opener::Us, Config::default(), None).await;
    let hello = Bytes::from_static(b"hello");
    pair.ours
        .send(1, PPID_STRING, hello.clone(), SendOptions::default())
        .await;
    let peer_stream = peer_accepts(&pair.peer, 1).await;
    let mut buffer = vec![0; 64];
    peer_expect(&peer_stream, &mut buffer, PPID_STRING, &hello).await;
    // A read waiting when the ABORT arrives.
    let reader = {
        let peer_stream = Arc::clone(&peer_stream);
        tokio::spawn(async move {
            let mut buffer = vec![0; 64];
            peer_read(&peer_stream, &mut buffer).await
        })
    };

    pair.ours
        .with(|association, _| association.abort("the test is over"))
        .await;
    assert_eq!(
        pair.ours.next_notable_event().await,
        Event::Closed(CloseReason::Aborted)
    );
    assert_eq!(pair.ours.state_and_stats().await.0, State::Terminated);

    // webrtc-sctp ends every stream: the waiting read sees the end, writes fail.
    let end = within("webrtc-sctp's read to end", reader).await.unwrap();
    assert_eq!(end, None);
    assert_eq!(peer_read(&peer_stream, &mut buffer).await, None);
    let write = peer_stream
        .write_sctp(&hello, PayloadProtocolIdentifier::String)
        .await;
    assert!(
        matches!(write, Err(webrtc_sctp::Error::ErrStreamClosed)),
        "{write:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webrtc_sctp_closing_sends_nothing_and_we_find_it_unreachable_once_we_send() {
    // Short timers, so that giving up takes about two seconds rather than half a
    // minute; never below webrtc-sctp's 200 ms delayed acknowledgement.
    let config = Config {
        rto_initial: Duration::from_millis(300),
        rto_min: Duration::from_millis(300),
        rto_max: Duration::from_millis(500),
        max_retransmits: 3,
        ..Config::default()
    };
    let mut pair = connected_pair(Opener::Us, config, None).await;
    let hello = Bytes::from_static(b"hello");
    pair.ours
        .send(1, PPID_STRING, hello.clone(), SendOptions::default())
        .await;
    let peer_stream = peer_accepts(&pair.peer, 1).await;
    let mut buffer = vec![0; 64];
    peer_expect(&peer_stream, &mut buffer, PPID_STRING, &hello).await;
    pair.ours.expect_everything_acknowledged().await;
    let acknowledged = pair.ours.wire.borrow().outbound.highest_tsn;

    pair.peer.close().await.expect("webrtc-sctp's close failed");
    // webrtc-sctp's close sends no ABORT (nor SHUTDOWN): we are still established.
    let (state, before) = pair.ours.state_and_stats().await;
    assert_eq!(state, State::Established);

    // What we send now is never acknowledged; after `max_retransmits` timeouts in a row
    // we declare the peer unreachable.
    pair.ours
        .send(
            1,
            PPID_STRING,
            Bytes::from_static(b"anyone?"),
            SendOptions::default(),
        )
        .await;
    assert_eq!(
        pair.ours.next_notable_event().await,
        Event::Closed(CloseReason::PeerUnreachable)
    );
    let (state, stats) = pair.ours.state_and_stats().await;
    assert_eq!(state, State::Terminated);
    // The fourth timeout in a row exceeds `max_retransmits` (3).
    assert_eq!(
        stats.retransmission_timeouts - before.retransmission_timeouts,
        4
    );
    let wire = pair.ours.wire.borrow();
    assert!(tsn_after(
        wire.outbound.highest_tsn.unwrap(),
        acknowledged.unwrap()
    ));
    assert_eq!(
        wire.inbound.cumulative_ack, acknowledged,
        "webrtc-sctp acknowledged data after it closed"
    );
}
