//! A peer opening thousands of channels gets the ones under our cap and refusals for the
//! rest; our channel count never exceeds the cap and the association keeps working.

mod support;

use strata_datachannel::{
    Association, AssociationConfig, AssociationEvent, ChannelCloseReason, ChannelEvent,
    ChannelOptions, DtlsRole, Message,
};
use support::{PATIENCE, expect_established, next_event, next_message, udp_pair};
use tokio::time::timeout;

const CAP: usize = 100;
/// Twenty times the cap.
const FLOOD: usize = 2000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_flood_is_refused_beyond_the_cap_and_stays_bounded() {
    let (a, b) = udp_pair().await;
    let mut flooder_config = AssociationConfig::new(DtlsRole::Client);
    flooder_config.max_channels = 65_535;
    let mut victim_config = AssociationConfig::new(DtlsRole::Server);
    victim_config.max_channels = CAP;
    let (flooder, mut flooder_events) = Association::new(a, flooder_config).unwrap();
    let (victim, mut victim_events) = Association::new(b, victim_config).unwrap();
    expect_established(&mut flooder_events).await;
    expect_established(&mut victim_events).await;

    let mut sent = Vec::new();
    for i in 0..FLOOD {
        sent.push(
            flooder
                .create_channel(format!("f{i}"), ChannelOptions::default())
                .await
                .unwrap(),
        );
    }
    let mut accepted = Vec::new();
    let mut refused_events = 0;
    // Refusals beyond the 64 unread events are only counted, so the loop also re-reads
    // the counters while no event comes.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while accepted.len() < CAP || victim.stats().refused_opens < (FLOOD - CAP) as u64 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the flood was not absorbed: {:?}",
            victim.stats()
        );
        match timeout(std::time::Duration::from_millis(200), victim_events.recv()).await {
            Ok(Some(AssociationEvent::ChannelOpened(channel))) => accepted.push(channel),
            Ok(Some(AssociationEvent::OpenRefused { .. })) => refused_events += 1,
            Ok(other) => panic!("unexpected {other:?}"),
            Err(_) => {}
        }
        assert!(victim.stats().open_channels <= CAP);
    }
    // The counters can be complete before the events are read: read what is queued.
    while let Ok(event) = timeout(std::time::Duration::from_millis(200), victim_events.recv()).await
    {
        match event {
            Some(AssociationEvent::ChannelOpened(channel)) => accepted.push(channel),
            Some(AssociationEvent::OpenRefused { .. }) => refused_events += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(accepted.len(), CAP);
    assert_eq!(victim.stats().refused_opens, (FLOOD - CAP) as u64);
    assert!(refused_events > 0);

    // The flooder sees its refused channels fail as refused opens.
    let mut refused = 0;
    let mut opened = Vec::new();
    for mut channel in sent {
        let outcome = loop {
            match next_event(&mut channel).await {
                ChannelEvent::BufferedAmountLow => {}
                other => break other,
            }
        };
        match outcome {
            ChannelEvent::Closed(ChannelCloseReason::OpenRefused) => refused += 1,
            ChannelEvent::Open => opened.push(channel),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(refused, FLOOD - CAP);
    assert_eq!(opened.len(), CAP);

    // Both associations still carry data.
    opened[0].send_text("alive").await.unwrap();
    let label = opened[0].label().to_owned();
    let mut peer = accepted.into_iter().find(|c| c.label() == label).unwrap();
    assert_eq!(next_message(&mut peer).await, Message::Text("alive".into()));
}
