//! Corrupt IVF and Ogg/Opus input gives a typed `Error::MalformedFile` naming the
//! problem and where it is; never a panic, never an allocation of a declared size.

use std::io::Cursor;

use strata_media::container::{
    IvfFourcc, IvfHeader, IvfReader, IvfWriter, MAX_OGG_PACKET_SIZE, OggOpusConfig, OggOpusReader,
    OggOpusWriter, ogg_crc32,
};
use strata_media::{Error, FileProblem};

fn problem<T: std::fmt::Debug>(result: Result<T, Error>) -> (u64, FileProblem) {
    match result {
        Err(Error::MalformedFile {
            offset, problem, ..
        }) => (offset, problem),
        other => panic!("expected a malformed-file error, got {other:?}"),
    }
}

fn read_ivf(file: &[u8]) -> Result<usize, Error> {
    let mut reader = IvfReader::new(file)?;
    let mut frames = 0;
    while reader.next_frame()?.is_some() {
        frames += 1;
    }
    Ok(frames)
}

fn read_ogg(file: &[u8]) -> Result<Vec<(Vec<u8>, u64)>, Error> {
    let mut reader = OggOpusReader::new(file)?;
    let mut packets = Vec::new();
    while let Some(packet) = reader.next_packet()? {
        packets.push((packet.data.to_vec(), packet.start));
    }
    Ok(packets)
}

fn ivf_file() -> Vec<u8> {
    let mut writer =
        IvfWriter::new(Cursor::new(Vec::new()), IvfHeader::for_rtp(IvfFourcc::Vp9)).unwrap();
    writer.write_rtp_frame(0, &[0x82; 100]).unwrap();
    writer.write_rtp_frame(3000, &[0x86; 50]).unwrap();
    writer.finish().unwrap().into_inner()
}

