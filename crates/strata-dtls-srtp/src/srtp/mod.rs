//! SRTP and SRTCP (RFC 3711, RFC 7714) for one connection, keyed from the DTLS handshake
//! (sans-IO: plain synchronous code, no clock, no I/O).
//!
//! An [`SrtpSession`] protects what we send with our keys and unprotects what we receive
//! with the peer's, for both profiles WebRTC negotiates: `SRTP_AEAD_AES_128_GCM`
//! (preferred) and `SRTP_AES128_CM_HMAC_SHA1_80`.
//!
//! ```
//! use strata_dtls_srtp::srtp::{SrtpConfig, SrtpSession};
//! use strata_dtls_srtp::{SrtpKeyingMaterial, SrtpKeys, SrtpProfile};
//!
//! # fn main() -> Result<(), strata_dtls_srtp::Error> {
//! // In a real connection the keys come from `DtlsTransport::srtp_keying()`.
//! let (ours, theirs) = (
//!     SrtpKeys { master_key: vec![1; 16], master_salt: vec![2; 12] },
//!     SrtpKeys { master_key: vec![3; 16], master_salt: vec![4; 12] },
//! );
//! let keying = |local: &SrtpKeys, remote: &SrtpKeys| SrtpKeyingMaterial {
//!     profile: SrtpProfile::AeadAes128Gcm,
//!     local: local.clone(),
//!     remote: remote.clone(),
//! };
//! let mut alice = SrtpSession::new(&keying(&ours, &theirs), SrtpConfig::default())?;
//! let mut bob = SrtpSession::new(&keying(&theirs, &ours), SrtpConfig::default())?;
//!
//! // An RTP packet: version 2, payload type 111, sequence 7, timestamp 960, SSRC 0x1234.
//! let rtp = [0x80, 111, 0, 7, 0, 0, 0x03, 0xc0, 0, 0, 0x12, 0x34, 0xde, 0xad];
//!
//! // Protect into a buffer with room for the tag...
//! let mut wire = [0u8; 1500];
//! let len = alice.protect_rtp(&rtp, &mut wire)?;
//! assert_eq!(len, rtp.len() + alice.rtp_overhead());
//!
//! // ...and unprotect in place, as a receive path does with its datagram buffer.
//! let plain = bob.unprotect_rtp_in_place(&mut wire[..len])?;
//! assert_eq!(&wire[..plain], &rtp);
//!
//! // The same packet again is a replay.
//! let mut again = [0u8; 1500];
//! let len = alice.protect_rtp(&rtp, &mut again)?;
//! assert!(matches!(
//!     bob.unprotect_rtp_in_place(&mut again[..len]),
//!     Err(strata_dtls_srtp::Error::Replayed { .. })
//! ));
//! assert_eq!(bob.stats().replays, 1);
//! # Ok(())
//! # }
//! ```
//!
//! # Buffers
//!
//! Every operation has two forms, and neither allocates:
//!
//! - `protect_rtp(packet, out)` / `unprotect_rtp(packet, out)` copy `packet` into `out`
//!   and work there. `out` must hold `packet.len() + rtp_overhead()` bytes to protect and
//!   `packet.len()` bytes to unprotect; the result is `out[..n]` for the returned `n`.
//! - `protect_rtp_in_place(buf, len)` protects the packet in `buf[..len]`, writing the
//!   tag after it (`buf.len() >= len + rtp_overhead()`); `unprotect_rtp_in_place(buf)`
//!   unprotects the packet filling `buf` and returns the plaintext length.
//!
//! The RTCP calls are the same with [`SrtpSession::rtcp_overhead`]. A tag is always
//! verified before anything is decrypted, so after an error no plaintext is in the
//! buffer; an in-place call that fails leaves the buffer as it was, except for
//! [`Error::MalformedPacket`] found *after* authentication (bad padding, RTCP lengths
//! that do not tile), where the buffer holds the decrypted, refused packet.
//! [`MAX_OVERHEAD`] bounds the overhead of every profile for sizing buffers once.
//!
//! # What is checked, and in which order
//!
//! Inbound, before any key is used: the RTP header (version 2, CSRC list and header
//! extension inside the packet, room for the tag) or the SRTCP framing (header, sender
//! SSRC, E flag and index, tag); the E flag must be set; the index must be fresh in the
//! SSRC's replay window; a new SSRC must fit under [`SrtpConfig::max_remote_ssrcs`].
//! Then the tag is verified and the payload decrypted; then RTP padding and the RTCP
//! compound lengths are checked. Only a packet that passed everything moves the replay
//! window (and so the rollover counter), or creates state for a new SSRC: a flood of
//! forged packets changes nothing but the [`SrtpStats`] counters.
//!
//! Outbound, `protect_*` checks the same structure (a caller error is
//! [`Error::InvalidPacket`]), estimates the RTP index from the sequence number the same
//! way the receiver will, numbers SRTCP packets per SSRC from 0, and refuses to wrap an
//! index ([`Error::KeyExhausted`]). It does not detect a packet protected twice: never
//! protect two different payloads with the same SSRC and sequence number (RFC 3711
//! §9.1), send retransmissions on an RTX stream.
//!
//! # Bounds
//!
//! State is kept per SSRC and direction: a [`REPLAY_WINDOW`]-bit window (128 bytes) per
//! remote RTP and RTCP SSRC, and an index per local one. Remote SSRCs are capped by
//! [`SrtpConfig::max_remote_ssrcs`], local ones by [`SrtpConfig::max_local_ssrcs`]
//! (both [`DEFAULT_MAX_SSRCS`] by default). A new remote SSRC beyond the cap is
//! *refused*, not admitted by evicting another: evicting would reset the victim's replay
//! window and let its old packets be replayed. Refusals are counted in
//! [`SrtpStats::ssrc_limit_drops`]; [`SrtpSession::remove_remote_ssrc`] frees a slot
//! when a stream ends. Since state is only created after authentication, only the
//! keyed peer can fill the slots.
//!
//! # Where this departs from `webrtc-srtp` 0.17.2, and why
//!
//! This module does not call `webrtc-srtp`; its tests check it against it, both ways, for
//! both profiles.
//!
//! - `webrtc-srtp`'s AES-CM SRTCP path returns packets with the E flag cleared as they
//!   are, without checking their tag: anyone can inject RTCP. We refuse the E flag
//!   cleared ([`Error::UnencryptedSrtcp`]) and verify every tag.
//! - It panics on some malformed input (SRTCP shorter than its trailer, header
//!   extensions running past the packet); we bounds-check everything first.
//! - It authenticates the RTP header as its parser re-serializes it, which differs from
//!   the bytes on the wire for some header extensions; we authenticate the bytes as
//!   they came.
//! - It allocates several buffers per packet and boxes each SSRC's replay detector; its
//!   AEAD-GCM path measured several times slower than the cipher (see BENCHMARKS.md). We
//!   work in place with no allocation per packet.
//! - Its replay windows are off unless configured, and its per-SSRC maps grow without
//!   bound; ours are always on (1024 packets, as libwebrtc) and capped.
//! - Its SRTCP index starts at 1 and wraps to 0 after 2^31 − 1, reusing GCM nonces; ours
//!   starts at 0 (RFC 3711 §3.3.2) and refuses to wrap.

