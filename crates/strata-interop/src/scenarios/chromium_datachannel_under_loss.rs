//! Strata and Chromium exchange data-channel messages through a lossy path: Strata's
//! socket runs the seeded impairment layer (5 % loss, 30 ms delay with jitter, reordering
//! and duplication, both directions), so every packet either way crosses it.
//!
//! Chromium offers two channels; the page echoes everything.
//! - Unordered, no retransmissions: 400 small messages paced over two seconds. Those
//!   whose round trip survives come back intact and once each; the echoes keep flowing
//!   while losses happen (no gap near a retransmission timeout, which is what a stalled
//!   channel would show). How many arrive each way is reported, not held to a figure:
//!   the path loses 5 % on each leg.
//! - Reliable and ordered, afterwards: 1 MiB in 64 KiB messages, each echoed; every
//!   byte comes back, in order, through both lossy legs (the Strata-only test of the same
//!   impairment, `crates/strata/tests/channels_survive_loss_delay_reordering_and_duplication.rs`,
//!   moves 50 MiB one way).

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use bytes::Bytes;
use serde_json::json;
use strata::{DataChannel, Impairment, Loss, Message, NetworkImpairment};
use strata_interop::Browser;
use strata_interop::runner::{Env, ScenarioFuture};
use tokio::time::Instant;

use super::PAGES;
use super::chromium_datachannel::{Session, loopback_config, next_message};

/// Messages on the unordered channel.
const UNRELIABLE_MESSAGES: u32 = 400;
/// Size of each of them: one SCTP packet.
const UNRELIABLE_SIZE: usize = 1000;
/// Pause between two of them.
const UNRELIABLE_PACE: Duration = Duration::from_millis(5);
/// How long echoes are awaited after the last send.
const UNRELIABLE_DRAIN: Duration = Duration::from_secs(3);
/// Messages on the reliable channel, and the size of each.
const RELIABLE_MESSAGES: u32 = 16;
const RELIABLE_SIZE: usize = 64 * 1024;
/// How long one reliable echo may take: a message lost on either leg again and again
/// waits out a few backed-off retransmission timeouts.
const RELIABLE_PATIENCE: Duration = Duration::from_secs(30);
/// How long the page may take to report.
const VERDICT: Duration = Duration::from_secs(20);
/// The longest silence allowed between two unordered echoes while messages are in
/// flight. Every 5 ms a message leaves; a lost one costs only itself, so echoes keep
/// arriving every few ms. A channel that waited for a lost message would stall for a
/// retransmission timeout (1 s minimum in both stacks).
const LONGEST_GAP: Duration = Duration::from_millis(500);

pub(crate) fn chromium_offers(env: Env) -> ScenarioFuture {
    Box::pin(run(env))
}

/// The path at Strata's socket, each way.
fn lossy_path() -> NetworkImpairment {
    let path = Impairment {
        loss: Loss::Random { probability: 0.05 },
        delay: Duration::from_millis(30),
        jitter: Duration::from_millis(5),
        reorder: 0.02,
        duplicate: 0.01,
        ..Impairment::default()
    };
    NetworkImpairment::symmetric(path, 41)
}

async fn run(env: Env) -> anyhow::Result<String> {
    let browser = Browser::start(env.chromium()?, PAGES).await?;
    let page = browser.open("chromium_peer", "lossy").await?;
    let mut config = loopback_config();
    config.ice.impairment = Some(lossy_path());
    let mut session = Session::start(page, true, config).await?;
    let outcome = exchange(&mut session).await;
    let ((unordered, reliable), detail) = session.conclude(browser, outcome, VERDICT).await?;
    // The page echoes every message it receives, the reliable ones among them.
    let page_received = (detail["echoed"].as_u64().context("the page's echo count")? as usize)
        .checked_sub(RELIABLE_MESSAGES as usize)
        .context("the page echoed fewer messages than the reliable channel carried")?;
    ensure!(
        page_received > 0 && unordered.echoed <= page_received,
        "Strata received {} echoes of {page_received} messages the page got",
        unordered.echoed
    );
    Ok(format!(
        "unordered: {page_received}/{UNRELIABLE_MESSAGES} reached Chromium, {}/{page_received} echoes reached Strata, longest gap {} ms; reliable: {} KiB echoed intact in {:.1} s",
        unordered.echoed,
        unordered.longest_gap.as_millis(),
        RELIABLE_MESSAGES as usize * RELIABLE_SIZE / 1024,
        reliable.as_secs_f64(),
    ))
}

