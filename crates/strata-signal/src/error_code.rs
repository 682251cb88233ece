//! JSON-RPC error objects and the codes this protocol uses.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A JSON-RPC error code. The reserved JSON-RPC 2.0 codes and this protocol's own codes
/// (in the `-32000..=-32099` "server error" range) are associated constants; other
/// values from a newer server are kept as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ErrorCode(pub i64);

impl ErrorCode {
    /// `-32700`: the frame is not JSON.
    pub const PARSE_ERROR: Self = Self(-32700);
    /// `-32600`: JSON, but not a valid request object (missing or wrong `jsonrpc`,
    /// `method` or `id`, unknown members, a batch).
    pub const INVALID_REQUEST: Self = Self(-32600);
    /// `-32601`: no such method.
    pub const METHOD_NOT_FOUND: Self = Self(-32601);
    /// `-32602`: the method exists but its params are wrong (missing, unknown or
    /// mistyped fields, values out of bounds).
    pub const INVALID_PARAMS: Self = Self(-32602);
    /// `-32603`: the server failed on its own.
    pub const INTERNAL_ERROR: Self = Self(-32603);
    /// `-32001`: the room token is missing, forged, expired or for another room.
    pub const UNAUTHORIZED: Self = Self(-32001);
    /// `-32002`: the token does not grant the permission this request needs.
    pub const FORBIDDEN: Self = Self(-32002);
    /// `-32003`: the room holds as many participants as its limit allows.
    pub const ROOM_FULL: Self = Self(-32003);
    /// `-32004`: the named peer is not in the caller's room.
    pub const PEER_NOT_FOUND: Self = Self(-32004);
    /// `-32005`: the connection sends faster than its rate limit.
    pub const RATE_LIMITED: Self = Self(-32005);
    /// `-32006`: the frame exceeds the server's maximum frame size.
    pub const TOO_LARGE: Self = Self(-32006);
    /// `-32007`: the request needs a joined room.
    pub const NOT_JOINED: Self = Self(-32007);
    /// `-32008`: `join` on a connection that is already in a room.
    pub const ALREADY_JOINED: Self = Self(-32008);
    /// `-32009`: another participant holds this peer id and the caller may not replace it.
    pub const PEER_ID_TAKEN: Self = Self(-32009);
    /// `-32010`: the server is shutting down and takes no new participants.
    pub const SHUTTING_DOWN: Self = Self(-32010);

    /// Every code this protocol defines, in documentation order.
    pub const ALL: [Self; 15] = [
        Self::PARSE_ERROR,
        Self::INVALID_REQUEST,
        Self::METHOD_NOT_FOUND,
        Self::INVALID_PARAMS,
        Self::INTERNAL_ERROR,
        Self::UNAUTHORIZED,
        Self::FORBIDDEN,
        Self::ROOM_FULL,
        Self::PEER_NOT_FOUND,
        Self::RATE_LIMITED,
        Self::TOO_LARGE,
        Self::NOT_JOINED,
        Self::ALREADY_JOINED,
        Self::PEER_ID_TAKEN,
        Self::SHUTTING_DOWN,
    ];

    /// A short `snake_case` name (`room_full`), or `unknown` for codes this version does
    /// not define. Used as the `code` label of the server's error metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::PARSE_ERROR => "parse_error",
            Self::INVALID_REQUEST => "invalid_request",
            Self::METHOD_NOT_FOUND => "method_not_found",
            Self::INVALID_PARAMS => "invalid_params",
            Self::INTERNAL_ERROR => "internal_error",
            Self::UNAUTHORIZED => "unauthorized",
            Self::FORBIDDEN => "forbidden",
            Self::ROOM_FULL => "room_full",
            Self::PEER_NOT_FOUND => "peer_not_found",
            Self::RATE_LIMITED => "rate_limited",
            Self::TOO_LARGE => "too_large",
            Self::NOT_JOINED => "not_joined",
            Self::ALREADY_JOINED => "already_joined",
            Self::PEER_ID_TAKEN => "peer_id_taken",
            Self::SHUTTING_DOWN => "shutting_down",
            _ => "unknown",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.0, self.name())
    }
}

/// A JSON-RPC error object: `{"code": -32003, "message": "room is full", "data": ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// What kind of error.
    pub code: ErrorCode,
    /// A human-readable explanation.
    pub message: String,
    /// Extra structured detail, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl ErrorObject {
    /// An error object without data.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }
}

impl fmt::Display for ErrorObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_distinct_name() {
        let mut names: Vec<_> = ErrorCode::ALL.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorCode::ALL.len());
        assert!(!names.contains(&"unknown"));
        assert_eq!(ErrorCode(-1).name(), "unknown");
    }
}
