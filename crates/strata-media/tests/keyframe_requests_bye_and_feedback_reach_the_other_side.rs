//! Keyframe requests (PLI, FIR), BYE, transport-wide feedback and audio between two
//! sessions on a clean network.

mod pair;

use std::time::{Duration, Instant};

use bytes::Bytes;
use pair::{Datagram, Pair};
use strata_media::rtcp::{RtcpPacket, parse_compound};
use strata_media::rtp::ExtensionIds;
use strata_media::{
    Codec, Error, Event, Feedback, KeyframeRequestKind, LocalTrackConfig, MediaSession, Mid,
    PayloadType, RemoteTrackConfig, Sample, SessionConfig, StreamEndReason,
};
use strata_netem::Impairment;

const IDS: ExtensionIds = ExtensionIds {
    mid: Some(1),
    abs_send_time: Some(2),
    transport_cc: Some(3),
};

fn pair(start: Instant, codec: Codec, pt: u8, feedback: Option<Feedback>) -> (Pair, Mid) {
    let mid = Mid::new("m").unwrap();
    let pt = PayloadType::new(pt).unwrap();
    let mut a = MediaSession::new(SessionConfig::with_seed(1), start).unwrap();
    let mut b = MediaSession::new(SessionConfig::with_seed(2), start).unwrap();
    let mut local = LocalTrackConfig::new(mid.clone(), codec, pt);
    local.extensions = IDS;
    a.add_local_track(local).unwrap();
    let mut remote = RemoteTrackConfig::new(mid.clone(), codec, pt);
    remote.extensions = IDS;
    if let Some(feedback) = feedback {
        remote.feedback = feedback;
    }
    b.add_remote_track(remote).unwrap();
    let impairment = Impairment {
        delay: Duration::from_millis(20),
        ..Impairment::default()
    };
    (Pair::new(start, a, b, &impairment, 1), mid)
}

fn send_video(pair: &mut Pair, mid: &Mid, frames: u64) {
    for i in 0..frames {
        let mut data = vec![i as u8; 2000];
        data[0] = u8::from(i != 0);
        pair.a
            .session
            .write_sample(
                pair.now,
                mid,
                &Sample::new(Bytes::from(data), Duration::from_millis(33)),
            )
            .unwrap();
        pair.run_for(Duration::from_millis(33));
    }
}

fn rtcp_sent(datagrams: &[Datagram]) -> Vec<RtcpPacket> {
    datagrams
        .iter()
        .filter_map(|d| match d {
            Datagram::Rtcp(bytes) => Some(parse_compound(bytes).unwrap()),
            Datagram::Rtp(_) => None,
        })
        .flatten()
        .collect()
}

#[test]
fn a_keyframe_request_sends_a_rate_limited_pli_that_surfaces_on_the_sender() {
    let start = Instant::now();
    let (mut pair, mid) = pair(start, Codec::Vp8, 96, None);
    // Nothing received yet: nothing to ask.
    assert_eq!(pair.b.session.request_keyframe(start, &mid), Ok(false));
    send_video(&mut pair, &mid, 5);
    let now = pair.now;
    assert_eq!(pair.b.session.request_keyframe(now, &mid), Ok(true));
    assert_eq!(
        pair.b
            .session
            .request_keyframe(now + Duration::from_millis(100), &mid),
        Ok(false)
    );
    pair.run_for(Duration::from_millis(200));
    let requests: Vec<_> = pair
        .a
        .events
        .iter()
        .filter(|e| matches!(e, Event::KeyframeRequested { .. }))
        .collect();
    assert_eq!(
        requests,
        [&Event::KeyframeRequested {
            mid: mid.clone(),
            kind: KeyframeRequestKind::Pli
        }]
    );
    assert_eq!(pair.a.session.stats().outbound[0].pli_count, 1);
    assert_eq!(pair.b.session.stats().inbound[0].pli_count, 1);
    assert!(matches!(
        pair.b
            .session
            .request_keyframe(now, &Mid::new("x").unwrap()),
        Err(Error::UnknownTrack { .. })
    ));
}

