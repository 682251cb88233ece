//! The path between two transports goes down (every datagram dropped at one peer's
//! socket) while signaling stays up. Both sides report the peer reconnecting, never
//! disconnected; once the path is back, messages flow again both ways. With ICE
//! restarts allowed, the same connection recovers; without them, a fresh connection
//! replaces it.

mod room_harness;

use std::time::Duration;

use room_harness::{PATIENCE, config, connected, id, next, server, start};
use strata::{
    Impairment, Message, NetworkImpairment, Outage, PeerId, PeerState, Transport, TransportConfig,
    TransportEvent, TransportEvents,
};

/// One side of the pair.
struct Side {
    transport: Transport,
    events: TransportEvents,
    other: PeerId,
}

/// Every event of `side` until `pick` accepts one; losing the peer fails the test.
async fn expect<T>(
    side: &mut Side,
    what: &str,
    mut pick: impl FnMut(TransportEvent) -> Option<T>,
) -> T {
    let other = side.other.clone();
    next(&mut side.events, what, |event| match event {
        TransportEvent::PeerDisconnected { peer, reason } if peer == other => {
            panic!("{peer} reported disconnected ({reason:?}) while {what} was awaited")
        }
        TransportEvent::PeerFailed { peer, error } if peer == other => {
            panic!("{peer} reported failed ({error}) while {what} was awaited")
        }
        event => pick(event),
    })
    .await
}

/// Sends `text` from `from` until `to` receives it (a fresh connection's channel may
/// not be open yet when the first attempt is made).
async fn deliver(from: &Side, to: &mut Side, text: &str) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while let Err(error) = from.transport.send_text_to_peer(&from.other, text).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{text:?} could not be sent: {error}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sender = to.other.clone();
    let received = expect(to, text, |event| match event {
        TransportEvent::Message { peer, message } if peer == sender => Some(message),
        _ => None,
    })
    .await;
    assert_eq!(received, Message::Text(text.into()));
}

/// Polls until `side` shows its peer connected again.
async fn connected_again(side: &Side) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let state = side
            .transport
            .list_peers()
            .into_iter()
            .find(|info| info.peer == side.other)
            .map(|info| info.state);
        match state {
            Some(PeerState::Connected) => return,
            Some(_) => {}
            None => panic!(
                "{} lost its link to {}",
                side.transport.peer_id().unwrap(),
                side.other
            ),
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still {state:?} after {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn pair_config(url: &str, room: &str, name: &str, ice_restarts: u32) -> TransportConfig {
    let mut config = config(url, room, name);
    // Staleness must not end the link while the path is down.
    config.stale_peer_timeout_ms = 30_000;
    config.reconnect.ice_restarts = ice_restarts;
    config.reconnect.max_attempts = 30;
    config
}

/// Connections each side created before the outage and after recovery.
struct Created {
    before: [u64; 2],
    after: [u64; 2],
}

async fn cut_and_restore(room: &str, ice_restarts: u32) -> Created {
    let server = server().await;
    let url = server.ws_url();
    let cut = Outage::new();
    let mut bob_config = pair_config(&url, room, "bob", ice_restarts);
    bob_config.impairment = Some(NetworkImpairment {
        outage: cut.clone(),
        ..NetworkImpairment::symmetric(Impairment::default(), 1)
    });
    let (alice, alice_events) = start(pair_config(&url, room, "alice", ice_restarts)).await;
    let (bob, bob_events) = start(bob_config).await;
    let mut alice = Side {
        transport: alice,
        events: alice_events,
        other: id("bob"),
    };
    let mut bob = Side {
        transport: bob,
        events: bob_events,
        other: id("alice"),
    };
    assert_eq!(connected(&mut alice.events, 1).await, [id("bob")]);
    assert_eq!(connected(&mut bob.events, 1).await, [id("alice")]);
    deliver(&alice, &mut bob, "before, to bob").await;
    deliver(&bob, &mut alice, "before, to alice").await;
    let before = [&alice, &bob].map(|side| side.transport.stats().connections_created);

    cut.begin();
    for side in [&mut alice, &mut bob] {
        let other = side.other.clone();
        let attempt = expect(side, "reconnecting", |event| match event {
            TransportEvent::PeerReconnecting { peer, attempt } if peer == other => Some(attempt),
            _ => None,
        })
        .await;
        assert_eq!(attempt, 1);
    }
    assert!(cut.dropped() > 0, "the outage dropped nothing");
    cut.end();

    connected_again(&alice).await;
    connected_again(&bob).await;
    deliver(&alice, &mut bob, "after, to bob").await;
    deliver(&bob, &mut alice, "after, to alice").await;
    let after = [&alice, &bob].map(|side| side.transport.stats().connections_created);

    alice.transport.shutdown().await;
    bob.transport.shutdown().await;
    server.shutdown().await;
    Created { before, after }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_ice_restarts_the_same_connection_recovers() {
    let created = cut_and_restore("restart", 30).await;
    assert_eq!(
        created.after, created.before,
        "a fresh connection was made although ICE restarts were allowed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_ice_restarts_a_fresh_connection_replaces_the_lost_one() {
    let created = cut_and_restore("fresh", 0).await;
    for (side, (before, after)) in ["alice", "bob"]
        .into_iter()
        .zip(created.before.into_iter().zip(created.after))
    {
        assert!(
            after > before,
            "{side} made no fresh connection ({before} before, {after} after)"
        );
    }
}
