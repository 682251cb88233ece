use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

const TAG: u32 = 0x1122_3344;

/// A packet from ports 5000 to 5000 with `TAG`, holding `chunks` (each padded here),
/// its checksum computed with the `crc` crate directly.
fn raw_packet(chunks: &[Vec<u8>]) -> Bytes {
    let mut out = vec![0x13, 0x88, 0x13, 0x88];
    out.extend_from_slice(&TAG.to_be_bytes());
    out.extend_from_slice(&[0; 4]);
    for chunk in chunks {
        out.extend_from_slice(chunk);
        out.resize(padded(out.len()), 0);
    }
    signed(out)
}

/// `packet` with its checksum set, as an independent CRC-32/ISCSI computes it.
fn signed(mut packet: Vec<u8>) -> Bytes {
    if packet.len() >= COMMON_HEADER_LEN {
        packet[8..12].fill(0);
        let sum = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI).checksum(&packet);
        packet[8..12].copy_from_slice(&sum.to_le_bytes());
    }
    Bytes::from(packet)
}

/// A chunk whose length field says `length` (normally `4 + value.len()`), unpadded.
fn chunk_with_length(kind: u8, flags: u8, length: u16, value: &[u8]) -> Vec<u8> {
    let mut out = vec![kind, flags];
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(value);
    out
}

/// A chunk whose length field is right, unpadded.
fn raw_chunk(kind: u8, flags: u8, value: &[u8]) -> Vec<u8> {
    chunk_with_length(kind, flags, (4 + value.len()) as u16, value)
}

/// A parameter or error cause, unpadded.
fn raw_param(kind: u16, value: &[u8]) -> Vec<u8> {
    let mut out = kind.to_be_bytes().to_vec();
    out.extend_from_slice(&((4 + value.len()) as u16).to_be_bytes());
    out.extend_from_slice(value);
    out
}

/// The fixed part of an INIT: tag 7, window 0x10000, 1024 streams each way, TSN 100.
fn init_fixed() -> Vec<u8> {
    let mut value = 7u32.to_be_bytes().to_vec();
    value.extend_from_slice(&0x1_0000u32.to_be_bytes());
    value.extend_from_slice(&[0x04, 0x00, 0x04, 0x00]);
    value.extend_from_slice(&100u32.to_be_bytes());
    value
}

/// An INIT value: the fixed part, then `params` each padded but the last.
fn init_value(params: &[Vec<u8>]) -> Vec<u8> {
    let mut value = init_fixed();
    for (i, param) in params.iter().enumerate() {
        value.extend_from_slice(param);
        if i + 1 < params.len() {
            value.resize(padded(value.len()), 0);
        }
    }
    value
}

fn data(payload: &'static [u8]) -> Data {
    Data {
        tsn: Tsn(0xffff_fffe),
        stream: 3,
        ssn: 9,
        ppid: 53,
        unordered: false,
        beginning: true,
        ending: true,
        immediate: false,
        payload: Bytes::from_static(payload),
    }
}

fn init() -> Init {
    Init {
        initiate_tag: 0xdead_beef,
        a_rwnd: 1 << 20,
        outbound_streams: 65535,
        inbound_streams: 1024,
        initial_tsn: Tsn(42),
        cookie: None,
        forward_tsn_supported: true,
        supported_extensions: vec![chunk_type::RECONFIG, chunk_type::FORWARD_TSN, 0x0f],
        unrecognized: Vec::new(),
        reported_unrecognized: Vec::new(),
    }
}

/// One of every chunk the codec knows, in as many shapes as the types allow (INIT and
/// `INIT-ACK` apart: they cannot share a packet).
fn every_bundleable_chunk() -> Vec<Chunk> {
    let mut chunks = data_chunks();
    chunks.extend(control_chunks());
    chunks.extend(reconfig_chunks());
    chunks
}

/// DATA with every combination of flags, with and without padding.
fn data_chunks() -> Vec<Chunk> {
    let mut chunks: Vec<Chunk> = (0u8..16)
        .map(|flags| {
            Chunk::Data(Data {
                unordered: flags & 4 != 0,
                beginning: flags & 2 != 0,
                ending: flags & 1 != 0,
                immediate: flags & 8 != 0,
                ..data(b"odd")
            })
        })
        .collect();
    chunks.push(Chunk::Data(data(b"four")));
    chunks
}

