//! DTLS certificates and their fingerprints (RFC 8122 `a=fingerprint`).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use sha2::Digest;

use crate::error::Error;
use crate::protocol::Signer;

/// The hash functions RFC 8122 names for fingerprints that we can compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashFunction {
    /// SHA-1 (still sent by old stacks; never used for our own fingerprint).
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256: what we offer, and what every browser sends.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashFunction {
    /// The SDP token (`sha-256`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "sha-1",
            Self::Sha224 => "sha-224",
            Self::Sha256 => "sha-256",
            Self::Sha384 => "sha-384",
            Self::Sha512 => "sha-512",
        }
    }

    fn digest_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha224 => 28,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Self::Sha224 => sha2::Sha224::digest(data).to_vec(),
            Self::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Self::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }
}

impl FromStr for HashFunction {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name.to_ascii_lowercase().as_str() {
            "sha-1" => Ok(Self::Sha1),
            "sha-224" => Ok(Self::Sha224),
            "sha-256" => Ok(Self::Sha256),
            "sha-384" => Ok(Self::Sha384),
            "sha-512" => Ok(Self::Sha512),
            _ => Err(Error::InvalidFingerprint("unsupported hash function")),
        }
    }
}

/// A certificate fingerprint: a hash function and the digest of the DER certificate.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    hash: HashFunction,
    digest: Vec<u8>,
}

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of_der(hash: HashFunction, der: &[u8]) -> Self {
        Self {
            hash,
            digest: hash.digest(der),
        }
    }

    /// The hash function.
    pub fn hash(&self) -> HashFunction {
        self.hash
    }

    /// The digest bytes.
    pub fn digest(&self) -> &[u8] {
        &self.digest
    }

    /// Whether `der` has this fingerprint.
    pub fn matches(&self, der: &[u8]) -> bool {
        self.hash.digest(der) == self.digest
    }
}

impl fmt::Display for Fingerprint {
    /// The SDP form: `sha-256 AB:CD:...` (uppercase hex, RFC 8122 §5).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.hash.name())?;
        for (i, byte) in self.digest.iter().enumerate() {
            write!(f, "{}{byte:02X}", if i == 0 { ' ' } else { ':' })?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl FromStr for Fingerprint {
    type Err = Error;

    /// Parses the SDP form, `sha-256 AB:CD:...` (hex digits in either case).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (name, hex) = text
            .trim()
            .split_once(' ')
            .ok_or(Error::InvalidFingerprint("expected `<hash> <hex>`"))?;
        let hash: HashFunction = name.parse()?;
        let digest = hex
            .trim()
            .split(':')
            .map(|pair| {
                if pair.len() == 2 {
                    u8::from_str_radix(pair, 16)
                        .map_err(|_| Error::InvalidFingerprint("not hexadecimal"))
                } else {
                    Err(Error::InvalidFingerprint(
                        "each byte must be two hex digits",
                    ))
                }
            })
            .collect::<Result<Vec<u8>, Error>>()?;
        if digest.len() != hash.digest_len() {
            return Err(Error::InvalidFingerprint(
                "digest length does not match the hash function",
            ));
        }
        Ok(Self { hash, digest })
    }
}

/// A certificate with its private key, used for the DTLS handshake.
///
/// Cheap to clone. A new one per connection is what browsers do; one may also be reused.
#[derive(Clone)]
pub struct Certificate {
    pub(crate) owned: Arc<Owned>,
    fingerprint: Fingerprint,
}

/// The certificate and the key that signs for it.
#[derive(Debug)]
pub(crate) struct Owned {
    pub(crate) der: Vec<u8>,
    pub(crate) signer: Signer,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl Certificate {
    /// Generates a self-signed ECDSA P-256 certificate.
    pub fn generate() -> Result<Self, Error> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| Error::Certificate(e.to_string()))?;
        let params = rcgen::CertificateParams::new(vec!["strata".to_owned()])
            .map_err(|e| Error::Certificate(e.to_string()))?;
        let certificate = params
            .self_signed(&key)
            .map_err(|e| Error::Certificate(e.to_string()))?;
        Self::from_parts(certificate.der().to_vec(), &key)
    }

