//! A two-session call (VP8 and Opus over a jittery network in virtual time) is recorded
//! from the receiver's `Event::Media` with `Recorder`; the files read back with exactly
//! the frames and packets the sender wrote, at their RTP times. Played into a second
//! call with `IvfPlayer` and `OggOpusPlayer`, they arrive identical again.

mod pair;

use std::io::Cursor;
use std::time::{Duration, Instant};

use bytes::Bytes;
use pair::Pair;
use strata_media::container::{
    IvfPlayer, IvfReader, OggOpusConfig, OggOpusPlayer, OggOpusReader, Recorder,
};
use strata_media::{
    Codec, Event, LocalTrackConfig, MediaData, MediaSession, Mid, PayloadType, RemoteTrackConfig,
    Sample, SessionConfig,
};
use strata_netem::Impairment;

const FRAMES: usize = 60;
const PACKETS_PER_FRAME: usize = 2;

fn call(seed: u64) -> (Pair, Mid, Mid) {
    let start = Instant::now();
    let audio = Mid::new("a").unwrap();
    let video = Mid::new("v").unwrap();
    let opus = PayloadType::new(111).unwrap();
    let vp8 = PayloadType::new(96).unwrap();
    let mut sender = MediaSession::new(SessionConfig::with_seed(seed), start).unwrap();
    let mut receiver = MediaSession::new(SessionConfig::with_seed(seed + 1), start).unwrap();
    sender
        .add_local_track(LocalTrackConfig::new(audio.clone(), Codec::Opus, opus))
        .unwrap();
    sender
        .add_local_track(LocalTrackConfig::new(video.clone(), Codec::Vp8, vp8))
        .unwrap();
    receiver
        .add_remote_track(RemoteTrackConfig::new(audio.clone(), Codec::Opus, opus))
        .unwrap();
    receiver
        .add_remote_track(RemoteTrackConfig::new(video.clone(), Codec::Vp8, vp8))
        .unwrap();
    let impairment = Impairment {
        delay: Duration::from_millis(30),
        jitter: Duration::from_millis(8),
        ..Impairment::default()
    };
    (
        Pair::new(start, sender, receiver, &impairment, seed),
        audio,
        video,
    )
}

/// A VP8 frame: a 640x480 keyframe header for the first, inter frames after.
fn vp8_frame(i: usize) -> Vec<u8> {
    let mut frame = if i == 0 {
        vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]
    } else {
        vec![0x11, i as u8]
    };
    frame.extend((0..1500 + i * 37).map(|b| (b * 7 + i) as u8));
    frame
}

/// An Opus packet: TOC 0x78 (CELT fullband, one 20 ms frame) and varied bytes.
fn opus_packet(i: usize) -> Vec<u8> {
    let mut packet = vec![0x78];
    packet.extend((0..60 + i % 50).map(|b| (b ^ i) as u8));
    packet
}

fn received(pair: &Pair) -> Vec<MediaData> {
    pair.b
        .events
        .iter()
        .filter_map(|event| match event {
            Event::Media(media) => Some(media.clone()),
            _ => None,
        })
        .collect()
}

fn record(media: &[MediaData], audio: &Mid, video: &Mid) -> (Vec<u8>, Vec<u8>) {
    let mut recorder = Recorder::new()
        .with_audio(audio.clone(), Vec::new(), OggOpusConfig::new(0x00C0_FFEE))
        .unwrap()
        .with_video(video.clone(), Cursor::new(Vec::new()));
    for media in media {
        recorder.handle_media(media).unwrap();
    }
    let stats = recorder.stats();
    assert_eq!(stats.video_frames as usize, FRAMES);
    assert_eq!(stats.audio_packets as usize, FRAMES * PACKETS_PER_FRAME);
    let (ogg, ivf) = recorder.finish().unwrap();
    (ogg.unwrap(), ivf.unwrap().into_inner())
}

