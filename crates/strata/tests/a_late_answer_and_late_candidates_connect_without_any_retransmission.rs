//! Signaling through a server delivers the answer, and the candidates after it, late: the
//! answerer checks, and may start DTLS, before the offerer can use anything it sends.
//! Whatever arrives early must wait and be replayed, never be dropped and left to a
//! retransmission timer.

mod peers;

use std::time::Duration;

use peers::{PATIENCE, loopback, next_message, wait_open};
use strata::{
    ChannelOptions, Configuration, IceConnectionState, Message, PeerConnection,
    PeerConnectionEvent, PeerConnectionEvents, PeerConnectionStats,
};
use strata_interop::netns::run_isolated;
use tokio::sync::mpsc;

/// Long enough that no flight is resent because a loaded machine answered slowly: a
/// datagram dropped on arrival is the only way to see a retransmission in this test.
const DTLS_RETRANSMIT: Duration = Duration::from_secs(5);

/// How long the offerer's answer and the answerer's candidates "travel".
const SIGNALING_DELAY: Duration = Duration::from_millis(300);

fn config() -> Configuration {
    Configuration {
        dtls_retransmit_interval: DTLS_RETRANSMIT,
        ..loopback()
    }
}

/// What a peer's event pump hands the test.
enum Seen {
    Candidate(strata::IceCandidateInit),
    Checking,
    Channel(strata::DataChannel),
}

fn pump(mut events: PeerConnectionEvents, to_test: mpsc::UnboundedSender<Seen>) {
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            let seen = match event {
                PeerConnectionEvent::IceCandidate(candidate) => Seen::Candidate(candidate),
                PeerConnectionEvent::IceConnectionStateChange(IceConnectionState::Checking) => {
                    Seen::Checking
                }
                PeerConnectionEvent::DataChannel(channel) => Seen::Channel(channel),
                _ => continue,
            };
            if to_test.send(seen).is_err() {
                return;
            }
        }
    });
}

fn assert_nothing_resent(side: &str, stats: &PeerConnectionStats) {
    let dtls = stats.dtls.expect("DTLS is established");
    let sctp = stats.sctp.expect("SCTP is up");
    assert_eq!(
        (
            dtls.handshake_datagrams_resent,
            dtls.peer_handshake_datagrams_resent
        ),
        (0, 0),
        "{side}: DTLS flights were resent"
    );
    assert_eq!(
        sctp.retransmitted_chunks, 0,
        "{side}: SCTP chunks were resent"
    );
    assert_eq!(
        (stats.ice.unverified_dropped, stats.ice.queue_dropped),
        (0, 0),
        "{side}: the ICE layer dropped DTLS datagrams"
    );
}

#[test]
fn a_late_answer_and_late_candidates_connect_without_any_retransmission() {
    run_isolated(|| async {
        let (offerer, offerer_events) = PeerConnection::new(config()).await.unwrap();
        let (answerer, answerer_events) = PeerConnection::new(config()).await.unwrap();
        let (offerer_tx, mut from_offerer) = mpsc::unbounded_channel();
        let (answerer_tx, mut from_answerer) = mpsc::unbounded_channel();
        pump(offerer_events, offerer_tx);
        pump(answerer_events, answerer_tx);

        let chat = offerer
            .create_data_channel("late", ChannelOptions::default())
            .await
            .unwrap();
        let offer = offerer.create_offer().await.unwrap();
        offerer.set_local_description(offer.clone()).await.unwrap();
        answerer.set_remote_description(offer).await.unwrap();
        let answer = answerer.create_answer().await.unwrap();
        answerer
            .set_local_description(answer.clone())
            .await
            .unwrap();

        // The offerer's candidates reach the answerer at once; the answerer's wait.
        let mut answerer_candidates = Vec::new();
        let mut incoming = None;
        let mut checking = false;
        let mut offerer_candidates = 0;
        while !checking || answerer_candidates.is_empty() || offerer_candidates == 0 {
            tokio::select! {
                Some(seen) = from_offerer.recv() => {
                    if let Seen::Candidate(candidate) = seen {
                        answerer.add_ice_candidate(candidate).await.unwrap();
                        offerer_candidates += 1;
                    }
                }
                Some(seen) = from_answerer.recv() => match seen {
                    Seen::Candidate(candidate) => answerer_candidates.push(candidate),
                    Seen::Checking => checking = true,
                    Seen::Channel(channel) => incoming = Some(channel),
                },
                () = tokio::time::sleep(PATIENCE) => panic!("the answerer never started checking"),
            }
        }

        // The answerer checks the offerer, which cannot answer yet. Then the answer
        // arrives, and only after it the answerer's candidates: its checks reach the
        // offerer before its candidate does.
        tokio::time::sleep(SIGNALING_DELAY).await;
        offerer.set_remote_description(answer).await.unwrap();
        tokio::time::sleep(SIGNALING_DELAY).await;
        for candidate in answerer_candidates {
            offerer.add_ice_candidate(candidate).await.unwrap();
        }

        let opened = async {
            let open = wait_open(&chat);
            tokio::pin!(open);
            let mut open_seen = false;
            loop {
                if open_seen && let Some(channel) = incoming.take() {
                    return channel;
                }
                tokio::select! {
                    () = &mut open, if !open_seen => open_seen = true,
                    Some(seen) = from_answerer.recv() => match seen {
                        Seen::Candidate(candidate) => offerer.add_ice_candidate(candidate).await.unwrap(),
                        Seen::Channel(channel) => incoming = Some(channel),
                        Seen::Checking => {}
                    },
                    Some(seen) = from_offerer.recv() => {
                        if let Seen::Candidate(candidate) = seen {
                            answerer.add_ice_candidate(candidate).await.unwrap();
                        }
                    }
                }
            }
        };
        let remote = tokio::time::timeout(PATIENCE, opened)
            .await
            .expect("the channel opens");
        chat.send_text("late but whole").await.unwrap();
        assert_eq!(
            next_message(&remote).await,
            Some(Message::Text("late but whole".into()))
        );

        assert_nothing_resent("offerer", &offerer.stats().await.unwrap());
        assert_nothing_resent("answerer", &answerer.stats().await.unwrap());
        offerer.close().await;
        answerer.close().await;
    });
}