/// An Ogg page with a correct CRC.
fn page(flags: u8, granule: u64, sequence: u32, lacing: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = b"OggS\0".to_vec();
    out.push(flags);
    out.extend_from_slice(&granule.to_le_bytes());
    out.extend_from_slice(&77u32.to_le_bytes());
    out.extend_from_slice(&sequence.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.push(lacing.len() as u8);
    out.extend_from_slice(lacing);
    out.extend_from_slice(body);
    let crc = ogg_crc32(&out);
    out[22..26].copy_from_slice(&crc.to_le_bytes());
    out
}

/// The two header pages of a stream with serial 77.
fn headers() -> Vec<u8> {
    let file = OggOpusWriter::new(Vec::new(), OggOpusConfig::new(77))
        .unwrap()
        .finish()
        .unwrap();
    // Drop the empty end-of-stream page (27 bytes, no segments).
    file[..file.len() - 27].to_vec()
}

fn opus(len: usize, tag: u8) -> Vec<u8> {
    let mut packet = vec![tag; len];
    packet[0] = 0x78;
    packet
}

#[test]
fn an_ivf_file_with_a_bad_signature_is_refused() {
    let mut file = ivf_file();
    file[..4].copy_from_slice(b"RIFF");
    assert_eq!(problem(read_ivf(&file)), (0, FileProblem::BadSignature));
}

#[test]
fn an_ivf_file_with_a_zero_timebase_is_refused() {
    let mut file = ivf_file();
    file[16..20].fill(0);
    assert_eq!(problem(read_ivf(&file)), (16, FileProblem::ZeroTimebase));
}

#[test]
fn a_truncated_ivf_frame_is_an_error_at_the_truncation() {
    let file = ivf_file();
    assert_eq!(read_ivf(&file).unwrap(), 2);
    let cut = file.len() - 10;
    assert_eq!(
        problem(read_ivf(&file[..cut])),
        (cut as u64, FileProblem::Truncated("frame"))
    );
    let cut = 32 + 12 + 100 + 5;
    assert_eq!(
        problem(read_ivf(&file[..cut])),
        (cut as u64, FileProblem::Truncated("frame header"))
    );
}

#[test]
fn a_huge_declared_ivf_frame_size_is_refused_before_any_allocation() {
    let mut file = ivf_file();
    file[32..36].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    assert!(matches!(
        problem(read_ivf(&file)),
        (32, FileProblem::TooLarge { what: "frame", .. })
    ));
}

#[test]
fn an_ogg_page_with_a_bad_capture_pattern_is_refused() {
    let mut file = headers();
    file[0] = b'o';
    assert_eq!(problem(read_ogg(&file)), (0, FileProblem::BadSignature));
}

#[test]
fn an_ogg_page_with_a_bad_crc_is_refused() {
    let mut file = headers();
    file.extend(page(0, 960, 2, &[10], &opus(10, 1)));
    let last = file.len() - 1;
    file[last] ^= 0x40;
    let at = headers().len() as u64;
    assert!(matches!(
        problem(read_ogg(&file)),
        (offset, FileProblem::BadCrc { .. }) if offset == at + 22
    ));
}

#[test]
fn an_ogg_page_of_another_version_is_refused() {
    let mut file = headers();
    let mut bad = page(0, 960, 2, &[10], &opus(10, 1));
    bad[4] = 1;
    file.extend(bad);
    assert!(matches!(
        problem(read_ogg(&file)),
        (_, FileProblem::UnsupportedVersion(1))
    ));
}

#[test]
fn a_truncated_ogg_page_is_an_error_at_the_truncation() {
    let mut file = headers();
    file.extend(page(0, 960, 2, &[200], &opus(200, 1)));
    for cut in [headers().len() + 10, headers().len() + 27, file.len() - 1] {
        let (offset, found) = problem(read_ogg(&file[..cut]));
        assert_eq!(offset, cut as u64);
        assert!(matches!(found, FileProblem::Truncated(_)), "{found:?}");
    }
}

#[test]
fn a_stream_whose_writer_died_ends_where_the_data_ends() {
    let mut file = Vec::new();
    let mut writer = OggOpusWriter::new(&mut file, OggOpusConfig::new(1)).unwrap();
    for i in 0..4 {
        writer.write_packet(&opus(30, i)).unwrap();
    }
    // Never finished: the packet held for the last page is lost, the pages before it read.
    drop(writer);
    let packets = read_ogg(&file).unwrap();
    assert_eq!(
        packets,
        [(opus(30, 0), 0), (opus(30, 1), 960), (opus(30, 2), 1920)]
    );
}

#[test]
fn zero_length_segments_end_packets_of_a_multiple_of_255_bytes() {
    let mut file = headers();
    let packet = opus(510, 5);
    file.extend(page(0x04, 960, 2, &[255, 255, 0], &packet));
    assert_eq!(read_ogg(&file).unwrap(), [(packet, 0)]);
}

#[test]
fn a_zero_length_audio_packet_is_refused() {
    let mut file = headers();
    file.extend(page(0, 960, 2, &[0], &[]));
    assert_eq!(
        problem(read_ogg(&file)).1,
        FileProblem::BadOpusPacket("empty packet")
    );
}

#[test]
fn a_page_without_segments_is_skipped() {
    let mut file = headers();
    file.extend(page(0, u64::MAX, 2, &[], &[]));
    file.extend(page(0x04, 960, 3, &[10], &opus(10, 1)));
    assert_eq!(read_ogg(&file).unwrap().len(), 1);
}

#[test]
fn a_continued_page_with_nothing_to_continue_is_refused() {
    let mut file = headers();
    file.extend(page(0x01, 960, 2, &[10], &opus(10, 1)));
    assert_eq!(problem(read_ogg(&file)).1, FileProblem::BadContinuation);
}

#[test]
fn a_packet_left_open_then_not_continued_is_refused() {
    let mut file = headers();
    file.extend(page(0, u64::MAX, 2, &[255], &opus(255, 1)));
    file.extend(page(0, 960, 3, &[10], &opus(10, 2)));
    assert_eq!(problem(read_ogg(&file)).1, FileProblem::BadContinuation);
}

#[test]
fn a_page_sequence_going_backwards_is_refused() {
    let mut file = headers();
    file.extend(page(0, 960, 5, &[10], &opus(10, 1)));
    file.extend(page(0, 1920, 4, &[10], &opus(10, 2)));
    assert_eq!(
        problem(read_ogg(&file)).1,
        FileProblem::PageSequenceBackwards {
            previous: 5,
            found: 4
        }
    );
}

#[test]
fn a_lost_page_drops_only_the_packet_it_cut() {
    let mut file = headers();
    let long = opus(300, 3);
    file.extend(page(0, 960, 2, &[10], &opus(10, 1)));
    // Page 3 held the start of `long` and is lost; page 4 holds its end and a packet.
    file.extend(page(
        0x01,
        2 * 960 + 960,
        4,
        &[45, 10],
        &[&long[255..], &opus(10, 4)[..]].concat(),
    ));
    let mut reader = OggOpusReader::new(file.as_slice()).unwrap();
    assert_eq!(reader.next_packet().unwrap().unwrap().start, 0);
    let after = reader.next_packet().unwrap().unwrap();
    assert_eq!((after.data.to_vec(), after.start), (opus(10, 4), 1920));
    assert!(reader.next_packet().unwrap().is_none());
    let stats = reader.stats();
    assert_eq!((stats.lost_pages, stats.dropped_packets), (1, 1));
}

#[test]
fn a_granule_position_going_backwards_is_refused() {
    let mut file = headers();
    file.extend(page(0, 5000, 2, &[10], &opus(10, 1)));
    file.extend(page(0, 4000, 3, &[10], &opus(10, 2)));
    assert_eq!(
        problem(read_ogg(&file)).1,
        FileProblem::GranuleBackwards {
            previous: 5000,
            found: 4000
        }
    );
}

#[test]
fn packets_ending_on_a_page_without_a_granule_position_are_refused() {
    let mut file = headers();
    file.extend(page(0, u64::MAX, 2, &[10], &opus(10, 1)));
    assert_eq!(problem(read_ogg(&file)).1, FileProblem::MissingGranule);
}

#[test]
fn a_packet_growing_past_the_bound_across_pages_is_refused() {
    let mut file = headers();
    let full = vec![0x78; 255 * 255];
    let pages = MAX_OGG_PACKET_SIZE / full.len() + 1;
    for i in 0..pages {
        let flags = u8::from(i != 0); // continued after the first
        file.extend(page(flags, u64::MAX, 2 + i as u32, &[255; 255], &full));
    }
    assert!(matches!(
        problem(read_ogg(&file)).1,
        FileProblem::TooLarge { what: "packet", .. }
    ));
}

#[test]
fn a_first_page_that_is_not_an_opus_head_is_refused() {
    let vorbis = b"\x01vorbis\0\0\0\0\x02\x44\xac\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
    let not_opus = page(0x02, 0, 0, &[vorbis.len() as u8], vorbis);
    assert!(matches!(
        problem(read_ogg(&not_opus)).1,
        FileProblem::BadOpusHead(_)
    ));
    let mut three_channels = headers();
    three_channels[28 + 9] = 3; // channel count, family 0
    let crc_at = 22;
    three_channels[crc_at..crc_at + 4].fill(0);
    let end = 27 + 1 + 19;
    let crc = ogg_crc32(&three_channels[..end]);
    three_channels[crc_at..crc_at + 4].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(
        problem(read_ogg(&three_channels)).1,
        FileProblem::BadOpusHead("more than 2 channels in mapping family 0")
    );
}

#[test]
fn audio_on_the_last_header_page_is_refused() {
    let mut file = headers();
    let tags_page_at = 27 + 1 + 19;
    file.truncate(tags_page_at);
    let tags = b"OpusTags\x06\0\0\0strata\0\0\0\0";
    file.extend(page(
        0,
        0,
        1,
        &[tags.len() as u8, 10],
        &[&tags[..], &opus(10, 1)[..]].concat(),
    ));
    assert_eq!(
        problem(read_ogg(&file)).1,
        FileProblem::BadOpusTags("audio on the last header page")
    );
}

#[test]
fn an_empty_input_is_a_truncation_not_a_panic() {
    assert!(matches!(
        problem(read_ogg(&[])).1,
        FileProblem::Truncated(_)
    ));
    assert!(matches!(
        problem(read_ivf(&[])).1,
        FileProblem::Truncated(_)
    ));
}

#[test]
fn a_negative_granule_position_is_refused_and_never_overflows() {
    let mut file = headers();
    file.extend(page(0x04, u64::MAX - 100, 2, &[10], &opus(10, 1)));
    assert_eq!(problem(read_ogg(&file)).1, FileProblem::MissingGranule);
    let mut writer = OggOpusWriter::new(Vec::new(), OggOpusConfig::new(1)).unwrap();
    assert!(matches!(
        writer.write_packet_at(i64::MAX as u64 - 10, &opus(10, 1)),
        Err(Error::CannotWrite { .. })
    ));
}
