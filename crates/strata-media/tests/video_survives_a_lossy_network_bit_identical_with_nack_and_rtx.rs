//! Two sessions over a seeded network with 5 % loss, 40 ms delay, 10 ms jitter,
//! reordering and duplication: VP8 frames written on one side come out bit-identical on
//! the other, and NACK + RTX recovers at least 95 % of the lost packets.

mod pair;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use bytes::Bytes;
use pair::{Datagram, Pair};
use strata_media::rtp::{ExtensionIds, RtpPacket};
use strata_media::{
    Codec, Event, LocalTrackConfig, MediaSession, Mid, PayloadType, RemoteCodec, RemoteTrackConfig,
    RtxConfig, Sample, SampleTiming, SessionConfig, Ssrc,
};
use strata_netem::{Impairment, Loss};

const IDS: ExtensionIds = ExtensionIds {
    mid: Some(1),
    abs_send_time: Some(2),
    transport_cc: Some(3),
};

fn pt(v: u8) -> PayloadType {
    PayloadType::new(v).unwrap()
}

/// Frame `i` of a seeded VP8-like stream; a keyframe has its P bit clear and is larger.
fn frame(i: u64, seed: u64, keyframe: bool) -> Bytes {
    let mut state = seed ^ (i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as u8
    };
    let len = 400 + usize::from(next()) * 20 + if keyframe { 8000 } else { 0 };
    let mut data: Vec<u8> = (0..len).map(|_| next()).collect();
    data[0] = if keyframe {
        data[0] & 0xFE
    } else {
        data[0] | 1
    };
    Bytes::from(data)
}

fn sessions(start: Instant) -> (MediaSession, MediaSession, Mid) {
    let mid = Mid::new("video").unwrap();
    let mut a = MediaSession::new(SessionConfig::with_seed(11), start).unwrap();
    let mut b = MediaSession::new(SessionConfig::with_seed(22), start).unwrap();
    let mut local = LocalTrackConfig::new(mid.clone(), Codec::Vp8, pt(96));
    local.rtx = Some(RtxConfig {
        payload_type: pt(97),
        ssrc: None,
    });
    local.extensions = IDS;
    a.add_local_track(local).unwrap();
    let mut remote = RemoteTrackConfig::new(mid.clone(), Codec::Vp8, pt(96));
    remote.codecs = vec![RemoteCodec {
        codec: Codec::Vp8,
        payload_type: pt(96),
        rtx_payload_type: Some(pt(97)),
    }];
    remote.extensions = IDS;
    b.add_remote_track(remote).unwrap();
    (a, b, mid)
}

/// (sequence number, timestamp) of the original packets of `ssrc` among `datagrams`.
fn originals(datagrams: &[Datagram], ssrc: Ssrc) -> Vec<(u16, u32)> {
    datagrams
        .iter()
        .filter_map(|d| match d {
            Datagram::Rtp(bytes) => RtpPacket::parse(bytes).ok(),
            Datagram::Rtcp(_) => None,
        })
        .filter(|p| p.header.ssrc == ssrc)
        .map(|p| (p.header.sequence_number.0, p.header.timestamp))
        .collect()
}

#[test]
fn video_frames_come_out_bit_identical_and_nack_rtx_recovers_lost_packets() {
    // Several network seeds, so the recovery figure is not one lucky draw.
    for seed in [2024, 1, 7, 42] {
        lossy_video(seed);
    }
}

