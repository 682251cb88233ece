//! Fuzz-target bodies (feature `fuzzing`; also built for unit tests).

use super::{SrtpConfig, SrtpSession};
use crate::error::Error;
use crate::keying::{SrtpKeyingMaterial, SrtpKeys, SrtpProfile};

/// Two sessions keyed as the two ends of one connection.
pub(crate) fn session_pair(profile: SrtpProfile, config: SrtpConfig) -> (SrtpSession, SrtpSession) {
    let keys = |seed: u8| SrtpKeys {
        master_key: (0..profile.key_len() as u8).map(|i| i ^ seed).collect(),
        master_salt: (0..profile.salt_len() as u8)
            .map(|i| i.wrapping_mul(seed))
            .collect(),
    };
    let (a, b) = (keys(0x5a), keys(0xa7));
    let keying = |local: &SrtpKeys, remote: &SrtpKeys| SrtpKeyingMaterial {
        profile,
        local: local.clone(),
        remote: remote.clone(),
    };
    (
        SrtpSession::new(&keying(&a, &b), config).expect("keys of the profile's lengths"),
        SrtpSession::new(&keying(&b, &a), config).expect("keys of the profile's lengths"),
    )
}

/// Splits fuzz input into packets, each preceded by its length (two bytes, big endian);
/// the last takes whatever is left.
fn packets(mut data: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        if data.len() < 2 {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([data[0], data[1]])).min(data.len() - 2);
        let (packet, rest) = data[2..].split_at(len);
        data = rest;
        Some(packet)
    })
}

fn profile_from(byte: u8) -> SrtpProfile {
    if byte & 1 == 0 {
        SrtpProfile::AeadAes128Gcm
    } else {
        SrtpProfile::Aes128CmHmacSha1_80
    }
}

/// Arbitrary datagrams (each preceded by its length in two bytes) through `unprotect_rtp` and
/// `unprotect_rtcp` of a keyed session, copying and in place; the first byte picks the
/// profile. Nothing may panic, every refusal is counted once, and no output is longer
/// than its input.
///
/// # Panics
///
/// When one of those properties fails: that is the finding.
pub fn fuzz_unprotect(data: &[u8]) {
    let Some((&selector, data)) = data.split_first() else {
        return;
    };
    let (_, mut session) = session_pair(
        profile_from(selector),
        SrtpConfig {
            max_remote_ssrcs: 4,
            max_local_ssrcs: 4,
        },
    );
    let mut out = [0u8; 2048];
    let mut calls = 0u64;
    for datagram in packets(data).filter(|d| d.len() <= 2048) {
        let mut in_place = datagram.to_vec();
        let results = [
            session.unprotect_rtp(datagram, &mut out),
            session.unprotect_rtcp(datagram, &mut out),
            session.unprotect_rtp_in_place(&mut in_place),
            session.unprotect_rtcp_in_place(&mut in_place),
        ];
        calls += 4;
        for len in results.into_iter().flatten() {
            assert!(len <= datagram.len());
        }
    }
    let stats = session.stats();
    let counted = stats.rtp_unprotected
        + stats.rtcp_unprotected
        + stats.auth_failures
        + stats.replays
        + stats.malformed
        + stats.unencrypted_srtcp
        + stats.ssrc_limit_drops;
    assert_eq!(counted, calls);
}

/// Arbitrary packets (each preceded by its length in two bytes) protected by one end and unprotected by
/// the other must come back unchanged, RTP and RTCP; what `protect_*` refuses must be
/// refused as an invalid packet. Bit 0 of the first byte picks the profile; bit 1 makes
/// every packet RTCP instead of RTP. The version bits are forced to 2 so most inputs
/// reach the cipher.
///
/// # Panics
///
/// When a round trip fails or `protect_*` errs otherwise: that is the finding.
pub fn fuzz_round_trip(data: &[u8]) {
    let Some((&selector, data)) = data.split_first() else {
        return;
    };
    let (mut sender, mut receiver) = session_pair(profile_from(selector), SrtpConfig::default());
    let rtcp = selector & 2 != 0;
    let mut wire = [0u8; 2048 + 20];
    let mut plain = [0u8; 2048 + 20];
    for chunk in packets(data).filter(|d| !d.is_empty() && d.len() <= 2048) {
        let mut packet = chunk.to_vec();
        packet[0] = (packet[0] & 0x3f) | 0x80;
        let protected = if rtcp {
            sender.protect_rtcp(&packet, &mut wire)
        } else {
            sender.protect_rtp(&packet, &mut wire)
        };
        let len = match protected {
            Ok(len) => len,
            Err(Error::InvalidPacket(_) | Error::LocalSsrcLimit { .. }) => continue,
            Err(other) => panic!("unexpected protect error {other:?}"),
        };
        let unprotected = if rtcp {
            receiver.unprotect_rtcp(&wire[..len], &mut plain)
        } else {
            receiver.unprotect_rtp(&wire[..len], &mut plain)
        };
        match unprotected {
            Ok(n) => assert_eq!(&plain[..n], &packet[..]),
            // A repeated sequence number of one SSRC is a replay to the receiver.
            Err(Error::Replayed { .. } | Error::RemoteSsrcLimit { .. }) => {}
            Err(other) => panic!("round trip failed: {other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fuzz_bodies_run_on_their_seeds() {
        let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz-seeds/srtp");
        let mut count = 0;
        for entry in std::fs::read_dir(&seeds).expect("seed directory") {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            fuzz_unprotect(&data);
            fuzz_round_trip(&data);
            count += 1;
        }
        assert!(count >= 3, "seeds in {}", seeds.display());
    }

    #[test]
    fn protected_packets_survive_the_unprotect_body() {
        // Real protected packets reach the cipher and authenticate.
        let (mut sender, _) = session_pair(SrtpProfile::AeadAes128Gcm, SrtpConfig::default());
        let mut data = vec![0u8];
        let mut wire = [0u8; 64];
        let rtp = [0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 1, 2, 3];
        let len = sender.protect_rtp(&rtp, &mut wire).unwrap();
        data.extend_from_slice(&(len as u16).to_be_bytes());
        data.extend_from_slice(&wire[..len]);
        fuzz_unprotect(&data);
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..300 {
            let len = (state % 400) as usize;
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 24) as u8
                })
                .collect();
            fuzz_unprotect(&data);
            fuzz_round_trip(&data);
        }
    }
}
