//! The Transport examples as real processes in one room of a real `strata` server
//! started in-process, in a loopback-only network namespace: `game_sync` processes see
//! every other one's 60 Hz updates each second, and `mesh_chat` chats with another
//! `mesh_chat` and with `chat`, which speaks the demo page's protocol as browsers do.

use std::time::Duration;

use strata_interop::netns::run_isolated;
use strata_interop::piped_peer::PipedPeer;
use strata_server::{Server, ServerConfig};
use tokio::process::Command;

/// Generous bound for anything a test waits on.
const PATIENCE: Duration = Duration::from_secs(30);

async fn start_server() -> Server {
    Server::start(ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        dev_mode: true,
        ..ServerConfig::default()
    })
    .await
    .expect("the strata server starts")
}

fn game_sync(id: &str, server: &str) -> PipedPeer {
    let mut command = Command::new(env!("CARGO_BIN_EXE_game_sync"));
    command.args([
        "--server",
        server,
        "--room",
        "game",
        "--id",
        id,
        "--duration",
        "4",
        "--include-loopback",
    ]);
    PipedPeer::spawn(id, command).expect("game_sync starts")
}

/// `peer=count` pairs of a `game_sync` line.
fn updates(line: &str) -> Vec<(String, u64)> {
    line.split_whitespace()
        .filter_map(|word| {
            let (peer, count) = word.split_once('=')?;
            Some((peer.to_owned(), count.parse().ok()?))
        })
        .filter(|(peer, _)| peer.starts_with("peer-"))
        .collect()
}

#[test]
fn game_sync_processes_see_every_others_updates_each_second() {
    run_isolated(|| async {
        let server = start_server().await;
        let url = server.ws_url();
        let ids = ["peer-g1", "peer-g2", "peer-g3"];
        let mut peers: Vec<PipedPeer> = ids.iter().map(|id| game_sync(id, &url)).collect();
        for (peer, id) in peers.iter_mut().zip(ids) {
            let mut seconds = Vec::new();
            let total = loop {
                let line = peer.read_line(PATIENCE).await.unwrap();
                if line.starts_with("total") {
                    break line;
                }
                seconds.push(line);
            };
            // A full second with both others connected, each near 60 Hz (the last second
            // may see them leave: every process stops after four).
            let full = seconds.iter().any(|line| {
                let per_second = updates(line);
                line.contains("peers=2")
                    && per_second.len() == 2
                    && per_second.iter().all(|(_, n)| *n >= 30)
            });
            assert!(full, "{id}: {seconds:#?}");
            let totals = updates(&total);
            let others: Vec<_> = ids.iter().filter(|other| **other != id).collect();
            for other in others {
                let Some((_, count)) = totals.iter().find(|(peer, _)| peer == *other) else {
                    panic!("{id} got nothing from {other}: {total}");
                };
                let count = *count;
                assert!(count >= 60, "{id} from {other}: {total}");
            }
            assert!(
                total.contains("age p50=") && !total.contains("p50=-"),
                "{total}"
            );
        }
        for peer in &mut peers {
            peer.expect_success(PATIENCE).await.unwrap();
        }
        server.shutdown().await;
    });
}

fn mesh_chat(id: &str, server: &str) -> PipedPeer {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mesh_chat"));
    command.args([
        "--server",
        server,
        "--room",
        "talk",
        "--id",
        id,
        "--name",
        id,
        "--include-loopback",
    ]);
    PipedPeer::spawn(id, command).expect("mesh_chat starts")
}

fn chat(name: &str, server: &str) -> PipedPeer {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chat"));
    command
        .args(["--server", server, "--room", "talk", "--name", name])
        .arg("--include-loopback")
        .env_remove("STRATA_CHAT_SERVER")
        .env_remove("STRATA_CHAT_ROOM")
        .env_remove("STRATA_CHAT_TOKEN")
        .env_remove("STRATA_CHAT_NAME");
    PipedPeer::spawn(name, command).expect("chat starts")
}

#[test]
fn mesh_chat_talks_with_another_mesh_chat_and_with_chat() {
    run_isolated(|| async {
        let server = start_server().await;
        let url = server.ws_url();
        let mut ada = mesh_chat("ada", &url);
        ada.wait_for_stderr("joined room", 1, PATIENCE)
            .await
            .unwrap();
        // `chat` joins second (it offers to ada), then another mesh_chat (it offers to both).
        let mut bob = chat("bob", &url);
        ada.wait_for_stderr("connected to", 1, PATIENCE)
            .await
            .unwrap();
        let mut cy = mesh_chat("cy", &url);
        for (peer, count) in [(&ada, 2), (&cy, 2)] {
            peer.wait_for_stderr("peer-to-peer", count, PATIENCE)
                .await
                .unwrap();
        }
        bob.wait_for_stderr("connected to cy peer-to-peer", 1, PATIENCE)
            .await
            .unwrap();

        ada.write_line("hello from ada").await.unwrap();
        assert_eq!(
            bob.read_line(PATIENCE).await.unwrap(),
            "ada: hello from ada"
        );
        assert_eq!(cy.read_line(PATIENCE).await.unwrap(), "ada: hello from ada");
        bob.write_line("grüße from bob 🦀").await.unwrap();
        let bob_id_line = ada.read_line(PATIENCE).await.unwrap();
        assert!(
            bob_id_line.ends_with(": grüße from bob 🦀"),
            "{bob_id_line}"
        );
        assert_eq!(cy.read_line(PATIENCE).await.unwrap(), bob_id_line);
        cy.write_line("cy here").await.unwrap();
        assert_eq!(ada.read_line(PATIENCE).await.unwrap(), "cy: cy here");
        assert_eq!(bob.read_line(PATIENCE).await.unwrap(), "cy: cy here");

        // Ada leaves: the others see her go.
        ada.close_stdin();
        ada.expect_success(PATIENCE).await.unwrap();
        cy.wait_for_stderr("ada left", 1, PATIENCE).await.unwrap();
        bob.wait_for_stderr("ada left", 1, PATIENCE).await.unwrap();
        for peer in [&mut bob, &mut cy] {
            peer.close_stdin();
            peer.expect_success(PATIENCE).await.unwrap();
        }
        server.shutdown().await;
    });
}
