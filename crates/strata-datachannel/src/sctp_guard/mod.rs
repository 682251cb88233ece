//! A validator for inbound SCTP packets, run before webrtc-sctp sees them.
//!
//! webrtc-sctp 0.17.2 trusts lengths it should check. Found by reading its source:
//!
//! - `ChunkShutdown::unmarshal` checks the *packet's* remaining length, not the chunk's,
//!   then reads a `u32` from the chunk: a SHUTDOWN whose length field is 4..=7 followed
//!   by other bytes panics (`Buf::get_u32` past the end).
//! - `ChunkForwardTsn::unmarshal` does the same: a `FORWARD-TSN` with a length field of
//!   4..=7 followed by other bytes panics.
//! - `ChunkInit::unmarshal` walks parameters up to the end of the *packet*: an INIT or
//!   `INIT-ACK` followed by more bytes slices past its own end (`start > end`) and panics.
//! - `handle_forward_tsn` advances its cumulative TSN one by one up to the new value,
//!   under the association lock: an absurd "new cumulative TSN" (up to 2^31 ahead) spins
//!   for seconds, and in builds with overflow checks panics when the TSN wraps.
//! - Gap-ack computation casts TSN offsets to `u16`; DATA more than 65535 TSNs ahead of
//!   the cumulative ack cannot be acknowledged and overflows in checked builds.
//! - No inbound verification tag is ever checked (RFC 4960 §8.5).
//!
//! [`PacketGuard`] checks every chunk's length against its type's minimum, that chunks
//! tile the packet, that INIT/`INIT-ACK` stand alone with parameters that tile the chunk,
//! the verification tag once it is known, and that DATA and `FORWARD-TSN` stay within a
//! window of the cumulative TSN we last acknowledged. Packets that fail are dropped and
//! counted; the association never sees them. It does not verify the `CRC32c` (webrtc-sctp
//! does). Sans-IO: pure functions of the bytes and of what it learned from earlier
//! packets.

use std::fmt;

/// Bytes in the SCTP common header.
pub const COMMON_HEADER_LEN: usize = 12;
/// How far ahead of our last acknowledged TSN a DATA chunk or a `FORWARD-TSN` may point.
/// A SACK expresses gaps as 16-bit offsets (RFC 4960 §3.3.4), so nothing further can be
/// acknowledged anyway.
pub const MAX_TSN_LEAD: u32 = 65_534;

const DATA: u8 = 0;
const INIT: u8 = 1;
const INIT_ACK: u8 = 2;
const SACK: u8 = 3;
const HEARTBEAT: u8 = 4;
const HEARTBEAT_ACK: u8 = 5;
const ABORT: u8 = 6;
const SHUTDOWN: u8 = 7;
const SHUTDOWN_ACK: u8 = 8;
const ERROR: u8 = 9;
const COOKIE_ECHO: u8 = 10;
const SHUTDOWN_COMPLETE: u8 = 14;
const RECONFIG: u8 = 130;
const FORWARD_TSN: u8 = 192;
/// RFC 6525 Outgoing SSN Reset Request parameter.
const OUTGOING_RESET_REQUEST: u16 = 13;

/// Why a packet was dropped.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MalformedPacket {
    /// Shorter than the 12-byte common header.
    TooShort,
    /// A chunk header does not fit in what is left of the packet.
    TruncatedChunkHeader,
    /// A chunk's length field is below the minimum for its type (this is what makes
    /// webrtc-sctp panic for SHUTDOWN and `FORWARD-TSN`).
    ChunkLengthTooShort,
    /// A chunk's length field runs past the end of the packet.
    ChunkOverrun,
    /// Chunks and their padding do not end exactly at the end of the packet.
    BadPadding,
    /// A chunk's length does not match what its contents say (SACK block counts,
    /// SHUTDOWN, `FORWARD-TSN` stream entries).
    InconsistentChunkLength,
    /// INIT or `INIT-ACK` bundled with other chunks (RFC 4960 §6.10).
    InitNotAlone,
    /// Parameters or error causes inside a chunk do not tile it.
    MalformedParameter,
    /// DATA without user data (RFC 4960 §6.2).
    EmptyData,
    /// The verification tag is not ours (RFC 4960 §8.5).
    VerificationTag,
    /// A DATA chunk's TSN is further ahead than any sender may be.
    DataTsnOutOfWindow,
    /// A `FORWARD-TSN` moves the cumulative TSN further ahead than any sender may.
    ForwardTsnOutOfWindow,
    /// Not malformed: a stream reset whose last TSN we have not received yet. webrtc-sctp
    /// would apply it together with that data, before anyone could read it; the peer
    /// retransmits the reset once the data is through.
    PrematureReset,
    /// The `CRC32c` does not match.
    BadChecksum,
}

