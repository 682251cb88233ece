//! The cryptography of a DTLS 1.2 handshake with ECDHE and AES-128-GCM: the TLS 1.2 PRF
//! (RFC 5246 §5), the extended master secret (RFC 7627), record protection (RFC 5288),
//! key exchange, and signatures by the certificates' keys. All of it is `ring`'s.

use ring::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::agreement::{self, EphemeralPrivateKey, UnparsedPublicKey};
use ring::hmac;
use ring::rand::SystemRandom;
use ring::signature::{self, VerificationAlgorithm};

use super::ProtocolError;
use super::der::{PublicKey, subject_public_key};
#[cfg(test)]
use super::wire::CONTENT_APPLICATION_DATA;
use super::wire::{DTLS_1_2, Put, RECORD_HEADER_LEN};

/// Named groups (RFC 8422 §5.1.1).
pub(crate) const GROUP_X25519: u16 = 29;
pub(crate) const GROUP_SECP256R1: u16 = 23;
/// What we offer and accept, in our order of preference.
pub(crate) const GROUPS: [u16; 2] = [GROUP_X25519, GROUP_SECP256R1];

/// Signature schemes (RFC 8446 §4.2.3 code points, as TLS 1.2 uses them).
pub(crate) const ECDSA_SECP256R1_SHA256: u16 = 0x0403;
pub(crate) const ECDSA_SECP384R1_SHA384: u16 = 0x0503;
pub(crate) const RSA_PKCS1_SHA256: u16 = 0x0401;
pub(crate) const RSA_PKCS1_SHA384: u16 = 0x0501;
pub(crate) const RSA_PSS_RSAE_SHA256: u16 = 0x0804;
pub(crate) const RSA_PSS_RSAE_SHA384: u16 = 0x0805;
pub(crate) const ED25519: u16 = 0x0807;
/// The schemes we verify, advertised in `signature_algorithms`.
pub(crate) const VERIFIABLE_SCHEMES: [u16; 7] = [
    ECDSA_SECP256R1_SHA256,
    RSA_PSS_RSAE_SHA256,
    RSA_PKCS1_SHA256,
    ECDSA_SECP384R1_SHA384,
    RSA_PSS_RSAE_SHA384,
    RSA_PKCS1_SHA384,
    ED25519,
];

pub(crate) const MASTER_SECRET_LEN: usize = 48;
pub(crate) const VERIFY_DATA_LEN: usize = 12;
const KEY_LEN: usize = 16;
const SALT_LEN: usize = 4;
const EXPLICIT_NONCE_LEN: usize = 8;
const TAG_LEN: usize = 16;
/// What AES-128-GCM adds to a record's plaintext.
pub(crate) const RECORD_OVERHEAD: usize = EXPLICIT_NONCE_LEN + TAG_LEN;
/// Record sequence numbers are 48 bits.
pub(crate) const MAX_SEQUENCE: u64 = (1 << 48) - 1;

/// The TLS 1.2 PRF with SHA-256: `P_SHA256(secret, label + seed)` cut to `len` bytes.
pub(crate) fn prf(secret: &[u8], label: &[u8], seeds: &[&[u8]], len: usize) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let seed: Vec<u8> = label
        .iter()
        .chain(seeds.iter().flat_map(|s| s.iter()))
        .copied()
        .collect();
    let mut out = Vec::with_capacity(len + 32);
    let mut a = hmac::sign(&key, &seed);
    while out.len() < len {
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(a.as_ref());
        ctx.update(&seed);
        out.extend_from_slice(ctx.sign().as_ref());
        a = hmac::sign(&key, a.as_ref());
    }
    out.truncate(len);
    out
}

/// The extended master secret from the premaster secret and the session hash.
pub(crate) fn extended_master_secret(premaster: &[u8], session_hash: &[u8]) -> Vec<u8> {
    prf(
        premaster,
        b"extended master secret",
        &[session_hash],
        MASTER_SECRET_LEN,
    )
}

/// `verify_data` of a `Finished` message.
pub(crate) fn verify_data(master: &[u8], client: bool, transcript_hash: &[u8]) -> Vec<u8> {
    let label: &[u8] = if client {
        b"client finished"
    } else {
        b"server finished"
    };
    prf(master, label, &[transcript_hash], VERIFY_DATA_LEN)
}

/// SHA-256 of the handshake so far.
pub(crate) fn transcript_hash(transcript: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, transcript)
        .as_ref()
        .to_vec()
}

/// The two directions' record keys.
pub(crate) struct KeyBlock {
    pub(crate) client: DirectionKeys,
    pub(crate) server: DirectionKeys,
}