#[test]
fn a_recorded_call_reads_back_bit_identical() {
    let (mut pair, audio, video) = call(11);
    for i in 0..FRAMES {
        let frame = Sample::new(Bytes::from(vp8_frame(i)), Duration::from_millis(40));
        pair.a
            .session
            .write_sample(pair.now, &video, &frame)
            .unwrap();
        for j in 0..PACKETS_PER_FRAME {
            let packet = opus_packet(i * PACKETS_PER_FRAME + j);
            let sample = Sample::new(Bytes::from(packet), Duration::from_millis(20));
            pair.a
                .session
                .write_sample(pair.now, &audio, &sample)
                .unwrap();
            pair.run_for(Duration::from_millis(20));
        }
    }
    pair.run_for(Duration::from_secs(1));
    let (ogg, ivf) = record(&received(&pair), &audio, &video);

    let mut frames = IvfReader::new(ivf.as_slice()).unwrap();
    assert_eq!(frames.header().frame_count as usize, FRAMES);
    assert_eq!((frames.header().width, frames.header().height), (640, 480));
    for i in 0..FRAMES {
        let frame = frames
            .next_frame()
            .unwrap()
            .expect("every frame was recorded");
        assert_eq!(frame.data, vp8_frame(i), "frame {i}");
        assert_eq!(
            frame.timestamp,
            3600 * i as u64,
            "40 ms on the 90 kHz clock"
        );
    }
    assert!(frames.next_frame().unwrap().is_none());

    let mut packets = OggOpusReader::new(ogg.as_slice()).unwrap();
    for i in 0..FRAMES * PACKETS_PER_FRAME {
        let packet = packets
            .next_packet()
            .unwrap()
            .expect("every packet was recorded");
        assert_eq!(packet.data, opus_packet(i), "packet {i}");
        assert_eq!((packet.start, packet.duration), (960 * i as u64, 960));
    }
    assert!(packets.next_packet().unwrap().is_none());
    assert_eq!(packets.stats().lost_pages, 0);
}

#[test]
fn recorded_files_played_into_a_call_arrive_identical() {
    let (mut pair, audio, video) = call(21);
    for i in 0..FRAMES {
        let frame = Sample::new(Bytes::from(vp8_frame(i)), Duration::from_millis(40));
        pair.a
            .session
            .write_sample(pair.now, &video, &frame)
            .unwrap();
        for j in 0..PACKETS_PER_FRAME {
            let packet = opus_packet(i * PACKETS_PER_FRAME + j);
            let sample = Sample::new(Bytes::from(packet), Duration::from_millis(20));
            pair.a
                .session
                .write_sample(pair.now, &audio, &sample)
                .unwrap();
            pair.run_for(Duration::from_millis(20));
        }
    }
    pair.run_for(Duration::from_secs(1));
    let first = received(&pair);
    let (ogg, ivf) = record(&first, &audio, &video);

    // Play both files into a fresh call, paced by the samples' own times.
    let (mut replay, audio, video) = call(31);
    let mut ivf = IvfPlayer::new(ivf.as_slice()).unwrap();
    assert_eq!(ivf.codec(), Some(Codec::Vp8));
    let mut ogg = OggOpusPlayer::new(ogg.as_slice()).unwrap();
    let start = replay.now;
    let mut next_video = ivf.next_sample().unwrap();
    let mut next_audio = ogg.next_sample().unwrap();
    while next_video.is_some() || next_audio.is_some() {
        let due = |s: &Option<strata_media::container::PlayedSample>| {
            s.as_ref().map_or(Duration::MAX, |s| s.at)
        };
        let (mid, played) = if due(&next_video) <= due(&next_audio) {
            let played = next_video.take().unwrap();
            next_video = ivf.next_sample().unwrap();
            (&video, played)
        } else {
            let played = next_audio.take().unwrap();
            next_audio = ogg.next_sample().unwrap();
            (&audio, played)
        };
        replay.run_until(start + played.at);
        replay
            .a
            .session
            .write_sample(replay.now, mid, &played.sample)
            .unwrap();
    }
    replay.run_for(Duration::from_secs(1));
    let second = received(&replay);

    let payloads = |media: &[MediaData], codec: Codec| -> Vec<(Bytes, u64)> {
        let mut out: Vec<_> = media
            .iter()
            .filter(|m| m.codec == codec)
            .map(|m| (m.data.clone(), m.rtp_timestamp))
            .collect();
        let base = out.first().map_or(0, |(_, t)| *t);
        for (_, t) in &mut out {
            *t -= base;
        }
        out
    };
    for codec in [Codec::Vp8, Codec::Opus] {
        let (sent, replayed) = (payloads(&first, codec), payloads(&second, codec));
        assert_eq!(sent.len(), replayed.len(), "{codec:?}");
        assert!(
            sent == replayed,
            "{codec:?} payloads or relative timestamps differ"
        );
    }
}
