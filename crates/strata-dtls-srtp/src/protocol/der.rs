//! Just enough DER (X.690) to find a certificate's public key: WebRTC peers authenticate
//! by fingerprint, so nothing else in the certificate is looked at.

use super::ProtocolError;

const SEQUENCE: u8 = 0x30;
const BIT_STRING: u8 = 0x03;
const OID: u8 = 0x06;
const VERSION_TAG: u8 = 0xa0;

const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_PRIME256V1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_SECP384R1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// A certificate's public key, as `ring` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PublicKey<'a> {
    /// An uncompressed P-256 point.
    EcdsaP256(&'a [u8]),
    /// An uncompressed P-384 point.
    EcdsaP384(&'a [u8]),
    /// A DER `RSAPublicKey`.
    Rsa(&'a [u8]),
    /// 32 bytes.
    Ed25519(&'a [u8]),
}

impl<'a> PublicKey<'a> {
    pub(crate) fn bytes(self) -> &'a [u8] {
        match self {
            Self::EcdsaP256(b) | Self::EcdsaP384(b) | Self::Rsa(b) | Self::Ed25519(b) => b,
        }
    }
}

fn bad() -> ProtocolError {
    ProtocolError::BadCertificate
}

/// Splits one TLV off `input`: its tag, its contents, and what follows.
fn element(input: &[u8]) -> Result<(u8, &[u8], &[u8]), ProtocolError> {
    let (&tag, rest) = input.split_first().ok_or_else(bad)?;
    let (&first, rest) = rest.split_first().ok_or_else(bad)?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 3 || rest.len() < count {
            return Err(bad());
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |acc, &b| acc << 8 | usize::from(b));
        (len, &rest[count..])
    };
    if rest.len() < len {
        return Err(bad());
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

fn expect(input: &[u8], tag: u8) -> Result<(&[u8], &[u8]), ProtocolError> {
    let (found, contents, rest) = element(input)?;
    if found != tag {
        return Err(bad());
    }
    Ok((contents, rest))
}

/// The public key in a DER X.509 certificate's `subjectPublicKeyInfo`.
pub(crate) fn subject_public_key(der: &[u8]) -> Result<PublicKey<'_>, ProtocolError> {
    let (certificate, _) = expect(der, SEQUENCE)?;
    let (mut tbs, _) = expect(certificate, SEQUENCE)?;
    if tbs.first() == Some(&VERSION_TAG) {
        tbs = element(tbs)?.2;
    }
    // serialNumber, signature, issuer, validity, subject.
    for _ in 0..5 {
        tbs = element(tbs)?.2;
    }
    let (spki, _) = expect(tbs, SEQUENCE)?;
    let (algorithm, rest) = expect(spki, SEQUENCE)?;
    let (key_bits, _) = expect(rest, BIT_STRING)?;
    // The first byte of a BIT STRING counts unused bits; keys use whole bytes.
    let (&0, key) = key_bits.split_first().ok_or_else(bad)? else {
        return Err(bad());
    };
    let (oid, parameters) = expect(algorithm, OID)?;
    match oid {
        OID_EC_PUBLIC_KEY => {
            let (curve, _) = expect(parameters, OID)?;
            match curve {
                OID_PRIME256V1 => Ok(PublicKey::EcdsaP256(key)),
                OID_SECP384R1 => Ok(PublicKey::EcdsaP384(key)),
                _ => Err(ProtocolError::Illegal("unsupported elliptic curve")),
            }
        }
        OID_RSA_ENCRYPTION => Ok(PublicKey::Rsa(key)),
        OID_ED25519 => Ok(PublicKey::Ed25519(key)),
        _ => Err(ProtocolError::Illegal("unsupported public key algorithm")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_of_generated_certificates_is_found() {
        for (algorithm, expect_len) in [
            (&rcgen::PKCS_ECDSA_P256_SHA256, 65),
            (&rcgen::PKCS_ECDSA_P384_SHA384, 97),
            (&rcgen::PKCS_ED25519, 32),
        ] {
            let key = rcgen::KeyPair::generate_for(algorithm).unwrap();
            let cert = rcgen::CertificateParams::new(vec!["x".into()])
                .unwrap()
                .self_signed(&key)
                .unwrap();
            let found = subject_public_key(cert.der()).unwrap();
            assert_eq!(found.bytes().len(), expect_len);
            assert_eq!(found.bytes(), key.public_key_raw());
        }
    }

    #[test]
    fn every_truncation_is_an_error() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["x".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let der = cert.der().to_vec();
        for len in 0..der.len() {
            assert!(subject_public_key(&der[..len]).is_err(), "{len}");
        }
        assert!(subject_public_key(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
    }
}