/// One direction's AES-128-GCM key and implicit nonce part.
pub(crate) struct DirectionKeys {
    key: [u8; KEY_LEN],
    salt: [u8; SALT_LEN],
}

impl KeyBlock {
    /// RFC 5246 §6.3 for an AEAD suite: no MAC keys; keys then implicit IVs.
    pub(crate) fn derive(master: &[u8], client_random: &[u8], server_random: &[u8]) -> Self {
        let block = prf(
            master,
            b"key expansion",
            &[server_random, client_random],
            2 * (KEY_LEN + SALT_LEN),
        );
        let part = |at: usize, len: usize| &block[at..at + len];
        let keys = |key: &[u8], salt: &[u8]| {
            let mut keys = DirectionKeys {
                key: [0; KEY_LEN],
                salt: [0; SALT_LEN],
            };
            keys.key.copy_from_slice(key);
            keys.salt.copy_from_slice(salt);
            keys
        };
        Self {
            client: keys(part(0, KEY_LEN), part(2 * KEY_LEN, SALT_LEN)),
            server: keys(
                part(KEY_LEN, KEY_LEN),
                part(2 * KEY_LEN + SALT_LEN, SALT_LEN),
            ),
        }
    }
}

/// Seals or opens the records of one direction of one epoch.
pub(crate) struct RecordCipher {
    /// Boxed: the expanded key is over half a kilobyte, and transports move.
    key: Box<LessSafeKey>,
    salt: [u8; SALT_LEN],
}

impl std::fmt::Debug for RecordCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordCipher").finish_non_exhaustive()
    }
}

fn additional_data(epoch: u16, sequence: u64, content_type: u8, len: usize) -> [u8; 13] {
    let mut aad = [0u8; 13];
    aad[..2].copy_from_slice(&epoch.to_be_bytes());
    aad[2..8].copy_from_slice(&sequence.to_be_bytes()[2..]);
    aad[8] = content_type;
    aad[9..11].copy_from_slice(&DTLS_1_2.to_be_bytes());
    aad[11..].copy_from_slice(&(len as u16).to_be_bytes());
    aad
}

impl RecordCipher {
    pub(crate) fn new(keys: &DirectionKeys) -> Self {
        let key = UnboundKey::new(&AES_128_GCM, &keys.key)
            .map(|key| Box::new(LessSafeKey::new(key)))
            .expect("AES-128 keys are 16 bytes");
        Self {
            key,
            salt: keys.salt,
        }
    }

    fn nonce(&self, explicit: &[u8]) -> Nonce {
        let mut nonce = [0u8; 12];
        nonce[..SALT_LEN].copy_from_slice(&self.salt);
        nonce[SALT_LEN..].copy_from_slice(explicit);
        Nonce::assume_unique_for_key(nonce)
    }

    /// Appends one protected record carrying `plaintext` to `out`.
    pub(crate) fn seal(
        &self,
        out: &mut Vec<u8>,
        content_type: u8,
        epoch: u16,
        sequence: u64,
        plaintext: &[u8],
    ) {
        let explicit = (u64::from(epoch) << 48 | sequence).to_be_bytes();
        out.reserve(RECORD_HEADER_LEN + RECORD_OVERHEAD + plaintext.len());
        out.push(content_type);
        out.put_u16(DTLS_1_2);
        out.put_u16(epoch);
        out.put_u48(sequence);
        out.put_u16((plaintext.len() + RECORD_OVERHEAD) as u16);
        out.extend_from_slice(&explicit);
        let start = out.len();
        out.extend_from_slice(plaintext);
        let aad = additional_data(epoch, sequence, content_type, plaintext.len());
        let tag = self
            .key
            .seal_in_place_separate_tag(self.nonce(&explicit), Aad::from(aad), &mut out[start..])
            .expect("record plaintexts are far below AES-GCM's limit");
        out.extend_from_slice(tag.as_ref());
    }

    /// Opens a record's body in place; returns the plaintext's length (the plaintext
    /// starts at [`RecordCipher::PLAINTEXT_OFFSET`]).
    pub(crate) fn open_in_place(
        &self,
        body: &mut [u8],
        content_type: u8,
        epoch: u16,
        sequence: u64,
    ) -> Result<usize, ProtocolError> {
        if body.len() < RECORD_OVERHEAD {
            return Err(ProtocolError::BadRecordMac);
        }
        let (explicit, sealed) = body.split_at_mut(EXPLICIT_NONCE_LEN);
        let aad = additional_data(epoch, sequence, content_type, sealed.len() - TAG_LEN);
        let plain = self
            .key
            .open_in_place(self.nonce(explicit), Aad::from(aad), sealed)
            .map_err(|_| ProtocolError::BadRecordMac)?;
        Ok(plain.len())
    }

