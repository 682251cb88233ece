//! Malformed RTP and RTCP of every type, unknown payload types and unknown SSRCs are
//! counted and dropped; the session keeps working.

use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use strata_media::rtcp::{
    Bye, Fir, FirEntry, Nack, NtpTime, PacketStatus, Pli, ReceiverReport, ReportBlock, RtcpPacket,
    Sdes, SdesChunk, SdesItem, SenderReport, TransportFeedback, serialize_compound,
};
use strata_media::rtp::{RtpHeader, RtpPacket};
use strata_media::{
    Codec, Error, Event, MediaSession, Mid, Output, PayloadType, RemoteTrackConfig, SeqNo,
    SessionConfig, Ssrc,
};

fn receiver(start: Instant) -> MediaSession {
    let mut session = MediaSession::new(SessionConfig::with_seed(5), start).unwrap();
    let mut config = RemoteTrackConfig::new(
        Mid::new("0").unwrap(),
        Codec::Vp8,
        PayloadType::new(96).unwrap(),
    );
    config.ssrcs = vec![Ssrc(1000)];
    session.add_remote_track(config).unwrap();
    session
}

fn vp8_packet(ssrc: u32, pt: u8, seq: u16, payload: &'static [u8]) -> Bytes {
    let mut header = RtpHeader::new(
        PayloadType::new(pt).unwrap(),
        SeqNo(seq),
        90_000,
        Ssrc(ssrc),
    );
    header.marker = true;
    RtpPacket {
        header,
        payload: Bytes::from_static(payload),
        padding: 0,
    }
    .serialize()
}

/// Every RTCP packet type we parse, well formed.
fn every_rtcp_type() -> Vec<RtcpPacket> {
    let block = ReportBlock {
        ssrc: Ssrc(1),
        fraction_lost: 1,
        cumulative_lost: 2,
        extended_highest_seq: 3,
        jitter: 4,
        last_sr: 5,
        delay_since_last_sr: 6,
    };
    vec![
        RtcpPacket::SenderReport(SenderReport {
            ssrc: Ssrc(1000),
            ntp: NtpTime(1 << 40),
            rtp_timestamp: 1,
            packet_count: 2,
            octet_count: 3,
            reports: vec![block],
        }),
        RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: Ssrc(1000),
            reports: vec![block, block],
        }),
        RtcpPacket::Sdes(Sdes {
            chunks: vec![SdesChunk {
                ssrc: Ssrc(1000),
                items: vec![SdesItem::cname("peer")],
            }],
        }),
        RtcpPacket::Bye(Bye {
            sources: vec![Ssrc(77)],
            reason: Some(Bytes::from_static(b"bye")),
        }),
        RtcpPacket::Nack(Nack::from_seqs(Ssrc(1000), Ssrc(5), [SeqNo(1), SeqNo(3)])),
        RtcpPacket::Pli(Pli {
            sender_ssrc: Ssrc(1000),
            media_ssrc: Ssrc(5),
        }),
        RtcpPacket::Fir(Fir {
            sender_ssrc: Ssrc(1000),
            entries: vec![FirEntry {
                ssrc: Ssrc(5),
                seq_nr: 1,
            }],
        }),
        RtcpPacket::TransportFeedback(TransportFeedback {
            sender_ssrc: Ssrc(1000),
            media_ssrc: Ssrc(5),
            base_seq: 1,
            reference_time: 2,
            feedback_count: 3,
            packets: vec![
                PacketStatus::Received { delta: 4 },
                PacketStatus::NotReceived,
                PacketStatus::Received { delta: 900 },
            ],
        }),
    ]
}

