//! Signaling: a server frame as the client parses it (response or notification).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_signal::fuzzing::server_frame(data));
