//! What webrtc-ice sees of our socket: a `UDPMux` whose one connection carries the STUN
//! datagrams the demultiplexer hands it and sends through our socket.
//!
//! webrtc-ice runs one receive loop per local host candidate on the connection it gets from
//! the mux; with one socket for all host candidates those loops share it, and a datagram is
//! read by whichever loop is free. Replies still leave through the same socket, so within
//! one address family only the local-candidate label of a pair can be off, never the path.
//! Across families it is worse: webrtc-ice looks the sender up among the remote candidates
//! of the *reading* candidate's family, so an IPv4 check read by the `::1` candidate's loop
//! is dropped ("no such remote") or turned into a wrong peer-reflexive candidate; with host
//! candidates of both families about one connection in four failed on loopback. The mux
//! API (one `get_conn` per gathering, no caller identity) gives no way to route by family,
//! so host candidates come from one family only (`HostFamily` in `agent`).

use std::any::Any;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use async_trait::async_trait;
use tokio::sync::{Mutex, mpsc};
use tokio_util::sync::CancellationToken;
use webrtc_ice::udp_mux::UDPMux;
use webrtc_util::Conn;

use crate::socket::{Datagram, Socket};
use crate::stun_auth;

/// STUN datagrams waiting for webrtc-ice.
pub(crate) const STUN_QUEUE: usize = 256;

/// The connection webrtc-ice reads STUN from and writes STUN to.
pub(crate) struct StunConn {
    /// Weak: webrtc-ice's candidates keep this connection alive after close (and upstream
    /// may leak them); they must not keep the socket open.
    socket: Weak<Socket>,
    inbound: Mutex<mpsc::Receiver<Datagram>>,
    closed: CancellationToken,
    /// Checks held back because they name no peer (see [`stun_auth::names_no_peer`]).
    held: AtomicU64,
}

impl StunConn {
    pub(crate) fn new(
        socket: &Arc<Socket>,
        inbound: mpsc::Receiver<Datagram>,
        closed: CancellationToken,
    ) -> Self {
        Self {
            socket: Arc::downgrade(socket),
            inbound: Mutex::new(inbound),
            closed,
            held: AtomicU64::new(0),
        }
    }

    /// How many checks were held back because they named no peer.
    pub(crate) fn held_checks(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }
}

fn closed_error() -> webrtc_util::Error {
    webrtc_util::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionAborted).into())
}

#[async_trait]
impl Conn for StunConn {
    async fn connect(&self, _addr: SocketAddr) -> webrtc_util::Result<()> {
        Err(webrtc_util::Error::Other(
            "the ICE socket is not connected to one peer".into(),
        ))
    }

    async fn recv(&self, buf: &mut [u8]) -> webrtc_util::Result<usize> {
        self.recv_from(buf).await.map(|(n, _)| n)
    }

    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        let datagram = tokio::select! {
            () = self.closed.cancelled() => None,
            datagram = async { self.inbound.lock().await.recv().await } => datagram,
        };
        let datagram = datagram.ok_or_else(closed_error)?;
        let n = datagram.data.len().min(buf.len());
        buf[..n].copy_from_slice(&datagram.data[..n]);
        Ok((n, datagram.peer))
    }

    async fn send(&self, _buf: &[u8]) -> webrtc_util::Result<usize> {
        Err(webrtc_util::Error::Other(
            "send needs a destination on the ICE socket".into(),
        ))
    }

    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> webrtc_util::Result<usize> {
        if stun_auth::names_no_peer(buf) {
            // No peer can authenticate it. webrtc-ice resends its checks on its own
            // schedule, keyed right once the remote credentials are set; to it this one
            // was sent and lost.
            self.held.fetch_add(1, Ordering::Relaxed);
            return Ok(buf.len());
        }
        let socket = self
            .socket
            .upgrade()
            .filter(|_| !self.closed.is_cancelled())
            .ok_or_else(closed_error)?;
        socket
            .send_to(buf, target)
            .await
            .map_err(|e| webrtc_util::Error::Io(e.into()))?;
        Ok(buf.len())
    }

    fn local_addr(&self) -> webrtc_util::Result<SocketAddr> {
        let socket = self.socket.upgrade().ok_or_else(closed_error)?;
        socket
            .local_addr()
            .map_err(|e| webrtc_util::Error::Io(e.into()))
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        None
    }

    async fn close(&self) -> webrtc_util::Result<()> {
        // The socket belongs to the agent, which closes it; webrtc-ice closing a candidate
        // must not take the shared connection down with it.
        Ok(())
    }

    fn as_any(&self) -> &(dyn Any + Send + Sync) {
        self
    }
}

/// Hands webrtc-ice the one STUN connection, whatever ufrag it asks for (ICE restarts
/// change the ufrag but keep the socket).
pub(crate) struct StunMux {
    conn: Arc<StunConn>,
}

impl StunMux {
    pub(crate) fn new(conn: Arc<StunConn>) -> Self {
        Self { conn }
    }
}

#[async_trait]
impl UDPMux for StunMux {
    async fn close(&self) -> Result<(), webrtc_util::Error> {
        Ok(())
    }

    async fn get_conn(
        self: Arc<Self>,
        _ufrag: &str,
    ) -> Result<Arc<dyn Conn + Send + Sync>, webrtc_util::Error> {
        Ok(Arc::clone(&self.conn) as Arc<dyn Conn + Send + Sync>)
    }

    async fn remove_conn_by_ufrag(&self, _ufrag: &str) {}
}
