//! DTLS parameters carried in SDP: certificate fingerprints and the `setup` role.

use std::fmt;
use std::str::FromStr;

use crate::error::FingerprintError;
use crate::model::ids::is_token;

/// The hash function of a certificate fingerprint (RFC 8122 §5, the "Hash Function
/// Textual Names" registry).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// `sha-1` (20 bytes).
    Sha1,
    /// `sha-224` (28 bytes).
    Sha224,
    /// `sha-256` (32 bytes): what every browser sends.
    Sha256,
    /// `sha-384` (48 bytes).
    Sha384,
    /// `sha-512` (64 bytes).
    Sha512,
    /// `md5` (16 bytes): registered, but not to be used for verification.
    Md5,
    /// `md2` (16 bytes): registered, but not to be used for verification.
    Md2,
    /// Any other token, kept lowercase so that a round trip preserves it.
    Other(String),
}

impl HashAlgorithm {
    /// The registered name, lowercase.
    pub fn name(&self) -> &str {
        match self {
            HashAlgorithm::Sha1 => "sha-1",
            HashAlgorithm::Sha224 => "sha-224",
            HashAlgorithm::Sha256 => "sha-256",
            HashAlgorithm::Sha384 => "sha-384",
            HashAlgorithm::Sha512 => "sha-512",
            HashAlgorithm::Md5 => "md5",
            HashAlgorithm::Md2 => "md2",
            HashAlgorithm::Other(name) => name,
        }
    }

    /// The digest length in bytes, for the registered functions.
    pub fn digest_len(&self) -> Option<usize> {
        match self {
            HashAlgorithm::Sha1 => Some(20),
            HashAlgorithm::Sha224 => Some(28),
            HashAlgorithm::Sha256 => Some(32),
            HashAlgorithm::Sha384 => Some(48),
            HashAlgorithm::Sha512 => Some(64),
            HashAlgorithm::Md5 | HashAlgorithm::Md2 => Some(16),
            HashAlgorithm::Other(_) => None,
        }
    }

    /// Whether a DTLS stack may verify a certificate with this function: the SHA family
    /// (RFC 8122 §5 forbids MD5 and MD2).
    pub fn is_verifiable(&self) -> bool {
        matches!(
            self,
            HashAlgorithm::Sha1
                | HashAlgorithm::Sha224
                | HashAlgorithm::Sha256
                | HashAlgorithm::Sha384
                | HashAlgorithm::Sha512
        )
    }

    fn from_name(name: &str) -> Result<Self, FingerprintError> {
        if !is_token(name) {
            return Err(FingerprintError::Algorithm);
        }
        let lower = name.to_ascii_lowercase();
        Ok(match lower.as_str() {
            "sha-1" => HashAlgorithm::Sha1,
            "sha-224" => HashAlgorithm::Sha224,
            "sha-256" => HashAlgorithm::Sha256,
            "sha-384" => HashAlgorithm::Sha384,
            "sha-512" => HashAlgorithm::Sha512,
            "md5" => HashAlgorithm::Md5,
            "md2" => HashAlgorithm::Md2,
            _ => HashAlgorithm::Other(lower),
        })
    }

    fn static_name(&self) -> &'static str {
        match self {
            HashAlgorithm::Sha1 => "sha-1",
            HashAlgorithm::Sha224 => "sha-224",
            HashAlgorithm::Sha256 => "sha-256",
            HashAlgorithm::Sha384 => "sha-384",
            HashAlgorithm::Sha512 => "sha-512",
            HashAlgorithm::Md5 => "md5",
            HashAlgorithm::Md2 => "md2",
            HashAlgorithm::Other(_) => "unregistered",
        }
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A certificate fingerprint (`a=fingerprint`, RFC 8122 §5):
///
/// ```text
/// fingerprint-attribute  =  "fingerprint" ":" hash-func SP fingerprint
/// hash-func              =  "sha-1" / "sha-224" / "sha-256" /
///                           "sha-384" / "sha-512" /
///                           "md5" / "md2" / token
/// fingerprint            =  2UHEX *(":" 2UHEX)
/// ```
///
/// Parsing accepts lowercase hex and any case of the hash name (Firefox and Chromium
/// differ); serializing writes the lowercase name and uppercase hex.
///
/// ```
/// use strata_sdp::{Fingerprint, HashAlgorithm};
/// let fp: Fingerprint = "sha-256 2E:8F:6D:3E:F0:69:53:77:C9:6F:2B:C2:29:1F:89:30:F5:48:EA:84:70:E7:23:6C:C8:B9:F3:B3:7C:05:F3:BD".parse()?;
/// assert_eq!(fp.algorithm, HashAlgorithm::Sha256);
/// assert_eq!(fp.bytes[0], 0x2E);
/// # Ok::<(), strata_sdp::FingerprintError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    /// The hash function.
    pub algorithm: HashAlgorithm,
    /// The digest of the certificate.
    pub bytes: Vec<u8>,
}

