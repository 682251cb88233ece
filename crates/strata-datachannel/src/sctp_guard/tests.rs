use super::*;

const MY_TAG: u32 = 0x1122_3344;
const PEER_TAG: u32 = 0x5566_7788;

fn packet(tag: u32, chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![0x13, 0x88, 0x13, 0x88];
    out.extend_from_slice(&tag.to_be_bytes());
    out.extend_from_slice(&[0; 4]);
    for chunk in chunks {
        out.extend_from_slice(chunk);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    }
    out
}

/// A chunk whose length field says `length` (normally `4 + value.len()`).
fn chunk_with_length(kind: u8, flags: u8, length: u16, value: &[u8]) -> Vec<u8> {
    let mut out = vec![kind, flags];
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(value);
    out
}

fn chunk(kind: u8, value: &[u8]) -> Vec<u8> {
    chunk_with_length(kind, 0, (4 + value.len()) as u16, value)
}

fn init(kind: u8, tag: u32, initial_tsn: u32) -> Vec<u8> {
    let mut value = Vec::new();
    value.extend_from_slice(&tag.to_be_bytes());
    value.extend_from_slice(&1_048_576u32.to_be_bytes());
    value.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
    value.extend_from_slice(&initial_tsn.to_be_bytes());
    // Supported extensions: FORWARD-TSN, RECONFIG (6 bytes: padded, last).
    value.extend_from_slice(&[0x80, 0x08, 0x00, 0x06, 0xc0, 0x82]);
    chunk(kind, &value)
}

fn data(tsn: u32, ppid: u32, payload: &[u8]) -> Vec<u8> {
    let mut value = tsn.to_be_bytes().to_vec();
    value.extend_from_slice(&[0, 1, 0, 0]);
    value.extend_from_slice(&ppid.to_be_bytes());
    value.extend_from_slice(payload);
    chunk_with_length(DATA, 0x03, (4 + value.len()) as u16, &value)
}

fn sack(cumulative: u32) -> Vec<u8> {
    let mut value = cumulative.to_be_bytes().to_vec();
    value.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    chunk(SACK, &value)
}

/// A guard that has seen the handshake: our tag, the peer's tag, the peer's TSN 1000.
fn established() -> PacketGuard {
    let mut guard = PacketGuard::new();
    guard.inspect_outbound(&packet(0, &[init(INIT, MY_TAG, 7)]));
    guard
        .inspect_inbound(&packet(MY_TAG, &[init(INIT_ACK, PEER_TAG, 1001)]))
        .unwrap();
    guard
}

#[test]
fn a_well_formed_data_packet_passes() {
    let mut guard = established();
    let signals = guard
        .inspect_inbound(&packet(MY_TAG, &[data(1001, 53, b"hello"), sack(7)]))
        .unwrap();
    assert_eq!(signals, InboundSignals::default());
}

#[test]
fn shutdown_with_a_short_length_field_is_dropped() {
    // The packet webrtc-sctp panics on: SHUTDOWN claims 4 bytes, 4 more follow.
    let mut guard = established();
    let bytes = packet(
        MY_TAG,
        &[chunk_with_length(SHUTDOWN, 0, 4, &[]), chunk(11, &[])],
    );
    assert_eq!(
        guard.inspect_inbound(&bytes),
        Err(MalformedPacket::ChunkLengthTooShort)
    );
    let bytes = packet(MY_TAG, &[chunk_with_length(SHUTDOWN, 0, 5, &[1, 0, 0, 0])]);
    assert_eq!(
        guard.inspect_inbound(&bytes),
        Err(MalformedPacket::ChunkLengthTooShort)
    );
    let bytes = packet(
        MY_TAG,
        &[chunk_with_length(SHUTDOWN, 0, 4, &[]), sack(1000)],
    );
    assert_eq!(
        guard.inspect_inbound(&bytes),
        Err(MalformedPacket::ChunkLengthTooShort)
    );
    let bytes = packet(MY_TAG, &[chunk(SHUTDOWN, &[0; 8])]);
    assert_eq!(
        guard.inspect_inbound(&bytes),
        Err(MalformedPacket::InconsistentChunkLength)
    );
    assert_eq!(guard.dropped().total(), 4);
    assert_eq!(guard.dropped().get(MalformedPacket::ChunkLengthTooShort), 3);
}

