//! Our IVF and Ogg/Opus files read with `webrtc-media` 0.17.2's `IVFReader` and
//! `OggReader`, and files its `IVFWriter` and `OggWriter` produce read with ours: the
//! same payloads both ways.

use std::io::Cursor;

use bytes::Bytes;
use strata_media::container::{
    IvfFourcc, IvfHeader, IvfReader, IvfWriter, OggOpusConfig, OggOpusReader, OggOpusWriter,
};
use webrtc_media::io::Writer as _;
use webrtc_media::io::ivf_reader::{IVFFileHeader, IVFReader};
use webrtc_media::io::ivf_writer::IVFWriter;
use webrtc_media::io::ogg_reader::OggReader;
use webrtc_media::io::ogg_writer::OggWriter;

fn frames() -> Vec<Vec<u8>> {
    (0..40usize)
        .map(|i| {
            // A keyframe first (VP8 P bit clear), inter frames after.
            let mut frame = vec![u8::from(i != 0) | 0x10, i as u8];
            frame.extend((0..(i * 97) % 1100 + 3).map(|b| (b + i) as u8));
            frame
        })
        .collect()
}

fn opus_packets() -> Vec<Vec<u8>> {
    (0..60usize)
        .map(|i| {
            let mut packet = vec![0x78];
            packet.extend((0..=(i * 13) % 300).map(|b| (b * 3 + i) as u8));
            packet
        })
        .collect()
}

fn rtp(timestamp: u32, payload: Vec<u8>) -> rtp::packet::Packet {
    rtp::packet::Packet {
        header: rtp::header::Header {
            version: 2,
            marker: true,
            timestamp,
            ..rtp::header::Header::default()
        },
        payload: Bytes::from(payload),
    }
}

#[test]
fn our_ivf_file_reads_identically_with_webrtc_media() {
    let mut header = IvfHeader::for_rtp(IvfFourcc::Vp8);
    header.width = 320;
    header.height = 240;
    let mut writer = IvfWriter::new(Cursor::new(Vec::new()), header).unwrap();
    for (i, frame) in frames().iter().enumerate() {
        // Starting near the 32-bit wrap, 33 ms apart.
        writer
            .write_rtp_frame((u32::MAX - 20_000).wrapping_add(2970 * i as u32), frame)
            .unwrap();
    }
    let file = writer.finish().unwrap().into_inner();

    let (mut theirs, their_header) = IVFReader::new(Cursor::new(file)).unwrap();
    assert_eq!(&their_header.four_cc, b"VP80");
    assert_eq!((their_header.width, their_header.height), (320, 240));
    assert_eq!(their_header.timebase_denominator, 90_000);
    assert_eq!(their_header.num_frames, 40);
    for (i, frame) in frames().iter().enumerate() {
        let (data, frame_header) = theirs.parse_next_frame().unwrap();
        assert_eq!(&data[..], &frame[..], "frame {i}");
        assert_eq!(frame_header.timestamp, 2970 * i as u64);
    }
    assert!(
        theirs.parse_next_frame().is_err(),
        "no frame after the last"
    );
}

#[test]
fn an_ivf_file_written_by_webrtc_media_reads_identically_with_ours() {
    let header = IVFFileHeader {
        signature: *b"DKIF",
        version: 0,
        header_size: 32,
        four_cc: *b"VP80",
        width: 640,
        height: 480,
        timebase_denominator: 30,
        timebase_numerator: 1,
        num_frames: 0,
        unused: 0,
    };
    let mut out = Cursor::new(Vec::new());
    {
        let mut theirs = IVFWriter::new(&mut out, &header).unwrap();
        for (i, frame) in frames().into_iter().enumerate() {
            // VP8 payload descriptor: S bit, partition 0; one packet per frame.
            let mut payload = vec![0x10];
            payload.extend(frame);
            theirs.write_rtp(&rtp(3000 * i as u32, payload)).unwrap();
        }
        theirs.close().unwrap();
    }
    let file = out.into_inner();

    let mut ours = IvfReader::new(file.as_slice()).unwrap();
    assert_eq!(ours.header().fourcc, IvfFourcc::Vp8);
    assert_eq!(ours.header().frame_count, 40);
    assert_eq!(ours.header().timebase_denominator, 30);
    for (i, frame) in frames().iter().enumerate() {
        let read = ours.next_frame().unwrap().expect("a frame");
        assert_eq!(read.data, frame[..], "frame {i}");
        assert_eq!(
            read.timestamp, i as u64,
            "webrtc-media stamps frame numbers"
        );
    }
    assert!(ours.next_frame().unwrap().is_none());
}

#[test]
fn our_ogg_opus_file_reads_identically_with_webrtc_media() {
    let mut writer = OggOpusWriter::new(Vec::new(), OggOpusConfig::new(0x1234_5678)).unwrap();
    for (i, packet) in opus_packets().iter().enumerate() {
        // Across the 32-bit wrap, 20 ms apart, with packet 30 lost.
        if i == 30 {
            continue;
        }
        writer
            .write_rtp_packet((u32::MAX - 5000).wrapping_add(960 * i as u32), packet)
            .unwrap();
    }
    let file = writer.finish().unwrap();

    let (mut theirs, head) = OggReader::new(Cursor::new(file), true).unwrap();
    assert_eq!((head.version, head.channels, head.pre_skip), (1, 2, 3840));
    assert_eq!(head.sample_rate, 48_000);
    let (tags, _) = theirs.parse_next_page().unwrap();
    assert!(tags.starts_with(b"OpusTags"));
    for (i, packet) in opus_packets().iter().enumerate() {
        if i == 30 {
            continue;
        }
        let (data, page) = theirs.parse_next_page().unwrap();
        assert_eq!(&data[..], &packet[..], "packet {i}");
        assert_eq!(
            page.granule_position,
            960 * (i as u64 + 1),
            "gaps keep real time"
        );
    }
    assert!(theirs.parse_next_page().is_err(), "no page after the last");
}

#[test]
fn an_ogg_opus_file_written_by_webrtc_media_reads_identically_with_ours() {
    let mut out = Vec::new();
    {
        let mut theirs = OggWriter::new(&mut out, 48_000, 2).unwrap();
        for (i, packet) in opus_packets().into_iter().enumerate() {
            theirs
                .write_rtp(&rtp(1000 + 960 * i as u32, packet))
                .unwrap();
        }
        theirs.close().unwrap();
    }

    let mut ours = OggOpusReader::new(out.as_slice()).unwrap();
    assert_eq!(ours.head().channels, 2);
    assert!(ours.tags().vendor.starts_with("WebRTC.rs"));
    assert!(
        !ours.tags().complete,
        "webrtc-media's OpusTags declares a 10-byte vendor and writes 9"
    );
    for (i, packet) in opus_packets().iter().enumerate() {
        let read = ours.next_packet().unwrap().expect("a packet");
        assert_eq!(read.data, packet[..], "packet {i}");
        assert_eq!(read.start, 960 * i as u64);
    }
    assert!(ours.next_packet().unwrap().is_none());
    let stats = ours.stats();
    assert_eq!(
        stats.duplicate_pages, 1,
        "its end-of-stream page repeats the last"
    );
    assert_eq!(stats.granule_shift, 959, "its granule positions start at 1");
}