mod packet;
mod replay;
mod transform;

#[cfg(any(test, feature = "fuzzing"))]
mod fuzzing;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;

pub use packet::{PacketError, is_rtcp};
pub use replay::REPLAY_WINDOW;

#[cfg(any(test, feature = "fuzzing"))]
pub use fuzzing::{fuzz_round_trip, fuzz_unprotect};

use crate::error::Error;
use crate::keying::SrtpProfile;
use crate::keying::{SrtpKeyingMaterial, SrtpKeys};
use packet::{RTCP_HEADER_LEN, RtpHeader, check_rtcp_compound, rtcp_sender_ssrc};
use replay::{MAX_SRTCP_INDEX, MAX_SRTP_INDEX, ReplayWindow, Verdict, estimate_index};
use transform::{SRTCP_E_FLAG, Transform};

/// Default for [`SrtpConfig::max_remote_ssrcs`] and [`SrtpConfig::max_local_ssrcs`]:
/// room for dozens of simulcast tracks with RTX and FEC on one connection.
pub const DEFAULT_MAX_SSRCS: usize = 256;

/// The most any profile adds to a packet (GCM SRTCP: 16-byte tag and 4-byte index).
pub const MAX_OVERHEAD: usize = 20;

/// A synchronization source identifier (RFC 3550 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ssrc(pub u32);

impl fmt::Display for Ssrc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010x}", self.0)
    }
}

/// Limits of an [`SrtpSession`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SrtpConfig {
    /// Remote SSRCs with state, counted separately for RTP and RTCP. A packet of a new
    /// SSRC beyond this is refused ([`Error::RemoteSsrcLimit`]).
    pub max_remote_ssrcs: usize,
    /// Local SSRCs with state, counted separately for RTP and RTCP. Protecting for a new
    /// SSRC beyond this fails ([`Error::LocalSsrcLimit`]).
    pub max_local_ssrcs: usize,
}

