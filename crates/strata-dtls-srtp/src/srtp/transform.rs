//! The two SRTP transforms, keyed per direction: session key derivation (RFC 3711 §4.3),
//! AEAD-AES-128-GCM (RFC 7714) and AES-128-CM with HMAC-SHA1-80 (RFC 3711 §4.1, §4.2).
//!
//! Every operation works in place on a caller's buffer, verifies before it decrypts, and
//! allocates nothing.

use aes::Aes128;
use aes::cipher::{BlockEncrypt, InnerIvInit, KeyInit, StreamCipher};
use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes128Gcm, Nonce, Tag};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::keying::{SrtpKeys, SrtpProfile};

type Aes128Ctr = ctr::Ctr128BE<Aes128>;
type HmacSha1 = Hmac<Sha1>;

/// GCM's authentication tag (RFC 7714 §14.2: 16 octets for both profiles' SRTP and SRTCP).
pub(crate) const GCM_TAG_LEN: usize = 16;
/// HMAC-SHA1-80's tag.
pub(crate) const HMAC_TAG_LEN: usize = 10;
/// The `E` flag and 31-bit index that end every SRTCP packet (RFC 3711 §3.4).
pub(crate) const SRTCP_TRAILER_LEN: usize = 4;
/// The SRTCP encryption flag in the trailer word.
pub(crate) const SRTCP_E_FLAG: u32 = 0x8000_0000;

// RFC 3711 §4.3.2 key derivation labels.
const LABEL_RTP_ENCRYPTION: u8 = 0x00;
const LABEL_RTP_AUTH: u8 = 0x01;
const LABEL_RTP_SALT: u8 = 0x02;
const LABEL_RTCP_ENCRYPTION: u8 = 0x03;
const LABEL_RTCP_AUTH: u8 = 0x04;
const LABEL_RTCP_SALT: u8 = 0x05;

/// The AES-CM PRF of RFC 3711 §4.3.1 with a key derivation rate of 0 (RFC 5764 §4.1.2):
/// `x = label << 48 XOR master_salt` (the salt left-aligned in 112 bits, so a 96-bit GCM
/// salt gets two zero octets, RFC 7714 §11), and the keystream of AES-CM under the
/// master key at IV `x * 2^16` fills `out`.
fn derive(master_key: &Aes128, master_salt: &[u8], label: u8, out: &mut [u8]) {
    let mut x = [0u8; 16];
    x[..master_salt.len()].copy_from_slice(master_salt);
    x[7] ^= label;
    for (counter, chunk) in out.chunks_mut(16).enumerate() {
        let mut block = x;
        block[14..].copy_from_slice(&(counter as u16).to_be_bytes());
        let block_ref = (&mut block).into();
        master_key.encrypt_block(block_ref);
        chunk.copy_from_slice(&block[..chunk.len()]);
    }
}

/// One direction's keys (boxed: expanded AES and GHASH keys take over a kilobyte).
pub(crate) enum Transform {
    Gcm(Box<Gcm>),
    Cm(Box<Cm>),
}

pub(crate) struct Gcm {
    rtp: GcmKey,
    rtcp: GcmKey,
}

struct GcmKey {
    cipher: Aes128Gcm,
    salt: [u8; 12],
}

pub(crate) struct Cm {
    rtp: CmKey,
    rtcp: CmKey,
}

struct CmKey {
    cipher: Aes128,
    salt: [u8; 14],
    /// HMAC keyed once; each packet clones it (no per-packet key schedule).
    mac: HmacSha1,
}

/// A tag that did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AuthFailed;

