//! A peer that keyed SRTP honestly then sends hostile media: malformed SRTP and SRTCP
//! (short, wrong lengths, bad header extensions, the E bit cleared with a zero tag),
//! RTCP whose counts lie, and a flood of random SSRCs. Strata counts and drops all of it,
//! its track from that peer still works, nothing panics, memory stays bounded, and a
//! healthy connection in the same process delivers its data and video intact.

mod hostile;
mod peers;

use hostile::peer::{SSRC, VP8, connect_dtls, rtp};
use hostile::{Healthy, Memory, PanicWatch};
use peers::loopback;
use peers::media::{next_sample, next_sample_within};
use rand::{Rng, SeedableRng};
use std::time::Duration;
use strata::PeerConnectionState;
use strata_interop::netns::run_isolated;

/// Packets with random SSRCs in the flood.
const SSRC_FLOOD: u32 = 10_000;
/// Growth of the resident set the test allows (the whole process: the healthy pair's
/// transfer, the victim and the hostile peer; measured about 13 MiB).
const MEMORY_BOUND_MIB: u64 = 96;

/// A one-packet VP8 keyframe on the announced SSRC (`content` starts with an even byte:
/// the P bit of RFC 7741 §4.3 clear).
fn keyframe(seq: u16, content: &[u8]) -> Vec<u8> {
    rtp(VP8, true, seq, SSRC, &[&[0x10][..], content].concat())
}

