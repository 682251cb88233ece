//! The facade's error type: each layer's own error, plus misuse of the facade itself.

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A call that does not fit the current state (sending on a channel that is not open,
    /// creating an answer without a remote offer, ...).
    #[error("invalid state: {0}")]
    InvalidState(&'static str),
    /// A configuration that cannot work.
    #[error("invalid configuration: {0}")]
    InvalidConfig(&'static str),
    /// Negotiation failed: a malformed or incompatible description, or a call out of order.
    #[error(transparent)]
    Sdp(#[from] strata_sdp::Error),
    /// ICE failed or refused input.
    #[error(transparent)]
    Ice(#[from] strata_ice::Error),
    /// The DTLS handshake failed (a fingerprint mismatch included).
    #[error(transparent)]
    Dtls(#[from] strata_dtls_srtp::Error),
    /// The data channel layer failed or refused input.
    #[error(transparent)]
    DataChannel(#[from] strata_datachannel::Error),
    /// The media session refused a sample or request (a sample it cannot packetize, a
    /// full output queue, a feature the peer did not negotiate).
    #[error(transparent)]
    Media(#[from] strata_media::Error),
    /// The peer connection is closed.
    #[error("the peer connection is closed")]
    Closed,
    /// A [`TransportConfig`](crate::TransportConfig) value that cannot work (caller's
    /// mistake): a bad URL, a zero limit, an unparsable ICE server.
    #[error("invalid transport configuration `{field}`: {reason}")]
    InvalidTransportConfig {
        /// The setting, as named in configuration files.
        field: &'static str,
        /// Why it is refused.
        reason: String,
    },
    /// A configuration file could not be read or parsed (unknown fields included).
    #[error("cannot load the transport configuration from {path}")]
    ConfigFile {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong: I/O, or the JSON or TOML parser's message with its position.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No peer of that id is in the room or connected (caller's mistake, or it left).
    #[error("peer {0} is not in the room")]
    PeerNotFound(strata_signal::PeerId),
    /// A connection was refused because one side already holds its `max_peers`.
    #[error("{}", max_peers_message(*.remote, peer, *.limit))]
    MaxPeersReached {
        /// The peer the connection was for.
        peer: strata_signal::PeerId,
        /// The limit that was reached.
        limit: usize,
        /// `true` when the other side refused (its limit), `false` when ours is reached.
        remote: bool,
    },
    /// ICE found no working path to the peer (transport failure: NAT, firewall, no
    /// relay), after every ICE restart the reconnect policy allows.
    #[error("no network path to peer {peer} (ICE failed)")]
    NatTraversalFailed {
        /// The peer.
        peer: strata_signal::PeerId,
    },
    /// The connection to a peer could not be set up or was lost for good.
    #[error("connection to peer {peer} failed: {reason}")]
    ConnectionFailed {
        /// The peer.
        peer: strata_signal::PeerId,
        /// What happened.
        reason: &'static str,
    },
    /// The signaling server cannot be reached or refused us (transport failure, or a bad
    /// token or room: see the source).
    #[error("signaling unavailable")]
    SignalingUnavailable(#[source] strata_signal::Error),
    /// A message larger than the channel can carry: above the peer's
    /// `max-message-size` on an unreliable channel or toward a peer that cannot
    /// reassemble, or above the transport's own `max_message_size`.
    #[error("message of {size} bytes is larger than the {limit} bytes allowed")]
    MessageTooLarge {
        /// The message's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The transport was shut down.
    #[error("the transport is shut down")]
    ShutDown,
}

fn max_peers_message(remote: bool, peer: &strata_signal::PeerId, limit: usize) -> String {
    if remote {
        format!("peer {peer} refused the connection: it already has its {limit} peers")
    } else {
        format!("cannot connect to peer {peer}: this transport already has its {limit} peers")
    }
}
