//! ICE for Strata: connectivity over one UDP socket we own.
//!
//! [`IceAgent`] wraps webrtc-ice's agent for candidate gathering and connectivity checks,
//! while Strata keeps the UDP socket: every datagram is classified by its first byte
//! (RFC 7983, [`demux`]) — STUN goes to webrtc-ice, DTLS records and SRTP/SRTCP packets go
//! straight to bounded per-layer queues read through [`PacketChannel`]s, and anything else
//! is dropped and counted. The socket can carry a seeded impairment in each direction
//! ([`NetworkImpairment`]) for loss tests that reproduce.
//!
//! ```
//! use strata_ice::{CandidatePolicy, IceAgent, IceConfig, IceConnectionState, IceEvent, IceRole};
//! use tokio::sync::mpsc::Receiver;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = IceConfig {
//!     policy: CandidatePolicy { include_loopback: true, ipv6: false, ..CandidatePolicy::default() },
//!     mdns: false,
//!     ..IceConfig::default()
//! };
//! let (offerer, mut offerer_events) = IceAgent::new(config.clone()).await?;
//! let (answerer, mut answerer_events) = IceAgent::new(config).await?;
//! offerer.gather()?;
//! answerer.gather()?;
//!
//! // Credentials and candidates travel over signaling; here we hand them over directly.
//! offerer.start(IceRole::Controlling, answerer.local_credentials())?;
//! answerer.start(IceRole::Controlled, offerer.local_credentials())?;
//! tokio::try_join!(
//!     until_connected(&mut offerer_events, &answerer),
//!     until_connected(&mut answerer_events, &offerer),
//! )?;
//!
//! // DTLS records (first byte 20..=63) now flow between the two.
//! let record = [22u8, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xab];
//! offerer.dtls_channel().send(&record).await?;
//! assert_eq!(answerer.dtls_channel().recv().await.as_deref(), Some(&record[..]));
//! # Ok(())
//! # }
//!
//! /// Forwards local candidates to `peer` until this side is connected.
//! async fn until_connected(events: &mut Receiver<IceEvent>, peer: &IceAgent) -> Result<(), strata_ice::Error> {
//!     while let Some(event) = events.recv().await {
//!         match event {
//!             IceEvent::LocalCandidate(candidate) => peer.add_remote_candidate(&candidate)?,
//!             IceEvent::StateChanged(IceConnectionState::Connected) => return Ok(()),
//!             _ => {}
//!         }
//!     }
//!     Err(strata_ice::Error::Closed)
//! }
//! ```
//!
//! # Where this departs from webrtc-ice
//!
//! - **One socket, our own.** webrtc-ice runs in its muxed mode over a connection we give
//!   it, which sees STUN only; DTLS and media never pass through webrtc-ice's buffers, and
//!   are accepted only from the selected pair's address (datagrams that arrive before the
//!   selection are held, [`PENDING_LIMIT`] at most). Relayed traffic, which reaches us
//!   through webrtc-ice's TURN client, is read from its connection.
//! - **Server-reflexive candidates are ours.** webrtc-ice gathers none in muxed mode; we
//!   query each STUN server from our socket (see `srflx`).
//! - **Closing never hangs.** webrtc-ice's close can deadlock; we stop waiting for it after a
//!   bound and stop our own tasks regardless.
//! - **Remote credentials are checked** against RFC 8445 §5.3 before use.
//! - **Incoming checks are authenticated before webrtc-ice sees them** ([`stun_auth`]): a
//!   Binding request that does not carry our ufrag and a `MESSAGE-INTEGRITY` keyed with our
//!   password is dropped on the socket's reader and counted ([`IceStats::stun_rejected`]).
//! - **Outgoing checks name their peer.** After an ICE restart webrtc-ice forgets the
//!   remote credentials, and until the new ones are set it keys the checks it makes with
//!   none; no peer can authenticate those, so they are held back and counted
//!   ([`IceStats::unkeyed_checks_held`]) instead of sent.

mod agent;
mod config;
pub mod demux;
mod error;
mod mux;
mod socket;
mod srflx;
pub mod stun_auth;
pub mod url;

pub use agent::{
    CandidateInfo, CandidateKind, CandidatePair, Credentials, IceAgent, IceConnectionState,
    IceEvent, IceRole, IceStats, LANE_QUEUE, PENDING_LIMIT, PacketChannel,
};
pub use config::{
    CandidatePolicy, IceConfig, Interfaces, NetworkImpairment, Outage, TransportPolicy,
};
pub use error::{Error, Upstream};
pub use strata_netem::{Impairment, Loss};
pub use url::{IceServer, UrlError};
