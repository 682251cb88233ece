//! Chromium's and libdatachannel's answers to offers this crate wrote, and the
//! data-channel answers of Firefox, Edge, Chromium and libdatachannel, complete our
//! offers.

mod support;

use strata_sdp::{DtlsRole, IceRole, MaxMessageSize, MediaKind, Negotiated, SignalingState};
use support::{answer, fixture, fixture_offerer, parse};

fn complete(with_media: bool, answer_name: &str) -> Negotiated {
    let (mut negotiator, _) = fixture_offerer(with_media);
    let applied = negotiator
        .set_remote_description(answer(&fixture(answer_name)))
        .unwrap_or_else(|e| panic!("{answer_name}: {e}"));
    assert_eq!(applied.state, SignalingState::Stable);
    assert_eq!(negotiator.signaling_state(), SignalingState::Stable);
    applied.negotiated.unwrap()
}

#[test]
fn our_offers_are_still_what_the_fixtures_were_answered_against() {
    for (with_media, name) in [
        (false, "strata-datachannel-offer.sdp"),
        (true, "strata-audio-video-datachannel-offer.sdp"),
    ] {
        let (_, local) = fixture_offerer(with_media);
        assert_eq!(
            local.sdp,
            parse(&fixture(name)),
            "the offer changed; recapture the answers in tests/fixtures (see README.md)"
        );
    }
}

#[test]
fn chromium_and_libdatachannel_answers_to_our_data_offer_complete_it() {
    for name in [
        "chromium-answer-to-strata-datachannel-offer.sdp",
        "libdatachannel-answer-to-strata-datachannel-offer.sdp",
    ] {
        let negotiated = complete(false, name);
        let transport = negotiated.transport.expect(name);
        assert_eq!(transport.ice_role, IceRole::Controlling, "{name}");
        // Both answer setup:active, so we serve.
        assert_eq!(transport.dtls_role, DtlsRole::Server, "{name}");
        assert!(!transport.remote_candidates.is_empty(), "{name}");
        assert_eq!(transport.bundle_mids.len(), 1);
        let data = negotiated.data_channel.expect(name);
        assert_eq!(data.remote_max_message_size, MaxMessageSize::Bytes(262_144));
    }
}

#[test]
fn chromium_answer_to_our_audio_video_data_offer_negotiates_codecs() {
    let negotiated = complete(
        true,
        "chromium-answer-to-strata-audio-video-datachannel-offer.sdp",
    );
    assert!(negotiated.data_channel.is_some());
    assert_eq!(negotiated.media.len(), 2);
    let audio = &negotiated.media[0];
    assert_eq!(audio.kind, MediaKind::Audio);
    // Chromium has no track to send: it answers recvonly, so we only send.
    assert_eq!(audio.direction, strata_sdp::Direction::SendOnly);
    assert_eq!(audio.codecs[0].rtpmap.encoding, "opus");
    let video = &negotiated.media[1];
    let names: Vec<&str> = video
        .codecs
        .iter()
        .map(|c| c.rtpmap.encoding.as_str())
        .collect();
    assert_eq!(names, ["VP8", "VP9", "H264", "H264"]);
    assert!(video.codecs.iter().all(|c| c.rtx_payload_type.is_some()));
    assert_eq!(negotiated.transport.unwrap().bundle_mids.len(), 3);
}

#[test]
fn libdatachannel_answer_to_our_audio_video_data_offer_completes() {
    let negotiated = complete(
        true,
        "libdatachannel-answer-to-strata-audio-video-datachannel-offer.sdp",
    );
    assert!(negotiated.data_channel.is_some());
    assert!(negotiated.transport.is_some());
}

#[test]
fn data_channel_answers_from_other_stacks_complete_our_data_offer() {
    // These answered other offers, but with the same shape (one data section, mid 0).
    let cases = [
        (
            "firefox-99-datachannel-answer-mdns.sdp",
            1_073_741_823,
            true,
        ),
        ("edge-92-datachannel-answer-mdns.sdp", 262_144, false),
        ("chromium-datachannel-answer-complete.sdp", 262_144, false),
        (
            "libdatachannel-datachannel-answer-complete.sdp",
            262_144,
            true,
        ),
    ];
    for (name, max, end_of_candidates) in cases {
        let negotiated = complete(false, name);
        let transport = negotiated.transport.expect(name);
        assert_eq!(transport.dtls_role, DtlsRole::Server, "{name}");
        assert_eq!(
            transport.remote_end_of_candidates, end_of_candidates,
            "{name}"
        );
        assert_eq!(
            negotiated.data_channel.unwrap().remote_max_message_size,
            MaxMessageSize::Bytes(max),
            "{name}"
        );
    }
}

#[test]
fn an_answer_with_session_level_transport_attributes_and_lf_endings_completes() {
    // Some stacks (and Firefox for fingerprints) put ICE and DTLS attributes at session
    // level, and some signaling paths strip the CRs.
    let original = fixture("chromium-answer-to-strata-datachannel-offer.sdp");
    let mut session_level = Vec::new();
    let mut rest = Vec::new();
    for line in original.lines() {
        if ["a=ice-ufrag", "a=ice-pwd", "a=fingerprint", "a=setup"]
            .iter()
            .any(|p| line.starts_with(p))
        {
            session_level.push(line);
        } else {
            rest.push(line);
        }
    }
    let m_line = rest.iter().position(|l| l.starts_with("m=")).unwrap();
    let mut lines: Vec<&str> = rest[..m_line].to_vec();
    lines.extend(&session_level);
    lines.extend(&rest[m_line..]);
    let text = lines.join("\n") + "\n";
    let sdp = parse(&text);
    assert!(sdp.media[0].ice_ufrag.is_none() && sdp.ice_ufrag.is_some());
    let (mut negotiator, _) = fixture_offerer(false);
    let negotiated = negotiator
        .set_remote_description(answer(&text))
        .unwrap()
        .negotiated
        .unwrap();
    let transport = negotiated.transport.unwrap();
    assert_eq!(transport.dtls_role, DtlsRole::Server);
    assert_eq!(transport.remote_fingerprints.len(), 1);
    assert_eq!(
        transport.remote_ice.ufrag.as_str(),
        sdp.ice_ufrag.unwrap().as_str()
    );
}
