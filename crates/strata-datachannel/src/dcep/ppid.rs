//! Payload protocol identifiers of WebRTC data channels (RFC 8831 §8, RFC 8832 §8.1).

/// What an SCTP user message carries, by its PPID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadKind {
    /// PPID 50: a DCEP message.
    Dcep,
    /// PPID 51: a UTF-8 string.
    Text,
    /// PPID 53: binary data.
    Binary,
    /// PPID 56: an empty string (sent as one ignored byte, since SCTP cannot carry an
    /// empty message).
    EmptyText,
    /// PPID 57: empty binary data (one ignored byte on the wire).
    EmptyBinary,
    /// PPID 52 or 54: the deprecated "partial" PPIDs of RFC 8831 §6.6, or any other PPID.
    /// A receiver closes the channel (RFC 8831 §6.6); `None` when the SCTP layer does not
    /// report the number.
    Unsupported(Option<u32>),
}

impl PayloadKind {
    /// PPID of DCEP.
    pub const DCEP: u32 = 50;
    /// PPID of a string message.
    pub const STRING: u32 = 51;
    /// Deprecated PPID "WebRTC Binary Partial".
    pub const BINARY_PARTIAL: u32 = 52;
    /// PPID of a binary message.
    pub const BINARY: u32 = 53;
    /// Deprecated PPID "WebRTC String Partial".
    pub const STRING_PARTIAL: u32 = 54;
    /// PPID of an empty string.
    pub const STRING_EMPTY: u32 = 56;
    /// PPID of empty binary data.
    pub const BINARY_EMPTY: u32 = 57;

    /// Classifies a PPID.
    pub fn from_ppid(ppid: u32) -> Self {
        match ppid {
            Self::DCEP => Self::Dcep,
            Self::STRING => Self::Text,
            Self::BINARY => Self::Binary,
            Self::STRING_EMPTY => Self::EmptyText,
            Self::BINARY_EMPTY => Self::EmptyBinary,
            other => Self::Unsupported(Some(other)),
        }
    }

    /// Whether `ppid` is one of the deprecated partial PPIDs (52, 54).
    pub fn is_deprecated_partial(ppid: u32) -> bool {
        matches!(ppid, Self::BINARY_PARTIAL | Self::STRING_PARTIAL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ppids_follow_rfc_8831() {
        assert_eq!(PayloadKind::from_ppid(50), PayloadKind::Dcep);
        assert_eq!(PayloadKind::from_ppid(51), PayloadKind::Text);
        assert_eq!(PayloadKind::from_ppid(53), PayloadKind::Binary);
        assert_eq!(PayloadKind::from_ppid(56), PayloadKind::EmptyText);
        assert_eq!(PayloadKind::from_ppid(57), PayloadKind::EmptyBinary);
        assert_eq!(
            PayloadKind::from_ppid(52),
            PayloadKind::Unsupported(Some(52))
        );
        assert_eq!(
            PayloadKind::from_ppid(54),
            PayloadKind::Unsupported(Some(54))
        );
        assert!(PayloadKind::is_deprecated_partial(52));
        assert!(PayloadKind::is_deprecated_partial(54));
        assert!(!PayloadKind::is_deprecated_partial(53));
    }
}
