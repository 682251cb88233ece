//! Runnable Strata examples: two programs a user would copy to connect to any WebRTC peer.
//!
//! - **`offer`** creates a [`strata::PeerConnection`], opens the data channel `chat`,
//!   gathers its candidates and prints its offer as one JSON line on stdout,
//!   `{"type":"offer","sdp":"..."}`. It then reads the answer, one JSON line, from stdin.
//!   Once `chat` is open, every further stdin line is sent on it as a text message, and
//!   every message that arrives on it is printed on stdout, one line each. At the end of
//!   stdin it waits until everything it sent is acknowledged, closes and exits 0; if the
//!   connection fails it says so on stderr and exits 1.
//! - **`answer`** reads an offer line from stdin, prints its answer line once gathering is
//!   complete, and echoes every message it receives, on any channel the peer opens, back
//!   on the same channel unchanged (text stays text, binary stays binary). It exits 0 once
//!   the peer has closed every channel it opened, 1 if the connection fails.
//!
//! Signaling is copy-paste and not trickled: each description is printed once gathering
//! is complete, with every candidate in it, so one line each way is all the peers need.
//! The JSON is what browsers produce with `JSON.stringify(pc.localDescription)`, so either
//! side can be a browser or any other WebRTC stack. Logs go to stderr (`RUST_LOG` sets the
//! level); stdout carries only the signaling line and the chat.
//!
//! # Running them by hand
//!
//! In two terminals on one machine (`--include-loopback` lets the peers use `127.0.0.1`,
//! which browsers and Strata leave out by default):
//!
//! ```text
//! terminal 1: cargo run -p strata-examples --bin offer -- --include-loopback
//! terminal 2: cargo run -p strata-examples --bin answer -- --include-loopback
//! ```
//!
//! 1. Copy the `{"type":"offer",...}` line that `offer` prints and paste it into `answer`.
//! 2. Copy the `{"type":"answer",...}` line that `answer` prints and paste it into `offer`.
//! 3. Type lines into `offer`: each comes back from `answer`. Ctrl-D ends the session.
//!
//! Across machines, drop `--include-loopback` and give a STUN server when there is NAT
//! between them (`--ice-server stun:stun.example.org:3478`), or a TURN server to relay
//! (`--ice-server turn:user:pass@turn.example.org:3478`, or `--ice-server
//! turn:turn.example.org --username user --credential pass`). `--help` lists every flag.
//!
//! # The pieces, for programs of your own
//!
//! The plumbing the two programs share lives in this library: [`PeerOptions`] (the
//! flags, turned into a [`strata::Configuration`]), the signaling line format
//! ([`read_description`], [`description_line`]) over a bounded [`LineReader`], and the
//! event pump ([`spawn_event_pump`]).
//!
//! ```
//! use strata::{SdpType, SessionDescription};
//! use strata_examples::{LineReader, description_line, read_description};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), strata_examples::Error> {
//! let offer = SessionDescription::offer("v=0\r\n...");
//! let line = description_line(&offer);
//! assert_eq!(line, r#"{"type":"offer","sdp":"v=0\r\n..."}"#);
//!
//! // What the other side reads from its stdin.
//! let stdin = format!("{line}\n");
//! let mut input = LineReader::new(stdin.as_bytes());
//! assert_eq!(read_description(&mut input, SdpType::Offer).await?, offer);
//! # Ok(())
//! # }
//! ```

mod error;
mod options;
mod peer;
mod signaling;

pub use error::Error;
pub use options::PeerOptions;
pub use peer::{
    CHANNEL_QUEUE, CONNECT_TIMEOUT, GATHERING_TIMEOUT, HIGH_WATER, LOW_WATER, PeerEvents, echo,
    ended, send_with_backpressure, spawn_event_pump, wait_open,
};
pub use signaling::{
    LineReader, MAX_CHAT_LINE, MAX_SIGNAL_LINE, description_line, parse_description,
    read_description, write_line,
};

/// Sends logs to stderr, at the level `RUST_LOG` names (default: `info` for the examples,
/// `warn` for the stack), so stdout carries only the protocol lines.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("warn,offer=info,answer=info,strata_examples=info")
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
