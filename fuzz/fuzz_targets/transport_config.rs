//! Transport configuration files (JSON and TOML), parsed and validated.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata::fuzzing::transport_config(data));
