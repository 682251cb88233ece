//! RTP header parsing (RFC 3550, RFC 8285 extensions) in front of everything media.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_media::fuzzing::rtp_parse(data));
