//! RTCP compounds: our parser on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_media::fuzzing::rtcp_parse(data));
