//! After answering Chromium's offer, our next offer (a renegotiation) keeps the header
//! extension ids Chromium chose: the BUNDLE has one id space, and Chromium refuses an
//! offer that maps a negotiated id to another URI ("RTP extension ID reassignment not
//! supported").

mod support;

use std::collections::HashMap;

use strata_sdp::SignalingState;
use support::{fixture, negotiator_with, offer};

#[test]
fn an_offer_after_answering_chromium_keeps_its_extension_ids() {
    let chromium = fixture("chromium-audio-video-datachannel-offer-complete.sdp");
    let remote = offer(&chromium);
    let theirs: HashMap<String, u16> = remote
        .sdp
        .media
        .iter()
        .flat_map(|m| &m.extmaps)
        .map(|e| (e.uri.clone(), e.id))
        .collect();
    let mut negotiator = negotiator_with("rEnG", 78, 0x43);
    let applied = negotiator.set_remote_description(remote).unwrap();
    assert_eq!(applied.state, SignalingState::HaveRemoteOffer);
    let answer = negotiator.create_answer().unwrap();
    let applied = negotiator.set_local_description(&answer).unwrap();
    assert_eq!(applied.state, SignalingState::Stable);

    let renegotiation = negotiator.create_offer().unwrap();
    let mut ours: HashMap<u16, String> = HashMap::new();
    let mut offered = 0;
    for extmap in renegotiation.sdp.media.iter().flat_map(|m| &m.extmaps) {
        offered += 1;
        if let Some(id) = theirs.get(&extmap.uri) {
            assert_eq!(extmap.id, *id, "{} keeps Chromium's id", extmap.uri);
        }
        let uri = ours.entry(extmap.id).or_insert_with(|| extmap.uri.clone());
        assert_eq!(*uri, extmap.uri, "id {} names one extension", extmap.id);
    }
    assert!(offered > 0, "the offer carries header extensions");
}
