//! The async client survives a server that dies and comes back: it reconnects with
//! backoff, rejoins its room under the same id, and relays again.

mod harness;

use std::process::Stdio;
use std::time::Duration;

use harness::{Binary, WAIT, spawn_binary, unix_now};
use serde_json::json;
use strata_server::auth::{Authenticator, RoomClaims};
use strata_signal::client::{Client, ClientConfig, ClientEvent, Events};
use strata_signal::{PeerId, Permissions, ReconnectPolicy, RoomName};

const SECRET: &str = "restart-test-secret-0123456789";

/// Starts the `strata` binary on `port` and waits until it listens.
async fn spawn_server(port: u16) -> Binary {
    let listen = format!("127.0.0.1:{port}");
    spawn_binary(
        &["--listen", &listen, "--jwt-secret", SECRET],
        Stdio::null(),
    )
    .await
}

fn token(identity: &str) -> String {
    Authenticator::new(SECRET.as_bytes(), false)
        .mint(&RoomClaims {
            sub: Some(identity.to_owned()),
            room: "r".to_owned(),
            permissions: Permissions::PARTICIPANT,
            exp: unix_now() + 600,
            max_participants: None,
        })
        .unwrap()
}

fn config(port: u16, identity: &str, seed: u64) -> ClientConfig {
    let mut config = ClientConfig::new(
        format!("ws://127.0.0.1:{port}/ws"),
        RoomName::new("r").unwrap(),
    );
    config.session.token = Some(token(identity));
    config.reconnect = ReconnectPolicy {
        initial_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(400),
        ..ReconnectPolicy::default()
    };
    config.seed = Some(seed);
    config
}

/// The first event `pick` accepts, within the wait.
async fn event<T>(events: &mut Events, mut pick: impl FnMut(ClientEvent) -> Option<T>) -> T {
    tokio::time::timeout(WAIT, async {
        loop {
            let event = events.recv().await.expect("events ended");
            if let Some(found) = pick(event) {
                return found;
            }
        }
    })
    .await
    .expect("event did not arrive")
}

#[tokio::test]
async fn client_rejoins_after_the_server_restarts() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = spawn_server(port).await;

    let (alice, mut alice_events) = Client::connect(config(port, "alice", 1)).await.unwrap();
    let (bob, mut bob_events) = Client::connect(config(port, "bob", 2)).await.unwrap();
    assert_eq!(alice.peer_id().as_str(), "alice");
    let joined = event(&mut alice_events, |e| match e {
        ClientEvent::PeerJoined(p) => Some(p.peer_id),
        _ => None,
    })
    .await;
    assert_eq!(joined.as_str(), "bob");
    assert_eq!(bob.participants()[0].peer_id.as_str(), "alice");
    let bob_id = PeerId::new("bob").unwrap();
    alice
        .send_message(Some(bob_id.clone()), json!("before"))
        .await
        .unwrap();
    let got = event(&mut bob_events, |e| match e {
        ClientEvent::Message(m) => Some(m.data),
        _ => None,
    })
    .await;
    assert_eq!(got, json!("before"));

    // A fresh token for the rejoin (tokens expire during long sessions).
    alice.set_token(token("alice")).await.unwrap();

    // Kill the server outright: no goodbye, sockets just die.
    server.child.kill().await.unwrap();
    for events in [&mut alice_events, &mut bob_events] {
        event(events, |e| {
            matches!(e, ClientEvent::Reconnecting { .. }).then_some(())
        })
        .await;
    }
    assert!(!alice.is_joined());
    assert!(matches!(
        alice.send_offer(bob_id.clone(), "v=0").await,
        Err(strata_signal::Error::NotJoined | strata_signal::Error::Disconnected { .. })
    ));

    let _server = spawn_server(port).await;
    let alice_back = event(&mut alice_events, |e| match e {
        ClientEvent::Rejoined(result) => Some(result),
        _ => None,
    })
    .await;
    let bob_back = event(&mut bob_events, |e| match e {
        ClientEvent::Rejoined(result) => Some(result),
        _ => None,
    })
    .await;
    assert_eq!(alice_back.peer_id.as_str(), "alice");
    assert_eq!(bob_back.peer_id.as_str(), "bob");
    assert!(alice.is_joined() && bob.is_joined());
    assert_eq!(alice.stats().rejoins, 1);

    // Whoever rejoined second sees the other in its join result; relay works again.
    alice.send_offer(bob_id, "v=0 after").await.unwrap();
    let offer = event(&mut bob_events, |e| match e {
        ClientEvent::Offer(o) => Some(o),
        _ => None,
    })
    .await;
    assert_eq!(
        (offer.from.as_str(), offer.sdp.as_str()),
        ("alice", "v=0 after")
    );
    assert!(bob.ping().await.unwrap() < WAIT);

    alice.close().await;
    let closed = event(&mut alice_events, |e| match e {
        ClientEvent::Closed { reason } => Some(reason),
        _ => None,
    })
    .await;
    assert!(closed.to_string().contains("closed"), "{closed}");
    let left = event(&mut bob_events, |e| match e {
        ClientEvent::PeerLeft(left) => Some(left),
        _ => None,
    })
    .await;
    assert_eq!(left.peer_id.as_str(), "alice");
    bob.close().await;
}
