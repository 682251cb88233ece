//! Two real agents over loopback UDP: connect, carry DTLS and media, refuse strays.

mod pair;

use std::time::Duration;

use pair::{PATIENCE, connected_pair, dtls_record, loopback_config, rtp_packet, start_pair};
use strata_ice::{Credentials, IceAgent, IceConnectionState, IceEvent, IceRole, PENDING_LIMIT};
use strata_interop::netns::run_isolated;

#[test]
fn agents_connect_over_loopback_and_carry_dtls_and_media_separately() {
    run_isolated(|| async {
        let (a, b) = connected_pair(loopback_config(), loopback_config()).await;
        let pair = a.agent.selected_pair().expect("a selected a pair");
        assert_eq!(pair.local.address, "127.0.0.1");

        for n in 0..100 {
            a.agent.dtls_channel().send(&dtls_record(n)).await.unwrap();
            a.agent.media_channel().send(&rtp_packet(n)).await.unwrap();
        }
        for n in 0..100 {
            let record = tokio::time::timeout(PATIENCE, b.agent.dtls_channel().recv())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(&record[..], &dtls_record(n)[..]);
            let packet = tokio::time::timeout(PATIENCE, b.agent.media_channel().recv())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(&packet[..], &rtp_packet(n)[..]);
        }
        // And back.
        b.agent.dtls_channel().send(&dtls_record(7)).await.unwrap();
        let back = tokio::time::timeout(PATIENCE, a.agent.dtls_channel().recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&back[..], &dtls_record(7)[..]);
        let stats = b.agent.stats();
        assert!(stats.packets_received >= 200, "{stats:?}");
        assert_eq!(stats.unknown_dropped, 0);
        // The peer's checks carried our credentials: none was refused.
        assert_eq!(stats.stun_rejected, 0, "{stats:?}");
    });
}

#[test]
fn gathering_reports_a_loopback_host_candidate_then_completion() {
    run_isolated(|| async {
        let (mut a, _b) = start_pair(loopback_config(), loopback_config(), |_| true).await;
        let candidate = a
            .wait_for_event(|e| matches!(e, IceEvent::LocalCandidate(_)))
            .await;
        let IceEvent::LocalCandidate(line) = candidate else {
            unreachable!()
        };
        assert!(line.starts_with("candidate:"), "{line}");
        assert!(
            line.contains(" 127.0.0.1 ") && line.contains(" typ host"),
            "{line}"
        );
        a.wait_for_event(|e| *e == IceEvent::GatheringComplete)
            .await;
    });
}

#[test]
fn datagrams_from_addresses_other_than_the_selected_pair_are_not_delivered() {
    run_isolated(|| async {
        let (a, b) = connected_pair(loopback_config(), loopback_config()).await;
        let b_port = b.agent.local_addr().port();
        let stranger = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let extra = 10;
        for n in 0..(PENDING_LIMIT as u32 + extra) {
            stranger
                .send_to(&dtls_record(1000 + n), ("127.0.0.1", b_port))
                .await
                .unwrap();
        }
        stranger
            .send_to(&[200; 20], ("127.0.0.1", b_port))
            .await
            .unwrap();
        a.agent.dtls_channel().send(&dtls_record(1)).await.unwrap();
        let first = tokio::time::timeout(PATIENCE, b.agent.dtls_channel().recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            &first[..],
            &dtls_record(1)[..],
            "only the peer's record is delivered"
        );
        let stats = b.agent.stats();
        assert!(stats.unverified_dropped >= u64::from(extra), "{stats:?}");
        assert_eq!(stats.unknown_dropped, 1, "{stats:?}");
    });
}

#[test]
fn candidates_given_before_the_peer_starts_still_connect() {
    run_isolated(|| async {
        let config = loopback_config();
        let (a, mut a_events) = IceAgent::new(config.clone()).await.unwrap();
        let (b, mut b_events) = IceAgent::new(config).await.unwrap();
        a.gather().unwrap();
        b.gather().unwrap();
        // Collect everything first, then hand it over before starting.
        let a_lines = gathered(&mut a_events).await;
        let b_lines = gathered(&mut b_events).await;
        for line in &b_lines {
            a.add_remote_candidate(line).unwrap();
        }
        a.start(IceRole::Controlling, b.local_credentials())
            .unwrap();
        b.start(IceRole::Controlled, a.local_credentials()).unwrap();
        for line in &a_lines {
            b.add_remote_candidate(&format!("a={line}")).unwrap();
        }
        for events in [&mut a_events, &mut b_events] {
            loop {
                let event = tokio::time::timeout(PATIENCE, events.recv())
                    .await
                    .unwrap()
                    .unwrap();
                if event == IceEvent::StateChanged(IceConnectionState::Connected) {
                    break;
                }
            }
        }
    });
}

