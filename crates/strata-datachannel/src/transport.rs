//! The datagram transport the caller provides.

use std::future::Future;
use std::io;

/// A datagram transport for one SCTP association: in WebRTC the DTLS connection, in tests
/// a connected UDP socket.
///
/// The contract:
/// - [`send`](Self::send) sends one datagram, whole, or fails (a failure ends the
///   association);
/// - [`recv`](Self::recv) waits for one datagram and copies it into `buf`, returning its
///   length (`buf` is 8192 bytes; a longer datagram may be truncated, and is then dropped
///   as corrupt by the checksum); an `Err` ends the association, so return one when the
///   transport closed;
/// - [`close`](Self::close) releases the transport; pending and later `recv`s fail.
///
/// The association's driver keeps one `recv` pending at all times, including while a
/// `send` is under way, so both run concurrently; dropping a pending `recv` happens only
/// when the association ends.
pub trait DatagramTransport: Send + Sync + 'static {
    /// Sends one datagram.
    fn send(&self, datagram: &[u8]) -> impl Future<Output = io::Result<()>> + Send;
    /// Receives one datagram into `buf`.
    fn recv(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send;
    /// Closes the transport.
    fn close(&self) -> impl Future<Output = io::Result<()>> + Send;
}
