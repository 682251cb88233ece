//! IVF and Ogg/Opus reading and writing speed, side by side with `webrtc-media` 0.17.2's
//! `IVFReader` and `OggReader` (feature `compare`).
//!
//! Run: `cargo bench -p strata-media --features compare --bench containers`.

use std::hint::black_box;
use std::io::Cursor;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group};
use strata_media::container::{
    IvfFourcc, IvfHeader, IvfReader, IvfWriter, OggOpusConfig, OggOpusReader, OggOpusWriter,
};

/// 300 frames (10 s at 30 fps) of ~1.5 Mbit/s VP8.
const FRAMES: u32 = 300;
/// 500 packets (10 s) of 20 ms Opus at ~48 kbit/s.
const PACKETS: u32 = 500;

fn ivf_file() -> Vec<u8> {
    let mut writer = IvfWriter::new(Cursor::new(Vec::new()), IvfHeader::for_rtp(IvfFourcc::Vp8))
        .expect("memory");
    for i in 0..FRAMES {
        let frame = vec![(i % 251) as u8; 6250];
        writer.write_rtp_frame(i * 3000, &frame).expect("memory");
    }
    writer.finish().expect("memory").into_inner()
}

fn write_ogg() -> Vec<u8> {
    let mut writer = OggOpusWriter::new(Vec::new(), OggOpusConfig::new(1)).expect("memory");
    let mut packet = vec![0x78; 120];
    for i in 0..PACKETS {
        packet[1] = i as u8;
        writer.write_rtp_packet(i * 960, &packet).expect("memory");
    }
    writer.finish().expect("memory")
}

fn ivf(c: &mut Criterion) {
    let file = ivf_file();
    let mut group = c.benchmark_group("ivf_read_10s_1.5mbps");
    group.throughput(Throughput::Elements(u64::from(FRAMES)));
    group.bench_function("strata", |b| {
        b.iter(|| {
            let mut reader = IvfReader::new(black_box(file.as_slice())).expect("valid");
            while let Some(frame) = reader.next_frame().expect("valid") {
                black_box(frame);
            }
        });
    });
    #[cfg(feature = "compare")]
    group.bench_function("webrtc-media", |b| {
        b.iter(|| {
            let (mut reader, _) =
                webrtc_media::io::ivf_reader::IVFReader::new(black_box(file.as_slice()))
                    .expect("valid");
            for _ in 0..FRAMES {
                black_box(reader.parse_next_frame().expect("valid"));
            }
        });
    });
    group.finish();
    let mut group = c.benchmark_group("ivf_write_10s_1.5mbps");
    group.throughput(Throughput::Elements(u64::from(FRAMES)));
    group.bench_function("strata", |b| b.iter(ivf_file));
    group.finish();
}

fn ogg(c: &mut Criterion) {
    let file = write_ogg();
    let mut group = c.benchmark_group("ogg_opus_read_10s");
    group.throughput(Throughput::Elements(u64::from(PACKETS)));
    group.bench_function("strata", |b| {
        b.iter(|| {
            let mut reader = OggOpusReader::new(black_box(file.as_slice())).expect("valid");
            while let Some(packet) = reader.next_packet().expect("valid") {
                black_box(packet);
            }
        });
    });
    #[cfg(feature = "compare")]
    group.bench_function("webrtc-media", |b| {
        b.iter(|| {
            let (mut reader, _) =
                webrtc_media::io::ogg_reader::OggReader::new(black_box(file.as_slice()), true)
                    .expect("valid");
            // The tags page, then one page per packet.
            for _ in 0..=PACKETS {
                black_box(reader.parse_next_page().expect("valid"));
            }
        });
    });
    group.finish();
    let mut group = c.benchmark_group("ogg_opus_write_10s");
    group.throughput(Throughput::Elements(u64::from(PACKETS)));
    group.bench_function("strata", |b| b.iter(write_ogg));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = ivf, ogg
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
