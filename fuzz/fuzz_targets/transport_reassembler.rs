//! The transport's reassembler of split messages.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata::fuzzing::transport_reassembler(data));
