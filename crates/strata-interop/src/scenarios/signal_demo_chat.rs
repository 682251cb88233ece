//! Chromium pages load the `strata` server's demo page, join one room on a real server
//! started inside the scenario's namespace, connect to each other over peer-to-peer data
//! channels (the server relays only offers, answers and candidates) and exchange chat
//! lines.
//!
//! Two variants:
//! - [`pages`]: two pages, alice and bob.
//! - [`pages_rejoin_after_server_restart`]: two pages chat, the server restarts on the
//!   same address, and both pages must rejoin, connect to each other again and exchange a
//!   second line.
//! - [`pages_and_strata_chat`]: the same two pages and Strata's `chat` example as a third
//!   participant. It joins between them, so it is the newcomer (it opens the channel and
//!   offers) to alice and the one that waits for the offer from bob. Every participant
//!   must receive every other participant's line.
//! - [`pages_and_strata_mesh_chat`]: the same with `mesh_chat`, the `chat` program on a
//!   `strata::Transport`: browsers and a Transport peer in one room.
//!
//! Participants join one at a time (each page reports its join), so the join order, and
//! with it who offers to whom, is the same in every run.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use strata_interop::Browser;
use strata_interop::page::PageHandle;
use strata_interop::piped_peer::PipedPeer;
use strata_interop::runner::{Env, ScenarioFuture};
use strata_server::{Server, ServerConfig};
use tokio::process::Command;

use super::PAGES;

const ROOM: &str = "interop";
/// How long one step (a join, a connection, a line) may take.
const STEP: Duration = Duration::from_secs(30);
/// How long a page may take to reach its verdict.
const VERDICT: Duration = Duration::from_secs(40);
/// The name Strata's `chat` announces.
const STRATA: &str = "strata";

pub(crate) fn pages(env: Env) -> ScenarioFuture {
    Box::pin(chat_room(env, None))
}

pub(crate) fn pages_rejoin_after_server_restart(env: Env) -> ScenarioFuture {
    Box::pin(async move {
        // Fixed, so the room token stays valid across the restart.
        let config = |listen| ServerConfig {
            listen,
            jwt_secret: Some(b"interop-restart-secret".to_vec()),
            ..ServerConfig::default()
        };
        let server = Server::start(config("127.0.0.1:0".parse()?))
            .await
            .context("cannot start the strata server")?;
        let addr = server.local_addr();
        let token = server.participant_token(ROOM)?;
        let browser = Browser::start(env.chromium()?, PAGES).await?;
        let page_config = json!({
            "strata": format!("http://{addr}"),
            "room": ROOM,
            "token": token,
            "others": 1,
            "restart": true,
        });
        let outcome = async {
            let mut alice = join_page(&browser, "alice", &page_config).await?;
            let mut bob = join_page(&browser, "bob", &page_config).await?;
            for (name, page) in [("alice", &mut alice), ("bob", &mut bob)] {
                let ready = tokio::time::timeout(VERDICT, page.recv())
                    .await
                    .with_context(|| {
                        format!("{name} never got to the restart\n{}", browser.report(page))
                    })??;
                ensure!(
                    ready["type"] == "ready-for-restart",
                    "{name} said {ready} instead of waiting for the restart"
                );
            }
            server.shutdown().await;
            let restarted = Server::start(config(addr))
                .await
                .context("cannot restart the strata server on the same address")?;
            let (alice_verdict, bob_verdict) = tokio::join!(
                browser.passing_verdict(&mut alice, VERDICT),
                browser.passing_verdict(&mut bob, VERDICT),
            );
            restarted.shutdown().await;
            let (alice, bob) = (alice_verdict?.detail, bob_verdict?.detail);
            let summary = check(&alice, &bob, false)?;
            Ok(format!(
                "{summary}; both rejoined after a server restart and chatted again"
            ))
        }
        .await;
        browser.close().await;
        outcome
    })
}

pub(crate) fn pages_and_strata_chat(env: Env) -> ScenarioFuture {
    Box::pin(chat_room(env, Some(StrataPeer::Chat)))
}

pub(crate) fn pages_and_strata_mesh_chat(env: Env) -> ScenarioFuture {
    Box::pin(chat_room(env, Some(StrataPeer::MeshChat)))
}

/// Which Strata program joins the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StrataPeer {
    /// `chat`: a `PeerConnection` per participant, names shown.
    Chat,
    /// `mesh_chat`: one `Transport`; it shows peers by id.
    MeshChat,
}

async fn chat_room(env: Env, strata: Option<StrataPeer>) -> anyhow::Result<String> {
    let server = Server::start(ServerConfig {
        listen: "127.0.0.1:0".parse()?,
        ..ServerConfig::default()
    })
    .await
    .context("cannot start the strata server")?;
    let token = server.participant_token(ROOM)?;
    let browser = Browser::start(env.chromium()?, PAGES).await?;
    let outcome = run(&env, &server, &browser, &token, strata).await;
    browser.close().await;
    server.shutdown().await;
    outcome
}

