//! Receiver reference times (RFC 3611 §4.4) are answered with DLRR in the next report, one
//! sub-block per sender, and a flood of them from made-up SSRCs is capped and counted.

use std::time::{Duration, Instant};

use bytes::Bytes;
use strata_media::rtcp::{
    DlrrItem, ExtendedReport, NtpTime, RtcpPacket, XrBlock, parse_compound, serialize_compound,
};
use strata_media::{
    Codec, LocalTrackConfig, MAX_PENDING_RRTRS, MediaSession, Mid, Output, PayloadType, Sample,
    SampleTiming, SessionConfig, Ssrc,
};

fn rrtr(ssrc: u32, ntp: u64) -> RtcpPacket {
    RtcpPacket::ExtendedReport(ExtendedReport {
        ssrc: Ssrc(ssrc),
        blocks: vec![XrBlock::ReceiverReferenceTime(NtpTime(ntp))],
    })
}

/// Every DLRR sub-block in the RTCP the session queued.
fn answers(session: &mut MediaSession) -> Vec<DlrrItem> {
    let mut items = Vec::new();
    while let Some(output) = session.poll_output() {
        let Output::Rtcp(rtcp) = output else { continue };
        for packet in parse_compound(&rtcp).unwrap() {
            if let RtcpPacket::ExtendedReport(xr) = packet {
                for block in xr.blocks {
                    if let XrBlock::Dlrr(dlrr) = block {
                        items.extend(dlrr);
                    }
                }
            }
        }
    }
    items
}

#[test]
fn each_senders_latest_reference_time_is_answered_once_and_a_flood_is_capped() {
    let start = Instant::now();
    let mut session = MediaSession::new(SessionConfig::with_seed(5), start).unwrap();
    let mid = Mid::new("0").unwrap();
    let pt = PayloadType::new(111).unwrap();
    session
        .add_local_track(LocalTrackConfig::new(mid.clone(), Codec::Opus, pt))
        .unwrap();
    let sample = Sample {
        data: Bytes::from_static(&[0xFC, 1, 2, 3]),
        timing: SampleTiming::RtpTime(0),
    };
    session.write_sample(start, &mid, &sample).unwrap();
    while session.poll_output().is_some() {}

    // One sender twice (its later time is the one answered), then a flood of others.
    let mut packets = vec![
        rrtr(1, 0x0001_0002_0003_0004),
        rrtr(1, 0x0005_0006_0007_0008),
    ];
    packets.extend((0..40).map(|i| rrtr(100 + i, 0x0009_000A_000B_000C)));
    let arrived = start + Duration::from_millis(10);
    session
        .handle_rtcp(arrived, &serialize_compound(&packets))
        .unwrap();
    let stats = session.stats();
    assert_eq!(stats.rrtrs_dropped, 41 - MAX_PENDING_RRTRS as u64);
    assert_eq!(stats.rtcp_ignored, 0);

    let report_at = start + Duration::from_secs(10);
    session.handle_timeout(report_at);
    let items = answers(&mut session);
    assert_eq!(items.len(), MAX_PENDING_RRTRS, "{items:?}");
    let first = items.iter().find(|i| i.ssrc == Ssrc(1)).expect("sender 1");
    assert_eq!(
        first.last_rr, 0x0006_0007,
        "the middle bits of the later time"
    );
    // Held from arrival to the report, in 1/65536 s.
    let held = Duration::from_micros(u64::from(first.delay_since_last_rr) * 1_000_000 / 65_536);
    let expected = report_at - arrived;
    let short_by = expected
        .checked_sub(held)
        .expect("never more than the time held");
    assert!(
        short_by < Duration::from_millis(1),
        "{held:?} vs {expected:?}"
    );

    // Answered once: the next report carries no DLRR, and the cap is free again.
    session.handle_timeout(start + Duration::from_secs(20));
    assert!(answers(&mut session).is_empty());
    session
        .handle_rtcp(
            start + Duration::from_secs(21),
            &serialize_compound(&[rrtr(7, 1 << 32)]),
        )
        .unwrap();
    session.handle_timeout(start + Duration::from_secs(30));
    let items = answers(&mut session);
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].ssrc, Ssrc(7));
    assert_eq!(session.stats().rrtrs_dropped, 41 - MAX_PENDING_RRTRS as u64);
}

#[test]
fn a_dlrr_for_another_receiver_or_echoing_nothing_measures_nothing() {
    let start = Instant::now();
    let mut session = MediaSession::new(SessionConfig::with_seed(6), start).unwrap();
    let ours = session.rtcp_ssrc();
    let dlrr = |ssrc: Ssrc, last_rr: u32| {
        serialize_compound(&[RtcpPacket::ExtendedReport(ExtendedReport {
            ssrc: Ssrc(42),
            blocks: vec![XrBlock::Dlrr(vec![DlrrItem {
                ssrc,
                last_rr,
                delay_since_last_rr: 0,
            }])],
        })])
    };
    let now = start + Duration::from_secs(1);
    session
        .handle_rtcp(now, &dlrr(Ssrc(ours.0 ^ 1), 5))
        .unwrap();
    session.handle_rtcp(now, &dlrr(ours, 0)).unwrap();
    assert_eq!(session.rtt(), None);
    assert_eq!(session.stats().dlrr_rtt_measurements, 0);
    // An extended report with nothing we act on is counted as ignored.
    let other = serialize_compound(&[RtcpPacket::ExtendedReport(ExtendedReport {
        ssrc: Ssrc(42),
        blocks: vec![XrBlock::Unknown {
            block_type: 42,
            type_specific: 0,
            contents: Bytes::from_static(&[0; 4]),
        }],
    })]);
    session.handle_rtcp(now, &other).unwrap();
    assert_eq!(session.stats().rtcp_ignored, 1);
}
