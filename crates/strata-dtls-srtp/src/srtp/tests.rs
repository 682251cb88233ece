//! Sessions against malformed, forged, replayed and flooding input.

use super::fuzzing::session_pair;
use super::*;

/// `Error` holds upstream errors and so has no `PartialEq`: compare debug forms.
macro_rules! assert_same {
    ($left:expr, $right:expr $(, $($message:tt)+)?) => {
        match (&$left, &$right) {
            (left, right) => {
                // Both sides have one type (this also drives inference of `Err(..)`).
                let _same_type = [left, right];
                assert_eq!(format!("{left:?}"), format!("{right:?}") $(, $($message)+)?)
            }
        }
    };
}

const BOTH: [SrtpProfile; 2] = [SrtpProfile::AeadAes128Gcm, SrtpProfile::Aes128CmHmacSha1_80];

fn rtp(ssrc: u32, sequence: u16, payload: &[u8]) -> Vec<u8> {
    let mut packet = vec![0x80, 96];
    packet.extend_from_slice(&sequence.to_be_bytes());
    packet.extend_from_slice(&[0, 0, 0x10, 0]);
    packet.extend_from_slice(&ssrc.to_be_bytes());
    packet.extend_from_slice(payload);
    packet
}

/// A receiver report with one report block's worth of zeros, from `ssrc`.
fn rtcp(ssrc: u32) -> Vec<u8> {
    let mut packet = vec![0x81, 201, 0, 7];
    packet.extend_from_slice(&ssrc.to_be_bytes());
    packet.extend_from_slice(&[0xab; 24]);
    packet
}

fn protect_rtp(session: &mut SrtpSession, packet: &[u8]) -> Vec<u8> {
    let mut out = vec![0; packet.len() + MAX_OVERHEAD];
    let len = session.protect_rtp(packet, &mut out).unwrap();
    out.truncate(len);
    out
}

fn protect_rtcp(session: &mut SrtpSession, packet: &[u8]) -> Vec<u8> {
    let mut out = vec![0; packet.len() + MAX_OVERHEAD];
    let len = session.protect_rtcp(packet, &mut out).unwrap();
    out.truncate(len);
    out
}

fn unprotect_rtp(session: &mut SrtpSession, packet: &[u8]) -> Result<Vec<u8>, Error> {
    let mut buf = packet.to_vec();
    let len = session.unprotect_rtp_in_place(&mut buf)?;
    buf.truncate(len);
    Ok(buf)
}

fn unprotect_rtcp(session: &mut SrtpSession, packet: &[u8]) -> Result<Vec<u8>, Error> {
    let mut out = vec![0; packet.len()];
    let len = session.unprotect_rtcp(packet, &mut out)?;
    out.truncate(len);
    Ok(out)
}

#[test]
fn packets_round_trip_both_ways_in_both_profiles() {
    for profile in BOTH {
        let (mut a, mut b) = session_pair(profile, SrtpConfig::default());
        for sequence in 0..50u16 {
            let packet = rtp(1, sequence, &[sequence as u8; 100]);
            let wire = protect_rtp(&mut a, &packet);
            assert_same!(wire.len(), packet.len() + a.rtp_overhead());
            assert_ne!(
                &wire[12..packet.len()],
                &packet[12..],
                "{profile:?} encrypts"
            );
            assert_same!(unprotect_rtp(&mut b, &wire).unwrap(), packet);
            let back = protect_rtp(&mut b, &packet);
            assert_same!(unprotect_rtp(&mut a, &back).unwrap(), packet);
            let report = rtcp(2);
            let wire = protect_rtcp(&mut a, &report);
            assert_same!(wire.len(), report.len() + a.rtcp_overhead());
            assert_same!(unprotect_rtcp(&mut b, &wire).unwrap(), report);
        }
        assert_same!(b.stats().rtp_unprotected, 50);
        assert_same!(b.stats().rtcp_unprotected, 50);
        assert_same!(a.stats().rtp_protected, 50);
    }
}

