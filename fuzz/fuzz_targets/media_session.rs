//! A media session fed arbitrary RTP, RTCP, commands and time steps.
#![no_main]

use std::sync::LazyLock;
use std::time::Instant;

/// The virtual clock's origin, read once: the body itself reads no clock.
static START: LazyLock<Instant> = LazyLock::new(Instant::now);

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_media::fuzzing::session_inputs(*START, data));
