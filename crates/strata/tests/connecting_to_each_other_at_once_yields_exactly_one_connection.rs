//! Glare: two transports call `connect_peer` for each other at the same moment, twenty
//! times over. Perfect negotiation leaves exactly one connection each round, which
//! carries messages both ways.

mod room_harness;

use room_harness::{config, id, next, server, start};
use strata::{DisconnectReason, Message, TransportEvent, TransportEvents};

const ROUNDS: u64 = 20;

async fn message(events: &mut TransportEvents) -> Message {
    next(events, "a message", |event| match event {
        TransportEvent::Message { message, .. } => Some(message),
        _ => None,
    })
    .await
}

async fn disconnected(events: &mut TransportEvents) -> DisconnectReason {
    next(events, "a disconnection", |event| match event {
        TransportEvent::PeerDisconnected { reason, .. } => Some(reason),
        _ => None,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_to_each_other_at_once_yields_exactly_one_connection() {
    let server = server().await;
    let url = server.ws_url();
    let manual = |name: &str| {
        let mut config = config(&url, "glare", name);
        config.auto_connect = false;
        config
    };
    let (a, mut a_events) = start(manual("peer-a")).await;
    let (b, mut b_events) = start(manual("peer-b")).await;
    let (id_a, id_b) = (id("peer-a"), id("peer-b"));

    for round in 1..=ROUNDS {
        let (to_b, to_a) = tokio::join!(a.connect_peer(&id_b), b.connect_peer(&id_a));
        assert_eq!(to_b.unwrap(), id_b, "round {round}");
        assert_eq!(to_a.unwrap(), id_a, "round {round}");
        // One connection per side per round, ever.
        assert_eq!(a.stats().connections_created, round, "round {round}");
        assert_eq!(b.stats().connections_created, round, "round {round}");
        assert_eq!(a.list_peers().len(), 1);
        assert_eq!(b.list_peers().len(), 1);

        a.send_to_peer(&id_b, round.to_be_bytes().to_vec())
            .await
            .unwrap();
        b.send_text_to_peer(&id_a, format!("round {round}"))
            .await
            .unwrap();
        assert_eq!(
            message(&mut b_events).await,
            Message::Binary(round.to_be_bytes().to_vec().into())
        );
        assert_eq!(
            message(&mut a_events).await,
            Message::Text(format!("round {round}"))
        );

        // The side that disconnects tells the other.
        let (closer, other) = if round % 2 == 0 {
            (&a, &id_b)
        } else {
            (&b, &id_a)
        };
        closer.disconnect_peer(other).await.unwrap();
        let (closer_events, other_events) = if round % 2 == 0 {
            (&mut a_events, &mut b_events)
        } else {
            (&mut b_events, &mut a_events)
        };
        assert_eq!(disconnected(closer_events).await, DisconnectReason::Local);
        assert_eq!(disconnected(other_events).await, DisconnectReason::Remote);
        assert!(a.list_peers().is_empty() && b.list_peers().is_empty());
    }
    // The offers did cross: both sides saw collisions, and resolved each to one
    // connection.
    let collisions = (a.stats().offer_collisions, b.stats().offer_collisions);
    eprintln!("offer collisions (polite, impolite): {collisions:?}");
    assert!(collisions.0 > 0 && collisions.1 > 0, "{collisions:?}");
    a.shutdown().await;
    b.shutdown().await;
    server.shutdown().await;
}
