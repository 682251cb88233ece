//! SDP round trip: a parsed description serializes and parses back to itself.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_sdp::fuzz::round_trip(data));
