//! SRTP/SRTCP unprotect on a keyed session with our validation in front.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_dtls_srtp::srtp::fuzz_unprotect(data));
