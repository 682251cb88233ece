//! The `strata` binary.
//!
//! With no flags it starts on its embedded defaults. The signaling service itself
//! arrives with the signaling crate; for now the binary reports what it would serve.

use std::net::SocketAddr;

use clap::Parser;

/// Command-line flags (each also readable from a `STRATA_*` environment variable).
#[derive(Debug, Parser)]
#[command(name = "strata", version, about = "Strata WebRTC server")]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "STRATA_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
}

fn main() {
    let args = Args::parse();
    println!(
        "strata {} would serve on http://{}/",
        env!("CARGO_PKG_VERSION"),
        args.listen
    );
}
