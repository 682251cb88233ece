//! A flood of random SSRCs cannot grow a session's memory, and a real stream still gets
//! through it.

use std::time::{Duration, Instant};

use bytes::Bytes;
use strata_media::rtp::{RtpHeader, RtpPacket};
use strata_media::{
    Codec, Event, MAX_REMOTE_SSRCS, MediaSession, Mid, Output, PayloadType, RemoteTrackConfig,
    SeqNo, SessionConfig, Ssrc,
};

fn packet(ssrc: u32, seq: u16, timestamp: u32) -> Bytes {
    let mut header = RtpHeader::new(
        PayloadType::new(96).unwrap(),
        SeqNo(seq),
        timestamp,
        Ssrc(ssrc),
    );
    header.marker = true;
    RtpPacket {
        header,
        payload: Bytes::from_static(&[0x10, 0x00, 9, 9]),
        padding: 0,
    }
    .serialize()
}

#[test]
fn random_ssrcs_are_capped_evicted_and_counted() {
    let start = Instant::now();
    let mut session = MediaSession::new(SessionConfig::with_seed(3), start).unwrap();
    // Unsignalled: every SSRC with the payload type is routed to the track, as browsers do.
    session
        .add_remote_track(RemoteTrackConfig::new(
            Mid::new("0").unwrap(),
            Codec::Vp8,
            PayloadType::new(96).unwrap(),
        ))
        .unwrap();

    let mut now = start;
    let mut state = 12_345u32;
    for i in 0..20_000u32 {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        session
            .handle_rtp(now, &packet(state, i as u16, i))
            .unwrap();
        // A real stream keeps sending in the middle of the flood.
        if i % 50 == 0 {
            let n = i / 50;
            session
                .handle_rtp(now, &packet(0xABCD, n as u16, n * 3000))
                .unwrap();
            now += Duration::from_millis(33);
            session.handle_timeout(now);
        }
        while session.poll_output().is_some() {}
    }
    let stats = session.stats();
    assert!(
        stats.inbound.len() <= MAX_REMOTE_SSRCS,
        "{} streams",
        stats.inbound.len()
    );
    assert!(stats.remote_ssrcs_evicted > 10_000, "{stats:?}");
    // The real stream survived the flood.
    assert!(
        stats
            .inbound
            .iter()
            .any(|s| s.ssrc == Ssrc(0xABCD) && s.packets_received == 400)
    );

    // And still delivers frames.
    session
        .handle_rtp(now, &packet(0xABCD, 400, 400 * 3000))
        .unwrap();
    let mut delivered = false;
    for _ in 0..100 {
        now += Duration::from_millis(10);
        session.handle_timeout(now);
        while let Some(output) = session.poll_output() {
            if let Output::Event(Event::Media(media)) = output {
                delivered |= media.ssrc == Ssrc(0xABCD);
            }
        }
    }
    assert!(delivered);
}
