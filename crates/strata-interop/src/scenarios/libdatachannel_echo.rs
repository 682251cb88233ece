//! libdatachannel (the C++ library, through `node-datachannel`) against Strata's `offer`
//! and `answer` examples, a data channel each way with echo, over the examples' JSON-line
//! signaling (non-trickle descriptions, one line each way):
//!
//! 1. Strata's `offer` opens `chat`; a libdatachannel answerer echoes what it receives.
//! 2. A libdatachannel offerer opens `chat`; Strata's `answer` echoes, binary as binary.
//!
//! Each side sends lines of every kind (ASCII, multi-byte UTF-8, a 60 KB line, a burst),
//! checks every echo in order, then ends its input: both processes must exit with 0.

use std::time::Duration;

use anyhow::{Context, ensure};
use strata_interop::piped_peer::PipedPeer;
use strata_interop::runner::{Env, ScenarioFuture};
use tokio::process::Command;

/// How long a peer may take to print its description (gathering included).
const SIGNALING: Duration = Duration::from_secs(30);
/// How long one echo may take (connection setup included, for the first).
const ECHO: Duration = Duration::from_secs(20);
/// How long a peer may take to exit once its session is over.
const EXIT: Duration = Duration::from_secs(20);
/// Lines sent back to back before any echo is read.
const BURST: usize = 50;

pub(crate) fn run(env: Env) -> ScenarioFuture {
    Box::pin(async move {
        let libdatachannel = env.node_datachannel()?.clone();
        let examples = env.examples()?.clone();

        let offer = PipedPeer::spawn("strata offer", strata_peer(&examples.offer))?;
        let answer = PipedPeer::spawn("libdatachannel answer", libdatachannel.command("answer"))?;
        let to_libdatachannel = echo_session(offer, answer, &lines(false))
            .await
            .context("Strata offers, libdatachannel answers")?;

        let offer = PipedPeer::spawn("libdatachannel offer", libdatachannel.command("offer"))?;
        let answer = PipedPeer::spawn("strata answer", strata_peer(&examples.answer))?;
        let to_strata = echo_session(offer, answer, &lines(true))
            .await
            .context("libdatachannel offers, Strata answers")?;

        Ok(format!(
            "{to_libdatachannel} msgs echoed by libdatachannel, {to_strata} (text+binary) by Strata; \
             node-datachannel {}",
            strata_interop::node_datachannel::VERSION
        ))
    })
}

/// One of Strata's example binaries on loopback: the namespace has nothing else.
fn strata_peer(binary: &std::path::Path) -> Command {
    let mut command = Command::new(binary);
    command.arg("--include-loopback");
    command
}

/// What the offerer sends: each line must come back unchanged. With `binary`, some go out
/// as binary messages (the libdatachannel offerer sends `binary:TEXT` as the bytes of
/// TEXT and prints binary messages it receives the same way, so an echo that turned binary
/// into text would come back without the prefix).
fn lines(binary: bool) -> Vec<String> {
    let mut lines = vec![
        "hello from the offerer".to_owned(),
        "unicode: héllo wörld — 你好, мир 🚀🦀".to_owned(),
        r#"{"type":"offer","sdp":"a line that only looks like signaling"}"#.to_owned(),
        format!("long: {}", "0123456789abcdef—ü🦀".repeat(2_500)),
    ];
    if binary {
        lines.push("binary:bytes that must stay bytes \u{1F980}".to_owned());
        lines.push(format!("binary:{}", "b".repeat(40_000)));
    }
    lines
}

/// Connects `offerer` and `answerer` through their signaling lines, sends every line in
/// `lines` one at a time and then a burst, checks every echo, ends the offerer's input and
/// expects both to exit with 0. Returns how many messages were echoed.
async fn echo_session(
    mut offerer: PipedPeer,
    mut answerer: PipedPeer,
    lines: &[String],
) -> anyhow::Result<usize> {
    let offer = offerer.read_line(SIGNALING).await?;
    ensure!(
        offer.starts_with(r#"{"type":"offer""#),
        "expected an offer line, got {offer:.120}"
    );
    answerer.write_line(&offer).await?;
    let answer = answerer.read_line(SIGNALING).await?;
    ensure!(
        answer.starts_with(r#"{"type":"answer""#),
        "expected an answer line, got {answer:.120}"
    );
    offerer.write_line(&answer).await?;

    for line in lines {
        offerer.write_line(line).await?;
        expect_echo(&mut offerer, &mut answerer, line).await?;
    }
    let burst: Vec<String> = (0..BURST).map(|i| format!("burst line {i:03}")).collect();
    for line in &burst {
        offerer.write_line(line).await?;
    }
    for line in &burst {
        expect_echo(&mut offerer, &mut answerer, line).await?;
    }

    offerer.close_stdin();
    offerer
        .expect_success(EXIT)
        .await
        .context("the offerer did not end cleanly at the end of its input")?;
    answerer
        .expect_success(EXIT)
        .await
        .context("the answerer did not end cleanly once the offerer left")?;
    Ok(lines.len() + burst.len())
}

async fn expect_echo(
    offerer: &mut PipedPeer,
    answerer: &mut PipedPeer,
    sent: &str,
) -> anyhow::Result<()> {
    let echoed = offerer.read_line(ECHO).await.with_context(|| {
        format!(
            "no echo of {sent:.60}; the answerer's stderr:\n{}",
            answerer.log_tail(30)
        )
    })?;
    ensure!(
        echoed == sent,
        "sent {} bytes ({sent:.60}), got {} bytes back ({echoed:.60})",
        sent.len(),
        echoed.len()
    );
    Ok(())
}
