//! The datagram transport the caller provides, and the guarded connection webrtc-sctp
//! reads and writes through.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::sctp_guard::{InboundSignals, PacketGuard};

/// A datagram transport for one SCTP association: in WebRTC the DTLS connection, in tests
/// a connected UDP socket.
///
/// The contract:
/// - [`send`](Self::send) sends one datagram, whole, or fails;
/// - [`recv`](Self::recv) waits for one datagram and copies it into `buf`, returning its
///   length (`buf` is at least 8192 bytes; longer datagrams may be truncated, and are then
///   dropped as corrupt); an `Err` ends the association, so return one when the
///   transport closed;
/// - [`close`](Self::close) releases the transport; pending and later `recv`s fail.
///
/// Both may be called concurrently from different tasks.
pub trait DatagramTransport: Send + Sync + 'static {
    /// Sends one datagram.
    fn send(&self, datagram: &[u8]) -> impl Future<Output = io::Result<()>> + Send;
    /// Receives one datagram into `buf`.
    fn recv(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send;
    /// Closes the transport.
    fn close(&self) -> impl Future<Output = io::Result<()>> + Send;
}

/// What the connection tells the association's driver.
#[derive(Debug)]
pub(crate) enum ConnSignal {
    /// An accepted inbound packet carried something the driver must know.
    Inbound(InboundSignals),
    /// The peer asked to reset these streams; the packet is held until the driver has
    /// read every message already delivered on them (webrtc-sctp stops returning data
    /// from a stream the moment it applies a reset).
    BeforeReset(oneshot::Sender<()>),
    /// The transport failed.
    TransportFailed(io::Error),
}

/// Bound of the signal queue from the connection to the driver; signals beyond are
/// dropped and counted (the driver also notices closes through its streams).
pub(crate) const SIGNAL_QUEUE: usize = 256;
/// How long a packet carrying a stream reset waits for the driver to drain the streams.
const RESET_DRAIN_WAIT: Duration = Duration::from_millis(100);

/// Counters of the guarded connection.
#[derive(Debug, Default)]
pub(crate) struct ConnCounters {
    pub(crate) signals_dropped: AtomicU64,
    pub(crate) datagrams_in: AtomicU64,
    pub(crate) datagrams_out: AtomicU64,
    /// Wake packets handed to webrtc-sctp (see [`PacketGuard::wake_packet`]).
    pub(crate) write_wakes: AtomicU64,
}

/// webrtc-sctp's view of our transport: every inbound packet passes the
/// [`PacketGuard`] first; outbound packets teach the guard our tag and cumulative TSN.
pub(crate) struct GuardedConn<T> {
    transport: T,
    pub(crate) guard: Arc<Mutex<PacketGuard>>,
    signals: mpsc::Sender<ConnSignal>,
    cancel: CancellationToken,
    pub(crate) counters: Arc<ConnCounters>,
    /// Asks for a [`PacketGuard::wake_packet`] to be handed to webrtc-sctp.
    pub(crate) write_wake: Arc<Notify>,
    /// Tests turn the guard off to show what it protects against.
    guard_enabled: bool,
}

impl<T: DatagramTransport> GuardedConn<T> {
    pub(crate) fn new(
        transport: T,
        signals: mpsc::Sender<ConnSignal>,
        cancel: CancellationToken,
        guard_enabled: bool,
    ) -> Self {
        Self {
            transport,
            guard: Arc::new(Mutex::new(PacketGuard::new())),
            signals,
            cancel,
            counters: Arc::default(),
            write_wake: Arc::new(Notify::new()),
            guard_enabled,
        }
    }

    fn signal(&self, signal: ConnSignal) {
        if self.signals.try_send(signal).is_err() {
            self.counters
                .signals_dropped
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    fn inspect(&self, packet: &[u8]) -> Option<InboundSignals> {
        let mut guard = self.guard.lock().unwrap_or_else(PoisonError::into_inner);
        if self.guard_enabled {
            guard.inspect_inbound(packet).ok()
        } else {
            Some(guard.inspect_inbound(packet).unwrap_or_default())
        }
    }

    fn closed() -> webrtc_util::Error {
        io::Error::new(io::ErrorKind::ConnectionAborted, "association closed").into()
    }
}

#[async_trait]
impl<T: DatagramTransport> webrtc_util::Conn for GuardedConn<T> {
    async fn connect(&self, _addr: SocketAddr) -> webrtc_util::Result<()> {
        Err(io::Error::from(io::ErrorKind::Unsupported).into())
    }

    async fn recv(&self, buf: &mut [u8]) -> webrtc_util::Result<usize> {
        loop {
            let received = tokio::select! {
                biased;
                () = self.cancel.cancelled() => return Err(Self::closed()),
                received = self.transport.recv(buf) => received,
                () = self.write_wake.notified() => {
                    let wake = self.guard.lock().unwrap_or_else(PoisonError::into_inner).wake_packet();
                    if let Some(packet) = wake.filter(|p| p.len() <= buf.len()) {
                        buf[..packet.len()].copy_from_slice(&packet);
                        self.counters.write_wakes.fetch_add(1, Ordering::Relaxed);
                        return Ok(packet.len());
                    }
                    continue;
                }
            };
            let len = match received {
                Ok(len) => len.min(buf.len()),
                Err(error) => {
                    let kind = error.kind();
                    self.signal(ConnSignal::TransportFailed(error));
                    return Err(io::Error::from(kind).into());
                }
            };
            self.counters.datagrams_in.fetch_add(1, Ordering::Relaxed);
            let Some(signals) = self.inspect(&buf[..len]) else {
                continue;
            };
            if !signals.resets.is_empty() {
                let (drained, wait) = oneshot::channel();
                self.signal(ConnSignal::BeforeReset(drained));
                let _ = tokio::time::timeout(RESET_DRAIN_WAIT, wait).await;
            }
            if signals != InboundSignals::default() {
                self.signal(ConnSignal::Inbound(signals));
            }
            return Ok(len);
        }
    }

    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        let len = self.recv(buf).await?;
        Ok((len, SocketAddr::from(([0, 0, 0, 0], 0))))
    }

    async fn send(&self, buf: &[u8]) -> webrtc_util::Result<usize> {
        if self.cancel.is_cancelled() {
            return Err(Self::closed());
        }
        self.guard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .inspect_outbound(buf);
        match self.transport.send(buf).await {
            Ok(()) => {
                self.counters.datagrams_out.fetch_add(1, Ordering::Relaxed);
                Ok(buf.len())
            }
            Err(error) => {
                let kind = error.kind();
                self.signal(ConnSignal::TransportFailed(error));
                Err(io::Error::from(kind).into())
            }
        }
    }

    async fn send_to(&self, buf: &[u8], _target: SocketAddr) -> webrtc_util::Result<usize> {
        self.send(buf).await
    }

    fn local_addr(&self) -> webrtc_util::Result<SocketAddr> {
        Err(io::Error::from(io::ErrorKind::Unsupported).into())
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        None
    }

    async fn close(&self) -> webrtc_util::Result<()> {
        self.cancel.cancel();
        self.transport.close().await.map_err(Into::into)
    }

    fn as_any(&self) -> &(dyn std::any::Any + Send + Sync) {
        self
    }
}
