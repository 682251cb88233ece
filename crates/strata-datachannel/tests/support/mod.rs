//! Test support: real UDP transports on loopback, a seeded impairment layer, SCTP packet
//! crafting, and helpers that await events with generous timeouts.
#![allow(dead_code, unreachable_pub, unused_imports)]

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use strata_datachannel::{
    Association, AssociationConfig, AssociationEvent, AssociationEvents, ChannelEvent, DataChannel,
    DatagramTransport, DtlsRole, Message, sctp,
};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout};

/// Long enough for anything a test waits for; a hang fails instead of blocking CI.
pub const PATIENCE: Duration = Duration::from_mins(1);

/// A connected UDP socket on loopback.
#[derive(Clone)]
pub struct UdpTransport {
    pub socket: Arc<UdpSocket>,
    /// Our SCTP verification tag, read from our own INIT or `INIT-ACK`.
    pub local_tag: Arc<AtomicU32>,
    /// Our initial TSN, from the same chunk.
    pub local_initial_tsn: Arc<AtomicU32>,
}

impl DatagramTransport for UdpTransport {
    async fn send(&self, datagram: &[u8]) -> io::Result<()> {
        if self.local_tag.load(Ordering::Relaxed) == 0
            && datagram.len() >= 32
            && matches!(datagram[12], 1 | 2)
        {
            let word = |at: usize| {
                u32::from_be_bytes([
                    datagram[at],
                    datagram[at + 1],
                    datagram[at + 2],
                    datagram[at + 3],
                ])
            };
            self.local_initial_tsn.store(word(28), Ordering::Relaxed);
            self.local_tag.store(word(16), Ordering::Relaxed);
        }
        self.socket.send(datagram).await.map(drop)
    }

    async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.socket.recv(buf).await
    }

    async fn close(&self) -> io::Result<()> {
        Ok(())
    }
}

/// Socket buffers for the tests' sockets: the kernel default (about 208 KiB) drops
/// bursts of a 1 MiB SCTP window on loopback, and retransmission backoff turns repeated
/// drops into stalls of seconds.
const SOCKET_BUFFER: usize = 8 << 20;

fn enlarge_buffers(socket: &UdpSocket) {
    use nix::sys::socket::{setsockopt, sockopt};
    // Forcing past `rmem_max` needs CAP_NET_ADMIN (root here and in CI); fall back to
    // what the limit allows.
    if setsockopt(socket, sockopt::RcvBufForce, &SOCKET_BUFFER).is_err() {
        let _ = setsockopt(socket, sockopt::RcvBuf, &SOCKET_BUFFER);
    }
    if setsockopt(socket, sockopt::SndBufForce, &SOCKET_BUFFER).is_err() {
        let _ = setsockopt(socket, sockopt::SndBuf, &SOCKET_BUFFER);
    }
}

/// Two UDP sockets on 127.0.0.1, connected to each other.
pub async fn udp_pair() -> (UdpTransport, UdpTransport) {
    let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    enlarge_buffers(&a);
    enlarge_buffers(&b);
    a.connect(b.local_addr().unwrap()).await.unwrap();
    b.connect(a.local_addr().unwrap()).await.unwrap();
    let wrap = |s| UdpTransport {
        socket: Arc::new(s),
        local_tag: Arc::default(),
        local_initial_tsn: Arc::default(),
    };
    (wrap(a), wrap(b))
}

pub use strata_netem::{Impairment, Loss};

/// A transport whose sends go through a seeded `strata-netem` link; a task releases
/// them at the time the link says they arrive.
pub struct ImpairedTransport {
    inner: UdpTransport,
    queue: mpsc::UnboundedSender<Vec<u8>>,
}

impl ImpairedTransport {
    pub fn new(inner: UdpTransport, impairment: Impairment, seed: u64) -> Self {
        let (queue, mut pending) = mpsc::unbounded_channel::<Vec<u8>>();
        let socket = Arc::clone(&inner.socket);
        let mut link = strata_netem::Link::new(impairment, seed).expect("valid impairment");
        tokio::spawn(async move {
            loop {
                let next = link.poll_timeout();
                tokio::select! {
                    datagram = pending.recv() => {
                        let Some(datagram) = datagram else { break };
                        link.handle_packet(Instant::now().into_std(), datagram);
                    }
                    () = tokio::time::sleep_until(next.map_or_else(|| Instant::now() + Duration::from_hours(1), Instant::from_std)), if next.is_some() => {}
                }
                while let Some(datagram) = link.poll_packet(Instant::now().into_std()) {
                    let _ = socket.send(&datagram).await;
                }
            }
        });
        Self { inner, queue }
    }
}

impl DatagramTransport for ImpairedTransport {
    async fn send(&self, datagram: &[u8]) -> io::Result<()> {
        self.queue
            .send(datagram.to_vec())
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))
    }

    async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.recv(buf).await
    }

    async fn close(&self) -> io::Result<()> {
        Ok(())
    }
}

