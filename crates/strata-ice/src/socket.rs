//! The connection's UDP socket, optionally behind a seeded impairment in each direction.
//!
//! Without impairment, sends and receives go straight to the kernel. With it, every
//! datagram passes through a [`strata_netem::Link`] per direction: a pump task reads the
//! real socket into the inbound link and releases packets when they are due, and sends
//! what the outbound link releases. Both links are seeded, so a lossy run reproduces.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use socket2::{Domain, Protocol, Type};
use strata_netem::{Impairment, Link};
use tokio::net::UdpSocket;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use crate::config::{NetworkImpairment, Outage};

/// Receive buffer per read: larger than any datagram we accept.
pub(crate) const RECV_BUFFER: usize = 2048;
/// Kernel socket buffers we ask for, so bursts at data-channel speed are not dropped.
const KERNEL_BUFFER: usize = 4 << 20;
/// Released inbound datagrams waiting for the reader (impaired sockets only).
const RELEASED_QUEUE: usize = 4096;

/// A datagram and the far end's address.
#[derive(Debug, Clone)]
pub(crate) struct Datagram {
    pub(crate) data: Bytes,
    pub(crate) peer: SocketAddr,
}

impl AsRef<[u8]> for Datagram {
    fn as_ref(&self) -> &[u8] {
        &self.data
    }
}

/// The socket a connection owns.
pub(crate) struct Socket {
    udp: Arc<UdpSocket>,
    dual_stack: bool,
    impaired: Option<Impaired>,
}

struct Impaired {
    outbound: Mutex<Link<Datagram>>,
    outage: Outage,
    wake: Notify,
    released: tokio::sync::Mutex<mpsc::Receiver<Datagram>>,
}

impl Socket {
    /// Binds `addr` (an unspecified IPv6 address binds dual-stack) and, with `impairment`,
    /// starts the pump that applies it until `cancel` fires.
    pub(crate) fn bind(
        addr: SocketAddr,
        impairment: Option<&NetworkImpairment>,
        cancel: &CancellationToken,
    ) -> io::Result<Arc<Self>> {
        let domain = if addr.is_ipv6() {
            Domain::IPV6
        } else {
            Domain::IPV4
        };
        let socket = socket2::Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
        let dual_stack = addr.is_ipv6() && addr.ip().is_unspecified();
        if dual_stack {
            socket.set_only_v6(false)?;
        }
        // Best effort: the kernel caps these at rmem_max/wmem_max.
        let _ = socket.set_recv_buffer_size(KERNEL_BUFFER);
        let _ = socket.set_send_buffer_size(KERNEL_BUFFER);
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        let udp = Arc::new(UdpSocket::from_std(socket.into())?);

        let Some(impairment) = impairment else {
            return Ok(Arc::new(Self {
                udp,
                dual_stack,
                impaired: None,
            }));
        };
        let (released_tx, released_rx) = mpsc::channel(RELEASED_QUEUE);
        let inbound = Link::new(impairment.inbound.clone(), impairment.seed)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let outbound = Link::new(impairment.outbound.clone(), impairment.seed.wrapping_add(1))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let socket = Arc::new(Self {
            udp,
            dual_stack,
            impaired: Some(Impaired {
                outbound: Mutex::new(outbound),
                outage: impairment.outage.clone(),
                wake: Notify::new(),
                released: tokio::sync::Mutex::new(released_rx),
            }),
        });
        tokio::spawn(pump(
            Arc::clone(&socket),
            inbound,
            released_tx,
            cancel.clone(),
        ));
        Ok(socket)
    }

    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.udp.local_addr()
    }

    /// Sends one datagram to `peer` (through the outbound impairment, if any).
    pub(crate) async fn send_to(&self, data: &[u8], peer: SocketAddr) -> io::Result<()> {
        let peer = self.outgoing_address(peer);
        match &self.impaired {
            None => self.udp.send_to(data, peer).await.map(drop),
            Some(impaired) => {
                if impaired.outage.drops() {
                    return Ok(());
                }
                let datagram = Datagram {
                    data: Bytes::copy_from_slice(data),
                    peer,
                };
                lock(&impaired.outbound).handle_packet(Instant::now(), datagram);
                impaired.wake.notify_one();
                Ok(())
            }
        }
    }

    /// Receives one datagram (after the inbound impairment, if any). `buffer` is reused
    /// between calls to avoid an allocation per packet.
    pub(crate) async fn recv(&self, buffer: &mut BytesMut) -> io::Result<Datagram> {
        match &self.impaired {
            None => {
                buffer.clear();
                buffer.reserve(RECV_BUFFER);
                let (_, peer) = self.udp.recv_buf_from(buffer).await?;
                Ok(Datagram {
                    data: buffer.split().freeze(),
                    peer: normalize(peer),
                })
            }
            Some(impaired) => impaired
                .released
                .lock()
                .await
                .recv()
                .await
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "socket closed")),
        }
    }

    /// A dual-stack socket reaches IPv4 peers through IPv4-mapped IPv6 addresses.
    fn outgoing_address(&self, peer: SocketAddr) -> SocketAddr {
        match peer.ip() {
            IpAddr::V4(ip) if self.dual_stack => {
                SocketAddr::new(IpAddr::V6(ip.to_ipv6_mapped()), peer.port())
            }
            _ => peer,
        }
    }
}

