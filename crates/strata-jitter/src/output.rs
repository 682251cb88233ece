//! What the buffer emits: media ready for playout, and requests for the sender.

use std::time::Instant;

use bytes::Bytes;

use crate::{ExtendedSeq, ExtendedTimestamp, Ssrc};

/// One item from [`JitterBuffer::poll_output`](crate::JitterBuffer::poll_output).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output {
    /// A complete, decodable video frame, at its playout time.
    Frame(Frame),
    /// One audio packet, at its playout time.
    Audio(AudioPacket),
    /// Audio packets that did not arrive by their playout time: conceal them.
    Gap(Gap),
    /// Packets to ask the sender for again (an RTCP generic NACK, RFC 4585 §6.2.1).
    Nack(Nack),
    /// The stream cannot be decoded until the next keyframe: send a PLI (RFC 4585 §6.3.1)
    /// or FIR. Rate-limited by [`Config::keyframe_request_interval`](crate::Config::keyframe_request_interval).
    KeyframeRequest(Ssrc),
    /// Something happened to a stream.
    Event(Event),
}

/// A complete video frame: every packet from its first to its marker packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The stream.
    pub ssrc: Ssrc,
    /// The frame's RTP timestamp.
    pub timestamp: ExtendedTimestamp,
    /// Sequence number of its first packet.
    pub first_seq: ExtendedSeq,
    /// Sequence number of its last packet; the frame holds every number in between.
    pub last_seq: ExtendedSeq,
    /// The first packet was flagged as starting a keyframe.
    pub keyframe: bool,
    /// The packets' payloads in sequence order, untouched.
    pub payloads: Vec<Bytes>,
    /// When the frame is due for rendering. Never earlier than the previous output's.
    pub playout_at: Instant,
    /// The frame completed after its playout time (within
    /// [`Config::max_lateness`](crate::Config::max_lateness)).
    pub late: bool,
}

/// One audio packet released at its playout time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioPacket {
    /// The stream.
    pub ssrc: Ssrc,
    /// Its sequence number.
    pub seq: ExtendedSeq,
    /// Its RTP timestamp.
    pub timestamp: ExtendedTimestamp,
    /// Its marker bit (for audio: the first packet after silence).
    pub marker: bool,
    /// The payload, untouched.
    pub payload: Bytes,
    /// When it is due for playout. Never earlier than the previous output's.
    pub playout_at: Instant,
}

/// A run of consecutive audio packets that had not arrived by their playout time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// The stream.
    pub ssrc: Ssrc,
    /// The first missing sequence number.
    pub first_seq: ExtendedSeq,
    /// How many consecutive packets are missing.
    pub count: u64,
    /// The first missing packet's timestamp, interpolated from its neighbours.
    pub timestamp: ExtendedTimestamp,
    /// When the first missing packet was due.
    pub playout_at: Instant,
}

/// Packets to request again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nack {
    /// The media stream the packets belong to (the RTCP NACK's "SSRC of media source").
    pub ssrc: Ssrc,
    /// The missing packets, ascending; [`ExtendedSeq::wire`] gives the RTCP field.
    pub seqs: Vec<ExtendedSeq>,
}

/// Something that happened to a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The first packet of a new SSRC was accepted.
    StreamStarted(Ssrc),
    /// The stream's sequence or timestamp jumped; everything buffered was discarded and
    /// the stream starts over from the packet that jumped.
    StreamReset {
        /// The stream.
        ssrc: Ssrc,
        /// What jumped.
        reason: ResetReason,
        /// Packets discarded by the reset.
        discarded: u64,
    },
    /// The stream was forgotten.
    StreamRemoved {
        /// The stream.
        ssrc: Ssrc,
        /// Why.
        reason: RemoveReason,
    },
}

/// Why a stream was reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResetReason {
    /// Two consecutive packets confirmed a sequence number far from the old one.
    SequenceJump,
    /// The media clock jumped (or restarted) relative to arrival time.
    TimestampJump,
}

/// Why a stream was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RemoveReason {
    /// Nothing arrived for [`Config::stream_timeout`](crate::Config::stream_timeout).
    Idle,
    /// Its slot went to a new SSRC while it was still unconfirmed (fewer than two
    /// packets in sequence) — the defence against SSRC floods.
    Evicted,
    /// [`JitterBuffer::remove_stream`](crate::JitterBuffer::remove_stream) was called.
    Removed,
}
