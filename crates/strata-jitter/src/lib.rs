//! A sans-IO jitter buffer for RTP media.
//!
//! Feed it the packets of a track as they arrive; take out complete video frames and audio
//! packets at their playout time, NACK lists and keyframe requests to turn into RTCP, and
//! events. It reorders, drops duplicates, survives sequence-number and timestamp
//! wrap-around and jumps, adapts its playout delay to the measured network jitter, and
//! bounds every queue. See [`JitterBuffer`] for the calling convention.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use bytes::Bytes;
//! use strata_jitter::{Config, JitterBuffer, Output, Packet, Ssrc};
//!
//! let mut buffer = JitterBuffer::new(Config::video())?;
//! let start = Instant::now();
//! let ssrc = Ssrc(0x1234);
//! let at = |ms| start + Duration::from_millis(ms);
//! // A keyframe in three packets (seq 100..=102, the last with the marker bit), then the
//! // next frame (seq 103..=104, 3000 ticks = 33 ms later) of which 103 is lost.
//! let keyframe_start = Packet::new(ssrc, 100, 9000, Bytes::from_static(b"k0")).starting_keyframe();
//! let keyframe_end = Packet::new(ssrc, 102, 9000, Bytes::from_static(b"k2")).with_marker(true);
//! let keyframe_middle = Packet::new(ssrc, 101, 9000, Bytes::from_static(b"k1"));
//! let next_frame_end = Packet::new(ssrc, 104, 12000, Bytes::from_static(b"d1")).with_marker(true);
//!
//! // Reordered arrival: 100, 102, 101, then 104.
//! buffer.handle_packet(at(0), keyframe_start);
//! buffer.handle_packet(at(1), keyframe_end);
//! buffer.handle_packet(at(2), keyframe_middle);
//! buffer.handle_packet(at(35), next_frame_end);
//!
//! // Run virtual time forward, draining outputs as the drain rule says.
//! let mut frames = Vec::new();
//! let mut nacked = Vec::new();
//! let mut now = at(35);
//! while now < at(300) {
//!     while let Some(output) = buffer.poll_output() {
//!         match output {
//!             Output::Frame(frame) => frames.push(frame),
//!             Output::Nack(nack) => nacked.extend(nack.seqs.iter().map(|s| s.wire())),
//!             _ => {}
//!         }
//!     }
//!     now = buffer.poll_timeout().map_or(at(300), |t| t.max(now + Duration::from_millis(1)));
//!     buffer.handle_timeout(now);
//! }
//!
//! // The keyframe came out whole and in order, and the gap was NACKed.
//! assert_eq!(frames[0].payloads, [&b"k0"[..], b"k1", b"k2"]);
//! assert!(frames[0].keyframe);
//! assert_eq!(nacked[0], 103);
//! # Ok::<(), strata_jitter::Error>(())
//! ```
//!
//! # Design
//!
//! - **Per SSRC**, packets sit in a ring indexed by [extended sequence
//!   number](ExtendedSeq); everything in it is bounded by [`Config`].
//! - **Playout time**: a packet with timestamp `ts` is due at `media_time(ts) + offset`,
//!   where `offset` tracks a high quantile of the observed transit time (see
//!   [`AdaptiveDelay`]). Audio packets are released at that time or reported as a [`Gap`];
//!   video frames are released at that time once complete.
//! - **Loss**: a hole in the sequence becomes a NACK entry, re-sent after a timeout learnt
//!   from how long earlier requests took to be answered (never sooner than one RTT) and
//!   dropped after [`NackConfig::max_retries`] or when its answer would come too late.
//!   Packets missing below the first one received are asked for too, down to the start of
//!   the frame the stream began in. While retransmissions are filling holes, an adaptive
//!   delay makes room for [`NackConfig::repair_rounds`] requests and their answers, and
//!   the first frame of a stream may wait as long for its repairs. A video frame that
//!   cannot be completed in time is dropped, frames up to the next keyframe are dropped
//!   with it, and a [keyframe request](Output::KeyframeRequest) goes out (rate-limited).
//! - **Jumps**: a sequence number far from the stream's (confirmed by a second packet) or a
//!   timestamp that no longer matches arrival time resets the stream instead of waiting for
//!   thousands of "missing" packets.

mod buffer;
mod config;
mod error;
mod estimator;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
mod nack;
mod output;
mod packet;
mod sequence;
mod sink;
mod stats;
mod stream;

pub use buffer::{JitterBuffer, PROBATION_SLOTS};
pub use config::{AdaptiveDelay, Config, DelayMode, MAX_DELAY, MediaKind, NackConfig};
pub use error::Error;
pub use output::{AudioPacket, Event, Frame, Gap, Nack, Output, RemoveReason, ResetReason};
pub use packet::{Packet, PacketOutcome};
pub use sequence::{ClockRate, ExtendedSeq, ExtendedTimestamp, Ssrc};
pub use stats::{Stats, StreamStats};
