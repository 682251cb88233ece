//! Audio between two transports of one room: each adds a track toward the other on the
//! connection the mesh formed, every sample arrives intact and in order, and the side
//! configured with `jitter_buffer_ms` holds its samples that long. `peer_stats` shows
//! both jitter buffers, and a removed track ends on the other side.

mod peers;
mod room_harness;

use std::time::{Duration, Instant};

use peers::media::{AUDIO_PACKET, next_sample};
use peers::{indexed_payload, read_indexed};
use room_harness::{config, connected, id, next, server, start};
use strata::{
    Codec, Error, PeerId, Sample, TrackKind, TrackLocal, TrackLocalInit, TrackRemote, Transport,
    TransportEvent, TransportEvents,
};

const SAMPLES: u64 = 100;
const FIXED: Duration = Duration::from_millis(150);

/// Writes [`SAMPLES`] indexed Opus packets paced like a microphone; returns when each
/// was handed over.
async fn speak(track: TrackLocal) -> Vec<Instant> {
    let mut tick = tokio::time::interval(AUDIO_PACKET);
    let mut sent = Vec::new();
    for index in 0..SAMPLES {
        tick.tick().await;
        sent.push(Instant::now());
        track
            .write_sample(Sample::new(indexed_payload(index, 80), AUDIO_PACKET))
            .await
            .expect("the sample is accepted");
    }
    sent
}

/// Reads [`SAMPLES`] samples, checking that each is the next one and intact; returns
/// when each was read.
async fn listen(track: TrackRemote) -> Vec<Instant> {
    let mut read = Vec::new();
    for index in 0..SAMPLES {
        let sample = next_sample(&track).await;
        assert_eq!(sample.codec, Codec::Opus);
        assert_eq!(read_indexed(&sample.data), Some(index), "sample {index}");
        read.push(Instant::now());
    }
    read
}

async fn track_from(events: &mut TransportEvents, from: &PeerId) -> TrackRemote {
    let (peer, track) = next(events, "a track", |event| match event {
        TransportEvent::TrackReceived { peer, track } => Some((peer, track)),
        _ => None,
    })
    .await;
    assert_eq!(&peer, from);
    assert_eq!(track.kind(), TrackKind::Audio);
    track
}

/// The median time a sample spent between its write and its read.
fn median_hold(sent: &[Instant], read: &[Instant]) -> Duration {
    let mut holds: Vec<Duration> = sent
        .iter()
        .zip(read)
        .map(|(s, r)| r.duration_since(*s))
        .collect();
    holds.sort();
    holds[holds.len() / 2]
}

async fn inbound_target_delay(transport: &Transport, peer: &PeerId) -> Duration {
    let stats = transport.peer_stats(peer).await.expect("the peer's stats");
    let [inbound] = &stats.media.inbound[..] else {
        panic!("one inbound stream expected: {:?}", stats.media.inbound);
    };
    assert_eq!(inbound.packets_received, SAMPLES);
    assert_eq!(inbound.packets_lost, 0);
    inbound.jitter_buffer_target_delay
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_tracks_arrive_intact_and_play_out_after_the_configured_jitter_buffer() {
    let server = server().await;
    let url = server.ws_url();
    let (alice, mut alice_events) = start(config(&url, "call", "alice")).await;
    let mut fixed = config(&url, "call", "bob");
    fixed.jitter_buffer_ms = Some(FIXED.as_millis() as u64);
    let (bob, mut bob_events) = start(fixed).await;
    assert_eq!(connected(&mut alice_events, 1).await, [id("bob")]);
    assert_eq!(connected(&mut bob_events, 1).await, [id("alice")]);

    // A track is reported when its first sample arrives: both start speaking at once.
    let to_bob = alice
        .add_track(
            &id("bob"),
            TrackLocalInit::new(TrackKind::Audio, "alice", "mic"),
        )
        .await
        .expect("alice's track");
    let to_alice = bob
        .add_track(
            &id("alice"),
            TrackLocalInit::new(TrackKind::Audio, "bob", "mic"),
        )
        .await
        .expect("bob's track");
    assert_eq!(to_bob.codec(), Some(Codec::Opus));
    let speaking_to_bob = tokio::spawn(speak(to_bob));
    let to_alice_handle = to_alice.clone();
    let speaking_to_alice = tokio::spawn(speak(to_alice));
    let at_bob = track_from(&mut bob_events, &id("alice")).await;
    let at_alice = track_from(&mut alice_events, &id("bob")).await;
    let (read_by_bob, read_by_alice) = tokio::join!(listen(at_bob), listen(at_alice.clone()));
    let sent_to_bob = speaking_to_bob.await.expect("alice speaks");
    let sent_to_alice = speaking_to_alice.await.expect("bob speaks");

    // Bob holds every sample the configured time past the fastest transit (well under
    // a millisecond on loopback); Alice's buffer adapts to the measured jitter.
    let bob_target = inbound_target_delay(&bob, &id("alice")).await;
    assert!(
        bob_target >= FIXED && bob_target <= FIXED + Duration::from_millis(20),
        "bob's jitter buffer holds {bob_target:?}, configured {FIXED:?}"
    );
    let bob_hold = median_hold(&sent_to_bob, &read_by_bob);
    assert!(
        bob_hold + Duration::from_millis(30) >= FIXED,
        "bob read samples {bob_hold:?} after they were written (median)"
    );
    let alice_target = inbound_target_delay(&alice, &id("bob")).await;
    let alice_hold = median_hold(&sent_to_alice, &read_by_alice);
    eprintln!(
        "held: bob {bob_hold:?} (target {bob_target:?}), alice {alice_hold:?} (target {alice_target:?})"
    );

    // Bob takes his track off the connection: Alice's ends.
    bob.remove_track(&id("alice"), &to_alice_handle)
        .await
        .expect("bob's track removed");
    tokio::time::timeout(room_harness::PATIENCE, async {
        while at_alice.read_sample().await.is_some() {}
    })
    .await
    .expect("alice's track ended after bob removed his");

    match alice.peer_stats(&id("nobody")).await {
        Err(Error::PeerNotFound(peer)) => assert_eq!(peer, id("nobody")),
        other => panic!("expected PeerNotFound, got {other:?}"),
    }
    alice.shutdown().await;
    bob.shutdown().await;
    server.shutdown().await;
}