#[test]
fn the_rollover_counter_follows_sequence_wrap_and_late_packets_across_it() {
    for profile in BOTH {
        let (mut a, mut b) = session_pair(profile, SrtpConfig::default());
        // 70,000 packets from sequence 65,000: two wraps' worth of indices.
        let wires: Vec<(Vec<u8>, Vec<u8>)> = (0..70_000u32)
            .map(|i| {
                let packet = rtp(7, (65_000 + i) as u16, &i.to_be_bytes());
                (protect_rtp(&mut a, &packet), packet)
            })
            .collect();
        // Delivered with every tenth packet of the first 2,000 swapped with its
        // neighbour, so some arrive late across the wrap.
        let mut order: Vec<usize> = (0..wires.len()).collect();
        for i in (0..2_000).step_by(10) {
            order.swap(i, i + 1);
        }
        for i in order {
            let (wire, packet) = &wires[i];
            assert_same!(
                unprotect_rtp(&mut b, wire).as_ref(),
                Ok(packet),
                "{profile:?} packet {i}"
            );
        }
        assert_same!(b.stats().rtp_unprotected, 70_000);
        assert_same!(b.stats().auth_failures, 0);
    }
}

#[test]
fn short_rtp_packets_are_refused_as_malformed() {
    for profile in BOTH {
        let (mut a, mut b) = session_pair(profile, SrtpConfig::default());
        let wire = protect_rtp(&mut a, &rtp(1, 1, &[]));
        for len in 0..wire.len() {
            let result = unprotect_rtp(&mut b, &wire[..len]);
            assert!(
                matches!(
                    result,
                    Err(Error::MalformedPacket(_) | Error::AuthenticationFailed { .. })
                ),
                "{profile:?} {len}: {result:?}"
            );
        }
        // The packet is header + tag: one byte less never reaches the cipher.
        assert!(matches!(
            unprotect_rtp(&mut b, &wire[..wire.len() - 1]),
            Err(Error::MalformedPacket(PacketError::TooShort { .. }))
        ));
        assert_same!(unprotect_rtp(&mut b, &wire).unwrap(), rtp(1, 1, &[]));
    }
}

#[test]
fn rtp_with_wrong_versions_csrc_counts_or_extension_lengths_is_refused_as_malformed() {
    for profile in BOTH {
        let (mut a, mut b) = session_pair(profile, SrtpConfig::default());
        let good = protect_rtp(&mut a, &rtp(1, 1, &[0; 40]));
        let mutate = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut packet = good.clone();
            f(&mut packet);
            packet
        };
        let cases = [
            (mutate(&|p| p[0] = 0x40), PacketError::Version(1)),
            (mutate(&|p| p[0] = 0x8f), PacketError::CsrcList),
            (
                mutate(&|p| {
                    p[0] = 0x90;
                    p[12..16].copy_from_slice(&[0xbe, 0xde, 0xff, 0xff]);
                }),
                PacketError::HeaderExtension,
            ),
            // An extension ending inside the tag is refused too.
            (
                mutate(&|p| {
                    p[0] = 0x90;
                    p[12..16].copy_from_slice(&[0xbe, 0xde, 0, 10]);
                }),
                PacketError::HeaderExtension,
            ),
        ];
        for (packet, expected) in cases {
            assert_same!(
                unprotect_rtp(&mut b, &packet),
                Err(Error::MalformedPacket(expected)),
                "{profile:?}"
            );
        }
        assert_same!(b.stats().malformed, 4);
        assert_same!(b.remote_rtp_ssrcs(), 0);
    }
}

#[test]
fn authentic_packets_with_bad_padding_are_refused_after_decryption() {
    for profile in BOTH {
        let (mut a, mut b) = session_pair(profile, SrtpConfig::default());
        // Encrypt a padded packet whose count exceeds its payload, below the checks.
        let mut packet = rtp(1, 1, &[0, 0, 9]);
        packet[0] |= 0x20;
        let mut buf = packet.clone();
        buf.resize(packet.len() + a.rtp_overhead(), 0);
        a.outbound.encrypt_rtp(&mut buf, 12, 1, 1);
        assert_same!(
            unprotect_rtp(&mut b, &buf),
            Err(Error::MalformedPacket(PacketError::Padding {
                declared: 9,
                payload: 3
            }))
        );
        // The caller cannot protect such a packet.
        let mut out = [0u8; 64];
        assert!(matches!(
            a.protect_rtp(&packet, &mut out),
            Err(Error::InvalidPacket(PacketError::Padding { .. }))
        ));
    }
}