#[test]
fn every_rtcp_type_with_a_wrong_length_is_counted_and_dropped() {
    let start = Instant::now();
    let mut session = receiver(start);
    let mut malformed = 0;
    for packet in every_rtcp_type() {
        let wire = serialize_compound(std::slice::from_ref(&packet));
        session.handle_rtcp(start, &wire).unwrap();
        // The length field one word short and one word long; the bytes cut to every
        // length; trailing garbage.
        let words = u16::from_be_bytes([wire[2], wire[3]]);
        let mut variants = Vec::new();
        for delta in [-1i32, 1] {
            let mut bytes = wire.to_vec();
            let w = (i32::from(words) + delta).max(0) as u16;
            bytes[2..4].copy_from_slice(&w.to_be_bytes());
            variants.push(bytes);
        }
        for cut in 1..wire.len() {
            variants.push(wire[..cut].to_vec());
        }
        for bytes in variants {
            match session.handle_rtcp(start, &Bytes::from(bytes.clone())) {
                Err(Error::Malformed { what: "RTCP", .. }) => malformed += 1,
                Ok(()) => {}
                Err(other) => panic!("{packet:?} {bytes:?}: {other}"),
            }
        }
        // A shorter length field with the body shrunk to match must be rejected when the
        // type has a minimum size.
        if let RtcpPacket::Pli(_)
        | RtcpPacket::Fir(_)
        | RtcpPacket::Nack(_)
        | RtcpPacket::SenderReport(_) = packet
        {
            let mut bytes = wire[..wire.len() - 4].to_vec();
            bytes[2..4].copy_from_slice(&(words - 1).to_be_bytes());
            if !matches!(packet, RtcpPacket::Nack(_) | RtcpPacket::SenderReport(_)) {
                assert!(
                    session.handle_rtcp(start, &Bytes::from(bytes)).is_err(),
                    "{packet:?}"
                );
                malformed += 1;
            }
        }
    }
    assert!(malformed > 100);
    assert_eq!(session.stats().malformed_rtcp, malformed);
    // APP and XR packets are skipped and counted, not errors.
    let mut unknown = BytesMut::new();
    unknown.put_slice(&[0x80, 204, 0, 2, 0, 0, 0, 1]);
    unknown.put_slice(b"name");
    unknown.put_slice(&[0x80, 207, 0, 1, 0, 0, 0, 1]);
    session.handle_rtcp(start, &unknown.freeze()).unwrap();
    assert_eq!(session.stats().rtcp_ignored, 2);
}

#[test]
fn malformed_rtp_unknown_payload_types_and_unknown_ssrcs_are_counted() {
    let start = Instant::now();
    let mut session = receiver(start);
    let good = vp8_packet(1000, 96, 1, &[0x10, 0x00, 1, 2, 3]);
    let mut malformed = 0;
    for cut in 0..12 {
        assert!(session.handle_rtp(start, &good.slice(..cut)).is_err());
        malformed += 1;
    }
    // Header extension longer than the packet; padding larger than the payload.
    let mut bad_ext = good.to_vec();
    bad_ext[0] |= 0x10;
    assert!(session.handle_rtp(start, &Bytes::from(bad_ext)).is_err());
    let mut bad_pad = good.to_vec();
    bad_pad[0] |= 0x20;
    *bad_pad.last_mut().unwrap() = 200;
    assert!(session.handle_rtp(start, &Bytes::from(bad_pad)).is_err());
    malformed += 2;

    // Well formed, but no track wants them.
    session
        .handle_rtp(start, &vp8_packet(1000, 100, 2, &[0x10, 0, 1]))
        .unwrap();
    session
        .handle_rtp(start, &vp8_packet(4242, 100, 2, &[0x10, 0, 1]))
        .unwrap();
    // A VP8 payload descriptor cut short, and an empty (padding) payload.
    session
        .handle_rtp(start, &vp8_packet(1000, 96, 3, &[0x90, 0x80]))
        .unwrap();
    session
        .handle_rtp(start, &vp8_packet(1000, 96, 4, &[]))
        .unwrap();

    let stats = session.stats();
    assert_eq!(stats.malformed_rtp, malformed);
    assert_eq!(stats.unknown_payload_type, 1);
    assert_eq!(stats.unknown_ssrc, 1);
    assert_eq!(stats.malformed_payloads, 1);
    assert_eq!(stats.padding_packets, 1);

    // The stream still works: a keyframe arrives and comes out.
    session.handle_rtp(start, &good).unwrap();
    let mut now = start;
    let mut frames = 0;
    while now < start + Duration::from_secs(1) {
        while let Some(output) = session.poll_output() {
            if let Output::Event(Event::Media(media)) = output {
                assert_eq!(&media.data[..], &[0, 1, 2, 3]);
                frames += 1;
            }
        }
        now += Duration::from_millis(10);
        session.handle_timeout(now);
    }
    assert_eq!(frames, 1);
}
