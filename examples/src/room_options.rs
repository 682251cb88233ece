//! The flags the media programs share to find their room: `--server`, `--room`,
//! `--token`, `--name`, and the peer options.

use clap::error::ErrorKind;
use strata_signal::RoomName;

use crate::media_room::RoomConfig;
use crate::options::PeerOptions;
use crate::server_url::ServerUrl;

/// Which room of which `strata` server to join, and how to connect to its participants.
#[derive(Debug, Clone, clap::Args)]
pub struct RoomOptions {
    /// The server: its WebSocket URL, or the page URL it prints for browsers
    /// (`http://host:port/#room=...&token=...`, whose room and token are used too).
    #[arg(
        long,
        env = "STRATA_EXAMPLE_SERVER",
        default_value = "ws://127.0.0.1:8080/ws",
        value_name = "URL"
    )]
    pub server: String,
    /// The room to join [default: the URL's room, else `demo`].
    #[arg(long, env = "STRATA_EXAMPLE_ROOM")]
    pub room: Option<String>,
    /// The room token the server printed (not needed by a server in `--dev` mode)
    /// [default: the URL's token].
    #[arg(long, env = "STRATA_EXAMPLE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The name the others see [default: the URL's name, else the program's].
    #[arg(long, env = "STRATA_EXAMPLE_NAME")]
    pub name: Option<String>,
    /// How to reach the participants (ICE servers, candidate policy).
    #[command(flatten)]
    pub peer: PeerOptions,
}

impl RoomOptions {
    /// The room to join, named `default_name` unless a name was given; a usage error
    /// names the option at fault.
    pub fn room_config(self, default_name: &str) -> Result<RoomConfig, clap::Error> {
        let usage =
            |message: String| clap::Error::raw(ErrorKind::ValueValidation, format!("{message}\n"));
        let server = ServerUrl::parse(&self.server).map_err(|error| usage(error.to_string()))?;
        let room = self
            .room
            .or(server.room)
            .unwrap_or_else(|| "demo".to_owned());
        let room = RoomName::new(room.clone())
            .map_err(|error| usage(format!("--room {room}: {error}")))?;
        let name = self
            .name
            .or(server.name)
            .filter(|name| !name.trim().is_empty())
            .unwrap_or_else(|| default_name.to_owned());
        Ok(RoomConfig {
            server: server.websocket,
            room,
            token: self.token.or(server.token),
            name,
            peer: self.peer.configuration()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        room: RoomOptions,
    }

    fn config(args: &[&str]) -> Result<RoomConfig, clap::Error> {
        let cli = Cli::try_parse_from(std::iter::once("example").chain(args.iter().copied()))?;
        cli.room.room_config("reflect")
    }

    #[test]
    fn a_page_url_gives_room_and_token_and_flags_win() {
        let from_url = config(&["--server", "http://127.0.0.1:9/#room=call&token=abc"]).unwrap();
        assert_eq!(from_url.server, "ws://127.0.0.1:9/ws");
        assert_eq!(from_url.room.as_str(), "call");
        assert_eq!(from_url.token.as_deref(), Some("abc"));
        assert_eq!(from_url.name, "reflect");
        let flags = config(&[
            "--server",
            "http://127.0.0.1:9/#room=call&token=abc",
            "--room",
            "other",
            "--name",
            "mirror",
        ])
        .unwrap();
        assert_eq!(flags.room.as_str(), "other");
        assert_eq!(flags.name, "mirror");
    }

    #[test]
    fn a_bad_server_url_is_a_usage_error() {
        let error = config(&["--server", "not a url"]).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ValueValidation);
    }
}
