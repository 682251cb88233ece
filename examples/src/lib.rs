//! Runnable Strata examples: programs a user would copy to connect to any WebRTC peer.
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
//! - **`chat`** joins a room through a running `strata` server and chats over
//!   peer-to-peer data channels with everyone in it: browsers on the server's demo page
//!   and other `chat` processes alike. Every stdin line goes to every peer; every line a
//!   peer sends is printed on stdout as `name: text`; who joins, connects and leaves is
//!   reported on stderr. See [Chatting in a room](#chatting-in-a-room).
//! - **`reflect`** joins a room the same way and sends every audio and video track each
//!   participant sends back to that participant, unchanged (no transcoding), forwarding
//!   the participant's keyframe requests to the sender. See [Media](#media).
//! - **`record`** joins a room, waits for a participant to join and offer, and records its
//!   first Opus track to an Ogg/Opus file and its first VP8 or VP9 track to an IVF file,
//!   timed by the RTP timestamps; the files are closed cleanly when the tracks end, the
//!   participant leaves, or on Ctrl-C.
//! - **`play-from-disk`** joins a room, calls the first participant (already there or
//!   the next to join) and sends an IVF file and an Ogg/Opus file as live tracks, each
//!   frame when its timestamp comes; it exits once both files have played.
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
//! # Chatting in a room
//!
//! Start the server (`cargo run --release` at the workspace root); it prints its
//! WebSocket URL and a page URL with a room token. Open the page URL in browser tabs,
//! and give the same URL to `chat` (quoted: it has a `#` and a `&`):
//!
//! ```text
//! cargo run -p strata-examples --bin chat -- --name ada \
//!     --server 'http://127.0.0.1:8080/#room=demo&token=eyJ...'
//! ```
//!
//! or name the parts: `--server ws://127.0.0.1:8080/ws --room demo --token eyJ...`
//! (also `STRATA_CHAT_SERVER`, `STRATA_CHAT_ROOM`, `STRATA_CHAT_TOKEN`,
//! `STRATA_CHAT_NAME`). A server started with `--dev` needs no token. `chat` speaks what
//! the demo page speaks: one connection per other participant, negotiated with perfect
//! negotiation (the smaller peer id is polite), the newcomer opening the `chat` channel,
//! trickled candidates, messages `{"text":"..."}` and the name in the join metadata. A
//! malformed message from a peer is reported on stderr and skipped. When the signaling
//! connection drops, the chat goes on peer-to-peer while the client reconnects; once it
//! has rejoined, it connects to everyone again. At the end of stdin it waits until what
//! it sent is acknowledged, leaves and exits 0.
//!
//! Browsers leave loopback addresses out of their candidates, and so does Strata by
//! default: between tabs and `chat` on one machine they still meet through the machine's
//! other interfaces. On a host with nothing but loopback (a network namespace, a
//! container without a network) give `--include-loopback`, as the tests do.
//!
//! # Media
//!
//! The server serves a camera page at `/camera` (it prints its URL with a room token).
//! Open it, allow the camera and microphone, and start `reflect` in the same room: your
//! picture comes back a second time, through Strata.
//!
//! ```text
//! cargo run -p strata-examples --bin reflect -- --server 'http://127.0.0.1:8080/#room=demo&token=eyJ...'
//! cargo run -p strata-examples --bin record -- --server '...' --audio call.opus --video call.ivf
//! cargo run -p strata-examples --bin play-from-disk -- --server '...' --video in.ivf --audio in.opus
//! ```
//!
//! Start `record` before the participant to record (it never offers, so it waits for one
//! that joins after it). `play-from-disk` into `record` gives back the same frames, bit
//! for bit, at the same distances in time. The media programs take `--server`, `--room`,
//! `--token` and `--name` as `chat` does (also `STRATA_EXAMPLE_SERVER`, `..._ROOM`,
//! `..._TOKEN`, `..._NAME`), and the same connection flags.
//!
//! To see how a call copes with a bad network, every program can simulate one at its
//! own socket: `--loss 5 --delay-ms 40 --jitter-ms 10` drops 5 % of the datagrams and
//! delays each by 30 to 50 ms, both ways (`--network-seed` makes a run repeat). `reflect`
//! prints what its streams lost and recovered when it leaves.
//!
//! # The pieces, for programs of your own
//!
//! The plumbing the programs share lives in this library: [`PeerOptions`] (the
//! flags, turned into a [`strata::Configuration`]), the signaling line format
//! ([`read_description`], [`description_line`]) over a bounded [`LineReader`], and the
//! event pump ([`spawn_event_pump`]). `chat` adds [`ServerUrl`] (the `--server` forms),
//! the demo page's message format ([`encode_chat`], [`decode_chat`]), one
//! perfect-negotiation [`PeerLink`] per participant, and the room that runs them
//! ([`run_chat`]). The media programs share [`RoomOptions`], [`MediaRoom`] (the room as
//! [`RoomEvent`]s) with one [`MediaLink`] per connection, [`echo_track`] (`reflect`),
//! [`CallRecorder`] (`record`) and [`MediaFiles`] with [`play_file`] (`play-from-disk`).
//! `game_sync` and `mesh_chat` start with [`join_transport_room`].
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

