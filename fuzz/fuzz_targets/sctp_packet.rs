//! Our SCTP packet parser: never panics, and what parses writes back unchanged.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_datachannel::fuzzing::sctp_packet(data));
