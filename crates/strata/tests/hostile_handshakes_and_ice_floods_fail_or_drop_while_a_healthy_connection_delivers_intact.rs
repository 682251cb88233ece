//! Peers that connect ICE honestly and then stop the DTLS handshake halfway (silent, or
//! one fragment of a `ServerHello` that never completes) leave Strata's connection
//! `Failed` after the handshake timeout; a flood of STUN binding requests with wrong
//! credentials from hundreds of addresses is dropped while the connection stays up.
//! Nothing panics, memory stays bounded, and a healthy connection in the same process
//! delivers its data and video intact.

mod hostile;
mod peers;

use std::time::Duration;

use hostile::peer::{SSRC, VP8, Victim, connect_dtls, connect_ice, rtp};
use hostile::{Healthy, Memory, PanicWatch};
use peers::loopback;
use peers::media::next_sample;
use rand::{Rng, SeedableRng};
use strata::{Configuration, PeerConnectionState};
use strata_interop::netns::run_isolated;
use tokio::net::UdpSocket;

/// The victims' DTLS handshake timeout: short, so the test does not wait long.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);
/// Source sockets in the STUN flood, and requests from each.
const FLOOD_SOURCES: usize = 200;
const FLOOD_PER_SOURCE: usize = 50;
/// Growth of the resident set each test allows (measured 9 to 12 MiB).
const MEMORY_BOUND_MIB: u64 = 96;

fn victim_config() -> Configuration {
    Configuration {
        dtls_handshake_timeout: HANDSHAKE_TIMEOUT,
        ..loopback()
    }
}

