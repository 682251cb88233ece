//! A hand-built peer (ICE, DTLS and SRTP from the layer crates, no `PeerConnection`)
//! negotiates a video section with a Strata peer, then sends it garbage on the media
//! path: random bytes that look like RTP or RTCP, SRTP with bad tags, and correctly
//! protected packets whose content is malformed. Each is counted; the connection stays up
//! and still delivers the valid frame that follows.

mod peers;

use std::sync::Arc;

use peers::media::next_sample;
use peers::{PATIENCE, loopback};
use rand::{Rng, SeedableRng};
use strata::{
    IceCandidateInit, PeerConnection, PeerConnectionEvent, PeerConnectionState, SessionDescription,
    TrackRemote,
};
use strata_dtls_srtp::srtp::{SrtpConfig, SrtpSession};
use strata_dtls_srtp::{Certificate, DtlsConfig, DtlsTransport, handshake};
use strata_ice::{Credentials, IceAgent, IceConnectionState, IceEvent, IceRole, PacketChannel};
use strata_interop::netns::run_isolated;
use strata_sdp::{
    Description, Direction, IceCredentials, MediaKind, Negotiator, SdpType, Ssrc, TransceiverInit,
};
use tokio::sync::{mpsc, watch};

/// The SSRC the raw peer announces and sends with.
const SSRC: u32 = 0x5EED_0001;
/// Random datagrams sent.
const GARBAGE: u64 = 300;
/// VP8's payload type in Strata's offers, kept by the answer.
const VP8: u8 = 96;

/// The raw peer once SRTP is keyed.
struct RawPeer {
    _agent: Arc<IceAgent>,
    _dtls: DtlsTransport,
    srtp: SrtpSession,
    media: PacketChannel,
}

impl RawPeer {
    /// Connects to `strata`, forwarding its candidates; its tracks come out of the
    /// returned receiver.
    async fn connect(
        strata: &PeerConnection,
        strata_events: strata::PeerConnectionEvents,
    ) -> (
        Self,
        mpsc::UnboundedReceiver<TrackRemote>,
        watch::Receiver<PeerConnectionState>,
    ) {
        let (agent, mut ice_events) = IceAgent::new(loopback().ice).await.unwrap();
        let agent = Arc::new(agent);
        let certificate = Certificate::generate().unwrap();
        let local = agent.local_credentials();
        let mut negotiator = Negotiator::new(strata_sdp::Config::new(
            7,
            IceCredentials::new(local.ufrag, local.pwd).unwrap(),
            certificate.fingerprint().to_string().parse().unwrap(),
        ))
        .unwrap();
        negotiator
            .add_transceiver(TransceiverInit {
                kind: MediaKind::Video,
                direction: Direction::SendOnly,
                stream_id: "raw".to_owned(),
                track_id: "raw-video".to_owned(),
                ssrc: Some(Ssrc(SSRC)),
                rtx_ssrc: None,
                cname: "raw".to_owned(),
            })
            .unwrap();
        let offer = negotiator.create_offer().unwrap();
        negotiator.set_local_description(&offer).unwrap();
        agent.gather().unwrap();

        strata
            .set_remote_description(SessionDescription::offer(offer.to_sdp_string()))
            .await
            .unwrap();
        let answer = strata.create_answer().await.unwrap();
        strata.set_local_description(answer.clone()).await.unwrap();
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

        let (tracks, state) = forward_events(strata_events, Arc::clone(&agent));
        trickle_until_connected(&mut ice_events, strata).await;

        let role = match transport.dtls_role {
            strata_sdp::DtlsRole::Client => strata_dtls_srtp::DtlsRole::Client,
            strata_sdp::DtlsRole::Server => strata_dtls_srtp::DtlsRole::Server,
        };
        let fingerprints = transport
            .remote_fingerprints
            .iter()
            .map(|f| f.to_string().parse().unwrap())
            .collect();
        let dtls = handshake(
            agent.dtls_channel(),
            DtlsConfig::new(certificate, role, fingerprints),
        )
        .await
        .expect("DTLS handshake");
        let srtp = SrtpSession::new(
            dtls.srtp_keying().expect("SRTP negotiated"),
            SrtpConfig::default(),
        )
        .unwrap();
        let media = agent.media_channel();
        (
            Self {
                _agent: agent,
                _dtls: dtls,
                srtp,
                media,
            },
            tracks,
            state,
        )
    }

    async fn send_rtp(&mut self, marker: bool, payload_type: u8, seq: u16, payload: &[u8]) {
        let mut packet = vec![0x80, payload_type | if marker { 0x80 } else { 0 }];
        packet.extend_from_slice(&seq.to_be_bytes());
        packet.extend_from_slice(&(u32::from(seq) * 3000).to_be_bytes());
        packet.extend_from_slice(&SSRC.to_be_bytes());
        packet.extend_from_slice(payload);
        let mut wire = vec![0; packet.len() + 32];
        let len = self.srtp.protect_rtp(&packet, &mut wire).unwrap();
        self.media.send(&wire[..len]).await.unwrap();
    }

