//! Our SRTP sessions against `webrtc-srtp` 0.17.2: what one protects the other
//! unprotects, RTP and RTCP, both profiles, across sequence wraps (ROC changes).

use strata_dtls_srtp::srtp::{MAX_OVERHEAD, SrtpConfig, SrtpSession};
use strata_dtls_srtp::{SrtpKeyingMaterial, SrtpKeys, SrtpProfile};
use webrtc_srtp::context::Context;
use webrtc_srtp::protection_profile::ProtectionProfile;

const PROFILES: [(SrtpProfile, ProtectionProfile); 2] = [
    (SrtpProfile::AeadAes128Gcm, ProtectionProfile::AeadAes128Gcm),
    (
        SrtpProfile::Aes128CmHmacSha1_80,
        ProtectionProfile::Aes128CmHmacSha1_80,
    ),
];

fn keys(profile: SrtpProfile, seed: u8) -> SrtpKeys {
    SrtpKeys {
        master_key: (0..16).map(|i: u8| i.wrapping_mul(31) ^ seed).collect(),
        master_salt: (0..profile.salt_len() as u8)
            .map(|i| i.wrapping_mul(7) ^ seed)
            .collect(),
    }
}

/// Our session (keys `ours` out, `theirs` in) and webrtc-srtp's two contexts for the
/// other end (encrypting with `theirs`, decrypting with `ours`).
fn endpoints(profile: SrtpProfile, upstream: ProtectionProfile) -> (SrtpSession, Context, Context) {
    let (ours, theirs) = (keys(profile, 0x11), keys(profile, 0xe2));
    let session = SrtpSession::new(
        &SrtpKeyingMaterial {
            profile,
            local: ours.clone(),
            remote: theirs.clone(),
        },
        SrtpConfig::default(),
    )
    .unwrap();
    let context = |keys: &SrtpKeys| {
        Context::new(&keys.master_key, &keys.master_salt, upstream, None, None).unwrap()
    };
    (session, context(&theirs), context(&ours))
}

/// RTP packets of one SSRC from `first_sequence` on, varying in shape: plain, with CSRCs,
/// with a one-byte header extension, padded, empty payload, 1200-byte payload.
fn rtp(ssrc: u32, sequence: u16, n: u32) -> Vec<u8> {
    let shape = n % 6;
    // Payload type 96, with the marker bit on every 30th packet.
    let marker = if n.is_multiple_of(30) { 0x80 } else { 0 };
    let mut packet = vec![0x80, marker + 96];
    packet.extend_from_slice(&sequence.to_be_bytes());
    packet.extend_from_slice(&(n * 960).to_be_bytes());
    packet.extend_from_slice(&ssrc.to_be_bytes());
    match shape {
        1 => {
            packet[0] |= 2;
            packet.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]);
        }
        2 => {
            packet[0] |= 0x10;
            packet.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x11, n as u8, (n >> 8) as u8, 0]);
        }
        _ => {}
    }
    let payload_len = match shape {
        4 => 0,
        5 => 1200,
        _ => 20 + (n % 97) as usize,
    };
    packet.extend((0..payload_len).map(|i| (i as u32 ^ n) as u8));
    if shape == 3 {
        packet[0] |= 0x20;
        packet.extend_from_slice(&[0, 0, 3]);
    }
    packet
}

/// A compound RTCP packet: a receiver report with one block, then an SDES-sized filler.
fn rtcp(ssrc: u32, n: u32) -> Vec<u8> {
    let mut packet = vec![0x81, 201, 0, 7];
    packet.extend_from_slice(&ssrc.to_be_bytes());
    packet.extend((0..24).map(|i| (i ^ n) as u8));
    packet.extend_from_slice(&[0x81, 202, 0, 2]);
    packet.extend_from_slice(&ssrc.to_be_bytes());
    packet.extend_from_slice(&[1, 2, b'h', b'i']);
    packet
}

/// Packets per stream and direction.
const PACKETS: u32 = 6_000;

/// The sequence number of a stream's `n`th packet: consecutive, except that every 100th
/// packet jumps 20,000 ahead (a burst of loss), so the stream crosses about 18 wraps and
/// as many rollover-counter changes in a few thousand packets. It starts just below the
/// first wrap.
fn sequence(n: u32) -> u16 {
    (65_000 + n + (n / 100) * 20_000) as u16
}

