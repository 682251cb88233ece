//! SRTP/SRTCP round trip: protect then unprotect gives the packet back.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_dtls_srtp::srtp::fuzz_round_trip(data));