#[test]
fn forward_tsn_with_a_short_length_field_is_dropped() {
    let mut guard = established();
    let bytes = packet(
        MY_TAG,
        &[chunk_with_length(FORWARD_TSN, 0, 4, &[]), sack(1000)],
    );
    assert_eq!(
        guard.inspect_inbound(&bytes),
        Err(MalformedPacket::ChunkLengthTooShort)
    );
    let bytes = packet(MY_TAG, &[chunk(FORWARD_TSN, &[0, 0, 3, 0xe9, 0, 1])]);
    assert_eq!(
        guard.inspect_inbound(&bytes),
        Err(MalformedPacket::InconsistentChunkLength)
    );
}

#[test]
fn init_followed_by_more_bytes_is_dropped() {
    let mut guard = PacketGuard::new();
    let bytes = packet(0, &[init(INIT, PEER_TAG, 1), chunk(11, &[])]);
    assert_eq!(
        guard.inspect_inbound(&bytes),
        Err(MalformedPacket::InitNotAlone)
    );
    let mut bad_param = init(INIT, PEER_TAG, 1);
    let len = bad_param.len();
    bad_param[len - 3] = 0x40; // the last parameter claims 64 bytes
    assert_eq!(
        guard.inspect_inbound(&packet(0, &[bad_param])),
        Err(MalformedPacket::MalformedParameter)
    );
    assert!(
        guard
            .inspect_inbound(&packet(0, &[init(INIT, PEER_TAG, 1)]))
            .is_ok()
    );
}

#[test]
fn absurd_forward_tsn_and_far_future_data_are_dropped() {
    let mut guard = established();
    let fwd = |tsn: u32| packet(MY_TAG, &[chunk(FORWARD_TSN, &tsn.to_be_bytes())]);
    assert!(guard.inspect_inbound(&fwd(1000 + MAX_TSN_LEAD)).is_ok());
    assert_eq!(
        guard.inspect_inbound(&fwd(1000 + MAX_TSN_LEAD + 1)),
        Err(MalformedPacket::ForwardTsnOutOfWindow)
    );
    assert_eq!(
        guard.inspect_inbound(&fwd(1000u32.wrapping_add((1 << 31) - 1))),
        Err(MalformedPacket::ForwardTsnOutOfWindow)
    );
    // Old values are duplicates, not attacks.
    assert!(guard.inspect_inbound(&fwd(10)).is_ok());
    assert_eq!(
        guard.inspect_inbound(&packet(MY_TAG, &[data(1000 + 70_000, 53, b"x")])),
        Err(MalformedPacket::DataTsnOutOfWindow)
    );
    // The window follows the cumulative TSN we acknowledge.
    guard.inspect_outbound(&packet(PEER_TAG, &[sack(1000 + 60_000)]));
    assert!(
        guard
            .inspect_inbound(&packet(MY_TAG, &[data(1000 + 70_000, 53, b"x")]))
            .is_ok()
    );
}

#[test]
fn the_window_wraps_around_the_tsn_space() {
    let mut guard = PacketGuard::new();
    guard.inspect_outbound(&packet(0, &[init(INIT, MY_TAG, 7)]));
    guard
        .inspect_inbound(&packet(MY_TAG, &[init(INIT_ACK, PEER_TAG, u32::MAX - 5)]))
        .unwrap();
    assert!(
        guard
            .inspect_inbound(&packet(MY_TAG, &[data(3, 53, b"x")]))
            .is_ok()
    );
}

#[test]
fn the_verification_tag_is_checked_once_known() {
    let mut guard = established();
    assert_eq!(
        guard.inspect_inbound(&packet(MY_TAG ^ 1, &[sack(7)])),
        Err(MalformedPacket::VerificationTag)
    );
    assert_eq!(
        guard.inspect_inbound(&packet(5, &[init(INIT, PEER_TAG, 1)])),
        Err(MalformedPacket::VerificationTag)
    );
    // ABORT with the T bit reflects the peer's own tag.
    let abort = chunk_with_length(ABORT, 1, 4, &[]);
    assert!(
        guard
            .inspect_inbound(&packet(PEER_TAG, &[abort]))
            .unwrap()
            .abort
    );
}

#[test]
fn empty_data_and_inconsistent_sacks_are_dropped() {
    let mut guard = established();
    assert_eq!(
        guard.inspect_inbound(&packet(MY_TAG, &[data(1001, 53, b"")])),
        Err(MalformedPacket::EmptyData)
    );
    let mut value = 7u32.to_be_bytes().to_vec();
    value.extend_from_slice(&[0, 1, 0, 0, 0, 9, 0, 0]); // nine gap blocks, none present
    assert_eq!(
        guard.inspect_inbound(&packet(MY_TAG, &[chunk(SACK, &value)])),
        Err(MalformedPacket::InconsistentChunkLength)
    );
}

