//! What a peer connection reports, as one closed enum.

use crate::data_channel::DataChannel;
use crate::description::IceCandidateInit;
use crate::track::TrackRemote;

pub use strata_ice::IceConnectionState;
pub use strata_sdp::SignalingState;

/// The aggregate connection state (W3C `RTCPeerConnectionState`): ICE and DTLS together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerConnectionState {
    /// Nothing started.
    New,
    /// ICE is checking or DTLS is handshaking.
    Connecting,
    /// ICE works and DTLS is established.
    Connected,
    /// ICE lost connectivity; it may come back.
    Disconnected,
    /// ICE or DTLS failed; an ICE restart may recover.
    Failed,
    /// Closed.
    Closed,
}

/// Why a connection failed, when the cause is Strata itself rather than the network or the
/// peer (those show as ICE or DTLS failures).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Failure {
    /// A task of the connection panicked: a bug in Strata or in a crate below it. The
    /// connection does not go on silently without that task; it fails.
    #[error("the connection's {task} task panicked: {message}")]
    Panicked {
        /// Which task: `driver` (the connection itself), `dtls handshake`,
        /// `data channel creation`.
        task: &'static str,
        /// The panic message, when it was a string.
        message: String,
    },
    /// A layer's own task stopped without closing, which only a panic inside it (in
    /// Strata or an upstream crate) does.
    #[error("the {layer} stopped without closing")]
    LayerStopped {
        /// Which layer: `data channel association`.
        layer: &'static str,
    },
}

/// Where candidate gathering is (W3C `RTCIceGatheringState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IceGatheringState {
    /// Not started (it starts with the first local description).
    New,
    /// Candidates are being gathered.
    Gathering,
    /// Every candidate has been reported.
    Complete,
}

/// Everything a [`PeerConnection`](crate::PeerConnection) reports, in order.
#[derive(Debug)]
#[non_exhaustive]
pub enum PeerConnectionEvent {
    /// A local candidate to send to the peer (trickle ICE). End-of-candidates is reported
    /// as [`IceGatheringStateChange`](Self::IceGatheringStateChange) to `Complete`.
    IceCandidate(IceCandidateInit),
    /// Gathering moved on.
    IceGatheringStateChange(IceGatheringState),
    /// A STUN or TURN server could not be used (W3C `icecandidateerror`).
    IceServerError {
        /// The server URL (without credentials).
        server: String,
        /// What went wrong.
        reason: String,
    },
    /// ICE connectivity changed.
    IceConnectionStateChange(IceConnectionState),
    /// The aggregate state changed.
    ConnectionStateChange(PeerConnectionState),
    /// The connection failed for a reason of Strata's own, reported right after
    /// [`ConnectionStateChange`](Self::ConnectionStateChange) to
    /// [`Failed`](PeerConnectionState::Failed). The connection stays failed; close it and
    /// create a new one.
    Failed(Failure),
    /// The offer/answer state changed.
    SignalingStateChange(SignalingState),
    /// The peer opened a data channel.
    DataChannel(DataChannel),
    /// The peer started sending a track: read its samples from the handle.
    Track(TrackRemote),
    /// Something changed that needs an offer/answer exchange (the first data channel, a
    /// track added or removed, an ICE restart).
    NegotiationNeeded,
}
