//! SDP parsing: any bytes give a description or a typed error.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_sdp::fuzz::parse(data));