/// Every chunk but DATA, INIT, `INIT-ACK` and RE-CONFIG.
fn control_chunks() -> Vec<Chunk> {
    vec![
        Chunk::Sack(Sack::default()),
        Chunk::Sack(Sack {
            cumulative_tsn_ack: Tsn(u32::MAX),
            a_rwnd: 12345,
            gap_blocks: vec![(2, 3), (5, 65535)],
            duplicates: vec![Tsn(1), Tsn(7), Tsn(u32::MAX)],
        }),
        Chunk::Heartbeat(Bytes::from_static(b"seven b")),
        Chunk::Heartbeat(Bytes::new()),
        Chunk::HeartbeatAck(Bytes::from_static(b"0123456789abcdef")),
        Chunk::Abort {
            reflected: false,
            causes: Vec::new(),
        },
        Chunk::Abort {
            reflected: true,
            causes: vec![
                ErrorCause {
                    code: cause::USER_INITIATED_ABORT,
                    info: Bytes::from_static(b"bye"),
                },
                ErrorCause {
                    code: cause::PROTOCOL_VIOLATION,
                    info: Bytes::new(),
                },
            ],
        },
        Chunk::Shutdown {
            cumulative_tsn_ack: Tsn(99),
        },
        Chunk::ShutdownAck,
        Chunk::Error {
            causes: vec![ErrorCause {
                code: cause::INVALID_STREAM,
                info: Bytes::from_static(&[0, 5, 0, 0]),
            }],
        },
        Chunk::CookieEcho(Bytes::from_static(b"a cookie of odd size")),
        Chunk::CookieAck,
        Chunk::ShutdownComplete { reflected: false },
        Chunk::ShutdownComplete { reflected: true },
        Chunk::ForwardTsn(ForwardTsn {
            new_cumulative_tsn: Tsn(5),
            streams: Vec::new(),
        }),
        Chunk::ForwardTsn(ForwardTsn {
            new_cumulative_tsn: Tsn(0),
            streams: vec![(1, 2), (65535, 65535)],
        }),
        Chunk::Unknown {
            kind: 0x3f,
            flags: 0xa5,
            value: Bytes::from_static(b"xyz"),
        },
        Chunk::Unknown {
            kind: 0xc1,
            flags: 0,
            value: Bytes::new(),
        },
    ]
}

/// RE-CONFIG with each parameter, and a response with each result.
fn reconfig_chunks() -> Vec<Chunk> {
    let mut chunks = vec![
        Chunk::Reconfig(vec![ReconfigParam::OutgoingReset {
            request_seq: 1,
            response_seq: 2,
            sender_last_tsn: Tsn(3),
            streams: Vec::new(),
        }]),
        Chunk::Reconfig(vec![
            ReconfigParam::OutgoingReset {
                request_seq: 10,
                response_seq: 20,
                sender_last_tsn: Tsn(30),
                streams: vec![1, 3, 5],
            },
            ReconfigParam::IncomingReset {
                request_seq: 11,
                streams: vec![7],
            },
        ]),
        Chunk::Reconfig(vec![ReconfigParam::Other {
            kind: 17,
            value: Bytes::from_static(&[0, 0, 0, 1, 0, 2, 0]),
        }]),
    ];
    for result in [
        ReconfigResult::SuccessNothingToDo,
        ReconfigResult::SuccessPerformed,
        ReconfigResult::Denied,
        ReconfigResult::ErrorWrongSsn,
        ReconfigResult::ErrorRequestAlreadyInProgress,
        ReconfigResult::ErrorBadSequenceNumber,
        ReconfigResult::InProgress,
        ReconfigResult::Other(0x0102_0304),
    ] {
        chunks.push(Chunk::Reconfig(vec![ReconfigParam::Response {
            response_seq: 77,
            result,
        }]));
    }
    chunks
}