#[test]
fn srtcp_shorter_than_header_index_and_tag_is_refused_as_malformed() {
    for profile in BOTH {
        let (mut a, mut b) = session_pair(profile, SrtpConfig::default());
        let wire = protect_rtcp(&mut a, &rtcp(3));
        let min = 8 + b.rtcp_overhead();
        for len in 0..min {
            assert!(
                matches!(
                    unprotect_rtcp(&mut b, &wire[..len]),
                    Err(Error::MalformedPacket(PacketError::TooShort { .. }))
                ),
                "{profile:?} {len}"
            );
        }
        // Minimal-length SRTCP with the E flag set reaches the tag check and fails it.
        let mut minimal = vec![0x80, 201, 0, 1, 0, 0, 0, 3];
        minimal.resize(min, 0);
        let at = b.inbound.rtcp_trailer_offset(min);
        minimal[at] = 0x80;
        assert_same!(
            unprotect_rtcp(&mut b, &minimal),
            Err(Error::AuthenticationFailed { ssrc: Ssrc(3) })
        );
        assert_same!(b.stats().malformed, min as u64);
    }
}

#[test]
fn srtcp_with_the_e_flag_cleared_and_a_zero_tag_is_refused() {
    for profile in BOTH {
        let (_, mut b) = session_pair(profile, SrtpConfig::default());
        // What webrtc-srtp's AES-CM path would hand upstream unauthenticated.
        let mut forged = rtcp(0x0bad_cafe);
        forged.extend_from_slice(&[0, 0, 0, 1]); // E = 0, index 1
        forged.resize(forged.len() + b.inbound.rtp_overhead(), 0); // zero tag
        if profile == SrtpProfile::AeadAes128Gcm {
            // GCM puts the index after the tag.
            let len = forged.len();
            forged.copy_within(len - 4 - 16..len - 16, len - 4);
            forged[len - 20..len - 4].fill(0);
        }
        assert_same!(
            unprotect_rtcp(&mut b, &forged),
            Err(Error::UnencryptedSrtcp)
        );
        assert_same!(b.stats().unencrypted_srtcp, 1);
        assert_same!(b.stats().rtcp_unprotected, 0);
    }
}

#[test]
fn srtcp_with_the_e_flag_cleared_is_refused_even_when_otherwise_authentic() {
    for profile in BOTH {
        let (mut a, mut b) = session_pair(profile, SrtpConfig::default());
        let mut wire = protect_rtcp(&mut a, &rtcp(4));
        let at = b.inbound.rtcp_trailer_offset(wire.len());
        wire[at] &= 0x7f;
        assert_same!(unprotect_rtcp(&mut b, &wire), Err(Error::UnencryptedSrtcp));
    }
}

#[test]
fn forged_and_corrupted_packets_fail_authentication_and_leave_the_buffer_untouched() {
    for profile in BOTH {
        let (mut a, mut b) = session_pair(profile, SrtpConfig::default());
        let wire = protect_rtp(&mut a, &rtp(5, 10, &[1; 30]));
        for position in [1, 11, 13, wire.len() - 1] {
            let mut corrupted = wire.clone();
            corrupted[position] ^= 0x04;
            let before = corrupted.clone();
            assert!(matches!(
                b.unprotect_rtp_in_place(&mut corrupted),
                Err(Error::AuthenticationFailed { .. } | Error::Replayed { .. })
            ));
            assert_same!(corrupted, before);
        }
        let rtcp_wire = protect_rtcp(&mut a, &rtcp(5));
        let mut corrupted = rtcp_wire.clone();
        corrupted[10] ^= 1;
        assert_same!(
            unprotect_rtcp(&mut b, &corrupted),
            Err(Error::AuthenticationFailed { ssrc: Ssrc(5) })
        );
        // None of that created state or moved a window: the genuine packets pass.
        assert_same!(b.remote_rtp_ssrcs(), 0);
        assert_same!(unprotect_rtp(&mut b, &wire).unwrap(), rtp(5, 10, &[1; 30]));
        assert_same!(unprotect_rtcp(&mut b, &rtcp_wire).unwrap(), rtcp(5));
        assert!(b.stats().auth_failures >= 4);
    }
}