impl Transform {
    /// Derives the session keys for one direction. `keys` must have the profile's lengths.
    pub(crate) fn new(profile: SrtpProfile, keys: &SrtpKeys) -> Self {
        let master = Aes128::new_from_slice(&keys.master_key).expect("checked key length");
        let salt = &keys.master_salt;
        match profile {
            SrtpProfile::AeadAes128Gcm => {
                let key = |enc_label, salt_label| {
                    let mut session_key = [0u8; 16];
                    let mut session_salt = [0u8; 12];
                    derive(&master, salt, enc_label, &mut session_key);
                    derive(&master, salt, salt_label, &mut session_salt);
                    GcmKey::new(&session_key, session_salt)
                };
                Self::Gcm(Box::new(Gcm {
                    rtp: key(LABEL_RTP_ENCRYPTION, LABEL_RTP_SALT),
                    rtcp: key(LABEL_RTCP_ENCRYPTION, LABEL_RTCP_SALT),
                }))
            }
            SrtpProfile::Aes128CmHmacSha1_80 => {
                let key = |enc_label, auth_label, salt_label| {
                    let mut session_key = [0u8; 16];
                    let mut auth_key = [0u8; 20];
                    let mut session_salt = [0u8; 14];
                    derive(&master, salt, enc_label, &mut session_key);
                    derive(&master, salt, auth_label, &mut auth_key);
                    derive(&master, salt, salt_label, &mut session_salt);
                    CmKey::new(&session_key, &auth_key, session_salt)
                };
                Self::Cm(Box::new(Cm {
                    rtp: key(LABEL_RTP_ENCRYPTION, LABEL_RTP_AUTH, LABEL_RTP_SALT),
                    rtcp: key(LABEL_RTCP_ENCRYPTION, LABEL_RTCP_AUTH, LABEL_RTCP_SALT),
                }))
            }
        }
    }

    /// Bytes protection appends to an RTP packet.
    pub(crate) fn rtp_overhead(&self) -> usize {
        match self {
            Self::Gcm(_) => GCM_TAG_LEN,
            Self::Cm(_) => HMAC_TAG_LEN,
        }
    }

    /// Bytes protection appends to an RTCP packet.
    pub(crate) fn rtcp_overhead(&self) -> usize {
        self.rtp_overhead() + SRTCP_TRAILER_LEN
    }

    /// Where the SRTCP trailer word starts in a protected packet of `len` bytes: last for
    /// GCM (RFC 7714 §9, after the tag), before the tag for HMAC (RFC 3711 §3.4).
    pub(crate) fn rtcp_trailer_offset(&self, len: usize) -> usize {
        match self {
            Self::Gcm(_) => len - SRTCP_TRAILER_LEN,
            Self::Cm(_) => len - SRTCP_TRAILER_LEN - HMAC_TAG_LEN,
        }
    }

    /// Protects the RTP packet in `buf[..len - rtp_overhead]` whose header is
    /// `header_len` long; the tag goes into the last `rtp_overhead` bytes of `buf`.
    pub(crate) fn encrypt_rtp(&self, buf: &mut [u8], header_len: usize, ssrc: u32, index: u64) {
        match self {
            Self::Gcm(gcm) => {
                let nonce = gcm.rtp.rtp_iv(ssrc, index);
                let body_end = buf.len() - GCM_TAG_LEN;
                let (head, rest) = buf.split_at_mut(header_len);
                let (body, tag_out) = rest.split_at_mut(body_end - header_len);
                let tag = gcm
                    .rtp
                    .cipher
                    .encrypt_in_place_detached(Nonce::from_slice(&nonce), head, body)
                    .expect("SRTP packets are far below GCM's length limit");
                tag_out.copy_from_slice(&tag);
            }
            Self::Cm(cm) => {
                let body_end = buf.len() - HMAC_TAG_LEN;
                cm.rtp
                    .keystream(&cm.rtp.rtp_iv(ssrc, index))
                    .apply_keystream(&mut buf[header_len..body_end]);
                let (packet, tag_out) = buf.split_at_mut(body_end);
                let roc = ((index >> 16) as u32).to_be_bytes();
                tag_out.copy_from_slice(&cm.rtp.tag(packet, &roc)[..HMAC_TAG_LEN]);
            }
        }
    }

    /// Verifies and decrypts the protected RTP packet filling `buf`; the plaintext is
    /// `buf[..buf.len() - rtp_overhead]`. On failure `buf` is unchanged.
    pub(crate) fn decrypt_rtp(
        &self,
        buf: &mut [u8],
        header_len: usize,
        ssrc: u32,
        index: u64,
    ) -> Result<(), AuthFailed> {
        match self {
            Self::Gcm(gcm) => {
                let nonce = gcm.rtp.rtp_iv(ssrc, index);
                let body_end = buf.len() - GCM_TAG_LEN;
                let (head, rest) = buf.split_at_mut(header_len);
                let (body, tag) = rest.split_at_mut(body_end - header_len);
                gcm.rtp
                    .cipher
                    .decrypt_in_place_detached(
                        Nonce::from_slice(&nonce),
                        head,
                        body,
                        Tag::from_slice(tag),
                    )
                    .map_err(|_| AuthFailed)
            }
            Self::Cm(cm) => {
                let body_end = buf.len() - HMAC_TAG_LEN;
                let roc = ((index >> 16) as u32).to_be_bytes();
                let expected = cm.rtp.tag(&buf[..body_end], &roc);
                if !bool::from(expected[..HMAC_TAG_LEN].ct_eq(&buf[body_end..])) {
                    return Err(AuthFailed);
                }
                cm.rtp
                    .keystream(&cm.rtp.rtp_iv(ssrc, index))
                    .apply_keystream(&mut buf[header_len..body_end]);
                Ok(())
            }
        }
    }