/// INIT and `INIT-ACK` in the shapes the writer can express.
fn every_init_chunk() -> Vec<Chunk> {
    vec![
        Chunk::Init(init()),
        Chunk::Init(Init {
            forward_tsn_supported: false,
            supported_extensions: Vec::new(),
            ..init()
        }),
        Chunk::Init(Init {
            cookie: Some(Bytes::new()),
            ..init()
        }),
        Chunk::InitAck(Init {
            cookie: Some(Bytes::from_static(b"thirteen byte")),
            ..init()
        }),
        Chunk::InitAck(Init {
            cookie: Some(Bytes::from_static(b"1234")),
            forward_tsn_supported: false,
            supported_extensions: vec![chunk_type::RECONFIG],
            ..init()
        }),
    ]
}

/// Writes `chunks` into one packet, checking each takes its `wire_len`.
fn write(chunks: &[Chunk]) -> Bytes {
    let mut writer = PacketWriter::new(5000, 5001, TAG);
    assert!(writer.is_empty());
    assert_eq!(writer.len(), COMMON_HEADER_LEN);
    for chunk in chunks {
        let before = writer.len();
        writer.push(chunk);
        assert_eq!(writer.len() - before, chunk.wire_len(), "{chunk:?}");
        assert!(!writer.is_empty());
    }
    let len = writer.len();
    let packet = writer.finish();
    assert_eq!(packet.len(), len);
    packet
}

#[test]
fn every_chunk_survives_a_round_trip_through_the_writer() {
    for chunk in every_bundleable_chunk()
        .into_iter()
        .chain(every_init_chunk())
    {
        let packet = write(std::slice::from_ref(&chunk));
        let parsed = Packet::parse(&packet).unwrap();
        assert_eq!(parsed.chunks, [chunk]);
    }
}

#[test]
fn a_packet_bundling_every_chunk_round_trips() {
    let chunks = every_bundleable_chunk();
    let packet = write(&chunks);
    assert_eq!(
        Packet::parse(&packet),
        Ok(Packet {
            source_port: 5000,
            destination_port: 5001,
            verification_tag: TAG,
            chunks,
        })
    );
}

#[test]
fn push_data_writes_what_push_writes() {
    let mut by_data = PacketWriter::new(1, 2, 3);
    let mut by_chunk = PacketWriter::new(1, 2, 3);
    for chunk in every_bundleable_chunk() {
        if let Chunk::Data(data) = &chunk {
            by_data.push_data(data);
            by_chunk.push(&chunk);
        }
    }
    assert_eq!(by_data.finish(), by_chunk.finish());
}

#[test]
fn data_flags_are_the_rfc_bits() {
    let packet = write(&[Chunk::Data(Data {
        unordered: true,
        beginning: false,
        ending: true,
        immediate: true,
        ..data(b"x")
    })]);
    // Type 0, flags I|U|E, length 17, padded to 20.
    assert_eq!(&packet[12..16], &[0, 0x0d, 0, 17]);
    assert_eq!(packet.len(), 12 + 20);
    let abort = write(&[Chunk::Abort {
        reflected: true,
        causes: Vec::new(),
    }]);
    assert_eq!(&abort[12..], &[6, 1, 0, 4]);
    let complete = write(&[Chunk::ShutdownComplete { reflected: true }]);
    assert_eq!(&complete[12..], &[14, 1, 0, 4]);
}

#[test]
fn the_last_parameter_padding_is_left_out_of_the_chunk_length() {
    // Heartbeat Info of 5 bytes: parameter length 9, chunk length 13, padded to 16.
    let packet = write(&[Chunk::Heartbeat(Bytes::from_static(b"12345"))]);
    assert_eq!(&packet[12..20], &[4, 0, 0, 13, 0, 1, 0, 9]);
    assert_eq!(packet.len(), 12 + 16);
    // An INIT-ACK whose cookie is last: its padding is not counted either.
    let init_ack = Chunk::InitAck(Init {
        forward_tsn_supported: false,
        supported_extensions: Vec::new(),
        cookie: Some(Bytes::from_static(b"abc")),
        ..init()
    });
    let packet = write(std::slice::from_ref(&init_ack));
    assert_eq!(&packet[12..16], &[2, 0, 0, 27]);
    assert_eq!(&packet[32..39], &[0, 7, 0, 7, b'a', b'b', b'c']);
}