#[test]
fn replayed_packets_are_refused_and_counted() {
    for profile in BOTH {
        let (mut a, mut b) = session_pair(profile, SrtpConfig::default());
        let first = protect_rtp(&mut a, &rtp(6, 100, &[1]));
        let report = protect_rtcp(&mut a, &rtcp(6));
        unprotect_rtp(&mut b, &first).unwrap();
        unprotect_rtcp(&mut b, &report).unwrap();
        assert_same!(
            unprotect_rtp(&mut b, &first),
            Err(Error::Replayed {
                ssrc: Ssrc(6),
                index: 100
            })
        );
        assert_same!(
            unprotect_rtcp(&mut b, &report),
            Err(Error::Replayed {
                ssrc: Ssrc(6),
                index: 0
            })
        );
        // Move the window past REPLAY_WINDOW packets: an unseen packet that old is
        // refused too.
        let late = protect_rtp(&mut a, &rtp(6, 101, &[2]));
        for sequence in 102..102 + REPLAY_WINDOW as u16 {
            let wire = protect_rtp(&mut a, &rtp(6, sequence, &[3]));
            unprotect_rtp(&mut b, &wire).unwrap();
        }
        assert!(matches!(
            unprotect_rtp(&mut b, &late),
            Err(Error::Replayed { index: 101, .. })
        ));
        assert_same!(b.stats().replays, 3);
    }
}

#[test]
fn a_forged_packet_far_ahead_does_not_move_the_replay_window() {
    for profile in BOTH {
        let (mut a, mut b) = session_pair(profile, SrtpConfig::default());
        unprotect_rtp(&mut b, &protect_rtp(&mut a, &rtp(8, 1000, &[0]))).unwrap();
        let next = protect_rtp(&mut a, &rtp(8, 1001, &[0]));
        // A forgery 30,000 ahead would push 1001 out of the window if it were accepted.
        let mut forged = rtp(8, 31_000, &[0; 8]);
        forged.resize(forged.len() + b.rtp_overhead(), 0);
        assert!(matches!(
            unprotect_rtp(&mut b, &forged),
            Err(Error::AuthenticationFailed { .. })
        ));
        assert!(unprotect_rtp(&mut b, &next).is_ok());
    }
}

#[test]
fn a_flood_of_forged_ssrcs_creates_no_state() {
    let (_, mut b) = session_pair(SrtpProfile::AeadAes128Gcm, SrtpConfig::default());
    for ssrc in 0..10_000 {
        let mut forged = rtp(ssrc, 1, &[0; 20]);
        forged.resize(forged.len() + 16, 0);
        assert!(unprotect_rtp(&mut b, &forged).is_err());
    }
    assert_same!(b.remote_rtp_ssrcs(), 0);
    assert_same!(b.stats().auth_failures, 10_000);
}

#[test]
fn authentic_ssrcs_beyond_the_limit_are_refused_and_counted() {
    let config = SrtpConfig {
        max_remote_ssrcs: 3,
        max_local_ssrcs: 5,
    };
    for profile in BOTH {
        let (mut a, _) = session_pair(profile, config);
        let (_, mut b) = session_pair(profile, config);
        for ssrc in 0..5 {
            let wire = protect_rtp(&mut a, &rtp(ssrc, 1, &[0]));
            let report = protect_rtcp(&mut a, &rtcp(ssrc));
            let expected_ok = ssrc < 3;
            assert_same!(unprotect_rtp(&mut b, &wire).is_ok(), expected_ok);
            assert_same!(unprotect_rtcp(&mut b, &report).is_ok(), expected_ok);
            if !expected_ok {
                assert_same!(
                    unprotect_rtp(&mut b, &wire),
                    Err(Error::RemoteSsrcLimit { ssrc: Ssrc(ssrc) })
                );
            }
        }
        assert_same!(b.remote_rtp_ssrcs(), 3);
        assert_same!(b.stats().ssrc_limit_drops, 6);
        // Known SSRCs keep flowing.
        let wire = protect_rtp(&mut a, &rtp(1, 2, &[0]));
        assert!(unprotect_rtp(&mut b, &wire).is_ok());
        // Removing one frees its slot.
        assert!(b.remove_remote_ssrc(Ssrc(0)));
        let wire = protect_rtp(&mut a, &rtp(4, 2, &[0]));
        assert!(unprotect_rtp(&mut b, &wire).is_ok());
        // Locally, the sixth SSRC is a caller error.
        let mut out = [0u8; 64];
        assert_same!(
            a.protect_rtp(&rtp(5, 1, &[0]), &mut out),
            Err(Error::LocalSsrcLimit { ssrc: Ssrc(5) })
        );
    }
}

