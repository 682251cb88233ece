//! Real offers from Chromium, Edge, Firefox and libdatachannel: Strata applies each,
//! answers, and the summary holds what the offer said.

mod support;

use strata_sdp::{
    DtlsRole, IceRole, MaxMessageSize, MediaKind, Negotiated, Negotiator, SessionDescription,
    Setup, SignalingState,
};
use support::{fixture, negotiator_with, offer, parse};

/// Applies `name` as a remote offer, answers it, applies the answer; returns the
/// summary and our answer.
fn answer_fixture(name: &str) -> (Negotiated, SessionDescription, Negotiator) {
    let text = fixture(name);
    let mut negotiator = negotiator_with("aNsW", 77, 0x42);
    let applied = negotiator.set_remote_description(offer(&text)).unwrap();
    assert_eq!(applied.state, SignalingState::HaveRemoteOffer, "{name}");
    assert!(!applied.ice_restart, "{name}");
    assert!(applied.negotiated.is_none());
    let answer = negotiator.create_answer().unwrap();
    let applied = negotiator.set_local_description(&answer).unwrap();
    assert_eq!(applied.state, SignalingState::Stable, "{name}");
    // Our answer parses back as what we produced.
    assert_eq!(parse(&answer.to_sdp_string()), answer.sdp, "{name}");
    (applied.negotiated.unwrap(), answer.sdp, negotiator)
}

#[test]
fn data_channel_offers_from_every_stack_are_answered() {
    let cases = [
        (
            "chromium-datachannel-offer-complete.sdp",
            "daIi",
            262_144,
            2,
        ),
        ("chromium-datachannel-offer-trickle.sdp", "daIi", 262_144, 0),
        ("chrome-92-datachannel-offer-ipv6.sdp", "h2zg", 262_144, 13),
        ("edge-92-datachannel-offer-mdns.sdp", "UnGC", 262_144, 3),
        (
            "firefox-99-datachannel-offer-mdns.sdp",
            "5d2fc6c4",
            1_073_741_823,
            6,
        ),
        (
            "libdatachannel-datachannel-offer-complete.sdp",
            "P2fH",
            262_144,
            1,
        ),
    ];
    for (name, ufrag, max_message_size, candidates) in cases {
        let (negotiated, answer, _) = answer_fixture(name);
        let transport = negotiated.transport.expect(name);
        assert_eq!(transport.remote_ice.ufrag.as_str(), ufrag, "{name}");
        assert_eq!(transport.ice_role, IceRole::Controlled, "{name}");
        // Every one of them offers actpass: we answer active (RFC 8842 §5.2).
        assert_eq!(transport.dtls_role, DtlsRole::Client, "{name}");
        assert_eq!(answer.media[0].setup, Some(Setup::Active), "{name}");
        assert_eq!(transport.remote_fingerprints.len(), 1, "{name}");
        assert_eq!(transport.remote_candidates.len(), candidates, "{name}");
        let data = negotiated.data_channel.expect(name);
        assert_eq!(data.remote_sctp_port, 5000, "{name}");
        assert_eq!(
            data.remote_max_message_size,
            MaxMessageSize::Bytes(max_message_size),
            "{name}"
        );
        assert_eq!(data.local_max_message_size, MaxMessageSize::Bytes(262_144));
        assert_eq!(
            answer.bundle_group().unwrap(),
            std::slice::from_ref(&data.mid),
            "{name}"
        );
        let text = answer.to_string();
        assert!(text.contains("a=sctp-port:5000\r\n"), "{name}");
        assert!(text.contains("a=max-message-size:262144\r\n"), "{name}");
    }
}

#[test]
fn firefox_offer_with_end_of_candidates_reports_it() {
    let (negotiated, _, _) = answer_fixture("firefox-99-datachannel-offer-mdns.sdp");
    let transport = negotiated.transport.unwrap();
    assert!(transport.remote_end_of_candidates);
    assert!(transport.remote_trickle);
    assert!(
        transport
            .remote_candidates
            .iter()
            .any(|c| c.address.is_mdns())
    );
}

