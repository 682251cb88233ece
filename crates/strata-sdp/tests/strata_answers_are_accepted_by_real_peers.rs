//! Our answers to real Chromium and libdatachannel offers were fed back to those peers,
//! which accepted them (see `tests/fixtures/README.md`). These tests regenerate each
//! answer from the same configuration and require the same text, so a change that
//! alters what those peers accepted is noticed (and the fixtures recaptured).

mod support;

use strata_sdp::{
    Config, Direction, Fingerprint, IceCredentials, MediaKind, Negotiator, Ssrc, TransceiverInit,
};
use support::{fixture, offer, parse};

fn answer_to(offer_name: &str, with_audio_track: bool) -> strata_sdp::Description {
    let config = Config::new(
        99,
        IceCredentials::new("sTrA", "strataStrataStrataPw01").unwrap(),
        Fingerprint::sha256([0xCD; 32]),
    );
    let mut negotiator = Negotiator::new(config).unwrap();
    if with_audio_track {
        negotiator
            .add_transceiver(TransceiverInit {
                kind: MediaKind::Audio,
                direction: Direction::SendRecv,
                stream_id: "s".into(),
                track_id: "a".into(),
                ssrc: Some(Ssrc(5)),
                rtx_ssrc: None,
                cname: "c".into(),
            })
            .unwrap();
    }
    let applied = negotiator
        .set_remote_description(offer(&fixture(offer_name)))
        .unwrap();
    assert!(!applied.ice_restart);
    let answer = negotiator.create_answer().unwrap();
    negotiator.set_local_description(&answer).unwrap();
    negotiator
        .add_local_candidate(
            "candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host"
                .parse()
                .unwrap(),
        )
        .unwrap();
    negotiator.local_candidates_complete();
    negotiator.local_description().unwrap()
}

#[test]
fn answers_accepted_by_chromium_and_libdatachannel_are_reproduced() {
    let cases = [
        (
            "chromium-offer-answered-by-strata-datachannel.sdp",
            "strata-answer-accepted-by-chromium-datachannel.sdp",
            false,
        ),
        (
            "chromium-offer-answered-by-strata-audio-video-datachannel.sdp",
            "strata-answer-accepted-by-chromium-audio-video-datachannel.sdp",
            true,
        ),
        (
            "libdatachannel-offer-answered-by-strata-datachannel.sdp",
            "strata-answer-accepted-by-libdatachannel-datachannel.sdp",
            false,
        ),
    ];
    for (offer_name, answer_name, with_audio_track) in cases {
        let answer = answer_to(offer_name, with_audio_track);
        assert_eq!(
            answer.sdp,
            parse(&fixture(answer_name)),
            "{answer_name} drifted: recapture it against the real peer (tests/fixtures/README.md)"
        );
        assert_eq!(answer.to_sdp_string(), fixture(answer_name));
    }
}
