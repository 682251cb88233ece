//! SRTP protect + unprotect of one 1200-byte RTP packet, both profiles: our session,
//! `webrtc-srtp` 0.17.2's contexts, and (for GCM) the raw `aes-gcm` cipher encrypting and
//! decrypting the same payload in place, the floor any SRTP layer sits on. One iteration
//! is one packet through both ends.

use std::hint::black_box;

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes128Gcm, KeyInit, Nonce};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use strata_dtls_srtp::srtp::{MAX_OVERHEAD, SrtpConfig, SrtpSession};
use strata_dtls_srtp::{SrtpKeyingMaterial, SrtpKeys, SrtpProfile};
use webrtc_srtp::context::Context;
use webrtc_srtp::protection_profile::ProtectionProfile;

const PAYLOAD: usize = 1200;

fn keys(profile: SrtpProfile, seed: u8) -> SrtpKeys {
    SrtpKeys {
        master_key: vec![seed; 16],
        master_salt: vec![seed ^ 0x5a; profile.salt_len()],
    }
}

/// A 1200-byte payload behind a 12-byte header.
fn packet(sequence: u16) -> Vec<u8> {
    let mut packet = vec![0x80, 96];
    packet.extend_from_slice(&sequence.to_be_bytes());
    packet.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0x12, 0x34]);
    packet.resize(12 + PAYLOAD, 0xa5);
    packet
}

fn protect_unprotect(c: &mut Criterion) {
    let mut group = c.benchmark_group("srtp_1200B_protect_unprotect");
    group.throughput(Throughput::Elements(1));
    for (name, profile, upstream) in [
        (
            "aead-aes-128-gcm",
            SrtpProfile::AeadAes128Gcm,
            ProtectionProfile::AeadAes128Gcm,
        ),
        (
            "aes-128-cm-hmac-sha1-80",
            SrtpProfile::Aes128CmHmacSha1_80,
            ProtectionProfile::Aes128CmHmacSha1_80,
        ),
    ] {
        let (a, b) = (keys(profile, 1), keys(profile, 2));
        let keying = |local: &SrtpKeys, remote: &SrtpKeys| SrtpKeyingMaterial {
            profile,
            local: local.clone(),
            remote: remote.clone(),
        };
        let mut sender = SrtpSession::new(&keying(&a, &b), SrtpConfig::default()).unwrap();
        let mut receiver = SrtpSession::new(&keying(&b, &a), SrtpConfig::default()).unwrap();
        let mut plain = packet(0);
        let mut wire = vec![0u8; plain.len() + MAX_OVERHEAD];
        let mut sequence = 0u16;
        group.bench_function(format!("strata/{name}"), |bench| {
            bench.iter(|| {
                sequence = sequence.wrapping_add(1);
                plain[2..4].copy_from_slice(&sequence.to_be_bytes());
                let len = sender.protect_rtp(black_box(&plain), &mut wire).unwrap();
                let n = receiver.unprotect_rtp_in_place(&mut wire[..len]).unwrap();
                black_box(&wire[..n]);
            });
        });

        let mut encrypt =
            Context::new(&a.master_key, &a.master_salt, upstream, None, None).unwrap();
        let mut decrypt =
            Context::new(&a.master_key, &a.master_salt, upstream, None, None).unwrap();
        let mut plain = packet(0);
        let mut sequence = 0u16;
        group.bench_function(format!("webrtc-srtp/{name}"), |bench| {
            bench.iter(|| {
                sequence = sequence.wrapping_add(1);
                plain[2..4].copy_from_slice(&sequence.to_be_bytes());
                let protected = encrypt.encrypt_rtp(black_box(&plain)).unwrap();
                black_box(decrypt.decrypt_rtp(&protected).unwrap());
            });
        });
    }

    // The cipher alone: AES-128-GCM over the same payload with the header as AAD, in
    // place, encrypt then decrypt.
    let cipher = Aes128Gcm::new(&[7u8; 16].into());
    let mut plain = packet(0);
    let mut nonce = [0u8; 12];
    let mut counter = 0u64;
    group.bench_function("aes-gcm-cipher/aead-aes-128-gcm", |bench| {
        bench.iter(|| {
            counter += 1;
            nonce[4..].copy_from_slice(&counter.to_be_bytes());
            let (header, payload) = plain.split_at_mut(12);
            let tag = cipher
                .encrypt_in_place_detached(Nonce::from_slice(&nonce), header, payload)
                .unwrap();
            cipher
                .decrypt_in_place_detached(Nonce::from_slice(&nonce), header, payload, &tag)
                .unwrap();
            black_box(&plain);
        });
    });
    group.finish();
}

criterion_group!(benches, protect_unprotect);
criterion_main!(benches);
