//! Two `strata-sdp` negotiators agree on audio and video; sessions configured from the
//! negotiated sections (`LocalTrackConfig::from_negotiated`,
//! `RemoteTrackConfig::from_negotiated`) exchange media routed by the signalled SSRCs.

mod pair;

use std::time::{Duration, Instant};

use bytes::Bytes;
use pair::Pair;
use strata_media::{
    Codec, LocalTrackConfig, MediaSession, RemoteTrackConfig, Sample, SessionConfig, Ssrc,
};
use strata_netem::Impairment;
use strata_sdp::{
    Config, Description, Direction, Fingerprint, IceCredentials, MediaKind, Negotiated, Negotiator,
    SdpType, TransceiverInit,
};

fn negotiator(ufrag: &str, id: u64) -> Negotiator {
    let credentials = IceCredentials::new(ufrag, format!("{ufrag}passwordlongenough24")).unwrap();
    Negotiator::new(Config::new(
        id,
        credentials,
        Fingerprint::sha256([id as u8; 32]),
    ))
    .unwrap()
}

fn track(kind: MediaKind, ssrc: u32) -> TransceiverInit {
    TransceiverInit {
        kind,
        direction: Direction::SendRecv,
        stream_id: "stream".into(),
        track_id: format!("track{ssrc}"),
        ssrc: Some(strata_sdp::Ssrc(ssrc)),
        rtx_ssrc: Some(strata_sdp::Ssrc(ssrc + 1)),
        cname: "cname".into(),
    }
}

/// Offer from `offerer`, answer from `answerer`, both applied: what each side negotiated.
fn exchange(offerer: &mut Negotiator, answerer: &mut Negotiator) -> (Negotiated, Negotiated) {
    let offer = offerer.create_offer().unwrap();
    offerer.set_local_description(&offer).unwrap();
    let _applied = answerer
        .set_remote_description(Description::parse(SdpType::Offer, &offer.to_sdp_string()).unwrap())
        .unwrap();
    let answer = answerer.create_answer().unwrap();
    let at_answerer = answerer
        .set_local_description(&answer)
        .unwrap()
        .negotiated
        .unwrap();
    let at_offerer = offerer
        .set_remote_description(
            Description::parse(SdpType::Answer, &answer.to_sdp_string()).unwrap(),
        )
        .unwrap()
        .negotiated
        .unwrap();
    (at_offerer, at_answerer)
}

#[test]
fn sessions_built_from_negotiated_sections_exchange_audio_and_video() {
    let mut alice = negotiator("alic", 1);
    let mut bob = negotiator("bobb", 2);
    alice.add_transceiver(track(MediaKind::Audio, 100)).unwrap();
    alice.add_transceiver(track(MediaKind::Video, 200)).unwrap();
    let (at_alice, at_bob) = exchange(&mut alice, &mut bob);

    let start = Instant::now();
    let mut sender = MediaSession::new(SessionConfig::with_seed(1), start).unwrap();
    let mut receiver = MediaSession::new(SessionConfig::with_seed(2), start).unwrap();
    for (media, ssrc) in at_alice.media.iter().zip([100, 200]) {
        let config =
            LocalTrackConfig::from_negotiated(media, Some(Ssrc(ssrc)), Some(Ssrc(ssrc + 1)))
                .unwrap();
        assert!(config.extensions.mid.is_some() && config.extensions.transport_cc.is_some());
        sender.add_local_track(config).unwrap();
    }
    let mut video_mid = None;
    for media in &at_bob.media {
        let config = RemoteTrackConfig::from_negotiated(media).unwrap();
        if config.codecs[0].codec.is_video() {
            assert_eq!(config.ssrcs, [Ssrc(200)]);
            assert_eq!(config.rtx_ssrcs, [(Ssrc(200), Ssrc(201))]);
            assert!(config.feedback.nack && config.feedback.pli);
            assert!(config.codecs.iter().all(|c| c.rtx_payload_type.is_some()));
            video_mid = Some(config.mid.clone());
        } else {
            assert_eq!(config.codecs[0].codec, Codec::Opus);
            assert_eq!(config.ssrcs, [Ssrc(100)]);
        }
        receiver.add_remote_track(config).unwrap();
    }
    let video_mid = video_mid.expect("a video section");
    let audio_mid = at_alice
        .media
        .iter()
        .map(|m| strata_media::Mid::new(m.mid.as_str()).unwrap())
        .find(|m| *m != video_mid)
        .unwrap();

    let mut pair = Pair::new(
        start,
        sender,
        receiver,
        &Impairment {
            delay: Duration::from_millis(10),
            ..Impairment::default()
        },
        3,
    );
    for i in 0..50u64 {
        let mut frame = vec![(i % 256) as u8; 3000];
        frame[0] = u8::from(i != 0);
        let video = Sample::new(Bytes::from(frame), Duration::from_millis(40));
        pair.a
            .session
            .write_sample(pair.now, &video_mid, &video)
            .unwrap();
        for _ in 0..2 {
            let audio = Sample::new(Bytes::from(vec![0xF8; 40]), Duration::from_millis(20));
            pair.a
                .session
                .write_sample(pair.now, &audio_mid, &audio)
                .unwrap();
            pair.run_for(Duration::from_millis(20));
        }
    }
    pair.run_for(Duration::from_millis(500));
    let media: Vec<_> = pair.b.media();
    assert_eq!(media.iter().filter(|m| m.ssrc == Ssrc(200)).count(), 50);
    assert_eq!(media.iter().filter(|m| m.ssrc == Ssrc(100)).count(), 100);
    // Routed by the signalled SSRCs: nothing was unknown.
    assert_eq!(pair.b.session.stats().unknown_ssrc, 0);
}
