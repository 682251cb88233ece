//! DCEP (RFC 8832) message decoding and its round trip.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_datachannel::fuzzing::dcep_decode(data));