impl MalformedPacket {
    /// Every kind, in counter order.
    pub const ALL: [Self; 14] = [
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
        Self::PrematureReset,
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

/// Streams the peer reset in a RECONFIG (RFC 6525 Outgoing SSN Reset Request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetStreams {
    /// The request listed no streams: all of them.
    All,
    /// These streams.
    Listed(Vec<u16>),
}

/// What an accepted inbound packet tells the association's driver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboundSignals {
    /// The packet carries ABORT.
    pub abort: bool,
    /// The packet carries SHUTDOWN, `SHUTDOWN-ACK` or `SHUTDOWN-COMPLETE`.
    pub shutdown: bool,
    /// Outgoing-stream resets the peer requested.
    pub resets: Vec<ResetStreams>,
    /// DATA chunks with the deprecated PPIDs 52/54.
    pub deprecated_ppid_chunks: u32,
}

/// Validates inbound SCTP packets and learns tags and TSNs from both directions.
///
/// Feed every outbound packet to [`inspect_outbound`](Self::inspect_outbound) and every
/// inbound one to [`inspect_inbound`](Self::inspect_inbound); hand the inbound packet to
/// the SCTP stack only when it returns `Ok`.
#[derive(Debug, Clone, Default)]
pub struct PacketGuard {
    my_tag: Option<u32>,
    peer_tag: Option<u32>,
    /// The cumulative TSN we last acknowledged (or the peer's initial TSN - 1).
    peer_cumulative_tsn: Option<u32>,
    /// The highest TSN of the peer's seen (DATA in, SACK out).
    peer_highest_tsn: Option<u32>,
    /// The ports of the peer's packets, as they appear in them.
    ports: Option<[u8; 4]>,
    dropped: MalformedCounts,
    deprecated_ppid_chunks: u64,
    /// The highest TSN of ours sent so far.
    highest_sent_tsn: Option<u32>,
    /// Whether an INIT, a `COOKIE-ECHO` was sent already (any later one is a resend).
    init_sent: bool,
    cookie_echo_sent: bool,
    retransmitted_chunks: u64,
}

struct Chunk<'a> {
    kind: u8,
    flags: u8,
    /// The value, without header or padding.
    value: &'a [u8],
}

impl PacketGuard {
    /// A guard that knows nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Dropped-packet counts.
    pub fn dropped(&self) -> MalformedCounts {
        self.dropped
    }

    /// DATA chunks seen with the deprecated PPIDs 52/54.
    pub fn deprecated_ppid_chunks(&self) -> u64 {
        self.deprecated_ppid_chunks
    }

    /// Chunks we sent again: DATA whose TSN was already sent, and every INIT and
    /// `COOKIE-ECHO` after the first (the handshake timer fired). During connection setup,
    /// each one means a packet was lost or dropped and the peer waited a retransmission
    /// timeout (at least a second in webrtc-sctp) for it.
    pub fn retransmitted_chunks(&self) -> u64 {
        self.retransmitted_chunks
    }

    /// Our verification tag, once our INIT or `INIT-ACK` went out.
    pub fn local_verification_tag(&self) -> Option<u32> {
        self.my_tag
    }

    /// Learns from a packet we send: our verification tag (INIT/`INIT-ACK`) and the
    /// cumulative TSN we acknowledge (SACK), and counts retransmitted chunks. Never fails;
    /// our own packets are trusted.
    pub fn inspect_outbound(&mut self, packet: &[u8]) {
        let Ok(chunks) = split_chunks(packet) else {
            return;
        };
        for chunk in chunks {
            match chunk.kind {
                INIT | INIT_ACK if chunk.value.len() >= 4 => {
                    self.my_tag = Some(be32(chunk.value, 0));
                    if chunk.kind == INIT && std::mem::replace(&mut self.init_sent, true) {
                        self.retransmitted_chunks += 1;
                    }
                }
                COOKIE_ECHO => {
                    let resent = std::mem::replace(&mut self.cookie_echo_sent, true);
                    self.retransmitted_chunks += u64::from(resent);
                }
                DATA if chunk.value.len() >= 4 => {
                    let tsn = be32(chunk.value, 0);
                    match self.highest_sent_tsn {
                        Some(highest) if serial_ahead(highest, tsn).is_none() => {
                            self.retransmitted_chunks += 1;
                        }
                        _ => self.highest_sent_tsn = Some(tsn),
                    }
                }
                SACK if chunk.value.len() >= 4 => {
                    let cumulative = be32(chunk.value, 0);
                    self.peer_cumulative_tsn = Some(advance(self.peer_cumulative_tsn, cumulative));
                    self.peer_highest_tsn = Some(advance(self.peer_highest_tsn, cumulative));
                }
                _ => {}
            }
        }
    }

