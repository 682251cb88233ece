//! Bounds on everything a description from the network can make this crate store.
//!
//! Parsing fails with [`crate::Error::LimitExceeded`] (blame: peer) as soon as input
//! crosses one of these; nothing is truncated silently. The values leave generous room
//! above what real stacks emit: a Chromium offer with audio, video (23 payload types)
//! and data is about 6 KiB with ~150 attribute lines in its video section.

/// Largest description accepted, in bytes (1 MiB: room for ~150 video sections).
pub const MAX_DESCRIPTION_BYTES: usize = 1024 * 1024;

/// Longest line accepted, in bytes, without its line ending.
pub const MAX_LINE_BYTES: usize = 4096;

/// Most `m=` sections in one description.
pub const MAX_MEDIA_SECTIONS: usize = 256;

/// Most `a=` lines in the session part or in one media section.
pub const MAX_ATTRIBUTES_PER_SECTION: usize = 1024;

/// Most `a=candidate` lines in one media section (and most trickled candidates kept
/// per section of a remote description).
pub const MAX_CANDIDATES_PER_SECTION: usize = 256;

/// Most formats on one `m=` line.
pub const MAX_FORMATS_PER_SECTION: usize = 128;

/// Most `a=fingerprint` lines in the session part or in one media section.
pub const MAX_FINGERPRINTS: usize = 16;

/// Most lines of one repeatable non-attribute type (`b=`, `c=`, `e=`, `p=`, `t=`, `r=`)
/// in one section.
pub const MAX_LINES_PER_TYPE: usize = 32;

/// Longest mid accepted, in bytes.
pub const MAX_MID_BYTES: usize = 64;

/// Longest ICE candidate accepted, in bytes, not counting `a=` or `candidate:` in front.
pub const MAX_CANDIDATE_BYTES: usize = 1024;

/// Most extension attributes (`generation`, `network-id`, ...) on one candidate.
pub const MAX_CANDIDATE_EXTENSIONS: usize = 16;

/// Most trickled remote candidates held while no remote description exists yet; more
/// are dropped, counted, and reported as [`crate::Error::CandidateQueueFull`].
pub const MAX_QUEUED_REMOTE_CANDIDATES: usize = 256;

/// Most local candidates kept for inclusion in local descriptions; more are dropped and
/// counted.
pub const MAX_LOCAL_CANDIDATES: usize = 256;

/// Most transceivers one negotiator holds (a transceiver is never removed, only
/// stopped, so that its id stays valid). Media sections of remote offers that would need
/// a new one beyond this are rejected and counted in
/// [`NegotiatorStats::refused_media_sections`](crate::NegotiatorStats::refused_media_sections).
pub const MAX_TRANSCEIVERS: usize = 512;