    /// A certificate supplied by the user: PEM certificate (the first block is the leaf)
    /// and its PKCS#8 private key in PEM. ECDSA P-256/P-384 and Ed25519 keys work.
    pub fn from_pem(certificate_pem: &str, private_key_pem: &str) -> Result<Self, Error> {
        let block = pem::parse_many(certificate_pem)
            .map_err(|e| Error::Certificate(format!("certificate PEM: {e}")))?
            .into_iter()
            .find(|block| block.tag() == "CERTIFICATE")
            .ok_or_else(|| Error::Certificate("no CERTIFICATE block in the PEM".into()))?;
        let key = rcgen::KeyPair::from_pem(private_key_pem)
            .map_err(|e| Error::Certificate(format!("private key PEM: {e}")))?;
        Self::from_parts(block.contents().to_vec(), &key)
    }

    fn from_parts(der: Vec<u8>, key: &rcgen::KeyPair) -> Result<Self, Error> {
        let signer = Signer::from_pkcs8(key.algorithm(), &key.serialize_der())
            .map_err(|reason| Error::Certificate(reason.to_owned()))?;
        let fingerprint = Fingerprint::of_der(HashFunction::Sha256, &der);
        Ok(Self {
            owned: Arc::new(Owned { der, signer }),
            fingerprint,
        })
    }

    /// The SHA-256 fingerprint to put in SDP.
    pub fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }

    /// The DER-encoded certificate.
    pub fn der(&self) -> &[u8] {
        &self.owned.der
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_hash_function_digests_to_its_length() {
        for hash in [
            HashFunction::Sha1,
            HashFunction::Sha224,
            HashFunction::Sha256,
            HashFunction::Sha384,
            HashFunction::Sha512,
        ] {
            let fingerprint = Fingerprint::of_der(hash, b"certificate");
            assert_eq!(fingerprint.digest().len(), hash.digest_len());
            assert_eq!(
                fingerprint.to_string().parse::<Fingerprint>().unwrap(),
                fingerprint
            );
        }
    }

    #[test]
    fn generated_certificates_have_distinct_sha256_fingerprints() {
        let a = Certificate::generate().unwrap();
        let b = Certificate::generate().unwrap();
        assert_eq!(a.fingerprint().hash(), HashFunction::Sha256);
        assert_eq!(a.fingerprint().digest().len(), 32);
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert!(a.fingerprint().matches(a.der()));
        assert!(!a.fingerprint().matches(b.der()));
    }

    #[test]
    fn fingerprints_print_and_parse_in_sdp_form() {
        let certificate = Certificate::generate().unwrap();
        let text = certificate.fingerprint().to_string();
        assert!(text.starts_with("sha-256 "));
        assert_eq!(text.len(), "sha-256 ".len() + 32 * 3 - 1);
        assert_eq!(
            &text.parse::<Fingerprint>().unwrap(),
            certificate.fingerprint()
        );
        assert_eq!(
            &text
                .to_lowercase()
                .replace("sha-256", "SHA-256")
                .parse::<Fingerprint>()
                .unwrap(),
            certificate.fingerprint()
        );
    }

    #[test]
    fn malformed_fingerprints_are_refused() {
        for bad in [
            "",
            "sha-256",
            "md5 AB:CD",
            "sha-256 AB:CD",
            "sha-256 ZZ",
            "sha-256 ABC:DE",
            "sha-1 AB:CD",
        ] {
            assert!(bad.parse::<Fingerprint>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn user_supplied_pem_certificates_load() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["example".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let loaded = Certificate::from_pem(&cert.pem(), &key.serialize_pem()).unwrap();
        assert!(loaded.fingerprint().matches(cert.der()));
        assert!(matches!(
            Certificate::from_pem("nonsense", &key.serialize_pem()),
            Err(Error::Certificate(_))
        ));
        assert!(matches!(
            Certificate::from_pem(&cert.pem(), "nonsense"),
            Err(Error::Certificate(_))
        ));
    }

    proptest! {
        #[test]
        fn fingerprint_parsing_never_panics(text in ".{0,120}") {
            let _ = text.parse::<Fingerprint>();
        }
    }
}