#[test]
fn the_writer_stores_the_crc32c_little_endian() {
    // The CRC-32/ISCSI check value: the algorithm is the right one.
    assert_eq!(CRC32C.checksum(b"123456789"), 0xe306_9283);
    let packet = write(&[Chunk::CookieAck]);
    let mut zeroed = packet.to_vec();
    zeroed[8..12].fill(0);
    let expected = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI).checksum(&zeroed);
    assert_eq!(packet[8..12], expected.to_le_bytes());
}

#[test]
fn sealing_stores_the_checksum_parsing_expects_and_leaves_short_packets_alone() {
    let mut packet = [
        &raw_packet(&[])[..],
        &raw_chunk(chunk_type::COOKIE_ACK, 0, &[]),
    ]
    .concat();
    packet[8..12].fill(0xa5);
    seal(&mut packet);
    assert_eq!(Bytes::from(packet.clone()), signed(packet.clone()));
    assert!(Packet::parse(&Bytes::from(packet)).is_ok());
    let mut short = vec![0x13; COMMON_HEADER_LEN - 1];
    seal(&mut short);
    assert_eq!(
        short,
        [0x13; COMMON_HEADER_LEN - 1],
        "too short to carry a checksum"
    );
}

#[test]
fn a_header_only_packet_parses_with_its_fields() {
    let mut header = vec![0x13, 0x88, 0x00, 0x50];
    header.extend_from_slice(&0xa1b2_c3d4u32.to_be_bytes());
    header.extend_from_slice(&[0; 4]);
    assert_eq!(
        Packet::parse(&signed(header)),
        Ok(Packet {
            source_port: 5000,
            destination_port: 80,
            verification_tag: 0xa1b2_c3d4,
            chunks: Vec::new(),
        })
    );
}

#[test]
fn a_browser_style_init_parses_ignoring_what_webrtc_does_not_use() {
    // Built by hand the way browsers send it: Forward-TSN-Supported, Supported
    // Extensions, the AUTH parameters (Random 0x8002, Chunks 0x8004, HMAC 0x8003:
    // upper bits 10, skipped silently), ECN, Zero Checksum, an IPv4 address.
    let mut random = vec![0x5a; 32];
    random[0] = 1;
    let value = init_value(&[
        raw_param(param_type::FORWARD_TSN_SUPPORTED, &[]),
        raw_param(
            param_type::SUPPORTED_EXTENSIONS,
            &[0xc0, 0x0f, 0xc1, 0x80, 0x82],
        ),
        raw_param(0x8002, &random),
        raw_param(0x8004, &[0xc1, 0x00]),
        raw_param(param_type::ECN_CAPABLE, &[]),
        raw_param(param_type::ZERO_CHECKSUM_ACCEPTABLE, &[0, 0, 0, 1]),
        raw_param(param_type::IPV4_ADDRESS, &[192, 0, 2, 1]),
        raw_param(0x8003, &[0, 1]),
    ]);
    let packet = raw_packet(&[raw_chunk(chunk_type::INIT, 0, &value)]);
    let parsed = Packet::parse(&packet).unwrap();
    assert_eq!(parsed.source_port, 5000);
    assert_eq!(parsed.verification_tag, TAG);
    assert_eq!(
        parsed.chunks,
        [Chunk::Init(Init {
            initiate_tag: 7,
            a_rwnd: 0x1_0000,
            outbound_streams: 1024,
            inbound_streams: 1024,
            initial_tsn: Tsn(100),
            cookie: None,
            forward_tsn_supported: true,
            supported_extensions: vec![0xc0, 0x0f, 0xc1, 0x80, 0x82],
            unrecognized: Vec::new(),
            reported_unrecognized: Vec::new(),
        })]
    );
}

