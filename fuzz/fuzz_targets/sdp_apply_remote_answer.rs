//! Negotiation: an arbitrary remote answer applied to our offer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_sdp::fuzz::apply_remote_answer(data));
