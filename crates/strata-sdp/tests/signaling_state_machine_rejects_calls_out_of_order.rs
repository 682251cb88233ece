//! The signaling state machine: calls out of order fail with a typed error and change
//! nothing; rollback, implicit rollback (perfect negotiation) and pranswer work.

mod support;

use strata_sdp::{
    Blame, Description, Error, Incompatibility, Misuse, Operation, ProtocolViolation, SdpType,
    SignalingState,
};
use support::{answer, exchange, negotiator_with, offer};

#[test]
fn applying_an_answer_in_stable_is_a_caller_error() {
    let mut offerer = negotiator_with("offr", 1, 1);
    offerer.want_data_channel();
    let an_offer = offerer.create_offer().unwrap();
    let mut other = negotiator_with("othr", 2, 2);
    let err = other
        .set_remote_description(Description {
            kind: SdpType::Answer,
            sdp: an_offer.sdp,
        })
        .unwrap_err();
    assert_eq!(
        err,
        Error::InvalidState {
            operation: Operation::SetRemoteAnswer,
            state: SignalingState::Stable
        }
    );
    assert_eq!(err.blame(), Blame::CallerMisuse);
    assert_eq!(other.signaling_state(), SignalingState::Stable);
}

#[test]
fn creating_an_answer_without_a_remote_offer_is_rejected() {
    let mut negotiator = negotiator_with("abcd", 1, 1);
    assert!(matches!(
        negotiator.create_answer(),
        Err(Error::InvalidState {
            operation: Operation::CreateAnswer,
            state: SignalingState::Stable
        })
    ));
    assert!(matches!(
        negotiator.rollback(),
        Err(Error::InvalidState {
            operation: Operation::Rollback,
            ..
        })
    ));
}

#[test]
fn a_local_description_we_did_not_create_is_rejected() {
    let mut a = negotiator_with("aaaa", 1, 1);
    let mut b = negotiator_with("bbbb", 2, 2);
    a.want_data_channel();
    b.want_data_channel();
    let foreign = b.create_offer().unwrap();
    assert_eq!(
        a.set_local_description(&foreign),
        Err(Error::InvalidArgument(Misuse::NotCreatedLocally))
    );
    let mut own = a.create_offer().unwrap();
    own.sdp.media[0].mid = Some(strata_sdp::Mid::new("changed").unwrap());
    assert_eq!(
        a.set_local_description(&own),
        Err(Error::InvalidArgument(Misuse::NotCreatedLocally))
    );
    assert_eq!(a.signaling_state(), SignalingState::Stable);
}

#[test]
fn every_call_fails_after_close() {
    let mut negotiator = negotiator_with("abcd", 1, 1);
    negotiator.want_data_channel();
    negotiator.close();
    assert!(matches!(
        negotiator.create_offer(),
        Err(Error::InvalidState {
            state: SignalingState::Closed,
            ..
        })
    ));
    assert!(!negotiator.needs_negotiation());
}

#[test]
fn rolling_back_a_local_offer_returns_to_stable_and_a_new_offer_works() {
    let mut a = negotiator_with("aaaa", 1, 1);
    a.want_data_channel();
    let first = a.create_offer().unwrap();
    a.set_local_description(&first).unwrap();
    assert_eq!(a.signaling_state(), SignalingState::HaveLocalOffer);
    assert_eq!(a.rollback().unwrap(), SignalingState::Stable);
    assert!(a.local_description().is_none());
    assert!(a.needs_negotiation());
    let mut b = negotiator_with("bbbb", 2, 2);
    let (ours, theirs) = exchange(&mut a, &mut b);
    assert!(ours.data_channel.is_some() && theirs.data_channel.is_some());
    assert!(!a.needs_negotiation());
}

#[test]
fn rolling_back_a_remote_offer_forgets_it() {
    let mut a = negotiator_with("aaaa", 1, 1);
    a.want_data_channel();
    let offer_a = a.create_offer().unwrap();
    let mut b = negotiator_with("bbbb", 2, 2);
    let _ = b
        .set_remote_description(offer(&offer_a.to_sdp_string()))
        .unwrap();
    assert_eq!(b.signaling_state(), SignalingState::HaveRemoteOffer);
    assert_eq!(b.rollback().unwrap(), SignalingState::Stable);
    assert!(b.remote_description().is_none());
    assert!(b.negotiated().is_none());
}

