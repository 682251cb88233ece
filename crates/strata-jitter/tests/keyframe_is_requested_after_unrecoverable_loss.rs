//! After a video packet is lost for good, frames up to the next keyframe are dropped and
//! a keyframe request goes out, rate-limited; decoding resumes at the keyframe.

mod network_model;

use std::time::Duration;

use network_model::{Media, Scenario, drive, generate};
use strata_jitter::{Config, DelayMode, JitterBuffer};

#[test]
fn an_unrecoverable_loss_drops_frames_until_the_next_keyframe_and_requests_one() {
    let mut scenario = Scenario::new("keyframe", Media::Video, 1);
    scenario.duration_s = 4.0;
    let mut trace = generate(&scenario);
    // Lose one packet in the middle of frame 10 (of 120; keyframes are frames 0 and 60).
    let victim = trace.packets.iter().position(|p| p.frame == 10).unwrap() + 1;
    trace.packets[victim].arrival_us = None;

    let mut config = Config::video();
    config.nack.enabled = false;
    config.delay = DelayMode::Fixed(Duration::from_millis(100));
    config.keyframe_request_interval = Duration::from_millis(300);
    let mut buffer = JitterBuffer::new(config).unwrap();
    let result = drive(&mut buffer, &trace, false);

    let frames: Vec<usize> = result
        .order
        .iter()
        .map(|&i| trace.packets[i].frame)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let expected: Vec<usize> = (0..10).chain(60..120).collect();
    assert_eq!(frames, expected);

    // Frame 10's deadline is about 333 ms + 100 ms + 150 ms lateness; requests follow
    // while frames keep being dropped, at least 300 ms apart, and stop at the keyframe.
    let requests = &result.keyframe_requests;
    assert!(!requests.is_empty());
    assert!(
        requests[0] >= 500_000 && requests[0] < 700_000,
        "{requests:?}"
    );
    assert!(
        requests.windows(2).all(|w| w[1] - w[0] >= 300_000),
        "{requests:?}"
    );
    assert!(
        requests.iter().all(|&t| t < 2_000_000 + 300_000),
        "{requests:?}"
    );
    let stats = result.stats.streams;
    assert_eq!(stats.keyframe_requests, requests.len() as u64);
    assert_eq!(stats.frames_dropped, 50);
}

#[test]
fn a_stream_that_starts_mid_gop_requests_a_keyframe() {
    let mut scenario = Scenario::new("mid-gop", Media::Video, 2);
    scenario.duration_s = 3.0;
    let mut trace = generate(&scenario);
    // The receiver joins at frame 5: everything before is gone.
    for packet in trace.packets.iter_mut().filter(|p| p.frame < 5) {
        packet.arrival_us = None;
    }
    let mut config = Config::video();
    config.nack.enabled = false;
    let mut buffer = JitterBuffer::new(config).unwrap();
    let result = drive(&mut buffer, &trace, false);
    assert!(!result.keyframe_requests.is_empty());
    let first = result.order.first().map(|&i| trace.packets[i].frame);
    assert_eq!(first, Some(60));
}
