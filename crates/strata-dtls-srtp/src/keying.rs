//! SRTP keying material exported from the DTLS handshake (RFC 5764 §4.2).

use std::fmt;

/// The SRTP protection profiles we negotiate, in our order of preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SrtpProfile {
    /// `SRTP_AEAD_AES_128_GCM` (RFC 7714): authenticated encryption; preferred.
    AeadAes128Gcm,
    /// `SRTP_AES128_CM_HMAC_SHA1_80` (RFC 5764): the profile every stack supports.
    Aes128CmHmacSha1_80,
}

impl SrtpProfile {
    /// Master key length in bytes.
    pub fn key_len(self) -> usize {
        16
    }

    /// Master salt length in bytes.
    pub fn salt_len(self) -> usize {
        match self {
            Self::AeadAes128Gcm => 12,
            Self::Aes128CmHmacSha1_80 => 14,
        }
    }

    /// The IANA name.
    pub fn name(self) -> &'static str {
        match self {
            Self::AeadAes128Gcm => "SRTP_AEAD_AES_128_GCM",
            Self::Aes128CmHmacSha1_80 => "SRTP_AES128_CM_HMAC_SHA1_80",
        }
    }

    /// The `SRTPProtectionProfile` code point in `use_srtp` (RFC 5764 §4.1.2, RFC 7714 §14.2).
    pub fn id(self) -> u16 {
        match self {
            Self::AeadAes128Gcm => 0x0007,
            Self::Aes128CmHmacSha1_80 => 0x0001,
        }
    }

    /// The profile with code point `id`, if we support it.
    pub fn from_id(id: u16) -> Option<Self> {
        [Self::AeadAes128Gcm, Self::Aes128CmHmacSha1_80]
            .into_iter()
            .find(|profile| profile.id() == id)
    }
}

/// One direction's SRTP master key and salt.
#[derive(Clone, PartialEq, Eq)]
pub struct SrtpKeys {
    /// Master key.
    pub master_key: Vec<u8>,
    /// Master salt.
    pub master_salt: Vec<u8>,
}

impl fmt::Debug for SrtpKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SrtpKeys").finish_non_exhaustive()
    }
}

/// The negotiated profile and the keys for each direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrtpKeyingMaterial {
    /// The profile both sides agreed on.
    pub profile: SrtpProfile,
    /// Keys for what we send.
    pub local: SrtpKeys,
    /// Keys for what we receive.
    pub remote: SrtpKeys,
}

/// The exporter label RFC 5764 §4.2 defines.
pub(crate) const EXPORTER_LABEL: &str = "EXTRACTOR-dtls_srtp";

impl SrtpKeyingMaterial {
    /// Bytes to export for `profile`: two keys and two salts.
    pub(crate) fn export_len(profile: SrtpProfile) -> usize {
        2 * (profile.key_len() + profile.salt_len())
    }

    /// Splits exported bytes (`client_key | server_key | client_salt | server_salt`) into
    /// our and their keys. `None` when the length is wrong.
    pub(crate) fn split(
        profile: SrtpProfile,
        exported: &[u8],
        we_are_client: bool,
    ) -> Option<Self> {
        if exported.len() != Self::export_len(profile) {
            return None;
        }
        let (key_len, salt_len) = (profile.key_len(), profile.salt_len());
        let (client_key, rest) = exported.split_at(key_len);
        let (server_key, rest) = rest.split_at(key_len);
        let (client_salt, server_salt) = rest.split_at(salt_len);
        let client = SrtpKeys {
            master_key: client_key.to_vec(),
            master_salt: client_salt.to_vec(),
        };
        let server = SrtpKeys {
            master_key: server_key.to_vec(),
            master_salt: server_salt.to_vec(),
        };
        let (local, remote) = if we_are_client {
            (client, server)
        } else {
            (server, client)
        };
        Some(Self {
            profile,
            local,
            remote,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exported_bytes_split_into_client_and_server_keys_per_rfc_5764() {
        let profile = SrtpProfile::Aes128CmHmacSha1_80;
        let exported: Vec<u8> = (0..60).collect();
        let client = SrtpKeyingMaterial::split(profile, &exported, true).unwrap();
        assert_eq!(client.local.master_key, (0..16).collect::<Vec<u8>>());
        assert_eq!(client.remote.master_key, (16..32).collect::<Vec<u8>>());
        assert_eq!(client.local.master_salt, (32..46).collect::<Vec<u8>>());
        assert_eq!(client.remote.master_salt, (46..60).collect::<Vec<u8>>());
        let server = SrtpKeyingMaterial::split(profile, &exported, false).unwrap();
        assert_eq!(
            (server.local.clone(), server.remote.clone()),
            (client.remote, client.local)
        );
        assert!(SrtpKeyingMaterial::split(SrtpProfile::AeadAes128Gcm, &exported, true).is_none());
        assert_eq!(
            SrtpKeyingMaterial::export_len(SrtpProfile::AeadAes128Gcm),
            56
        );
    }

    #[test]
    fn keys_never_print() {
        let keys = SrtpKeys {
            master_key: vec![0xAB; 16],
            master_salt: vec![0xCD; 12],
        };
        assert!(!format!("{keys:?}").contains("171"));
    }
}
