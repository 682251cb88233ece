//! Closing a channel resets its outgoing stream (RFC 8831 §6.7); the peer sees the
//! close, both sides end in `Closed`, and other channels keep working.

mod support;

use strata_datachannel::{ChannelCloseReason, ChannelEvent, ChannelOptions, ChannelState, Message};
use support::{accept, next_event, next_message, pair};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_by_stream_reset_is_seen_by_the_peer() {
    let mut pair = pair().await;
    let mut closing = pair
        .client
        .create_channel("closing", ChannelOptions::default())
        .await
        .unwrap();
    let mut staying = pair
        .client
        .create_channel("staying", ChannelOptions::default())
        .await
        .unwrap();
    let mut remote_closing = accept(&mut pair.server_events).await;
    let mut remote_staying = accept(&mut pair.server_events).await;

    closing.send_text("last words").await.unwrap();
    closing.close().await.unwrap();
    // What was sent before the close is delivered before the close.
    assert_eq!(
        next_message(&mut remote_closing).await,
        Message::Text("last words".into())
    );
    assert_eq!(
        next_event(&mut remote_closing).await,
        ChannelEvent::Closed(ChannelCloseReason::Remote)
    );
    assert_eq!(remote_closing.state(), ChannelState::Closed);
    assert!(remote_closing.recv().await.is_none());
    loop {
        match next_event(&mut closing).await {
            ChannelEvent::Closed(reason) => {
                assert_eq!(reason, ChannelCloseReason::Local);
                break;
            }
            ChannelEvent::Open | ChannelEvent::BufferedAmountLow => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(matches!(
        closing.send_text("too late").await,
        Err(strata_datachannel::Error::ChannelClosed { .. })
    ));

    staying.send_text("still here").await.unwrap();
    assert_eq!(
        next_message(&mut remote_staying).await,
        Message::Text("still here".into())
    );
    remote_staying.send_text("me too").await.unwrap();
    assert_eq!(
        next_message(&mut staying).await,
        Message::Text("me too".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_side_that_accepted_can_close_too() {
    let mut pair = pair().await;
    let mut local = pair
        .client
        .create_channel("x", ChannelOptions::default())
        .await
        .unwrap();
    let mut remote = accept(&mut pair.server_events).await;
    remote.close().await.unwrap();
    loop {
        if let ChannelEvent::Closed(reason) = next_event(&mut local).await {
            assert_eq!(reason, ChannelCloseReason::Remote);
            break;
        }
    }
    assert_eq!(
        next_event(&mut remote).await,
        ChannelEvent::Closed(ChannelCloseReason::Local)
    );
}
