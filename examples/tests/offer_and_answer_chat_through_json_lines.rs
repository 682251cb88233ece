//! The real `offer` and `answer` binaries, run as child processes in a loopback-only
//! network namespace, connected through their JSON signaling lines.

use std::time::Duration;

use strata::{
    CandidatePolicy, ChannelEvent, ChannelOptions, Configuration, IceConfig, Message,
    PeerConnection, PeerConnectionEvent,
};
use strata_interop::netns::run_isolated;
use strata_interop::piped_peer::PipedPeer;
use tokio::process::Command;

/// Generous bound for anything a test waits on.
const PATIENCE: Duration = Duration::from_secs(30);

/// An example binary on loopback (the test's namespace has nothing else).
fn example(binary: &str) -> Command {
    let mut command = Command::new(binary);
    command.arg("--include-loopback");
    command
}

/// Hands the offer to the answerer and the answer back; returns the answer line.
async fn signal(offer: &mut PipedPeer, answer: &mut PipedPeer) -> String {
    let offer_line = offer.read_line(PATIENCE).await.unwrap();
    assert!(
        offer_line.starts_with(r#"{"type":"offer","sdp":"v=0"#),
        "{offer_line}"
    );
    assert!(
        offer_line.contains("a=candidate:"),
        "not trickled: {offer_line}"
    );
    answer.write_line(&offer_line).await.unwrap();
    let answer_line = answer.read_line(PATIENCE).await.unwrap();
    assert!(
        answer_line.starts_with(r#"{"type":"answer","sdp":"v=0"#),
        "{answer_line}"
    );
    assert!(
        answer_line.contains("a=candidate:"),
        "not trickled: {answer_line}"
    );
    offer.write_line(&answer_line).await.unwrap();
    answer_line
}

#[test]
fn every_line_the_offer_reads_comes_back_echoed_by_the_answer() {
    run_isolated(|| async {
        let mut offer = PipedPeer::spawn("offer", example(env!("CARGO_BIN_EXE_offer"))).unwrap();
        let mut answer = PipedPeer::spawn("answer", example(env!("CARGO_BIN_EXE_answer"))).unwrap();
        signal(&mut offer, &mut answer).await;

        let mut lines = vec![
            "hello".to_owned(),
            "unicode: grüße, 你好, مرحبا, 🦀🚀".to_owned(),
            String::new(),
            r#"{"type":"answer","sdp":"only looks like signaling"}"#.to_owned(),
            format!("long: {}", "0123456789—🦀".repeat(5_800)),
        ];
        lines.extend((0..100).map(|i| format!("line {i}")));
        // One at a time first, so a lost message is named, then the rest back to back.
        for (index, line) in lines[..5].iter().enumerate() {
            offer.write_line(line).await.unwrap();
            let echoed = offer
                .read_line(PATIENCE)
                .await
                .unwrap_or_else(|error| panic!("no echo of line {index}: {error:#}"));
            assert_eq!(&echoed, line);
        }
        for line in &lines[5..] {
            offer.write_line(line).await.unwrap();
        }
        for line in &lines[5..] {
            assert_eq!(&offer.read_line(PATIENCE).await.unwrap(), line);
        }

        offer.close_stdin();
        offer.expect_success(PATIENCE).await.unwrap();
        // The offer closed `chat`, the only channel: the answer's session is over.
        answer.expect_success(PATIENCE).await.unwrap();
    });
}

#[test]
fn the_answer_echoes_binary_as_binary_and_text_as_text() {
    run_isolated(|| async {
        let mut answer = PipedPeer::spawn("answer", example(env!("CARGO_BIN_EXE_answer"))).unwrap();
        let mut config = Configuration {
            ice: IceConfig {
                policy: CandidatePolicy {
                    include_loopback: true,
                    ..CandidatePolicy::default()
                },
                ..IceConfig::default()
            },
            ..Configuration::default()
        };
        config.ice.mdns = false;
        let (pc, mut events) = PeerConnection::new(config).await.unwrap();
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                if let PeerConnectionEvent::DataChannel(channel) = event {
                    panic!("the answer opened a channel: {channel:?}");
                }
            }
        });
        let channel = pc
            .create_data_channel("bytes", ChannelOptions::default())
            .await
            .unwrap();
        pc.set_local_description_implicit().await.unwrap();
        pc.gathering_complete().await;
        let offer = pc.local_description().await.unwrap().unwrap();
        answer
            .write_line(&serde_json::to_string(&offer).unwrap())
            .await
            .unwrap();
        let answer_line = answer.read_line(PATIENCE).await.unwrap();
        pc.set_remote_description(serde_json::from_str(&answer_line).unwrap())
            .await
            .unwrap();

        let next = || async {
            loop {
                match tokio::time::timeout(PATIENCE, channel.recv())
                    .await
                    .unwrap()
                {
                    Some(ChannelEvent::Message(message)) => return message,
                    Some(ChannelEvent::Closed(reason)) => panic!("closed: {reason:?}"),
                    None => panic!("channel gone"),
                    Some(_) => {}
                }
            }
        };
        let sent = [
            Message::Binary(vec![0, 159, 146, 150, 255].into()),
            Message::Text("text".into()),
            Message::Binary(Vec::new().into()),
            Message::Text(String::new()),
            Message::Binary(vec![7; 100_000].into()),
        ];
        let mut opened = false;
        for message in sent {
            if !opened {
                // Sending needs the stream: wait for the open first.
                while tokio::time::timeout(PATIENCE, channel.recv())
                    .await
                    .unwrap()
                    != Some(ChannelEvent::Open)
                {}
                opened = true;
            }
            channel.send_message(message.clone()).await.unwrap();
            assert_eq!(next().await, message);
        }

        channel.close().await.unwrap();
        answer.expect_success(PATIENCE).await.unwrap();
        pc.close().await;
    });
}

#[test]
fn the_offer_refuses_a_malformed_answer_with_a_clear_error() {
    run_isolated(|| async {
        let mut offer = PipedPeer::spawn("offer", example(env!("CARGO_BIN_EXE_offer"))).unwrap();
        offer.read_line(PATIENCE).await.unwrap();
        offer.write_line("v=0 is not a JSON line").await.unwrap();
        let status = offer.wait(PATIENCE).await.unwrap();
        assert_eq!(status.code(), Some(1));
        let stderr = offer.log_tail(10);
        assert!(
            stderr.contains(r#"expected a JSON line like {"type":"offer""#),
            "{stderr}"
        );
    });
}

#[test]
fn the_answer_refuses_an_answer_where_an_offer_belongs() {
    run_isolated(|| async {
        let mut answer = PipedPeer::spawn("answer", example(env!("CARGO_BIN_EXE_answer"))).unwrap();
        answer
            .write_line(r#"{"type":"answer","sdp":"v=0\r\n"}"#)
            .await
            .unwrap();
        let status = answer.wait(PATIENCE).await.unwrap();
        assert_eq!(status.code(), Some(1));
        let stderr = answer.log_tail(10);
        assert!(
            stderr.contains("expected the peer's Offer, got an Answer"),
            "{stderr}"
        );
    });
}
