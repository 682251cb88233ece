//! Property tests: generated descriptions and candidates survive serialize → parse
//! unchanged.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::collection::{btree_set, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use strata_sdp::model::{
    Attribute, Bandwidth, ConnectionData, ExtMap, Group, Msid, MsidSemantic, Origin, Rid,
    RtcpAddress, RtcpFeedback, RtpMap, RtpPayload, Simulcast, SimulcastStream, SsrcAttribute,
    SsrcGroup, Timing,
};
use strata_sdp::{
    Candidate, CandidateAddress, CandidateTransport, CandidateType, Direction, Fingerprint,
    HashAlgorithm, IcePwd, IceUfrag, MediaDescription, MediaKind, Mid, PayloadType, Proto,
    SessionDescription, Setup, Ssrc, TcpType,
};

fn token() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9][a-zA-Z0-9._-]{0,8}"
}

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9]([a-zA-Z0-9 ._-]{0,10}[a-zA-Z0-9])?"
}

fn mid() -> impl Strategy<Value = Mid> {
    "[a-z0-9]{1,4}".prop_map(|m| Mid::new(m).unwrap())
}

fn address() -> impl Strategy<Value = CandidateAddress> {
    prop_oneof![
        any::<u32>().prop_map(|a| CandidateAddress::Ip(IpAddr::V4(Ipv4Addr::from(a)))),
        any::<u128>().prop_map(|a| CandidateAddress::Ip(IpAddr::V6(Ipv6Addr::from(a)))),
        "[a-f0-9]{1,8}(-[a-f0-9]{1,4}){0,2}\\.local".prop_map(CandidateAddress::Hostname),
    ]
}

prop_compose! {
    fn candidate()(
        foundation in "[a-zA-Z0-9+/]{1,32}",
        component in 1u16..=256,
        transport in prop_oneof![Just(CandidateTransport::Udp), Just(CandidateTransport::Tcp), "x[a-z]{1,4}".prop_map(CandidateTransport::Other)],
        priority in any::<u32>(),
        address in address(),
        port in any::<u16>(),
        kind in prop_oneof![Just(CandidateType::Host), Just(CandidateType::ServerReflexive), Just(CandidateType::PeerReflexive), Just(CandidateType::Relay)],
        related in option::of((address(), any::<u16>())),
        tcp_type in option::of(prop_oneof![Just(TcpType::Active), Just(TcpType::Passive), Just(TcpType::SimultaneousOpen)]),
        extensions in vec(("[a-z][a-z-]{0,8}".prop_filter("reserved", |n| !matches!(n.as_str(), "raddr" | "rport" | "tcptype")), "[!-~]{1,8}"), 0..5),
    ) -> Candidate {
        Candidate {
            foundation, component, transport, priority, address, port, kind,
            related_address: related.as_ref().map(|(a, _)| a.clone()),
            related_port: related.map(|(_, p)| p),
            tcp_type, extensions,
        }
    }
}

fn fingerprint() -> impl Strategy<Value = Fingerprint> {
    prop_oneof![
        vec(any::<u8>(), 32).prop_map(|b| Fingerprint::new(HashAlgorithm::Sha256, b).unwrap()),
        vec(any::<u8>(), 20).prop_map(|b| Fingerprint::new(HashAlgorithm::Sha1, b).unwrap()),
        vec(any::<u8>(), 1..8).prop_map(|b| Fingerprint::new(
            HashAlgorithm::Other("x-hash".into()),
            b
        )
        .unwrap()),
    ]
}

fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![
        Just(Direction::SendRecv),
        Just(Direction::SendOnly),
        Just(Direction::RecvOnly),
        Just(Direction::Inactive)
    ]
}

fn connection() -> impl Strategy<Value = ConnectionData> {
    (
        "IN",
        prop_oneof![Just("IP4".to_owned()), Just("IP6".to_owned())],
        token(),
    )
        .prop_map(|(n, t, a)| ConnectionData {
            network_type: n.clone(),
            address_type: t,
            address: a,
        })
}

fn other_attribute() -> impl Strategy<Value = Attribute> {
    (
        "x-[a-z]{1,6}",
        option::of("([a-z0-9]([a-z0-9 :=]{0,6}[a-z0-9])?)?"),
    )
        .prop_map(|(name, value)| Attribute { name, value })
}

fn feedback() -> impl Strategy<Value = RtcpFeedback> {
    ("[a-z][a-z-]{0,6}", option::of("[a-z]{1,4}"))
        .prop_map(|(kind, parameter)| RtcpFeedback { kind, parameter })
}

