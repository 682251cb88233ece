//! RTCP round trip: parsed packets serialize back to equal packets.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_media::fuzzing::rtcp_round_trip(data));
