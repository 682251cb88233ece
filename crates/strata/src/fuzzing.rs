//! Fuzz-target bodies for what the facade parses itself (feature `fuzzing`; the targets
//! that call them are in `fuzz/`).

/// Transport configuration files: any bytes, as JSON and as TOML, parse and validate
/// without panicking, and a valid configuration survives a JSON round trip.
///
/// # Panics
///
/// When a valid configuration does not round-trip: a bug.
pub fn transport_config(data: &[u8]) {
    crate::transport::fuzz_config(data);
}

/// The transport's message reassembler: any bytes, split into frames at `0xff`, are
/// handled without panicking, and what completes stays within the size limit.
///
/// # Panics
///
/// When a completed message exceeds the limit: a bug.
pub fn transport_reassembler(data: &[u8]) {
    crate::transport::fuzz_reassembler(data);
}
