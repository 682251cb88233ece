//! Two Chromium pages load the `strata` server's demo page, join one room on a real
//! server started inside the scenario's namespace, connect to each other over
//! peer-to-peer data channels (the server relays only offers, answers and candidates)
//! and exchange chat lines.

use std::time::Duration;

use anyhow::{Context, ensure};
use serde_json::json;
use strata_interop::Browser;
use strata_interop::runner::{Env, ScenarioFuture};
use strata_server::{Server, ServerConfig};

use super::PAGES;

const PARTICIPANTS: [&str; 2] = ["alice", "bob"];

pub(crate) fn run(env: Env) -> ScenarioFuture {
    Box::pin(async move {
        let server = Server::start(ServerConfig {
            listen: "127.0.0.1:0".parse()?,
            ..ServerConfig::default()
        })
        .await
        .context("cannot start the strata server")?;
        let room = "interop";
        let token = server.participant_token(room)?;
        let strata = format!("http://{}", server.local_addr());

        let browser = Browser::start(env.chromium()?, PAGES).await?;
        let mut pages = Vec::new();
        for id in PARTICIPANTS {
            let page = browser.open("signal_demo_chat", id).await?;
            page.send(json!({
                "strata": strata,
                "room": room,
                "token": token,
                "others": PARTICIPANTS.len() - 1,
            }))
            .await?;
            pages.push(page);
        }
        let [mut alice, mut bob]: [_; 2] = pages
            .try_into()
            .map_err(|_| anyhow::anyhow!("expected two pages"))?;
        let limit = Duration::from_secs(40);
        let (alice_verdict, bob_verdict) = tokio::join!(
            browser.passing_verdict(&mut alice, limit),
            browser.passing_verdict(&mut bob, limit),
        );
        browser.close().await;
        server.shutdown().await;
        let (alice_verdict, bob_verdict) = (alice_verdict?, bob_verdict?);

        let received = |detail: &serde_json::Value| -> Vec<String> {
            detail["received"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        };
        let at_alice = received(&alice_verdict.detail);
        let at_bob = received(&bob_verdict.detail);
        ensure!(
            at_alice.iter().any(|l| l.ends_with(": hello from bob")),
            "alice did not get bob's line: {at_alice:?}"
        );
        ensure!(
            at_bob.iter().any(|l| l.ends_with(": hello from alice")),
            "bob did not get alice's line: {at_bob:?}"
        );
        let rtt_ms = alice_verdict.detail["rtt"].as_f64().unwrap_or(0.0) * 1000.0;
        Ok(format!(
            "2 demo pages chatted over data channels (rtt {rtt_ms:.2} ms)"
        ))
    })
}
