//! Strata and Chromium negotiate, connect and exchange data-channel messages: each side
//! offers in turn, with trickled and with non-trickled candidates.
//!
//! Every variant checks an ordered and an unordered (`maxRetransmits: 0`) channel created
//! by the offerer, a channel the answerer creates once connected, and a pre-negotiated
//! channel (id 7) both sides create on their own. Strata sends text and binary messages
//! on each and the page echoes them, so both directions carry every kind; one 256 KiB
//! message goes each way.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use bytes::Bytes;
use serde_json::{Value, json};
use strata::{
    ChannelEvent, ChannelOptions, Configuration, DataChannel, IceCandidateInit, Message,
    PeerConnection, PeerConnectionEvent, PeerConnectionEvents, SessionDescription,
};
use strata_interop::Browser;
use strata_interop::page::PageHandle;
use strata_interop::runner::{Env, ScenarioFuture};
use tokio::sync::mpsc;

use super::PAGES;

/// Echoed messages per channel (half text, half binary).
const MESSAGES: usize = 60;
/// The largest message both sides accept (`a=max-message-size`).
const LARGEST: usize = 256 * 1024;
/// The pre-negotiated channel's stream id.
const NEGOTIATED_ID: u16 = 7;
/// How long any one step may take.
const STEP: Duration = Duration::from_secs(20);

/// Which side sends the offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Offerer {
    Strata,
    Chromium,
}

pub(crate) fn strata_offers_trickle(env: Env) -> ScenarioFuture {
    Box::pin(run(env, Offerer::Strata, true))
}

pub(crate) fn strata_offers_non_trickle(env: Env) -> ScenarioFuture {
    Box::pin(run(env, Offerer::Strata, false))
}

pub(crate) fn chromium_offers_trickle(env: Env) -> ScenarioFuture {
    Box::pin(run(env, Offerer::Chromium, true))
}

pub(crate) fn chromium_offers_non_trickle(env: Env) -> ScenarioFuture {
    Box::pin(run(env, Offerer::Chromium, false))
}

async fn run(env: Env, offerer: Offerer, trickle: bool) -> anyhow::Result<String> {
    let browser = Browser::start(env.chromium()?, PAGES).await?;
    let page = browser.open("chromium_peer", "peer").await?;
    let mut session = Session::start(page, trickle, loopback_config()).await?;
    let outcome = match offerer {
        Offerer::Strata => session.strata_offers().await,
        Offerer::Chromium => session.chromium_offers().await,
    };
    let (summary, detail) = session.conclude(browser, outcome, STEP).await?;
    let echoed = detail["echoed"].as_u64().unwrap_or(0);
    ensure!(
        echoed >= summary.sent,
        "the page echoed {echoed} messages, Strata sent {}",
        summary.sent
    );
    ensure!(
        detail["largest"].as_u64() == Some(LARGEST as u64),
        "the page's largest message was {}, expected {LARGEST}",
        detail["largest"]
    );
    Ok(format!(
        "{} channels, {} messages echoed, 256 KiB each way, {} candidates, connected in {} ms",
        summary.channels,
        summary.sent,
        if trickle { "trickled" } else { "inline" },
        summary.connect_ms
    ))
}

struct Summary {
    channels: usize,
    sent: u64,
    connect_ms: u128,
}

/// Strata's configuration in a scenario: the namespace has only loopback. Both families
/// stay enabled, as applications leave them: strata-ice then picks one for host
/// candidates.
pub(super) fn loopback_config() -> Configuration {
    let mut config = Configuration::default();
    config.ice.policy.include_loopback = true;
    config
}

/// A Strata peer and the page's peer, with the plumbing between them.
pub(super) struct Session {
    pub(super) page: PageHandle,
    pub(super) pc: PeerConnection,
    trickle: bool,
    /// Strata's candidates, waiting to go to the page.
    candidates: mpsc::UnboundedReceiver<IceCandidateInit>,
    /// Channels the page opened, as Strata received them.
    incoming: mpsc::UnboundedReceiver<DataChannel>,
    /// Channels that reached Strata while another was awaited (on a lossy path the
    /// page's opens may arrive in any order).
    arrived_early: Vec<DataChannel>,
    /// What the page said about channels Strata opened (`datachannel` events), by label.
    seen_by_page: HashMap<String, Value>,
}