#[test]
fn glare_is_resolved_by_the_polite_peer_rolling_back_implicitly() {
    let mut impolite = negotiator_with("impo", 1, 1);
    let mut polite = negotiator_with("poli", 2, 2);
    impolite.want_data_channel();
    polite.want_data_channel();
    let impolite_offer = impolite.create_offer().unwrap();
    impolite.set_local_description(&impolite_offer).unwrap();
    let polite_offer = polite.create_offer().unwrap();
    polite.set_local_description(&polite_offer).unwrap();

    // The impolite peer ignores the colliding offer; the polite one accepts it.
    let applied = polite
        .set_remote_description(offer(&impolite_offer.to_sdp_string()))
        .unwrap();
    assert!(applied.rolled_back_local_offer);
    assert_eq!(applied.state, SignalingState::HaveRemoteOffer);
    let polite_answer = polite.create_answer().unwrap();
    let local = polite.set_local_description(&polite_answer).unwrap();
    let remote = impolite
        .set_remote_description(answer(&polite_answer.to_sdp_string()))
        .unwrap();
    assert_eq!(polite.signaling_state(), SignalingState::Stable);
    assert_eq!(impolite.signaling_state(), SignalingState::Stable);
    let (ours, theirs) = (remote.negotiated.unwrap(), local.negotiated.unwrap());
    assert_eq!(
        ours.transport.as_ref().unwrap().remote_ice,
        theirs.transport.as_ref().unwrap().local_ice
    );
    // The polite peer's data channel was negotiated by the other offer.
    assert!(!polite.needs_negotiation());
}

#[test]
fn explicit_rollback_then_remote_offer_is_the_same_path() {
    let mut a = negotiator_with("aaaa", 1, 1);
    let mut b = negotiator_with("bbbb", 2, 2);
    a.want_data_channel();
    b.want_data_channel();
    let offer_a = a.create_offer().unwrap();
    a.set_local_description(&offer_a).unwrap();
    let offer_b = b.create_offer().unwrap();
    b.set_local_description(&offer_b).unwrap();
    b.rollback().unwrap();
    let applied = b
        .set_remote_description(offer(&offer_a.to_sdp_string()))
        .unwrap();
    assert!(!applied.rolled_back_local_offer);
    let answer_b = b.create_answer().unwrap();
    b.set_local_description(&answer_b).unwrap();
    let _ = a
        .set_remote_description(answer(&answer_b.to_sdp_string()))
        .unwrap();
    assert_eq!(a.signaling_state(), SignalingState::Stable);
}

#[test]
fn provisional_answers_move_through_the_pranswer_states() {
    let mut a = negotiator_with("aaaa", 1, 1);
    let mut b = negotiator_with("bbbb", 2, 2);
    a.want_data_channel();
    let offer_a = a.create_offer().unwrap();
    a.set_local_description(&offer_a).unwrap();
    let _ = b
        .set_remote_description(offer(&offer_a.to_sdp_string()))
        .unwrap();
    let mut pranswer = b.create_answer().unwrap();
    pranswer.kind = SdpType::Pranswer;
    let local = b.set_local_description(&pranswer).unwrap();
    assert_eq!(local.state, SignalingState::HaveLocalPranswer);
    assert!(local.negotiated.as_ref().unwrap().provisional);
    let remote = a
        .set_remote_description(
            Description::parse(SdpType::Pranswer, &pranswer.to_sdp_string()).unwrap(),
        )
        .unwrap();
    assert_eq!(remote.state, SignalingState::HaveRemotePranswer);
    assert!(remote.negotiated.unwrap().provisional);

    let final_answer = b.create_answer().unwrap();
    let local = b.set_local_description(&final_answer).unwrap();
    assert_eq!(local.state, SignalingState::Stable);
    assert!(!local.negotiated.unwrap().provisional);
    let remote = a
        .set_remote_description(answer(&final_answer.to_sdp_string()))
        .unwrap();
    assert_eq!(remote.state, SignalingState::Stable);
}

type Expected = fn(&Error) -> bool;

fn offered_pair() -> (strata_sdp::Negotiator, String) {
    let mut a = negotiator_with("aaaa", 1, 1);
    a.want_data_channel();
    let offer_a = a.create_offer().unwrap();
    a.set_local_description(&offer_a).unwrap();
    let mut b = negotiator_with("bbbb", 2, 2);
    let _ = b
        .set_remote_description(offer(&offer_a.to_sdp_string()))
        .unwrap();
    let answer_b = b.create_answer().unwrap();
    (a, answer_b.to_sdp_string())
}

