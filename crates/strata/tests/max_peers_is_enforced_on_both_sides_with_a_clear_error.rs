//! A transport that holds its `max_peers` refuses further connections: its own
//! `connect_peer` fails with `MaxPeersReached` (ours), and a peer connecting to it gets
//! `MaxPeersReached` (theirs) while it reports the refusal as an event.

mod room_harness;

use room_harness::{config, id, next, server, start};
use strata::{Error, TransportEvent};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_peers_is_enforced_on_both_sides_with_a_clear_error() {
    let server = server().await;
    let url = server.ws_url();
    let manual = |name: &str, max_peers: usize| {
        let mut config = config(&url, "limits", name);
        config.auto_connect = false;
        config.max_peers = max_peers;
        config
    };
    let (full, mut full_events) = start(manual("peer-a", 1)).await;
    let (b, _b_events) = start(manual("peer-b", 4)).await;
    let (c, _c_events) = start(manual("peer-c", 4)).await;

    full.connect_peer(&id("peer-b")).await.unwrap();

    // Our own limit.
    match full.connect_peer(&id("peer-c")).await {
        Err(Error::MaxPeersReached {
            peer,
            limit: 1,
            remote: false,
        }) => {
            assert_eq!(peer, id("peer-c"));
        }
        other => panic!("expected our limit, got {other:?}"),
    }
    // The other side's limit.
    let error = c.connect_peer(&id("peer-a")).await.unwrap_err();
    assert!(
        matches!(&error, Error::MaxPeersReached { peer, limit: 1, remote: true } if *peer == id("peer-a")),
        "{error:?}"
    );
    assert!(error.to_string().contains("refused"), "{error}");
    let refused = next(&mut full_events, "the refusal", |event| match event {
        TransportEvent::PeerFailed {
            peer,
            error:
                Error::MaxPeersReached {
                    remote: false,
                    limit,
                    ..
                },
        } => Some((peer, limit)),
        _ => None,
    })
    .await;
    assert_eq!(refused, (id("peer-c"), 1));
    assert_eq!(full.stats().refused_incoming, 1);
    assert_eq!(full.list_peers().len(), 1);
    assert!(c.list_peers().is_empty());

    // Unknown peers are their own error.
    assert!(matches!(
        b.connect_peer(&id("nobody")).await,
        Err(Error::PeerNotFound(peer)) if peer == id("nobody")
    ));
    for transport in [&full, &b, &c] {
        transport.shutdown().await;
    }
    server.shutdown().await;
}
