//! Chromium's camera page (the `strata` server's `/camera`, with Chromium's fake camera
//! and microphone) in a call with Strata's media examples, through a real `strata`
//! server inside the scenario's namespace. Every verdict comes from Chromium's own
//! `getStats()`, which the page reports every second.
//!
//! - [`reflect_echoes_chromium`]: the page joins, then `reflect` (the newcomer, so it
//!   offers an audio and a video section). The page's camera and microphone come back
//!   through Strata: video `framesDecoded` and audio `packetsReceived` on the page's
//!   inbound streams must keep rising.
//! - [`chromium_adds_video_mid_call`]: as above, then the page adds a second camera
//!   track to the live call. The renegotiation must bring it to `reflect`, whose echo
//!   comes back as a second inbound video stream: both must keep decoding.
//! - [`play_from_disk_to_chromium`]: `play-from-disk` sends the VP8 and Opus fixture
//!   files to the page, which must decode the frames (`framesDecoded` rising) and
//!   receive the audio.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
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

const ROOM: &str = "media";
/// How long one step (a join, a track, media starting to decode) may take.
const STEP: Duration = Duration::from_secs(20);

pub(crate) fn reflect_echoes_chromium(env: Env) -> ScenarioFuture {
    in_call(env, |env, call| Box::pin(reflect_echo(env, call)))
}

async fn reflect_echo(env: &Env, call: &Call) -> anyhow::Result<String> {
    let mut page = call.join_page("alice").await?;
    let reflect = call.example(&env.examples()?.reflect, "reflect", &[])?;
    reflect
        .wait_for_stderr("reflecting to alice", 1, STEP)
        .await?;
    let echo = call
        .decoding(
            &mut page,
            "the echo of the camera and microphone",
            1,
            30,
            50,
        )
        .await?;
    finish(page, reflect).await?;
    Ok(format!("Chromium decoded Strata's echo: {echo}"))
}

pub(crate) fn chromium_adds_video_mid_call(env: Env) -> ScenarioFuture {
    in_call(env, |env, call| Box::pin(added_video_echo(env, call)))
}

async fn added_video_echo(env: &Env, call: &Call) -> anyhow::Result<String> {
    let mut page = call.join_page("alice").await?;
    let reflect = call.example(&env.examples()?.reflect, "reflect", &[])?;
    reflect
        .wait_for_stderr("reflecting to alice", 1, STEP)
        .await?;
    let before = call
        .decoding(&mut page, "the echo of the first camera", 1, 15, 25)
        .await?;
    page.send(json!({ "cmd": "add-video" })).await?;
    call.message(&mut page, "the second camera track", |m| {
        m["type"] == "added-video"
    })
    .await?;
    // The renegotiated section reaches reflect, which echoes it on a track of its own.
    reflect.wait_for_stderr("sends Video", 2, STEP).await?;
    let after = call
        .decoding(&mut page, "the echoes of both cameras", 2, 30, 50)
        .await?;
    finish(page, reflect).await?;
    Ok(format!(
        "Chromium decoded one echo ({before}), then both after adding a camera mid-call \
         ({after})"
    ))
}

pub(crate) fn play_from_disk_to_chromium(env: Env) -> ScenarioFuture {
    in_call(env, |env, call| Box::pin(played_files(env, call)))
}

async fn played_files(env: &Env, call: &Call) -> anyhow::Result<String> {
    let mut page = call.join_page("alice").await?;
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/tests/fixtures");
    let video = fixtures.join("vp8_160x120_3s.ivf");
    let audio = fixtures.join("opus_440hz_3s.opus");
    let args = [
        "--video".as_ref(),
        video.as_os_str(),
        "--audio".as_ref(),
        audio.as_os_str(),
    ];
    let mut player = call.example(&env.examples()?.play_from_disk, "play-from-disk", &args)?;
    // The files last 3 s (90 frames, 150 packets): decoding must get well into them.
    let decoded = call
        .decoding(&mut page, "the files' VP8 and Opus", 1, 30, 60)
        .await?;
    player
        .expect_success(STEP)
        .await
        .context("play-from-disk did not finish cleanly")?;
    page.send(json!({ "cmd": "done" })).await?;
    Ok(format!(
        "Chromium decoded the files Strata played: {decoded}"
    ))
}

/// One variant's steps, given the call they run in.
type CallSteps = for<'a> fn(
    &'a Env,
    &'a Call,
) -> Pin<Box<dyn Future<Output = anyhow::Result<String>> + Send + 'a>>;

/// Runs `steps` in a fresh [`Call`], which is stopped afterwards whatever the outcome.
fn in_call(env: Env, steps: CallSteps) -> ScenarioFuture {
    Box::pin(async move {
        let call = Call::start(&env).await?;
        let outcome = steps(&env, &call).await;
        call.stop().await;
        outcome
    })
}

/// What every variant runs in: a server and a browser, stopped afterwards.
struct Call {
    server: Server,
    browser: Browser,
    token: String,
}

