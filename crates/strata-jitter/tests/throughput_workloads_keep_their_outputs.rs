//! The push + pop benchmark's two workloads (`benches/jitter_throughput.rs`) give exactly
//! the outputs they gave when these digests were taken: every media output's sequence
//! numbers, timestamps, payload sizes and playout time, every control output, every packet
//! outcome, every wake-up time and the final counters. Speed work on the hot path must
//! leave them alone; a change meant to alter behaviour updates the digests in the same
//! commit and says why.

mod throughput_workload;

use strata_jitter::{ClockRate, Config};
use throughput_workload::{Summary, audio_workload, summarize, video_workload};

#[test]
fn audio_in_order_gives_the_pinned_outputs() {
    let summary = summarize(&Config::audio(ClockRate::OPUS), &audio_workload());
    assert_eq!(
        summary,
        Summary {
            outputs: 100_000,
            media: 99_999,
            digest: 0x90b5_f52a_830c_f061,
        }
    );
}

#[test]
fn video_with_reordering_gives_the_pinned_outputs() {
    let summary = summarize(&Config::video(), &video_workload());
    assert_eq!(
        summary,
        Summary {
            outputs: 22_857,
            media: 19_999,
            digest: 0xe429_ac41_0f9a_0a54,
        }
    );
}