    /// Checks an inbound packet. `Ok` carries what the driver should know about it;
    /// `Err` means drop it (the drop is counted).
    pub fn inspect_inbound(&mut self, packet: &[u8]) -> Result<InboundSignals, MalformedPacket> {
        let result = self.check_inbound(packet);
        match &result {
            Ok(signals) => {
                self.deprecated_ppid_chunks += u64::from(signals.deprecated_ppid_chunks);
                self.ports = Some([packet[0], packet[1], packet[2], packet[3]]);
            }
            Err(kind) => self.dropped.add(*kind),
        }
        result
    }

    fn check_inbound(&mut self, packet: &[u8]) -> Result<InboundSignals, MalformedPacket> {
        let chunks = split_chunks(packet)?;
        let tag = be32(packet, 4);
        let mut signals = InboundSignals::default();
        let is_init = chunks.first().is_some_and(|c| c.kind == INIT);
        if chunks.iter().any(|c| matches!(c.kind, INIT | INIT_ACK)) && chunks.len() != 1 {
            return Err(MalformedPacket::InitNotAlone);
        }
        self.check_tag(tag, is_init, &chunks)?;
        for chunk in &chunks {
            check_chunk(chunk)?;
            match chunk.kind {
                INIT | INIT_ACK => {
                    self.peer_tag = Some(be32(chunk.value, 0));
                    if self.peer_cumulative_tsn.is_none() {
                        let before_first = be32(chunk.value, 12).wrapping_sub(1);
                        self.peer_cumulative_tsn = Some(before_first);
                        self.peer_highest_tsn = Some(before_first);
                    }
                }
                DATA => {
                    let tsn = be32(chunk.value, 0);
                    self.check_window(tsn, MalformedPacket::DataTsnOutOfWindow)?;
                    self.peer_highest_tsn = Some(advance(self.peer_highest_tsn, tsn));
                    if crate::dcep::PayloadKind::is_deprecated_partial(be32(chunk.value, 8)) {
                        signals.deprecated_ppid_chunks += 1;
                    }
                }
                FORWARD_TSN => {
                    self.check_window(
                        be32(chunk.value, 0),
                        MalformedPacket::ForwardTsnOutOfWindow,
                    )?;
                }
                ABORT => signals.abort = true,
                SHUTDOWN | SHUTDOWN_ACK | SHUTDOWN_COMPLETE => signals.shutdown = true,
                RECONFIG => {
                    for sender_last_tsn in collect_resets(chunk.value, &mut signals.resets) {
                        if self
                            .peer_highest_tsn
                            .is_some_and(|highest| serial_ahead(highest, sender_last_tsn).is_some())
                        {
                            return Err(MalformedPacket::PrematureReset);
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(signals)
    }

    fn check_tag(
        &self,
        tag: u32,
        is_init: bool,
        chunks: &[Chunk<'_>],
    ) -> Result<(), MalformedPacket> {
        if is_init {
            return if tag == 0 {
                Ok(())
            } else {
                Err(MalformedPacket::VerificationTag)
            };
        }
        // ABORT and SHUTDOWN-COMPLETE with the T bit carry the peer's own tag
        // (RFC 4960 §8.5.1).
        let reflected = chunks
            .iter()
            .any(|c| matches!(c.kind, ABORT | SHUTDOWN_COMPLETE) && c.flags & 1 == 1);
        let expected = if reflected {
            self.peer_tag
        } else {
            self.my_tag
        };
        match expected {
            Some(expected) if expected != tag => Err(MalformedPacket::VerificationTag),
            _ => Ok(()),
        }
    }

    fn check_window(&self, tsn: u32, kind: MalformedPacket) -> Result<(), MalformedPacket> {
        match self
            .peer_cumulative_tsn
            .and_then(|cumulative| serial_ahead(cumulative, tsn))
        {
            Some(lead) if lead > MAX_TSN_LEAD => Err(kind),
            _ => Ok(()),
        }
    }
}

impl PacketGuard {
    /// A packet that makes webrtc-sctp run its write loop, as if the peer had sent it:
    /// one DATA chunk repeating the TSN we last acknowledged, with the I bit. webrtc-sctp
    /// drops the data as a duplicate and answers with a SACK, and sending that SACK also
    /// sends whatever waits in its queue. `None` until the association is established.
    ///
    /// webrtc-sctp 0.17.2 wakes its write loop only after a whole message is queued, but
    /// queues a message over 85 KiB chunk by chunk, waiting for room in its 128 KiB send
    /// queue that only the write loop makes: on an idle association such a send waits
    /// for the peer's next packet (a heartbeat, 30 s later). Duplicates are legal (RFC
    /// 9260 §6.2): the peer sees one reported in the SACK, nothing else.
    pub fn wake_packet(&self) -> Option<Vec<u8>> {
        let (ports, tag, tsn) = (self.ports?, self.my_tag?, self.peer_cumulative_tsn?);
        let mut packet = Vec::with_capacity(COMMON_HEADER_LEN + 20);
        packet.extend_from_slice(&ports);
        packet.extend_from_slice(&tag.to_be_bytes());
        packet.extend_from_slice(&[0; 4]);
        // DATA: B and E (one fragment) and I; length 17 (16 + one byte), padded to 20.
        packet.extend_from_slice(&[DATA, 0x03 | DATA_FLAG_IMMEDIATE, 0, 17]);
        packet.extend_from_slice(&tsn.to_be_bytes());
        packet.extend_from_slice(&[0, 0, 0, 0]); // stream 0, sequence 0
        packet.extend_from_slice(&crate::dcep::PayloadKind::BINARY.to_be_bytes());
        packet.extend_from_slice(&[0, 0, 0, 0]); // one byte of data, then padding
        sign(&mut packet);
        Some(packet)
    }
}

/// RFC 7053's I bit: the receiver should SACK this DATA chunk without delay (a wake
/// packet needs it: webrtc-sctp's delayed SACK may never come).
const DATA_FLAG_IMMEDIATE: u8 = 0x08;
/// SCTP's checksum (RFC 4960 Appendix B), stored little-endian the way webrtc-sctp
/// computes and checks it. Slice-by-16 tables (16 KiB, built at compile time), as
/// webrtc-sctp uses.
const CRC32C: crc::Crc<u32, crc::Table<16>> =
    crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_ISCSI);

/// Writes the packet's SCTP checksum (`CRC32c`, RFC 9260 Appendix A) into its common
/// header, little-endian as webrtc-sctp checks it. A packet shorter than the common
/// header is left alone.
pub fn sign(packet: &mut [u8]) {
    if packet.len() < COMMON_HEADER_LEN {
        return;
    }
    let sum = checksum(packet);
    packet[8..COMMON_HEADER_LEN].copy_from_slice(&sum.to_le_bytes());
}

/// The packet's `CRC32c`, computed with the checksum field as zero.
fn checksum(packet: &[u8]) -> u32 {
    let mut digest = CRC32C.digest();
    digest.update(&packet[..8]);
    digest.update(&[0; 4]);
    digest.update(&packet[COMMON_HEADER_LEN..]);
    digest.finalize()
}

/// The later of `known` and `seen` in serial-number arithmetic.
fn advance(known: Option<u32>, seen: u32) -> u32 {
    match known {
        Some(known) if serial_ahead(known, seen).is_none() => known,
        _ => seen,
    }
}

/// How far `b` is ahead of `a` in serial-number arithmetic (RFC 1982), `None` when it is
/// not ahead.
fn serial_ahead(a: u32, b: u32) -> Option<u32> {
    let lead = b.wrapping_sub(a);
    (lead != 0 && lead < 1 << 31).then_some(lead)
}

fn be16(bytes: &[u8], at: usize) -> u16 {
    bytes
        .get(at..at + 2)
        .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]))
}

fn be32(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at + 4)
        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn padded(len: usize) -> usize {
    len.div_ceil(4) * 4
}

/// Splits a packet into chunks the way webrtc-sctp walks it: every chunk padded to four
/// bytes, the last one ending exactly at the end of the packet.
fn split_chunks(packet: &[u8]) -> Result<Vec<Chunk<'_>>, MalformedPacket> {
    if packet.len() < COMMON_HEADER_LEN {
        return Err(MalformedPacket::TooShort);
    }
    let mut chunks = Vec::new();
    let mut rest = &packet[COMMON_HEADER_LEN..];
    while !rest.is_empty() {
        let Some(header) = rest.get(..4) else {
            return Err(MalformedPacket::TruncatedChunkHeader);
        };
        let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
        if length < 4 {
            return Err(MalformedPacket::ChunkLengthTooShort);
        }
        if length > rest.len() {
            return Err(MalformedPacket::ChunkOverrun);
        }
        chunks.push(Chunk {
            kind: header[0],
            flags: header[1],
            value: &rest[4..length],
        });
        let next = padded(length);
        if next > rest.len() || rest[length..next].iter().any(|b| *b != 0) {
            return Err(MalformedPacket::BadPadding);
        }
        rest = &rest[next..];
    }
    Ok(chunks)
}

/// Per-type checks of one chunk's value.
fn check_chunk(chunk: &Chunk<'_>) -> Result<(), MalformedPacket> {
    let value = chunk.value;
    let at_least = |n: usize| {
        if value.len() < n {
            Err(MalformedPacket::ChunkLengthTooShort)
        } else {
            Ok(())
        }
    };
    match chunk.kind {
        DATA => {
            at_least(12)?;
            if value.len() == 12 {
                return Err(MalformedPacket::EmptyData);
            }
        }
        INIT | INIT_ACK => {
            at_least(16)?;
            check_tlvs(&value[16..])?;
        }
        SACK => {
            at_least(12)?;
            let blocks = usize::from(be16(value, 8)) + usize::from(be16(value, 10));
            if value.len() != 12 + 4 * blocks {
                return Err(MalformedPacket::InconsistentChunkLength);
            }
        }
        HEARTBEAT | HEARTBEAT_ACK | RECONFIG => {
            at_least(4)?;
            check_tlvs(value)?;
        }
        ABORT | ERROR => check_tlvs(value)?,
        SHUTDOWN if value.len() < 4 => return Err(MalformedPacket::ChunkLengthTooShort),
        SHUTDOWN if value.len() > 4 => return Err(MalformedPacket::InconsistentChunkLength),
        FORWARD_TSN => {
            at_least(4)?;
            if !(value.len() - 4).is_multiple_of(4) {
                return Err(MalformedPacket::InconsistentChunkLength);
            }
        }
        _ => {}
    }
    Ok(())
}

/// Parameters and error causes are type-length-value records padded to four bytes, the
/// last one's padding not counted in the chunk length; they must tile the value exactly.
fn check_tlvs(mut value: &[u8]) -> Result<(), MalformedPacket> {
    while !value.is_empty() {
        if value.len() < 4 {
            return Err(MalformedPacket::MalformedParameter);
        }
        let length = usize::from(be16(value, 2));
        if length < 4 || length > value.len() {
            return Err(MalformedPacket::MalformedParameter);
        }
        let next = padded(length);
        if next >= value.len() {
            // Last parameter: it must end the chunk exactly.
            return if length == value.len() {
                Ok(())
            } else {
                Err(MalformedPacket::MalformedParameter)
            };
        }
        value = &value[next..];
    }
    Ok(())
}

/// Collects the streams of every Outgoing SSN Reset Request; returns their "sender's
/// last assigned TSN" values.
fn collect_resets(mut value: &[u8], resets: &mut Vec<ResetStreams>) -> Vec<u32> {
    let mut last_tsns = Vec::new();
    while value.len() >= 4 {
        let kind = be16(value, 0);
        let length = usize::from(be16(value, 2)).clamp(4, value.len());
        if kind == OUTGOING_RESET_REQUEST && length >= 16 {
            let streams: Vec<u16> = value[16..length]
                .chunks_exact(2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
                .collect();
            last_tsns.push(be32(value, 12));
            resets.push(if streams.is_empty() {
                ResetStreams::All
            } else {
                ResetStreams::Listed(streams)
            });
        }
        value = value.get(padded(length)..).unwrap_or_default();
    }
    last_tsns
}

#[cfg(test)]
mod tests;
