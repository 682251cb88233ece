//! Size bounds of the protocol. Every field that input can grow is bounded here.

/// Largest frame a client may send (bytes of UTF-8 JSON). Servers may configure less.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Largest frame a client accepts from a server: a join result lists every participant.
pub const MAX_SERVER_FRAME_BYTES: usize = 1024 * 1024;

/// Longest room name.
pub const MAX_ROOM_NAME_BYTES: usize = 128;

/// Longest peer id.
pub const MAX_PEER_ID_BYTES: usize = 64;

/// Longest string request id.
pub const MAX_REQUEST_ID_BYTES: usize = 64;

/// Longest room token.
pub const MAX_TOKEN_BYTES: usize = 4096;

/// Largest participant metadata, serialized.
pub const MAX_METADATA_BYTES: usize = 1024;

/// Longest session description.
pub const MAX_SDP_BYTES: usize = 48 * 1024;

/// Longest ICE candidate line.
pub const MAX_CANDIDATE_BYTES: usize = 1024;

/// Longest media id (`sdp_mid`).
pub const MAX_MID_BYTES: usize = 64;

/// Longest free-text reason (kick reasons and the like).
pub const MAX_REASON_BYTES: usize = 256;
