//! Validated identifiers: room names, peer ids and JSON-RPC request ids.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::limits::{MAX_PEER_ID_BYTES, MAX_REQUEST_ID_BYTES, MAX_ROOM_NAME_BYTES};

/// The name of a room: 1 to [`MAX_ROOM_NAME_BYTES`] bytes of UTF-8 without control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoomName(String);

impl RoomName {
    /// Validates `name` as a room name.
    pub fn new(name: impl Into<String>) -> Result<Self, Error> {
        let name = name.into();
        if name.is_empty() || name.len() > MAX_ROOM_NAME_BYTES {
            return Err(Error::InvalidArgument {
                what: "room name",
                reason: format!(
                    "must be 1 to {MAX_ROOM_NAME_BYTES} bytes, got {}",
                    name.len()
                ),
            });
        }
        if name.chars().any(char::is_control) {
            return Err(Error::InvalidArgument {
                what: "room name",
                reason: "must not contain control characters".to_owned(),
            });
        }
        Ok(Self(name))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RoomName {
    type Error = Error;
    fn try_from(value: String) -> Result<Self, Error> {
        Self::new(value)
    }
}

impl From<RoomName> for String {
    fn from(value: RoomName) -> Self {
        value.0
    }
}

impl fmt::Display for RoomName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A participant's identity within a room: 1 to [`MAX_PEER_ID_BYTES`] bytes of ASCII
/// letters, digits and `-_.:@`.
///
/// With room tokens the id is the token's subject (`sub`); without, the client proposes
/// one or the server assigns one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PeerId(String);

impl PeerId {
    /// Validates `id` as a peer id.
    pub fn new(id: impl Into<String>) -> Result<Self, Error> {
        let id = id.into();
        if id.is_empty() || id.len() > MAX_PEER_ID_BYTES {
            return Err(Error::InvalidArgument {
                what: "peer id",
                reason: format!("must be 1 to {MAX_PEER_ID_BYTES} bytes, got {}", id.len()),
            });
        }
        if let Some(bad) = id
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "-_.:@".contains(*c)))
        {
            return Err(Error::InvalidArgument {
                what: "peer id",
                reason: format!("may hold only ASCII letters, digits and -_.:@, found {bad:?}"),
            });
        }
        Ok(Self(id))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PeerId {
    type Error = Error;
    fn try_from(value: String) -> Result<Self, Error> {
        Self::new(value)
    }
}

impl From<PeerId> for String {
    fn from(value: PeerId) -> Self {
        value.0
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A JSON-RPC request id: an integer or a string of at most [`MAX_REQUEST_ID_BYTES`] bytes.
///
/// JSON-RPC 2.0 also allows fractional numbers (discouraged by the spec) and `null`
/// (reserved for replies to unidentifiable requests); both are refused as invalid requests.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RequestId {
    /// A non-negative integer id (what [`Session`](crate::Session) uses).
    Number(u64),
    /// A string id.
    Text(String),
}

impl RequestId {
    /// Reads an id from JSON, or says why it is not one.
    pub(crate) fn from_json(value: &serde_json::Value) -> Result<Self, &'static str> {
        match value {
            serde_json::Value::Number(n) => n
                .as_u64()
                .map(Self::Number)
                .ok_or("a numeric id must be a non-negative integer"),
            serde_json::Value::String(s) if s.len() <= MAX_REQUEST_ID_BYTES => {
                Ok(Self::Text(s.clone()))
            }
            serde_json::Value::String(_) => Err("a string id must be at most 64 bytes"),
            _ => Err("the id must be an integer or a string"),
        }
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(n) => write!(f, "{n}"),
            Self::Text(s) => write!(f, "{s:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names_are_bounded_and_free_of_control_characters() {
        assert!(RoomName::new("lobby").is_ok());
        assert!(RoomName::new("salle à manger").is_ok());
        assert!(RoomName::new("").is_err());
        assert!(RoomName::new("a\nb").is_err());
        assert!(RoomName::new("x".repeat(MAX_ROOM_NAME_BYTES)).is_ok());
        assert!(RoomName::new("x".repeat(MAX_ROOM_NAME_BYTES + 1)).is_err());
    }

    #[test]
    fn peer_ids_allow_only_a_safe_alphabet() {
        assert!(PeerId::new("alice-1.b_c:d@e").is_ok());
        assert!(PeerId::new("").is_err());
        assert!(PeerId::new("a b").is_err());
        assert!(PeerId::new("<script>").is_err());
        assert!(PeerId::new("x".repeat(MAX_PEER_ID_BYTES + 1)).is_err());
    }

    #[test]
    fn request_ids_accept_integers_and_short_strings_only() {
        use serde_json::json;
        assert_eq!(RequestId::from_json(&json!(7)), Ok(RequestId::Number(7)));
        assert_eq!(
            RequestId::from_json(&json!("a")),
            Ok(RequestId::Text("a".into()))
        );
        assert!(RequestId::from_json(&json!(-1)).is_err());
        assert!(RequestId::from_json(&json!(1.5)).is_err());
        assert!(RequestId::from_json(&json!(null)).is_err());
        assert!(RequestId::from_json(&json!({})).is_err());
        assert!(RequestId::from_json(&json!("x".repeat(65))).is_err());
    }
}
