//! How a peer connection is set up.

use strata_dtls_srtp::Certificate;
use strata_ice::IceConfig;
use strata_media::jitter::DelayMode;

/// Configuration of one [`PeerConnection`](crate::PeerConnection).
///
/// `ice` holds servers (`stun:`, `turn:` with credentials, `turn:user:pass@host:port`),
/// the candidate policy (interfaces, families, loopback), the transport policy (relay
/// only) and an optional seeded network impairment for tests.
#[derive(Debug, Clone)]
pub struct Configuration {
    /// ICE settings.
    pub ice: IceConfig,
    /// The DTLS certificate; a fresh ECDSA P-256 one is generated when absent.
    pub certificate: Option<Certificate>,
    /// The largest data-channel message we accept (`a=max-message-size`), default 256 KiB.
    pub max_message_size: usize,
    /// How long the DTLS handshake may take.
    pub dtls_handshake_timeout: std::time::Duration,
    /// How long a DTLS handshake flight first waits for its answer before it is sent
    /// again (the wait doubles on each retry, up to a minute), default 250 ms.
    pub dtls_retransmit_interval: std::time::Duration,
    /// Events waiting for the application; the connection pauses when they are not read.
    pub event_queue: usize,
    /// The playout delay of every received track's jitter buffer: `None` (the default)
    /// adapts to the measured jitter within the media kind's bounds;
    /// `Some(DelayMode::Fixed(d))` holds every packet `d` beyond the fastest recent
    /// transit (at most [`MAX_DELAY`](strata_media::jitter::MAX_DELAY)).
    pub playout_delay: Option<DelayMode>,
}

impl Default for Configuration {
    fn default() -> Self {
        Self {
            ice: IceConfig::default(),
            certificate: None,
            max_message_size: 256 * 1024,
            dtls_handshake_timeout: std::time::Duration::from_secs(10),
            dtls_retransmit_interval: std::time::Duration::from_millis(250),
            event_queue: 256,
            playout_delay: None,
        }
    }
}
