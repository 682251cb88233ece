//! The RFC 7983 first-byte demultiplexer, and the authentication of STUN Binding requests
//! that runs behind it before webrtc-ice sees them.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    strata_ice::demux::fuzz_classify(data);
    strata_ice::stun_auth::fuzz_check(data);
});
