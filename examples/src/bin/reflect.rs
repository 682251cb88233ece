//! `reflect`: joins a room of a `strata` server and sends every track each participant
//! sends back to that participant, unchanged: open the server's page in camera mode and
//! see yourself. Keyframe requests travel back to the sender. See the `strata_examples`
//! crate docs for a walk-through.

use std::collections::HashMap;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use strata::{
    PeerConnection, PeerConnectionState, TrackKind, TrackLocal, TrackLocalInit, TrackRemote,
};
use strata_examples::{EchoStats, MediaRoom, RoomEvent, RoomOptions, echo_track, media_summary};
use strata_signal::PeerId;
use tokio::task::JoinSet;

/// The stream id of the echoed tracks (`a=msid`).
const ECHO_STREAM: &str = "reflect";

/// Send every participant's audio and video back to them.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Args {
    #[command(flatten)]
    room: RoomOptions,
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = Args::parse()
        .room
        .room_config("reflect")
        .unwrap_or_else(|error| error.exit());
    strata_examples::init_logging();
    let server = config.server.clone();
    let outcome = run(config)
        .await
        .with_context(|| format!("reflect through {server}"));
    strata_examples::exit_code("reflect", outcome)
}

/// A participant we reflect to.
struct Reflected {
    pc: PeerConnection,
    /// Tracks we offered before the participant's arrived (we were the newcomer), each
    /// taken by the participant's track that lands on its section.
    offered: Vec<TrackLocal>,
}

async fn run(config: strata_examples::RoomConfig) -> anyhow::Result<()> {
    let mut room = MediaRoom::join(config).await?;
    let mut peers: HashMap<PeerId, Reflected> = HashMap::new();
    let mut echoes: JoinSet<(PeerId, TrackKind, EchoStats)> = JoinSet::new();
    let end = loop {
        tokio::select! {
            event = room.next() => match event? {
                RoomEvent::Arrived { peer, name, newcomer } => {
                    // As the newcomer we make the first offer: one audio and one video
                    // section, sendrecv, for the participant's tracks and their echo.
                    // Otherwise its offer brings the sections, and an echo track is added
                    // to each as its track arrives.
                    let tracks = if newcomer {
                        vec![
                            TrackLocalInit::new(TrackKind::Audio, ECHO_STREAM, "echo-audio"),
                            TrackLocalInit::new(TrackKind::Video, ECHO_STREAM, "echo-video"),
                        ]
                    } else {
                        Vec::new()
                    };
                    match room.connect(&peer, tracks).await {
                        Ok((pc, offered)) => {
                            eprintln!("reflecting to {name}");
                            peers.insert(peer, Reflected { pc, offered });
                        }
                        Err(error) => {
                            eprintln!("cannot connect to {name}: {error}");
                            room.decline(&peer);
                        }
                    }
                }
                RoomEvent::Track { peer, track } => {
                    let Some(reflected) = peers.get_mut(&peer) else { continue };
                    let offered = reflected
                        .offered
                        .iter()
                        .position(|local| local.mid().as_ref() == Some(track.mid()))
                        .map(|index| reflected.offered.swap_remove(index));
                    eprintln!("{peer} sends {:?} on mid {}: echoing it", track.kind(), track.mid());
                    let pc = reflected.pc.clone();
                    echoes.spawn(async move {
                        let kind = track.kind();
                        let stats = reflect(pc, track, offered).await;
                        (peer, kind, stats)
                    });
                }
                RoomEvent::Connection { peer, state } => {
                    if matches!(state, PeerConnectionState::Connected | PeerConnectionState::Failed) {
                        eprintln!("connection to {peer}: {}", format!("{state:?}").to_lowercase());
                    }
                }
                RoomEvent::Disconnected { peer } | RoomEvent::Left { peer } => {
                    peers.remove(&peer);
                }
                _ => {}
            },
            Some(done) = echoes.join_next() => {
                if let Ok((peer, kind, stats)) = done {
                    eprintln!("the {kind:?} echo to {peer} ended: {stats:?}");
                }
            }
            _ = tokio::signal::ctrl_c() => break "interrupted",
        }
    };
    for (peer, reflected) in &peers {
        if let Ok(stats) = reflected.pc.stats().await {
            eprintln!("media stats for {peer}: {}", media_summary(&stats.media));
        }
    }
    let stats = room.leave().await;
    tracing::info!(?stats, "{end}; left the room");
    Ok(())
}

/// Echoes `track` on `offered` (our track on its section) or on a new track, which takes
/// the section the participant's offer created (one more negotiation, which the link
/// runs). The new track sends the codec the participant sends, so nothing is transcoded.
/// When the participant's track ends, the echo track is removed.
async fn reflect(pc: PeerConnection, track: TrackRemote, offered: Option<TrackLocal>) -> EchoStats {
    let local = if let Some(local) = offered {
        local
    } else {
        // The codec is known from the first sample; samples before the new track is
        // negotiated could not be sent anyway.
        let Some(first) = track.read_sample().await else {
            return EchoStats::default();
        };
        let init = TrackLocalInit::new(track.kind(), ECHO_STREAM, format!("echo-{}", track.mid()))
            .with_codecs(vec![first.codec]);
        match pc.add_track(init).await {
            Ok(local) => local,
            Err(error) => {
                tracing::warn!(%error, "cannot add an echo track");
                return EchoStats::default();
            }
        }
    };
    let stats = echo_track(track, local.clone()).await;
    let _ = pc.remove_track(&local).await;
    stats
}
