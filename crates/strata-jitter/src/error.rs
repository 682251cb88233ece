//! The crate's one error type, classified by who is at fault.

/// Everything that can go wrong when using a [`JitterBuffer`](crate::JitterBuffer).
///
/// Packets from the network never produce an error: a duplicate, late, out-of-window or
/// flooding packet is a normal event on a lossy path, so it is counted in
/// [`Stats`](crate::Stats) and reported in the [`PacketOutcome`](crate::PacketOutcome) of
/// [`JitterBuffer::handle_packet`](crate::JitterBuffer::handle_packet). What remains is
/// caller misuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Caller misuse: a [`Config`](crate::Config) field is out of its documented range.
    #[error("invalid jitter-buffer configuration: `{field}` {problem}")]
    InvalidConfig {
        /// The offending field, as spelled in `Config`.
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// Caller misuse: a clock rate of zero Hz.
    #[error("an RTP clock rate must be at least 1 Hz")]
    ZeroClockRate,
}