    /// Where the plaintext sits in a record body after [`RecordCipher::open_in_place`].
    pub(crate) const PLAINTEXT_OFFSET: usize = EXPLICIT_NONCE_LEN;
}

/// Our half of an ECDHE exchange.
pub(crate) struct KeyShare {
    group: u16,
    private: EphemeralPrivateKey,
    public: Vec<u8>,
}

impl KeyShare {
    pub(crate) fn generate(group: u16, rng: &SystemRandom) -> Result<Self, ProtocolError> {
        let algorithm = agreement_algorithm(group)?;
        let private = EphemeralPrivateKey::generate(algorithm, rng)
            .map_err(|_| ProtocolError::Internal("key generation failed"))?;
        let public = private
            .compute_public_key()
            .map_err(|_| ProtocolError::Internal("key generation failed"))?
            .as_ref()
            .to_vec();
        Ok(Self {
            group,
            private,
            public,
        })
    }

    pub(crate) fn public(&self) -> &[u8] {
        &self.public
    }

    /// The premaster secret shared with the peer's public point.
    pub(crate) fn agree(self, peer: &[u8]) -> Result<Vec<u8>, ProtocolError> {
        let algorithm = agreement_algorithm(self.group)?;
        agreement::agree_ephemeral(
            self.private,
            &UnparsedPublicKey::new(algorithm, peer),
            <[u8]>::to_vec,
        )
        .map_err(|_| ProtocolError::Illegal("the peer's key-exchange point is invalid"))
    }
}

fn agreement_algorithm(group: u16) -> Result<&'static agreement::Algorithm, ProtocolError> {
    match group {
        GROUP_X25519 => Ok(&agreement::X25519),
        GROUP_SECP256R1 => Ok(&agreement::ECDH_P256),
        _ => Err(ProtocolError::Illegal("unsupported key-exchange group")),
    }
}

/// Our certificate's private key, signing handshake messages.
pub(crate) enum Signer {
    /// ECDSA over P-256 or P-384, with the scheme that names its curve.
    Ecdsa(signature::EcdsaKeyPair, u16),
    /// Ed25519 (RFC 8422).
    Ed25519(signature::Ed25519KeyPair),
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Signer").field(&self.scheme()).finish()
    }
}

impl Signer {
    /// Loads a PKCS#8 key of the algorithm `rcgen` reports for it.
    pub(crate) fn from_pkcs8(
        algorithm: &'static rcgen::SignatureAlgorithm,
        pkcs8: &[u8],
    ) -> Result<Self, &'static str> {
        let rng = SystemRandom::new();
        let ecdsa = |ring_algorithm, scheme| {
            signature::EcdsaKeyPair::from_pkcs8(ring_algorithm, pkcs8, &rng)
                .map(|key| Self::Ecdsa(key, scheme))
                .map_err(|_| "the ECDSA key does not load")
        };
        if algorithm == &rcgen::PKCS_ECDSA_P256_SHA256 {
            ecdsa(
                &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                ECDSA_SECP256R1_SHA256,
            )
        } else if algorithm == &rcgen::PKCS_ECDSA_P384_SHA384 {
            ecdsa(
                &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                ECDSA_SECP384R1_SHA384,
            )
        } else if algorithm == &rcgen::PKCS_ED25519 {
            signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8)
                .map(Self::Ed25519)
                .map_err(|_| "the Ed25519 key does not load")
        } else {
            Err("only ECDSA P-256, ECDSA P-384 and Ed25519 keys are supported")
        }
    }

    /// The signature scheme our signatures use.
    pub(crate) fn scheme(&self) -> u16 {
        match self {
            Self::Ecdsa(_, scheme) => *scheme,
            Self::Ed25519(_) => ED25519,
        }
    }

    /// Signs `message`.
    pub(crate) fn sign(
        &self,
        rng: &SystemRandom,
        message: &[u8],
    ) -> Result<Vec<u8>, ProtocolError> {
        match self {
            Self::Ecdsa(key, _) => key
                .sign(rng, message)
                .map(|signature| signature.as_ref().to_vec())
                .map_err(|_| ProtocolError::Internal("signing failed")),
            Self::Ed25519(key) => Ok(key.sign(message).as_ref().to_vec()),
        }
    }
}