/// Two associations on loopback, established.
pub struct Pair {
    pub client: Association,
    pub client_events: AssociationEvents,
    pub server: Association,
    pub server_events: AssociationEvents,
    pub client_transport: UdpTransport,
    pub server_transport: UdpTransport,
}

pub async fn pair() -> Pair {
    pair_with(|_| {}).await
}

pub async fn pair_with(configure: impl Fn(&mut AssociationConfig)) -> Pair {
    let (a, b) = udp_pair().await;
    let mut client_config = AssociationConfig::new(DtlsRole::Client);
    let mut server_config = AssociationConfig::new(DtlsRole::Server);
    configure(&mut client_config);
    configure(&mut server_config);
    let (client, mut client_events) = Association::new(a.clone(), client_config).unwrap();
    let (server, mut server_events) = Association::new(b.clone(), server_config).unwrap();
    expect_established(&mut client_events).await;
    expect_established(&mut server_events).await;
    Pair {
        client,
        client_events,
        server,
        server_events,
        client_transport: a,
        server_transport: b,
    }
}

pub async fn expect_established(events: &mut AssociationEvents) {
    match timeout(PATIENCE, events.recv()).await {
        Ok(Some(AssociationEvent::Established)) => {}
        other => panic!("expected Established, got {other:?}"),
    }
}

/// The next channel the peer opens (skipping other events).
pub async fn accept(events: &mut AssociationEvents) -> DataChannel {
    loop {
        match timeout(PATIENCE, events.recv()).await {
            Ok(Some(AssociationEvent::ChannelOpened(channel))) => return channel,
            Ok(Some(_)) => {}
            other => panic!("expected ChannelOpened, got {other:?}"),
        }
    }
}

/// The next event of `channel`, within [`PATIENCE`].
pub async fn next_event(channel: &mut DataChannel) -> ChannelEvent {
    next_event_within(channel, PATIENCE).await
}

/// The next event of `channel`, within `wait`.
pub async fn next_event_within(channel: &mut DataChannel, wait: Duration) -> ChannelEvent {
    timeout(wait, channel.recv())
        .await
        .expect("timed out waiting for a channel event")
        .expect("channel ended without a Closed event")
}

/// The next message of `channel`, skipping `Open` and `BufferedAmountLow`.
pub async fn next_message(channel: &mut DataChannel) -> Message {
    next_message_within(channel, PATIENCE).await
}

/// The next message of `channel` with each event awaited at most `wait`.
pub async fn next_message_within(channel: &mut DataChannel, wait: Duration) -> Message {
    loop {
        match next_event_within(channel, wait).await {
            ChannelEvent::Message(message) => return message,
            ChannelEvent::Open | ChannelEvent::BufferedAmountLow => {}
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

/// Sends, keeping at most about 1 MiB buffered the way an application paces itself with
/// the low-threshold event, and waiting for room when the send buffer is full.
pub async fn send_all(channel: &DataChannel, message: Message) {
    if channel.buffered_amount() > 1 << 20 {
        channel.set_buffered_amount_low_threshold(256 * 1024);
        timeout(PATIENCE, channel.buffered_amount_low())
            .await
            .expect("send buffer never drained");
    }
    loop {
        match channel.send_message(message.clone()).await {
            Ok(()) => return,
            Err(strata_datachannel::Error::SendBufferFull { .. }) => {
                channel.set_buffered_amount_low_threshold(1 << 20);
                timeout(PATIENCE, channel.buffered_amount_low())
                    .await
                    .expect("send buffer never drained");
            }
            Err(error) => panic!("send failed: {error}"),
        }
    }
}

/// Deterministic payload of message `index`: its length and every byte follow from the
/// seed, so the receiver checks each byte without keeping a copy.
pub fn payload(seed: u64, index: u64, max_len: usize) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(seed ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let len = rng.random_range(0..=max_len);
    let mut data = vec![0u8; len];
    rng.fill(&mut data[..]);
    data
}

/// An SCTP packet from port 5000 to 5000 with `tag` and a valid checksum; chunks are
/// padded to four bytes.
pub fn sctp_packet(tag: u32, chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![0x13, 0x88, 0x13, 0x88];
    out.extend_from_slice(&tag.to_be_bytes());
    out.extend_from_slice(&[0; 4]);
    for chunk in chunks {
        out.extend_from_slice(chunk);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    }
    sctp::seal(&mut out);
    out
}

/// A chunk with an explicit length field.
pub fn sctp_chunk(kind: u8, flags: u8, length: u16, value: &[u8]) -> Vec<u8> {
    let mut out = vec![kind, flags];
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(value);
    out
}

/// Sends raw bytes to the association behind `to` from its peer's socket (`from`).
pub async fn inject(from: &UdpTransport, bytes: &[u8]) {
    from.socket.send(bytes).await.unwrap();
}

/// Lock helper for shared test state.
pub fn locked<T>(value: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    value.lock().unwrap()
}
