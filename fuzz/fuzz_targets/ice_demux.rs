//! The RFC 7983 first-byte demultiplexer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_ice::demux::fuzz_classify(data));
