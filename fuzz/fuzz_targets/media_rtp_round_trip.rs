//! RTP packets: what parses serializes back to itself.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_media::fuzzing::rtp_round_trip(data));
