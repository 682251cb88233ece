//! `chat`: joins a room through a running `strata` server and chats over peer-to-peer
//! data channels with everyone in it, browsers on the demo page included. Stdin lines go
//! to every peer; lines from peers are printed as `name: text`; the room's news goes to
//! stderr. See the `strata_examples` crate docs for a walk-through.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use clap::error::ErrorKind;
use strata_examples::{ChatConfig, ChatEnd, LineReader, PeerOptions, ServerUrl, run_chat};
use strata_signal::RoomName;
use tokio::io::BufReader;

/// Chat with everyone in a room of a `strata` server, over peer-to-peer data channels.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Args {
    /// The server: its WebSocket URL, or the page URL it prints for browsers
    /// (`http://host:port/#room=...&token=...`, whose room and token are used too).
    #[arg(
        long,
        env = "STRATA_CHAT_SERVER",
        default_value = "ws://127.0.0.1:8080/ws",
        value_name = "URL"
    )]
    server: String,
    /// The room to join [default: the URL's room, else `demo`].
    #[arg(long, env = "STRATA_CHAT_ROOM")]
    room: Option<String>,
    /// The room token the server printed (not needed by a server in `--dev` mode)
    /// [default: the URL's token].
    #[arg(long, env = "STRATA_CHAT_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The name the others see [default: the URL's name, else `$USER`].
    #[arg(long, env = "STRATA_CHAT_NAME")]
    name: Option<String>,
    #[command(flatten)]
    peer: PeerOptions,
}

impl Args {
    /// The chat's configuration, or a usage error naming the option at fault.
    fn chat_config(self) -> Result<ChatConfig, clap::Error> {
        let usage = |kind, message: String| clap::Error::raw(kind, format!("{message}\n"));
        let server = ServerUrl::parse(&self.server)
            .map_err(|error| usage(ErrorKind::ValueValidation, error.to_string()))?;
        let room = self
            .room
            .or(server.room)
            .unwrap_or_else(|| "demo".to_owned());
        let room = RoomName::new(room.clone()).map_err(|error| {
            usage(
                ErrorKind::ValueValidation,
                format!("--room {room}: {error}"),
            )
        })?;
        let name = self
            .name
            .or(server.name)
            .or_else(|| std::env::var("USER").ok())
            .filter(|name| !name.trim().is_empty())
            .unwrap_or_else(|| format!("strata-{}", std::process::id()));
        Ok(ChatConfig {
            server: server.websocket,
            room,
            token: self.token.or(server.token),
            name,
            peer: self.peer.configuration()?,
        })
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = Args::parse()
        .chat_config()
        .unwrap_or_else(|error| error.exit());
    strata_examples::init_logging();
    strata_examples::exit_code("chat", run(config).await)
}

async fn run(config: ChatConfig) -> anyhow::Result<()> {
    let server = config.server.clone();
    let input = LineReader::new(BufReader::new(tokio::io::stdin()));
    let (end, stats) = run_chat(config, input, tokio::io::stdout())
        .await
        .with_context(|| format!("chat through {server}"))?;
    match end {
        ChatEnd::InputEnded => tracing::info!(?stats, "input ended; left the room"),
        ChatEnd::Interrupted => tracing::info!(?stats, "interrupted; left the room"),
    }
    Ok(())
}