/// What the unordered round trips gave, and how long the reliable echoes took.
async fn exchange(session: &mut Session) -> anyhow::Result<(UnorderedOutcome, Duration)> {
    session
        .page
        .send(json!({
            "op": "setup",
            "trickle": true,
            "channels": [
                { "label": "lossy", "options": { "ordered": false, "maxRetransmits": 0 } },
                { "label": "bulk", "options": {} },
            ],
        }))
        .await?;
    session.page.send(json!({ "op": "offer" })).await?;
    let offer = session.page_description().await?;
    session.pc.set_remote_description(offer).await?;
    let answer = session.pc.create_answer().await?;
    session.pc.set_local_description(answer).await?;
    let answer = session.description_to_send().await?;
    session
        .page
        .send(json!({ "op": "remote", "description": answer }))
        .await?;
    let lossy = session.incoming_channel("lossy").await?;
    let bulk = session.incoming_channel("bulk").await?;

    let unordered = unreliable_round_trips(&lossy)
        .await
        .context("unordered channel")?;
    let reliable = reliable_round_trips(&bulk)
        .await
        .context("reliable channel")?;
    Ok((unordered, reliable))
}

struct UnorderedOutcome {
    echoed: usize,
    longest_gap: Duration,
}

/// Sends the reliable messages and checks that each comes back whole and in order.
async fn reliable_round_trips(channel: &DataChannel) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let sender = channel.clone();
    let send = tokio::spawn(async move {
        for index in 0..RELIABLE_MESSAGES {
            sender.send(payload(index, RELIABLE_SIZE)).await?;
        }
        anyhow::Ok(())
    });
    for expected in 0..RELIABLE_MESSAGES {
        let message = tokio::time::timeout(RELIABLE_PATIENCE, next_message(channel))
            .await
            .with_context(|| {
                format!("no echo of message {expected} for {RELIABLE_PATIENCE:?}")
            })??;
        let Message::Binary(data) = message else {
            bail!("a text echo on a binary-only channel");
        };
        ensure!(
            data.len() == RELIABLE_SIZE,
            "echo {expected} is {} bytes",
            data.len()
        );
        let index = read_payload(&data).context("an echo came back changed")?;
        ensure!(
            index == expected,
            "echo {index} came where {expected} was due"
        );
    }
    send.await??;
    Ok(started.elapsed())
}

/// Sends the paced unordered messages while collecting their echoes.
async fn unreliable_round_trips(channel: &DataChannel) -> anyhow::Result<UnorderedOutcome> {
    let sender = channel.clone();
    let send = tokio::spawn(async move {
        let mut pace = tokio::time::interval(UNRELIABLE_PACE);
        for index in 0..UNRELIABLE_MESSAGES {
            pace.tick().await;
            sender.send(payload(index, UNRELIABLE_SIZE)).await?;
        }
        anyhow::Ok(Instant::now())
    });
    let started = Instant::now();
    let mut echoed = HashSet::new();
    let mut last_echo = started;
    let mut longest_gap = Duration::ZERO;
    let mut sending_until = None;
    loop {
        let deadline = sending_until.map_or(started + Duration::from_mins(1), |end| {
            end + UNRELIABLE_DRAIN
        });
        let message = tokio::select! {
            message = next_message(channel) => message?,
            () = tokio::time::sleep_until(deadline) => break,
        };
        let Message::Binary(data) = message else {
            bail!("a text echo on a binary-only channel");
        };
        let index = read_payload(&data).context("an echo came back changed")?;
        ensure!(echoed.insert(index), "message {index} echoed twice");
        let now = Instant::now();
        if sending_until.is_none() {
            longest_gap = longest_gap.max(now - last_echo);
        }
        last_echo = now;
        if sending_until.is_none() && send.is_finished() {
            sending_until = Some(now);
        }
        if echoed.len() == UNRELIABLE_MESSAGES as usize {
            break;
        }
    }
    send.await??;
    let echoed = echoed.len();
    ensure!(
        echoed < UNRELIABLE_MESSAGES as usize,
        "every message came back: the path lost nothing, so the scenario proved nothing"
    );
    ensure!(
        longest_gap <= LONGEST_GAP,
        "echoes stalled for {longest_gap:?} while messages were in flight"
    );
    Ok(UnorderedOutcome {
        echoed,
        longest_gap,
    })
}

/// `len` bytes: the index, then bytes derived from it.
fn payload(index: u32, len: usize) -> Bytes {
    let mut data = index.to_be_bytes().to_vec();
    data.extend((0..len - 4).map(|at| filler(index, at)));
    Bytes::from(data)
}

/// The index of a [`payload`], if every byte is as sent.
fn read_payload(data: &[u8]) -> Option<u32> {
    let index = u32::from_be_bytes(data.get(..4)?.try_into().ok()?);
    data[4..]
        .iter()
        .enumerate()
        .all(|(at, &byte)| byte == filler(index, at))
        .then_some(index)
}

fn filler(index: u32, at: usize) -> u8 {
    (at as u32)
        .wrapping_mul(31)
        .wrapping_add(index.wrapping_mul(7)) as u8
}
