//! Sans-IO RTP and RTCP for WebRTC media.
//!
//! A [`MediaSession`] holds every track of one connection. It is fed plain RTP and RTCP
//! (after SRTP unprotect) and commands, and emits plain RTP and RTCP (to SRTP-protect and
//! send) and events: received frames, keyframe requests, transport-wide feedback. Time
//! and randomness are inputs; see [`MediaSession`] for the calling convention.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use bytes::Bytes;
//! use strata_media::{
//!     Codec, Event, LocalTrackConfig, MediaSession, Mid, Output, PayloadType, RemoteTrackConfig,
//!     Sample, SessionConfig,
//! };
//!
//! let start = Instant::now();
//! let mid = Mid::new("0")?;
//! let vp8 = PayloadType::new(96).unwrap();
//! let mut alice = MediaSession::new(SessionConfig::with_seed(1), start)?;
//! let mut bob = MediaSession::new(SessionConfig::with_seed(2), start)?;
//! alice.add_local_track(LocalTrackConfig::new(mid.clone(), Codec::Vp8, vp8))?;
//! bob.add_remote_track(RemoteTrackConfig::new(mid.clone(), Codec::Vp8, vp8))?;
//!
//! // A VP8 keyframe (first payload byte with the P bit clear), 3000 bytes.
//! let frame = Bytes::from(vec![0x10; 3000]);
//! alice.write_sample(start, &mid, &Sample::new(frame.clone(), Duration::from_millis(33)))?;
//!
//! // Carry alice's packets to bob, then run bob's timers until the frame is due.
//! let mut received = None;
//! while let Some(output) = alice.poll_output() {
//!     if let Output::Rtp(packet) = output {
//!         bob.handle_rtp(start, &packet)?;
//!     }
//! }
//! let mut now = start;
//! while received.is_none() && now < start + Duration::from_secs(1) {
//!     while let Some(output) = bob.poll_output() {
//!         if let Output::Event(Event::Media(media)) = output {
//!             received = Some(media);
//!         }
//!     }
//!     now = bob.poll_timeout().unwrap_or(now).max(now + Duration::from_millis(1));
//!     bob.handle_timeout(now);
//! }
//! let media = received.expect("the frame came out");
//! assert_eq!(media.data, frame);
//! assert!(media.keyframe);
//! # Ok::<(), strata_media::Error>(())
//! ```
//!
//! Track configurations usually come from the negotiated SDP:
//! [`LocalTrackConfig::from_negotiated`] and [`RemoteTrackConfig::from_negotiated`] read a
//! `strata-sdp` [`NegotiatedMedia`](strata_sdp::NegotiatedMedia).
//!
//! Recording and playback: [`container`] writes received media to IVF (VP8, VP9) and
//! Ogg/Opus files ([`container::Recorder`]) and reads files back as samples
//! ([`container::IvfPlayer`], [`container::OggOpusPlayer`]).
//!
//! # What is ours and what is upstream
//!
//! - RTP and RTCP parsing and serialization are ours ([`rtp`], [`rtcp`]): the `rtp`
//!   crate's parser panics on malformed header extensions, so no network byte reaches it.
//! - Packetization and depacketization (Opus, VP8, VP9, H.264 packetization mode 1) are
//!   ours too: the `rtp` crate's payloaders would bring tokio into this sans-IO crate
//!   through `webrtc-util` (and its VP9 payloader seeds itself from an unseeded RNG), and
//!   its depacketizers read past the end of short payloads (a panic in `bytes`). Tests
//!   cross-check both directions against the `rtp` crate.
//! - The IVF and Ogg/Opus containers are ours: `webrtc-media`'s writers take `rtp`
//!   packets (tokio again), its Ogg writer panics when RTP timestamps wrap in a debug
//!   build and stamps granule positions from 1, and its IVF reader allocates whatever
//!   frame size a file declares (up to 4 GiB). Tests cross-check files both ways against
//!   it.
//! - The jitter buffer is `strata-jitter`: one buffer per remote track, one stream per
//!   SSRC; its NACK lists (with retry limits and RTT awareness) become RTCP NACKs and its
//!   keyframe requests become PLIs.
//!
//! # Bounded resources
//!
//! [`MAX_REMOTE_SSRCS`] remote SSRCs, [`MAX_QUEUED_OUTPUTS`] queued outputs,
//! [`SessionConfig::retransmission_cache_packets`] packets per sending track,
//! [`MAX_REMEMBERED_NACKS`] requested sequence numbers per remote stream,
//! [`MAX_TRANSPORT_FEEDBACK_PENDING`] logged arrivals and [`TRANSPORT_SEND_HISTORY`] sent
//! packets for transport-wide feedback, [`rtcp::MAX_COMPOUND_PACKETS`] packets per RTCP
//! compound, [`rtp::MAX_EXTENSION_ELEMENTS`] header extension elements; everything dropped
//! at a bound is counted in [`SessionStats`]. Files: [`container::MAX_IVF_FRAME_SIZE`]
//! per IVF frame, [`container::MAX_OGG_PACKET_SIZE`] per Ogg packet.

mod codec;
mod config;
pub mod container;
mod error;
mod event;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
mod ids;
mod local;
mod negotiated;
mod remote;
mod rng;
pub mod rtcp;
pub mod rtp;
mod session;
mod stats;
mod twcc;

/// The jitter buffer every receiving track runs ([`RemoteTrackConfig::jitter`]).
pub use strata_jitter as jitter;

pub use codec::Codec;
pub use config::{
    Feedback, LocalTrackConfig, MAX_RETRANSMISSION_CACHE_PACKETS, RETRANSMISSION_CACHE_PACKETS,
    RemoteCodec, RemoteTrackConfig, RtxConfig, SessionConfig,
};
pub use error::{Error, FileProblem, IoError, Malformed};
pub use event::{
    Event, KeyframeRequestKind, MediaData, Output, PacketReport, StreamEndReason,
    TransportFeedbackReport,
};
pub use ids::{ExtendedSeqNo, MAX_MID_LEN, Mid, PayloadType, SeqNo, SeqUnwrapper, Ssrc};
pub use local::{Sample, SampleTiming};
pub use remote::MAX_REMEMBERED_NACKS;
pub use session::{MAX_PENDING_RRTRS, MAX_QUEUED_OUTPUTS, MAX_REMOTE_SSRCS, MediaSession};
pub use stats::{InboundRtpStats, OutboundRtpStats, RemoteInboundRtpStats, SessionStats};
pub use twcc::{MAX_PACKETS_PER_FEEDBACK, MAX_TRANSPORT_FEEDBACK_PENDING, TRANSPORT_SEND_HISTORY};
