//! `record`: joins a room of a `strata` server, waits for a participant to join and offer
//! (it never offers itself), and records what that participant sends: its first Opus
//! track to an Ogg/Opus file, its first VP8 or VP9 track to an IVF file, timed by the
//! RTP timestamps. It stops when the participant's tracks end, the participant leaves, or
//! on Ctrl-C, and closes both files cleanly (Ogg end-of-stream page, IVF frame count).
//! See the `strata_examples` crate docs for a walk-through.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::Parser;
use strata::{PeerConnection, PeerConnectionState};
use strata_examples::{
    CallRecorder, MediaRoom, RECORD_QUEUE, RecordingPaths, RoomConfig, RoomEvent, RoomOptions,
    forward_samples, media_summary,
};
use strata_signal::PeerId;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// How long the tracks may take to hand over what they still hold once the connection
/// closes.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Record the audio and video a participant sends into Ogg/Opus and IVF files.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Args {
    /// Where to write the audio (Ogg/Opus).
    #[arg(long, default_value = "recording.opus", value_name = "PATH")]
    audio: PathBuf,
    /// Where to write the video (IVF; VP8 or VP9).
    #[arg(long, default_value = "recording.ivf", value_name = "PATH")]
    video: PathBuf,
    #[command(flatten)]
    room: RoomOptions,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let paths = RecordingPaths {
        audio: args.audio,
        video: args.video,
    };
    let config = args
        .room
        .room_config("record")
        .unwrap_or_else(|error| error.exit());
    strata_examples::init_logging();
    let server = config.server.clone();
    let outcome = run(config, paths)
        .await
        .with_context(|| format!("record through {server}"));
    strata_examples::exit_code("record", outcome)
}

/// The participant being recorded.
struct Recorded {
    peer: PeerId,
    name: String,
    /// Our connection to them, for its stats when the recording ends.
    pc: PeerConnection,
}

async fn run(config: RoomConfig, paths: RecordingPaths) -> anyhow::Result<()> {
    // The Ogg serial number only has to differ from other streams' (RFC 3533 §6).
    let serial = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos() ^ std::process::id());
    let mut recording = CallRecorder::new(paths.clone(), serial);
    let mut room = MediaRoom::join(config).await?;
    let (samples_tx, mut samples) = mpsc::channel(RECORD_QUEUE);
    let mut readers = JoinSet::new();
    let mut recorded: Option<Recorded> = None;
    let end = loop {
        tokio::select! {
            event = room.next() => match event? {
                RoomEvent::Arrived { peer, name, newcomer } => {
                    if recorded.is_some() || newcomer {
                        // Someone who was here before us waits for our offer, which a
                        // recorder does not make; one participant is recorded at a time.
                        eprintln!("not recording {name}: record waits for one participant to join and offer");
                        room.decline(&peer);
                        continue;
                    }
                    let (pc, _) = room.connect(&peer, Vec::new()).await.context("cannot create a connection")?;
                    eprintln!("recording {name}");
                    recorded = Some(Recorded { peer, name, pc });
                }
                RoomEvent::Track { peer, track } if recorded.as_ref().is_some_and(|r| r.peer == peer) => {
                    let kind = track.kind();
                    if recording.track(&track)? {
                        eprintln!("recording its {kind:?} track (mid {})", track.mid());
                        readers.spawn(forward_samples(track, samples_tx.clone()));
                    } else {
                        eprintln!("ignoring another {kind:?} track (mid {})", track.mid());
                    }
                }
                RoomEvent::Connection { peer, state } if recorded.as_ref().is_some_and(|r| r.peer == peer) => {
                    if matches!(state, PeerConnectionState::Connected | PeerConnectionState::Failed) {
                        eprintln!("connection: {}", format!("{state:?}").to_lowercase());
                    }
                }
                RoomEvent::Disconnected { peer } | RoomEvent::Left { peer }
                    if recorded.as_ref().is_some_and(|r| r.peer == peer) => break "the participant left",
                _ => {}
            },
            Some(media) = samples.recv() => {
                let before = recording.stats().recorder;
                recording.media(&media)?;
                let after = recording.stats().recorder;
                if before.audio_packets == 0 && after.audio_packets == 1 {
                    eprintln!("wrote the first audio packet");
                }
                if before.video_frames == 0 && after.video_frames == 1 {
                    eprintln!("wrote the first video frame");
                }
            }
            Some(_) = readers.join_next(), if !readers.is_empty() => {
                if readers.is_empty() {
                    break "the participant's tracks ended";
                }
            }
            _ = tokio::signal::ctrl_c() => break "interrupted",
        }
    };
    eprintln!("{end}; finishing the recording");
    if let Some(recorded) = &recorded
        && let Ok(stats) = recorded.pc.stats().await
    {
        eprintln!(
            "media stats for {}: {}",
            recorded.name,
            media_summary(&stats.media)
        );
    }
    // Closing the connections ends the tracks; what they still hold is written.
    let room_stats = room.leave().await;
    drop(samples_tx);
    let drain = async {
        while let Some(media) = samples.recv().await {
            recording.media(&media)?;
        }
        anyhow::Ok(())
    };
    if let Ok(result) = tokio::time::timeout(DRAIN_TIMEOUT, drain).await {
        result?;
    } else {
        tracing::warn!("the tracks did not end within {DRAIN_TIMEOUT:?}");
    }
    readers.shutdown().await;
    let stats = recording.finish()?;
    tracing::info!(?room_stats, "left the room");
    eprintln!(
        "recorded {} audio packets to {} and {} video frames to {} ({stats:?})",
        stats.recorder.audio_packets,
        paths.audio.display(),
        stats.recorder.video_frames,
        paths.video.display(),
    );
    Ok(())
}
