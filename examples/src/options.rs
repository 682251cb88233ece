//! The command-line options both examples share, and the [`Configuration`] they give.

use std::time::Duration;

use clap::error::ErrorKind;
use strata::{Configuration, IceServer, Impairment, Loss, NetworkImpairment};

/// How a peer reaches the other: ICE servers and the candidate policy.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PeerOptions {
    /// A STUN or TURN server, repeatable: `stun:host:port`,
    /// `turn:host:port?transport=udp` (with --username and --credential), or
    /// `turn:user:pass@host:port`.
    #[arg(long = "ice-server", value_name = "URL")]
    pub ice_servers: Vec<String>,
    /// Username for the `turn:` servers that carry no credentials in their URL.
    #[arg(long, requires = "credential")]
    pub username: Option<String>,
    /// Password for the `turn:` servers that carry no credentials in their URL.
    #[arg(long, requires = "username")]
    pub credential: Option<String>,
    /// Gather loopback candidates too (off by default, as in browsers): needed when both
    /// peers run on this machine without another shared interface, e.g. in a
    /// loopback-only network namespace.
    #[arg(long)]
    pub include_loopback: bool,
    /// Gather IPv4 candidates only.
    #[arg(long)]
    pub ipv4_only: bool,
    /// Local UDP port (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Simulate a bad network at this peer's socket, both ways: drop this percentage of
    /// datagrams (0 to 100).
    #[arg(long, value_name = "PERCENT", help_heading = "Simulated network")]
    pub loss: Option<f64>,
    /// Simulate a bad network: delay every datagram this many milliseconds, both ways.
    #[arg(long, value_name = "MS", help_heading = "Simulated network")]
    pub delay_ms: Option<u64>,
    /// Simulate a bad network: vary each datagram's delay by up to this many
    /// milliseconds either side (reordering those sent closer together).
    #[arg(long, value_name = "MS", help_heading = "Simulated network")]
    pub jitter_ms: Option<u64>,
    /// Seed of the simulated network's random choices, for a run that reproduces.
    #[arg(long, default_value_t = 1, help_heading = "Simulated network")]
    pub network_seed: u64,
}

impl PeerOptions {
    /// The connection's configuration, or a usage error naming the option at fault.
    pub fn configuration(&self) -> Result<Configuration, clap::Error> {
        let mut config = Configuration::default();
        let mut credentials_used = false;
        for url in &self.ice_servers {
            let is_turn = url.trim_start().to_ascii_lowercase().starts_with("turn");
            let has_inline = url.contains('@');
            let server = if is_turn && !has_inline {
                credentials_used = true;
                IceServer::with_credentials(
                    url,
                    self.username.as_deref(),
                    self.credential.as_deref(),
                )
            } else {
                IceServer::parse(url)
            };
            let server = server.map_err(|error| {
                clap::Error::raw(
                    ErrorKind::ValueValidation,
                    format!("--ice-server {url}: {error}\n"),
                )
            })?;
            config.ice.servers.push(server);
        }
        if self.username.is_some() && !credentials_used {
            return Err(clap::Error::raw(
                ErrorKind::ArgumentConflict,
                "--username and --credential apply to turn: servers given without inline \
                 credentials, and there is none\n",
            ));
        }
        config.ice.policy.include_loopback = self.include_loopback;
        config.ice.policy.ipv6 = !self.ipv4_only;
        config.ice.port = self.port;
        config.ice.impairment = self.simulated_network()?;
        Ok(config)
    }

    /// The impairment `--loss`, `--delay-ms` and `--jitter-ms` ask for, if any.
    fn simulated_network(&self) -> Result<Option<NetworkImpairment>, clap::Error> {
        if self.loss.is_none() && self.delay_ms.is_none() && self.jitter_ms.is_none() {
            return Ok(None);
        }
        let loss = match self.loss {
            None => Loss::None,
            Some(percent) if (0.0..=100.0).contains(&percent) => Loss::Random {
                probability: percent / 100.0,
            },
            Some(percent) => {
                return Err(clap::Error::raw(
                    ErrorKind::ValueValidation,
                    format!("--loss {percent}: a percentage from 0 to 100\n"),
                ));
            }
        };
        let path = Impairment {
            loss,
            delay: Duration::from_millis(self.delay_ms.unwrap_or(0)),
            jitter: Duration::from_millis(self.jitter_ms.unwrap_or(0)),
            ..Impairment::default()
        };
        Ok(Some(NetworkImpairment::symmetric(path, self.network_seed)))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        peer: PeerOptions,
    }

    fn config(args: &[&str]) -> Result<Configuration, clap::Error> {
        let cli = Cli::try_parse_from(std::iter::once("example").chain(args.iter().copied()))?;
        cli.peer.configuration()
    }

    #[test]
    fn every_url_form_users_write_is_accepted() {
        let config = config(&[
            "--ice-server",
            "stun:stun.example.org:19302",
            "--ice-server",
            "turn:turn.example.org:3478?transport=udp",
            "--username",
            "alice",
            "--credential",
            "secret",
            "--ice-server",
            "turn:bob:p%40ss@127.0.0.1:3479",
            "--include-loopback",
        ])
        .unwrap();
        let servers = &config.ice.servers;
        assert_eq!(servers.len(), 3);
        assert_eq!(servers[0].port, 19302);
        assert_eq!(servers[0].username, None);
        assert_eq!(servers[1].username.as_deref(), Some("alice"));
        assert_eq!(servers[1].credential.as_deref(), Some("secret"));
        assert_eq!(servers[2].username.as_deref(), Some("bob"));
        assert_eq!(servers[2].credential.as_deref(), Some("p@ss"));
        assert!(config.ice.policy.include_loopback);
    }

    #[test]
    fn a_simulated_network_is_off_unless_asked_for() {
        assert_eq!(config(&[]).unwrap().ice.impairment, None);
        let impaired = config(&["--loss", "5", "--delay-ms", "40", "--jitter-ms", "10"])
            .unwrap()
            .ice
            .impairment
            .expect("an impairment");
        assert_eq!(impaired.inbound, impaired.outbound);
        assert_eq!(impaired.inbound.loss, Loss::Random { probability: 0.05 });
        assert_eq!(impaired.inbound.delay, Duration::from_millis(40));
        assert_eq!(impaired.inbound.jitter, Duration::from_millis(10));
        let error = config(&["--loss", "150"]).unwrap_err();
        assert!(error.to_string().contains("--loss 150"), "{error}");
    }

    #[test]
    fn defaults_follow_browsers() {
        let config = config(&[]).unwrap();
        assert!(config.ice.servers.is_empty());
        assert!(!config.ice.policy.include_loopback);
        assert!(config.ice.policy.ipv6);
    }

    #[test]
    fn a_turn_server_without_credentials_is_a_usage_error() {
        let error = config(&["--ice-server", "turn:turn.example.org"]).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ValueValidation);
        assert!(
            error.to_string().contains("turn:turn.example.org"),
            "{error}"
        );
    }

    #[test]
    fn credentials_without_a_turn_server_are_a_usage_error() {
        let error = config(&[
            "--ice-server",
            "stun:stun.example.org",
            "--username",
            "a",
            "--credential",
            "b",
        ])
        .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ArgumentConflict);
        let error = config(&["--username", "a"]).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::MissingRequiredArgument);
    }

    #[test]
    fn a_malformed_url_is_a_usage_error() {
        let error = config(&["--ice-server", "http://example.org"]).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ValueValidation);
    }
}