#[test]
fn unknown_init_parameters_follow_their_upper_bits() {
    let stop = raw_param(0x0123, b"s");
    let stop_report = raw_param(0x4123, b"sr");
    let skip = raw_param(0x8123, b"k");
    let skip_report = raw_param(0xc123, b"kr!");
    let cookie = raw_param(param_type::STATE_COOKIE, b"c");
    let parse = |params: &[Vec<u8>]| {
        let packet = raw_packet(&[raw_chunk(chunk_type::INIT, 0, &init_value(params))]);
        match Packet::parse(&packet).unwrap().chunks.as_slice() {
            [Chunk::Init(init)] => init.clone(),
            other => panic!("not one INIT: {other:?}"),
        }
    };
    // 10 and 11: skip, the second reported whole (header and value, unpadded).
    let init = parse(&[skip.clone(), skip_report.clone(), cookie.clone()]);
    assert_eq!(init.unrecognized, [Bytes::from(skip_report.clone())]);
    assert_eq!(init.cookie, Some(Bytes::from_static(b"c")));
    // 00: stop, report nothing.
    let init = parse(&[stop, skip_report.clone(), cookie.clone()]);
    assert!(init.unrecognized.is_empty());
    assert_eq!(init.cookie, None);
    // 01: stop, and report it.
    let init = parse(&[stop_report.clone(), skip_report, cookie]);
    assert_eq!(init.unrecognized, [Bytes::from(stop_report)]);
    assert_eq!(init.cookie, None);
}

#[test]
fn an_init_ack_reports_unrecognized_parameters_as_parameter_8() {
    let unknown = Bytes::from(raw_param(0xc123, b"kr!"));
    let answer = Chunk::InitAck(Init {
        cookie: Some(Bytes::from_static(b"cookie")),
        unrecognized: vec![unknown.clone(), Bytes::from(raw_param(0x4000, &[]))],
        ..init()
    });
    let packet = write(std::slice::from_ref(&answer));
    let Ok(Packet { chunks, .. }) = Packet::parse(&packet) else {
        panic!("the INIT-ACK does not parse");
    };
    let [Chunk::InitAck(parsed)] = chunks.as_slice() else {
        panic!("not one INIT-ACK: {chunks:?}");
    };
    assert!(parsed.unrecognized.is_empty());
    assert_eq!(
        parsed.reported_unrecognized,
        [unknown, Bytes::from(raw_param(0x4000, &[]))]
    );
    assert_eq!(parsed.cookie, Some(Bytes::from_static(b"cookie")));
    // An INIT carries no reports: parameter 8 there is ignored, and stops nothing.
    let value = init_value(&[
        raw_param(param_type::UNRECOGNIZED_PARAMETER, b"x"),
        raw_param(param_type::FORWARD_TSN_SUPPORTED, &[]),
    ]);
    let packet = raw_packet(&[raw_chunk(chunk_type::INIT, 0, &value)]);
    let Ok(Packet { chunks, .. }) = Packet::parse(&packet) else {
        panic!("the INIT does not parse");
    };
    let [Chunk::Init(parsed)] = chunks.as_slice() else {
        panic!("not one INIT: {chunks:?}");
    };
    assert!(parsed.reported_unrecognized.is_empty());
    assert!(parsed.forward_tsn_supported);
}

#[test]
fn a_reconfig_response_with_next_tsns_parses_without_them() {
    let mut value = 5u32.to_be_bytes().to_vec();
    value.extend_from_slice(&1u32.to_be_bytes());
    value.extend_from_slice(&100u32.to_be_bytes());
    value.extend_from_slice(&200u32.to_be_bytes());
    let packet = raw_packet(&[raw_chunk(
        chunk_type::RECONFIG,
        0,
        &raw_param(param_type::RECONFIG_RESPONSE, &value),
    )]);
    assert_eq!(
        Packet::parse(&packet).map(|p| p.chunks),
        Ok(vec![Chunk::Reconfig(vec![ReconfigParam::Response {
            response_seq: 5,
            result: ReconfigResult::SuccessPerformed,
        }])])
    );
}

#[test]
fn padding_counted_in_the_chunk_length_and_nonzero_padding_are_accepted() {
    // The last parameter's padding inside the chunk length: 8 + 8, not 8 + 5.
    let mut value = raw_param(param_type::HEARTBEAT_INFO, b"abcde");
    value.extend_from_slice(&[0, 0, 0]);
    let counted = raw_packet(&[raw_chunk(chunk_type::HEARTBEAT, 0, &value)]);
    assert_eq!(
        Packet::parse(&counted).map(|p| p.chunks),
        Ok(vec![Chunk::Heartbeat(Bytes::from_static(b"abcde"))])
    );
    // Padding bytes that are not zero: ignored (RFC 9260 §3.2).
    let mut bytes = raw_packet(&[raw_chunk(chunk_type::COOKIE_ECHO, 0, b"c")]).to_vec();
    bytes[17..20].fill(0xff);
    assert_eq!(
        Packet::parse(&signed(bytes)).map(|p| p.chunks),
        Ok(vec![Chunk::CookieEcho(Bytes::from_static(b"c"))])
    );
}

