//! Without RTX, packets asked for in NACKs are resent as the original packets; without NACK, a frame
//! lost for good makes the receiver ask for a keyframe with a PLI.

mod pair;

use std::time::{Duration, Instant};

use bytes::Bytes;
use pair::{Datagram, Pair};
use strata_media::rtp::RtpPacket;
use strata_media::{
    Codec, Event, Feedback, KeyframeRequestKind, LocalTrackConfig, MediaSession, Mid, PayloadType,
    RemoteTrackConfig, Sample, SampleTiming, SessionConfig,
};
use strata_netem::{Impairment, Loss};

fn run(feedback: Feedback, seed: u64) -> (Pair, Mid) {
    let start = Instant::now();
    let mid = Mid::new("0").unwrap();
    let pt = PayloadType::new(96).unwrap();
    let mut a = MediaSession::new(SessionConfig::with_seed(seed), start).unwrap();
    let mut b = MediaSession::new(SessionConfig::with_seed(seed + 1), start).unwrap();
    a.add_local_track(LocalTrackConfig::new(mid.clone(), Codec::Vp8, pt))
        .unwrap();
    let mut remote = RemoteTrackConfig::new(mid.clone(), Codec::Vp8, pt);
    remote.feedback = feedback;
    b.add_remote_track(remote).unwrap();
    let impairment = Impairment {
        loss: Loss::Random { probability: 0.05 },
        delay: Duration::from_millis(30),
        jitter: Duration::from_millis(5),
        ..Impairment::default()
    };
    let mut pair = Pair::new(start, a, b, &impairment, seed);
    for i in 0..300u64 {
        pair.run_until(start + Duration::from_millis(i * 1000 / 30));
        let mut data = vec![(i % 251) as u8; 2500];
        // A keyframe only at the start: later losses need a keyframe request.
        data[0] = u8::from(i != 0);
        let sample = Sample {
            data: Bytes::from(data),
            timing: SampleTiming::RtpTime((i * 3000) as u32),
        };
        pair.a
            .session
            .write_sample(pair.now, &mid, &sample)
            .unwrap();
    }
    pair.run_for(Duration::from_secs(1));
    (pair, mid)
}

#[test]
fn without_rtx_nacked_packets_are_resent_on_the_original_stream() {
    let feedback = Feedback {
        nack: true,
        pli: true,
        fir: false,
        transport_cc: false,
    };
    let (pair, mid) = run(feedback, 40);
    let (media_ssrc, rtx_ssrc) = pair.a.session.local_ssrcs(&mid).unwrap();
    assert_eq!(rtx_ssrc, None);
    // Every RTP packet went out on the media SSRC; some sequence numbers twice.
    let seqs: Vec<u16> = pair
        .a
        .sent
        .iter()
        .filter_map(|d| match d {
            Datagram::Rtp(bytes) => Some(RtpPacket::parse(bytes).unwrap()),
            Datagram::Rtcp(_) => None,
        })
        .inspect(|p| assert_eq!(p.header.ssrc, media_ssrc))
        .map(|p| p.header.sequence_number.0)
        .collect();
    let unique: std::collections::HashSet<_> = seqs.iter().collect();
    let resent = seqs.len() - unique.len();
    let outbound = &pair.a.session.stats().outbound[0];
    assert!(resent > 0);
    assert_eq!(outbound.retransmitted_packets_sent, resent as u64);
    let inbound = &pair.b.session.stats().inbound[0];
    assert!(inbound.packets_recovered > 0);
    let frames = pair
        .b
        .events
        .iter()
        .filter(|e| matches!(e, Event::Media(_)))
        .count();
    assert!(frames >= 290, "{frames} frames");
}

#[test]
fn without_nack_an_unrecoverable_frame_triggers_a_pli() {
    let feedback = Feedback {
        nack: false,
        pli: true,
        fir: false,
        transport_cc: false,
    };
    let (pair, _) = run(feedback, 50);
    let inbound = &pair.b.session.stats().inbound[0];
    assert_eq!(inbound.nack_count, 0);
    assert!(inbound.frames_dropped > 0);
    assert!(inbound.pli_count > 0);
    let requests = pair
        .a
        .events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::KeyframeRequested {
                    kind: KeyframeRequestKind::Pli,
                    ..
                }
            )
        })
        .count() as u64;
    // Some PLIs may be lost on the way; those that arrived surfaced as events.
    assert!(requests > 0 && requests <= inbound.pli_count);
    assert_eq!(pair.a.session.stats().outbound[0].pli_count, requests);
}
