//! DTLS handshakes between two real ICE agents on loopback.

use std::time::Duration;

use strata_dtls_srtp::{
    Certificate, DtlsRole, Error, Fingerprint, HashFunction, SrtpProfile, handshake,
};
use strata_interop::netns::run_isolated;

mod loopback;
use loopback::{BOTH, PATIENCE, configs, ice_pair};

#[test]
fn handshake_completes_and_carries_data_both_ways_with_mirrored_srtp_keys() {
    run_isolated(|| async {
        let (ice_a, ice_b) = ice_pair().await;
        let (client, server) = configs(BOTH, BOTH);
        let (a, b) = tokio::try_join!(
            handshake(ice_a.dtls_channel(), client),
            handshake(ice_b.dtls_channel(), server)
        )
        .unwrap();
        assert_eq!((a.role(), b.role()), (DtlsRole::Client, DtlsRole::Server));
        // Two flights each way and nothing sent twice: no timer was needed.
        for stats in [a.stats(), b.stats()] {
            assert_eq!(stats, strata_dtls_srtp::DtlsStats::default());
        }
        for size in [0usize, 1, 500, 1100] {
            let message = vec![size as u8; size.max(1)];
            a.send(&message).await.unwrap();
            let mut buf = vec![0u8; 2048];
            let n = tokio::time::timeout(PATIENCE, b.recv(&mut buf))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(&buf[..n], &message[..]);
            b.send(&message).await.unwrap();
            let n = tokio::time::timeout(PATIENCE, a.recv(&mut buf))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(&buf[..n], &message[..]);
        }
        let (ka, kb) = (a.srtp_keying().unwrap(), b.srtp_keying().unwrap());
        assert_eq!(ka.profile, SrtpProfile::AeadAes128Gcm);
        assert_eq!((&ka.local, &ka.remote), (&kb.remote, &kb.local));
        assert_ne!(ka.local, ka.remote);
        assert_eq!(ka.local.master_key.len(), 16);
        assert_eq!(ka.local.master_salt.len(), 12);
    });
}

#[test]
fn the_common_profile_is_chosen_when_one_side_offers_only_aes_cm() {
    run_isolated(|| async {
        let (ice_a, ice_b) = ice_pair().await;
        let (client, server) = configs(&[SrtpProfile::Aes128CmHmacSha1_80], BOTH);
        let (a, _b) = tokio::try_join!(
            handshake(ice_a.dtls_channel(), client),
            handshake(ice_b.dtls_channel(), server)
        )
        .unwrap();
        let keys = a.srtp_keying().unwrap();
        assert_eq!(keys.profile, SrtpProfile::Aes128CmHmacSha1_80);
        assert_eq!(keys.local.master_salt.len(), 14);
    });
}

#[test]
fn a_certificate_that_does_not_match_the_announced_fingerprint_is_refused_during_the_handshake() {
    run_isolated(|| async {
        let (ice_a, ice_b) = ice_pair().await;
        let (mut client, server) = configs(BOTH, BOTH);
        let impostor = Certificate::generate().unwrap();
        client.remote_fingerprints = vec![impostor.fingerprint().clone()];
        let (a, b) = tokio::join!(
            handshake(ice_a.dtls_channel(), client),
            tokio::time::timeout(
                Duration::from_secs(3),
                handshake(ice_b.dtls_channel(), server)
            ),
        );
        match a {
            Err(Error::FingerprintMismatch { actual }) => {
                assert_eq!(actual.hash(), HashFunction::Sha256);
            }
            other => panic!("expected a fingerprint mismatch, got {other:?}"),
        }
        // The server never completes with an unauthenticated client.
        assert!(!matches!(b, Ok(Ok(_))), "server side must not succeed");
    });
}

#[test]
fn a_client_presenting_the_wrong_certificate_is_refused_by_the_server() {
    run_isolated(|| async {
        let (ice_a, ice_b) = ice_pair().await;
        let (client, mut server) = configs(BOTH, BOTH);
        server.remote_fingerprints = vec!["sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF".parse::<Fingerprint>().unwrap()];
        let (_, b) = tokio::join!(
            tokio::time::timeout(
                Duration::from_secs(3),
                handshake(ice_a.dtls_channel(), client)
            ),
            handshake(ice_b.dtls_channel(), server),
        );
        assert!(matches!(b, Err(Error::FingerprintMismatch { .. })), "{b:?}");
    });
}

#[test]
fn a_silent_peer_makes_the_handshake_time_out() {
    run_isolated(|| async {
        let (ice_a, _ice_b) = ice_pair().await;
        let (mut client, _server) = configs(BOTH, BOTH);
        client.handshake_timeout = Duration::from_millis(600);
        let result = handshake(ice_a.dtls_channel(), client).await;
        assert!(
            matches!(result, Err(Error::HandshakeTimeout(_))),
            "{result:?}"
        );
    });
}

#[test]
fn a_missing_remote_fingerprint_is_a_configuration_error() {
    run_isolated(|| async {
        let (ice_a, _ice_b) = ice_pair().await;
        let (mut client, _) = configs(BOTH, BOTH);
        client.remote_fingerprints.clear();
        assert!(matches!(
            handshake(ice_a.dtls_channel(), client).await,
            Err(Error::Config(_))
        ));
    });
}

/// A plaintext handshake record holding one ClientKeyExchange with a `len`-byte body: the
/// shape that panics `dtls` 0.17.2's parser.
fn short_client_key_exchange(len: u8) -> Vec<u8> {
    let body_len = 12 + usize::from(len);
    let mut record = vec![22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 9, 0, body_len as u8];
    record.extend_from_slice(&[16, 0, 0, len, 0, 2, 0, 0, 0, 0, 0, len]);
    record.extend(std::iter::repeat_n(0, usize::from(len)));
    record
}

#[test]
fn malformed_handshake_bodies_are_dropped_and_the_handshake_still_completes() {
    run_isolated(|| async {
        let (ice_a, ice_b) = ice_pair().await;
        // The peer's path sends poison before the real handshake starts.
        for len in [0, 1] {
            ice_a
                .dtls_channel()
                .send(&short_client_key_exchange(len))
                .await
                .unwrap();
        }
        let (client, server) = configs(BOTH, BOTH);
        let (a, b) = tokio::try_join!(
            handshake(ice_a.dtls_channel(), client),
            handshake(ice_b.dtls_channel(), server)
        )
        .unwrap();
        assert_eq!(b.stats().malformed_dropped, 2, "{:?}", b.stats());
        a.send(b"still fine").await.unwrap();
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(PATIENCE, b.recv(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..n], b"still fine");
    });
}
