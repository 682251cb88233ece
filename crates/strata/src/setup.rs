//! When each step of a connection's setup happened, as the driver saw it.

use std::time::Instant;

/// The instants at which a connection passed each step of its first setup, as its driver
/// saw them (each is set once, the first time; later renegotiations and ICE restarts do
/// not move them). Compare them with an instant of your own, such as when you called
/// `create_offer`, to see where setup time goes; every step is also logged at `debug`
/// level with its name.
///
/// The steps overlap across the two peers of a connection: the answerer's ICE checks start
/// before the offerer has its answer, and the side in the DTLS client role (`a=setup:active`,
/// normally the answerer) starts the handshake first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SetupTimeline {
    /// Our first description was applied (`set_local_description`).
    pub local_description: Option<Instant>,
    /// The peer's first description was applied (`set_remote_description`).
    pub remote_description: Option<Instant>,
    /// ICE connectivity checks started (both descriptions known).
    pub ice_checking: Option<Instant>,
    /// ICE reported a usable pair (`connected` or `completed`).
    pub ice_connected: Option<Instant>,
    /// The DTLS handshake started.
    pub dtls_started: Option<Instant>,
    /// The DTLS handshake completed: the peer's certificate matched its fingerprint.
    pub dtls_connected: Option<Instant>,
    /// The SCTP association started over DTLS.
    pub sctp_started: Option<Instant>,
    /// The SCTP handshake completed (data channels can open).
    pub sctp_established: Option<Instant>,
}

/// A step of [`SetupTimeline`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SetupStep {
    LocalDescription,
    RemoteDescription,
    IceChecking,
    IceConnected,
    DtlsStarted,
    DtlsConnected,
    SctpStarted,
    SctpEstablished,
}

impl SetupTimeline {
    /// Records `step` at `now` unless it was recorded before; returns whether it was new.
    pub(crate) fn mark(&mut self, step: SetupStep, now: Instant) -> bool {
        let slot = match step {
            SetupStep::LocalDescription => &mut self.local_description,
            SetupStep::RemoteDescription => &mut self.remote_description,
            SetupStep::IceChecking => &mut self.ice_checking,
            SetupStep::IceConnected => &mut self.ice_connected,
            SetupStep::DtlsStarted => &mut self.dtls_started,
            SetupStep::DtlsConnected => &mut self.dtls_connected,
            SetupStep::SctpStarted => &mut self.sctp_started,
            SetupStep::SctpEstablished => &mut self.sctp_established,
        };
        let new = slot.is_none();
        if new {
            *slot = Some(now);
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_step_keeps_the_first_instant_it_was_marked_at() {
        let start = Instant::now();
        let mut timeline = SetupTimeline::default();
        assert!(timeline.mark(SetupStep::IceConnected, start));
        assert!(!timeline.mark(SetupStep::IceConnected, start + Duration::from_secs(1)));
        assert!(timeline.mark(SetupStep::SctpEstablished, start + Duration::from_secs(2)));
        assert_eq!(timeline.ice_connected, Some(start));
        assert_eq!(
            timeline.sctp_established,
            Some(start + Duration::from_secs(2))
        );
        assert_eq!(timeline.dtls_started, None);
    }
}