impl Call {
    async fn start(env: &Env) -> anyhow::Result<Self> {
        let server = Server::start(ServerConfig {
            listen: "127.0.0.1:0".parse()?,
            ..ServerConfig::default()
        })
        .await
        .context("cannot start the strata server")?;
        let token = server.participant_token(ROOM)?;
        let browser = Browser::start(env.chromium()?, PAGES).await?;
        Ok(Self {
            server,
            browser,
            token,
        })
    }

    async fn stop(self) {
        self.browser.close().await;
        self.server.shutdown().await;
    }
}

/// Stops `reflect` as Ctrl-C would (it must leave cleanly) and ends the page.
async fn finish(page: PageHandle, mut peer: PipedPeer) -> anyhow::Result<()> {
    peer.interrupt()?;
    peer.expect_success(STEP)
        .await
        .context("the example did not leave cleanly on Ctrl-C")?;
    page.send(json!({ "cmd": "done" })).await?;
    Ok(())
}

impl Call {
    /// Starts an example joined to the room on loopback.
    fn example(
        &self,
        binary: &std::path::Path,
        name: &str,
        args: &[&std::ffi::OsStr],
    ) -> anyhow::Result<PipedPeer> {
        let mut command = Command::new(binary);
        command
            .args(["--server", &self.server.ws_url(), "--room", ROOM])
            .args(["--token", &self.token, "--name", name])
            // The namespace has only loopback.
            .arg("--include-loopback")
            .args(args);
        PipedPeer::spawn(name, command)
    }

    /// Opens the camera page as `id` and waits until it has joined the room.
    async fn join_page(&self, id: &str) -> anyhow::Result<PageHandle> {
        let mut page = self.browser.open("camera_call", id).await?;
        page.send(json!({
            "strata": format!("http://{}", self.server.local_addr()),
            "room": ROOM,
            "token": self.token,
        }))
        .await?;
        let joined = self
            .message(&mut page, "the camera page's join", |m| {
                m["type"] == "joined" || m["type"] == "error"
            })
            .await?;
        ensure!(
            joined["type"] == "joined",
            "the camera page could not join: {joined}"
        );
        Ok(page)
    }

    /// The page's next message for which `wanted` holds (within [`STEP`]).
    async fn message(
        &self,
        page: &mut PageHandle,
        what: &str,
        mut wanted: impl FnMut(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        let search = async {
            loop {
                let message = page.recv().await?;
                if wanted(&message) {
                    return anyhow::Ok(message);
                }
            }
        };
        match tokio::time::timeout(STEP, search).await {
            Ok(found) => found.with_context(|| self.browser.report(page)),
            Err(_) => anyhow::bail!("no {what} within {STEP:?}\n{}", self.browser.report(page)),
        }
    }

    /// Waits until Chromium decodes `videos` inbound video streams and receives audio,
    /// then until each video's `framesDecoded` has risen by `frames` and the audio's
    /// `packetsReceived` by `packets` more: media that keeps arriving and decoding.
    /// Returns the figures.
    async fn decoding(
        &self,
        page: &mut PageHandle,
        what: &str,
        videos: usize,
        frames: u64,
        packets: u64,
    ) -> anyhow::Result<String> {
        let started = |m: &Value| {
            let (decoded, audio) = figures(m);
            decoded.len() >= videos && decoded.iter().all(|&f| f > 0) && audio > 0
        };
        let first = self
            .message(page, &format!("{what} decoding"), started)
            .await?;
        let (first_frames, first_audio) = figures(&first);
        let risen = |m: &Value| {
            let (decoded, audio) = figures(m);
            decoded.len() >= videos
                && decoded
                    .iter()
                    .zip(&first_frames)
                    .all(|(now, then)| *now >= then + frames)
                && audio >= first_audio + packets
        };
        let last = self
            .message(page, &format!("{what} still decoding"), risen)
            .await?;
        let (last_frames, last_audio) = figures(&last);
        Ok(format!(
            "video framesDecoded {first_frames:?} -> {last_frames:?}, audio packetsReceived \
             {first_audio} -> {last_audio}"
        ))
    }
}

/// From a stats report: each inbound video stream's `framesDecoded` (in the page's order)
/// and the inbound audio's `packetsReceived` (summed).
fn figures(message: &Value) -> (Vec<u64>, u64) {
    if message["type"] != "stats" {
        return (Vec::new(), 0);
    }
    let inbound = message["inbound"].as_array().cloned().unwrap_or_default();
    let frames = inbound
        .iter()
        .filter(|s| s["kind"] == "video")
        .map(|s| s["framesDecoded"].as_u64().unwrap_or(0))
        .collect();
    let audio = inbound
        .iter()
        .filter(|s| s["kind"] == "audio")
        .map(|s| s["packetsReceived"].as_u64().unwrap_or(0))
        .sum();
    (frames, audio)
}
