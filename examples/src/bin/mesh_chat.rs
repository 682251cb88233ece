//! `mesh_chat`: the `chat` program on a [`strata::Transport`]. It joins a room of a
//! `strata` server and chats with everyone in it — other `mesh_chat` or `chat` processes
//! and browsers on the server's demo page alike (same channel label, same
//! `{"text": ...}` messages). Stdin lines go to every peer; lines from peers are printed
//! on stdout as `peer: text`; who connects and leaves goes to stderr. At the end of stdin
//! it shuts the transport down (telling every peer) and exits.
//!
//! ```text
//! cargo run --release -p strata-server -- --dev &
//! cargo run -p strata-examples --bin mesh_chat -- --name ada --include-loopback
//! ```

use std::process::ExitCode;

use clap::Parser;
use strata::{TransportConfig, TransportEvent};
use strata_examples::{
    LineReader, MAX_CHAT_LINE, decode_chat, encode_chat, join_transport_room, printable,
};
use tokio::io::{AsyncWriteExt, BufReader};

/// Chat with everyone in a room of a `strata` server through a Transport mesh.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Args {
    /// The server's WebSocket URL.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws", value_name = "URL")]
    server: String,
    /// The room to join.
    #[arg(long, default_value = "demo")]
    room: String,
    /// The room token (not needed by a server in `--dev` mode).
    #[arg(long)]
    token: Option<String>,
    /// The name the others see.
    #[arg(long)]
    name: Option<String>,
    /// Our peer id [default: a random one].
    #[arg(long)]
    id: Option<String>,
    /// Gather `127.0.0.1` candidates (peers on this machine only).
    #[arg(long)]
    include_loopback: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    strata_examples::init_logging();
    strata_examples::exit_code("mesh_chat", run(args).await)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let mut config = TransportConfig::new(args.server.clone(), args.room.clone());
    config.token = args.token;
    config.name = args.name;
    config.peer_id = args.id;
    config.include_loopback = args.include_loopback;
    let (transport, mut events) = join_transport_room(config).await?;
    let mut input = LineReader::new(BufReader::new(tokio::io::stdin()));
    let mut stdout = tokio::io::stdout();
    loop {
        tokio::select! {
            line = input.next_line(MAX_CHAT_LINE) => match line {
                Ok(Some(line)) => match encode_chat(&line) {
                    Ok(json) => {
                        let stats = transport.broadcast_text(json).await;
                        if stats.sent == 0 {
                            eprintln!("nobody is connected yet: the line was not sent");
                        }
                    }
                    Err(error) => eprintln!("{error}"),
                },
                Ok(None) => break,
                Err(error) => eprintln!("{error}"),
            },
            event = events.recv() => match event {
                Some(TransportEvent::PeerConnected { peer }) => {
                    eprintln!("connected to {peer} peer-to-peer");
                }
                Some(TransportEvent::Message { peer, message }) => match decode_chat(&message) {
                    Ok(text) => {
                        let line = format!("{peer}: {}\n", printable(&text));
                        stdout.write_all(line.as_bytes()).await?;
                        stdout.flush().await?;
                    }
                    Err(error) => eprintln!("{peer} sent something else: {error}"),
                },
                Some(TransportEvent::PeerDisconnected { peer, reason }) => {
                    eprintln!("{peer} left ({reason:?})");
                }
                Some(TransportEvent::PeerFailed { peer, error }) => eprintln!("{peer}: {error}"),
                Some(TransportEvent::SignalingLost) => {
                    eprintln!("lost the signaling server; the chat goes on peer-to-peer");
                }
                Some(_) => {}
                None => break,
            },
        }
    }
    transport.shutdown().await;
    Ok(())
}
