//! WebRTC data channels: our own DCEP (RFC 8832) over an SCTP association (RFC 8831) on
//! a datagram transport you provide — in WebRTC the DTLS connection.
//!
//! ```
//! use std::sync::Arc;
//! use strata_datachannel::{
//!     Association, AssociationConfig, AssociationEvent, ChannelEvent, ChannelOptions,
//!     DatagramTransport, DtlsRole, Message,
//! };
//! use tokio::net::UdpSocket;
//!
//! /// A connected UDP socket is a datagram transport.
//! struct Udp(UdpSocket);
//!
//! impl DatagramTransport for Udp {
//!     async fn send(&self, datagram: &[u8]) -> std::io::Result<()> {
//!         self.0.send(datagram).await.map(drop)
//!     }
//!     async fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
//!         self.0.recv(buf).await
//!     }
//!     async fn close(&self) -> std::io::Result<()> {
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let a = UdpSocket::bind("127.0.0.1:0").await?;
//! let b = UdpSocket::bind("127.0.0.1:0").await?;
//! a.connect(b.local_addr()?).await?;
//! b.connect(a.local_addr()?).await?;
//!
//! // The DTLS client opens even stream ids, the server odd ones.
//! let (client, _client_events) =
//!     Association::new(Udp(a), AssociationConfig::new(DtlsRole::Client))?;
//! let (_server, mut server_events) =
//!     Association::new(Udp(b), AssociationConfig::new(DtlsRole::Server))?;
//!
//! let chat = client.create_channel("chat", ChannelOptions::default()).await?;
//! chat.send_text("hello").await?;
//!
//! let mut remote = loop {
//!     match server_events.recv().await {
//!         Some(AssociationEvent::ChannelOpened(channel)) => break channel,
//!         Some(_) => continue,
//!         None => return Err("association closed".into()),
//!     }
//! };
//! assert_eq!(remote.label(), "chat");
//! assert_eq!(
//!     remote.recv().await,
//!     Some(ChannelEvent::Message(Message::Text("hello".into())))
//! );
//! client.close().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Layout
//!
//! - [`dcep`] is sans-IO: the DCEP codec and the per-association state machine (stream
//!   ids by DTLS-role parity, OPEN/ACK, implied ACK, refusals, pre-negotiated channels,
//!   closing by stream reset), driven with time as an input.
//! - [`sctp_guard`] is sans-IO too: it validates every inbound SCTP packet before
//!   webrtc-sctp parses it.
//! - [`Association`] is the adapter: it runs webrtc-sctp 0.17.2 over your
//!   [`DatagramTransport`] with one driver task, and hands out [`DataChannel`]s. No
//!   webrtc-rs type appears in its API.
//!
//! # Where this departs from webrtc-sctp and the RFCs, and why
//!
//! webrtc-sctp 0.17.2 is frozen; these are its traps and what we do about them.
//!
//! - **Panics on malformed chunks.** SHUTDOWN or `FORWARD-TSN` with a length field
//!   shorter than their fixed part, and INIT/`INIT-ACK` followed by more bytes, make its
//!   parser slice or read past the chunk and panic inside its read loop, which silently
//!   kills the association. [`sctp_guard::PacketGuard`] drops such packets first and
//!   counts them ([`AssociationStats::malformed_packets`]).
//! - **Absurd `FORWARD-TSN`.** It walks its cumulative TSN one step at a time to the new
//!   value under the association lock; 2^31 steps is a hang. The guard drops DATA and
//!   `FORWARD-TSN` more than 65534 TSNs ahead of what we acknowledged.
//! - **No verification-tag check.** The guard enforces RFC 4960 §8.5 once our tag is
//!   known.
//! - **Buffered-amount callback under the association lock.** Our callback only sets a
//!   flag, wakes waiters and queues an event; it never awaits or locks.
//! - **Undrained streams stall everything.** Data waiting in one stream's reassembly
//!   queue shrinks the receive window of the whole association, so the driver reads
//!   every stream it holds at all times, including streams nobody claimed yet. Per
//!   channel, received messages wait in a queue bounded by
//!   [`AssociationConfig::channel_receive_buffer`]: past it a reliable channel is closed
//!   ([`ChannelCloseReason::ReceiveBufferOverflow`]) rather than losing data silently,
//!   and an unreliable one drops the message and counts it.
//! - **Short read buffers lose messages.** A read into a buffer smaller than the message
//!   discards the message. Every read uses a buffer of
//!   [`AssociationConfig::max_message_size`] (what we advertise), so one buffer of that
//!   size is held per open stream; a peer that ignores our limit gets its channel
//!   closed with [`ProtocolViolation::InboundMessageTooLarge`].
//! - **Resets hide the last messages.** Once a reset is applied its stream returns no
//!   more data, even data already received. A packet carrying a reset request waits
//!   (at most 100 ms) until the driver has read what is ready, and a reset whose last
//!   TSN has not arrived yet is dropped for the peer to retransmit.
//! - **A bounded send queue shared by all streams.** Its writes wait while 128 KiB are
//!   queued and not yet in flight, across the whole association, and a stream reset
//!   queues behind them. [`DataChannel::send`] therefore waits for room; the driver
//!   never awaits a write itself (DCEP messages and resets run as futures it polls), so
//!   a full queue cannot stop it from reading.
//! - **Retransmission count off by one.** It abandons a chunk after `n` transmissions;
//!   `max_retransmits: n` is passed as `n + 1`.
//! - **Empty messages.** It cannot send an empty message (an empty write is its
//!   stream-reset marker), so empty text and binary go out as one byte with PPIDs 56/57
//!   (RFC 8831 §6.6).
//! - **Unknown PPIDs** are all reported as one value, so the number of an unsupported
//!   PPID is not known; the channel is closed (RFC 8831 §6.6) and the guard counts the
//!   deprecated PPIDs 52/54 it sees on the wire.
//! - **Tasks.** It spawns a read loop, a write loop and one task per running timer for
//!   each association; they end when the association is closed, which our driver
//!   ensures on every exit path by cancelling the connection they read from.
//! - **Priority** is carried in DCEP and reported, but webrtc-sctp schedules streams
//!   first come, first served.
//! - **Wrapping TSN arithmetic.** Its TSN and SSN arithmetic relies on wrapping; with
//!   overflow checks on (debug builds) a peer whose TSNs wrap makes it panic. Build
//!   `webrtc-sctp` with `overflow-checks = false` in profiles that enable them (this
//!   workspace does).
//! - **Slow loss recovery.** Its retransmission timeout never drops below one second
//!   and doubles, and its T3-rtx timer is not restarted when a SACK acknowledges new data
//!   while more stays in flight (RFC 4960 §6.3.2 R3 says restart it), so the backoff
//!   keeps growing through a long transfer: late in one, a lost retransmission can wait
//!   up to RTO.max, 60 s. Each chunk is fast-retransmitted at most once, and a
//!   `max_retransmits: 0` chunk is abandoned right after its first transmission (a
//!   FORWARD-TSN that overtakes chunks still in flight turns them into "old" data the
//!   peer drops). At 5% loss and 30 ms delay a reliable channel moves about 43 KB/s.
//! - **Large writes wait for a wake-up.** A message over 85 KiB is queued chunk by chunk
//!   into a 128 KiB send queue, and the write loop is woken only once the last chunk is
//!   in: on an idle association nothing drains the queue until the peer's next packet
//!   (a heartbeat, 30 s later), and a stream of such messages can stop altogether. While
//!   such a write is pending, the channel hands webrtc-sctp a harmless duplicate DATA
//!   chunk every 5 ms ([`sctp_guard::PacketGuard::wake_packet`]); answering it runs the
//!   write loop.
//! - **Accept queue of 16.** Streams the peer opens wait in a 16-slot queue; a stream
//!   arriving while it is full has its first data discarded until the peer retransmits
//!   (one second later). The driver accepts as soon as a stream arrives; bursts of more
//!   than 16 opens in one packet still pay that second.
//! - **Delayed SACK timer** fires once per association and never again, so a packet
//!   arriving alone is acknowledged only after the peer's retransmission timeout (at
//!   least one second): `buffered_amount` can stay up that long. Forcing immediate SACKs
//!   (the RFC 7053 I bit on every inbound DATA) would hide this, but it empties the
//!   sender's flight often enough to expose the next defect, so it is not done.
//! - **Stream resets can leak as empty DATA.** A reset is queued as an empty DATA chunk
//!   that the write loop turns into a RECONFIG, except on its zero-window-probe path,
//!   which sends whatever is at the head of the queue when nothing is in flight: now and
//!   then the marker goes out as a DATA chunk without user data. RFC 9260 forbids that,
//!   and the guard drops such packets ([`sctp_guard::MalformedPacket::EmptyData`]), so
//!   that TSN is never acknowledged and the resets behind it wait for good. With forced
//!   immediate SACKs the open-flood test (1,900 refusals) stalled so in 3 of 37 runs;
//!   without them, in none of 74.
//! - **Lock order.** Its read loop holds the association lock while it waits for a
//!   stream's queue lock; the driver keeps polling its reads whenever it awaits
//!   webrtc-sctp, so a read that tokio already granted that lock can always finish.

pub mod dcep;
pub mod sctp_guard;

mod association;
mod channel;
mod config;
mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod transport;

pub use association::{
    Association, AssociationEvent, AssociationEvents, AssociationState, AssociationStats,
};
pub use channel::{ChannelEvent, ChannelSender, ChannelStats, DataChannel, Message};
pub use config::{
    AssociationConfig, ChannelOptions, DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_SCTP_PORT, MaxMessageSize,
    Priority, SDP_DEFAULT_MAX_MESSAGE_SIZE,
};
pub use dcep::{ChannelCloseReason, ChannelState, DtlsRole, Reliability, StreamId};
pub use error::{
    AssociationCloseReason, DcepField, DcepParseError, Error, ProtocolViolation, SctpFailure,
    TransportFailure,
};
pub use transport::DatagramTransport;
