//! Trickled candidates added to a negotiated session in any order.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_sdp::fuzz::trickle(data));