#[test]
fn parsed_payloads_share_the_datagram() {
    let packet = write(&[Chunk::Data(data(b"shared payload"))]);
    let Ok(Packet { chunks, .. }) = Packet::parse(&packet) else {
        panic!("the DATA packet does not parse");
    };
    let [Chunk::Data(parsed)] = chunks.as_slice() else {
        panic!("not one DATA: {chunks:?}");
    };
    let inside = packet.as_ptr_range();
    assert!(inside.contains(&parsed.payload.as_ptr()));
}

/// A packet that must be refused, what it is, and the reason to expect.
type Case = (&'static str, Bytes, MalformedPacket);

/// Every malformed packet below, with the reason it must be refused for.
fn malformed_cases() -> Vec<Case> {
    let mut cases = framing_cases();
    cases.extend(chunk_content_cases());
    cases.extend(parameter_cases());
    cases.extend(checksum_cases());
    cases
}

/// Packets whose header or chunks do not tile the datagram, or whose INIT has company.
fn framing_cases() -> Vec<Case> {
    use MalformedPacket::*;
    use chunk_type::*;
    let header_only = raw_packet(&[]);
    vec![
        ("empty", Bytes::new(), TooShort),
        ("eleven bytes", header_only.slice(..11), TooShort),
        (
            "two bytes after a chunk",
            signed([&raw_packet(&[raw_chunk(COOKIE_ACK, 0, &[])])[..], &[0, 0]].concat()),
            TruncatedChunkHeader,
        ),
        (
            "chunk length 3",
            raw_packet(&[chunk_with_length(COOKIE_ACK, 0, 3, &[0; 4])]),
            ChunkLengthTooShort,
        ),
        (
            "SHUTDOWN of length 4 followed by another chunk",
            raw_packet(&[
                chunk_with_length(SHUTDOWN, 0, 4, &[]),
                raw_chunk(COOKIE_ACK, 0, &[]),
            ]),
            ChunkLengthTooShort,
        ),
        (
            "FORWARD-TSN of length 4 followed by another chunk",
            raw_packet(&[
                chunk_with_length(FORWARD_TSN, 0, 4, &[]),
                raw_chunk(COOKIE_ACK, 0, &[]),
            ]),
            ChunkLengthTooShort,
        ),
        (
            "SHUTDOWN of length 5, its TSN cut short",
            raw_packet(&[chunk_with_length(SHUTDOWN, 0, 5, &[1, 0, 0, 0])]),
            ChunkLengthTooShort,
        ),
        (
            "DATA of 12",
            raw_packet(&[raw_chunk(DATA, 3, &[0; 8])]),
            ChunkLengthTooShort,
        ),
        (
            "INIT of 16",
            raw_packet(&[raw_chunk(INIT, 0, &[1; 12])]),
            ChunkLengthTooShort,
        ),
        (
            "SACK of 12",
            raw_packet(&[raw_chunk(SACK, 0, &[0; 8])]),
            ChunkLengthTooShort,
        ),
        (
            "HEARTBEAT without a parameter",
            raw_packet(&[raw_chunk(HEARTBEAT, 0, &[])]),
            ChunkLengthTooShort,
        ),
        (
            "RE-CONFIG without a parameter",
            raw_packet(&[raw_chunk(RECONFIG, 0, &[])]),
            ChunkLengthTooShort,
        ),
        (
            "a chunk longer than the packet",
            raw_packet(&[chunk_with_length(COOKIE_ECHO, 0, 100, &[0; 8])]),
            ChunkOverrun,
        ),
        (
            "DATA without its padding",
            signed(
                [
                    &header_only[..],
                    &raw_chunk(DATA, 3, &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 9]),
                ]
                .concat(),
            ),
            BadPadding,
        ),
        (
            "INIT then COOKIE-ACK",
            raw_packet(&[
                raw_chunk(INIT, 0, &init_fixed()),
                raw_chunk(COOKIE_ACK, 0, &[]),
            ]),
            InitNotAlone,
        ),
        (
            "COOKIE-ACK then INIT-ACK",
            raw_packet(&[
                raw_chunk(COOKIE_ACK, 0, &[]),
                raw_chunk(INIT_ACK, 0, &init_fixed()),
            ]),
            InitNotAlone,
        ),
    ]
}