impl Default for SrtpConfig {
    fn default() -> Self {
        Self {
            max_remote_ssrcs: DEFAULT_MAX_SSRCS,
            max_local_ssrcs: DEFAULT_MAX_SSRCS,
        }
    }
}

/// Counters of an [`SrtpSession`]. Every packet refused inbound is counted in exactly one
/// of the drop counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SrtpStats {
    /// RTP packets protected.
    pub rtp_protected: u64,
    /// RTP packets unprotected and handed back.
    pub rtp_unprotected: u64,
    /// RTCP packets protected.
    pub rtcp_protected: u64,
    /// RTCP packets unprotected and handed back.
    pub rtcp_unprotected: u64,
    /// Inbound packets whose tag did not verify.
    pub auth_failures: u64,
    /// Inbound packets refused as duplicates or older than the replay window.
    pub replays: u64,
    /// Inbound packets refused as malformed.
    pub malformed: u64,
    /// Inbound SRTCP packets refused for a cleared E flag.
    pub unencrypted_srtcp: u64,
    /// Inbound packets of new SSRCs refused because the remote SSRC limit was reached.
    pub ssrc_limit_drops: u64,
}

/// What we keep of a remote RTP or RTCP stream: its replay window, whose highest index
/// also gives the RTP rollover counter.
type RemoteStreams = HashMap<u32, ReplayWindow>;

/// The SRTP/SRTCP state of one connection: our keys for what we send, the peer's for
/// what we receive, and per-SSRC indices and replay windows.
///
/// A transform, not an event loop: each call does its work and returns; there is no
/// output to drain and no timer. See the [module docs](self) for the buffer rules and
/// the checks.
pub struct SrtpSession {
    profile: SrtpProfile,
    outbound: Transform,
    inbound: Transform,
    config: SrtpConfig,
    /// Highest RTP index protected per local SSRC.
    local_rtp: HashMap<u32, u64>,
    /// Next SRTCP index per local SSRC.
    local_rtcp: HashMap<u32, u32>,
    remote_rtp: RemoteStreams,
    remote_rtcp: RemoteStreams,
    stats: SrtpStats,
}

impl fmt::Debug for SrtpSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SrtpSession")
            .field("profile", &self.profile)
            .field("config", &self.config)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

fn check_keys(profile: SrtpProfile, keys: &SrtpKeys) -> Result<(), Error> {
    if keys.master_key.len() == profile.key_len() && keys.master_salt.len() == profile.salt_len() {
        Ok(())
    } else {
        Err(Error::SrtpKeyLength { profile })
    }
}

impl SrtpSession {
    /// A session keyed with the DTLS export: `keying.local` protects, `keying.remote`
    /// unprotects.
    pub fn new(keying: &SrtpKeyingMaterial, config: SrtpConfig) -> Result<Self, Error> {
        let profile = keying.profile;
        check_keys(profile, &keying.local)?;
        check_keys(profile, &keying.remote)?;
        Ok(Self {
            profile,
            outbound: Transform::new(profile, &keying.local),
            inbound: Transform::new(profile, &keying.remote),
            config,
            local_rtp: HashMap::new(),
            local_rtcp: HashMap::new(),
            remote_rtp: HashMap::new(),
            remote_rtcp: HashMap::new(),
            stats: SrtpStats::default(),
        })
    }

    /// The negotiated profile.
    pub fn profile(&self) -> SrtpProfile {
        self.profile
    }

    /// Bytes protection adds to an RTP packet (16 for GCM, 10 for HMAC-SHA1-80).
    pub fn rtp_overhead(&self) -> usize {
        self.outbound.rtp_overhead()
    }

    /// Bytes protection adds to an RTCP packet (the tag and the 4-byte SRTCP index).
    pub fn rtcp_overhead(&self) -> usize {
        self.outbound.rtcp_overhead()
    }

    /// The counters.
    pub fn stats(&self) -> SrtpStats {
        self.stats
    }

    /// Remote SSRCs with RTP state.
    pub fn remote_rtp_ssrcs(&self) -> usize {
        self.remote_rtp.len()
    }

    /// Forgets a remote SSRC's RTP and RTCP state (its stream ended, say after an RTCP
    /// BYE), freeing its slot. If packets of it arrive again they start a new replay
    /// window, so old packets of it could then be replayed once: call this only for
    /// streams that are over. Returns whether there was state.
    pub fn remove_remote_ssrc(&mut self, ssrc: Ssrc) -> bool {
        let rtp = self.remote_rtp.remove(&ssrc.0).is_some();
        let rtcp = self.remote_rtcp.remove(&ssrc.0).is_some();
        rtp || rtcp
    }

