//! RTP round trip: a parsed packet serializes back to an equal packet.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_media::fuzzing::rtp_round_trip(data));
