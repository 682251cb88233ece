//! SRTP sessions keyed from a real DTLS handshake over real ICE on loopback exchange
//! protected RTP and RTCP both ways through the agents' media channels.

use strata_dtls_srtp::srtp::{MAX_OVERHEAD, SrtpConfig, SrtpSession, is_rtcp};
use strata_dtls_srtp::{SrtpProfile, handshake};
use strata_ice::PacketChannel;
use strata_interop::netns::run_isolated;

mod loopback;
use loopback::{BOTH, PATIENCE, configs, ice_pair};

const PACKETS: u16 = 200;

fn rtp(ssrc: u32, sequence: u16) -> Vec<u8> {
    let mut packet = vec![0x80, 111];
    packet.extend_from_slice(&sequence.to_be_bytes());
    packet.extend_from_slice(&(u32::from(sequence) * 960).to_be_bytes());
    packet.extend_from_slice(&ssrc.to_be_bytes());
    packet.extend((0..160).map(|i| (i as u16 ^ sequence) as u8));
    packet
}

fn receiver_report(ssrc: u32) -> Vec<u8> {
    let mut packet = vec![0x80, 201, 0, 1];
    packet.extend_from_slice(&ssrc.to_be_bytes());
    packet
}

/// Sends `PACKETS` RTP packets (sequence numbers wrapping) and one RTCP report, each
/// protected by `session`.
async fn send_media(session: &mut SrtpSession, channel: &PacketChannel, ssrc: u32) {
    let mut wire = vec![0u8; 1500];
    for n in 0..PACKETS {
        let len = session
            .protect_rtp(&rtp(ssrc, n.wrapping_sub(100)), &mut wire)
            .unwrap();
        channel.send(&wire[..len]).await.unwrap();
    }
    let len = session
        .protect_rtcp(&receiver_report(ssrc), &mut wire)
        .unwrap();
    channel.send(&wire[..len]).await.unwrap();
}

/// Receives until the RTCP report arrives; returns the RTP packets unprotected. Loopback
/// loses nothing, but tolerate loss: the test asserts on what arrived.
async fn receive_media(session: &mut SrtpSession, channel: &PacketChannel, ssrc: u32) -> usize {
    let mut received = 0;
    loop {
        let datagram = tokio::time::timeout(PATIENCE, channel.recv())
            .await
            .expect("media arrives")
            .expect("agent open");
        let mut buf = datagram.to_vec();
        if is_rtcp(&buf) {
            let len = session.unprotect_rtcp_in_place(&mut buf).unwrap();
            assert_eq!(&buf[..len], &receiver_report(ssrc)[..]);
            return received;
        }
        let len = session.unprotect_rtp_in_place(&mut buf).unwrap();
        let sequence = u16::from_be_bytes([buf[2], buf[3]]);
        assert_eq!(&buf[..len], &rtp(ssrc, sequence)[..]);
        received += 1;
    }
}

#[test]
fn srtp_keyed_by_dtls_carries_rtp_and_rtcp_both_ways_in_each_profile() {
    run_isolated(|| async {
        for profiles in [BOTH, &[SrtpProfile::Aes128CmHmacSha1_80][..]] {
            let (ice_a, ice_b) = ice_pair().await;
            let (client, server) = configs(profiles, BOTH);
            let (a, b) = tokio::try_join!(
                handshake(ice_a.dtls_channel(), client),
                handshake(ice_b.dtls_channel(), server)
            )
            .unwrap();
            let (keys_a, keys_b) = (a.srtp_keying().unwrap(), b.srtp_keying().unwrap());
            assert_eq!(keys_a.profile, profiles[0]);
            let mut session_a = SrtpSession::new(keys_a, SrtpConfig::default()).unwrap();
            let mut session_b = SrtpSession::new(keys_b, SrtpConfig::default()).unwrap();
            assert!(session_a.rtcp_overhead() <= MAX_OVERHEAD);
            let (media_a, media_b) = (ice_a.media_channel(), ice_b.media_channel());

            let ((), received_by_b) = tokio::join!(
                send_media(&mut session_a, &media_a, 0xa1),
                receive_media(&mut session_b, &media_b, 0xa1),
            );
            let ((), received_by_a) = tokio::join!(
                send_media(&mut session_b, &media_b, 0xb2),
                receive_media(&mut session_a, &media_a, 0xb2),
            );
            assert!(received_by_b > 0 && received_by_a > 0);
            for session in [&session_a, &session_b] {
                let stats = session.stats();
                assert_eq!(stats.rtp_protected, u64::from(PACKETS));
                assert_eq!(stats.rtcp_unprotected, 1);
                assert_eq!(stats.auth_failures + stats.malformed + stats.replays, 0);
            }
            ice_a.close().await;
            ice_b.close().await;
        }
    });
}