/// IPv4-mapped IPv6 addresses (from a dual-stack socket) back to IPv4, so addresses compare
/// equal to the candidates they came from.
pub(crate) fn normalize(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), addr.port()),
            None => addr,
        },
        IpAddr::V4(_) => addr,
    }
}

/// The unspecified address of a family.
pub(crate) fn unspecified(ipv6: bool, port: u16) -> SocketAddr {
    if ipv6 {
        SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port)
    } else {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Moves datagrams through both impairment links until cancelled.
async fn pump(
    socket: Arc<Socket>,
    mut inbound: Link<Datagram>,
    released: mpsc::Sender<Datagram>,
    cancel: CancellationToken,
) {
    let Some(impaired) = &socket.impaired else {
        return;
    };
    let mut buffer = BytesMut::with_capacity(RECV_BUFFER);
    let mut errors = 0u32;
    loop {
        let outbound_due = lock(&impaired.outbound).poll_timeout();
        let due = [inbound.poll_timeout(), outbound_due]
            .into_iter()
            .flatten()
            .min();
        let sleep = async {
            match due {
                Some(due) => tokio::time::sleep_until(due.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = cancel.cancelled() => return,
            () = sleep => {}
            () = impaired.wake.notified() => {}
            received = async {
                buffer.clear();
                buffer.reserve(RECV_BUFFER);
                socket.udp.recv_buf_from(&mut buffer).await
            } => match received {
                Ok((_, peer)) => {
                    errors = 0;
                    let datagram = Datagram { data: buffer.split().freeze(), peer: normalize(peer) };
                    if !impaired.outage.drops() {
                        inbound.handle_packet(Instant::now(), datagram);
                    }
                }
                Err(error) => {
                    errors += 1;
                    tracing::debug!(%error, "impaired socket receive failed");
                    // Never spin on a failing socket.
                    tokio::time::sleep(Duration::from_millis(u64::from(errors.min(10)) * 10)).await;
                }
            },
        }
        let now = Instant::now();
        while let Some(datagram) = inbound.poll_packet(now) {
            if released.try_send(datagram).is_err() {
                tracing::debug!("impaired socket reader is behind; datagram dropped");
            }
        }
        let due: Vec<Datagram> = {
            let mut outbound = lock(&impaired.outbound);
            std::iter::from_fn(|| outbound.poll_packet(now)).collect()
        };
        for datagram in due {
            if let Err(error) = socket.udp.send_to(&datagram.data, datagram.peer).await {
                tracing::debug!(%error, peer = %datagram.peer, "impaired socket send failed");
            }
        }
    }
}

impl NetworkImpairment {
    /// Checks both directions' probabilities and rates.
    pub fn validate(&self) -> Result<(), strata_netem::Error> {
        self.inbound.validate()?;
        self.outbound.validate()
    }

    /// The same impairment in both directions.
    pub fn symmetric(impairment: Impairment, seed: u64) -> Self {
        Self {
            inbound: impairment.clone(),
            outbound: impairment,
            seed,
            outage: Outage::default(),
        }
    }
}