impl Session {
    /// Ends the session with the scenario's `outcome`: on success the page is asked to
    /// finish and its verdict's detail comes back with the outcome; on failure the
    /// browser's report is added to the error. Strata's peer and the browser are closed
    /// either way.
    pub(super) async fn conclude<T>(
        mut self,
        browser: Browser,
        outcome: anyhow::Result<T>,
        verdict_within: Duration,
    ) -> anyhow::Result<(T, Value)> {
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(error) => {
                let report = browser.report(&self.page);
                self.pc.close().await;
                browser.close().await;
                return Err(error.context(report));
            }
        };
        let verdict = match self.page.send(json!({ "op": "finish" })).await {
            Ok(()) => {
                browser
                    .passing_verdict(&mut self.page, verdict_within)
                    .await
            }
            Err(error) => Err(error),
        };
        self.pc.close().await;
        browser.close().await;
        Ok((outcome, verdict?.detail))
    }

    pub(super) async fn start(
        page: PageHandle,
        trickle: bool,
        config: Configuration,
    ) -> anyhow::Result<Self> {
        let (pc, events) = PeerConnection::new(config).await?;
        let (candidates_tx, candidates) = mpsc::unbounded_channel();
        let (incoming_tx, incoming) = mpsc::unbounded_channel();
        tokio::spawn(pump(events, candidates_tx, incoming_tx));
        Ok(Self {
            page,
            pc,
            trickle,
            candidates,
            incoming,
            arrived_early: Vec::new(),
            seen_by_page: HashMap::new(),
        })
    }

    async fn strata_offers(&mut self) -> anyhow::Result<Summary> {
        let started = Instant::now();
        let unordered = ChannelOptions {
            ordered: false,
            max_retransmits: Some(0),
            ..ChannelOptions::default()
        };
        self.page
            .send(
                json!({ "op": "setup", "trickle": self.trickle, "channels": [negotiated_in_page()] }),
            )
            .await?;
        let ordered = self
            .pc
            .create_data_channel("ordered", ChannelOptions::default())
            .await?;
        let unordered = self.pc.create_data_channel("unordered", unordered).await?;
        let negotiated = self
            .pc
            .create_data_channel("negotiated", negotiated())
            .await?;
        let offer = self.pc.create_offer().await?;
        self.pc.set_local_description(offer).await?;
        let offer = self.description_to_send().await?;
        self.page
            .send(json!({ "op": "remote", "description": offer }))
            .await?;
        let answer = self.page_description().await?;
        self.pc.set_remote_description(answer).await?;
        wait_open(&ordered).await?;
        let connect_ms = started.elapsed().as_millis();
        // The answerer opens one once connected.
        self.page
            .send(json!({ "op": "create", "label": "chromium-made", "options": {} }))
            .await?;
        let chromium_made = self.incoming_channel("chromium-made").await?;
        self.check_seen_by_page("ordered", true, None).await?;
        self.check_seen_by_page("unordered", false, Some(0)).await?;
        let channels = [
            (ordered, true),
            (unordered, false),
            (negotiated, true),
            (chromium_made, true),
        ];
        self.echo_all(&channels, connect_ms).await
    }

    async fn chromium_offers(&mut self) -> anyhow::Result<Summary> {
        let started = Instant::now();
        self.page
            .send(json!({
                "op": "setup",
                "trickle": self.trickle,
                "channels": [
                    { "label": "ordered", "options": {} },
                    { "label": "unordered", "options": { "ordered": false, "maxRetransmits": 0 } },
                    negotiated_in_page(),
                ],
            }))
            .await?;
        let negotiated = self
            .pc
            .create_data_channel("negotiated", negotiated())
            .await?;
        self.page.send(json!({ "op": "offer" })).await?;
        let offer = self.page_description().await?;
        self.pc.set_remote_description(offer).await?;
        let answer = self.pc.create_answer().await?;
        self.pc.set_local_description(answer).await?;
        let answer = self.description_to_send().await?;
        self.page
            .send(json!({ "op": "remote", "description": answer }))
            .await?;
        let ordered = self.incoming_channel("ordered").await?;
        let connect_ms = started.elapsed().as_millis();
        let unordered = self.incoming_channel("unordered").await?;
        ensure!(
            !unordered.options().ordered && unordered.options().max_retransmits == Some(0),
            "Chromium's unordered channel arrived as {:?}",
            unordered.options()
        );
        // The answerer opens one once connected.
        let strata_made = self
            .pc
            .create_data_channel("strata-made", ChannelOptions::default())
            .await?;
        wait_open(&strata_made).await?;
        self.check_seen_by_page("strata-made", true, None).await?;
        let channels = [
            (ordered, true),
            (unordered, false),
            (negotiated, true),
            (strata_made, true),
        ];
        self.echo_all(&channels, connect_ms).await
    }

    /// The description the page sends next (its offer or its answer).
    pub(super) async fn page_description(&mut self) -> anyhow::Result<SessionDescription> {
        let message = self.page_event("description").await?;
        serde_json::from_value(message["description"].clone()).context("the page's description")
    }

    /// The local description to hand to the page: at once when trickling (candidates
    /// follow), else once it holds every candidate.
    pub(super) async fn description_to_send(&mut self) -> anyhow::Result<Value> {
        if !self.trickle {
            tokio::time::timeout(STEP, self.pc.gathering_complete())
                .await
                .context("Strata's gathering did not complete")?;
        }
        let description = self
            .pc
            .local_description()
            .await?
            .context("no local description")?;
        if !self.trickle {
            ensure!(
                description.sdp.contains("a=candidate:"),
                "a non-trickle description without candidates"
            );
        }
        Ok(serde_json::to_value(description)?)
    }

    /// Waits for the page's next message with `event`, relaying candidates both ways and
    /// noting what the page reports about channels meanwhile.
    async fn page_event(&mut self, event: &str) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            let message = tokio::select! {
                message = self.page.recv() => message?,
                Some(candidate) = self.candidates.recv() => {
                    self.send_candidate(candidate).await?;
                    continue;
                }
                () = tokio::time::sleep_until(deadline) => bail!("no `{event}` from the page within {STEP:?}"),
            };
            if message["event"] == event {
                return Ok(message);
            }
            self.note(message).await?;
        }
    }

    async fn note(&mut self, message: Value) -> anyhow::Result<()> {
        match message["event"].as_str() {
            Some("candidate") => {
                let candidate: IceCandidateInit =
                    serde_json::from_value(message["candidate"].clone())
                        .context("the page's candidate")?;
                self.pc.add_ice_candidate(candidate).await?;
            }
            Some("datachannel") => {
                let label = message["label"].as_str().unwrap_or_default().to_owned();
                self.seen_by_page.insert(label, message);
            }
            _ => {}
        }
        Ok(())
    }

    async fn send_candidate(&self, candidate: IceCandidateInit) -> anyhow::Result<()> {
        if self.trickle {
            self.page
                .send(json!({ "op": "candidate", "candidate": candidate }))
                .await?;
        }
        Ok(())
    }

    /// The channel the page opened with `label`, as Strata received it.
    pub(super) async fn incoming_channel(&mut self, label: &str) -> anyhow::Result<DataChannel> {
        if let Some(at) = self.arrived_early.iter().position(|c| c.label() == label) {
            return Ok(self.arrived_early.swap_remove(at));
        }
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            tokio::select! {
                channel = self.incoming.recv() => {
                    let channel = channel.context("Strata's events ended")?;
                    if channel.label() == label {
                        return Ok(channel);
                    }
                    self.arrived_early.push(channel);
                }
                message = self.page.recv() => {
                    let message = message?;
                    self.note(message).await?;
                }
                Some(candidate) = self.candidates.recv() => self.send_candidate(candidate).await?,
                () = tokio::time::sleep_until(deadline) => bail!("channel {label:?} never reached Strata"),
            }
        }
    }

    /// Checks how the page saw a channel Strata opened: its DCEP OPEN carried the options.
    async fn check_seen_by_page(
        &mut self,
        label: &str,
        ordered: bool,
        max_retransmits: Option<u64>,
    ) -> anyhow::Result<()> {
        while !self.seen_by_page.contains_key(label) {
            let message = self.page_event("datachannel").await?;
            self.note(message).await?;
        }
        let seen = &self.seen_by_page[label];
        ensure!(
            seen["ordered"] == ordered && seen["maxRetransmits"].as_u64() == max_retransmits,
            "Chromium saw {label:?} as {seen}"
        );
        Ok(())
    }

    async fn echo_all(
        &mut self,
        channels: &[(DataChannel, bool)],
        connect_ms: u128,
    ) -> anyhow::Result<Summary> {
        let mut sent = 0;
        for (channel, ordered) in channels {
            sent += echo(channel, *ordered)
                .await
                .with_context(|| format!("channel {:?}", channel.label()))?;
        }
        let largest = Message::Binary(Bytes::from(
            (0..LARGEST).map(|i| (i % 251) as u8).collect::<Vec<u8>>(),
        ));
        let (ordered, _) = &channels[0];
        ordered.send_message(largest.clone()).await?;
        ensure!(
            next_message(ordered).await? == largest,
            "the 256 KiB message came back changed"
        );
        Ok(Summary {
            channels: channels.len(),
            sent: sent + 1,
            connect_ms,
        })
    }
}

