//! Ogg/Opus streams: the reader on arbitrary bytes, and what reads written back.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_media::fuzzing::ogg_opus_read(data));