/// Chunks whose length disagrees with what they hold.
fn chunk_content_cases() -> Vec<Case> {
    use MalformedPacket::*;
    use chunk_type::*;
    vec![
        (
            "SACK announcing a gap block it lacks",
            raw_packet(&[raw_chunk(SACK, 0, &[0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0])]),
            InconsistentChunkLength,
        ),
        (
            "SACK with a duplicate too many",
            raw_packet(&[raw_chunk(
                SACK,
                0,
                &[0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 2, 3, 4],
            )]),
            InconsistentChunkLength,
        ),
        (
            "SHUTDOWN of 12",
            raw_packet(&[raw_chunk(SHUTDOWN, 0, &[0; 8])]),
            InconsistentChunkLength,
        ),
        (
            "FORWARD-TSN with half a stream entry",
            raw_packet(&[raw_chunk(FORWARD_TSN, 0, &[0, 0, 0, 1, 0, 1])]),
            InconsistentChunkLength,
        ),
        (
            "COOKIE-ACK with a value",
            raw_packet(&[raw_chunk(COOKIE_ACK, 0, &[0; 4])]),
            InconsistentChunkLength,
        ),
        (
            "SHUTDOWN-ACK with a value",
            raw_packet(&[raw_chunk(SHUTDOWN_ACK, 0, &[0; 4])]),
            InconsistentChunkLength,
        ),
        (
            "SHUTDOWN-COMPLETE with a value",
            raw_packet(&[raw_chunk(SHUTDOWN_COMPLETE, 1, &[0; 4])]),
            InconsistentChunkLength,
        ),
        (
            "DATA without user data",
            raw_packet(&[raw_chunk(DATA, 3, &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 53])]),
            EmptyData,
        ),
    ]
}

/// Parameters and error causes that do not tile their chunk, or do not fit their type.
fn parameter_cases() -> Vec<Case> {
    use MalformedPacket::*;
    use chunk_type::*;
    vec![
        (
            "INIT parameter of length 2",
            raw_packet(&[raw_chunk(
                INIT,
                0,
                &[init_fixed(), vec![0x80, 0x08, 0, 2]].concat(),
            )]),
            MalformedParameter,
        ),
        (
            "INIT parameter running past the chunk",
            raw_packet(&[raw_chunk(
                INIT,
                0,
                &[init_fixed(), vec![0, 7, 0, 12, 1, 2, 3, 4]].concat(),
            )]),
            MalformedParameter,
        ),
        (
            "INIT parameter followed by two stray bytes",
            raw_packet(&[raw_chunk(
                INIT,
                0,
                &[init_fixed(), vec![0xc0, 0, 0, 4, 0, 0]].concat(),
            )]),
            MalformedParameter,
        ),
        (
            "a chunk ending inside a parameter's padding",
            raw_packet(&[raw_chunk(ERROR, 0, &[0, 1, 0, 5, 9, 0])]),
            MalformedParameter,
        ),
        (
            "ABORT cause of length 3",
            raw_packet(&[raw_chunk(ABORT, 0, &[0, 12, 0, 3])]),
            MalformedParameter,
        ),
        (
            "HEARTBEAT without Heartbeat Info",
            raw_packet(&[raw_chunk(HEARTBEAT, 0, &raw_param(2, b"info"))]),
            MalformedParameter,
        ),
        (
            "Outgoing SSN Reset Request with half a stream number",
            raw_packet(&[raw_chunk(
                RECONFIG,
                0,
                &raw_param(param_type::OUTGOING_RESET, &[0; 13]),
            )]),
            MalformedParameter,
        ),
        (
            "Outgoing SSN Reset Request without its last TSN",
            raw_packet(&[raw_chunk(
                RECONFIG,
                0,
                &raw_param(param_type::OUTGOING_RESET, &[0; 8]),
            )]),
            MalformedParameter,
        ),
        (
            "Incoming SSN Reset Request with half a stream number",
            raw_packet(&[raw_chunk(
                RECONFIG,
                0,
                &raw_param(param_type::INCOMING_RESET, &[0; 5]),
            )]),
            MalformedParameter,
        ),
        (
            "Re-configuration Response with one next TSN",
            raw_packet(&[raw_chunk(
                RECONFIG,
                0,
                &raw_param(param_type::RECONFIG_RESPONSE, &[0; 12]),
            )]),
            MalformedParameter,
        ),
    ]
}

