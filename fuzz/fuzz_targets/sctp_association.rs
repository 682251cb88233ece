//! Two sans-IO SCTP associations driven by the input: loss, corruption, forgery, timers.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_datachannel::fuzzing::sctp_association(data));
