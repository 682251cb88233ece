//! What a session emits.

use std::time::Instant;

use bytes::Bytes;

use crate::rtp::TransportSeq;
use crate::{Codec, Mid, Ssrc};

/// One item from [`MediaSession::poll_output`](crate::MediaSession::poll_output).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Output {
    /// A plain RTP packet to protect with SRTP and send.
    Rtp(Bytes),
    /// A plain RTCP (compound or reduced-size) packet to protect with SRTCP and send.
    Rtcp(Bytes),
    /// Something for the application.
    Event(Event),
}

/// Something that happened.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// The first packet of a remote stream arrived.
    RemoteStreamStarted {
        /// Its track.
        mid: Mid,
        /// The stream.
        ssrc: Ssrc,
    },
    /// A received frame (video) or packet (audio), at its playout time.
    Media(MediaData),
    /// Audio packets that did not arrive in time: conceal them.
    AudioGap {
        /// Its track.
        mid: Mid,
        /// The stream.
        ssrc: Ssrc,
        /// The first missing packet's RTP timestamp (extended).
        rtp_timestamp: u64,
        /// How many packets are missing.
        packets: u64,
        /// When the first missing packet was due.
        playout_at: Instant,
    },
    /// A remote stream ended.
    RemoteStreamEnded {
        /// Its track.
        mid: Mid,
        /// The stream.
        ssrc: Ssrc,
        /// Why.
        reason: StreamEndReason,
    },
    /// The peer asked for a keyframe on a track we send: encode one.
    KeyframeRequested {
        /// The track.
        mid: Mid,
        /// PLI or FIR.
        kind: KeyframeRequestKind,
    },
    /// Transport-wide feedback about packets we sent, for bandwidth estimation.
    TransportFeedback(TransportFeedbackReport),
}

/// Why a remote stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamEndReason {
    /// The peer sent an RTCP BYE.
    Bye,
    /// Nothing arrived for the jitter buffer's stream timeout.
    Timeout,
    /// It was unconfirmed and made room for another SSRC.
    Evicted,
    /// Its track was removed.
    Removed,
}

/// How a keyframe was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyframeRequestKind {
    /// Picture loss indication (RFC 4585 §6.3.1).
    Pli,
    /// Full intra request (RFC 5104 §4.3.1).
    Fir,
}

/// One received, depacketized frame (video) or packet (audio).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaData {
    /// Its track.
    pub mid: Mid,
    /// Its stream.
    pub ssrc: Ssrc,
    /// Its codec.
    pub codec: Codec,
    /// Its RTP timestamp, extended to 64 bits so it never wraps (the low 32 bits are the
    /// timestamp on the wire).
    pub rtp_timestamp: u64,
    /// A keyframe (video).
    pub keyframe: bool,
    /// The encoded frame: what the sender wrote (H.264 as Annex B).
    pub data: Bytes,
    /// When it is due for playout.
    pub playout_at: Instant,
    /// It completed after its playout time.
    pub late: bool,
}

/// The peer's transport-wide feedback matched with what we sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportFeedbackReport {
    /// One entry per sequence number the feedback describes.
    pub packets: Vec<PacketReport>,
}

/// The fate of one sent packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketReport {
    /// Its transport-wide sequence number.
    pub seq: TransportSeq,
    /// When we sent it, if still in the send history.
    pub sent_at: Option<Instant>,
    /// Its size in bytes, if still in the send history.
    pub size: Option<usize>,
    /// Its arrival time on the peer's clock in microseconds, relative to an origin that
    /// stays the same across reports (the peer's reference-time zero); `None` if not
    /// received.
    pub arrival_micros: Option<i64>,
}
