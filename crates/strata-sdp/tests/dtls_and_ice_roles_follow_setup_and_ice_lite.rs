//! Roles: the answerer picks `active` for `actpass` (RFC 8842), honours `active` and
//! `passive`, keeps its role on re-offers; the offerer controls ICE unless one side is
//! ICE lite (RFC 8445 §6.1.1).

mod support;

use strata_sdp::{DtlsRole, IceRole, Setup};
use support::{answer, exchange, negotiator_with, offer};

fn data_offer(setup: &str, ice_lite: bool) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n{}\
         m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n\
         a=ice-ufrag:pEeR\r\na=ice-pwd:peerpeerpeerpeerpeerpe\r\n\
         a=fingerprint:sha-256 00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F\r\n\
         {setup}a=sctp-port:5000\r\n",
        if ice_lite { "a=ice-lite\r\n" } else { "" }
    )
}

fn answered(setup: &str, ice_lite: bool) -> (Setup, DtlsRole, IceRole) {
    let mut negotiator = negotiator_with("mine", 1, 1);
    let _ = negotiator
        .set_remote_description(offer(&data_offer(setup, ice_lite)))
        .unwrap();
    let our_answer = negotiator.create_answer().unwrap();
    let negotiated = negotiator
        .set_local_description(&our_answer)
        .unwrap()
        .negotiated
        .unwrap();
    let transport = negotiated.transport.unwrap();
    (
        our_answer.sdp.media[0].setup.unwrap(),
        transport.dtls_role,
        transport.ice_role,
    )
}

#[test]
fn answerer_setup_follows_the_offer() {
    assert_eq!(
        answered("a=setup:actpass\r\n", false),
        (Setup::Active, DtlsRole::Client, IceRole::Controlled)
    );
    assert_eq!(
        answered("a=setup:active\r\n", false),
        (Setup::Passive, DtlsRole::Server, IceRole::Controlled)
    );
    assert_eq!(
        answered("a=setup:passive\r\n", false),
        (Setup::Active, DtlsRole::Client, IceRole::Controlled)
    );
    // RFC 4145: no a=setup means active.
    assert_eq!(
        answered("", false),
        (Setup::Passive, DtlsRole::Server, IceRole::Controlled)
    );
}

#[test]
fn a_lite_offerer_makes_the_full_answerer_controlling() {
    assert_eq!(
        answered("a=setup:actpass\r\n", true).2,
        IceRole::Controlling
    );
}

#[test]
fn a_lite_local_agent_is_controlled_even_as_offerer() {
    let mut config = support::fixture_config();
    config.ice_lite = true;
    let mut lite = strata_sdp::Negotiator::new(config).unwrap();
    let mut full = negotiator_with("full", 2, 2);
    lite.want_data_channel();
    let (lite_side, full_side) = exchange(&mut lite, &mut full);
    assert!(lite.local_description().unwrap().sdp.ice_lite);
    assert_eq!(lite_side.transport.unwrap().ice_role, IceRole::Controlled);
    let full_transport = full_side.transport.unwrap();
    assert_eq!(full_transport.ice_role, IceRole::Controlling);
    assert!(full_transport.remote_ice_lite);
}

#[test]
fn the_answerer_keeps_its_dtls_role_on_a_re_offer() {
    let mut a = negotiator_with("aaaa", 1, 1);
    let mut b = negotiator_with("bbbb", 2, 2);
    a.want_data_channel();
    // First exchange with b offering setup:active... a answers passive (server).
    b.want_data_channel();
    let (b_first, a_first) = exchange(&mut b, &mut a);
    assert_eq!(b_first.transport.unwrap().dtls_role, DtlsRole::Server);
    assert_eq!(
        a_first.transport.as_ref().unwrap().dtls_role,
        DtlsRole::Client
    );
    // Now a offers (actpass); b answers keeping its server role: passive.
    let re_offer = a.create_offer().unwrap();
    assert_eq!(re_offer.sdp.media[0].setup, Some(Setup::Actpass));
    a.set_local_description(&re_offer).unwrap();
    let _ = b
        .set_remote_description(offer(&re_offer.to_sdp_string()))
        .unwrap();
    let re_answer = b.create_answer().unwrap();
    assert_eq!(re_answer.sdp.media[0].setup, Some(Setup::Passive));
    b.set_local_description(&re_answer).unwrap();
    let completed = a
        .set_remote_description(answer(&re_answer.to_sdp_string()))
        .unwrap()
        .negotiated
        .unwrap();
    assert_eq!(completed.transport.unwrap().dtls_role, DtlsRole::Client);
    // ICE roles do not change without a restart, even though a now offers.
    assert_eq!(a.ice_role(), Some(IceRole::Controlled));
}
