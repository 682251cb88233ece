//! RTP and RTCP codec speed, side by side with webrtc-rs's `rtp` and `rtcp` crates (feature
//! `compare`), and the receive path of a whole `MediaSession`.
//!
//! Run: `cargo bench -p strata-media --features compare --bench rtp_rtcp`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use strata_media::rtcp::{
    Nack, NtpTime, PacketStatus, ReportBlock, RtcpPacket, Sdes, SdesChunk, SdesItem, SenderReport,
    TransportFeedback, parse_compound, serialize_compound,
};
use strata_media::rtp::{ExtensionIds, RtpPacket};
use strata_media::{
    Codec, LocalTrackConfig, MediaSession, Mid, Output, PayloadType, RemoteTrackConfig, Sample,
    SampleTiming, SeqNo, SessionConfig, Ssrc,
};

const IDS: ExtensionIds = ExtensionIds {
    mid: Some(1),
    abs_send_time: Some(2),
    transport_cc: Some(3),
};

/// A sending session's packets for `frames` VP8 frames of 30 fps at about 1.5 Mbit/s.
fn video_packets(frames: u64) -> Vec<Bytes> {
    let start = Instant::now();
    let mid = Mid::new("0").expect("valid");
    let mut sender = MediaSession::new(SessionConfig::with_seed(1), start).expect("valid");
    let mut config = LocalTrackConfig::new(
        mid.clone(),
        Codec::Vp8,
        PayloadType::new(96).expect("valid"),
    );
    config.extensions = IDS;
    sender.add_local_track(config).expect("new");
    let mut packets = Vec::new();
    for i in 0..frames {
        let mut data = vec![(i % 256) as u8; 6250];
        data[0] = u8::from(i % 300 != 0);
        let sample = Sample {
            data: Bytes::from(data),
            timing: SampleTiming::RtpTime((i * 3000) as u32),
        };
        sender.write_sample(start, &mid, &sample).expect("written");
        while let Some(output) = sender.poll_output() {
            if let Output::Rtp(bytes) = output {
                packets.push(bytes);
            }
        }
    }
    packets
}

fn compound() -> Bytes {
    let block = ReportBlock {
        ssrc: Ssrc(2),
        fraction_lost: 3,
        cumulative_lost: 4,
        extended_highest_seq: 5,
        jitter: 6,
        last_sr: 7,
        delay_since_last_sr: 8,
    };
    serialize_compound(&[
        RtcpPacket::SenderReport(SenderReport {
            ssrc: Ssrc(1),
            ntp: NtpTime(1 << 40),
            rtp_timestamp: 1,
            packet_count: 2,
            octet_count: 3,
            reports: vec![block],
        }),
        RtcpPacket::Sdes(Sdes {
            chunks: vec![SdesChunk {
                ssrc: Ssrc(1),
                items: vec![SdesItem::cname("abcdefghijklmnop")],
            }],
        }),
        RtcpPacket::Nack(Nack::from_seqs(
            Ssrc(1),
            Ssrc(2),
            [SeqNo(10), SeqNo(12), SeqNo(40)],
        )),
        RtcpPacket::TransportFeedback(TransportFeedback {
            sender_ssrc: Ssrc(1),
            media_ssrc: Ssrc(2),
            base_seq: 100,
            reference_time: 5,
            feedback_count: 1,
            packets: (0..60)
                .map(|i| {
                    if i % 17 == 5 {
                        PacketStatus::NotReceived
                    } else {
                        PacketStatus::Received { delta: 4 }
                    }
                })
                .collect(),
        }),
    ])
}

fn codecs(c: &mut Criterion) {
    let packet = video_packets(1).remove(0);
    let mut group = c.benchmark_group("rtp_parse");
    group.throughput(Throughput::Elements(1));
    group.bench_function("strata", |b| {
        b.iter(|| RtpPacket::parse(black_box(&packet)).expect("parses"));
    });
    #[cfg(feature = "compare")]
    group.bench_function("webrtc-rs", |b| {
        use webrtc_util::marshal::Unmarshal;
        b.iter(|| rtp::packet::Packet::unmarshal(&mut black_box(packet.clone())).expect("parses"));
    });
    group.finish();

    let parsed = RtpPacket::parse(&packet).expect("parses");
    let mut group = c.benchmark_group("rtp_serialize");
    group.throughput(Throughput::Elements(1));
    group.bench_function("strata", |b| b.iter(|| black_box(&parsed).serialize()));
    #[cfg(feature = "compare")]
    {
        use webrtc_util::marshal::{Marshal, Unmarshal};
        let theirs = rtp::packet::Packet::unmarshal(&mut packet.clone()).expect("parses");
        group.bench_function("webrtc-rs", |b| {
            b.iter(|| black_box(&theirs).marshal().expect("serializes"));
        });
    }
    group.finish();

    let rtcp = compound();
    let mut group = c.benchmark_group("rtcp_parse");
    group.throughput(Throughput::Elements(1));
    group.bench_function("strata", |b| {
        b.iter(|| parse_compound(black_box(&rtcp)).expect("parses"));
    });
    #[cfg(feature = "compare")]
    group.bench_function("webrtc-rs", |b| {
        b.iter(|| rtcp::packet::unmarshal(&mut black_box(rtcp.clone())).expect("parses"));
    });
    group.finish();
}

fn session(c: &mut Criterion) {
    // 10 s of 1.5 Mbit/s video: every packet through parse, routing, depacketization, the
    // jitter buffer and frame assembly, with timers run as a driver would.
    let packets = video_packets(300);
    let mut group = c.benchmark_group("session_receive");
    group.throughput(Throughput::Elements(packets.len() as u64));
    group.sample_size(10);
    group.bench_function("strata", |b| {
        b.iter_batched(
            || {
                let start = Instant::now();
                let mut session =
                    MediaSession::new(SessionConfig::with_seed(2), start).expect("valid");
                let mut config = RemoteTrackConfig::new(
                    Mid::new("0").expect("valid"),
                    Codec::Vp8,
                    PayloadType::new(96).expect("valid"),
                );
                config.extensions = IDS;
                session.add_remote_track(config).expect("new");
                (session, start)
            },
            |(mut session, start)| {
                let per_packet = Duration::from_secs(10) / packets.len() as u32;
                let mut now = start;
                for packet in &packets {
                    now += per_packet;
                    session.handle_rtp(now, packet).expect("well formed");
                    if session.poll_timeout().is_some_and(|t| t <= now) {
                        session.handle_timeout(now);
                    }
                    while let Some(output) = session.poll_output() {
                        black_box(output);
                    }
                }
                session
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = codecs, session
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
