//! Video through a seeded lossy, jittery path in virtual time, with a fixed playout delay
//! long enough for every surviving packet: the frames that come out are exactly the frames
//! whose packets all arrived and whose reference chain (back to a keyframe) is intact.

mod network_model;

use std::collections::BTreeSet;
use std::time::Duration;

use network_model::{JitterModel, LossModel, Media, Scenario, Trace, drive, generate};
use strata_jitter::{Config, DelayMode, JitterBuffer};

fn expected_frames(trace: &Trace) -> BTreeSet<usize> {
    let mut complete = vec![true; trace.frames];
    for packet in &trace.packets {
        if packet.arrival_us.is_none() {
            complete[packet.frame] = false;
        }
    }
    let mut decodable = false;
    let mut expected = BTreeSet::new();
    for (frame, &whole) in complete.iter().enumerate() {
        let keyframe = frame % 60 == 0;
        decodable = whole && (keyframe || decodable);
        if decodable {
            expected.insert(frame);
        }
    }
    expected
}

fn run(seed: u64, loss: LossModel) {
    let mut scenario = Scenario::new("video", Media::Video, seed);
    scenario.duration_s = 20.0;
    scenario.jitter = JitterModel::Normal { sigma_ms: 20.0 };
    scenario.loss = loss;
    let trace = generate(&scenario);
    let mut config = Config::video();
    config.delay = DelayMode::Fixed(Duration::from_millis(400));
    config.nack.enabled = false;
    let mut buffer = JitterBuffer::new(config).unwrap();
    let result = drive(&mut buffer, &trace, false);

    let delivered: BTreeSet<usize> = result
        .order
        .iter()
        .map(|&index| trace.packets[index].frame)
        .collect();
    let expected = expected_frames(&trace);
    assert_eq!(
        delivered, expected,
        "seed {seed}: frames delivered differ from frames complete and decodable"
    );
    assert_eq!(result.frames_completed, expected.len());
    assert_eq!(result.duplicates_delivered, 0);
    assert!(result.order.windows(2).all(|w| w[0] < w[1]));
    // Frames lost whole never reach the buffer, so it can count at most the others.
    let dropped = result.stats.streams.frames_dropped;
    assert!(dropped <= (trace.frames - expected.len()) as u64);
    assert_eq!(dropped == 0, expected.len() == trace.frames, "seed {seed}");
}

#[test]
fn every_frame_completes_on_a_lossless_jittery_path() {
    for seed in 1..=3 {
        run(seed, LossModel::None);
    }
}

#[test]
fn frames_complete_iff_all_packets_arrive_and_the_chain_is_intact_under_random_loss() {
    for seed in 1..=3 {
        run(seed, LossModel::Random(0.01));
    }
}

#[test]
fn frames_complete_iff_all_packets_arrive_and_the_chain_is_intact_under_bursty_loss() {
    for seed in 1..=3 {
        run(
            seed,
            LossModel::Bursty {
                p_enter: 0.005,
                p_leave: 0.4,
            },
        );
    }
}
