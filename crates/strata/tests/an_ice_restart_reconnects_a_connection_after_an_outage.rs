//! The path between two peers goes down (every datagram dropped at one peer's socket)
//! until both see the connection lost. An ICE restart then brings the same connection
//! back, with its data channel: whether the restart is negotiated after the path is
//! back, or while it is still down.

mod peers;

use std::time::Duration;

use peers::{connected_with_channel, loopback, negotiate, next_message};
use strata::{
    ChannelOptions, Configuration, Impairment, Message, NetworkImpairment, Outage,
    PeerConnectionState,
};
use strata_interop::netns::run_isolated;

/// A configuration that notices a lost path within a second.
fn quick_to_notice() -> Configuration {
    let mut config = loopback();
    config.ice.disconnected_timeout = Duration::from_millis(800);
    config.ice.failed_timeout = Duration::from_millis(1600);
    config.ice.keepalive_interval = Duration::from_millis(200);
    config
}

fn lost(state: PeerConnectionState) -> bool {
    matches!(
        state,
        PeerConnectionState::Disconnected | PeerConnectionState::Failed
    )
}

async fn outage_then_restart(restart_while_down: bool) {
    let cut = Outage::new();
    let mut b_config = quick_to_notice();
    b_config.ice.impairment = Some(NetworkImpairment {
        outage: cut.clone(),
        ..NetworkImpairment::symmetric(Impairment::default(), 3)
    });
    let (mut a, mut b, a_channel, b_channel) = connected_with_channel(
        quick_to_notice(),
        b_config,
        "chat",
        ChannelOptions::default(),
    )
    .await;
    a_channel.send_text("before").await.unwrap();
    assert_eq!(
        next_message(&b_channel).await,
        Some(Message::Text("before".into()))
    );

    cut.begin();
    a.wait_for(lost).await;
    b.wait_for(lost).await;
    if !restart_while_down {
        cut.end();
    }
    a.pc.restart_ice().await.expect("ICE restarts");
    negotiate(&a.pc, &b.pc).await;
    if restart_while_down {
        tokio::time::sleep(Duration::from_millis(300)).await;
        cut.end();
    }
    a.wait_for(|s| s == PeerConnectionState::Connected).await;
    b.wait_for(|s| s == PeerConnectionState::Connected).await;

    a_channel.send_text("after, to b").await.unwrap();
    b_channel.send_text("after, to a").await.unwrap();
    assert_eq!(
        next_message(&b_channel).await,
        Some(Message::Text("after, to b".into()))
    );
    assert_eq!(
        next_message(&a_channel).await,
        Some(Message::Text("after, to a".into()))
    );
    assert!(cut.dropped() > 0, "the outage dropped nothing");
}

#[test]
fn a_restart_after_the_path_is_back_reconnects() {
    run_isolated(|| outage_then_restart(false));
}

#[test]
fn a_restart_while_the_path_is_down_reconnects_once_it_is_back() {
    run_isolated(|| outage_then_restart(true));
}
