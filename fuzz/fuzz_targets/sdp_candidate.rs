//! ICE candidate attribute parsing and its round trip.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_sdp::fuzz::candidate(data));