/// The pre-negotiated channel on Strata's side.
fn negotiated() -> ChannelOptions {
    ChannelOptions {
        negotiated: Some(NEGOTIATED_ID),
        ..ChannelOptions::default()
    }
}

/// The same channel as the page creates it.
fn negotiated_in_page() -> Value {
    json!({ "label": "negotiated", "options": { "negotiated": true, "id": NEGOTIATED_ID } })
}

/// Reads Strata's events: candidates and incoming channels go to the session.
async fn pump(
    mut events: PeerConnectionEvents,
    candidates: mpsc::UnboundedSender<IceCandidateInit>,
    incoming: mpsc::UnboundedSender<DataChannel>,
) {
    while let Some(event) = events.recv().await {
        match event {
            PeerConnectionEvent::IceCandidate(candidate) => {
                let _ = candidates.send(candidate);
            }
            PeerConnectionEvent::DataChannel(channel) => {
                let _ = incoming.send(channel);
            }
            _ => {}
        }
    }
}

async fn wait_open(channel: &DataChannel) -> anyhow::Result<()> {
    match tokio::time::timeout(STEP, channel.recv()).await {
        Ok(Some(ChannelEvent::Open)) => Ok(()),
        other => bail!("channel {:?} did not open: {other:?}", channel.label()),
    }
}