#[test]
fn webrtc_srtp_unprotects_what_we_protect_across_sequence_wraps() {
    for (profile, upstream) in PROFILES {
        let (mut ours, _, mut their_decrypt) = endpoints(profile, upstream);
        let mut wire = vec![0u8; 1500 + MAX_OVERHEAD];
        for n in 0..PACKETS {
            let packet = rtp(0xcafe, sequence(n), n);
            let len = ours.protect_rtp(&packet, &mut wire).unwrap();
            let plain = their_decrypt
                .decrypt_rtp(&wire[..len])
                .unwrap_or_else(|e| panic!("{profile:?} packet {n}: {e}"));
            assert_eq!(&plain[..], &packet[..], "{profile:?} packet {n}");
        }
        for n in 0..2_000 {
            let packet = rtcp(0xcafe, n);
            let len = ours.protect_rtcp(&packet, &mut wire).unwrap();
            let plain = their_decrypt
                .decrypt_rtcp(&wire[..len])
                .unwrap_or_else(|e| panic!("{profile:?} RTCP {n}: {e}"));
            assert_eq!(&plain[..], &packet[..], "{profile:?} RTCP {n}");
        }
    }
}

#[test]
fn we_unprotect_what_webrtc_srtp_protects_across_sequence_wraps() {
    for (profile, upstream) in PROFILES {
        let (mut ours, mut their_encrypt, _) = endpoints(profile, upstream);
        let mut plain = vec![0u8; 1500 + MAX_OVERHEAD];
        for n in 0..PACKETS {
            let packet = rtp(0xbeef, sequence(n), n);
            let wire = their_encrypt.encrypt_rtp(&packet).unwrap();
            let len = ours
                .unprotect_rtp(&wire, &mut plain)
                .unwrap_or_else(|e| panic!("{profile:?} packet {n}: {e}"));
            assert_eq!(&plain[..len], &packet[..], "{profile:?} packet {n}");
        }
        for n in 0..2_000 {
            let packet = rtcp(0xbeef, n);
            let wire = their_encrypt.encrypt_rtcp(&packet).unwrap();
            let len = ours
                .unprotect_rtcp(&wire, &mut plain)
                .unwrap_or_else(|e| panic!("{profile:?} RTCP {n}: {e}"));
            assert_eq!(&plain[..len], &packet[..], "{profile:?} RTCP {n}");
        }
        let stats = ours.stats();
        assert_eq!(stats.rtp_unprotected, u64::from(PACKETS));
        assert_eq!(stats.rtcp_unprotected, 2_000);
    }
}

#[test]
fn several_ssrcs_interleaved_and_reordered_cross_check_both_ways() {
    for (profile, upstream) in PROFILES {
        let (mut ours, mut their_encrypt, mut their_decrypt) = endpoints(profile, upstream);
        let mut buf = vec![0u8; 1500 + MAX_OVERHEAD];
        // Theirs → ours, three SSRCs, each wrapping, delivered in groups of six
        // reversed (each SSRC's packets two apart swap places).
        let mut sent = Vec::new();
        for n in 0..3 * PACKETS {
            let ssrc = 100 + n % 3;
            let packet = rtp(ssrc, sequence(n / 3), n);
            sent.push((their_encrypt.encrypt_rtp(&packet).unwrap(), packet));
        }
        for pair in sent.chunks(6) {
            for (wire, packet) in pair.iter().rev() {
                let len = ours.unprotect_rtp(wire, &mut buf).unwrap();
                assert_eq!(&buf[..len], &packet[..]);
            }
        }
        // Ours → theirs, the same SSRCs in the other direction.
        for n in 0..3 * PACKETS {
            let ssrc = 100 + n % 3;
            let packet = rtp(ssrc, sequence(n / 3).wrapping_add(7_000), n);
            let len = ours.protect_rtp(&packet, &mut buf).unwrap();
            assert_eq!(
                &their_decrypt.decrypt_rtp(&buf[..len]).unwrap()[..],
                &packet[..]
            );
        }
    }
}