fn lossy_video(seed: u64) {
    let start = Instant::now();
    let (a, b, mid) = sessions(start);
    let impairment = Impairment {
        loss: Loss::Random { probability: 0.05 },
        delay: Duration::from_millis(40),
        jitter: Duration::from_millis(10),
        reorder: 0.01,
        duplicate: 0.01,
        ..Impairment::default()
    };
    let mut pair = Pair::new(start, a, b, &impairment, seed);
    let frames = 600u64;
    let mut sent = BTreeMap::new();
    let mut events_seen = 0;
    for i in 0..frames {
        pair.run_until(start + Duration::from_millis(i * 1000 / 30));
        // The encoder: a keyframe every 3 s, and whenever the receiver asked for one.
        let asked = pair.a.events[events_seen..]
            .iter()
            .any(|e| matches!(e, Event::KeyframeRequested { .. }));
        events_seen = pair.a.events.len();
        let keyframe = i.is_multiple_of(90) || asked;
        let data = frame(i, 7, keyframe);
        sent.insert(i, (data.clone(), keyframe));
        let sample = Sample {
            data,
            timing: SampleTiming::RtpTime((i * 3000) as u32),
        };
        pair.a
            .session
            .write_sample(pair.now, &mid, &sample)
            .unwrap();
    }
    pair.run_for(Duration::from_secs(2));

    // Every frame that came out is the frame that went in.
    let received: Vec<_> = pair.b.media();
    // Frame i carries timestamp base + 3000 i; the first packet sent gives the base.
    let base = pair
        .a
        .sent
        .iter()
        .find_map(|d| match d {
            Datagram::Rtp(bytes) => Some(RtpPacket::parse(bytes).unwrap().header.timestamp),
            Datagram::Rtcp(_) => None,
        })
        .unwrap();
    for media in &received {
        let index = u64::from((media.rtp_timestamp as u32).wrapping_sub(base) / 3000);
        let (data, keyframe) = &sent[&index];
        assert_eq!(&media.data, data, "frame {index}");
        assert_eq!(media.keyframe, *keyframe, "frame {index}");
    }
    assert!(received[0].keyframe);
    assert!(
        received.len() as u64 >= frames * 97 / 100,
        "only {} of {frames} frames",
        received.len()
    );

    // NACK + RTX recovered the lost packets.
    let (media_ssrc, _) = pair.a.session.local_ssrcs(&mid).unwrap();
    let sent_packets: HashSet<(u16, u32)> =
        originals(&pair.a.sent, media_ssrc).into_iter().collect();
    let delivered: HashSet<(u16, u32)> = originals(&pair.b.received, media_ssrc)
        .into_iter()
        .collect();
    let lost: Vec<_> = sent_packets.difference(&delivered).collect();
    // A lost packet was recovered in time when its frame came out (a frame is released
    // only when every packet of it is there).
    let output_timestamps: HashSet<u32> = received.iter().map(|m| m.rtp_timestamp as u32).collect();
    let recovered = lost
        .iter()
        .filter(|(_, ts)| output_timestamps.contains(ts))
        .count();
    let lost = lost.len();
    let stats = pair.b.session.stats();
    let inbound = &stats.inbound[0];
    assert!(lost >= 50, "the network lost only {lost} packets");
    assert!(
        recovered * 100 >= lost * 95,
        "recovered {recovered} of {lost} lost packets"
    );
    assert!(inbound.packets_recovered >= recovered as u64);
    assert!(inbound.nack_count > 0);
    let outbound = &pair.a.session.stats().outbound[0];
    assert!(outbound.retransmitted_packets_sent >= inbound.packets_recovered);
    assert_eq!(outbound.frames_sent, frames);
    eprintln!(
        "seed {seed}: originals {}, lost {lost}, recovered in time {recovered}, frames {}/{frames}, nacks {}, \
         rtx sent {}, suppressed {}",
        sent_packets.len(),
        received.len(),
        inbound.nack_count,
        outbound.retransmitted_packets_sent,
        outbound.retransmissions_suppressed
    );
}

