//! The hostile peer's honest part: it offers (a video section and a data-channel section),
//! runs ICE with the layer crates, and on request completes DTLS and keys SRTP. What it
//! does after that is up to the test.

use std::sync::Arc;

use strata::{
    IceCandidateInit, PeerConnection, PeerConnectionEvent, PeerConnectionState, SessionDescription,
};
use strata_dtls_srtp::srtp::{SrtpConfig, SrtpSession};
use strata_dtls_srtp::{Certificate, DtlsConfig, DtlsTransport, handshake};
use strata_ice::{Credentials, IceAgent, IceConnectionState, IceEvent, IceRole, PacketChannel};
use strata_sdp::{
    Description, Direction, IceCredentials, MediaKind, Negotiator, SdpType, Ssrc, TransceiverInit,
    TransportParameters,
};
use tokio::sync::{mpsc, watch};

use crate::peers::{PATIENCE, loopback};

/// The SSRC the hostile peer announces for its video.
pub(crate) const SSRC: u32 = 0xBAD0_0001;
/// VP8's payload type in the hostile peer's offer.
pub(crate) const VP8: u8 = 96;

/// A connection whose remote end is hostile: the Strata side and what the test sees of it.
pub(crate) struct Victim {
    pub(crate) pc: PeerConnection,
    pub(crate) state: watch::Receiver<PeerConnectionState>,
    /// Data channels the hostile peer opened that Strata accepted (the event pump keeps
    /// them so they are not closed by being dropped).
    pub(crate) channels: mpsc::UnboundedReceiver<strata::DataChannel>,
    /// Tracks the hostile peer started.
    pub(crate) tracks: mpsc::UnboundedReceiver<strata::TrackRemote>,
}

impl Victim {
    /// The next track the hostile peer started.
    pub(crate) async fn next_track(&mut self) -> strata::TrackRemote {
        tokio::time::timeout(PATIENCE, self.tracks.recv())
            .await
            .expect("a track within the patience bound")
            .expect("event pump alive")
    }

    /// Waits until the aggregate state satisfies `accept`.
    pub(crate) async fn wait_for(&mut self, accept: impl Fn(PeerConnectionState) -> bool) {
        tokio::time::timeout(PATIENCE, self.state.wait_for(|s| accept(*s)))
            .await
            .expect("state within the patience bound")
            .expect("event pump alive");
    }
}

/// The hostile peer after ICE connected.
pub(crate) struct HostileIce {
    pub(crate) agent: Arc<IceAgent>,
    certificate: Certificate,
    transport: TransportParameters,
}

/// The hostile peer after DTLS: SRTP keyed, the media lane and the DTLS transport at hand.
pub(crate) struct HostilePeer {
    pub(crate) agent: Arc<IceAgent>,
    pub(crate) dtls: Arc<DtlsTransport>,
    pub(crate) srtp: SrtpSession,
    pub(crate) media: PacketChannel,
}

/// [`connect_ice`] and the hostile peer's DTLS handshake, until the Strata side reports
/// `Connected`: the starting point of the cases that misbehave after the handshakes.
pub(crate) async fn connect_dtls(config: strata::Configuration) -> (Victim, HostilePeer) {
    let (mut victim, ice) = connect_ice(config).await;
    let hostile = ice.complete_dtls().await;
    victim
        .wait_for(|s| s == PeerConnectionState::Connected)
        .await;
    (victim, hostile)
}

/// Creates a Strata connection with `config`, and a hostile peer that offers to it and
/// connects ICE.
pub(crate) async fn connect_ice(config: strata::Configuration) -> (Victim, HostileIce) {
    let (pc, events) = PeerConnection::new(config).await.expect("victim");
    let (agent, mut ice_events) = IceAgent::new(loopback().ice).await.unwrap();
    let agent = Arc::new(agent);
    let certificate = Certificate::generate().unwrap();
    let local = agent.local_credentials();
    let mut negotiator = Negotiator::new(strata_sdp::Config::new(
        11,
        IceCredentials::new(local.ufrag, local.pwd).unwrap(),
        certificate.fingerprint().to_string().parse().unwrap(),
    ))
    .unwrap();
    negotiator
        .add_transceiver(TransceiverInit {
            kind: MediaKind::Video,
            direction: Direction::SendOnly,
            stream_id: "hostile".to_owned(),
            track_id: "hostile-video".to_owned(),
            ssrc: Some(Ssrc(SSRC)),
            rtx_ssrc: None,
            cname: "hostile".to_owned(),
        })
        .unwrap();
    negotiator.want_data_channel();
    let offer = negotiator.create_offer().unwrap();
    negotiator.set_local_description(&offer).unwrap();
    agent.gather().unwrap();

    pc.set_remote_description(SessionDescription::offer(offer.to_sdp_string()))
        .await
        .unwrap();
    let answer = pc.create_answer().await.unwrap();
    pc.set_local_description(answer.clone()).await.unwrap();
    let applied = negotiator
        .set_remote_description(Description::parse(SdpType::Answer, &answer.sdp).unwrap())
        .unwrap();
    let transport = applied.negotiated.unwrap().transport.unwrap();
    for candidate in &transport.remote_candidates {
        let _ = agent.add_remote_candidate(&candidate.to_string());
    }
    agent
        .start(
            IceRole::Controlling,
            Credentials {
                ufrag: transport.remote_ice.ufrag.as_str().to_owned(),
                pwd: transport.remote_ice.pwd.as_str().to_owned(),
            },
        )
        .unwrap();
    let (state, channels, tracks) = pump(events, Arc::clone(&agent));
    trickle_until_connected(&mut ice_events, &pc).await;
    // The agent's later events are not needed; keep its queue drained.
    tokio::spawn(async move { while ice_events.recv().await.is_some() {} });
    (
        Victim {
            pc,
            state,
            channels,
            tracks,
        },
        HostileIce {
            agent,
            certificate,
            transport,
        },
    )
}