#[test]
fn buffers_too_small_are_caller_errors_and_change_nothing() {
    let (mut a, mut b) = session_pair(SrtpProfile::AeadAes128Gcm, SrtpConfig::default());
    let packet = rtp(9, 1, &[0; 10]);
    let mut small = vec![0; packet.len() + 15];
    assert_same!(
        a.protect_rtp(&packet, &mut small),
        Err(Error::BufferTooSmall {
            len: packet.len() + 15,
            needed: packet.len() + 16
        })
    );
    assert_same!(a.stats().rtp_protected, 0);
    let wire = protect_rtp(&mut a, &packet);
    let mut short = vec![0; wire.len() - 1];
    assert!(matches!(
        b.unprotect_rtp(&wire, &mut short),
        Err(Error::BufferTooSmall { .. })
    ));
    assert_same!(b.stats(), SrtpStats::default());
    assert!(unprotect_rtp(&mut b, &wire).is_ok());
}

#[test]
fn keys_of_the_wrong_length_are_refused() {
    let keys = SrtpKeys {
        master_key: vec![0; 16],
        master_salt: vec![0; 14],
    };
    let keying = SrtpKeyingMaterial {
        profile: SrtpProfile::AeadAes128Gcm,
        local: keys.clone(),
        remote: keys,
    };
    assert!(matches!(
        SrtpSession::new(&keying, SrtpConfig::default()),
        Err(Error::SrtpKeyLength {
            profile: SrtpProfile::AeadAes128Gcm
        })
    ));
}

#[test]
fn malformed_rtcp_compounds_are_refused_both_ways() {
    for profile in BOTH {
        let (mut a, mut b) = session_pair(profile, SrtpConfig::default());
        // The caller's compound with a length running past its end.
        let mut bad = rtcp(1);
        bad[3] = 20;
        let mut out = [0u8; 128];
        assert_same!(
            a.protect_rtcp(&bad, &mut out),
            Err(Error::InvalidPacket(PacketError::RtcpLength))
        );
        // An authentic SRTCP packet whose plaintext does not tile.
        let mut buf = bad.clone();
        buf.resize(bad.len() + a.rtcp_overhead(), 0);
        a.outbound.encrypt_rtcp(&mut buf, 1, 0);
        assert_same!(
            unprotect_rtcp(&mut b, &buf),
            Err(Error::MalformedPacket(PacketError::RtcpLength))
        );
    }
}

#[test]
fn a_sender_refuses_indices_from_before_its_first_packet() {
    let (mut a, _) = session_pair(SrtpProfile::AeadAes128Gcm, SrtpConfig::default());
    protect_rtp(&mut a, &rtp(1, 10, &[]));
    let mut out = [0u8; 64];
    assert_same!(
        a.protect_rtp(&rtp(1, 40_000, &[]), &mut out),
        Err(Error::InvalidPacket(PacketError::SequenceBeforeStart))
    );
}

#[test]
fn header_extensions_are_authenticated_as_they_are_on_the_wire() {
    // A one-byte-header block with the reserved ID 15 (parsers stop there) and an element
    // whose length runs past the block: opaque to SRTP, authenticated byte for byte.
    for profile in BOTH {
        let (mut a, mut b) = session_pair(profile, SrtpConfig::default());
        let mut packet = rtp(1, 1, &[]);
        packet[0] |= 0x10;
        packet.extend_from_slice(&[0xbe, 0xde, 0, 2, 0xf3, 1, 2, 3, 0x1f, 9, 9, 9]);
        packet.extend_from_slice(b"payload");
        let wire = protect_rtp(&mut a, &packet);
        assert_same!(&wire[..24], &packet[..24]);
        assert_same!(unprotect_rtp(&mut b, &wire).unwrap(), packet);
        // Any change to the extension fails authentication.
        let (mut a, mut b) = session_pair(profile, SrtpConfig::default());
        let mut wire = protect_rtp(&mut a, &packet);
        wire[21] ^= 1;
        assert!(matches!(
            unprotect_rtp(&mut b, &wire),
            Err(Error::AuthenticationFailed { .. })
        ));
    }
}
