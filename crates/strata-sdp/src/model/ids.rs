//! Validated identifiers: mids, payload types, SSRCs, ICE credentials.

use std::fmt;

use crate::error::{Error, Misuse};
use crate::limits::MAX_MID_BYTES;

/// `token-char` of RFC 8866 §9: visible ASCII except separators.
pub(crate) fn is_token_char(c: char) -> bool {
    matches!(c, '\x21' | '\x23'..='\x27' | '\x2A'..='\x2B' | '\x2D'..='\x2E' | '\x30'..='\x39' | '\x41'..='\x5A' | '\x5E'..='\x7E')
}

/// Whether `s` is a non-empty RFC 8866 token.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_token_char)
}

/// `ice-char` of RFC 8839 §5.1: `ALPHA / DIGIT / "+" / "/"`.
pub(crate) fn is_ice_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '+' || c == '/'
}

/// A media identification tag (`a=mid`, RFC 5888 / RFC 9143): 1 to
/// [`MAX_MID_BYTES`](crate::limits::MAX_MID_BYTES) token characters.
///
/// ```
/// use strata_sdp::Mid;
/// let mid = Mid::new("0")?;
/// assert_eq!(mid.as_str(), "0");
/// assert!(Mid::new("has space").is_err());
/// # Ok::<(), strata_sdp::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mid(String);

impl Mid {
    /// Validates `value` as a mid.
    pub fn new(value: impl Into<String>) -> Result<Self, Error> {
        let value = value.into();
        if value.len() <= MAX_MID_BYTES && is_token(&value) {
            Ok(Mid(value))
        } else {
            Err(Error::InvalidArgument(Misuse::Mid))
        }
    }

    /// The mid as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The decimal mid `n` (always a valid token).
    pub(crate) fn numeric(n: u32) -> Self {
        Mid(n.to_string())
    }
}

impl fmt::Display for Mid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An RTP payload type, 0 to 127.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PayloadType(u8);

impl PayloadType {
    /// Validates `value` as a payload type.
    pub fn new(value: u8) -> Result<Self, Error> {
        if value <= 127 {
            Ok(PayloadType(value))
        } else {
            Err(Error::InvalidArgument(Misuse::PayloadType))
        }
    }

    /// The low 7 bits of `value` as a payload type.
    pub(crate) const fn masked(value: u8) -> Self {
        PayloadType(value & 0x7f)
    }

    /// The payload type's number.
    pub fn get(self) -> u8 {
        self.0
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        if text.is_empty() || text.len() > 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let value: u8 = text.parse().ok()?;
        (value <= 127).then_some(PayloadType(value))
    }
}

impl fmt::Display for PayloadType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An RTP synchronization source identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ssrc(pub u32);

impl fmt::Display for Ssrc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An ICE username fragment (`a=ice-ufrag`): 4 to 256 ice-chars (RFC 8839 §5.4).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IceUfrag(String);

impl IceUfrag {
    /// Validates `value` as a ufrag.
    pub fn new(value: impl Into<String>) -> Result<Self, Error> {
        let value = value.into();
        if (4..=256).contains(&value.len()) && value.chars().all(is_ice_char) {
            Ok(IceUfrag(value))
        } else {
            Err(Error::InvalidArgument(Misuse::IceUfrag))
        }
    }

    /// The ufrag as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IceUfrag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for IceUfrag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IceUfrag({:?})", self.0)
    }
}

/// An ICE password (`a=ice-pwd`): 22 to 256 ice-chars (RFC 8839 §5.4). Its `Debug` output
/// hides the value.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IcePwd(String);

impl IcePwd {
    /// Validates `value` as a password.
    pub fn new(value: impl Into<String>) -> Result<Self, Error> {
        let value = value.into();
        if (22..=256).contains(&value.len()) && value.chars().all(is_ice_char) {
            Ok(IcePwd(value))
        } else {
            Err(Error::InvalidArgument(Misuse::IcePwd))
        }
    }

    /// The password as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IcePwd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for IcePwd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IcePwd(..)")
    }
}

/// An ICE ufrag and password: one side's credentials for one ICE generation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IceCredentials {
    /// The username fragment.
    pub ufrag: IceUfrag,
    /// The password.
    pub pwd: IcePwd,
}

impl IceCredentials {
    /// Validates and pairs a ufrag and password.
    pub fn new(ufrag: impl Into<String>, pwd: impl Into<String>) -> Result<Self, Error> {
        Ok(IceCredentials {
            ufrag: IceUfrag::new(ufrag)?,
            pwd: IcePwd::new(pwd)?,
        })
    }
}
