//! Two `RTCPeerConnection`s inside one Chromium page exchange data-channel messages.
//! Needs no Strata code: it proves the harness itself (browser start, loopback candidates
//! in the private namespace, the verdict channel).

use std::time::Duration;

use anyhow::ensure;
use strata_interop::Browser;
use strata_interop::runner::{Env, ScenarioFuture};

use super::PAGES;

pub(crate) fn run(env: Env) -> ScenarioFuture {
    Box::pin(async move {
        let browser = Browser::start(env.chromium()?, PAGES).await?;
        let mut page = browser.open("in_page_datachannel", "main").await?;
        let verdict = browser
            .passing_verdict(&mut page, Duration::from_secs(30))
            .await;
        browser.close().await;
        let detail = verdict?.detail;

        let messages = detail["messages"].as_u64().unwrap_or(0);
        ensure!(
            messages == 400,
            "page echoed {messages} messages, expected 400"
        );
        let candidates = detail["candidates"].as_array().cloned().unwrap_or_default();
        ensure!(!candidates.is_empty(), "page gathered no candidates");
        ensure!(
            candidates.iter().all(|c| c == "127.0.0.1"),
            "candidates outside the private namespace's loopback: {candidates:?}"
        );
        Ok(format!(
            "{messages} messages echoed over {} candidate(s)",
            candidates.len()
        ))
    })
}
