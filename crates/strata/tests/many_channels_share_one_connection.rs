//! Many channels on one connection, opened from either side, at the same time.

mod peers;

use std::collections::HashSet;

use peers::{PATIENCE, loopback, negotiate, next_message, pair, wait_open};
use strata::{ChannelOptions, Message, PeerConnectionState};
use strata_interop::netns::run_isolated;

#[test]
fn a_hundred_and_twenty_channels_carry_their_own_messages() {
    run_isolated(|| async {
        let (mut a, mut b) = pair(loopback(), loopback()).await;
        let first =
            a.pc.create_data_channel("channel-0", ChannelOptions::default())
                .await
                .unwrap();
        negotiate(&a.pc, &b.pc).await;
        a.wait_for(|s| s == PeerConnectionState::Connected).await;
        let mut locals = vec![first];
        for i in 1..120 {
            locals.push(
                a.pc.create_data_channel(format!("channel-{i}"), ChannelOptions::default())
                    .await
                    .unwrap(),
            );
        }
        let mut remotes = Vec::new();
        for _ in 0..120 {
            remotes.push(b.accept().await);
        }
        for local in &locals {
            wait_open(local).await;
        }
        for local in &locals {
            local
                .send_text(format!("on {}", local.label()))
                .await
                .unwrap();
        }
        for remote in &remotes {
            assert_eq!(
                next_message(remote).await,
                Some(Message::Text(format!("on {}", remote.label())))
            );
        }
        let ids: HashSet<u16> = locals.iter().filter_map(strata::DataChannel::id).collect();
        assert_eq!(ids.len(), 120);
    });
}

#[test]
fn channels_opened_by_both_sides_at_once_never_collide() {
    run_isolated(|| async {
        let (mut a, mut b) = pair(loopback(), loopback()).await;
        let seed =
            a.pc.create_data_channel("seed", ChannelOptions::default())
                .await
                .unwrap();
        negotiate(&a.pc, &b.pc).await;
        let _ = b.accept().await;
        wait_open(&seed).await;
        // Both sides open 50 channels concurrently.
        let (from_a, from_b) = tokio::join!(async { futures_open(&a.pc, "a").await }, async {
            futures_open(&b.pc, "b").await
        },);
        let mut accepted_by_b = Vec::new();
        let mut accepted_by_a = Vec::new();
        for _ in 0..50 {
            accepted_by_b.push(b.accept().await);
            accepted_by_a.push(a.accept().await);
        }
        for channel in from_a.iter().chain(&from_b) {
            wait_open(channel).await;
        }
        let a_ids: HashSet<u16> = from_a.iter().filter_map(strata::DataChannel::id).collect();
        let b_ids: HashSet<u16> = from_b.iter().filter_map(strata::DataChannel::id).collect();
        assert_eq!((a_ids.len(), b_ids.len()), (50, 50));
        assert!(a_ids.is_disjoint(&b_ids), "ids collided");
        // Opposite parities, by DTLS role.
        assert!(
            a_ids
                .iter()
                .all(|id| id % 2 == a_ids.iter().next().unwrap() % 2)
        );
        for (channel, label) in from_a
            .iter()
            .map(|c| (c, "a"))
            .chain(from_b.iter().map(|c| (c, "b")))
        {
            channel
                .send_text(format!("{label}:{}", channel.label()))
                .await
                .unwrap();
        }
        for channel in accepted_by_b.iter().chain(&accepted_by_a) {
            let Some(Message::Text(text)) = tokio::time::timeout(PATIENCE, next_message(channel))
                .await
                .unwrap()
            else {
                panic!()
            };
            assert!(
                text.ends_with(channel.label()),
                "{text} on {}",
                channel.label()
            );
        }
    });
}

async fn futures_open(pc: &strata::PeerConnection, side: &str) -> Vec<strata::DataChannel> {
    let mut channels = Vec::new();
    for i in 0..50 {
        channels.push(
            pc.create_data_channel(format!("{side}-{i}"), ChannelOptions::default())
                .await
                .unwrap(),
        );
    }
    channels
}

#[test]
fn pre_negotiated_channels_with_the_same_id_talk_without_dcep() {
    run_isolated(|| async {
        let (mut a, mut b) = pair(loopback(), loopback()).await;
        let options = ChannelOptions {
            negotiated: Some(7),
            ..ChannelOptions::default()
        };
        let on_a =
            a.pc.create_data_channel("sync", options.clone())
                .await
                .unwrap();
        let on_b = b.pc.create_data_channel("sync", options).await.unwrap();
        negotiate(&a.pc, &b.pc).await;
        a.wait_for(|s| s == PeerConnectionState::Connected).await;
        b.wait_for(|s| s == PeerConnectionState::Connected).await;
        wait_open(&on_a).await;
        wait_open(&on_b).await;
        assert_eq!((on_a.id(), on_b.id()), (Some(7), Some(7)));
        on_a.send_text("ping").await.unwrap();
        assert_eq!(
            next_message(&on_b).await,
            Some(Message::Text("ping".into()))
        );
        on_b.send(vec![1u8, 2, 3]).await.unwrap();
        assert_eq!(
            next_message(&on_a).await,
            Some(Message::Binary(vec![1u8, 2, 3].into()))
        );
        // No DCEP: the peer announced no channel.
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(300), b.accept())
                .await
                .is_err()
        );
    });
}