async fn gathered(events: &mut tokio::sync::mpsc::Receiver<IceEvent>) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        match tokio::time::timeout(PATIENCE, events.recv())
            .await
            .unwrap()
            .unwrap()
        {
            IceEvent::LocalCandidate(line) => lines.push(line),
            IceEvent::GatheringComplete => return lines,
            _ => {}
        }
    }
}

#[test]
fn malformed_candidates_and_credentials_are_refused_with_typed_errors() {
    run_isolated(|| async {
        let (agent, _events) = IceAgent::new(loopback_config()).await.unwrap();
        for bad in [
            "candidate:1 1 udp",
            "candidate:x 1 udp notanumber 127.0.0.1 9 typ host",
            "garbage",
        ] {
            assert!(
                matches!(
                    agent.add_remote_candidate(bad),
                    Err(strata_ice::Error::InvalidCandidate { .. })
                ),
                "{bad}"
            );
        }
        // End-of-candidates and RTCP components are accepted and ignored.
        agent.add_remote_candidate("").unwrap();
        agent
            .add_remote_candidate("candidate:1 2 udp 2130706431 127.0.0.1 9 typ host")
            .unwrap();

        let short = Credentials {
            ufrag: "ab".into(),
            pwd: "x".repeat(24),
        };
        assert!(matches!(
            agent.start(IceRole::Controlled, short),
            Err(strata_ice::Error::InvalidCredentials(_))
        ));
        let bad_chars = Credentials {
            ufrag: "abcd".into(),
            pwd: "p@ss word with spaces!!".into(),
        };
        assert!(matches!(
            agent.start(IceRole::Controlled, bad_chars),
            Err(strata_ice::Error::InvalidCredentials(_))
        ));
        let good = Credentials::random();
        agent.start(IceRole::Controlled, good.clone()).unwrap();
        assert!(matches!(
            agent.start(IceRole::Controlled, good),
            Err(strata_ice::Error::Misuse(_))
        ));
    });
}

#[test]
fn sending_before_a_pair_is_selected_is_a_typed_error() {
    run_isolated(|| async {
        let (agent, _events) = IceAgent::new(loopback_config()).await.unwrap();
        assert!(matches!(
            agent.dtls_channel().send(&dtls_record(0)).await,
            Err(strata_ice::Error::NotConnected)
        ));
    });
}

#[test]
fn closing_ends_channels_reports_closed_and_frees_the_port() {
    run_isolated(|| async {
        let (mut a, b) = connected_pair(loopback_config(), loopback_config()).await;
        let port = a.agent.local_addr().port();
        let channel = a.agent.dtls_channel();
        a.agent.close().await;
        a.wait_for(|s| s == IceConnectionState::Closed).await;
        assert_eq!(
            tokio::time::timeout(PATIENCE, channel.recv())
                .await
                .unwrap(),
            None
        );
        assert!(matches!(
            channel.send(&dtls_record(0)).await,
            Err(strata_ice::Error::Closed)
        ));
        // The port is free even while handles to the agent remain.
        let rebound = tokio::time::timeout(PATIENCE, async {
            loop {
                match std::net::UdpSocket::bind(("0.0.0.0", port)) {
                    Ok(socket) => return socket,
                    Err(_) => tokio::task::yield_now().await,
                }
            }
        })
        .await;
        assert!(rebound.is_ok(), "port {port} still bound after close");
        drop(b);
    });
}

#[test]
fn a_silent_peer_turns_the_connection_disconnected_then_failed() {
    run_isolated(|| async {
        let quick = || strata_ice::IceConfig {
            disconnected_timeout: Duration::from_millis(800),
            failed_timeout: Duration::from_millis(800),
            keepalive_interval: Duration::from_millis(200),
            ..loopback_config()
        };
        let (mut a, b) = connected_pair(quick(), quick()).await;
        b.agent.close().await;
        a.wait_for(|s| s == IceConnectionState::Disconnected).await;
        a.wait_for(|s| s == IceConnectionState::Failed).await;
    });
}

