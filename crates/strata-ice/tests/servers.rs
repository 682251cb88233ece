//! Gathering and connecting with a real STUN/TURN server (coturn) on loopback.

mod pair;

use std::time::Duration;

use pair::{PATIENCE, dtls_record, loopback_config, start_pair};
use strata_ice::{
    CandidateKind, IceAgent, IceConfig, IceConnectionState, IceEvent, IceServer, TransportPolicy,
};
use strata_interop::coturn::{self, Coturn};
use strata_interop::netns::run_isolated;

#[test]
fn an_unreachable_stun_server_is_reported_and_gathering_still_completes() {
    run_isolated(|| async {
        // Nothing listens on this port.
        let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let url = format!("stun:{}", silent.local_addr().unwrap());
        drop(silent);
        let config = IceConfig {
            servers: vec![IceServer::parse(&url).unwrap()],
            srflx_timeout: Duration::from_millis(500),
            ..loopback_config()
        };
        let (agent, mut events) = IceAgent::new(config).await.unwrap();
        agent.gather().unwrap();
        let mut unreachable = None;
        loop {
            match tokio::time::timeout(PATIENCE, events.recv())
                .await
                .unwrap()
                .unwrap()
            {
                IceEvent::ServerUnreachable { server, reason } => {
                    unreachable = Some((server, reason));
                }
                IceEvent::GatheringComplete => break,
                _ => {}
            }
        }
        let (server, _) = unreachable.expect("the dead server is reported");
        assert!(
            url.ends_with(server.trim_start_matches("stun:")),
            "{server} vs {url}"
        );
    });
}

#[test]
fn a_real_stun_server_answers_and_a_redundant_srflx_candidate_is_not_signalled() {
    let turnserver = coturn::find_or_install().unwrap();
    run_isolated(move || async move {
        let server = Coturn::start(&turnserver).await.unwrap();
        let config = IceConfig {
            servers: vec![IceServer::parse(&server.stun_url()).unwrap()],
            ..loopback_config()
        };
        let (agent, mut events) = IceAgent::new(config).await.unwrap();
        agent.gather().unwrap();
        let mut seen = Vec::new();
        loop {
            match tokio::time::timeout(PATIENCE, events.recv())
                .await
                .unwrap()
                .unwrap()
            {
                IceEvent::GatheringComplete => break,
                event => seen.push(event),
            }
        }
        // Without NAT our mapped address is our host address: only the host candidate.
        assert!(
            !seen
                .iter()
                .any(|e| matches!(e, IceEvent::ServerUnreachable { .. })),
            "{seen:?}"
        );
        let candidates: Vec<_> = seen
            .iter()
            .filter_map(|e| match e {
                IceEvent::LocalCandidate(line) => Some(line.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(candidates.len(), 1, "{candidates:?}");
        assert!(candidates[0].contains("typ host"));
    });
}

#[test]
fn relay_only_policy_connects_through_turn_and_carries_data_both_ways() {
    let turnserver = coturn::find_or_install().unwrap();
    run_isolated(move || async move {
        let server = Coturn::start(&turnserver).await.unwrap();
        let turn = IceServer::with_credentials(
            &server.turn_url(),
            Some(coturn::USERNAME),
            Some(coturn::PASSWORD),
        )
        .unwrap();
        let relayed = IceConfig {
            servers: vec![turn],
            transport_policy: TransportPolicy::Relay,
            ..loopback_config()
        };
        let (mut a, mut b) = start_pair(relayed, loopback_config(), |_| true).await;
        let candidate = a
            .wait_for_event(|e| matches!(e, IceEvent::LocalCandidate(_)))
            .await;
        assert!(
            matches!(&candidate, IceEvent::LocalCandidate(line) if line.contains("typ relay")),
            "{candidate:?}"
        );
        a.wait_for(|s| s == IceConnectionState::Connected).await;
        b.wait_for(|s| s == IceConnectionState::Connected).await;
        let pair = a.agent.selected_pair().unwrap();
        assert_eq!(pair.local.kind, CandidateKind::Relay);

        for n in 0..20 {
            a.agent.dtls_channel().send(&dtls_record(n)).await.unwrap();
        }
        for n in 0..20 {
            let record = tokio::time::timeout(PATIENCE, b.agent.dtls_channel().recv())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(&record[..], &dtls_record(n)[..]);
        }
        b.agent.dtls_channel().send(&dtls_record(99)).await.unwrap();
        let back = tokio::time::timeout(PATIENCE, a.agent.dtls_channel().recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&back[..], &dtls_record(99)[..]);
    });
}

#[test]
fn relay_only_policy_without_a_turn_server_is_refused() {
    run_isolated(|| async {
        let config = IceConfig {
            transport_policy: TransportPolicy::Relay,
            ..loopback_config()
        };
        assert!(matches!(
            IceAgent::new(config).await,
            Err(strata_ice::Error::Config(_))
        ));
    });
}