    /// Protects the RTCP compound packet in `buf[..buf.len() - rtcp_overhead]` with SRTCP
    /// `index`, always encrypted (E set); the trailer and tag fill the rest of `buf`.
    pub(crate) fn encrypt_rtcp(&self, buf: &mut [u8], ssrc: u32, index: u32) {
        let trailer = (SRTCP_E_FLAG | index).to_be_bytes();
        match self {
            Self::Gcm(gcm) => {
                let plain_end = buf.len() - GCM_TAG_LEN - SRTCP_TRAILER_LEN;
                let nonce = gcm.rtcp.rtcp_iv(ssrc, index);
                let aad = rtcp_aad(buf, trailer);
                let (body, rest) = buf[RTCP_CLEAR..].split_at_mut(plain_end - RTCP_CLEAR);
                let tag = gcm
                    .rtcp
                    .cipher
                    .encrypt_in_place_detached(Nonce::from_slice(&nonce), &aad, body)
                    .expect("SRTCP packets are far below GCM's length limit");
                rest[..GCM_TAG_LEN].copy_from_slice(&tag);
                rest[GCM_TAG_LEN..].copy_from_slice(&trailer);
            }
            Self::Cm(cm) => {
                let plain_end = buf.len() - HMAC_TAG_LEN - SRTCP_TRAILER_LEN;
                cm.rtcp
                    .keystream(&cm.rtcp.rtcp_iv(ssrc, index))
                    .apply_keystream(&mut buf[RTCP_CLEAR..plain_end]);
                let auth_end = plain_end + SRTCP_TRAILER_LEN;
                buf[plain_end..auth_end].copy_from_slice(&trailer);
                let (packet, tag_out) = buf.split_at_mut(auth_end);
                tag_out.copy_from_slice(&cm.rtcp.tag(packet, &[])[..HMAC_TAG_LEN]);
            }
        }
    }

    /// Verifies and decrypts the SRTCP packet filling `buf`, whose trailer carries
    /// `index` with the E flag set (the caller checked); returns the plaintext length.
    /// On failure `buf` is unchanged.
    pub(crate) fn decrypt_rtcp(
        &self,
        buf: &mut [u8],
        ssrc: u32,
        index: u32,
    ) -> Result<usize, AuthFailed> {
        let trailer = (SRTCP_E_FLAG | index).to_be_bytes();
        match self {
            Self::Gcm(gcm) => {
                let plain_end = buf.len() - GCM_TAG_LEN - SRTCP_TRAILER_LEN;
                let nonce = gcm.rtcp.rtcp_iv(ssrc, index);
                let aad = rtcp_aad(buf, trailer);
                let (body, rest) = buf[RTCP_CLEAR..].split_at_mut(plain_end - RTCP_CLEAR);
                gcm.rtcp
                    .cipher
                    .decrypt_in_place_detached(
                        Nonce::from_slice(&nonce),
                        &aad,
                        body,
                        Tag::from_slice(&rest[..GCM_TAG_LEN]),
                    )
                    .map_err(|_| AuthFailed)?;
                Ok(plain_end)
            }
            Self::Cm(cm) => {
                let auth_end = buf.len() - HMAC_TAG_LEN;
                let expected = cm.rtcp.tag(&buf[..auth_end], &[]);
                if !bool::from(expected[..HMAC_TAG_LEN].ct_eq(&buf[auth_end..])) {
                    return Err(AuthFailed);
                }
                let plain_end = auth_end - SRTCP_TRAILER_LEN;
                cm.rtcp
                    .keystream(&cm.rtcp.rtcp_iv(ssrc, index))
                    .apply_keystream(&mut buf[RTCP_CLEAR..plain_end]);
                Ok(plain_end)
            }
        }
    }
}

/// The RTCP header and sender SSRC, never encrypted.
const RTCP_CLEAR: usize = super::packet::RTCP_HEADER_LEN;

