//! Fuzz-target bodies (feature `fuzzing`, also built for unit tests). Each takes arbitrary
//! bytes and must never panic; the round trips also check that what we write parses back
//! to itself.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::rtcp::{parse_compound, serialize_compound};
use crate::rtp::{ExtensionIds, RtpPacket};
use crate::{
    Codec, LocalTrackConfig, MediaSession, Mid, Output, PayloadType, RemoteCodec,
    RemoteTrackConfig, Sample, SessionConfig,
};

/// Parses arbitrary bytes as RTP.
pub fn rtp_parse(data: &[u8]) {
    let _ = RtpPacket::parse(&Bytes::copy_from_slice(data));
}

/// Parses arbitrary bytes as RTCP.
pub fn rtcp_parse(data: &[u8]) {
    let _ = parse_compound(&Bytes::copy_from_slice(data));
}

/// RTP: whatever parses serializes to something that parses back to the same packet.
///
/// # Panics
///
/// When the round trip does not hold: a bug.
pub fn rtp_round_trip(data: &[u8]) {
    let Ok(packet) = RtpPacket::parse(&Bytes::copy_from_slice(data)) else {
        return;
    };
    let wire = packet.serialize();
    let again = RtpPacket::parse(&wire).expect("our own serialization parses");
    assert_eq!(again.header.sequence_number, packet.header.sequence_number);
    assert_eq!(again.payload, packet.payload);
    assert_eq!(again.padding, packet.padding);
    assert_eq!(again.header.csrcs, packet.header.csrcs);
    // Element data longer than 255 bytes cannot exist after parsing, so extensions survive.
    assert_eq!(again.header.extensions, packet.header.extensions);
    assert_eq!(again.serialize(), wire);
}

/// RTCP: whatever parses serializes to something that parses back to the same packets
/// (unknown packets are dropped by serialization).
///
/// # Panics
///
/// When the round trip does not hold: a bug.
pub fn rtcp_round_trip(data: &[u8]) {
    let Ok(packets) = parse_compound(&Bytes::copy_from_slice(data)) else {
        return;
    };
    let known: Vec<_> = packets
        .into_iter()
        .filter(|p| !matches!(p, crate::rtcp::RtcpPacket::Unknown { .. }))
        .collect();
    if known.is_empty() {
        return;
    }
    let wire = serialize_compound(&known);
    let again = parse_compound(&wire).expect("our own serialization parses");
    assert_eq!(serialize_compound(&again), wire);
}

/// A receiving session (VP8 + RTX and Opus tracks, extensions negotiated) fed an
/// arbitrary sequence of RTP and RTCP packets and timer ticks. Each record: one byte of
/// kind (even: RTP, odd: RTCP, 0xFF: advance time), two bytes of length, the packet.
///
/// # Panics
///
/// When the session panics or emits RTCP that does not parse: a bug.
pub fn session_inputs(start: Instant, data: &[u8]) {
    let mut session = MediaSession::new(SessionConfig::with_seed(7), start).expect("valid config");
    let ids = ExtensionIds {
        mid: Some(1),
        abs_send_time: Some(2),
        transport_cc: Some(3),
    };
    let pt = |v| PayloadType::new(v).expect("below 128");
    let mut video = RemoteTrackConfig::new(Mid::new("v").expect("valid"), Codec::Vp8, pt(96));
    video.codecs = vec![
        RemoteCodec {
            codec: Codec::Vp8,
            payload_type: pt(96),
            rtx_payload_type: Some(pt(97)),
        },
        RemoteCodec {
            codec: Codec::H264,
            payload_type: pt(102),
            rtx_payload_type: None,
        },
        RemoteCodec {
            codec: Codec::Vp9,
            payload_type: pt(98),
            rtx_payload_type: None,
        },
    ];
    video.extensions = ids;
    let mut audio = RemoteTrackConfig::new(Mid::new("a").expect("valid"), Codec::Opus, pt(111));
    audio.extensions = ids;
    session.add_remote_track(video).expect("new track");
    session.add_remote_track(audio).expect("new track");
    let mut local = LocalTrackConfig::new(Mid::new("s").expect("valid"), Codec::Vp8, pt(96));
    local.extensions = ids;
    session.add_local_track(local).expect("new track");
    let _ = session.write_sample(
        start,
        &Mid::new("s").expect("valid"),
        &Sample::new(Bytes::from_static(&[0x10; 50]), Duration::from_millis(33)),
    );

    let mut now = start;
    let mut rest = data;
    while let [kind, hi, lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (packet, next) = tail.split_at(len);
        rest = next;
        let packet = Bytes::copy_from_slice(packet);
        match kind {
            0xFF => {
                now += Duration::from_millis(u64::from(*lo));
                session.handle_timeout(now);
            }
            k if k % 2 == 0 => {
                let _ = session.handle_rtp(now, &packet);
            }
            _ => {
                let _ = session.handle_rtcp(now, &packet);
            }
        }
        while let Some(output) = session.poll_output() {
            if let Output::Rtcp(rtcp) = output {
                parse_compound(&rtcp).expect("our own RTCP parses");
            }
        }
    }
    let _ = session.stats();
}

