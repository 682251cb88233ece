//! Trickle ICE (RFC 8838): remote candidates may arrive before the remote description,
//! during the exchange, or after it; local candidates go into the local description.

mod support;

use strata_sdp::{
    CandidateOutcome, Error, Misuse, ProtocolViolation, TrickledCandidate,
    limits::MAX_QUEUED_REMOTE_CANDIDATES,
};
use support::{answer, negotiator_with, offer};

fn trickled(port: u16, ufrag: Option<&str>) -> TrickledCandidate {
    TrickledCandidate::parse(
        &format!("candidate:{port} 1 udp 2122260223 127.0.0.1 {port} typ host generation 0"),
        Some("0"),
        Some(0),
        ufrag,
    )
    .unwrap()
}

fn end_of_candidates() -> TrickledCandidate {
    TrickledCandidate::parse("", Some("0"), Some(0), None).unwrap()
}

#[test]
fn candidates_before_during_and_after_the_exchange_all_reach_the_answerer() {
    let mut offerer = negotiator_with("offr", 1, 1);
    offerer.want_data_channel();
    let the_offer = offerer.create_offer().unwrap();
    offerer.set_local_description(&the_offer).unwrap();

    let mut answerer = negotiator_with("answ", 2, 2);
    // Before the offer arrives (signaling reordered them).
    assert_eq!(
        answerer
            .add_remote_candidate(trickled(1001, Some("offr")))
            .unwrap(),
        CandidateOutcome::Held
    );
    let _ = answerer
        .set_remote_description(offer(&the_offer.to_sdp_string()))
        .unwrap();
    // After the offer, before our answer.
    assert_eq!(
        answerer.add_remote_candidate(trickled(1002, None)).unwrap(),
        CandidateOutcome::Held
    );
    let the_answer = answerer.create_answer().unwrap();
    let negotiated = answerer
        .set_local_description(&the_answer)
        .unwrap()
        .negotiated
        .unwrap();
    let ports: Vec<u16> = negotiated
        .transport
        .as_ref()
        .unwrap()
        .remote_candidates
        .iter()
        .map(|c| c.port)
        .collect();
    assert_eq!(ports, [1001, 1002]);
    // After the exchange: straight to the ICE agent.
    match answerer
        .add_remote_candidate(trickled(1003, Some("offr")))
        .unwrap()
    {
        CandidateOutcome::Deliver(candidate) => assert_eq!(candidate.port, 1003),
        other => panic!("expected delivery, got {other:?}"),
    }
    assert_eq!(
        answerer.add_remote_candidate(end_of_candidates()).unwrap(),
        CandidateOutcome::EndOfCandidates
    );
    // The remote description reflects them (RTCPeerConnection.remoteDescription does).
    let remote = answerer.remote_description().unwrap();
    assert_eq!(remote.sdp.media[0].candidates.len(), 3);
    assert!(remote.sdp.media[0].end_of_candidates);
    assert_eq!(answerer.stats().dropped_remote_candidates, 0);
}

#[test]
fn candidates_reach_the_offerer_before_and_after_the_answer() {
    let mut offerer = negotiator_with("offr", 1, 1);
    offerer.want_data_channel();
    let the_offer = offerer.create_offer().unwrap();
    offerer.set_local_description(&the_offer).unwrap();
    let mut answerer = negotiator_with("answ", 2, 2);
    let _ = answerer
        .set_remote_description(offer(&the_offer.to_sdp_string()))
        .unwrap();
    let the_answer = answerer.create_answer().unwrap();
    answerer.set_local_description(&the_answer).unwrap();

    // The answerer's first candidate overtakes its answer.
    assert_eq!(
        offerer
            .add_remote_candidate(trickled(2001, Some("answ")))
            .unwrap(),
        CandidateOutcome::Held
    );
    assert_eq!(
        offerer.add_remote_candidate(end_of_candidates()).unwrap(),
        CandidateOutcome::Held
    );
    let negotiated = offerer
        .set_remote_description(answer(&the_answer.to_sdp_string()))
        .unwrap()
        .negotiated
        .unwrap();
    let transport = negotiated.transport.unwrap();
    assert_eq!(transport.remote_candidates.len(), 1);
    assert!(transport.remote_end_of_candidates);
}

