//! Shared by the integration tests: fixtures and the negotiator configuration the
//! `strata-*-offer.sdp` fixtures were produced with.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

use strata_sdp::{
    Candidate, Config, Description, Direction, Fingerprint, IceCredentials, MediaKind, Negotiator,
    SdpType, SessionDescription, Ssrc, TransceiverInit,
};

pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixture_dir().join(name))
        .unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// Every `.sdp` fixture, by name, sorted.
pub fn sdp_fixtures() -> Vec<(String, String)> {
    let mut names: Vec<String> = std::fs::read_dir(fixture_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| {
            std::path::Path::new(n)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("sdp"))
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| (n.clone(), fixture(&n)))
        .collect()
}

pub fn parse(text: &str) -> SessionDescription {
    SessionDescription::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

pub fn offer(text: &str) -> Description {
    Description::parse(SdpType::Offer, text).unwrap()
}

pub fn answer(text: &str) -> Description {
    Description::parse(SdpType::Answer, text).unwrap()
}

pub fn credentials(ufrag: &str) -> IceCredentials {
    IceCredentials::new(
        ufrag,
        format!("{ufrag}{ufrag}{ufrag}{ufrag}{ufrag}{ufrag}xx"),
    )
    .unwrap()
}

/// The configuration the `strata-*-offer.sdp` fixtures were written with.
pub fn fixture_config() -> Config {
    Config::new(
        4242,
        IceCredentials::new("sTrA", "strataStrataStrataPw01").unwrap(),
        Fingerprint::sha256([0xAB; 32]),
    )
}

pub fn negotiator_with(ufrag: &str, session_id: u64, fingerprint: u8) -> Negotiator {
    Negotiator::new(Config::new(
        session_id,
        credentials(ufrag),
        Fingerprint::sha256([fingerprint; 32]),
    ))
    .unwrap()
}

pub fn track(kind: MediaKind, ssrc: u32) -> TransceiverInit {
    TransceiverInit {
        kind,
        direction: Direction::SendRecv,
        stream_id: "strata".into(),
        track_id: format!("track{ssrc}"),
        ssrc: Some(Ssrc(ssrc)),
        rtx_ssrc: Some(Ssrc(ssrc + 1)),
        cname: "strata-cname".into(),
    }
}

/// Recreates the negotiator behind `strata-*-offer.sdp` in `have-local-offer`, and the
/// local description it produced.
pub fn fixture_offerer(with_media: bool) -> (Negotiator, Description) {
    let mut negotiator = Negotiator::new(fixture_config()).unwrap();
    negotiator.want_data_channel();
    if with_media {
        negotiator
            .add_transceiver(track(MediaKind::Audio, 1111))
            .unwrap();
        negotiator
            .add_transceiver(track(MediaKind::Video, 2222))
            .unwrap();
    }
    let offer = negotiator.create_offer().unwrap();
    negotiator.set_local_description(&offer).unwrap();
    let host: Candidate = "candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host"
        .parse()
        .unwrap();
    negotiator.add_local_candidate(host).unwrap();
    negotiator.local_candidates_complete();
    let local = negotiator.local_description().unwrap();
    (negotiator, local)
}

/// Runs a full exchange: `offerer` offers, `answerer` answers. Returns both summaries
/// (offerer's, answerer's).
pub fn exchange(
    offerer: &mut Negotiator,
    answerer: &mut Negotiator,
) -> (strata_sdp::Negotiated, strata_sdp::Negotiated) {
    let offer = offerer.create_offer().unwrap();
    offerer.set_local_description(&offer).unwrap();
    let wire = Description::parse(SdpType::Offer, &offer.to_sdp_string()).unwrap();
    let applied = answerer.set_remote_description(wire).unwrap();
    assert!(applied.negotiated.is_none());
    let answer = answerer.create_answer().unwrap();
    let local = answerer.set_local_description(&answer).unwrap();
    let wire = Description::parse(SdpType::Answer, &answer.to_sdp_string()).unwrap();
    let remote = offerer.set_remote_description(wire).unwrap();
    (remote.negotiated.unwrap(), local.negotiated.unwrap())
}