impl Fingerprint {
    /// A fingerprint from a hash function and digest, checking the digest length for the
    /// registered functions.
    pub fn new(algorithm: HashAlgorithm, bytes: Vec<u8>) -> Result<Self, FingerprintError> {
        if bytes.is_empty() {
            return Err(FingerprintError::MissingBytes);
        }
        if bytes.len() > 64 {
            return Err(FingerprintError::TooLong);
        }
        if let Some(expected) = algorithm.digest_len()
            && expected != bytes.len()
        {
            return Err(FingerprintError::Length {
                algorithm: algorithm.static_name(),
                expected,
                found: bytes.len(),
            });
        }
        Ok(Fingerprint { algorithm, bytes })
    }

    /// A SHA-256 fingerprint of a certificate's DER bytes, already hashed by the caller.
    pub fn sha256(digest: [u8; 32]) -> Self {
        Fingerprint {
            algorithm: HashAlgorithm::Sha256,
            bytes: digest.to_vec(),
        }
    }

    /// The digest as colon-separated uppercase hex (`2E:8F:...`).
    pub fn hex(&self) -> String {
        let mut out = String::with_capacity(self.bytes.len() * 3);
        for (i, byte) in self.bytes.iter().enumerate() {
            if i > 0 {
                out.push(':');
            }
            out.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
            out.push(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]));
        }
        out
    }
}

const HEX_DIGITS: &[u8; 16] = b"0123456789ABCDEF";

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

impl FromStr for Fingerprint {
    type Err = FingerprintError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let mut parts = value.split_ascii_whitespace();
        let algorithm = parts.next().ok_or(FingerprintError::MissingAlgorithm)?;
        let hex = parts.next().ok_or(FingerprintError::MissingBytes)?;
        if parts.next().is_some() {
            return Err(FingerprintError::Hex);
        }
        let algorithm = HashAlgorithm::from_name(algorithm)?;
        if hex.len() > 64 * 3 {
            return Err(FingerprintError::TooLong);
        }
        let mut bytes = Vec::with_capacity(hex.len().div_ceil(3));
        for pair in hex.split(':') {
            let &[high, low] = pair.as_bytes() else {
                return Err(FingerprintError::Hex);
            };
            let (Some(high), Some(low)) = (hex_value(high), hex_value(low)) else {
                return Err(FingerprintError::Hex);
            };
            bytes.push(high << 4 | low);
        }
        Fingerprint::new(algorithm, bytes)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.algorithm, self.hex())
    }
}

/// The `a=setup` attribute (RFC 4145 §4, RFC 8842 §5): which side opens the DTLS
/// connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Setup {
    /// This side will initiate (DTLS client).
    Active,
    /// This side will accept (DTLS server).
    Passive,
    /// Either; offers use this (RFC 8842 §5.2).
    Actpass,
    /// No connection for now.
    Holdconn,
}

impl Setup {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Setup::Active => "active",
            Setup::Passive => "passive",
            Setup::Actpass => "actpass",
            Setup::Holdconn => "holdconn",
        }
    }

    pub(crate) fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "active" => Setup::Active,
            "passive" => Setup::Passive,
            "actpass" => Setup::Actpass,
            "holdconn" => Setup::Holdconn,
            _ => return None,
        })
    }
}

impl fmt::Display for Setup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