/// Reads arbitrary bytes as an IVF file to its end; whatever reads writes back to a file
/// that reads the same.
///
/// # Panics
///
/// When the round trip does not hold: a bug.
pub fn ivf_read(data: &[u8]) {
    use crate::container::{IvfReader, IvfWriter};
    let Ok(mut reader) = IvfReader::new(data) else {
        return;
    };
    let header = *reader.header();
    let mut frames = Vec::new();
    while let Ok(Some(frame)) = reader.next_frame() {
        frames.push(frame);
    }
    let mut writer =
        IvfWriter::new(std::io::Cursor::new(Vec::new()), header).expect("the header was valid");
    let mut written = Vec::new();
    for frame in &frames {
        // Timestamps in a file may go backwards; our writer refuses those.
        if writer.write_frame(frame.timestamp, &frame.data).is_ok() {
            written.push(frame.clone());
        }
    }
    let file = writer.finish().expect("writing to memory").into_inner();
    let mut again = IvfReader::new(file.as_slice()).expect("our own file reads");
    assert_eq!(again.header().frame_count as usize, written.len());
    for frame in &written {
        assert_eq!(
            again.next_frame().expect("our own frame reads").as_ref(),
            Some(frame)
        );
    }
    assert_eq!(again.next_frame().expect("clean end"), None);
}

/// Reads arbitrary bytes as an Ogg/Opus stream to its end; whatever packets read are
/// written again and read back with the same data and times.
///
/// # Panics
///
/// When the round trip does not hold: a bug.
pub fn ogg_opus_read(data: &[u8]) {
    use crate::container::{OggOpusConfig, OggOpusReader, OggOpusWriter};
    let Ok(mut reader) = OggOpusReader::new(data) else {
        return;
    };
    let _ = (reader.head(), reader.tags(), reader.stats());
    let mut packets = Vec::new();
    while let Ok(Some(packet)) = reader.next_packet() {
        packets.push(packet);
    }
    let mut writer = OggOpusWriter::new(Vec::new(), OggOpusConfig::new(reader.serial()))
        .expect("writing to memory");
    let mut written = Vec::new();
    for packet in &packets {
        if writer.write_packet_at(packet.start, &packet.data).is_ok() {
            written.push(packet);
        }
    }
    let file = writer.finish().expect("writing to memory");
    let mut again = OggOpusReader::new(file.as_slice()).expect("our own file reads");
    for packet in written {
        let read = again
            .next_packet()
            .expect("our own packet reads")
            .expect("present");
        assert_eq!((&read.data, read.start), (&packet.data, packet.start));
    }
    assert_eq!(again.next_packet().expect("clean end"), None);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzz_bodies_survive_their_seeds() {
        for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz-seeds"))
            .expect("seed directory")
        {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                for seed in std::fs::read_dir(&path).expect("seeds") {
                    let data = std::fs::read(seed.expect("seed").path()).expect("readable");
                    // The RTP and RTCP seeds are well formed, so they reach deep.
                    let bytes = Bytes::copy_from_slice(&data);
                    if path.ends_with("rtp") {
                        RtpPacket::parse(&bytes).expect("RTP seeds parse");
                    }
                    if path.ends_with("rtcp") {
                        parse_compound(&bytes).expect("RTCP seeds parse");
                    }
                    rtp_parse(&data);
                    rtcp_parse(&data);
                    rtp_round_trip(&data);
                    rtcp_round_trip(&data);
                    session_inputs(Instant::now(), &data);
                    ivf_read(&data);
                    ogg_opus_read(&data);
                    if path.ends_with("ivf") {
                        crate::container::IvfReader::new(data.as_slice()).expect("IVF seeds read");
                    }
                    if path.ends_with("ogg") {
                        crate::container::OggOpusReader::new(data.as_slice())
                            .expect("Ogg seeds read");
                    }
                }
            }
        }
    }

    #[test]
    fn fuzz_bodies_survive_pseudo_random_bytes() {
        let mut rng = crate::rng::Rng::new(1);
        for len in 0..400 {
            let data: Vec<u8> = (0..len).map(|_| rng.next_u32() as u8).collect();
            rtp_parse(&data);
            rtcp_parse(&data);
            rtp_round_trip(&data);
            rtcp_round_trip(&data);
            session_inputs(Instant::now(), &data);
            ivf_read(&data);
            ogg_opus_read(&data);
            // With valid version bits, so parsing gets further.
            let mut versioned = data.clone();
            if let Some(first) = versioned.first_mut() {
                *first = 0x80 | (*first & 0x3F);
            }
            rtp_round_trip(&versioned);
            rtcp_round_trip(&versioned);
        }
    }

    #[test]
    fn container_bodies_survive_every_single_byte_mutation_of_their_seeds() {
        for (dir, body) in [
            ("ivf", ivf_read as fn(&[u8])),
            ("ogg", ogg_opus_read as fn(&[u8])),
        ] {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz-seeds/").to_owned() + dir;
            for seed in std::fs::read_dir(path).expect("seeds") {
                let data = std::fs::read(seed.expect("seed").path()).expect("readable");
                for at in 0..data.len() {
                    for value in [0x00, 0x01, 0x7F, 0x80, 0xFF] {
                        let mut mutated = data.clone();
                        mutated[at] = value;
                        body(&mutated);
                        body(&mutated[..at]);
                        // With the pages' CRCs made right again, so the mutation reaches
                        // the lacing, the headers and the granule positions.
                        fix_ogg_crcs(&mut mutated);
                        body(&mutated);
                    }
                }
            }
        }
    }

    /// Recomputes the CRC of every page whose layout still holds together.
    fn fix_ogg_crcs(data: &mut [u8]) {
        let mut at = 0;
        while data.len() >= at + 27 && &data[at..at + 4] == b"OggS" {
            let segments_end = at + 27 + usize::from(data[at + 26]);
            let Some(lacing) = data.get(at + 27..segments_end) else {
                return;
            };
            let end = segments_end + lacing.iter().map(|&v| usize::from(v)).sum::<usize>();
            if end > data.len() {
                return;
            }
            data[at + 22..at + 26].fill(0);
            let crc = crate::container::ogg_crc32(&data[at..end]);
            data[at + 22..at + 26].copy_from_slice(&crc.to_le_bytes());
            at = end;
        }
    }
}
