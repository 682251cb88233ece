//! Every real description in `tests/fixtures/` (Chromium, Edge, Firefox, libdatachannel,
//! and our own) parses, and parse → serialize → parse gives an equal model.

mod support;

use strata_sdp::{
    CandidateAddress, HashAlgorithm, MediaKind, Proto, SessionDescription, Setup, TrickledCandidate,
};
use support::{fixture, parse, sdp_fixtures};

#[test]
fn every_fixture_parses_and_round_trips_to_an_equal_model() {
    let fixtures = sdp_fixtures();
    assert!(
        fixtures.len() >= 20,
        "fixtures went missing: {}",
        fixtures.len()
    );
    for (name, text) in fixtures {
        let first = parse(&text);
        let serialized = first.to_string();
        assert!(serialized.ends_with("\r\n"), "{name}");
        assert!(
            !serialized.replace("\r\n", "").contains('\n'),
            "{name}: bare LF in output"
        );
        let second = SessionDescription::parse(&serialized)
            .unwrap_or_else(|e| panic!("{name}: serialized form does not parse: {e}"));
        assert_eq!(first, second, "{name}: round trip changed the model");
        assert_eq!(
            serialized,
            second.to_string(),
            "{name}: serializing is not stable"
        );
        assert_eq!(
            first.media.len(),
            text.matches("m=").count(),
            "{name}: lost a section"
        );
    }
}

#[test]
fn round_trip_keeps_every_attribute_line() {
    // Each line of the input is in the output (order aside), except where the
    // serializer normalizes spacing or separators (`msid-semantic: WMS`,
    // `simulcast: send`, `ice-options:ice2,trickle`).
    for (name, text) in sdp_fixtures() {
        let output = parse(&text).to_string();
        let out_lines: Vec<&str> = output.lines().collect();
        for line in text.lines().map(str::trim_end) {
            if line.is_empty()
                || ["a=msid-semantic", "a=simulcast", "a=ice-options"]
                    .iter()
                    .any(|p| line.starts_with(p))
            {
                continue;
            }
            let normalized = line;
            let present = out_lines.iter().any(|l| {
                *l == normalized
                    || l.eq_ignore_ascii_case(normalized)
                    || (line.starts_with("a=candidate:") && l.starts_with("a=candidate:") && {
                        let a = strata_sdp::Candidate::parse(l).unwrap();
                        let b = strata_sdp::Candidate::parse(line).unwrap();
                        a == b
                    })
            });
            assert!(present, "{name}: `{line}` missing from the serialized form");
        }
    }
}

#[test]
fn firefox_session_level_fingerprint_applies_to_its_sections() {
    let sdp = parse(&fixture("firefox-99-datachannel-offer-mdns.sdp"));
    let media = &sdp.media[0];
    assert!(media.fingerprints.is_empty());
    let fingerprints = sdp.fingerprints_for(media);
    assert_eq!(fingerprints.len(), 1);
    assert_eq!(fingerprints[0].algorithm, HashAlgorithm::Sha256);
    assert_eq!(
        sdp.ice_credentials_for(media).unwrap().ufrag.as_str(),
        "5d2fc6c4"
    );
    assert_eq!(media.max_message_size, Some(1_073_741_823));
    assert!(media.end_of_candidates);
    assert!(media.candidates[0].address.is_mdns());
}

#[test]
fn legacy_dtls_sctp_section_yields_its_sctp_port() {
    let sdp = parse(&fixture("firefox-52-legacy-datachannel-offer.sdp"));
    let media = &sdp.media[0];
    assert_eq!(media.proto, Proto::DtlsSctp);
    assert!(media.is_data_channel());
    assert_eq!(media.sctpmap.as_ref().unwrap().streams, Some(256));
    assert_eq!(media.sctp_port_or_default(), 5000);
    assert_eq!(media.mid.as_ref().unwrap().as_str(), "sdparta_0");
    assert_eq!(sdp.setup_for(media), Some(Setup::Active));
}

#[test]
fn chromium_ipv6_and_tcp_candidates_parse() {
    let sdp = parse(&fixture("chrome-92-datachannel-offer-ipv6.sdp"));
    let candidates = &sdp.media[0].candidates;
    assert_eq!(candidates.len(), 13);
    assert!(
        candidates
            .iter()
            .any(|c| matches!(c.address, CandidateAddress::Ip(ip) if ip.is_ipv6()))
    );
    assert!(candidates.iter().any(|c| c.tcp_type.is_some()));
}

#[test]
fn firefox_lf_only_offer_with_fmtp_before_rtpmap_groups_payloads() {
    let text = fixture("firefox-99-audio-video-recvonly-offer-lf.sdp");
    assert!(!text.contains('\r'));
    let sdp = parse(&text);
    let video = &sdp.media[1];
    assert_eq!(video.kind, MediaKind::Video);
    let h264 = video
        .payloads
        .iter()
        .find(|p| p.payload_type.get() == 126)
        .unwrap();
    assert_eq!(h264.rtpmap.as_ref().unwrap().encoding, "H264");
    assert_eq!(h264.fmtp_parameter("packetization-mode"), Some("1"));
    assert_eq!(h264.rtcp_feedback.len(), 5);
    assert_eq!(
        video
            .extmaps
            .iter()
            .filter(|e| e.direction.is_some())
            .count(),
        1
    );
}

#[test]
fn trickled_candidate_strings_from_browsers_parse() {
    for name in [
        "chromium-datachannel-trickled-candidates.txt",
        "libdatachannel-trickled-candidates.txt",
    ] {
        let text = fixture(name);
        let mut count = 0;
        for line in text.lines().filter(|l| !l.is_empty()) {
            let trickled = TrickledCandidate::parse(line, Some("0"), Some(0), None)
                .unwrap_or_else(|e| panic!("{name}: {line}: {e}"));
            let candidate = trickled.candidate.unwrap();
            assert_eq!(
                strata_sdp::Candidate::parse(&candidate.to_string()).unwrap(),
                candidate
            );
            count += 1;
        }
        assert!(count > 0, "{name} is empty");
    }
}
