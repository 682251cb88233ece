//! Our DTLS handshake, client against server, with datagrams dropped, repeated, corrupted
//! or replaced and timers fired as the input decides.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_dtls_srtp::fuzzing::dtls_handshake(data));
