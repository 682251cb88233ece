//! Chromium's camera page (the `strata` server's `/camera`, with Chromium's fake camera
//! and microphone) in a call with Strata's media examples, through a real `strata`
//! server inside the scenario's namespace. The verdicts come from Chromium's own
//! `getStats()`, which the page reports every second, and from the stats `reflect`
//! writes when it leaves.
//!
//! - [`reflect_echoes_chromium`]: the page joins, then `reflect` (the newcomer, so it
//!   offers an audio and a video section). The page's camera and microphone come back
//!   through Strata: video `framesDecoded` and audio `packetsReceived` on the page's
//!   inbound streams must keep rising.
//! - [`chromium_adds_video_mid_call`]: as above, then the page adds a second camera
//!   track to the live call. The renegotiation must bring it to `reflect`, whose echo
//!   comes back as a second inbound video stream: both must keep decoding.
//! - [`reflect_recovers_losses_both_ways`]: as the first, with `reflect` simulating
//!   5 % loss, 40 ms delay and 10 ms jitter each way at its socket. Strata must NACK the
//!   camera and recover at least 95 % of the lost video packets in time (its inbound
//!   `packets_recovered` against `packets_lost`), Chromium must answer those NACKs
//!   (`retransmittedPacketsSent`), and Strata must answer Chromium's NACKs for the echo.
//! - [`play_from_disk_to_chromium`]: `play-from-disk` sends the VP8 and Opus fixture
//!   files to the page, which must decode the frames (`framesDecoded` rising) and
//!   receive the audio.
//! - [`chromium_camera_recorded_by_strata`]: `record` joins, then the page, which offers
//!   its camera and microphone; `record` writes them to disk. It sends no media, so its
//!   round-trip time must come from Chromium's DLRR answers to the receiver reference
//!   times in its reports (RFC 3611).

use std::ffi::OsStr;
use std::future::Future;
use std::path::{Path, PathBuf};
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
    let args = media_file_args(&audio, &video);
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

pub(crate) fn chromium_camera_recorded_by_strata(env: Env) -> ScenarioFuture {
    in_call(env, |env, call| Box::pin(recorded_camera(env, call)))
}

async fn recorded_camera(env: &Env, call: &Call) -> anyhow::Result<String> {
    let files = tempfile::tempdir().context("cannot make a directory for the recording")?;
    let audio = files.path().join("call.opus");
    let video = files.path().join("call.ivf");
    let args = media_file_args(&audio, &video);
    let mut record = call.example(&env.examples()?.record, "record", &args)?;
    // The page must arrive after record, which waits to be offered to.
    record.wait_for_stderr("joined room", 1, STEP).await?;
    let page = call.join_page("alice").await?;
    record
        .wait_for_stderr("wrote the first video frame", 1, STEP)
        .await?;
    // Reports go about once a second each way: time for a few reference times and their
    // answers.
    tokio::time::sleep(RECORDED_FOR).await;
    record.interrupt()?;
    record
        .expect_success(STEP)
        .await
        .context("record did not finish cleanly on Ctrl-C")?;
    page.send(json!({ "cmd": "done" })).await?;
    let stats = media_stats(&record.log_tail(strata_interop::piped_peer::LOG_LINES))?;
    let answers = stats["dlrr_rtt_measurements"].as_u64().unwrap_or(0);
    let rtt = stats["round_trip_time_ms"].as_f64();
    ensure!(
        answers >= 2,
        "record measured its round trip from {answers} DLRR answers of Chromium's, \
         expected at least 2 in {RECORDED_FOR:?}: {stats}"
    );
    let rtt = rtt.with_context(|| format!("record reported no round-trip time: {stats}"))?;
    // Loopback: anything near a second would be a unit or clock error, not the path.
    ensure!(
        rtt < 100.0,
        "record's round-trip time over loopback is {rtt} ms: {stats}"
    );
    ensure!(
        std::fs::metadata(&video).map_or(0, |m| m.len()) > 32,
        "record wrote no video frame to {}",
        video.display()
    );
    Ok(format!(
        "record wrote Chromium's camera to disk and, sending nothing, measured its round \
         trip as {rtt:.2} ms from {answers} DLRR answers"
    ))
}

/// `--audio AUDIO --video VIDEO`, as `play-from-disk` reads and `record` writes them.
fn media_file_args<'p>(audio: &'p Path, video: &'p Path) -> [&'p OsStr; 4] {
    [
        "--audio".as_ref(),
        audio.as_os_str(),
        "--video".as_ref(),
        video.as_os_str(),
    ]
}

/// How long `record` records once the first frame is written.
const RECORDED_FOR: Duration = Duration::from_secs(6);

/// The network `reflect` simulates at its socket, each way: 5 % loss, 40 ms delay,
/// 10 ms jitter.
const LOSSY_PATH: [&str; 8] = [
    "--loss",
    "5",
    "--delay-ms",
    "40",
    "--jitter-ms",
    "10",
    "--network-seed",
    "11",
];
/// Share of the video packets the path lost that Strata must recover in time.
const RECOVERED_AT_LEAST: f64 = 0.95;

pub(crate) fn reflect_recovers_losses_both_ways(env: Env) -> ScenarioFuture {
    in_call(env, |env, call| Box::pin(lossy_echo(env, call)))
}

