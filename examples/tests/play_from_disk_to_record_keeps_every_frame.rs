//! The real `play-from-disk` and `record` binaries in one room of a real `strata` server
//! started in-process, over real UDP in a loopback-only network namespace: what `record`
//! writes holds every frame and packet of the files `play-from-disk` sent, bit for bit,
//! at the same distances in time; and `record` interrupted mid-call leaves files that
//! read back cleanly.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use strata::SampleTiming;
use strata_interop::netns::run_isolated;
use strata_interop::piped_peer::PipedPeer;
use strata_media::container::{IvfPlayer, IvfReader, OggOpusPlayer, PlayedSample};
use strata_server::{Server, ServerConfig};
use tokio::process::Command;

/// Generous bound for anything a test waits on.
const PATIENCE: Duration = Duration::from_secs(30);

const ROOM: &str = "media";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn video_fixture() -> PathBuf {
    fixture("vp8_160x120_3s.ivf")
}

fn audio_fixture() -> PathBuf {
    fixture("opus_440hz_3s.opus")
}

async fn start_server() -> Server {
    Server::start(ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..ServerConfig::default()
    })
    .await
    .expect("the strata server starts")
}

/// One of the media programs, named `name` in `ROOM` of `server`, on loopback.
fn program(binary: &str, name: &str, server: &Server, args: &[&OsStr]) -> PipedPeer {
    let token = server.participant_token(ROOM).unwrap();
    let mut command = Command::new(binary);
    command
        .args([
            "--server",
            &server.ws_url(),
            "--room",
            ROOM,
            "--token",
            &token,
        ])
        .args(["--name", name, "--include-loopback"])
        .args(args)
        .env_remove("STRATA_EXAMPLE_SERVER")
        .env_remove("STRATA_EXAMPLE_ROOM")
        .env_remove("STRATA_EXAMPLE_TOKEN")
        .env_remove("STRATA_EXAMPLE_NAME");
    PipedPeer::spawn(name, command).expect("the program starts")
}

fn record(server: &Server, audio: &Path, video: &Path) -> PipedPeer {
    let args = [
        "--audio".as_ref(),
        audio.as_os_str(),
        "--video".as_ref(),
        video.as_os_str(),
    ];
    program(env!("CARGO_BIN_EXE_record"), "recorder", server, &args)
}

fn play_from_disk(server: &Server) -> PipedPeer {
    let (video, audio) = (video_fixture(), audio_fixture());
    let args = [
        "--video".as_ref(),
        video.as_os_str(),
        "--audio".as_ref(),
        audio.as_os_str(),
    ];
    program(
        env!("CARGO_BIN_EXE_play-from-disk"),
        "player",
        server,
        &args,
    )
}

/// Every frame of an IVF file: its time from the first frame on the 90 kHz clock, and its
/// bytes.
fn video_frames(path: &Path) -> Vec<(SampleTiming, bytes::Bytes)> {
    let file = std::fs::File::open(path).unwrap();
    let mut player = IvfPlayer::new(std::io::BufReader::new(file)).unwrap();
    std::iter::from_fn(|| player.next_sample().unwrap())
        .map(|PlayedSample { sample, .. }| (sample.timing, sample.data))
        .collect()
}

/// Every packet of an Ogg/Opus file: its time from the first packet on the 48 kHz clock,
/// and its bytes.
fn audio_packets(path: &Path) -> Vec<(SampleTiming, bytes::Bytes)> {
    let file = std::fs::File::open(path).unwrap();
    let mut player = OggOpusPlayer::new(std::io::BufReader::new(file)).unwrap();
    std::iter::from_fn(|| player.next_sample().unwrap())
        .map(|PlayedSample { sample, .. }| (sample.timing, sample.data))
        .collect()
}

#[test]
fn play_from_disk_to_record_keeps_every_frame() {
    run_isolated(|| async {
        let server = start_server().await;
        let dir = tempfile::tempdir().unwrap();
        let (audio, video) = (dir.path().join("call.opus"), dir.path().join("call.ivf"));
        let mut recorder = record(&server, &audio, &video);
        recorder
            .wait_for_stderr("joined room", 1, PATIENCE)
            .await
            .unwrap();
        let mut player = play_from_disk(&server);
        player.expect_success(PATIENCE).await.unwrap();
        recorder.expect_success(PATIENCE).await.unwrap();

        let sent = video_frames(&video_fixture());
        let received = video_frames(&video);
        assert_eq!(sent.len(), 90, "the fixture's frames");
        assert_eq!(received.len(), sent.len(), "video frames recorded");
        for (index, (sent, received)) in sent.iter().zip(&received).enumerate() {
            assert_eq!(sent.0, received.0, "the time of video frame {index}");
            assert_eq!(sent.1, received.1, "the bytes of video frame {index}");
        }
        let header = *IvfReader::new(std::fs::File::open(&video).unwrap())
            .unwrap()
            .header();
        assert_eq!(header.frame_count, 90, "the frame count patched on close");
        assert_eq!((header.width, header.height), (160, 120));

        let sent = audio_packets(&audio_fixture());
        let received = audio_packets(&audio);
        assert!(sent.len() >= 150, "the fixture's packets: {}", sent.len());
        assert_eq!(received.len(), sent.len(), "audio packets recorded");
        for (index, (sent, received)) in sent.iter().zip(&received).enumerate() {
            assert_eq!(sent.0, received.0, "the time of audio packet {index}");
            assert_eq!(sent.1, received.1, "the bytes of audio packet {index}");
        }
        server.shutdown().await;
    });
}

#[test]
fn record_interrupted_mid_call_leaves_clean_files() {
    run_isolated(|| async {
        let server = start_server().await;
        let dir = tempfile::tempdir().unwrap();
        let (audio, video) = (dir.path().join("cut.opus"), dir.path().join("cut.ivf"));
        let mut recorder = record(&server, &audio, &video);
        recorder
            .wait_for_stderr("joined room", 1, PATIENCE)
            .await
            .unwrap();
        let _player = play_from_disk(&server);
        for first in ["the first audio packet", "the first video frame"] {
            recorder
                .wait_for_stderr(&format!("wrote {first}"), 1, PATIENCE)
                .await
                .unwrap();
        }
        recorder.interrupt().unwrap();
        recorder.expect_success(PATIENCE).await.unwrap();

        // What was recorded is a prefix of the files, frame for frame, in files that
        // were closed properly: the IVF header counts the frames, the Ogg stream ends.
        let sent = video_frames(&video_fixture());
        let received = video_frames(&video);
        assert!(
            !received.is_empty() && received.len() < sent.len(),
            "{} frames",
            received.len()
        );
        assert_eq!(received[..], sent[..received.len()]);
        let header = *IvfReader::new(std::fs::File::open(&video).unwrap())
            .unwrap()
            .header();
        assert_eq!(header.frame_count as usize, received.len());
        let sent = audio_packets(&audio_fixture());
        let received = audio_packets(&audio);
        assert!(!received.is_empty() && received.len() < sent.len());
        assert_eq!(received[..], sent[..received.len()]);
        server.shutdown().await;
    });
}
