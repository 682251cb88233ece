//! Parsing, serializing and negotiating real descriptions. With the `compare` feature
//! (`cargo xtask bench`), webrtc-rs's `sdp` crate parses and serializes the same text in
//! the same run.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use strata_sdp::{
    Config, Description, Fingerprint, IceCredentials, Negotiator, SdpType, SessionDescription,
};

const CHROMIUM_OFFER: &str =
    include_str!("../tests/fixtures/chromium-audio-video-datachannel-offer-complete.sdp");
const CHROMIUM_DATA_OFFER: &str =
    include_str!("../tests/fixtures/chromium-datachannel-offer-complete.sdp");

fn parse_and_serialize(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    for (name, text) in [
        ("audio-video-data", CHROMIUM_OFFER),
        ("data", CHROMIUM_DATA_OFFER),
    ] {
        group.bench_function(format!("strata/{name}"), |b| {
            b.iter(|| SessionDescription::parse(black_box(text)).unwrap());
        });
        #[cfg(feature = "compare")]
        group.bench_function(format!("webrtc-rs/{name}"), |b| {
            b.iter(|| {
                let mut reader = std::io::Cursor::new(black_box(text).as_bytes());
                sdp::SessionDescription::unmarshal(&mut reader).unwrap()
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("serialize");
    let ours = SessionDescription::parse(CHROMIUM_OFFER).unwrap();
    group.bench_function("strata/audio-video-data", |b| {
        b.iter(|| black_box(&ours).to_string());
    });
    #[cfg(feature = "compare")]
    {
        let theirs = sdp::SessionDescription::unmarshal(&mut std::io::Cursor::new(
            CHROMIUM_OFFER.as_bytes(),
        ))
        .unwrap();
        group.bench_function("webrtc-rs/audio-video-data", |b| {
            b.iter(|| black_box(&theirs).marshal());
        });
    }
    group.finish();
}

fn negotiate(c: &mut Criterion) {
    let config = Config::new(
        7,
        IceCredentials::new("bEnC", "benchbenchbenchbenchbe").unwrap(),
        Fingerprint::sha256([1; 32]),
    );
    c.bench_function("answer/chromium-audio-video-data-offer", |b| {
        b.iter(|| {
            let mut negotiator = Negotiator::new(config.clone()).unwrap();
            let offer = Description::parse(SdpType::Offer, black_box(CHROMIUM_OFFER)).unwrap();
            let _ = negotiator.set_remote_description(offer).unwrap();
            let answer = negotiator.create_answer().unwrap();
            let applied = negotiator.set_local_description(&answer).unwrap();
            black_box((applied, answer.to_sdp_string()))
        });
    });
}

criterion_group!(benches, parse_and_serialize, negotiate);
criterion_main!(benches);