async fn lossy_echo(env: &Env, call: &Call) -> anyhow::Result<String> {
    let mut page = call.join_page("alice").await?;
    let args: Vec<&OsStr> = LOSSY_PATH.iter().map(OsStr::new).collect();
    let mut reflect = call.example(&env.examples()?.reflect, "reflect", &args)?;
    reflect
        .wait_for_stderr("reflecting to alice", 1, STEP)
        .await?;
    // About 15 s of camera, so that the path loses a few dozen video packets.
    let mut echo = Vec::new();
    for _ in 0..3 {
        echo.push(
            call.decoding(&mut page, "the echo through the lossy path", 1, 150, 200)
                .await?,
        );
    }
    // Chromium NACKed the echo (Strata answered, below) and Strata NACKed the camera,
    // which Chromium answered.
    let chromium = call
        .message(&mut page, "NACKs both ways in Chromium's stats", |m| {
            let n = ChromiumNacks::from_stats(m);
            n.sent > 0 && n.received > 0 && n.retransmitted > 0
        })
        .await
        .map(|m| ChromiumNacks::from_stats(&m))?;
    reflect.interrupt()?;
    reflect
        .expect_success(STEP)
        .await
        .context("reflect did not leave cleanly on Ctrl-C")?;
    page.send(json!({ "cmd": "done" })).await?;
    let strata = media_stats(&reflect.log_tail(strata_interop::piped_peer::LOG_LINES))?;
    let video = |direction: &str| {
        strata[direction]
            .as_array()
            .and_then(|streams| streams.iter().find(|s| s["codec"] != "Opus"))
            .with_context(|| format!("reflect reported no {direction} video"))
    };
    let (video_in, video_out) = (video("inbound")?, video("outbound")?);
    let figure = |stream: &Value, name: &str| stream[name].as_i64().unwrap_or(0);
    // Losses whose retransmission may still come when reflect left are not judged. A
    // retransmission that overtook an original the jitter delayed answered no loss: it
    // is not a recovery.
    let lost = figure(video_in, "packets_lost");
    let judged = lost - figure(video_in, "packets_awaiting_retransmission");
    let recovered = figure(video_in, "packets_recovered") - figure(video_in, "unneeded_recoveries");
    ensure!(
        judged > 0 && figure(video_in, "nack_count") > 0,
        "the lossy path lost no camera packet, or Strata sent no NACK: {video_in}"
    );
    ensure!(
        recovered as f64 >= RECOVERED_AT_LEAST * judged as f64,
        "Strata recovered {recovered} of the {judged} camera packets the path lost, under \
         {:.0} %: {video_in}",
        RECOVERED_AT_LEAST * 100.0
    );
    ensure!(
        figure(video_out, "nack_count") > 0 && figure(video_out, "retransmitted_packets_sent") > 0,
        "Strata answered no NACK of Chromium's: {video_out}"
    );
    Ok(format!(
        "through 5 % loss, 40 ± 10 ms each way: Chromium decoded the echo ({}); Strata \
         recovered {recovered} of {judged} lost camera packets with {} NACKs, which \
         Chromium answered with {} retransmissions; Chromium sent {} NACKs for the echo, \
         Strata resent {} packets",
        echo.join("; "),
        figure(video_in, "nack_count"),
        chromium.retransmitted,
        chromium.sent,
        figure(video_out, "retransmitted_packets_sent"),
    ))
}

/// NACK figures of Chromium's video streams, from one stats report.
#[derive(Debug)]
struct ChromiumNacks {
    /// NACKs Chromium sent for the video it receives (the echo).
    sent: u64,
    /// NACKs Chromium received for the video it sends (the camera).
    received: u64,
    /// Packets Chromium retransmitted on the camera stream.
    retransmitted: u64,
}

impl ChromiumNacks {
    fn from_stats(message: &Value) -> Self {
        let video = |direction, name| page_figures(message, direction, "video", name).sum();
        Self {
            sent: video("inbound", "nackCount"),
            received: video("outbound", "nackCount"),
            retransmitted: video("outbound", "retransmittedPacketsSent"),
        }
    }
}

/// The JSON `reflect` or `record` writes for its one participant when it leaves
/// (`media stats for PEER: {...}`).
fn media_stats(log: &str) -> anyhow::Result<Value> {
    const PREFIX: &str = "media stats for ";
    let json = log
        .lines()
        .rev()
        .find_map(|line| {
            line.split_once(PREFIX)?
                .1
                .split_once(": ")
                .map(|(_, json)| json)
        })
        .with_context(|| format!("the example wrote no media stats:\n{log}"))?;
    serde_json::from_str(json).with_context(|| format!("the example's media stats: {json}"))
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
    fn example(&self, binary: &Path, name: &str, args: &[&OsStr]) -> anyhow::Result<PipedPeer> {
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
    let frames = page_figures(message, "inbound", "video", "framesDecoded").collect();
    let audio = page_figures(message, "inbound", "audio", "packetsReceived").sum();
    (frames, audio)
}

/// One figure (`name`) of each of the page's `direction` (`inbound`/`outbound`) streams
/// of `kind`, in the page's order; nothing unless `message` is a stats report.
fn page_figures<'m>(
    message: &'m Value,
    direction: &str,
    kind: &'m str,
    name: &'m str,
) -> impl Iterator<Item = u64> + 'm {
    let streams = if message["type"] == "stats" {
        message[direction].as_array().map(Vec::as_slice)
    } else {
        None
    };
    streams
        .unwrap_or_default()
        .iter()
        .filter(move |s| s["kind"] == kind)
        .map(move |s| s[name].as_u64().unwrap_or(0))
}