/// GCM's SRTCP associated data (RFC 7714 §9.3): the first 8 octets, then the E flag and
/// index.
fn rtcp_aad(buf: &[u8], trailer: [u8; 4]) -> [u8; 12] {
    let mut aad = [0u8; 12];
    aad[..RTCP_CLEAR].copy_from_slice(&buf[..RTCP_CLEAR]);
    aad[RTCP_CLEAR..].copy_from_slice(&trailer);
    aad
}

impl GcmKey {
    fn new(key: &[u8; 16], salt: [u8; 12]) -> Self {
        Self {
            cipher: Aes128Gcm::new(key.into()),
            salt,
        }
    }

    /// RFC 7714 §8.1: `00 00 || SSRC || ROC || SEQ`, exclusive-or the session salt.
    fn rtp_iv(&self, ssrc: u32, index: u64) -> [u8; 12] {
        let mut iv = [0u8; 12];
        iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
        iv[6..12].copy_from_slice(&index.to_be_bytes()[2..]);
        xor(&mut iv, &self.salt);
        iv
    }

    /// RFC 7714 §9.1: `00 00 || SSRC || 00 00 || 0 || SRTCP index`, exclusive-or the salt.
    fn rtcp_iv(&self, ssrc: u32, index: u32) -> [u8; 12] {
        let mut iv = [0u8; 12];
        iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
        iv[8..12].copy_from_slice(&index.to_be_bytes());
        xor(&mut iv, &self.salt);
        iv
    }
}

impl CmKey {
    fn new(key: &[u8; 16], auth_key: &[u8; 20], salt: [u8; 14]) -> Self {
        Self {
            cipher: Aes128::new(key.into()),
            salt,
            mac: <HmacSha1 as KeyInit>::new_from_slice(auth_key).expect("HMAC takes any key"),
        }
    }

    /// RFC 3711 §4.1.1: `IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16)`.
    fn rtp_iv(&self, ssrc: u32, index: u64) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv[4..8].copy_from_slice(&ssrc.to_be_bytes());
        iv[8..14].copy_from_slice(&index.to_be_bytes()[2..]);
        xor(&mut iv[..14], &self.salt);
        iv
    }

    /// The same with the 31-bit SRTCP index (RFC 3711 §4.1.1, §3.4).
    fn rtcp_iv(&self, ssrc: u32, index: u32) -> [u8; 16] {
        self.rtp_iv(ssrc, u64::from(index))
    }

    fn keystream(&self, iv: &[u8; 16]) -> Aes128Ctr {
        Aes128Ctr::from_core(ctr::CtrCore::inner_iv_init(self.cipher.clone(), iv.into()))
    }

    /// HMAC-SHA1 over the authenticated portion and (for SRTP) the ROC.
    fn tag(&self, authenticated: &[u8], roc: &[u8]) -> [u8; 20] {
        let mut mac = self.mac.clone();
        mac.update(authenticated);
        mac.update(roc);
        let mut tag = [0u8; 20];
        tag.copy_from_slice(&mac.finalize().into_bytes());
        tag
    }
}

