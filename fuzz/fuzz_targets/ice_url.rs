//! ICE server URL parsing (stun:, turn:, turn:user:pass@host).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_ice::url::fuzz_parse(data));
