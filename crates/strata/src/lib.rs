//! Strata: a WebRTC stack for Rust.
//!
//! [`PeerConnection`] follows the W3C `RTCPeerConnection` model: exchange session
//! descriptions and candidates over any signaling channel, and the connection runs ICE,
//! DTLS and SCTP underneath, one task per connection. Data channels carry text and binary
//! messages in every reliability mode.
//!
//! ```
//! use strata::{ChannelEvent, ChannelOptions, Configuration, Message, PeerConnection, PeerConnectionEvent};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = Configuration::default();
//! config.ice.policy.include_loopback = true; // both peers run on this machine
//!
//! let (offerer, offerer_events) = PeerConnection::new(config.clone()).await?;
//! let (answerer, mut answerer_events) = PeerConnection::new(config).await?;
//! let chat = offerer.create_data_channel("chat", ChannelOptions::default()).await?;
//!
//! // Signaling: the offer goes one way, the answer back, candidates both ways.
//! let offer = offerer.create_offer().await?;
//! offerer.set_local_description(offer.clone()).await?;
//! answerer.set_remote_description(offer).await?;
//! let answer = answerer.create_answer().await?;
//! answerer.set_local_description(answer.clone()).await?;
//! offerer.set_remote_description(answer).await?;
//! tokio::spawn(trickle(offerer_events, answerer.clone()));
//!
//! // The answerer learns of the channel from its events.
//! let remote_chat = loop {
//!     match answerer_events.recv().await {
//!         Some(PeerConnectionEvent::IceCandidate(candidate)) => offerer.add_ice_candidate(candidate).await?,
//!         Some(PeerConnectionEvent::DataChannel(channel)) => break channel,
//!         Some(_) => {}
//!         None => return Err("connection closed".into()),
//!     }
//! };
//! tokio::spawn(async move { while answerer_events.recv().await.is_some() {} });
//!
//! assert_eq!(chat.recv().await, Some(ChannelEvent::Open));
//! chat.send_text("hello").await?;
//! let received = loop {
//!     match remote_chat.recv().await {
//!         Some(ChannelEvent::Message(message)) => break message,
//!         Some(_) => continue, // open, low-buffer notices
//!         None => return Err("channel closed".into()),
//!     }
//! };
//! assert_eq!(received, Message::Text("hello".into()));
//! offerer.close().await;
//! # Ok(())
//! # }
//!
//! /// Forwards one side's candidates to the other.
//! async fn trickle(mut events: strata::PeerConnectionEvents, peer: PeerConnection) {
//!     while let Some(event) = events.recv().await {
//!         if let PeerConnectionEvent::IceCandidate(candidate) = event {
//!             let _ = peer.add_ice_candidate(candidate).await;
//!         }
//!     }
//! }
//! ```
//!
//! # Layers
//!
//! `strata` composes crates usable on their own: `strata-sdp` (offer/answer, sans-IO),
//! `strata-ice` (ICE over a socket we own), `strata-dtls-srtp` (DTLS with fingerprint
//! checks) and `strata-datachannel` (SCTP with our own DCEP). See `ARCHITECTURE.md`.

mod config;
mod data_channel;
mod description;
mod driver;
mod error;
mod events;
mod media;
mod peer_connection;
mod track;

pub use config::Configuration;
pub use data_channel::{
    ChannelCloseReason, ChannelEvent, ChannelOptions, ChannelState, ChannelStats, DataChannel,
    Message, Priority, Reliability,
};
pub use description::{IceCandidateInit, SdpType, SessionDescription};
pub use driver::PeerConnectionStats;
pub use error::Error;
pub use events::{
    IceConnectionState, IceGatheringState, PeerConnectionEvent, PeerConnectionState, SignalingState,
};
pub use media::MediaDeliveryStats;
pub use peer_connection::{PeerConnection, PeerConnectionEvents, WeakPeerConnection};
pub use strata_dtls_srtp::SrtpStats;
pub use strata_dtls_srtp::{Certificate, Fingerprint};
pub use strata_ice::{
    CandidatePolicy, IceConfig, IceServer, Impairment, Interfaces, Loss, NetworkImpairment,
    TransportPolicy,
};
pub use strata_media::{InboundRtpStats, OutboundRtpStats, RemoteInboundRtpStats, SessionStats};
pub use track::{
    Codec, KeyframeRequestKind, MediaData, Mid, Sample, SampleTiming, Ssrc, TRACK_SAMPLE_QUEUE,
    TrackKind, TrackLocal, TrackLocalInit, TrackRemote,
};
