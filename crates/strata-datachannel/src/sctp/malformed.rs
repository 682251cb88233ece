//! Why an association drops an inbound packet, and how many it dropped for each reason.
//!
//! The packet parser refuses what does not match the wire format (RFC 9260 §3); the
//! association then refuses a well-formed packet under the wrong verification tag, or
//! one whose DATA or `FORWARD-TSN` points further ahead than any sender may. Either way
//! the packet is dropped whole and counted; nothing in it takes effect.

use std::fmt;

/// How far ahead of our cumulative TSN a DATA chunk or a `FORWARD-TSN` may point. A SACK
/// expresses gaps as 16-bit offsets from the cumulative TSN (RFC 9260 §3.3.4), so nothing
/// further can be acknowledged anyway.
pub(crate) const MAX_TSN_LEAD: u32 = 65_535;

/// Why an inbound packet was dropped.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MalformedPacket {
    /// Shorter than the 12-byte common header.
    TooShort,
    /// A chunk header does not fit in what is left of the packet.
    TruncatedChunkHeader,
    /// A chunk's length field is below the 4-byte chunk header, or leaves out fields its
    /// type requires (a SHUTDOWN or `FORWARD-TSN` without its TSN, a DATA chunk shorter
    /// than its header).
    ChunkLengthTooShort,
    /// A chunk's length field runs past the end of the packet.
    ChunkOverrun,
    /// The packet ends inside a chunk's padding to four bytes.
    BadPadding,
    /// A chunk's length does not match what its contents say (SACK block counts,
    /// SHUTDOWN, `FORWARD-TSN` stream entries, a value on a chunk that has none).
    InconsistentChunkLength,
    /// INIT or `INIT-ACK` bundled with other chunks (RFC 9260 §6.10).
    InitNotAlone,
    /// Parameters or error causes inside a chunk do not tile it, or one lacks fields its
    /// type requires (a HEARTBEAT without Heartbeat Info, a stream reset request with
    /// half a stream number).
    MalformedParameter,
    /// DATA without user data (RFC 9260 §6.2).
    EmptyData,
    /// The verification tag is not the one the packet must carry (RFC 9260 §8.5).
    VerificationTag,
    /// A DATA chunk's TSN is more than 65,535 ahead of our cumulative TSN: further than
    /// any sender may be, since a SACK could not acknowledge it.
    DataTsnOutOfWindow,
    /// A `FORWARD-TSN` moves the cumulative TSN more than 65,535 ahead of ours.
    ForwardTsnOutOfWindow,
    /// The `CRC32c` does not match.
    BadChecksum,
}

impl MalformedPacket {
    /// Every kind, in counter order.
    pub const ALL: [Self; 13] = [
        Self::TooShort,
        Self::TruncatedChunkHeader,
        Self::ChunkLengthTooShort,
        Self::ChunkOverrun,
        Self::BadPadding,
        Self::InconsistentChunkLength,
        Self::InitNotAlone,
        Self::MalformedParameter,
        Self::EmptyData,
        Self::VerificationTag,
        Self::DataTsnOutOfWindow,
        Self::ForwardTsnOutOfWindow,
        Self::BadChecksum,
    ];

    fn index(self) -> usize {
        Self::ALL.iter().position(|k| *k == self).unwrap_or(0)
    }
}

impl fmt::Display for MalformedPacket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Per-kind counts of dropped packets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MalformedCounts([u64; MalformedPacket::ALL.len()]);

impl MalformedCounts {
    /// Packets dropped for `kind`.
    pub fn get(&self, kind: MalformedPacket) -> u64 {
        self.0[kind.index()]
    }

    /// Packets dropped for any reason.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    pub(crate) fn add(&mut self, kind: MalformedPacket) {
        self.0[kind.index()] += 1;
    }
}