/// Packets whose checksum does not match.
fn checksum_cases() -> Vec<Case> {
    use MalformedPacket::BadChecksum;
    let mut cases = Vec::new();
    let mut corrupt = write(&[Chunk::Data(data(b"payload"))]).to_vec();
    corrupt[8] ^= 0x01;
    cases.push(("a checksum bit flipped", Bytes::from(corrupt), BadChecksum));
    let mut corrupt = write(&[Chunk::Data(data(b"payload"))]).to_vec();
    corrupt[30] ^= 0x80;
    cases.push(("a payload bit flipped", Bytes::from(corrupt), BadChecksum));
    let mut big_endian = write(&[Chunk::CookieAck]).to_vec();
    big_endian[8..12].reverse();
    cases.push((
        "the checksum stored big-endian",
        Bytes::from(big_endian),
        BadChecksum,
    ));
    cases
}

#[test]
fn each_malformation_is_refused_for_its_reason() {
    for (name, packet, reason) in malformed_cases() {
        assert_eq!(Packet::parse(&packet), Err(reason), "{name}");
    }
}

#[test]
fn every_truncation_of_a_packet_is_refused() {
    let packet = write(&every_bundleable_chunk());
    for len in 0..packet.len() {
        assert!(Packet::parse(&packet.slice(..len)).is_err(), "length {len}");
    }
    for init in every_init_chunk() {
        let packet = write(&[init]);
        for len in 0..packet.len() {
            assert!(Packet::parse(&packet.slice(..len)).is_err(), "length {len}");
        }
    }
}

#[test]
fn a_truncation_with_a_fixed_checksum_parses_only_at_a_chunk_boundary() {
    let chunks = every_bundleable_chunk();
    let packet = write(&chunks);
    let mut boundaries = vec![COMMON_HEADER_LEN];
    for chunk in &chunks {
        boundaries.push(boundaries[boundaries.len() - 1] + chunk.wire_len());
    }
    for len in COMMON_HEADER_LEN..packet.len() {
        let truncated = signed(packet[..len].to_vec());
        match boundaries.iter().position(|&boundary| boundary == len) {
            Some(count) => {
                assert_eq!(Packet::parse(&truncated).unwrap().chunks, chunks[..count]);
            }
            None => assert!(Packet::parse(&truncated).is_err(), "length {len}"),
        }
    }
}

#[test]
fn mutated_packets_never_panic_and_what_parses_writes_back() {
    let mut rng = StdRng::seed_from_u64(0x5c79);
    let mut seeds: Vec<Bytes> = every_init_chunk()
        .into_iter()
        .map(|c| write(&[c]))
        .collect();
    seeds.push(write(&every_bundleable_chunk()));
    seeds.extend(malformed_cases().into_iter().map(|(_, packet, _)| packet));
    let mut parsed = 0;
    for round in 0..20_000 {
        let mut bytes = seeds[round % seeds.len()].to_vec();
        for _ in 0..rng.random_range(1..4) {
            if bytes.is_empty() {
                break;
            }
            let at = rng.random_range(0..bytes.len());
            match rng.random_range(0..3) {
                0 => bytes[at] = rng.random(),
                1 => bytes.truncate(at),
                _ => bytes.insert(at, rng.random()),
            }
        }
        let Ok(packet) = Packet::parse(&signed(bytes)) else {
            continue;
        };
        parsed += 1;
        let again = Packet::parse(&packet.write()).unwrap();
        assert_eq!(again.chunks.len(), packet.chunks.len());
    }
    assert!(parsed > 100, "only {parsed} mutated packets parsed");
}