#[test]
fn traffic_flows_the_moment_connected_is_reported() {
    run_isolated(|| async {
        // The selected pair and the state come from different upstream tasks; sending at
        // the first `Connected` must never find the path missing.
        for _ in 0..10 {
            let config = loopback_config();
            let (a, mut a_events) = IceAgent::new(config.clone()).await.unwrap();
            let (b, mut b_events) = IceAgent::new(config).await.unwrap();
            a.gather().unwrap();
            b.gather().unwrap();
            a.start(IceRole::Controlling, b.local_credentials())
                .unwrap();
            b.start(IceRole::Controlled, a.local_credentials()).unwrap();
            let (mut a_up, mut b_up) = (false, false);
            while !(a_up && b_up) {
                tokio::select! {
                    Some(event) = a_events.recv() => match event {
                        IceEvent::LocalCandidate(c) => b.add_remote_candidate(&c).unwrap(),
                        IceEvent::StateChanged(IceConnectionState::Connected) => {
                            a.dtls_channel().send(&dtls_record(1)).await.expect("a can send at Connected");
                            a_up = true;
                        }
                        _ => {}
                    },
                    Some(event) = b_events.recv() => match event {
                        IceEvent::LocalCandidate(c) => a.add_remote_candidate(&c).unwrap(),
                        IceEvent::StateChanged(IceConnectionState::Connected) => {
                            b.dtls_channel().send(&dtls_record(2)).await.expect("b can send at Connected");
                            b_up = true;
                        }
                        _ => {}
                    },
                }
            }
        }
    });
}

#[test]
fn dual_stack_agents_connect_every_time_over_host_candidates_of_one_family() {
    run_isolated(|| async {
        let dual_stack = || {
            let mut config = loopback_config();
            config.policy.ipv6 = true;
            config
        };
        // One connection in four used to fail with candidates of both families: twenty
        // in a row all connect only if the families are kept apart.
        for round in 0..20 {
            let (mut a, mut b) = start_pair(dual_stack(), dual_stack(), |_| true).await;
            for side in [&mut a, &mut b] {
                let state = side
                    .wait_for(|s| {
                        matches!(
                            s,
                            IceConnectionState::Connected | IceConnectionState::Failed
                        )
                    })
                    .await;
                assert_eq!(state, IceConnectionState::Connected, "round {round}");
            }
            for side in [&a, &b] {
                let hosts: Vec<String> = side
                    .events
                    .borrow()
                    .iter()
                    .filter_map(|e| match e {
                        IceEvent::LocalCandidate(c) if c.contains(" typ host") => Some(c.clone()),
                        _ => None,
                    })
                    .collect();
                assert!(!hosts.is_empty(), "round {round}: no host candidate");
                assert!(
                    hosts.iter().all(|c| c.contains(" 127.0.0.1 ")),
                    "round {round}: host candidates of both families: {hosts:?}"
                );
            }
            a.agent.close().await;
            b.agent.close().await;
        }
    });
}

#[test]
fn an_ice_restart_reconnects_on_fresh_credentials_without_refusing_a_genuine_check() {
    run_isolated(|| async {
        let (mut a, mut b) = connected_pair(loopback_config(), loopback_config()).await;
        let (a_old, b_old) = (a.agent.local_credentials(), b.agent.local_credentials());
        // Both sides restart, as an offer and its answer carrying new credentials do
        // (RFC 8445 §9); the regathered candidates travel through the pair's signaling.
        let a_fresh = a.agent.restart().await.expect("a restarts");
        let b_fresh = b.agent.restart().await.expect("b restarts");
        assert_ne!(a_fresh, a_old);
        assert_eq!(a.agent.local_credentials(), a_fresh);
        assert_ne!(b_fresh, b_old);
        b.agent.set_remote_credentials(a_fresh).await.unwrap();
        // a learns b's new credentials late, as from an answer slow to arrive. Until
        // then a has b's new candidates but no credentials to key checks with; the ones
        // webrtc-ice makes anyway are held back, never sent for b to refuse.
        let held = tokio::time::timeout(PATIENCE, async {
            while a.agent.stats().unkeyed_checks_held == 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        assert!(
            held.is_ok(),
            "a never tried to check: {:?}",
            a.agent.stats()
        );
        a.agent
            .set_remote_credentials(b_fresh.clone())
            .await
            .unwrap();

        // Checking again, then connected again, on both sides.
        for side in [&mut a, &mut b] {
            let reconnected = tokio::time::timeout(
                PATIENCE,
                side.events.wait_for(|history| {
                    history
                        .iter()
                        .filter(|e| **e == IceEvent::StateChanged(IceConnectionState::Connected))
                        .count()
                        >= 2
                }),
            )
            .await
            .is_ok_and(|pumped| pumped.is_ok());
            assert!(
                reconnected,
                "no second Connected after the restart: {:?}",
                side.events.borrow()
            );
        }
        a.agent.dtls_channel().send(&dtls_record(9)).await.unwrap();
        let record = tokio::time::timeout(PATIENCE, b.agent.dtls_channel().recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&record[..], &dtls_record(9)[..]);
        // Every check either side sent, before and after, was keyed right.
        for side in [&a, &b] {
            let stats = side.agent.stats();
            assert_eq!(stats.stun_rejected, 0, "{stats:?}");
        }
    });
}
