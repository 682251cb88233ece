//! Negotiation: an arbitrary remote offer applied and answered.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_sdp::fuzz::answer_remote_offer(data));