#[test]
fn a_rejected_answer_changes_nothing_and_the_right_one_still_applies() {
    let (mut a, good) = offered_pair();
    let cases: [(&str, &str, Expected); 5] = [
        ("a=mid:0", "a=mid:7", |e| {
            matches!(
                e,
                Error::Protocol(ProtocolViolation::SectionMismatch { .. })
            )
        }),
        ("a=setup:active", "a=setup:actpass", |e| {
            *e == Error::Protocol(ProtocolViolation::AnswerSetupActpass)
        }),
        ("a=setup:active", "a=setup:holdconn", |e| {
            *e == Error::Incompatible(Incompatibility::SetupHoldconn)
        }),
        ("a=fingerprint:sha-256", "a=x-fingerprint:sha-256", |e| {
            matches!(
                e,
                Error::Protocol(ProtocolViolation::MissingFingerprint { index: 0 })
            )
        }),
        ("a=ice-ufrag:bbbb", "a=x-ice-ufrag:bbbb", |e| {
            matches!(
                e,
                Error::Protocol(ProtocolViolation::MissingIceCredentials { index: 0 })
            )
        }),
    ];
    for (from, to, expected) in cases {
        assert!(good.contains(from), "{from}");
        let bad = good
            .replace(from, to)
            .replace("a=group:BUNDLE 0", "a=group:BUNDLE 7")
            .replace(
                "a=group:BUNDLE 7",
                if to == "a=mid:7" {
                    "a=group:BUNDLE 7"
                } else {
                    "a=group:BUNDLE 0"
                },
            );
        let err = a.set_remote_description(answer(&bad)).unwrap_err();
        assert!(expected(&err), "{to}: {err:?}");
        assert_eq!(a.signaling_state(), SignalingState::HaveLocalOffer);
        assert!(a.negotiated().is_none());
    }
    let _ = a.set_remote_description(answer(&good)).unwrap();
    assert_eq!(a.signaling_state(), SignalingState::Stable);
}

#[test]
fn an_md5_only_fingerprint_is_incompatible() {
    let (mut a, good) = offered_pair();
    let start = good.find("a=fingerprint:").unwrap();
    let end = good[start..].find("\r\n").unwrap() + start;
    let md5 = "a=fingerprint:md5 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";
    let bad = format!("{}{md5}{}", &good[..start], &good[end..]);
    assert_eq!(
        a.set_remote_description(answer(&bad)),
        Err(Error::Incompatible(Incompatibility::NoSupportedFingerprint))
    );
}

#[test]
fn malformed_remote_sdp_names_the_line() {
    let err = Description::parse(SdpType::Answer, "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=application nine UDP/DTLS/SCTP webrtc-datachannel\r\n")
        .unwrap_err();
    assert!(matches!(err, Error::Syntax { line: 5, .. }), "{err}");
    assert_eq!(err.blame(), Blame::MalformedInput);
    assert!(err.to_string().contains("line 5"), "{err}");
}

#[test]
fn duplicate_mids_in_a_remote_offer_are_a_protocol_violation() {
    let mut a = negotiator_with("aaaa", 1, 1);
    let text = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
        m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n\
        m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n";
    let err = a.set_remote_description(offer(text)).unwrap_err();
    assert!(matches!(
        err,
        Error::Protocol(ProtocolViolation::DuplicateMid(_))
    ));
    assert_eq!(err.blame(), Blame::PeerMisbehaved);
}

#[test]
fn implicit_set_local_description_offers_or_answers_by_state() {
    let mut a = negotiator_with("aaaa", 1, 1);
    let mut b = negotiator_with("bbbb", 2, 2);
    a.want_data_channel();
    let (offer_a, applied) = a.set_local_description_implicit().unwrap();
    assert_eq!(offer_a.kind, SdpType::Offer);
    assert_eq!(applied.state, SignalingState::HaveLocalOffer);
    let _ = b
        .set_remote_description(offer(&offer_a.to_sdp_string()))
        .unwrap();
    let (answer_b, applied) = b.set_local_description_implicit().unwrap();
    assert_eq!(answer_b.kind, SdpType::Answer);
    assert_eq!(applied.state, SignalingState::Stable);
    assert!(applied.negotiated.unwrap().data_channel.is_some());
}
