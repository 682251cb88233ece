//! What the buffer is fed: the fields of one parsed RTP packet.

use bytes::Bytes;

use crate::Ssrc;

/// One received RTP packet, already parsed (and, for RTX, unwrapped to the original SSRC
/// and sequence number) by the media layer. Its arrival time is the `now` passed to
/// [`JitterBuffer::handle_packet`](crate::JitterBuffer::handle_packet).
///
/// The codec-specific facts — does this payload start a frame, does it start a keyframe —
/// come from the depacketizer; the buffer itself knows no codec.
///
/// ```
/// use bytes::Bytes;
/// use strata_jitter::{Packet, Ssrc};
///
/// let packet = Packet::new(Ssrc(7), 1000, 90_000, Bytes::from_static(b"frame"))
///     .starting_keyframe()
///     .with_marker(true);
/// assert!(packet.frame_start && packet.keyframe && packet.marker);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
// Four independent facts about one packet, each a plain flag in RTP terms.
#[allow(clippy::struct_excessive_bools)]
pub struct Packet {
    /// The stream it belongs to.
    pub ssrc: Ssrc,
    /// RTP sequence number, as on the wire.
    pub sequence_number: u16,
    /// RTP timestamp, as on the wire.
    pub timestamp: u32,
    /// RTP marker bit: for video, the last packet of a frame (RFC 3551 §4.1).
    pub marker: bool,
    /// The payload, handed back untouched in the output.
    pub payload: Bytes,
    /// The payload starts a frame (VP8 `S` bit with partition 0, an H.264 NAL unit start,
    /// a VP9 `B` bit ...). Video only; a packet after a marker, or with a new timestamp,
    /// is taken as a frame start even when this is false.
    pub frame_start: bool,
    /// The payload starts a keyframe (implies `frame_start`). Video only.
    pub keyframe: bool,
    /// The packet is a retransmission (it came over RTX, or answered a NACK). Its late
    /// arrival says nothing about network jitter, so it does not feed the delay estimator.
    pub retransmission: bool,
}

impl Packet {
    /// A packet with the marker bit clear and no frame information.
    pub fn new(ssrc: Ssrc, sequence_number: u16, timestamp: u32, payload: Bytes) -> Self {
        Self {
            ssrc,
            sequence_number,
            timestamp,
            marker: false,
            payload,
            frame_start: false,
            keyframe: false,
            retransmission: false,
        }
    }

    /// Sets the marker bit.
    #[must_use]
    pub fn with_marker(mut self, marker: bool) -> Self {
        self.marker = marker;
        self
    }

    /// Marks the payload as the start of a frame.
    #[must_use]
    pub fn starting_frame(mut self) -> Self {
        self.frame_start = true;
        self
    }

    /// Marks the payload as the start of a keyframe.
    #[must_use]
    pub fn starting_keyframe(mut self) -> Self {
        self.frame_start = true;
        self.keyframe = true;
        self
    }

    /// Marks the packet as a retransmission.
    #[must_use]
    pub fn retransmitted(mut self) -> Self {
        self.retransmission = true;
        self
    }
}

/// What became of a packet handed to
/// [`JitterBuffer::handle_packet`](crate::JitterBuffer::handle_packet). Every outcome but
/// the first two is also counted in [`Stats`](crate::Stats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PacketOutcome {
    /// Stored; it will come out in order.
    Buffered,
    /// Stored; it is a retransmission that fills a hole: recovered.
    Recovered,
    /// Already received; dropped.
    Duplicate,
    /// Its playout time has passed (its slot was concealed or skipped); dropped.
    Late,
    /// Far from the stream's sequence: held until a second packet confirms a new sequence
    /// (then the stream resets with both), or forgotten if none does.
    HeldAfterJump,
    /// The first packet of a new SSRC while every stream slot is taken: held until a
    /// second packet of that SSRC confirms it (see [`JitterBuffer`](crate::JitterBuffer)'s
    /// bounds).
    Probation,
    /// A confirmed new SSRC while every stream slot holds an established stream; dropped.
    TooManyStreams,
}
