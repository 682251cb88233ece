//! A sender without RTX probes bandwidth with padding-only packets on the media SSRC.
//! They take sequence numbers between frames: the receiver counts them as received and
//! neither NACKs them nor drops the next frame for want of them.

use std::time::{Duration, Instant};

use bytes::Bytes;
use strata_media::rtcp::{RtcpPacket, parse_compound};
use strata_media::rtp::{RtpHeader, RtpPacket};
use strata_media::{
    Codec, Event, MediaSession, Mid, Output, PayloadType, RemoteTrackConfig, SeqNo, SessionConfig,
    Ssrc,
};

fn packet(seq: u16, timestamp: u32, marker: bool, payload: &'static [u8], padding: u8) -> Bytes {
    let mut header = RtpHeader::new(
        PayloadType::new(96).unwrap(),
        SeqNo(seq),
        timestamp,
        Ssrc(5),
    );
    header.marker = marker;
    RtpPacket {
        header,
        payload: Bytes::from_static(payload),
        padding,
    }
    .serialize()
}

#[test]
fn padding_between_frames_is_neither_lost_nor_nacked() {
    let start = Instant::now();
    let mut session = MediaSession::new(SessionConfig::with_seed(1), start).unwrap();
    let track = RemoteTrackConfig::new(
        Mid::new("0").unwrap(),
        Codec::Vp8,
        PayloadType::new(96).unwrap(),
    );
    session.add_remote_track(track).unwrap();
    let mut now = start;
    let mut seq = 65_500u16;
    let mut frames = Vec::new();
    let mut rtcp = Vec::new();
    for i in 0..130u32 {
        if i < 100 {
            // Two packets per frame (a keyframe first), and a padding-only packet after
            // every third frame, with the frame's timestamp as senders do.
            let first: &'static [u8] = if i == 0 {
                &[0x10, 0x00, 1]
            } else {
                &[0x10, 0x01, 1]
            };
            session
                .handle_rtp(now, &packet(seq, i * 3000, false, first, 0))
                .unwrap();
            seq = seq.wrapping_add(1);
            session
                .handle_rtp(now, &packet(seq, i * 3000, true, &[0x00, 2], 0))
                .unwrap();
            seq = seq.wrapping_add(1);
            if i % 3 == 1 {
                session
                    .handle_rtp(now, &packet(seq, i * 3000, false, &[], 224))
                    .unwrap();
                seq = seq.wrapping_add(1);
            }
        }
        for _ in 0..33 {
            now += Duration::from_millis(1);
            session.handle_timeout(now);
            while let Some(output) = session.poll_output() {
                match output {
                    Output::Event(Event::Media(media)) => frames.push(media),
                    Output::Rtcp(bytes) => rtcp.extend(parse_compound(&bytes).unwrap()),
                    _ => {}
                }
            }
        }
    }
    assert_eq!(frames.len(), 100);
    assert!(
        frames
            .iter()
            .all(|f| f.data[..] == [0x01, 1, 2] || (f.keyframe && f.data[..] == [0x00, 1, 2]))
    );
    assert!(
        !rtcp
            .iter()
            .any(|p| matches!(p, RtcpPacket::Nack(_) | RtcpPacket::Pli(_)))
    );
    let stats = session.stats();
    assert_eq!(stats.padding_packets, 33);
    let inbound = &stats.inbound[0];
    assert_eq!(inbound.packets_received, 233);
    assert_eq!(inbound.packets_lost, 0);
    assert_eq!(inbound.frames_received, 100);
    assert_eq!(inbound.frames_dropped, 0);
}