#[test]
fn legacy_firefox_offer_gets_a_legacy_answer_and_a_passive_role() {
    let (negotiated, answer, _) = answer_fixture("firefox-52-legacy-datachannel-offer.sdp");
    let media = &answer.media[0];
    assert_eq!(media.proto, strata_sdp::Proto::DtlsSctp);
    assert_eq!(media.formats, vec!["5000".to_owned()]);
    assert_eq!(media.sctpmap.as_ref().unwrap().port, 5000);
    // The offer says setup:active, so we are the DTLS server.
    assert_eq!(media.setup, Some(Setup::Passive));
    let transport = negotiated.transport.unwrap();
    assert_eq!(transport.dtls_role, DtlsRole::Server);
    assert!(
        transport.remote_trickle,
        "session-level a=ice-options:trickle"
    );
    // No BUNDLE in the offer: none in the answer either.
    assert!(answer.bundle_group().is_none());
    let data = negotiated.data_channel.unwrap();
    assert_eq!(data.mid.as_str(), "sdparta_0");
    assert_eq!(data.remote_max_message_size, MaxMessageSize::DEFAULT);
}

#[test]
fn chromium_audio_video_data_offer_negotiates_every_section() {
    let (negotiated, answer, negotiator) =
        answer_fixture("chromium-audio-video-datachannel-offer-complete.sdp");
    assert_eq!(answer.media.len(), 3);
    assert_eq!(answer.bundle_group().unwrap().len(), 3);
    assert!(negotiated.data_channel.is_some());
    assert_eq!(negotiated.media.len(), 2);
    let audio = &negotiated.media[0];
    assert_eq!(audio.kind, MediaKind::Audio);
    assert_eq!(audio.codecs[0].rtpmap.encoding, "opus");
    assert_eq!(audio.codecs[0].payload_type.get(), 111);
    assert_eq!(
        audio.codecs.len(),
        1,
        "only opus is shared: {:?}",
        audio.codecs
    );
    // The peer sends, the transceiver Strata created for it receives.
    assert_eq!(audio.direction, strata_sdp::Direction::RecvOnly);
    assert_eq!(audio.remote_ssrcs, vec![strata_sdp::Ssrc(284_174_523)]);
    let video = &negotiated.media[1];
    let names: Vec<&str> = video
        .codecs
        .iter()
        .map(|c| c.rtpmap.encoding.as_str())
        .collect();
    assert_eq!(names, ["VP8", "H264", "H264", "VP9"]);
    assert_eq!(
        video.codecs[0]
            .rtx_payload_type
            .map(strata_sdp::PayloadType::get),
        Some(97)
    );
    // H264 42e01f packetization-mode 1 and 0 (constrained baseline) only.
    let h264: Vec<u8> = video
        .codecs
        .iter()
        .filter(|c| c.rtpmap.encoding == "H264")
        .map(|c| c.payload_type.get())
        .collect();
    assert_eq!(h264, [109, 115]);
    let uris: Vec<&str> = video
        .header_extensions
        .iter()
        .map(|e| e.uri.as_str())
        .collect();
    assert!(uris.contains(&strata_sdp::HeaderExtension::MID));
    assert!(uris.contains(&strata_sdp::HeaderExtension::TRANSPORT_WIDE_CC));
    assert_eq!(video.remote_ssrc_groups[0].semantics, "FID");
    assert_eq!(negotiator.transceivers().len(), 2);
}

#[test]
fn chromium_simulcast_offer_is_mirrored_as_receive_simulcast() {
    let (negotiated, answer, _) = answer_fixture("chromium-simulcast-video-offer-complete.sdp");
    let video = &answer.media[0];
    let simulcast = video.simulcast.as_ref().expect("simulcast answered");
    assert!(simulcast.send.is_empty());
    let rids: Vec<&str> = simulcast
        .recv
        .iter()
        .map(|alt| alt[0].rid.as_str())
        .collect();
    assert_eq!(rids, ["h", "m", "l"]);
    assert!(video.rids.iter().all(|r| !r.send));
    assert_eq!(negotiated.media[0].remote_rids.len(), 3);
}

#[test]
fn firefox_recvonly_media_offer_without_local_tracks_is_answered_inactive() {
    let (negotiated, answer, _) = answer_fixture("firefox-99-audio-video-recvonly-offer-lf.sdp");
    // The offerer only receives and we have nothing to send.
    for media in &answer.media {
        assert_eq!(media.direction, Some(strata_sdp::Direction::Inactive));
    }
    assert_eq!(negotiated.media.len(), 2);
    // Firefox puts the fingerprint at session level only.
    assert_eq!(negotiated.transport.unwrap().remote_fingerprints.len(), 1);
}
