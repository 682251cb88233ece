//! The signaling server goes away mid-session: connections between transports keep
//! carrying messages; when it is back on the same address every transport rejoins
//! (keeping its connections), and a newcomer joins the mesh.

mod room_harness;

use room_harness::{config, connected, id, next, server, server_on, start};
use strata::{Message, TransportEvent, TransportEvents};

async fn message(events: &mut TransportEvents) -> Message {
    next(events, "a message", |event| match event {
        TransportEvent::Message { message, .. } => Some(message),
        _ => None,
    })
    .await
}

async fn restored(events: &mut TransportEvents) {
    next(events, "signaling restored", |event| {
        matches!(event, TransportEvent::SignalingRestored).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_survive_a_signaling_server_restart_and_new_joins_work_after() {
    let first = server().await;
    let addr = first.local_addr();
    let url = first.ws_url();
    let (a, mut a_events) = start(config(&url, "restart", "peer-a")).await;
    let (b, mut b_events) = start(config(&url, "restart", "peer-b")).await;
    let (c, mut c_events) = start(config(&url, "restart", "peer-c")).await;
    for events in [&mut a_events, &mut b_events, &mut c_events] {
        connected(events, 2).await;
    }

    first.shutdown().await;
    for events in [&mut a_events, &mut b_events, &mut c_events] {
        next(events, "signaling lost", |event| {
            matches!(event, TransportEvent::SignalingLost).then_some(())
        })
        .await;
    }
    // Peer to peer, nothing changed.
    a.send_to_peer(&id("peer-b"), &b"no server"[..])
        .await
        .unwrap();
    assert_eq!(
        message(&mut b_events).await,
        Message::Binary((&b"no server"[..]).into())
    );
    c.send_text_to_peer(&id("peer-a"), "still here")
        .await
        .unwrap();
    assert_eq!(
        message(&mut a_events).await,
        Message::Text("still here".into())
    );

    let second = server_on(addr).await;
    for events in [&mut a_events, &mut b_events, &mut c_events] {
        restored(events).await;
    }
    // Rejoining kept every connection.
    for transport in [&a, &b, &c] {
        assert_eq!(transport.stats().connections_created, 2);
        assert_eq!(transport.list_peers().len(), 2);
    }

    let (d, mut d_events) = start(config(&url, "restart", "peer-d")).await;
    assert_eq!(
        connected(&mut d_events, 3).await,
        vec![id("peer-a"), id("peer-b"), id("peer-c")]
    );
    for events in [&mut a_events, &mut b_events, &mut c_events] {
        assert_eq!(connected(events, 1).await, vec![id("peer-d")]);
    }
    let stats = d.broadcast_text("hello after the restart").await;
    assert_eq!((stats.sent, stats.failed), (3, 0));
    for events in [&mut a_events, &mut b_events, &mut c_events] {
        assert_eq!(
            message(events).await,
            Message::Text("hello after the restart".into())
        );
    }
    for transport in [&a, &b, &c, &d] {
        transport.shutdown().await;
    }
    second.shutdown().await;
}
