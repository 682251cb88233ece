//! ICE restart: new credentials in a re-offer are detected, reported, and need new
//! local credentials in the answer; roles and the DTLS association survive.

mod support;

use strata_sdp::{Error, Misuse, SignalingState};
use support::{answer, credentials, exchange, negotiator_with, offer};

#[test]
fn a_restart_offered_by_us_is_reported_on_both_sides() {
    let mut a = negotiator_with("aaaa", 1, 1);
    let mut b = negotiator_with("bbbb", 2, 2);
    a.want_data_channel();
    let (first_a, _) = exchange(&mut a, &mut b);
    assert!(!first_a.ice_restart);
    let dtls_role = first_a.transport.as_ref().unwrap().dtls_role;

    a.restart_ice(credentials("AAAA")).unwrap();
    assert!(a.needs_negotiation());
    let re_offer = a.create_offer().unwrap();
    assert_eq!(
        re_offer.sdp.media[0].ice_ufrag.as_ref().unwrap().as_str(),
        "AAAA"
    );
    a.set_local_description(&re_offer).unwrap();
    let applied = b
        .set_remote_description(offer(&re_offer.to_sdp_string()))
        .unwrap();
    assert!(applied.ice_restart);
    // The answer must restart too: it needs fresh credentials first.
    assert_eq!(
        b.create_answer(),
        Err(Error::InvalidArgument(Misuse::RestartNeedsCredentials))
    );
    b.restart_ice(credentials("BBBB")).unwrap();
    let re_answer = b.create_answer().unwrap();
    let answered = b
        .set_local_description(&re_answer)
        .unwrap()
        .negotiated
        .unwrap();
    assert!(answered.ice_restart);
    assert_eq!(b.local_ice_credentials().ufrag.as_str(), "BBBB");
    let transport = answered.transport.unwrap();
    assert_eq!(transport.remote_ice.ufrag.as_str(), "AAAA");
    assert_eq!(transport.local_ice.ufrag.as_str(), "BBBB");

    let completed = a
        .set_remote_description(answer(&re_answer.to_sdp_string()))
        .unwrap()
        .negotiated
        .unwrap();
    assert!(completed.ice_restart);
    assert_eq!(a.local_ice_credentials().ufrag.as_str(), "AAAA");
    let transport = completed.transport.unwrap();
    assert_eq!(transport.remote_ice.ufrag.as_str(), "BBBB");
    assert_eq!(transport.dtls_role, dtls_role, "DTLS association kept");
    assert!(!a.needs_negotiation());
    assert_eq!(a.signaling_state(), SignalingState::Stable);

    // A later re-offer without restart reports none.
    let (again, _) = exchange(&mut a, &mut b);
    assert!(!again.ice_restart);
}

#[test]
fn restarting_with_the_same_credentials_is_refused() {
    let mut a = negotiator_with("aaaa", 1, 1);
    assert_eq!(
        a.restart_ice(credentials("aaaa")),
        Err(Error::InvalidArgument(Misuse::SameIceCredentials))
    );
}

#[test]
fn a_rolled_back_restart_offer_keeps_the_restart_pending() {
    let mut a = negotiator_with("aaaa", 1, 1);
    let mut b = negotiator_with("bbbb", 2, 2);
    a.want_data_channel();
    exchange(&mut a, &mut b);
    a.restart_ice(credentials("AAAA")).unwrap();
    let re_offer = a.create_offer().unwrap();
    a.set_local_description(&re_offer).unwrap();
    a.rollback().unwrap();
    assert_eq!(a.local_ice_credentials().ufrag.as_str(), "aaaa");
    assert!(a.needs_negotiation());
    let next = a.create_offer().unwrap();
    assert_eq!(
        next.sdp.media[0].ice_ufrag.as_ref().unwrap().as_str(),
        "AAAA"
    );
}

#[test]
fn a_pending_restart_waits_for_our_offer_when_the_peer_offers_first() {
    let mut a = negotiator_with("aaaa", 1, 1);
    let mut b = negotiator_with("bbbb", 2, 2);
    a.want_data_channel();
    exchange(&mut a, &mut b);
    b.restart_ice(credentials("BBBB")).unwrap();
    // a re-offers without a restart; b's answer must not change credentials.
    let (at_a, at_b) = exchange(&mut a, &mut b);
    assert!(!at_a.ice_restart && !at_b.ice_restart);
    assert_eq!(at_a.transport.unwrap().remote_ice.ufrag.as_str(), "bbbb");
    assert!(b.needs_negotiation(), "the restart is still pending");
    let restart = b.create_offer().unwrap();
    b.set_local_description(&restart).unwrap();
    let applied = a
        .set_remote_description(offer(&restart.to_sdp_string()))
        .unwrap();
    assert!(applied.ice_restart);
    a.restart_ice(credentials("AAAA")).unwrap();
    let reply = a.create_answer().unwrap();
    let at_a = a.set_local_description(&reply).unwrap().negotiated.unwrap();
    assert!(at_a.ice_restart);
    assert_eq!(at_a.transport.unwrap().remote_ice.ufrag.as_str(), "BBBB");
    let at_b = b
        .set_remote_description(answer(&reply.to_sdp_string()))
        .unwrap()
        .negotiated
        .unwrap();
    assert!(at_b.ice_restart);
    assert!(!b.needs_negotiation());
}