mod chat_message;
mod error;
mod media_link;
mod media_room;
mod media_summary;
mod options;
mod peer;
mod peer_link;
mod playback;
mod recording;
mod room;
mod room_options;
mod server_url;
mod signaling;
mod track_echo;

pub use chat_message::{
    CHAT_LABEL, MAX_CHAT_MESSAGE, MAX_NAME_CHARS, decode_chat, display_name, encode_chat,
    join_metadata, printable,
};
pub use error::Error;
pub use media_link::{MediaLink, MediaLinkEvent, MediaLinkEventKind};
pub use media_room::{MediaRoom, MediaRoomStats, RoomConfig, RoomEvent};
pub use media_summary::media_summary;
pub use options::PeerOptions;
pub use peer::{
    CHANNEL_QUEUE, CONNECT_TIMEOUT, GATHERING_TIMEOUT, HIGH_WATER, LOW_WATER, PeerEvents, echo,
    ended, send_with_backpressure, spawn_event_pump, wait_open,
};
pub use peer_link::{
    FLUSH_TIMEOUT, LinkEvent, LinkEventKind, LinkId, LinkSetup, OUTGOING_QUEUE, Outgoing, PeerLink,
    Refused, SIGNALING_QUEUE, is_polite,
};
pub use playback::{MediaFile, MediaFiles, PLAYBACK_STREAM, PlaybackStats, play_file};
pub use recording::{CallRecorder, RECORD_QUEUE, RecordingPaths, RecordingStats, forward_samples};
pub use room::{ChatConfig, ChatEnd, ChatStats, LINK_EVENT_QUEUE, run_chat};
pub use room_options::RoomOptions;
pub use server_url::ServerUrl;
pub use signaling::{
    LineReader, MAX_CHAT_LINE, MAX_SIGNAL_LINE, description_line, parse_description,
    read_description, write_line,
};
pub use track_echo::{EchoStats, echo_track};

/// Creates a [`strata::Transport`], joins its room and says so on stderr (with the peer
/// id the room knows it by): the start of `game_sync` and `mesh_chat`.
pub async fn join_transport_room(
    config: strata::TransportConfig,
) -> anyhow::Result<(strata::Transport, strata::TransportEvents)> {
    use anyhow::Context as _;
    let (room, server) = (config.room.clone(), config.signaling_url.clone());
    let (transport, events) = strata::Transport::new(config)?;
    transport
        .start()
        .await
        .with_context(|| format!("joining {room} at {server}"))?;
    let me = transport
        .peer_id()
        .map(|p| p.to_string())
        .unwrap_or_default();
    eprintln!("joined room {room} as {me}");
    Ok((transport, events))
}

/// The process's exit status for a program's outcome: success, or failure with the error
/// and its causes printed to stderr after the program's name.
pub fn exit_code(program: &str, outcome: anyhow::Result<()>) -> std::process::ExitCode {
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{program}: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Sends logs to stderr, at the level `RUST_LOG` names (default: `info` for the examples,
/// `warn` for the stack), so stdout carries only the protocol lines.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(
            "warn,offer=info,answer=info,chat=info,reflect=info,record=info,play_from_disk=info,strata_examples=info",
        )
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
