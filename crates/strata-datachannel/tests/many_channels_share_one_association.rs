//! More than a hundred channels run at once on one association.

mod support;

use strata_datachannel::{ChannelOptions, Message};
use support::{accept, next_message, pair};

const CHANNELS: usize = 128;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_a_hundred_channels_run_at_once() {
    let mut pair = pair().await;
    let mut local = Vec::new();
    for i in 0..CHANNELS {
        local.push(
            pair.client
                .create_channel(format!("c{i}"), ChannelOptions::default())
                .await
                .unwrap(),
        );
    }
    let mut remote = Vec::new();
    for _ in 0..CHANNELS {
        remote.push(accept(&mut pair.server_events).await);
    }
    assert_eq!(pair.server.stats().open_channels, CHANNELS);
    for channel in &local {
        channel
            .send_text(format!("to {}", channel.label()))
            .await
            .unwrap();
    }
    for channel in &mut remote {
        let expected = format!("to {}", channel.label());
        assert_eq!(next_message(channel).await, Message::Text(expected));
        channel
            .send_text(format!("from {}", channel.label()))
            .await
            .unwrap();
    }
    for channel in &mut local {
        let expected = format!("from {}", channel.label());
        assert_eq!(next_message(channel).await, Message::Text(expected));
    }
}