#[test]
#[allow(clippy::too_many_lines)] // one case, told in order
fn malformed_srtp_srtcp_lying_rtcp_and_an_ssrc_flood_are_counted_and_dropped() {
    let panics = PanicWatch::install();
    run_isolated(|| async {
        let mut memory = Memory::start();
        let healthy = Healthy::connect(true).await.start();
        let (mut victim, mut hostile) = connect_dtls(loopback()).await;

        // One honest frame first, so the track exists.
        hostile.send_rtp(&keyframe(1, b"first")).await;
        let track = victim.next_track().await;
        assert_eq!(&next_sample(&track).await.data[..], b"first");

        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut raw_sent = 0u64;
        // Short datagrams in the RTP/RTCP range: shorter than any header or tag.
        for len in 1..=20 {
            let mut datagram = vec![0x80; len];
            if len > 1 {
                datagram[1] = if len % 2 == 0 { 200 } else { VP8 };
            }
            hostile.send_raw(&datagram).await;
            raw_sent += 1;
        }
        // Wrong lengths: fifteen CSRCs announced in a 20-byte packet; an extension whose
        // length runs past the end; an SRTCP length field larger than the packet.
        for datagram in [
            [&[0x8F, VP8, 0, 9][..], &[0; 16]].concat(),
            [
                &[0x90, VP8, 0, 9, 0, 0, 0, 0][..],
                &SSRC.to_be_bytes(),
                &[0xBE, 0xDE, 0x40, 0x00],
                &[0; 8],
            ]
            .concat(),
            [&[0x80, 200, 0x10, 0x00][..], &SSRC.to_be_bytes(), &[0; 24]].concat(),
        ] {
            hostile.send_raw(&datagram).await;
            raw_sent += 1;
        }
        // SRTCP with the E bit cleared and an all-zero tag (RFC 3711 §3.4: unencrypted
        // SRTCP is still authenticated; a zero tag authenticates nothing).
        for index in 1u32..=50 {
            let mut datagram = vec![0x81, 201, 0, 1];
            datagram.extend_from_slice(&SSRC.to_be_bytes());
            datagram.extend_from_slice(&index.to_be_bytes()); // E = 0
            datagram.extend_from_slice(&[0; 16]);
            hostile.send_raw(&datagram).await;
            raw_sent += 1;
        }
        // Random bytes in the RTP/RTCP range.
        for _ in 0..300 {
            let len = rng.random_range(12..600);
            let mut datagram: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            datagram[0] = 0x80 | (datagram[0] & 0x3F);
            hostile.send_raw(&datagram).await;
            raw_sent += 1;
        }

        // Correctly protected, malformed inside. Header extensions: a one-byte element
        // claiming 16 bytes in a 4-byte block; a two-byte element claiming 255; an
        // extension block of the reserved profile.
        let mut protected_bad = 0u64;
        for (seq, extension) in [
            (2u16, vec![0xBE, 0xDE, 0, 1, 0x1F, 1, 2, 3]),
            (3, vec![0x10, 0x00, 0, 1, 1, 255, 0, 0]),
            (4, vec![0xFF, 0xFF, 0, 1, 1, 2, 3, 4]),
        ] {
            let mut packet = rtp(VP8, true, seq, SSRC, &[]);
            packet[0] |= 0x10;
            packet.extend_from_slice(&extension);
            packet.extend_from_slice(&[0x10, 0xAA]);
            hostile.send_rtp(&packet).await;
            protected_bad += 1;
        }
        // RTCP whose counts lie: a receiver report announcing 31 blocks and carrying
        // none; a sender report announcing 5; SDES announcing 31 chunks; BYE announcing
        // 31 sources; a generic NACK with no FCI; transport-wide feedback announcing
        // 65535 packet statuses with none.
        let lying: [Vec<u8>; 6] = [
            [&[0x9F, 201, 0, 1][..], &SSRC.to_be_bytes()].concat(),
            [&[0x85, 200, 0, 6][..], &SSRC.to_be_bytes(), &[0; 20]].concat(),
            [&[0x9F, 202, 0, 1][..], &SSRC.to_be_bytes()].concat(),
            [&[0x9F, 203, 0, 1][..], &SSRC.to_be_bytes()].concat(),
            [
                &[0x81, 205, 0, 2][..],
                &SSRC.to_be_bytes(),
                &SSRC.to_be_bytes(),
            ]
            .concat(),
            [
                &[0x8F, 205, 0, 4][..],
                &SSRC.to_be_bytes(),
                &SSRC.to_be_bytes(),
                &[0, 1, 0xFF, 0xFF, 0, 0, 0, 0],
            ]
            .concat(),
        ];
        for packet in &lying {
            hostile.send_rtcp(packet).await;
            protected_bad += 1;
        }

        // A flood of correctly protected packets from random SSRCs.
        for i in 0..SSRC_FLOOD {
            let ssrc = rng.random::<u32>() | 1;
            let seq = u16::try_from(i % 60_000).unwrap();
            hostile
                .send_rtp(&rtp(VP8, false, seq, ssrc, &[0x11, 0, 0, 0]))
                .await;
            if i % 500 == 0 {
                memory.sample();
                tokio::task::yield_now().await;
            }
        }

        // The honest track still works: the frame after all of it arrives.
        // Sent until it arrives: the flood may still fill the victim's bounded media
        // lane, which drops (and counts) what does not fit.
        tokio::time::timeout(peers::PATIENCE, async {
            for seq in 5.. {
                hostile.send_rtp(&keyframe(seq, b"later")).await;
                while let Some(sample) =
                    next_sample_within(&track, Duration::from_millis(300)).await
                {
                    if &sample.data[..] == b"later" {
                        return;
                    }
                }
            }
        })
        .await
        .expect("the honest frame after the flood arrives");

        let stats = victim
            .pc
            .stats()
            .await
            .expect("the victim's driver is alive");
        let srtp = stats.srtp.expect("SRTP keyed");
        let refused = srtp.auth_failures + srtp.malformed + srtp.replays + srtp.unencrypted_srtcp;
        assert!(refused >= raw_sent * 9 / 10, "{srtp:?}");
        assert!(srtp.unencrypted_srtcp >= 50, "{srtp:?}");
        assert!(
            srtp.ssrc_limit_drops + stats.ice.queue_dropped >= u64::from(SSRC_FLOOD) - 256,
            "SSRC state stays bounded: {srtp:?} {:?}",
            stats.ice
        );
        let media = &stats.media;
        assert!(
            media.malformed_rtp + media.malformed_rtcp + media.malformed_payloads
                >= protected_bad - 3,
            "{media:?}"
        );
        assert!(media.malformed_rtcp >= 4, "{media:?}");
        assert!(
            media.inbound.len() <= strata_media::MAX_REMOTE_SSRCS,
            "{media:?}"
        );
        assert_eq!(victim.pc.connection_state(), PeerConnectionState::Connected);

        healthy.finish().await;
        memory.assert_growth_below("hostile media", MEMORY_BOUND_MIB);
        victim.pc.close().await;
    });
    panics.assert_none();
}
