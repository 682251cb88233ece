//! DTLS record validation in front of the protocol engine.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_dtls_srtp::record::fuzz_validate(data));
