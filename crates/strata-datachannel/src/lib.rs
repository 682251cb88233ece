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
//! - [`sctp`] is sans-IO: the SCTP association (RFC 9260 with partial reliability,
//!   stream reset and the Supported Extensions parameter) that WebRTC data channels run
//!   on. It validates every inbound packet, counting what it drops by
//!   [`sctp::MalformedPacket`].
//! - [`dcep`] is sans-IO too: the DCEP codec and the per-association state machine
//!   (stream ids by DTLS-role parity, OPEN/ACK, implied ACK, refusals, pre-negotiated
//!   channels, closing by stream reset), driven with time as an input.
//! - [`Association`] is the adapter: one driver task per association runs both over
//!   your [`DatagramTransport`] and hands out [`DataChannel`]s. The two cores sit behind
//!   one mutex, never held across an `.await`, that channel handles lock to queue a
//!   message; the driver keeps one `recv` pending on the transport at all times, feeds
//!   each datagram and timer to the cores, carries out what they produce and sends their
//!   packets. Nothing else is spawned, per association or per channel.
//!
//! # How channels map onto SCTP
//!
//! - A channel is one stream id in both directions. DCEP messages (PPID 50) go out
//!   ordered and reliable. Our messages take the channel's `max_retransmits` or
//!   `max_packet_life_time` from the first one; until the peer's `DATA_CHANNEL_ACK`
//!   they go out ordered (RFC 8832 §6), then with the channel's ordering.
//! - Empty messages go out as one ignored byte with PPIDs 56/57 (RFC 8831 §6.6);
//!   PPIDs 52/54 and unknown ones close their channel.
//! - Closing a channel resets our outgoing stream (RFC 8831 §6.7). When the peer
//!   resets its side, every message it sent before has been delivered; we reset ours
//!   in turn if we had not, and the channel is closed. A stream id is reused only
//!   once both directions are reset.
//! - A message over [`AssociationConfig::max_message_size`] is dropped and closes its
//!   channel ([`ProtocolViolation::InboundMessageTooLarge`]).
//! - Backpressure: [`DataChannel::send`] waits while the association holds 1 MiB or
//!   more not yet acknowledged, across its channels, and refuses a message that would
//!   take one channel past [`AssociationConfig::max_buffered_amount`]
//!   ([`Error::SendBufferFull`]). Received messages wait for the application in a
//!   queue per channel bounded by [`AssociationConfig::channel_receive_buffer`]: past
//!   it a reliable channel is closed ([`ChannelCloseReason::ReceiveBufferOverflow`])
//!   rather than losing data silently, and an unreliable one drops and counts.
//! - Priority is carried in DCEP and reported; streams are not scheduled by it.

pub mod dcep;
pub mod sctp;

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