#[test]
fn signals_report_resets_shutdowns_and_deprecated_ppids() {
    let mut guard = established();
    let mut param = vec![0, 13, 0, 20];
    param.extend_from_slice(&[0; 12]);
    param.extend_from_slice(&[0, 3, 0, 5]);
    let signals = guard
        .inspect_inbound(&packet(
            MY_TAG,
            &[chunk(RECONFIG, &param), data(1001, 54, b"x")],
        ))
        .unwrap();
    assert_eq!(signals.resets, vec![ResetStreams::Listed(vec![3, 5])]);
    assert_eq!(signals.deprecated_ppid_chunks, 1);
    assert_eq!(guard.deprecated_ppid_chunks(), 1);
    let signals = guard
        .inspect_inbound(&packet(MY_TAG, &[chunk(SHUTDOWN, &1000u32.to_be_bytes())]))
        .unwrap();
    assert!(signals.shutdown);
}

#[test]
fn truncations_of_a_valid_packet_never_panic() {
    let mut guard = established();
    let full = packet(
        MY_TAG,
        &[
            data(1001, 53, b"hello world"),
            sack(7),
            chunk(FORWARD_TSN, &1001u32.to_be_bytes()),
        ],
    );
    for len in 0..full.len() {
        let _ = guard.inspect_inbound(&full[..len]);
    }
    assert!(guard.inspect_inbound(&full).is_ok());
}

fn signed(mut packet: Vec<u8>) -> Vec<u8> {
    sign(&mut packet);
    packet
}

fn stored_checksum(packet: &[u8]) -> u32 {
    u32::from_le_bytes([packet[8], packet[9], packet[10], packet[11]])
}

#[test]
fn signing_writes_the_checksum_and_leaves_short_packets_alone() {
    let packet = signed(packet(MY_TAG, &[sack(7)]));
    assert_eq!(stored_checksum(&packet), checksum(&packet));
    assert_ne!(stored_checksum(&packet), 0);
    let mut short = vec![0; 8];
    sign(&mut short);
    assert_eq!(short, [0; 8], "too short to carry a checksum");
}

#[test]
fn a_wake_packet_repeats_the_acknowledged_tsn_and_passes_the_guard() {
    assert_eq!(PacketGuard::new().wake_packet(), None, "nothing known yet");
    let mut guard = established();
    guard.inspect_outbound(&packet(PEER_TAG, &[sack(1010)]));
    let wake = guard.wake_packet().expect("established");
    assert_eq!(stored_checksum(&wake), checksum(&wake));
    assert_eq!(be32(&wake, 4), MY_TAG);
    assert_eq!(&wake[..4], &[0x13, 0x88, 0x13, 0x88], "the peer's ports");
    let at = COMMON_HEADER_LEN;
    assert_eq!(wake[at], DATA, "one DATA chunk");
    assert_eq!(wake[at + 1] & DATA_FLAG_IMMEDIATE, DATA_FLAG_IMMEDIATE);
    assert_eq!(
        be32(&wake, at + 4),
        1010,
        "the TSN we acknowledged: a duplicate"
    );
    assert!(guard.inspect_inbound(&wake).is_ok());
}

#[test]
fn resent_data_inits_and_cookie_echoes_are_counted_as_retransmissions() {
    let mut guard = PacketGuard::new();
    guard.inspect_outbound(&packet(0, &[init(INIT, MY_TAG, 7)]));
    assert_eq!(guard.retransmitted_chunks(), 0);
    // The INIT timer fired.
    guard.inspect_outbound(&packet(0, &[init(INIT, MY_TAG, 7)]));
    assert_eq!(guard.retransmitted_chunks(), 1);
    let cookie = chunk(COOKIE_ECHO, &[1, 2, 3, 4]);
    guard.inspect_outbound(&packet(PEER_TAG, std::slice::from_ref(&cookie)));
    assert_eq!(guard.retransmitted_chunks(), 1);
    guard.inspect_outbound(&packet(PEER_TAG, &[cookie]));
    assert_eq!(guard.retransmitted_chunks(), 2);
    // New TSNs are not retransmissions, across the wrap of the TSN space too; an old
    // one is.
    for tsn in [u32::MAX - 1, u32::MAX, 0, 1] {
        guard.inspect_outbound(&packet(PEER_TAG, &[data(tsn, 51, b"x")]));
    }
    assert_eq!(guard.retransmitted_chunks(), 2);
    guard.inspect_outbound(&packet(
        PEER_TAG,
        &[data(u32::MAX, 51, b"x"), data(1, 51, b"x")],
    ));
    assert_eq!(guard.retransmitted_chunks(), 4);
}
