//! Two ICE agents connected on loopback, and DTLS configurations that trust each other.
#![allow(dead_code)] // Each test binary uses a part of this.

use std::time::Duration;

use strata_dtls_srtp::{Certificate, DtlsConfig, DtlsRole, SrtpProfile};
use strata_ice::{CandidatePolicy, IceAgent, IceConfig, IceConnectionState, IceEvent, IceRole};
use tokio::sync::mpsc::Receiver;

pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

async fn until_connected(events: &mut Receiver<IceEvent>, peer: &IceAgent) {
    while let Some(event) = events.recv().await {
        match event {
            IceEvent::LocalCandidate(candidate) => peer.add_remote_candidate(&candidate).unwrap(),
            IceEvent::StateChanged(IceConnectionState::Connected) => return,
            _ => {}
        }
    }
}

pub(crate) async fn ice_pair() -> (IceAgent, IceAgent) {
    let config = IceConfig {
        policy: CandidatePolicy {
            include_loopback: true,
            ipv6: false,
            ..CandidatePolicy::default()
        },
        mdns: false,
        ..IceConfig::default()
    };
    let (a, mut a_events) = IceAgent::new(config.clone()).await.unwrap();
    let (b, mut b_events) = IceAgent::new(config).await.unwrap();
    a.gather().unwrap();
    b.gather().unwrap();
    a.start(IceRole::Controlling, b.local_credentials())
        .unwrap();
    b.start(IceRole::Controlled, a.local_credentials()).unwrap();
    tokio::time::timeout(PATIENCE, async {
        tokio::join!(
            until_connected(&mut a_events, &b),
            until_connected(&mut b_events, &a)
        )
    })
    .await
    .expect("ICE connects");
    // Keep draining so webrtc-ice never waits on a full event queue.
    tokio::spawn(async move { while a_events.recv().await.is_some() {} });
    tokio::spawn(async move { while b_events.recv().await.is_some() {} });
    (a, b)
}

pub(crate) fn configs(
    client_profiles: &[SrtpProfile],
    server_profiles: &[SrtpProfile],
) -> (DtlsConfig, DtlsConfig) {
    let (a, b) = (
        Certificate::generate().unwrap(),
        Certificate::generate().unwrap(),
    );
    let mut client = DtlsConfig::new(a.clone(), DtlsRole::Client, vec![b.fingerprint().clone()]);
    let mut server = DtlsConfig::new(b, DtlsRole::Server, vec![a.fingerprint().clone()]);
    client.srtp_profiles = client_profiles.to_vec();
    server.srtp_profiles = server_profiles.to_vec();
    (client, server)
}

pub(crate) const BOTH: &[SrtpProfile] =
    &[SrtpProfile::AeadAes128Gcm, SrtpProfile::Aes128CmHmacSha1_80];