async fn run(
    env: &Env,
    server: &Server,
    browser: &Browser,
    token: &str,
    strata: Option<StrataPeer>,
) -> anyhow::Result<String> {
    let with_strata = strata.is_some();
    let others = if with_strata { 2 } else { 1 };
    let strata_url = format!("http://{}", server.local_addr());
    let config = json!({ "strata": strata_url, "room": ROOM, "token": token, "others": others });

    let mut alice = join_page(browser, "alice", &config).await?;
    let chat = if let Some(program) = strata {
        let examples = env.examples()?;
        let binary = match program {
            StrataPeer::Chat => &examples.chat,
            StrataPeer::MeshChat => &examples.mesh_chat,
        };
        let mut command = Command::new(binary);
        command
            .args([
                "--server",
                &server.ws_url(),
                "--room",
                ROOM,
                "--token",
                token,
            ])
            .args(["--name", STRATA])
            // The namespace has only loopback.
            .arg("--include-loopback");
        let chat = PipedPeer::spawn("strata chat", command)?;
        chat.wait_for_stderr("joined room", 1, STEP).await?;
        Some(chat)
    } else {
        None
    };
    let mut bob = join_page(browser, "bob", &config).await?;

    if let (Some(mut chat), Some(program)) = (chat, strata) {
        if program == StrataPeer::Chat {
            for page in ["alice", "bob"] {
                chat.wait_for_stderr(&format!("connected to {page} peer-to-peer"), 1, STEP)
                    .await?;
            }
        } else {
            chat.wait_for_stderr("peer-to-peer", 2, STEP).await?;
        }
        chat.write_line(&format!("hello from {STRATA}")).await?;
        let (alice_verdict, bob_verdict, heard) = tokio::join!(
            browser.passing_verdict(&mut alice, VERDICT),
            browser.passing_verdict(&mut bob, VERDICT),
            async {
                let mut heard = BTreeSet::new();
                for _ in 0..2 {
                    let line = chat.read_line(STEP).await?;
                    // `mesh_chat` names the sender by its (random) peer id, `chat` by name.
                    let line = match program {
                        StrataPeer::Chat => line,
                        StrataPeer::MeshChat => line
                            .split_once(": ")
                            .map_or(line.clone(), |(_, text)| format!("?: {text}")),
                    };
                    heard.insert(line);
                }
                anyhow::Ok(heard)
            },
        );
        let heard_by_strata = heard?;
        let expected: BTreeSet<String> = ["alice", "bob"]
            .map(|page| match program {
                StrataPeer::Chat => format!("{page}: hello from {page}"),
                StrataPeer::MeshChat => format!("?: hello from {page}"),
            })
            .into();
        ensure!(
            heard_by_strata == expected,
            "Strata's chat printed {heard_by_strata:?}, expected {expected:?}"
        );
        chat.close_stdin();
        chat.expect_success(STEP)
            .await
            .context("chat did not leave cleanly at the end of its input")?;
        let summary = check(&alice_verdict?.detail, &bob_verdict?.detail, with_strata)?;
        return Ok(format!(
            "{summary}; Strata's chat got {} lines, sent 1 to both",
            heard_by_strata.len()
        ));
    }
    let (alice_verdict, bob_verdict) = tokio::join!(
        browser.passing_verdict(&mut alice, VERDICT),
        browser.passing_verdict(&mut bob, VERDICT),
    );
    check(&alice_verdict?.detail, &bob_verdict?.detail, with_strata)
}

/// Opens the harness page for `id`, hands it the room, and waits until it has joined.
async fn join_page(browser: &Browser, id: &str, config: &Value) -> anyhow::Result<PageHandle> {
    let mut page = browser.open("signal_demo_chat", id).await?;
    page.send(config.clone()).await?;
    let joined = tokio::time::timeout(STEP, page.recv())
        .await
        .with_context(|| {
            format!(
                "{id} did not join within {STEP:?}\n{}",
                browser.report(&page)
            )
        })?
        .with_context(|| browser.report(&page))?;
    ensure!(
        joined["type"] == "joined",
        "{id} said {joined} instead of joining"
    );
    Ok(page)
}

/// Checks that each page received the other's line (and Strata's), and summarizes.
fn check(alice: &Value, bob: &Value, with_strata: bool) -> anyhow::Result<String> {
    let received = |detail: &Value| -> Vec<String> {
        detail["received"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let at_alice = received(alice);
    let at_bob = received(bob);
    let heard = |lines: &[String], from: &str| {
        lines
            .iter()
            .any(|l| l.ends_with(&format!(": hello from {from}")))
    };
    ensure!(
        heard(&at_alice, "bob"),
        "alice did not get bob's line: {at_alice:?}"
    );
    ensure!(
        heard(&at_bob, "alice"),
        "bob did not get alice's line: {at_bob:?}"
    );
    if with_strata {
        ensure!(
            heard(&at_alice, STRATA),
            "alice did not get Strata's line: {at_alice:?}"
        );
        ensure!(
            heard(&at_bob, STRATA),
            "bob did not get Strata's line: {at_bob:?}"
        );
    }
    let rtt_ms = alice["rtt"].as_f64().unwrap_or(0.0) * 1000.0;
    let pages_got = at_alice.len() + at_bob.len();
    Ok(format!(
        "2 demo pages got {pages_got} lines over data channels (alice's rtt {rtt_ms:.2} ms)"
    ))
}
