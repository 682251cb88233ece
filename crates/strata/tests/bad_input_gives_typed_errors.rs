//! Malformed descriptions, missing or wrong fingerprints, calls out of order, oversize
//! messages: typed errors or a clean failure, never a panic or a hang.

mod peers;

use peers::{PATIENCE, connected_with_channel, loopback, negotiate, pair};
use std::time::Duration;

use strata::{
    AdaptiveDelay, ChannelOptions, DelayMode, Error, PeerConnection, PeerConnectionState,
    SessionDescription,
};
use strata_interop::netns::run_isolated;

#[test]
fn malformed_descriptions_are_refused_and_leave_the_connection_usable() {
    run_isolated(|| async {
        let (a, b) = pair(loopback(), loopback()).await;
        for garbage in [
            "",
            "hello",
            "v=0\r\nm=application\r\n",
            "v=1\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
        ] {
            let result =
                b.pc.set_remote_description(SessionDescription::offer(garbage))
                    .await;
            assert!(
                matches!(result, Err(Error::Sdp(_))),
                "{garbage:?}: {result:?}"
            );
        }
        // Still usable afterwards.
        let _channel =
            a.pc.create_data_channel("x", ChannelOptions::default())
                .await
                .unwrap();
        negotiate(&a.pc, &b.pc).await;
    });
}

#[test]
fn configurations_that_cannot_work_are_refused_by_the_constructor() {
    run_isolated(|| async {
        let too_long = DelayMode::Fixed(Duration::from_secs(11));
        let mut adaptive = AdaptiveDelay::default();
        adaptive.min = Duration::from_millis(300);
        adaptive.max = Duration::from_millis(100);
        let inverted = DelayMode::Adaptive(adaptive);
        for delay in [too_long, inverted] {
            let mut config = loopback();
            config.playout_delay = Some(delay.clone());
            match PeerConnection::new(config).await {
                Err(Error::InvalidConfig(why)) => assert!(why.contains("playout_delay"), "{why}"),
                Err(other) => panic!("{delay:?}: {other:?}"),
                Ok(_) => panic!("{delay:?} was accepted"),
            }
        }
        let mut config = loopback();
        config.max_message_size = 0;
        assert!(matches!(
            PeerConnection::new(config).await,
            Err(Error::InvalidConfig(_))
        ));
        let mut config = loopback();
        config.playout_delay = Some(DelayMode::Fixed(Duration::from_secs(10)));
        assert!(PeerConnection::new(config).await.is_ok());
    });
}

#[test]
fn a_description_without_a_fingerprint_is_refused() {
    run_isolated(|| async {
        let (a, b) = pair(loopback(), loopback()).await;
        let _channel =
            a.pc.create_data_channel("x", ChannelOptions::default())
                .await
                .unwrap();
        let offer = a.pc.create_offer().await.unwrap();
        let stripped: String = offer
            .sdp
            .lines()
            .filter(|l| !l.starts_with("a=fingerprint"))
            .flat_map(|l| [l, "\r\n"])
            .collect();
        let result =
            b.pc.set_remote_description(SessionDescription::offer(stripped))
                .await;
        assert!(matches!(result, Err(Error::Sdp(_))), "{result:?}");
    });
}

#[test]
fn a_wrong_fingerprint_fails_the_connection_instead_of_connecting() {
    run_isolated(|| async {
        let (mut a, mut b) = pair(loopback(), loopback()).await;
        let _channel =
            a.pc.create_data_channel("x", ChannelOptions::default())
                .await
                .unwrap();
        let offer = a.pc.create_offer().await.unwrap();
        a.pc.set_local_description(offer.clone()).await.unwrap();
        // Replace every hex digit of the fingerprint: a certificate nobody holds.
        let forged: String = offer
            .sdp
            .lines()
            .map(|line| match line.strip_prefix("a=fingerprint:sha-256 ") {
                Some(hex) => format!(
                    "a=fingerprint:sha-256 {}\r\n",
                    hex.replace(|c: char| c.is_ascii_hexdigit(), "A")
                ),
                None => format!("{line}\r\n"),
            })
            .collect();
        b.pc.set_remote_description(SessionDescription::offer(forged))
            .await
            .unwrap();
        let answer = b.pc.create_answer().await.unwrap();
        b.pc.set_local_description(answer.clone()).await.unwrap();
        a.pc.set_remote_description(answer).await.unwrap();
        let state = b
            .wait_for(|s| {
                matches!(
                    s,
                    PeerConnectionState::Failed | PeerConnectionState::Connected
                )
            })
            .await;
        assert_eq!(state, PeerConnectionState::Failed);
        let state = a
            .wait_for(|s| {
                matches!(
                    s,
                    PeerConnectionState::Failed | PeerConnectionState::Connected
                )
            })
            .await;
        assert_ne!(state, PeerConnectionState::Connected);
    });
}

#[test]
fn calls_out_of_order_are_refused_with_the_state_unchanged() {
    run_isolated(|| async {
        let (a, b) = pair(loopback(), loopback()).await;
        // An answer without an offer.
        assert!(matches!(a.pc.create_answer().await, Err(Error::Sdp(_))));
        let _channel =
            a.pc.create_data_channel("x", ChannelOptions::default())
                .await
                .unwrap();
        let offer = a.pc.create_offer().await.unwrap();
        // Applying our own offer as a remote answer in stable.
        assert!(matches!(
            a.pc.set_remote_description(SessionDescription::answer(offer.sdp.clone()))
                .await,
            Err(Error::Sdp(_))
        ));
        assert_eq!(a.pc.signaling_state(), strata::SignalingState::Stable);
        // A candidate for nothing.
        let bogus = strata::IceCandidateInit {
            candidate: "candidate:garbage".into(),
            sdp_mid: Some("0".into()),
            sdp_mline_index: None,
            username_fragment: None,
        };
        assert!(a.pc.add_ice_candidate(bogus).await.is_err());
        // The normal sequence still works.
        negotiate(&a.pc, &b.pc).await;
        assert_eq!(a.pc.signaling_state(), strata::SignalingState::Stable);
    });
}

#[test]
fn messages_above_the_remote_maximum_are_refused_on_send() {
    run_isolated(|| async {
        let mut small = loopback();
        small.max_message_size = 1024;
        let (_a, _b, local, remote) =
            connected_with_channel(loopback(), small, "x", ChannelOptions::default()).await;
        let result = local.send(vec![0u8; 1025]).await;
        assert!(
            matches!(
                result,
                Err(Error::DataChannel(
                    strata_datachannel::Error::MessageTooLarge {
                        size: 1025,
                        limit: 1024
                    }
                ))
            ),
            "{result:?}"
        );
        local.send(vec![7u8; 1024]).await.unwrap();
        let message = tokio::time::timeout(PATIENCE, peers::next_message(&remote))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(message.len(), 1024);
    });
}

#[test]
fn sending_before_a_channel_opens_is_an_invalid_state() {
    run_isolated(|| async {
        let (a, _b) = pair(loopback(), loopback()).await;
        let channel =
            a.pc.create_data_channel("early", ChannelOptions::default())
                .await
                .unwrap();
        assert!(matches!(
            channel.send_text("too soon").await,
            Err(Error::InvalidState(_))
        ));
        let conflicting = ChannelOptions {
            max_retransmits: Some(1),
            max_packet_life_time: Some(Duration::from_millis(5)),
            ..ChannelOptions::default()
        };
        assert!(a.pc.create_data_channel("bad", conflicting).await.is_err());
    });
}
