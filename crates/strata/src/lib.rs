//! Strata: a WebRTC stack for Rust.
//!
//! [`PeerConnection`] follows the W3C `RTCPeerConnection` model: exchange session
//! descriptions and candidates over any signaling channel, and the connection runs ICE,
//! DTLS, SCTP and SRTP underneath, one task per connection. Data channels carry text and
//! binary messages in every reliability mode; tracks carry audio and video.
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
//! # Audio and video
//!
//! [`PeerConnection::add_track`] gives a [`TrackLocal`] to write encoded samples to (the
//! application encodes; Strata packetizes, protects and sends them, answers NACKs and
//! reports keyframe requests). The peer learns of the track from
//! [`PeerConnectionEvent::Track`] and reads whole frames from the [`TrackRemote`]. Audio,
//! video and data channels share one BUNDLE transport; adding or removing a track on a
//! connected peer asks for one more offer/answer exchange
//! ([`PeerConnectionEvent::NegotiationNeeded`]).
//!
//! ```
//! use std::time::Duration;
//! use bytes::Bytes;
//! use strata::{
//!     Codec, Configuration, PeerConnection, PeerConnectionEvent, PeerConnectionState, Sample,
//!     TrackKind, TrackLocalInit,
//! };
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = Configuration::default();
//! config.ice.policy.include_loopback = true;
//! let (sender, mut sender_events) = PeerConnection::new(config.clone()).await?;
//! let (receiver, mut receiver_events) = PeerConnection::new(config).await?;
//! let camera = sender
//!     .add_track(TrackLocalInit::new(TrackKind::Video, "call", "camera"))
//!     .await?;
//!
//! let offer = sender.create_offer().await?;
//! sender.set_local_description(offer.clone()).await?;
//! receiver.set_remote_description(offer).await?;
//! let answer = receiver.create_answer().await?;
//! receiver.set_local_description(answer.clone()).await?;
//! sender.set_remote_description(answer).await?;
//! assert_eq!(camera.codec(), Some(Codec::Vp8)); // what to encode in
//!
//! // A VP8 keyframe (its payload header's P bit is clear), sent once connected.
//! let keyframe = Bytes::from(vec![0x10; 4000]);
//! let track = loop {
//!     tokio::select! {
//!         Some(event) = sender_events.recv() => match event {
//!             PeerConnectionEvent::IceCandidate(candidate) => receiver.add_ice_candidate(candidate).await?,
//!             PeerConnectionEvent::ConnectionStateChange(PeerConnectionState::Connected) => {
//!                 let frame = Sample::new(keyframe.clone(), Duration::from_millis(33));
//!                 camera.write_sample(frame).await?;
//!             }
//!             _ => {}
//!         },
//!         Some(event) = receiver_events.recv() => match event {
//!             PeerConnectionEvent::IceCandidate(candidate) => sender.add_ice_candidate(candidate).await?,
//!             PeerConnectionEvent::Track(track) => break track,
//!             _ => {}
//!         },
//!     }
//! };
//! tokio::spawn(async move { while sender_events.recv().await.is_some() {} });
//! tokio::spawn(async move { while receiver_events.recv().await.is_some() {} });
//!
//! let frame = track.read_sample().await.ok_or("the track ended")?;
//! assert_eq!(frame.data, keyframe);
//! assert!(frame.keyframe);
//! sender.close().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Many peers
//!
//! [`Transport`] joins a room of a `strata` signaling server and keeps a connection to
//! every other participant: send to one peer, broadcast to all, watch each link's
//! quality; see the [`transport`] module.
//!
//! # Layers
//!
//! `strata` composes crates usable on their own: `strata-sdp` (offer/answer, sans-IO),
//! `strata-ice` (ICE over a socket we own), `strata-dtls-srtp` (DTLS with fingerprint
//! checks, SRTP), `strata-datachannel` (SCTP with our own DCEP) and `strata-media`
//! (RTP/RTCP, sans-IO, with `strata-jitter`). See `ARCHITECTURE.md`.

mod config;
mod data_channel;
mod description;
mod driver;
mod error;
mod events;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod media;
mod peer_connection;
mod setup;
mod track;
pub mod transport;

pub use config::Configuration;
pub use data_channel::{
    ChannelCloseReason, ChannelEvent, ChannelOptions, ChannelState, ChannelStats, DataChannel,
    Message, Priority, Reliability,
};
pub use description::{IceCandidateInit, SdpType, SessionDescription};
pub use driver::PeerConnectionStats;
pub use error::Error;
pub use events::{
    Failure, IceConnectionState, IceGatheringState, PeerConnectionEvent, PeerConnectionState,
    SignalingState,
};
pub use media::MediaDeliveryStats;
pub use peer_connection::{PeerConnection, PeerConnectionEvents, WeakPeerConnection};
pub use setup::SetupTimeline;
pub use strata_dtls_srtp::SrtpStats;
pub use strata_dtls_srtp::{Certificate, Fingerprint};
pub use strata_ice::{
    CandidatePolicy, IceConfig, IceServer, Impairment, Interfaces, Loss, NetworkImpairment, Outage,
    TransportPolicy,
};
pub use strata_media::jitter::{AdaptiveDelay, DelayMode};
pub use strata_media::{InboundRtpStats, OutboundRtpStats, RemoteInboundRtpStats, SessionStats};
pub use track::{
    Codec, KeyframeRequestKind, MediaData, Mid, Sample, SampleTiming, Ssrc, TRACK_SAMPLE_QUEUE,
    TrackKind, TrackLocal, TrackLocalInit, TrackRemote,
};
pub use transport::{
    BroadcastStats, ChannelMode, DisconnectReason, PeerId, PeerInfo, PeerState, Transport,
    TransportConfig, TransportEvent, TransportEvents, TransportStats,
};