pub(super) async fn next_message(channel: &DataChannel) -> anyhow::Result<Message> {
    loop {
        match tokio::time::timeout(STEP, channel.recv()).await {
            Ok(Some(ChannelEvent::Message(message))) => return Ok(message),
            Ok(Some(ChannelEvent::Open | ChannelEvent::BufferedAmountLow)) => {}
            other => bail!("expected a message, got {other:?}"),
        }
    }
}

/// Sends [`MESSAGES`] messages (text and binary in turn) and checks they all come back:
/// in order on an ordered channel, as a set otherwise. Returns how many were sent.
async fn echo(channel: &DataChannel, ordered: bool) -> anyhow::Result<u64> {
    let label = channel.label().to_owned();
    let message = |i: usize| {
        if i.is_multiple_of(2) {
            Message::Text(format!("{label} ✓ {i}"))
        } else {
            Message::Binary(Bytes::from(format!("{label}/{i}").repeat(i)))
        }
    };
    for i in 0..MESSAGES {
        channel.send_message(message(i)).await?;
    }
    let mut received = Vec::with_capacity(MESSAGES);
    for _ in 0..MESSAGES {
        received.push(next_message(channel).await?);
    }
    let expected: Vec<Message> = (0..MESSAGES).map(message).collect();
    if ordered {
        ensure!(
            received == expected,
            "echoes came back changed or reordered"
        );
    } else {
        for message in &expected {
            ensure!(received.contains(message), "echo of {message:?} missing");
        }
    }
    Ok(MESSAGES as u64)
}