/// A DTLS 1.2 handshake record (RFC 6347 §4.1, §4.2.2) carrying the first `carried`
/// bytes of a `ServerHello` that claims `claimed` bytes: a fragment whose rest never comes.
fn server_hello_fragment(claimed: u32, carried: usize) -> Vec<u8> {
    let mut handshake = vec![2]; // server_hello
    handshake.extend_from_slice(&claimed.to_be_bytes()[1..]);
    handshake.extend_from_slice(&[0, 0]); // message_seq
    handshake.extend_from_slice(&[0, 0, 0]); // fragment_offset
    handshake.extend_from_slice(&u32::try_from(carried).unwrap().to_be_bytes()[1..]);
    let mut body = vec![0xFE, 0xFD];
    body.resize(carried, 0x42);
    handshake.extend_from_slice(&body);
    let mut record = vec![22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0];
    record.extend_from_slice(&u16::try_from(handshake.len()).unwrap().to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

async fn wait_failed(victim: &mut Victim) {
    victim.wait_for(|s| s == PeerConnectionState::Failed).await;
    let stats = victim
        .pc
        .stats()
        .await
        .expect("the victim's driver is alive");
    assert!(stats.dtls.is_none(), "no DTLS transport: {stats:?}");
    assert!(stats.srtp.is_none(), "no SRTP keys: {stats:?}");
}

#[test]
fn dtls_handshakes_that_stop_halfway_fail_the_connection_after_the_timeout() {
    let panics = PanicWatch::install();
    run_isolated(|| async {
        let mut memory = Memory::start();
        let healthy = Healthy::connect(true).await.start();

        // A peer that says nothing after ICE.
        let (mut silent, silent_peer) = connect_ice(victim_config()).await;
        // A peer that answers the ClientHello with a fragment and then nothing.
        let (mut stalling, stalling_peer) = connect_ice(victim_config()).await;
        let dtls = stalling_peer.agent.dtls_channel();
        let hello = tokio::time::timeout(peers::PATIENCE, dtls.recv())
            .await
            .expect("a ClientHello within the patience bound")
            .expect("the DTLS lane is open");
        assert_eq!(hello[0], 22, "a handshake record");
        dtls.send(&server_hello_fragment(300, 60)).await.unwrap();

        wait_failed(&mut silent).await;
        wait_failed(&mut stalling).await;
        healthy.finish().await;
        memory.assert_growth_below("stalled DTLS handshakes", MEMORY_BOUND_MIB);
        for victim in [silent, stalling] {
            tokio::time::timeout(peers::PATIENCE, victim.pc.close())
                .await
                .expect("a failed connection closes promptly");
        }
        drop((silent_peer, stalling_peer));
    });
    panics.assert_none();
}

/// A STUN Binding request (RFC 8489 §5) with `attributes` already encoded.
fn binding_request(rng: &mut impl Rng, attributes: &[u8]) -> Vec<u8> {
    let mut message = vec![0x00, 0x01];
    message.extend_from_slice(&u16::try_from(attributes.len()).unwrap().to_be_bytes());
    message.extend_from_slice(&0x2112_A442u32.to_be_bytes());
    message.extend_from_slice(&rng.random::<[u8; 12]>());
    message.extend_from_slice(attributes);
    message
}

/// One STUN attribute, padded to four bytes.
fn attribute(kind: u16, value: &[u8]) -> Vec<u8> {
    let mut out = kind.to_be_bytes().to_vec();
    out.extend_from_slice(&u16::try_from(value.len()).unwrap().to_be_bytes());
    out.extend_from_slice(value);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    out
}

#[test]
fn a_binding_flood_with_wrong_credentials_is_dropped_and_the_connection_stays_up() {
    let panics = PanicWatch::install();
    run_isolated(|| async {
        let mut memory = Memory::start();
        let healthy = Healthy::connect(true).await.start();
        let (mut victim, mut hostile) = connect_dtls(loopback()).await;

        let stats = victim
            .pc
            .stats()
            .await
            .expect("the victim's driver is alive");
        let pair = stats.selected_pair.expect("a selected pair");
        let target = format!("{}:{}", pair.local.address, pair.local.port);
        let local = victim
            .pc
            .local_description()
            .await
            .unwrap()
            .expect("an answer");
        let ufrag = local
            .sdp
            .lines()
            .find_map(|line| line.strip_prefix("a=ice-ufrag:"))
            .expect("the victim's ufrag")
            .trim()
            .to_owned();
        let received_before = stats.ice.packets_received;
        let rejected_before = stats.ice.stun_rejected;

        // Requests from many addresses: an unknown user; the victim's user with a
        // MESSAGE-INTEGRITY that cannot verify; no integrity at all; an attribute whose
        // length runs past the message.
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let wrong_user = attribute(0x0006, b"nobody:hostile");
        let right_user = attribute(0x0006, format!("{ufrag}:hostile").as_bytes());
        let forged_integrity = attribute(0x0008, &[0xA5; 20]);
        let priority = attribute(0x0024, &[0x6E, 0, 0x1E, 0xFF]);
        let mut sent = 0u64;
        for source in 0..FLOOD_SOURCES {
            let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            for i in 0..FLOOD_PER_SOURCE {
                let attributes = match (source + i) % 4 {
                    0 => [&wrong_user[..], &priority, &forged_integrity].concat(),
                    1 => [&right_user[..], &priority, &forged_integrity].concat(),
                    2 => [&right_user[..], &priority[..]].concat(),
                    _ => [&right_user[..], &[0x00, 0x08, 0x01, 0x00][..]].concat(),
                };
                socket
                    .send_to(&binding_request(&mut rng, &attributes), &target)
                    .await
                    .unwrap();
                sent += 1;
            }
            if source % 20 == 0 {
                memory.sample();
                tokio::task::yield_now().await;
            }
        }

        // Media from the honest path still arrives, after the flood.
        hostile
            .send_rtp(&rtp(VP8, true, 1, SSRC, &[0x10, 0x10, 0xAA, 0xBB]))
            .await;
        let track = victim.next_track().await;
        assert_eq!(&next_sample(&track).await.data[..], &[0x10, 0xAA, 0xBB]);

        let stats = victim
            .pc
            .stats()
            .await
            .expect("the victim's driver is alive");
        let ice = &stats.ice;
        // Every request reached the socket and was refused there, before webrtc-ice
        // (no forged request authenticates): none changed the pair.
        assert!(
            ice.packets_received - received_before >= sent * 9 / 10,
            "{ice:?} after {sent} requests"
        );
        let rejected = ice.stun_rejected - rejected_before;
        assert!(
            (sent * 9 / 10..=sent).contains(&rejected),
            "{rejected} of {sent} forged requests refused: {ice:?}"
        );
        assert_eq!(stats.selected_pair, Some(pair), "the flood moved nothing");
        assert_eq!(victim.pc.connection_state(), PeerConnectionState::Connected);

        healthy.finish().await;
        memory.assert_growth_below("a binding flood", MEMORY_BOUND_MIB);
        victim.pc.close().await;
    });
    panics.assert_none();
}
