//! Signaling: a client frame as the server parses it (JSON-RPC request).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_signal::fuzzing::request_frame(data));
