//! IVF files: the reader on arbitrary bytes, and what reads written back.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_media::fuzzing::ivf_read(data));