#[test]
fn reports_measure_loss_jitter_and_round_trip_time() {
    let start = Instant::now();
    let (a, b, mid) = sessions(start);
    let impairment = Impairment {
        loss: Loss::Random { probability: 0.05 },
        delay: Duration::from_millis(40),
        jitter: Duration::from_millis(10),
        ..Impairment::default()
    };
    let mut pair = Pair::new(start, a, b, &impairment, 7);
    for i in 0..300u64 {
        pair.run_until(start + Duration::from_millis(i * 1000 / 30));
        let sample = Sample {
            data: frame(i, 3, i.is_multiple_of(90)),
            timing: SampleTiming::RtpTime((i * 3000) as u32),
        };
        pair.a
            .session
            .write_sample(pair.now, &mid, &sample)
            .unwrap();
    }
    pair.run_for(Duration::from_secs(2));
    let stats = pair.a.session.stats();
    let remote = &stats.remote_inbound[0];
    assert!(remote.reports_received >= 5, "{remote:?}");
    // Two 40 ms paths, ±10 ms each.
    let rtt = remote.round_trip_time.expect("an RTT was measured");
    assert!(
        rtt >= Duration::from_millis(60) && rtt <= Duration::from_millis(105),
        "{rtt:?}"
    );
    assert!(remote.round_trip_time_measurements >= 3);
    assert_eq!(pair.a.session.rtt(), Some(rtt));
    // b sends no media, so no report block can echo its sender reports: its RTT comes
    // from a's DLRR answers to the reference times b's extended reports carry (RFC 3611).
    assert!(
        pair.b.session.stats().dlrr_rtt_measurements >= 3,
        "{:?}",
        pair.b.session.stats()
    );
    let b_rtt = pair.b.session.rtt().expect("the receiver measured an RTT");
    assert!(
        b_rtt >= Duration::from_millis(60) && b_rtt <= Duration::from_millis(105),
        "{b_rtt:?}"
    );
    assert_eq!(pair.b.session.stats().round_trip_time, Some(b_rtt));
    assert_eq!(pair.a.session.stats().dlrr_rtt_measurements, 0, "a sends");
    // Losses are reported as original-packet losses net of nothing: NACK repairs do not
    // count as received originals, so the cumulative loss is near 5 %.
    let inbound = &pair.b.session.stats().inbound[0];
    assert!(
        inbound.packets_lost > 0
            && inbound.packets_lost == remote.packets_lost.max(inbound.packets_lost)
    );
    let loss = inbound.packets_lost as f64
        / (inbound.packets_received as f64 + inbound.packets_lost as f64);
    assert!((0.02..0.09).contains(&loss), "loss {loss}");
    // Uniform ±10 ms jitter gives RFC 3550 jitter of a few milliseconds.
    assert!(
        inbound.jitter > Duration::from_millis(1) && inbound.jitter < Duration::from_millis(15),
        "{:?}",
        inbound.jitter
    );
}

/// A session sending and receiving one video (VP8 + RTX) and one audio track, streams
/// unsignalled.
fn bundled_session(seed: u64, start: Instant, video: &Mid, audio: &Mid) -> MediaSession {
    let mut session = MediaSession::new(SessionConfig::with_seed(seed), start).unwrap();
    let mut local = LocalTrackConfig::new(video.clone(), Codec::Vp8, pt(96));
    local.rtx = Some(RtxConfig {
        payload_type: pt(97),
        ssrc: None,
    });
    local.extensions = IDS;
    session.add_local_track(local).unwrap();
    let mut local = LocalTrackConfig::new(audio.clone(), Codec::Opus, pt(111));
    local.extensions = IDS;
    session.add_local_track(local).unwrap();
    let mut remote = RemoteTrackConfig::new(video.clone(), Codec::Vp8, pt(96));
    remote.codecs[0].rtx_payload_type = Some(pt(97));
    remote.extensions = IDS;
    session.add_remote_track(remote).unwrap();
    let mut remote = RemoteTrackConfig::new(audio.clone(), Codec::Opus, pt(111));
    remote.extensions = IDS;
    session.add_remote_track(remote).unwrap();
    session
}

