//! The DCEP channel state machine driven by arbitrary messages and commands.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_datachannel::fuzzing::dcep_state_machine(data));