#[test]
fn candidates_of_an_older_generation_are_dropped_and_counted() {
    let mut offerer = negotiator_with("offr", 1, 1);
    offerer.want_data_channel();
    let the_offer = offerer.create_offer().unwrap();
    let mut answerer = negotiator_with("answ", 2, 2);
    let _ = answerer
        .add_remote_candidate(trickled(3001, Some("old0")))
        .unwrap();
    let _ = answerer
        .add_remote_candidate(trickled(3002, Some("offr")))
        .unwrap();
    let _ = answerer
        .set_remote_description(offer(&the_offer.to_sdp_string()))
        .unwrap();
    assert_eq!(answerer.stats().dropped_remote_candidates, 1);
    let remote = answerer.remote_description().unwrap();
    assert_eq!(remote.sdp.media[0].candidates.len(), 1);
    assert_eq!(remote.sdp.media[0].candidates[0].port, 3002);
}

#[test]
fn the_queue_before_a_remote_description_is_bounded() {
    let mut negotiator = negotiator_with("abcd", 1, 1);
    for i in 0..MAX_QUEUED_REMOTE_CANDIDATES {
        let port = u16::try_from(i + 1).unwrap();
        assert_eq!(
            negotiator
                .add_remote_candidate(trickled(port, None))
                .unwrap(),
            CandidateOutcome::Held
        );
    }
    let err = negotiator
        .add_remote_candidate(trickled(60_000, None))
        .unwrap_err();
    assert_eq!(
        err,
        Error::CandidateQueueFull {
            pending: MAX_QUEUED_REMOTE_CANDIDATES
        }
    );
    assert_eq!(negotiator.stats().dropped_remote_candidates, 1);
}

#[test]
fn a_candidate_for_a_section_the_peer_does_not_have_is_a_protocol_error() {
    let mut offerer = negotiator_with("offr", 1, 1);
    let mut answerer = negotiator_with("answ", 2, 2);
    offerer.want_data_channel();
    support::exchange(&mut offerer, &mut answerer);
    let stray = TrickledCandidate::parse(
        "candidate:1 1 udp 1 127.0.0.1 9 typ host",
        Some("nope"),
        None,
        None,
    )
    .unwrap();
    assert_eq!(
        answerer.add_remote_candidate(stray),
        Err(Error::Protocol(ProtocolViolation::CandidateTarget))
    );
}

#[test]
fn local_candidates_and_end_of_candidates_go_into_the_local_description() {
    let mut negotiator = negotiator_with("abcd", 1, 1);
    negotiator.want_data_channel();
    let the_offer = negotiator.create_offer().unwrap();
    negotiator.set_local_description(&the_offer).unwrap();
    let host = "candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host"
        .parse()
        .unwrap();
    let srflx =
        "candidate:2 1 udp 1686052607 198.51.100.7 50001 typ srflx raddr 192.0.2.1 rport 50000"
            .parse()
            .unwrap();
    negotiator.add_local_candidate(host).unwrap();
    negotiator.add_local_candidate(srflx).unwrap();
    negotiator.local_candidates_complete();
    let local = negotiator.local_description().unwrap();
    let media = &local.sdp.media[0];
    assert_eq!(media.candidates.len(), 2);
    assert!(media.end_of_candidates);
    // JSEP §5.2.1: the default candidate (server reflexive over host) in m= and c=.
    assert_eq!(media.port, 50001);
    assert_eq!(media.connections[0].address, "198.51.100.7");
    // The same description, with candidates, is still accepted back.
    negotiator.set_local_description(&local).unwrap();

    let rtcp = "candidate:1 2 udp 1 192.0.2.1 50002 typ host"
        .parse()
        .unwrap();
    assert_eq!(
        negotiator.add_local_candidate(rtcp),
        Err(Error::InvalidArgument(Misuse::CandidateComponent))
    );
}

#[test]
fn during_a_renegotiation_candidates_of_the_running_generation_are_delivered_at_once() {
    let mut offerer = negotiator_with("offr", 1, 1);
    let mut answerer = negotiator_with("answ", 2, 2);
    offerer.want_data_channel();
    support::exchange(&mut offerer, &mut answerer);
    let re_offer = offerer.create_offer().unwrap();
    offerer.set_local_description(&re_offer).unwrap();
    let applied = answerer
        .set_remote_description(offer(&re_offer.to_sdp_string()))
        .unwrap();
    assert!(!applied.ice_restart);
    assert!(matches!(
        answerer
            .add_remote_candidate(trickled(4001, Some("offr")))
            .unwrap(),
        CandidateOutcome::Deliver(_)
    ));
}
