//! Audio through a seeded lossy, jittery, reordering path in virtual time: every packet
//! that arrives before its playout time is played exactly once, in order, never before it
//! arrived; every other slot between played packets is reported as a gap, and a packet in
//! a gap arrived after its slot.

mod network_model;

use std::collections::HashSet;

use network_model::{JitterModel, LossModel, Media, Scenario, drive, generate};
use strata_jitter::{ClockRate, Config, JitterBuffer};

fn check(scenario: &Scenario) {
    let trace = generate(scenario);
    let mut buffer = JitterBuffer::new(Config::audio(ClockRate::OPUS)).unwrap();
    let result = drive(&mut buffer, &trace, false);
    let name = scenario.name;

    assert_eq!(
        result.duplicates_delivered, 0,
        "{name}: a packet was played twice"
    );
    assert!(
        result.order.windows(2).all(|w| w[0] < w[1]),
        "{name}: packets were played out of order"
    );
    let concealed: std::collections::HashMap<usize, (i64, i64)> = result
        .concealed
        .iter()
        .map(|&(index, reported, playout)| (index, (reported, playout)))
        .collect();
    let mut arrived = 0;
    for (index, packet) in trace.packets.iter().enumerate() {
        let Some(arrival) = packet.arrival_us else {
            assert!(
                !result.delivered.contains_key(&index),
                "{name}: a lost packet was played"
            );
            continue;
        };
        arrived += 1;
        match (result.delivered.get(&index), concealed.get(&index)) {
            (Some(&playout), None) => assert!(
                playout >= arrival,
                "{name}: packet {index} played at {playout} before it arrived at {arrival}"
            ),
            (None, Some(&(reported, playout))) => assert!(
                arrival > reported || arrival > playout,
                "{name}: packet {index} arrived at {arrival}, before its slot \
                 (gap reported at {reported} for {playout})"
            ),
            (None, None) => {
                panic!("{name}: packet {index} arrived but was neither played nor concealed")
            }
            (Some(_), Some(_)) => panic!("{name}: packet {index} both played and concealed"),
        }
    }
    let undelivered = arrived - result.delivered.len();
    let stats = result.stats.streams;
    assert_eq!(
        undelivered as u64, stats.late,
        "{name}: every arrived packet not played is counted late"
    );
    let unique_concealed: HashSet<usize> = concealed.keys().copied().collect();
    assert_eq!(stats.concealed, unique_concealed.len() as u64);
}

#[test]
fn audio_is_played_once_in_order_under_normal_jitter_and_random_loss() {
    for seed in 1..=4 {
        let mut scenario = Scenario::new("normal-20", Media::Audio, seed);
        scenario.duration_s = 20.0;
        scenario.jitter = JitterModel::Normal { sigma_ms: 20.0 };
        scenario.loss = LossModel::Random(0.03);
        check(&scenario);
    }
}

#[test]
fn audio_is_played_once_in_order_under_pareto_jitter_bursty_loss_and_reordering() {
    for seed in 1..=4 {
        let mut scenario = Scenario::new("pareto-bursty", Media::Audio, seed);
        scenario.duration_s = 20.0;
        scenario.jitter = JitterModel::Pareto {
            scale_ms: 10.0,
            alpha: 2.0,
        };
        scenario.loss = LossModel::Bursty {
            p_enter: 0.01,
            p_leave: 0.3,
        };
        scenario.reorder = 0.05;
        check(&scenario);
    }
}

#[test]
fn audio_is_played_once_in_order_across_the_sequence_wrap_with_a_delay_step_and_drift() {
    let mut scenario = Scenario::new("wrap-step-drift", Media::Audio, 9);
    scenario.duration_s = 20.0;
    scenario.first_seq = 65_000;
    scenario.first_ts = u32::MAX - 100_000;
    scenario.jitter = JitterModel::Uniform { max_ms: 40.0 };
    scenario.delay_step = Some((10.0, 200.0));
    scenario.drift_ppm = 100.0;
    check(&scenario);
}
