//! The offer/answer exchange between two peers in one process, shared by the tests and
//! the benchmarks (which include this file by path).

use strata::PeerConnection;

/// One offer/answer exchange, `offerer` first.
pub(crate) async fn negotiate(offerer: &PeerConnection, answerer: &PeerConnection) {
    let offer = offerer.create_offer().await.expect("offer");
    offerer
        .set_local_description(offer.clone())
        .await
        .expect("local offer");
    answerer
        .set_remote_description(offer)
        .await
        .expect("remote offer");
    let answer = answerer.create_answer().await.expect("answer");
    answerer
        .set_local_description(answer.clone())
        .await
        .expect("local answer");
    offerer
        .set_remote_description(answer)
        .await
        .expect("remote answer");
}