    /// Protects the RTP packet `packet` into `out` (at least `packet.len() +
    /// rtp_overhead()` bytes); returns the protected length.
    pub fn protect_rtp(&mut self, packet: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let needed = packet.len() + self.rtp_overhead();
        let out = fit(out, needed)?;
        out[..packet.len()].copy_from_slice(packet);
        self.protect_rtp_in_place(out, packet.len())
    }

    /// Protects the RTP packet in `buf[..len]` in place, appending the tag (`buf.len() >=
    /// len + rtp_overhead()`); returns the protected length.
    pub fn protect_rtp_in_place(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error> {
        let protected_len = len + self.rtp_overhead();
        let buf = fit(buf, protected_len)?;
        let header = RtpHeader::parse(&buf[..len], 0).map_err(Error::InvalidPacket)?;
        header
            .check_padding(&buf[..len])
            .map_err(Error::InvalidPacket)?;
        let ssrc = header.ssrc;
        let at_limit = self.local_rtp.len() >= self.config.max_local_ssrcs;
        let index = match self.local_rtp.entry(ssrc) {
            Entry::Occupied(mut highest) => {
                let index = estimate_index(*highest.get(), header.sequence).ok_or(
                    if *highest.get() > MAX_SRTP_INDEX / 2 {
                        Error::KeyExhausted { ssrc: Ssrc(ssrc) }
                    } else {
                        Error::InvalidPacket(PacketError::SequenceBeforeStart)
                    },
                )?;
                if index > *highest.get() {
                    highest.insert(index);
                }
                index
            }
            Entry::Vacant(_) if at_limit => return Err(Error::LocalSsrcLimit { ssrc: Ssrc(ssrc) }),
            Entry::Vacant(slot) => *slot.insert(u64::from(header.sequence)),
        };
        self.outbound
            .encrypt_rtp(buf, header.header_len, ssrc, index);
        self.stats.rtp_protected += 1;
        Ok(protected_len)
    }

    /// Unprotects the SRTP packet `packet` into `out` (at least `packet.len()` bytes);
    /// returns the length of the RTP packet in `out`.
    pub fn unprotect_rtp(&mut self, packet: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let out = fit(out, packet.len())?;
        out.copy_from_slice(packet);
        self.unprotect_rtp_in_place(out)
    }

    /// Unprotects the SRTP packet filling `buf` in place; returns the length of the RTP
    /// packet now in `buf[..n]`.
    pub fn unprotect_rtp_in_place(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let result = self.unprotect_rtp_checked(buf);
        if let Err(error) = &result {
            self.count_drop(error);
        }
        result
    }

    fn unprotect_rtp_checked(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let tag_len = self.inbound.rtp_overhead();
        let header = RtpHeader::parse(buf, tag_len).map_err(Error::MalformedPacket)?;
        let ssrc = Ssrc(header.ssrc);
        let index = match self.remote_rtp.get(&header.ssrc) {
            Some(window) => {
                let index =
                    estimate_index(window.highest(), header.sequence).ok_or(Error::Replayed {
                        ssrc,
                        index: u64::from(header.sequence),
                    })?;
                if window.check(index) == Verdict::Replayed {
                    return Err(Error::Replayed { ssrc, index });
                }
                index
            }
            None if self.remote_rtp.len() >= self.config.max_remote_ssrcs => {
                return Err(Error::RemoteSsrcLimit { ssrc });
            }
            // RFC 3711 §3.3.1: a new stream starts with ROC 0.
            None => u64::from(header.sequence),
        };
        self.inbound
            .decrypt_rtp(buf, header.header_len, header.ssrc, index)
            .map_err(|_| Error::AuthenticationFailed { ssrc })?;
        // Authentic: the index counts as seen even if the padding turns out bad.
        match self.remote_rtp.entry(header.ssrc) {
            Entry::Occupied(mut window) => window.get_mut().accept(index),
            Entry::Vacant(slot) => {
                slot.insert(ReplayWindow::starting_at(index));
            }
        }
        let plain_len = buf.len() - tag_len;
        header
            .check_padding(&buf[..plain_len])
            .map_err(Error::MalformedPacket)?;
        self.stats.rtp_unprotected += 1;
        Ok(plain_len)
    }

    /// Protects the RTCP compound packet `packet` into `out` (at least `packet.len() +
    /// rtcp_overhead()` bytes); returns the protected length. The payload is always
    /// encrypted (E flag set).
    pub fn protect_rtcp(&mut self, packet: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let needed = packet.len() + self.rtcp_overhead();
        let out = fit(out, needed)?;
        out[..packet.len()].copy_from_slice(packet);
        self.protect_rtcp_in_place(out, packet.len())
    }

    /// Protects the RTCP compound packet in `buf[..len]` in place, appending index and
    /// tag (`buf.len() >= len + rtcp_overhead()`); returns the protected length.
    pub fn protect_rtcp_in_place(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error> {
        let protected_len = len + self.rtcp_overhead();
        let buf = fit(buf, protected_len)?;
        let ssrc = rtcp_sender_ssrc(&buf[..len], 0).map_err(Error::InvalidPacket)?;
        check_rtcp_compound(&buf[..len]).map_err(Error::InvalidPacket)?;
        let at_limit = self.local_rtcp.len() >= self.config.max_local_ssrcs;
        let next = match self.local_rtcp.entry(ssrc) {
            Entry::Occupied(next) => next.into_mut(),
            Entry::Vacant(_) if at_limit => return Err(Error::LocalSsrcLimit { ssrc: Ssrc(ssrc) }),
            Entry::Vacant(slot) => slot.insert(0),
        };
        let index = *next;
        if index > MAX_SRTCP_INDEX {
            return Err(Error::KeyExhausted { ssrc: Ssrc(ssrc) });
        }
        *next += 1;
        self.outbound.encrypt_rtcp(buf, ssrc, index);
        self.stats.rtcp_protected += 1;
        Ok(protected_len)
    }

    /// Unprotects the SRTCP packet `packet` into `out` (at least `packet.len()` bytes);
    /// returns the length of the RTCP compound packet in `out`.
    pub fn unprotect_rtcp(&mut self, packet: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let out = fit(out, packet.len())?;
        out.copy_from_slice(packet);
        self.unprotect_rtcp_in_place(out)
    }

    /// Unprotects the SRTCP packet filling `buf` in place; returns the length of the
    /// RTCP compound packet now in `buf[..n]`.
    pub fn unprotect_rtcp_in_place(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let result = self.unprotect_rtcp_checked(buf);
        if let Err(error) = &result {
            self.count_drop(error);
        }
        result
    }

    fn unprotect_rtcp_checked(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let overhead = self.inbound.rtcp_overhead();
        let sender = rtcp_sender_ssrc(buf, overhead).map_err(Error::MalformedPacket)?;
        let ssrc = Ssrc(sender);
        let at = self.inbound.rtcp_trailer_offset(buf.len());
        let trailer = u32::from_be_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]);
        if trailer & SRTCP_E_FLAG == 0 {
            return Err(Error::UnencryptedSrtcp);
        }
        let index = trailer & MAX_SRTCP_INDEX;
        match self.remote_rtcp.get(&sender) {
            Some(window) if window.check(u64::from(index)) == Verdict::Replayed => {
                return Err(Error::Replayed {
                    ssrc,
                    index: u64::from(index),
                });
            }
            None if self.remote_rtcp.len() >= self.config.max_remote_ssrcs => {
                return Err(Error::RemoteSsrcLimit { ssrc });
            }
            Some(_) | None => {}
        }
        let plain_len = self
            .inbound
            .decrypt_rtcp(buf, sender, index)
            .map_err(|_| Error::AuthenticationFailed { ssrc })?;
        match self.remote_rtcp.entry(sender) {
            Entry::Occupied(mut window) => window.get_mut().accept(u64::from(index)),
            Entry::Vacant(slot) => {
                slot.insert(ReplayWindow::starting_at(u64::from(index)));
            }
        }
        debug_assert!(plain_len >= RTCP_HEADER_LEN);
        check_rtcp_compound(&buf[..plain_len]).map_err(Error::MalformedPacket)?;
        self.stats.rtcp_unprotected += 1;
        Ok(plain_len)
    }

    fn count_drop(&mut self, error: &Error) {
        let counter = match error {
            Error::AuthenticationFailed { .. } => &mut self.stats.auth_failures,
            Error::Replayed { .. } => &mut self.stats.replays,
            Error::UnencryptedSrtcp => &mut self.stats.unencrypted_srtcp,
            Error::RemoteSsrcLimit { .. } => &mut self.stats.ssrc_limit_drops,
            _ => &mut self.stats.malformed,
        };
        *counter += 1;
    }
}

/// `buf` cut to `needed` bytes, or the error saying it is too small.
fn fit(buf: &mut [u8], needed: usize) -> Result<&mut [u8], Error> {
    let len = buf.len();
    buf.get_mut(..needed)
        .ok_or(Error::BufferTooSmall { len, needed })
}

#[cfg(test)]
mod tests;
