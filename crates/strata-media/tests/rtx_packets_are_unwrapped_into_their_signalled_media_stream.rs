//! RTX packets (RFC 4588) on a signalled RTX SSRC are unwrapped — original sequence number
//! from the first two payload bytes, the media payload type — into the media stream their
//! `FID` group names, even when the track has several streams.

use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use strata_media::rtp::{RtpHeader, RtpPacket};
use strata_media::{
    Codec, Event, MediaSession, Mid, Output, PayloadType, RemoteTrackConfig, SeqNo, SessionConfig,
    Ssrc,
};

fn packet(ssrc: u32, pt: u8, seq: u16, timestamp: u32, marker: bool, payload: Bytes) -> Bytes {
    let mut header = RtpHeader::new(
        PayloadType::new(pt).unwrap(),
        SeqNo(seq),
        timestamp,
        Ssrc(ssrc),
    );
    header.marker = marker;
    RtpPacket {
        header,
        payload,
        padding: 0,
    }
    .serialize()
}

#[test]
fn rtx_fills_the_hole_in_the_stream_its_fid_group_names() {
    let start = Instant::now();
    let mut session = MediaSession::new(SessionConfig::with_seed(4), start).unwrap();
    let mut config = RemoteTrackConfig::new(
        Mid::new("v").unwrap(),
        Codec::Vp8,
        PayloadType::new(96).unwrap(),
    );
    config.codecs[0].rtx_payload_type = PayloadType::new(97);
    config.ssrcs = vec![Ssrc(1000), Ssrc(2000)];
    config.rtx_ssrcs = vec![(Ssrc(1000), Ssrc(1001)), (Ssrc(2000), Ssrc(2001))];
    session.add_remote_track(config).unwrap();

    // A keyframe in three packets on each stream; 2000's middle packet is lost.
    let part = |first: bool| {
        Bytes::from(if first {
            vec![0x10, 0x00, 7]
        } else {
            vec![0x00, 8, 9]
        })
    };
    for ssrc in [1000, 2000] {
        session
            .handle_rtp(start, &packet(ssrc, 96, 10, 90_000, false, part(true)))
            .unwrap();
        if ssrc == 1000 {
            session
                .handle_rtp(start, &packet(ssrc, 96, 11, 90_000, false, part(false)))
                .unwrap();
        }
        session
            .handle_rtp(start, &packet(ssrc, 96, 12, 90_000, true, part(false)))
            .unwrap();
    }
    // The retransmission of 11 on 2000's RTX SSRC, with its own sequence number.
    let mut rtx_payload = BytesMut::new();
    rtx_payload.put_u16(11);
    rtx_payload.put_slice(&[0x00, 8, 9]);
    let now = start + Duration::from_millis(30);
    session
        .handle_rtp(
            now,
            &packet(2001, 97, 500, 90_000, false, rtx_payload.freeze()),
        )
        .unwrap();
    // An RTX packet with only padding (a bandwidth probe) is dropped quietly.
    session
        .handle_rtp(now, &packet(2001, 97, 501, 90_000, false, Bytes::new()))
        .unwrap();

    let mut frames = Vec::new();
    let mut t = now;
    while t < start + Duration::from_secs(1) {
        while let Some(output) = session.poll_output() {
            if let Output::Event(Event::Media(media)) = output {
                frames.push((media.ssrc, media.data));
            }
        }
        t += Duration::from_millis(5);
        session.handle_timeout(t);
    }
    frames.sort();
    let whole = Bytes::from_static(&[0x00, 7, 8, 9, 8, 9]);
    assert_eq!(frames, [(Ssrc(1000), whole.clone()), (Ssrc(2000), whole)]);
    let stats = session.stats();
    let stream = stats.inbound.iter().find(|s| s.ssrc == Ssrc(2000)).unwrap();
    assert_eq!(stream.retransmitted_packets_received, 1);
    assert_eq!(stream.packets_recovered, 1);
    assert_eq!(stream.packets_received, 2);
    assert_eq!(stats.padding_packets, 1);
    assert!(stats.inbound.iter().all(|s| s.ssrc != Ssrc(2001)));
}
