//! `offer`: opens the data channel `chat`, prints its offer as one JSON line, reads the
//! answer line from stdin, then sends every further stdin line on `chat` and prints every
//! message that arrives on it. See the `strata_examples` crate docs for a walk-through.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use strata::{
    ChannelCloseReason, ChannelEvent, ChannelOptions, DataChannel, Message, PeerConnection, SdpType,
};
use strata_examples::{
    CONNECT_TIMEOUT, Error, GATHERING_TIMEOUT, LineReader, MAX_CHAT_LINE, PeerOptions,
    description_line, ended, read_description, send_with_backpressure, spawn_event_pump, wait_open,
    write_line,
};
use tokio::io::BufReader;

/// How long the end of stdin may wait for what was sent to be acknowledged.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Offer a data channel `chat`: signaling is one JSON line each way on stdin/stdout.
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
    strata_examples::exit_code("offer", run(config).await)
}

async fn run(config: strata::Configuration) -> anyhow::Result<()> {
    let (pc, events) = PeerConnection::new(config)
        .await
        .context("cannot create the peer connection")?;
    let mut events = spawn_event_pump(events);
    // This side takes no channels from the peer: they are refused (closed).
    drop(events.channels);
    let chat = pc
        .create_data_channel("chat", ChannelOptions::default())
        .await?;

    // Non-trickle: the offer goes out once it carries every candidate.
    pc.set_local_description_implicit().await?;
    tokio::time::timeout(GATHERING_TIMEOUT, pc.gathering_complete())
        .await
        .context("candidate gathering did not complete")?;
    let offer = pc
        .local_description()
        .await?
        .context("the connection has no local description")?;
    let mut stdout = tokio::io::stdout();
    write_line(&mut stdout, &description_line(&offer)).await?;

    let mut stdin = LineReader::new(BufReader::new(tokio::io::stdin()));
    let answer = read_description(&mut stdin, SdpType::Answer).await?;
    pc.set_remote_description(answer)
        .await
        .context("the answer was refused")?;

    tokio::select! {
        opened = tokio::time::timeout(CONNECT_TIMEOUT, wait_open(&chat)) => match opened {
            Ok(Ok(())) => tracing::info!("channel `chat` is open"),
            Ok(Err(reason)) => bail!("channel `chat` closed before it opened ({reason:?})"),
            Err(_) => bail!("no connection within {CONNECT_TIMEOUT:?}"),
        },
        state = ended(&mut events.state) => bail!("connection {state:?} before `chat` opened"),
    }

    let mut printer = tokio::spawn(print_messages(chat.clone(), stdout));
    loop {
        tokio::select! {
            line = stdin.next_line(MAX_CHAT_LINE) => match line {
                Ok(Some(line)) => tokio::select! {
                    sent = send_with_backpressure(&chat, Message::Text(line)) => {
                        sent.context("cannot send on `chat`")?;
                    }
                    state = ended(&mut events.state) => bail!("connection {state:?}"),
                },
                Ok(None) => break,
                Err(error @ (Error::LineTooLong { .. } | Error::NotUtf8)) => {
                    tracing::warn!("{error}");
                }
                Err(error) => return Err(error.into()),
            },
            printed = &mut printer => {
                return match printed.context("the printing task failed")?? {
                    Some(ChannelCloseReason::Remote) | None => {
                        tracing::info!("the peer closed `chat`");
                        pc.close().await;
                        Ok(())
                    }
                    Some(reason) => bail!("channel `chat` closed: {reason:?}"),
                };
            }
            state = ended(&mut events.state) => bail!("connection {state:?}"),
        }
    }

    // End of stdin: let what was sent reach the peer, then close.
    chat.set_buffered_amount_low_threshold(0)?;
    tokio::select! {
        drained = tokio::time::timeout(DRAIN_TIMEOUT, chat.buffered_amount_low()) => {
            drained
                .context("what was sent was not acknowledged in time")?
                .context("channel `chat` failed while draining")?;
        }
        state = ended(&mut events.state) => bail!("connection {state:?} while draining"),
    }
    chat.close().await?;
    pc.close().await;
    printer.abort();
    Ok(())
}

/// Prints every message on `chat`, one line each, until the channel closes; returns why.
async fn print_messages(
    chat: DataChannel,
    mut stdout: tokio::io::Stdout,
) -> anyhow::Result<Option<ChannelCloseReason>> {
    loop {
        match chat.recv().await {
            Some(ChannelEvent::Message(Message::Text(text))) => {
                write_line(&mut stdout, &text).await?;
            }
            Some(ChannelEvent::Message(Message::Binary(data))) => {
                // A chat has no use for bytes; show them as text where they are text.
                tracing::debug!(len = data.len(), "binary message");
                write_line(&mut stdout, &String::from_utf8_lossy(&data)).await?;
            }
            Some(ChannelEvent::Closed(reason)) => return Ok(Some(reason)),
            None => return Ok(None),
            Some(_) => {}
        }
    }
}