#[test]
fn fir_is_used_when_only_fir_was_negotiated_and_none_without_either() {
    let start = Instant::now();
    let fir_only = Feedback {
        nack: true,
        pli: false,
        fir: true,
        transport_cc: true,
    };
    let (mut pair, mid) = pair(start, Codec::Vp8, 96, Some(fir_only));
    send_video(&mut pair, &mid, 3);
    assert_eq!(pair.b.session.request_keyframe(pair.now, &mid), Ok(true));
    pair.run_for(Duration::from_millis(400));
    assert_eq!(pair.b.session.request_keyframe(pair.now, &mid), Ok(true));
    pair.run_for(Duration::from_millis(100));
    let firs: Vec<_> = rtcp_sent(&pair.b.sent)
        .into_iter()
        .filter_map(|p| match p {
            RtcpPacket::Fir(fir) => Some(fir.entries[0].seq_nr),
            _ => None,
        })
        .collect();
    // Two requests, two command sequence numbers.
    assert_eq!(firs, [0, 1]);
    let requests = pair
        .a
        .events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::KeyframeRequested {
                    kind: KeyframeRequestKind::Fir,
                    ..
                }
            )
        })
        .count();
    assert_eq!(requests, 2);

    let none = Feedback {
        nack: false,
        pli: false,
        fir: false,
        transport_cc: false,
    };
    let (mut pair, mid) = self::pair(start, Codec::Vp8, 96, Some(none));
    send_video(&mut pair, &mid, 2);
    assert_eq!(
        pair.b.session.request_keyframe(pair.now, &mid),
        Err(Error::NotNegotiated("PLI or FIR"))
    );
}

#[test]
fn removing_a_track_sends_bye_and_ends_the_remote_stream() {
    let start = Instant::now();
    let (mut pair, mid) = pair(start, Codec::Vp8, 96, None);
    send_video(&mut pair, &mid, 3);
    let now = pair.now;
    pair.a.session.remove_local_track(now, &mid).unwrap();
    pair.run_for(Duration::from_millis(100));
    assert!(
        pair.b.session.stats().inbound.is_empty(),
        "the stream is gone from the stats"
    );
    assert!(pair.b.events.iter().any(|e| matches!(
        e,
        Event::RemoteStreamEnded {
            reason: StreamEndReason::Bye,
            ..
        }
    )));
    assert!(
        rtcp_sent(&pair.a.sent)
            .iter()
            .any(|p| matches!(p, RtcpPacket::Bye(_)))
    );
    assert!(matches!(
        pair.a.session.write_sample(
            pair.now,
            &mid,
            &Sample::new(Bytes::from_static(&[1]), Duration::ZERO)
        ),
        Err(Error::UnknownTrack { .. })
    ));
    // Closing sends nothing more for a session without tracks, and refuses input.
    pair.a.session.close(pair.now);
    assert!(pair.a.session.is_closed());
    assert_eq!(
        pair.a.session.handle_rtp(pair.now, &Bytes::new()),
        Err(Error::Closed)
    );
}

#[test]
fn transport_wide_feedback_covers_every_packet_sent() {
    let start = Instant::now();
    let (mut pair, mid) = pair(start, Codec::Vp8, 96, None);
    send_video(&mut pair, &mid, 30);
    pair.run_for(Duration::from_millis(500));
    let reports: Vec<_> = pair
        .a
        .events
        .iter()
        .filter_map(|e| match e {
            Event::TransportFeedback(report) => Some(report),
            _ => None,
        })
        .collect();
    // About one feedback per 100 ms.
    assert!(
        (9..=20).contains(&reports.len()),
        "{} feedback messages",
        reports.len()
    );
    let packets: Vec<_> = reports.iter().flat_map(|r| r.packets.iter()).collect();
    let sent = pair
        .a
        .sent
        .iter()
        .filter(|d| matches!(d, Datagram::Rtp(_)))
        .count();
    assert_eq!(packets.len(), sent);
    for (i, p) in packets.iter().enumerate() {
        assert_eq!(usize::from(p.seq.0), i);
        let (sent_at, arrival) = (p.sent_at.unwrap(), p.arrival_micros.unwrap());
        // One-way delay 20 ms: arrival (on b's clock, from b's start) minus send time.
        let send = sent_at.duration_since(start).as_micros() as i64;
        assert!(
            (arrival - send - 20_000).abs() <= 250,
            "packet {i}: sent {send} arrived {arrival}"
        );
    }
}

#[test]
fn opus_samples_come_out_in_order() {
    let start = Instant::now();
    let (mut pair, mid) = pair(start, Codec::Opus, 111, None);
    for i in 0..100u8 {
        let sample = Sample::new(Bytes::from(vec![i; 80]), Duration::from_millis(20));
        pair.a
            .session
            .write_sample(pair.now, &mid, &sample)
            .unwrap();
        pair.run_for(Duration::from_millis(20));
    }
    pair.run_for(Duration::from_millis(500));
    let samples: Vec<_> = pair.b.media();
    assert_eq!(samples.len(), 100);
    for (i, media) in samples.iter().enumerate() {
        assert_eq!(media.data, vec![i as u8; 80]);
        assert_eq!(
            media.rtp_timestamp - samples[0].rtp_timestamp,
            i as u64 * 960
        );
        assert_eq!(media.codec, Codec::Opus);
    }
}