fn payloads() -> impl Strategy<Value = Vec<RtpPayload>> {
    vec(
        (
            0u8..=127,
            "[A-Za-z][A-Za-z0-9-]{0,5}",
            1u32..200_000,
            option::of(1u16..9),
            option::of("[a-z]{1,5}=[0-9]{1,3}(;[a-z]{1,5}=[0-9]{1,3}){0,2}"),
            vec(feedback(), 0..3),
        ),
        0..5,
    )
    .prop_map(|mut items| {
        items.sort_by_key(|i| i.0);
        items.dedup_by_key(|i| i.0);
        items
            .into_iter()
            .map(
                |(pt, encoding, clock_rate, channels, fmtp, rtcp_feedback)| RtpPayload {
                    payload_type: PayloadType::new(pt).unwrap(),
                    rtpmap: Some(RtpMap {
                        encoding,
                        clock_rate,
                        channels,
                    }),
                    fmtp,
                    rtcp_feedback,
                },
            )
            .collect()
    })
}

fn simulcast() -> impl Strategy<Value = Simulcast> {
    let stream =
        ("[a-z0-9]{1,3}", any::<bool>()).prop_map(|(rid, paused)| SimulcastStream { rid, paused });
    let list = vec(vec(stream, 1..3), 0..3);
    (list.clone(), list)
        .prop_filter("one side", |(s, r)| !s.is_empty() || !r.is_empty())
        .prop_map(|(send, recv)| Simulcast { send, recv })
}

prop_compose! {
    fn media()(
        kind in prop_oneof![Just(MediaKind::Audio), Just(MediaKind::Video), Just(MediaKind::Application), "x[a-z]{1,5}".prop_map(MediaKind::Other)],
        port in any::<u16>(),
        port_count in option::of(1u16..4),
        proto in prop_oneof![Just(Proto::UdpDtlsSctp), Just(Proto::DtlsSctp), Just(Proto::UdpTlsRtpSavpf), Just(Proto::RtpAvp), "X/[A-Z]{1,4}".prop_map(Proto::Other)],
        // An m= line lists each format once (a repeat is malformed).
        formats in btree_set(token(), 1..5).prop_map(|set| set.into_iter().collect::<Vec<_>>()),
        title in option::of(text()),
        connections in vec(connection(), 0..2),
        bandwidths in vec(("[A-Z]{1,4}", any::<u64>()).prop_map(|(kind, value)| Bandwidth { kind, value }), 0..2),
        mid in option::of(mid()),
        ice in option::of(("[a-zA-Z0-9+/]{4,10}", "[a-zA-Z0-9+/]{22,30}")),
        ice_options in vec("[a-z0-9]{1,6}", 0..3),
        fingerprints in vec(fingerprint(), 0..3),
        setup in option::of(prop_oneof![Just(Setup::Active), Just(Setup::Passive), Just(Setup::Actpass), Just(Setup::Holdconn)]),
        flags in any::<[bool; 6]>(),
        candidates in vec(candidate(), 0..4),
        sctp in (option::of(any::<u16>()), option::of(any::<u64>())),
        extmaps in vec((1u16..=14, option::of(direction()), "urn:x:[a-z]{1,5}", option::of("[a-z]{1,4}")).prop_map(|(id, direction, uri, attributes)| ExtMap { id, direction, uri, attributes }), 0..3),
        direction in option::of(direction()),
        msids in vec(("[a-z0-9{}-]{1,8}", option::of("[a-z0-9-]{1,8}")).prop_map(|(stream, track)| Msid { stream, track }), 0..2),
        rtcp in option::of((any::<u16>(), option::of(connection())).prop_map(|(port, connection)| RtcpAddress { port, connection })),
        payloads in payloads(),
        wildcard in vec(feedback(), 0..2),
        ssrcs in vec((any::<u32>(), "[a-z]{1,5}", option::of("[a-z0-9{}/+]([a-z0-9{}/+ ]{0,6}[a-z0-9])?")).prop_map(|(s, attribute, value)| SsrcAttribute { ssrc: Ssrc(s), attribute, value }), 0..3),
        groups in vec(("[A-Z]{2,4}", vec(any::<u32>().prop_map(Ssrc), 0..3)).prop_map(|(semantics, ssrcs)| SsrcGroup { semantics, ssrcs }), 0..2),
        rids in vec(("[a-z0-9]{1,3}", any::<bool>(), option::of("pt=[0-9]{2,3}(;max-width=[0-9]{3})?")).prop_map(|(id, send, restrictions)| Rid { id, send, restrictions }), 0..3),
        simulcast in option::of(simulcast()),
        other in vec(other_attribute(), 0..3),
    ) -> MediaDescription {
        let mut m = MediaDescription::new(kind, port, proto, formats);
        m.port_count = port_count;
        m.title = title;
        m.connections = connections;
        m.bandwidths = bandwidths;
        m.mid = mid;
        if let Some((ufrag, pwd)) = ice {
            m.ice_ufrag = Some(IceUfrag::new(ufrag).unwrap());
            m.ice_pwd = Some(IcePwd::new(pwd).unwrap());
        }
        m.ice_options = ice_options;
        m.fingerprints = fingerprints;
        m.setup = setup;
        [m.bundle_only, m.end_of_candidates, m.extmap_allow_mixed, m.rtcp_mux, m.rtcp_mux_only, m.rtcp_rsize] = flags;
        m.candidates = candidates;
        (m.sctp_port, m.max_message_size) = sctp;
        m.extmaps = extmaps;
        m.direction = direction;
        m.msids = msids;
        m.rtcp = rtcp;
        m.payloads = payloads;
        m.rtcp_feedback_all = wildcard;
        m.ssrcs = ssrcs;
        m.ssrc_groups = groups;
        m.rids = rids;
        m.simulcast = simulcast;
        m.other = other;
        m
    }
}

