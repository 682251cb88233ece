//! Both sides open channels at the same time; DTLS-role parity keeps ids apart.

mod support;

use std::collections::BTreeSet;

use strata_datachannel::{ChannelOptions, Message};
use support::{accept, next_message, pair};

/// Channels each side opens, at the same time.
const EACH: usize = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_opened_from_both_sides_never_collide() {
    let mut pair = pair().await;
    let (client, server) = (pair.client.clone(), pair.server.clone());
    let opening_client = tokio::spawn(async move {
        let mut out = Vec::new();
        for i in 0..EACH {
            out.push(
                client
                    .create_channel(format!("client-{i}"), ChannelOptions::default())
                    .await
                    .unwrap(),
            );
        }
        out
    });
    let opening_server = tokio::spawn(async move {
        let mut out = Vec::new();
        for i in 0..EACH {
            out.push(
                server
                    .create_channel(format!("server-{i}"), ChannelOptions::default())
                    .await
                    .unwrap(),
            );
        }
        out
    });
    let mut at_server = Vec::new();
    let mut at_client = Vec::new();
    for _ in 0..EACH {
        at_server.push(accept(&mut pair.server_events).await);
        at_client.push(accept(&mut pair.client_events).await);
    }
    let client_channels = opening_client.await.unwrap();
    let server_channels = opening_server.await.unwrap();

    let mut ids = BTreeSet::new();
    for channel in &client_channels {
        assert_eq!(channel.id().get() % 2, 0, "the DTLS client opens even ids");
        assert!(ids.insert(channel.id()));
    }
    for channel in &server_channels {
        assert_eq!(channel.id().get() % 2, 1, "the DTLS server opens odd ids");
        assert!(ids.insert(channel.id()));
    }
    // Every channel reaches the side that did not open it, under its own label.
    for channel in client_channels.iter().chain(&server_channels) {
        channel.send_text(channel.label().to_owned()).await.unwrap();
    }
    for channel in at_server.iter_mut().chain(&mut at_client) {
        let label = channel.label().to_owned();
        assert_eq!(next_message(channel).await, Message::Text(label));
    }
    assert_eq!(pair.client.stats().refused_opens, 0);
    assert_eq!(pair.server.stats().refused_opens, 0);
}
