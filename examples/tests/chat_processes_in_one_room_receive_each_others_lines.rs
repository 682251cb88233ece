//! The real `chat` binary, several processes in one room of a real `strata` server
//! started in-process, all in a loopback-only network namespace: every process receives
//! every other one's lines over peer-to-peer data channels, a malformed message from a
//! peer is reported and skipped, and a server restart is survived.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use strata::{Configuration, SdpType};
use strata_examples::{
    LinkEvent, LinkEventKind, LinkId, LinkSetup, Outgoing, PeerLink, join_metadata,
};
use strata_interop::netns::run_isolated;
use strata_interop::piped_peer::PipedPeer;
use strata_server::{Server, ServerConfig};
use strata_signal::RoomName;
use strata_signal::client::{Client, ClientConfig, ClientEvent};
use tokio::process::Command;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// Generous bound for anything a test waits on.
const PATIENCE: Duration = Duration::from_secs(30);

const ROOM: &str = "chat";

async fn start_server(listen: SocketAddr) -> Server {
    Server::start(ServerConfig {
        listen,
        // Fixed, so tokens stay valid across a restart.
        jwt_secret: Some(b"a secret only these tests know".to_vec()),
        ..ServerConfig::default()
    })
    .await
    .expect("the strata server starts")
}

/// `chat` on IPv4 loopback (the namespace has nothing else; see `ARCHITECTURE.md`,
/// `strata-examples`, for why IPv4 only), joining `server` as `name`.
fn chat(name: &str, server: &str, extra: &[&str]) -> PipedPeer {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chat"));
    command
        .args(["--server", server, "--name", name])
        .args(extra)
        .arg("--include-loopback")
        .env_remove("STRATA_CHAT_SERVER")
        .env_remove("STRATA_CHAT_ROOM")
        .env_remove("STRATA_CHAT_TOKEN")
        .env_remove("STRATA_CHAT_NAME");
    PipedPeer::spawn(name, command).expect("chat starts")
}

/// Waits until `peer` has reported an open channel to each of `others`, `times` times.
async fn connected(peer: &PipedPeer, others: &[&str], times: usize) {
    for other in others {
        peer.wait_for_stderr(
            &format!("connected to {other} peer-to-peer"),
            times,
            PATIENCE,
        )
        .await
        .unwrap();
    }
}

/// Reads `count` lines from `peer` and returns them sorted.
async fn lines(peer: &mut PipedPeer, count: usize) -> BTreeSet<String> {
    let mut lines = BTreeSet::new();
    for _ in 0..count {
        lines.insert(peer.read_line(PATIENCE).await.unwrap());
    }
    lines
}

#[test]
fn three_chat_processes_receive_every_line_the_others_send() {
    run_isolated(|| async {
        let server = start_server("127.0.0.1:0".parse().unwrap()).await;
        let token = server.participant_token(ROOM).unwrap();
        let ws = server.ws_url();
        // The third one is given the page URL the server prints for browsers.
        let page = format!("http://{}/#room={ROOM}&token={token}", server.local_addr());
        let by_name = ["--room", ROOM, "--token", &token];
        let names = ["ada", "bob", "cy"];
        let mut peers = [
            chat("ada", &ws, &by_name),
            chat("bob", &ws, &by_name),
            chat("cy", &page, &[]),
        ];
        for (peer, name) in peers.iter().zip(names) {
            let others: Vec<_> = names.into_iter().filter(|n| *n != name).collect();
            connected(peer, &others, 1).await;
        }

        for (peer, name) in peers.iter_mut().zip(names) {
            peer.write_line(&format!("hello from {name}"))
                .await
                .unwrap();
        }
        for (index, name) in names.into_iter().enumerate() {
            let expected: BTreeSet<String> = names
                .into_iter()
                .filter(|n| *n != name)
                .map(|n| format!("{n}: hello from {n}"))
                .collect();
            assert_eq!(lines(&mut peers[index], 2).await, expected, "at {name}");
        }

        // Lines of every kind from one, in order at both others.
        let mut sent = vec![
            "unicode: grüße, 你好, مرحبا, 🦀🚀".to_owned(),
            String::new(),
            r#"{"text":"only looks like a message"}"#.to_owned(),
            format!("long: {}", "0123456789—🦀".repeat(4_000)),
        ];
        sent.extend((0..40).map(|i| format!("burst line {i:02}")));
        for line in &sent {
            peers[0].write_line(line).await.unwrap();
        }
        // Control characters cannot forge lines or reach the terminal: shown escaped.
        peers[0]
            .write_line("bell\u{7} and \u{1b}[31mred")
            .await
            .unwrap();
        sent.push("bell\\u{7} and \\u{1b}[31mred".to_owned());
        for peer in &mut peers[1..] {
            for line in &sent {
                assert_eq!(
                    peer.read_line(PATIENCE).await.unwrap(),
                    format!("ada: {line}")
                );
            }
        }

        // Ada leaves first: the others see her go and close their connections to her.
        peers[0].close_stdin();
        peers[0].expect_success(PATIENCE).await.unwrap();
        for peer in &peers[1..] {
            peer.wait_for_stderr("ada left (left)", 1, PATIENCE)
                .await
                .unwrap();
        }
        for peer in &mut peers[1..] {
            peer.close_stdin();
        }
        for peer in &mut peers[1..] {
            peer.expect_success(PATIENCE).await.unwrap();
        }
        server.shutdown().await;
    });
}