fn xor(target: &mut [u8], salt: &[u8]) {
    for (byte, salt) in target.iter_mut().zip(salt) {
        *byte ^= salt;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn hex(text: &str) -> Vec<u8> {
        let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
        digits
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect()
    }

    /// A GCM transform keyed with session keys directly, as RFC 7714's vectors are.
    fn rfc7714_transform() -> Transform {
        let key: [u8; 16] = hex("000102030405060708090a0b0c0d0e0f").try_into().unwrap();
        let salt: [u8; 12] = hex("517569642070726f2071756f").try_into().unwrap();
        Transform::Gcm(Box::new(Gcm {
            rtp: GcmKey::new(&key, salt),
            rtcp: GcmKey::new(&key, salt),
        }))
    }

    // RFC 7714 §16.1.1 (the "Gallia est omnis divisa in partes tres" RTP packet).
    const RFC7714_RTP: &str = "8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f
        6d6e6973 20646976 69736120 696e2070 61727465 73207472 6573";
    const RFC7714_SRTP: &str = "8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c
        9d7e4bca be633bd5 0d294e6f 42a5f47a 51c7d19b 36de3adf 8833899d 7f27beb1 6a9152cf
        765ee439 0cce";
    // RFC 7714 §17.1.1, SRTCP index 0x5d4.
    const RFC7714_RTCP: &str = "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a
        0000e930 4c756e61 deadbeef deadbeef deadbeef deadbeef deadbeef";
    const RFC7714_SRTCP: &str = "81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99
        7ff5c0f7 6c06f32d c676a5f1 730d6fda 4ce09b46 86303ded 0bb9275b c84aa458 96cf4d2f
        c5abf872 45d9eade 800005d4";

    #[test]
    fn gcm_rtp_matches_rfc_7714_section_16() {
        let transform = rfc7714_transform();
        let plain = hex(RFC7714_RTP);
        let mut buf = plain.clone();
        buf.resize(plain.len() + GCM_TAG_LEN, 0);
        transform.encrypt_rtp(&mut buf, 12, 0x5501_a0b2, 0xf17b);
        assert_eq!(buf, hex(RFC7714_SRTP));
        transform
            .decrypt_rtp(&mut buf, 12, 0x5501_a0b2, 0xf17b)
            .unwrap();
        assert_eq!(&buf[..plain.len()], &plain[..]);
    }

    #[test]
    fn gcm_rtcp_matches_rfc_7714_section_17() {
        let transform = rfc7714_transform();
        let plain = hex(RFC7714_RTCP);
        let mut buf = plain.clone();
        buf.resize(plain.len() + transform.rtcp_overhead(), 0);
        transform.encrypt_rtcp(&mut buf, 0x4d61_7273, 0x5d4);
        assert_eq!(buf, hex(RFC7714_SRTCP));
        let len = transform
            .decrypt_rtcp(&mut buf, 0x4d61_7273, 0x5d4)
            .unwrap();
        assert_eq!(&buf[..len], &plain[..]);
    }

    #[test]
    fn a_tampered_gcm_packet_fails_and_stays_untouched() {
        let transform = rfc7714_transform();
        let mut buf = hex(RFC7714_SRTP);
        buf[20] ^= 1;
        let before = buf.clone();
        assert_eq!(
            transform.decrypt_rtp(&mut buf, 12, 0x5501_a0b2, 0xf17b),
            Err(AuthFailed)
        );
        assert_eq!(buf, before);
        // The right bytes under the wrong ROC fail too.
        let mut buf = hex(RFC7714_SRTP);
        assert_eq!(
            transform.decrypt_rtp(&mut buf, 12, 0x5501_a0b2, 0x1_f17b),
            Err(AuthFailed)
        );
    }

    #[test]
    fn key_derivation_matches_rfc_3711_appendix_b3() {
        let master = Aes128::new_from_slice(&hex("E1F97A0D3E018BE0D64FA32C06DE4139")).unwrap();
        let salt = hex("0EC675AD498AFEEBB6960B3AABE6");
        let mut key = [0u8; 16];
        derive(&master, &salt, LABEL_RTP_ENCRYPTION, &mut key);
        assert_eq!(key.to_vec(), hex("C61E7A93744F39EE10734AFE3FF7A087"));
        let mut session_salt = [0u8; 14];
        derive(&master, &salt, LABEL_RTP_SALT, &mut session_salt);
        assert_eq!(session_salt.to_vec(), hex("30CBBC08863D8C85D49DB34A9AE1"));
        let mut auth = [0u8; 20];
        derive(&master, &salt, LABEL_RTP_AUTH, &mut auth);
        assert_eq!(
            auth.to_vec(),
            hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4")
        );
    }

    #[test]
    fn hmac_profile_round_trips_and_rejects_a_flipped_tag() {
        let keys = SrtpKeys {
            master_key: vec![7; 16],
            master_salt: vec![9; 14],
        };
        let transform = Transform::new(SrtpProfile::Aes128CmHmacSha1_80, &keys);
        let plain: Vec<u8> = (0..60).map(|i| if i == 0 { 0x80 } else { i }).collect();
        let mut buf = plain.clone();
        buf.resize(plain.len() + HMAC_TAG_LEN, 0);
        transform.encrypt_rtp(&mut buf, 12, 42, 0x2_0005);
        assert_ne!(&buf[12..60], &plain[12..]);
        let mut flipped = buf.clone();
        *flipped.last_mut().unwrap() ^= 0x80;
        assert_eq!(
            transform.decrypt_rtp(&mut flipped, 12, 42, 0x2_0005),
            Err(AuthFailed)
        );
        // The ROC is authenticated: the same bytes under another ROC fail.
        let mut other_roc = buf.clone();
        assert_eq!(
            transform.decrypt_rtp(&mut other_roc, 12, 42, 0x1_0005),
            Err(AuthFailed)
        );
        transform.decrypt_rtp(&mut buf, 12, 42, 0x2_0005).unwrap();
        assert_eq!(&buf[..60], &plain[..]);
    }
}
