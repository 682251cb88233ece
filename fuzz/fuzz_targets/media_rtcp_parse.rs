//! RTCP compound packet parsing (SR, RR, SDES, BYE, NACK, PLI, FIR, transport-wide feedback).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_media::fuzzing::rtcp_parse(data));