/// Audio and video both ways on one pair of sessions (one BUNDLE), streams unsignalled and
/// routed by MID: every frame that comes out is the one written, audio losses show up as
/// gaps, and both sides get transport-wide feedback.
#[test]
fn audio_and_video_flow_both_ways_through_one_session_each() {
    let start = Instant::now();
    let video = Mid::new("video").unwrap();
    let audio = Mid::new("audio").unwrap();
    let a = bundled_session(31, start, &video, &audio);
    let b = bundled_session(32, start, &video, &audio);
    let impairment = Impairment {
        loss: Loss::Random { probability: 0.03 },
        delay: Duration::from_millis(25),
        jitter: Duration::from_millis(5),
        ..Impairment::default()
    };
    let mut pair = Pair::new(start, a, b, &impairment, 99);
    let mut sent_video = BTreeMap::new();
    // Per side: events already looked at, and a keyframe owed to the peer.
    let mut seen = [0, 0];
    let mut keyframe_owed = [false, false];
    for tick in 0..500u64 {
        // Audio every 20 ms, video every 40 ms (25 fps).
        pair.run_until(start + Duration::from_millis(tick * 20));
        for (n, (side, seed)) in [(&mut pair.a, 1), (&mut pair.b, 2)].into_iter().enumerate() {
            // The encoder answers keyframe requests.
            keyframe_owed[n] |= side.events[seen[n]..]
                .iter()
                .any(|e| matches!(e, Event::KeyframeRequested { mid, .. } if *mid == video));
            seen[n] = side.events.len();
            let audio_sample = Sample {
                data: Bytes::from(vec![(tick % 256) as u8; 60]),
                timing: SampleTiming::RtpTime((tick * 960) as u32),
            };
            side.session
                .write_sample(pair.now, &audio, &audio_sample)
                .unwrap();
            if tick % 2 == 0 {
                let i = tick / 2;
                let data = frame(i, seed, i.is_multiple_of(90) || keyframe_owed[n]);
                keyframe_owed[n] = false;
                sent_video.insert((seed, i), data.clone());
                let sample = Sample {
                    data,
                    timing: SampleTiming::RtpTime((i * 3600) as u32),
                };
                side.session
                    .write_sample(pair.now, &video, &sample)
                    .unwrap();
            }
        }
    }
    pair.run_for(Duration::from_secs(2));

    for (side, sender, sender_seed) in [(&pair.b, &pair.a, 1), (&pair.a, &pair.b, 2)] {
        // The sender's first video packet carries frame 0's timestamp.
        let base = sender
            .sent
            .iter()
            .find_map(|d| match d {
                Datagram::Rtp(bytes) => Some(RtpPacket::parse(bytes).unwrap())
                    .filter(|p| p.header.payload_type == pt(96))
                    .map(|p| p.header.timestamp),
                Datagram::Rtcp(_) => None,
            })
            .unwrap();
        let media = side.media();
        let frames: Vec<_> = media.iter().filter(|m| m.mid == video).collect();
        for f in &frames {
            let index = u64::from((f.rtp_timestamp as u32).wrapping_sub(base) / 3600);
            assert_eq!(f.data, sent_video[&(sender_seed, index)], "frame {index}");
        }
        // A packet lost for good costs the frames up to the keyframe it asks for.
        assert!(frames.len() >= 238, "{} of 250 frames", frames.len());
        let samples = media.iter().filter(|m| m.mid == audio).count();
        let gaps: u64 = side
            .events
            .iter()
            .filter_map(|e| match e {
                Event::AudioGap { packets, .. } => Some(*packets),
                _ => None,
            })
            .sum();
        // Audio has no NACK: about 3 % of it is concealed.
        assert!(
            samples >= 460 && gaps > 0,
            "{samples} samples, {gaps} concealed"
        );
        assert!(
            side.events
                .iter()
                .any(|e| matches!(e, Event::TransportFeedback(_)))
        );
        assert_eq!(side.session.stats().inbound.len(), 2);
    }
}
