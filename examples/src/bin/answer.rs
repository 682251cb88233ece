//! `answer`: reads an offer as one JSON line from stdin, prints its answer line once
//! gathering is complete, and echoes every message on every channel the peer opens back
//! on the same channel, unchanged. See the `strata_examples` crate docs for a walk-through.

use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Parser;
use strata::{PeerConnection, SdpType};
use strata_examples::{
    GATHERING_TIMEOUT, LineReader, PeerOptions, description_line, echo, ended, read_description,
    spawn_event_pump, write_line,
};
use tokio::io::BufReader;
use tokio::task::JoinSet;

/// Answer an offer and echo every data-channel message back to the peer: signaling is one
/// JSON line each way on stdin/stdout.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Args {
    #[command(flatten)]
    peer: PeerOptions,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let config = args
        .peer
        .configuration()
        .unwrap_or_else(|error| error.exit());
    strata_examples::init_logging();
    strata_examples::exit_code("answer", run(config).await)
}

async fn run(config: strata::Configuration) -> anyhow::Result<()> {
    let mut stdin = LineReader::new(BufReader::new(tokio::io::stdin()));
    let offer = read_description(&mut stdin, SdpType::Offer).await?;
    // Nothing more is read from stdin: it may close now.
    drop(stdin);

    let (pc, events) = PeerConnection::new(config)
        .await
        .context("cannot create the peer connection")?;
    let mut events = spawn_event_pump(events);
    pc.set_remote_description(offer)
        .await
        .context("the offer was refused")?;

    // Non-trickle: the answer goes out once it carries every candidate.
    pc.set_local_description_implicit().await?;
    tokio::time::timeout(GATHERING_TIMEOUT, pc.gathering_complete())
        .await
        .context("candidate gathering did not complete")?;
    let answer = pc
        .local_description()
        .await?
        .context("the connection has no local description")?;
    write_line(&mut tokio::io::stdout(), &description_line(&answer)).await?;

    let mut echoes = JoinSet::new();
    loop {
        tokio::select! {
            Some(channel) = events.channels.recv() => {
                let label = channel.label().to_owned();
                echoes.spawn(async move { (label, echo(channel).await) });
            }
            Some(finished) = echoes.join_next() => {
                let (label, result) = finished.context("an echo task failed")?;
                match result {
                    Ok((echoed, reason)) => {
                        tracing::info!(%label, echoed, ?reason, "channel closed");
                    }
                    Err(error) => tracing::warn!(%label, %error, "echo stopped"),
                }
                if echoes.is_empty() {
                    tracing::info!("the peer closed every channel it opened");
                    break;
                }
            }
            state = ended(&mut events.state) => {
                echoes.shutdown().await;
                match state {
                    strata::PeerConnectionState::Failed => bail!("connection failed"),
                    _ => break,
                }
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    pc.close().await;
    Ok(())
}