    async fn send_rtcp(&mut self, packet: &[u8]) {
        let mut wire = vec![0; packet.len() + 32];
        let len = self.srtp.protect_rtcp(packet, &mut wire).unwrap();
        self.media.send(&wire[..len]).await.unwrap();
    }
}

/// Strata's candidates go to `agent`; its tracks and states to the test.
fn forward_events(
    mut strata_events: strata::PeerConnectionEvents,
    agent: Arc<IceAgent>,
) -> (
    mpsc::UnboundedReceiver<TrackRemote>,
    watch::Receiver<PeerConnectionState>,
) {
    let (tracks_tx, tracks) = mpsc::unbounded_channel();
    let (state_tx, state) = watch::channel(PeerConnectionState::New);
    tokio::spawn(async move {
        while let Some(event) = strata_events.recv().await {
            match event {
                PeerConnectionEvent::IceCandidate(init) if !init.candidate.is_empty() => {
                    let _ = agent.add_remote_candidate(&init.candidate);
                }
                PeerConnectionEvent::Track(track) => {
                    let _ = tracks_tx.send(track);
                }
                PeerConnectionEvent::ConnectionStateChange(now) => {
                    let _ = state_tx.send(now);
                }
                _ => {}
            }
        }
    });
    (tracks, state)
}

/// The agent's candidates go to Strata until ICE connects.
async fn trickle_until_connected(
    ice_events: &mut mpsc::Receiver<IceEvent>,
    strata: &PeerConnection,
) {
    tokio::time::timeout(PATIENCE, async {
        while let Some(event) = ice_events.recv().await {
            match event {
                IceEvent::LocalCandidate(candidate) => {
                    let _ = strata
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

#[test]
fn garbage_on_the_media_path_is_counted_and_the_track_still_works() {
    run_isolated(|| async {
        let (strata, events) = PeerConnection::new(loopback()).await.unwrap();
        let (mut raw, mut tracks, mut state) = RawPeer::connect(&strata, events).await;
        tokio::time::timeout(
            PATIENCE,
            state.wait_for(|s| *s == PeerConnectionState::Connected),
        )
        .await
        .expect("connected within the patience bound")
        .expect("event pump alive");

        // Random datagrams whose first byte says RTP/RTCP (RFC 7983): no valid tag.
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        for i in 0..GARBAGE {
            let len = rng.random_range(1..400);
            let mut datagram: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            datagram[0] = 0x80 | (datagram[0] & 0x3F);
            if i % 3 == 0 && len > 1 {
                datagram[1] = 200 + (datagram[1] % 8); // an RTCP packet type
            }
            raw.media.send(&datagram).await.unwrap();
        }
        // Correctly protected, malformed inside: a VP8 payload descriptor cut short, a
        // payload type nobody negotiated, a receiver report whose count overruns it.
        raw.send_rtp(true, VP8, 10, &[0x80]).await;
        raw.send_rtp(true, 120, 11, &[0x10, 0x10, 1, 2, 3]).await;
        let mut report = vec![0x81, 201, 0, 1];
        report.extend_from_slice(&SSRC.to_be_bytes());
        raw.send_rtcp(&report).await;
        // Then a valid one-packet VP8 keyframe.
        let frame = [0x10, 0xAA, 0xBB, 0xCC, 0xDD];
        raw.send_rtp(true, VP8, 12, &[&[0x10][..], &frame].concat())
            .await;

        let track = tokio::time::timeout(PATIENCE, tracks.recv())
            .await
            .expect("a track within the patience bound")
            .expect("the peer is alive");
        let sample = next_sample(&track).await;
        assert_eq!(&sample.data[..], &frame);
        assert!(sample.keyframe);

        let stats = strata.stats().await.expect("the driver is alive");
        let srtp = stats.srtp.expect("SRTP keyed");
        let refused = srtp.auth_failures + srtp.malformed + srtp.replays + srtp.unencrypted_srtcp;
        assert!(refused >= GARBAGE * 9 / 10, "{srtp:?}");
        assert_eq!(stats.media_delivery.srtp_refused, refused);
        assert!(stats.media.malformed_payloads >= 1, "{:?}", stats.media);
        assert!(stats.media.unknown_payload_type >= 1, "{:?}", stats.media);
        assert!(stats.media.malformed_rtcp >= 1, "{:?}", stats.media);
        assert_eq!(strata.connection_state(), PeerConnectionState::Connected);
        strata.close().await;
    });
}