impl HostileIce {
    /// Completes DTLS honestly and keys SRTP.
    pub(crate) async fn complete_dtls(self) -> HostilePeer {
        let role = match self.transport.dtls_role {
            strata_sdp::DtlsRole::Client => strata_dtls_srtp::DtlsRole::Client,
            strata_sdp::DtlsRole::Server => strata_dtls_srtp::DtlsRole::Server,
        };
        let fingerprints = self
            .transport
            .remote_fingerprints
            .iter()
            .map(|f| f.to_string().parse().unwrap())
            .collect();
        let dtls = tokio::time::timeout(
            PATIENCE,
            handshake(
                self.agent.dtls_channel(),
                DtlsConfig::new(self.certificate, role, fingerprints),
            ),
        )
        .await
        .expect("DTLS within the patience bound")
        .expect("DTLS handshake");
        // The hostile peer keeps state for every SSRC it floods with.
        let srtp = SrtpSession::new(
            dtls.srtp_keying().expect("SRTP negotiated"),
            SrtpConfig {
                max_local_ssrcs: 1 << 16,
                ..SrtpConfig::default()
            },
        )
        .unwrap();
        HostilePeer {
            media: self.agent.media_channel(),
            agent: self.agent,
            dtls: Arc::new(dtls),
            srtp,
        }
    }
}

impl HostilePeer {
    /// Protects `packet` as SRTP and sends it.
    pub(crate) async fn send_rtp(&mut self, packet: &[u8]) {
        let mut wire = vec![0; packet.len() + 32];
        let len = self.srtp.protect_rtp(packet, &mut wire).unwrap();
        self.media.send(&wire[..len]).await.unwrap();
    }

    /// Protects `packet` as SRTCP and sends it.
    pub(crate) async fn send_rtcp(&mut self, packet: &[u8]) {
        let mut wire = vec![0; packet.len() + 32];
        let len = self.srtp.protect_rtcp(packet, &mut wire).unwrap();
        self.media.send(&wire[..len]).await.unwrap();
    }

    /// Sends `datagram` as it is on the media path.
    pub(crate) async fn send_raw(&self, datagram: &[u8]) {
        self.media.send(datagram).await.unwrap();
    }
}

/// An RTP packet (RFC 3550 §5.1) with no CSRC and no extension.
pub(crate) fn rtp(payload_type: u8, marker: bool, seq: u16, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut packet = vec![0x80, payload_type | if marker { 0x80 } else { 0 }];
    packet.extend_from_slice(&seq.to_be_bytes());
    packet.extend_from_slice(&(u32::from(seq).wrapping_mul(3000)).to_be_bytes());
    packet.extend_from_slice(&ssrc.to_be_bytes());
    packet.extend_from_slice(payload);
    packet
}

/// Strata's candidates go to the hostile agent; its states and the channels it accepted
/// to the test.
fn pump(
    mut events: strata::PeerConnectionEvents,
    agent: Arc<IceAgent>,
) -> (
    watch::Receiver<PeerConnectionState>,
    mpsc::UnboundedReceiver<strata::DataChannel>,
    mpsc::UnboundedReceiver<strata::TrackRemote>,
) {
    let (state_tx, state) = watch::channel(PeerConnectionState::New);
    let (channels_tx, channels) = mpsc::unbounded_channel();
    let (tracks_tx, tracks) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            match event {
                PeerConnectionEvent::IceCandidate(init) if !init.candidate.is_empty() => {
                    let _ = agent.add_remote_candidate(&init.candidate);
                }
                PeerConnectionEvent::ConnectionStateChange(now) => {
                    let _ = state_tx.send(now);
                }
                PeerConnectionEvent::DataChannel(channel) => {
                    let _ = channels_tx.send(channel);
                }
                PeerConnectionEvent::Track(track) => {
                    let _ = tracks_tx.send(track);
                }
                _ => {}
            }
        }
    });
    (state, channels, tracks)
}

/// The hostile agent's candidates go to Strata until ICE connects.
async fn trickle_until_connected(ice_events: &mut mpsc::Receiver<IceEvent>, pc: &PeerConnection) {
    tokio::time::timeout(PATIENCE, async {
        while let Some(event) = ice_events.recv().await {
            match event {
                IceEvent::LocalCandidate(candidate) => {
                    let _ = pc
                        .add_ice_candidate(IceCandidateInit {
                            candidate,
                            sdp_mid: Some("0".to_owned()),
                            sdp_mline_index: Some(0),
                            username_fragment: None,
                        })
                        .await;
                }
                IceEvent::StateChanged(IceConnectionState::Connected) => return,
                _ => {}
            }
        }
    })
    .await
    .expect("ICE connects within the patience bound");
}