/// Verifies `signature` over `message` by the key of the DER certificate `der`.
pub(crate) fn verify(
    der: &[u8],
    scheme: u16,
    message: &[u8],
    signature: &[u8],
) -> Result<(), ProtocolError> {
    let key = subject_public_key(der)?;
    let algorithm: &dyn VerificationAlgorithm = match (scheme, &key) {
        (ECDSA_SECP256R1_SHA256, PublicKey::EcdsaP256(_)) => &signature::ECDSA_P256_SHA256_ASN1,
        (ECDSA_SECP384R1_SHA384, PublicKey::EcdsaP256(_)) => &signature::ECDSA_P256_SHA384_ASN1,
        (ECDSA_SECP256R1_SHA256, PublicKey::EcdsaP384(_)) => &signature::ECDSA_P384_SHA256_ASN1,
        (ECDSA_SECP384R1_SHA384, PublicKey::EcdsaP384(_)) => &signature::ECDSA_P384_SHA384_ASN1,
        (RSA_PKCS1_SHA256, PublicKey::Rsa(_)) => &signature::RSA_PKCS1_2048_8192_SHA256,
        (RSA_PKCS1_SHA384, PublicKey::Rsa(_)) => &signature::RSA_PKCS1_2048_8192_SHA384,
        (RSA_PSS_RSAE_SHA256, PublicKey::Rsa(_)) => &signature::RSA_PSS_2048_8192_SHA256,
        (RSA_PSS_RSAE_SHA384, PublicKey::Rsa(_)) => &signature::RSA_PSS_2048_8192_SHA384,
        (ED25519, PublicKey::Ed25519(_)) => &signature::ED25519,
        _ => {
            return Err(ProtocolError::Illegal(
                "signature scheme does not fit the certificate's key",
            ));
        }
    };
    signature::UnparsedPublicKey::new(algorithm, key.bytes())
        .verify(message, signature)
        .map_err(|_| ProtocolError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn the_prf_matches_the_published_tls_1_2_sha256_vector() {
        // The widely used TLS 1.2 PRF (SHA-256) test vector from the IETF TLS list.
        let secret = hex("9bbe436ba940f017b17652849a71db35");
        let seed = hex("a0ba9f936cda311827a6f796ffd5198c");
        let out = prf(&secret, b"test label", &[&seed], 100);
        assert_eq!(
            out,
            hex(
                "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66"
            )
        );
    }

    #[test]
    fn records_open_under_the_same_keys_and_fail_under_any_change() {
        let keys = KeyBlock::derive(&[1; 48], &[2; 32], &[3; 32]);
        let (sealer, opener) = (
            RecordCipher::new(&keys.client),
            RecordCipher::new(&keys.client),
        );
        let mut record = Vec::new();
        sealer.seal(&mut record, CONTENT_APPLICATION_DATA, 1, 5, b"hello");
        let body = &mut record[RECORD_HEADER_LEN..];
        let mut copy = body.to_vec();
        let len = opener
            .open_in_place(body, CONTENT_APPLICATION_DATA, 1, 5)
            .unwrap();
        let plain = &body[RecordCipher::PLAINTEXT_OFFSET..RecordCipher::PLAINTEXT_OFFSET + len];
        assert_eq!(plain, b"hello");
        // Another sequence number, epoch or content type changes the additional data.
        assert!(
            opener
                .open_in_place(&mut copy.clone(), CONTENT_APPLICATION_DATA, 1, 6)
                .is_err()
        );
        assert!(opener.open_in_place(&mut copy.clone(), 22, 1, 5).is_err());
        let server = RecordCipher::new(&keys.server);
        assert!(
            server
                .open_in_place(&mut copy.clone(), CONTENT_APPLICATION_DATA, 1, 5)
                .is_err()
        );
        copy[9] ^= 1;
        assert!(
            opener
                .open_in_place(&mut copy, CONTENT_APPLICATION_DATA, 1, 5)
                .is_err()
        );
        assert!(
            opener
                .open_in_place(&mut [0; 10], CONTENT_APPLICATION_DATA, 1, 5)
                .is_err()
        );
    }

    #[test]
    fn both_groups_agree() {
        let rng = SystemRandom::new();
        for group in GROUPS {
            let (a, b) = (
                KeyShare::generate(group, &rng).unwrap(),
                KeyShare::generate(group, &rng).unwrap(),
            );
            let (a_public, b_public) = (a.public().to_vec(), b.public().to_vec());
            assert_eq!(a.agree(&b_public).unwrap(), b.agree(&a_public).unwrap());
        }
        let share = KeyShare::generate(GROUP_SECP256R1, &rng).unwrap();
        assert!(share.agree(&[4; 65]).is_err());
        assert!(KeyShare::generate(24, &rng).is_err());
    }
}