prop_compose! {
    fn description()(
        origin in (token(), any::<u64>(), any::<u64>(), token()),
        name in prop_oneof![Just(String::new()), text()],
        information in option::of(text()),
        connection in option::of(connection()),
        timings in vec((any::<u64>(), any::<u64>(), vec(text(), 0..2)).prop_map(|(start, stop, repeats)| Timing { start, stop, repeats }), 1..3),
        groups in vec(("[A-Z]{2,6}", vec(mid(), 0..4)).prop_map(|(semantics, mids)| Group { semantics, mids }), 0..2),
        ice_lite in any::<bool>(),
        ice in option::of(("[a-zA-Z0-9+/]{4,10}", "[a-zA-Z0-9+/]{22,30}")),
        fingerprints in vec(fingerprint(), 0..2),
        setup in option::of(prop_oneof![Just(Setup::Active), Just(Setup::Actpass)]),
        mixed in any::<bool>(),
        semantics in vec(("WMS", vec("[a-z0-9*-]{1,6}", 0..2)).prop_map(|(s, identifiers)| MsidSemantic { semantic: s.clone(), identifiers }), 0..2),
        direction in option::of(direction()),
        other in vec(other_attribute(), 0..3),
        media in vec(media().boxed(), 0..4),
    ) -> SessionDescription {
        let mut origin_value = Origin::new(origin.1, origin.2);
        origin_value.username = origin.0;
        origin_value.unicast_address = origin.3;
        let mut sdp = SessionDescription::new(origin_value);
        sdp.session_name = name;
        sdp.information = information;
        sdp.connection = connection;
        sdp.timings = timings;
        sdp.groups = groups;
        sdp.ice_lite = ice_lite;
        if let Some((ufrag, pwd)) = ice {
            sdp.ice_ufrag = Some(IceUfrag::new(ufrag).unwrap());
            sdp.ice_pwd = Some(IcePwd::new(pwd).unwrap());
        }
        sdp.fingerprints = fingerprints;
        sdp.setup = setup;
        sdp.extmap_allow_mixed = mixed;
        sdp.msid_semantics = semantics;
        sdp.direction = direction;
        sdp.other = other;
        sdp.media = media;
        sdp
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn generated_candidates_round_trip(c in candidate()) {
        let text = c.to_string();
        let parsed = Candidate::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
        prop_assert_eq!(&parsed, &c);
        // With the a= prefix and without candidate:, as browsers and SDP lines give them.
        prop_assert_eq!(Candidate::parse(&format!("a={text}")).unwrap(), c.clone());
        prop_assert_eq!(Candidate::parse(&c.attribute_value()).unwrap(), c);
    }

    #[test]
    fn arbitrary_text_never_panics_the_parser(text in "(?s).{0,400}") {
        let _ = SessionDescription::parse(&text);
        let _ = Candidate::parse(&text);
    }

    #[test]
    fn mutated_real_descriptions_never_panic_and_round_trip_when_they_parse(
        index in 0usize..4,
        cut in any::<prop::sample::Index>(),
        insert in "[ -~\\r\\n]{0,12}",
    ) {
        let names = [
            "chromium-audio-video-datachannel-offer-complete.sdp",
            "firefox-99-datachannel-offer-mdns.sdp",
            "libdatachannel-datachannel-offer-complete.sdp",
            "firefox-52-legacy-datachannel-offer.sdp",
        ];
        let original = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(names[index]),
        ).unwrap();
        let at = cut.index(original.len());
        let at = (0..=at).rev().find(|&i| original.is_char_boundary(i)).unwrap_or(0);
        let mutated = format!("{}{}{}", &original[..at], insert, &original[at..]);
        if let Ok(sdp) = SessionDescription::parse(&mutated) {
            let again = SessionDescription::parse(&sdp.to_string()).unwrap();
            prop_assert_eq!(again, sdp);
        }
    }
}

/// The description strategy is deep; building and shrinking it needs more stack than a
/// test thread's default in debug builds.
#[test]
fn generated_descriptions_round_trip() {
    let worker = std::thread::Builder::new()
        .stack_size(256 * 1024 * 1024)
        .spawn(|| {
            let mut runner = TestRunner::new(RunnerConfig {
                cases: 256,
                ..RunnerConfig::default()
            });
            runner
                .run(&description().boxed(), |sdp| {
                    let text = sdp.to_string();
                    let parsed = SessionDescription::parse(&text)
                        .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
                    prop_assert_eq!(&parsed, &sdp, "{}", text);
                    prop_assert_eq!(parsed.to_string(), text);
                    Ok(())
                })
                .map_err(|e| e.to_string())
        })
        .unwrap();
    if let Err(failure) = worker.join().unwrap() {
        panic!("{failure}");
    }
}
