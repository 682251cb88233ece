//! `play-from-disk`: joins a room of a `strata` server, connects to the first other
//! participant (the one already there, or the next to join), and sends an IVF file (VP8
//! or VP9) and an Ogg/Opus file as live tracks, each frame when its timestamp comes.
//! When both files have played it closes the connection, leaves and exits. See the
//! `strata_examples` crate docs for a walk-through.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use strata::PeerConnectionState;
use strata_examples::{MediaFiles, MediaRoom, RoomConfig, RoomEvent, RoomOptions, play_file};
use strata_signal::PeerId;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// How long the connection stays open after the last sample, so that the peer's last
/// retransmission requests are still answered before the tracks end.
const LINGER: Duration = Duration::from_secs(1);

/// Send an IVF and an Ogg/Opus file to a participant as live tracks.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
#[command(group = clap::ArgGroup::new("files").required(true).multiple(true))]
struct Args {
    /// The video to send: an IVF file of VP8 or VP9 frames.
    #[arg(long, value_name = "PATH", group = "files")]
    video: Option<PathBuf>,
    /// The audio to send: an Ogg/Opus file.
    #[arg(long, value_name = "PATH", group = "files")]
    audio: Option<PathBuf>,
    #[command(flatten)]
    room: RoomOptions,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let config = args
        .room
        .room_config("play-from-disk")
        .unwrap_or_else(|error| error.exit());
    strata_examples::init_logging();
    let outcome = async {
        // A file that cannot be played fails before anyone is called.
        let files = MediaFiles::open(args.video.as_deref(), args.audio.as_deref())?;
        let server = config.server.clone();
        run(config, files)
            .await
            .with_context(|| format!("play-from-disk through {server}"))
    };
    strata_examples::exit_code("play-from-disk", outcome.await)
}

async fn run(config: RoomConfig, files: MediaFiles) -> anyhow::Result<()> {
    let mut files = Some(files);
    let mut room = MediaRoom::join(config).await?;
    let mut target: Option<PeerId> = None;
    let mut tracks = Vec::new();
    let mut playing = JoinSet::new();
    let mut started = false;
    let interrupted = loop {
        tokio::select! {
            event = room.next() => match event? {
                RoomEvent::Arrived { peer, name, .. } => {
                    let Some(to_play) = files.as_ref().filter(|_| target.is_none()) else {
                        eprintln!("not playing to {name}: one participant at a time");
                        room.decline(&peer);
                        continue;
                    };
                    let (_pc, locals) = room
                        .connect(&peer, to_play.tracks())
                        .await
                        .context("cannot create a connection")?;
                    eprintln!("calling {name}");
                    tracks = locals;
                    target = Some(peer);
                }
                RoomEvent::Connection { peer, state } if target.as_ref() == Some(&peer) => {
                    match state {
                        PeerConnectionState::Connected if !started => {
                            started = true;
                            eprintln!("connected: playing");
                            let start = Instant::now();
                            let files = files.take().map(|f| f.files).unwrap_or_default();
                            for (file, track) in files.into_iter().zip(tracks.drain(..)) {
                                playing.spawn(play_file(file, track, start));
                            }
                        }
                        PeerConnectionState::Failed => bail!("the connection failed"),
                        _ => {}
                    }
                }
                RoomEvent::Disconnected { peer } | RoomEvent::Left { peer }
                    if target.as_ref() == Some(&peer) =>
                {
                    bail!("the participant left before the files ended");
                }
                _ => {}
            },
            Some(played) = playing.join_next(), if !playing.is_empty() => {
                let stats = played.context("a playing task failed")??;
                tracing::info!(?stats, "a file ended");
                if playing.is_empty() {
                    break false;
                }
            }
            _ = tokio::signal::ctrl_c() => break true,
        }
    };
    if interrupted {
        eprintln!("interrupted");
    } else {
        eprintln!("played both files");
        tokio::time::sleep(LINGER).await;
    }
    // Closing sends RTCP BYE: the tracks end at the peer.
    let stats = room.leave().await;
    tracing::info!(?stats, "left the room");
    Ok(())
}