#[test]
fn closing_says_bye_for_every_local_ssrc_and_refuses_more_input() {
    let start = Instant::now();
    let (mut pair, mid) = pair(start, Codec::Vp8, 96, None);
    send_video(&mut pair, &mid, 3);
    let (media, _) = pair.a.session.local_ssrcs(&mid).unwrap();
    pair.a.session.close(pair.now);
    // Queued output (the BYE) is still drained after close.
    pair.run_for(Duration::from_millis(100));
    let byes: Vec<_> = rtcp_sent(&pair.a.sent)
        .into_iter()
        .filter_map(|p| match p {
            RtcpPacket::Bye(bye) => Some(bye.sources),
            _ => None,
        })
        .collect();
    assert_eq!(byes, [vec![media]]);
    assert!(pair.b.events.iter().any(|e| matches!(e, Event::RemoteStreamEnded { ssrc, reason: StreamEndReason::Bye, .. } if *ssrc == media)));
    assert_eq!(pair.a.session.poll_timeout(), None);
    assert_eq!(
        pair.a.session.write_sample(
            pair.now,
            &mid,
            &Sample::new(Bytes::from_static(&[1]), Duration::ZERO)
        ),
        Err(Error::Closed)
    );
}

#[test]
fn a_session_can_move_to_its_driver_task() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<MediaSession>();
}

#[test]
fn an_undrained_session_refuses_samples_instead_of_dropping_packets() {
    let start = Instant::now();
    let mut session = MediaSession::new(SessionConfig::with_seed(9), start).unwrap();
    let mid = Mid::new("0").unwrap();
    session
        .add_local_track(LocalTrackConfig::new(
            mid.clone(),
            Codec::Vp8,
            PayloadType::new(96).unwrap(),
        ))
        .unwrap();
    let sample = Sample::new(Bytes::from(vec![1; 5000]), Duration::from_millis(33));
    let mut written = 0;
    let refused = loop {
        match session.write_sample(start, &mid, &sample) {
            Ok(()) => written += 1,
            Err(error) => break error,
        }
    };
    assert_eq!(refused, Error::OutputQueueFull);
    assert!(written > 1000);
    assert_eq!(session.stats().outputs_dropped, 0);
    // Every packet written is there to drain, numbered without gaps.
    let mut count = 0;
    while session.poll_output().is_some() {
        count += 1;
    }
    assert_eq!(count as u64, session.stats().outbound[0].packets_sent);
    assert!(session.write_sample(start, &mid, &sample).is_ok());
}

#[test]
fn reduced_size_feedback_travels_alone() {
    let start = Instant::now();
    let mid = Mid::new("m").unwrap();
    let pt = PayloadType::new(96).unwrap();
    let mut a = MediaSession::new(SessionConfig::with_seed(1), start).unwrap();
    let mut config = SessionConfig::with_seed(2);
    config.rtcp_reduced_size = true;
    let mut b = MediaSession::new(config, start).unwrap();
    a.add_local_track(LocalTrackConfig::new(mid.clone(), Codec::Vp8, pt))
        .unwrap();
    b.add_remote_track(RemoteTrackConfig::new(mid.clone(), Codec::Vp8, pt))
        .unwrap();
    let mut pair = Pair::new(start, a, b, &Impairment::default(), 1);
    send_video(&mut pair, &mid, 2);
    assert_eq!(pair.b.session.request_keyframe(pair.now, &mid), Ok(true));
    pair.run_for(Duration::from_millis(10));
    let pli = pair.b.sent.iter().rev().find_map(|d| match d {
        Datagram::Rtcp(bytes) if bytes[1] == 206 => Some(bytes.clone()),
        _ => None,
    });
    // A bare PLI: common header and two SSRCs.
    assert_eq!(pli.map(|b| b.len()), Some(12));
    assert!(
        pair.a
            .events
            .iter()
            .any(|e| matches!(e, Event::KeyframeRequested { .. }))
    );
}

#[test]
fn a_silent_stream_ends_once_after_the_timeout() {
    let start = Instant::now();
    let (mut pair, mid) = pair(start, Codec::Vp8, 96, None);
    send_video(&mut pair, &mid, 3);
    pair.run_for(Duration::from_secs(40));
    let ended: Vec<_> = pair
        .b
        .events
        .iter()
        .filter(|e| matches!(e, Event::RemoteStreamEnded { .. }))
        .collect();
    assert_eq!(ended.len(), 1, "{ended:?}");
    assert!(matches!(
        ended[0],
        Event::RemoteStreamEnded {
            reason: StreamEndReason::Timeout,
            ..
        }
    ));
    assert!(pair.b.session.stats().inbound.is_empty());
}