#[test]
fn a_malformed_message_from_a_peer_is_reported_and_skipped() {
    run_isolated(|| async {
        let server = start_server("127.0.0.1:0".parse().unwrap()).await;
        let token = server.participant_token(ROOM).unwrap();
        let mut ada = chat(
            "ada",
            &server.ws_url(),
            &["--room", ROOM, "--token", &token],
        );
        ada.wait_for_stderr("joined room", 1, PATIENCE)
            .await
            .unwrap();

        // A Strata peer of our own joins as the newcomer, through the examples' link.
        let mut config = ClientConfig::new(server.ws_url(), RoomName::new(ROOM).unwrap());
        config.session.token = Some(token.clone());
        config.session.metadata = Some(join_metadata("mallory"));
        let (client, mut events) = Client::connect(config).await.unwrap();
        let ada_id = client.participants()[0].peer_id.clone();
        let mut peer = Configuration::default();
        peer.ice.policy.include_loopback = true;
        let setup = LinkSetup {
            id: LinkId(1),
            me: client.peer_id().clone(),
            peer: ada_id,
            initiator: true,
            config: peer,
        };
        let (link_events_tx, mut link_events) = mpsc::channel::<LinkEvent>(64);
        let mut tasks = JoinSet::new();
        let link = PeerLink::spawn(setup, client.clone(), link_events_tx, &mut tasks);
        tasks.spawn(async move {
            while let Some(event) = events.recv().await {
                let _ = match event {
                    ClientEvent::Answer(answer) => link.description(SdpType::Answer, answer.sdp),
                    ClientEvent::Offer(offer) => link.description(SdpType::Offer, offer.sdp),
                    ClientEvent::Candidate(candidate) => link.candidate(&candidate),
                    _ => Ok(()),
                };
            }
        });
        let outgoing = loop {
            let event = tokio::time::timeout(PATIENCE, link_events.recv())
                .await
                .expect("the link opens in time")
                .expect("the link runs");
            match event.kind {
                LinkEventKind::ChannelOpen { outgoing, .. } => break outgoing,
                LinkEventKind::Ended => panic!("the link ended before its channel opened"),
                _ => {}
            }
        };
        ada.wait_for_stderr("connected to mallory peer-to-peer", 1, PATIENCE)
            .await
            .unwrap();

        for malformed in ["not JSON at all", r#"{"text":5}"#, r#"["text"]"#] {
            outgoing
                .send(Outgoing::Chat(malformed.to_owned()))
                .await
                .unwrap();
        }
        outgoing
            .send(Outgoing::Chat(r#"{"text":"still here"}"#.to_owned()))
            .await
            .unwrap();
        assert_eq!(
            ada.read_line(PATIENCE).await.unwrap(),
            "mallory: still here"
        );
        ada.wait_for_stderr("mallory sent a message that was skipped", 3, PATIENCE)
            .await
            .unwrap();

        ada.close_stdin();
        ada.expect_success(PATIENCE).await.unwrap();
        client.close().await;
        tasks.shutdown().await;
        server.shutdown().await;
    });
}

#[test]
fn chat_processes_connect_again_after_the_server_restarts() {
    run_isolated(|| async {
        let server = start_server("127.0.0.1:0".parse().unwrap()).await;
        let address = server.local_addr();
        let token = server.participant_token(ROOM).unwrap();
        let ws = server.ws_url();
        let by_name = ["--room", ROOM, "--token", &token];
        let mut ada = chat("ada", &ws, &by_name);
        let mut bob = chat("bob", &ws, &by_name);
        connected(&ada, &["bob"], 1).await;
        connected(&bob, &["ada"], 1).await;
        ada.write_line("before").await.unwrap();
        assert_eq!(bob.read_line(PATIENCE).await.unwrap(), "ada: before");

        server.shutdown().await;
        let server = start_server(address).await;
        for peer in [&ada, &bob] {
            peer.wait_for_stderr("back in room", 1, PATIENCE)
                .await
                .unwrap();
        }
        // Rejoined, each connects to the other again over a new connection.
        connected(&ada, &["bob"], 2).await;
        connected(&bob, &["ada"], 2).await;
        ada.write_line("after, from ada").await.unwrap();
        bob.write_line("after, from bob").await.unwrap();
        assert_eq!(
            bob.read_line(PATIENCE).await.unwrap(),
            "ada: after, from ada"
        );
        assert_eq!(
            ada.read_line(PATIENCE).await.unwrap(),
            "bob: after, from bob"
        );

        ada.close_stdin();
        bob.close_stdin();
        ada.expect_success(PATIENCE).await.unwrap();
        bob.expect_success(PATIENCE).await.unwrap();
        server.shutdown().await;
    });
}
