//! The SCTP packet guard in front of webrtc-sctp (chunk lengths, FORWARD-TSN, CRC).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_datachannel::fuzzing::sctp_guard(data));
