//! The `strata` binary: the signaling server on its embedded defaults.
//!
//! `cargo run --release` listens on `127.0.0.1:8080`, serves the demo page at `/`, and
//! prints a ready-made room token and the URL that uses it. Every flag also reads a
//! `STRATA_*` environment variable; `strata --help` lists them.

use std::process::ExitCode;

use clap::Parser;
use strata_server::{Args, Server};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    raise_fd_limit();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("strata: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> ExitCode {
    let server = match Server::start(args.into_config()).await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("strata: {error}");
            return ExitCode::FAILURE;
        }
    };
    print_banner(&server);
    wait_for_signal().await;
    server.shutdown().await;
    ExitCode::SUCCESS
}

fn print_banner(server: &Server) {
    let addr = server.local_addr();
    println!(
        "strata {} listening on http://{addr}/",
        env!("CARGO_PKG_VERSION")
    );
    println!("  websocket:   ws://{addr}/ws");
    println!("  admin token: {}", server.admin_token());
    if server.dev_mode() {
        println!(
            "  dev mode: joins need no token; open http://{addr}/#room={}&autojoin=1 in two tabs",
            server.demo_room()
        );
    }
    match server.participant_token(server.demo_room()) {
        Ok(token) => {
            println!("  room token for \"{}\": {token}", server.demo_room());
            println!(
                "  open this URL in two browser tabs to chat:\n\n    http://{addr}/#room={}&token={token}\n",
                server.demo_room()
            );
            println!(
                "  or this one for a video call (run `reflect` with the first URL to see yourself):\n\n    http://{addr}/camera#room={}&token={token}\n",
                server.demo_room()
            );
        }
        Err(error) => eprintln!("strata: cannot mint the demo token: {error}"),
    }
}

/// Ctrl-C or SIGTERM.
async fn wait_for_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

/// Each connection is a file descriptor: lift the soft limit to the hard one.
fn raise_fd_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
        && soft < hard
    {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}
