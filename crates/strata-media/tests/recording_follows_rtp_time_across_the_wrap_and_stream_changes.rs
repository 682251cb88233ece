//! `Recorder` places media by its RTP timestamps: across the 32-bit wrap, across a change
//! of stream (SSRC) on a track, with gaps from lost audio kept; video starts at a
//! keyframe; H.264 is refused with a clear error.

use std::io::Cursor;
use std::time::Instant;

use bytes::Bytes;
use strata_media::container::{IvfReader, OggOpusConfig, OggOpusReader, Recorder};
use strata_media::{Codec, Error, MediaData, Mid, Ssrc};

fn media(mid: &str, codec: Codec, ssrc: u32, rtp_timestamp: u64, data: Vec<u8>) -> MediaData {
    MediaData {
        mid: Mid::new(mid).unwrap(),
        ssrc: Ssrc(ssrc),
        codec,
        rtp_timestamp,
        keyframe: codec.is_video() && data[0] & 1 == 0,
        data: Bytes::from(data),
        playout_at: Instant::now(),
        late: false,
    }
}

fn recorder() -> Recorder<Vec<u8>, Cursor<Vec<u8>>> {
    Recorder::new()
        .with_audio(Mid::new("a").unwrap(), Vec::new(), OggOpusConfig::new(9))
        .unwrap()
        .with_video(Mid::new("v").unwrap(), Cursor::new(Vec::new()))
}

const WRAP: u64 = 1 << 32;

#[test]
fn recording_spans_the_rtp_timestamp_wrap() {
    let mut recorder = recorder();
    // Extended timestamps as the session reports them, crossing 2^32.
    for i in 0..10u64 {
        let video = media(
            "v",
            Codec::Vp8,
            1,
            WRAP - 9000 + 3000 * i,
            vec![u8::from(i > 0), i as u8],
        );
        recorder.handle_media(&video).unwrap();
        let audio = media(
            "a",
            Codec::Opus,
            2,
            2 * WRAP - 4800 + 960 * i,
            vec![0x78, i as u8],
        );
        recorder.handle_media(&audio).unwrap();
    }
    let (ogg, ivf) = recorder.finish().unwrap();
    let ivf = ivf.unwrap().into_inner();
    let mut frames = IvfReader::new(ivf.as_slice()).unwrap();
    for i in 0..10u64 {
        let frame = frames.next_frame().unwrap().unwrap();
        assert_eq!((frame.timestamp, frame.data[1]), (3000 * i, i as u8));
    }
    let ogg = ogg.unwrap();
    let mut packets = OggOpusReader::new(ogg.as_slice()).unwrap();
    for i in 0..10u64 {
        let packet = packets.next_packet().unwrap().unwrap();
        assert_eq!((packet.start, packet.data[1]), (960 * i, i as u8));
    }
}

#[test]
fn lost_audio_leaves_a_gap_that_keeps_real_time() {
    let mut recorder = recorder();
    for i in [0u64, 1, 2, 5, 6] {
        let audio = media("a", Codec::Opus, 2, 48_000 + 960 * i, vec![0x78, i as u8]);
        recorder.handle_media(&audio).unwrap();
    }
    let (ogg, _) = recorder.finish().unwrap();
    let ogg = ogg.unwrap();
    let mut packets = OggOpusReader::new(ogg.as_slice()).unwrap();
    let mut starts = Vec::new();
    while let Some(packet) = packets.next_packet().unwrap() {
        starts.push(packet.start);
    }
    assert_eq!(starts, [0, 960, 1920, 4800, 5760]);
}

#[test]
fn a_new_stream_on_a_track_continues_the_file_time_line() {
    let mut recorder = recorder();
    for i in 0..3u64 {
        recorder
            .handle_media(&media("a", Codec::Opus, 2, 1_000_000 + 960 * i, vec![0x78]))
            .unwrap();
    }
    // The sender restarted: new SSRC, unrelated timestamps.
    for i in 0..2u64 {
        recorder
            .handle_media(&media("a", Codec::Opus, 3, 77 + 960 * i, vec![0x78]))
            .unwrap();
    }
    assert_eq!(recorder.stats().stream_changes, 1);
    let (ogg, _) = recorder.finish().unwrap();
    let ogg = ogg.unwrap();
    let mut packets = OggOpusReader::new(ogg.as_slice()).unwrap();
    let mut starts = Vec::new();
    while let Some(packet) = packets.next_packet().unwrap() {
        starts.push(packet.start);
    }
    assert_eq!(starts, [0, 960, 1920, 2880, 3840]);
}

#[test]
fn video_recording_starts_at_the_first_keyframe() {
    let mut recorder = recorder();
    recorder
        .handle_media(&media("v", Codec::Vp9, 1, 100, vec![0x01, 0]))
        .unwrap();
    recorder
        .handle_media(&media("v", Codec::Vp9, 1, 3100, vec![0x82, 1]))
        .unwrap();
    recorder
        .handle_media(&media("v", Codec::Vp9, 1, 6100, vec![0x01, 2]))
        .unwrap();
    recorder
        .handle_media(&media("other", Codec::Vp8, 5, 0, vec![0x00]))
        .unwrap();
    let stats = recorder.stats();
    assert_eq!(
        (
            stats.video_frames,
            stats.skipped_before_keyframe,
            stats.other_tracks
        ),
        (2, 1, 1)
    );
    let (_, ivf) = recorder.finish().unwrap();
    let ivf = ivf.unwrap().into_inner();
    let mut frames = IvfReader::new(ivf.as_slice()).unwrap();
    assert_eq!(&frames.header().fourcc.as_bytes(), b"VP90");
    assert_eq!(frames.next_frame().unwrap().unwrap().timestamp, 0);
    assert_eq!(frames.next_frame().unwrap().unwrap().timestamp, 3000);
}

#[test]
fn h264_is_refused_with_a_clear_error() {
    let mut recorder = recorder();
    let error = recorder
        .handle_media(&media("v", Codec::H264, 1, 0, vec![0, 0, 0, 1, 0x65]))
        .unwrap_err();
    assert_eq!(error, Error::UnsupportedForRecording(Codec::H264));
    assert!(error.to_string().contains("cannot be recorded"));
    // The track stays usable for a codec IVF holds.
    recorder
        .handle_media(&media("v", Codec::Vp8, 1, 0, vec![0x10]))
        .unwrap();
    assert_eq!(recorder.stats().video_frames, 1);
}

#[test]
fn a_video_track_without_a_keyframe_returns_its_output_untouched() {
    let mut recorder = recorder();
    recorder
        .handle_media(&media("v", Codec::Vp8, 1, 0, vec![0x11]))
        .unwrap();
    let (_, ivf) = recorder.finish().unwrap();
    assert!(ivf.unwrap().into_inner().is_empty());
}
