//! Which protocol a datagram on the shared UDP flow belongs to (RFC 7983, as updated by
//! RFC 9443), decided by its first byte and checked against the protocol's minimum size.
//!
//! ```text
//!                  +----------------+
//!                  |        [0..3] -+--> STUN
//!                  |      [16..19] -+--> ZRTP            (dropped: not used by WebRTC)
//!  packet -->      |      [20..63] -+--> DTLS
//!                  |      [64..79] -+--> TURN channel    (dropped: relays arrive via ICE)
//!                  |    [128..191] -+--> RTP / RTCP
//!                  +----------------+    anything else: dropped
//! ```

/// The magic cookie every RFC 5389+ STUN message carries in bytes 4..8.
const STUN_MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
/// STUN header length.
const STUN_HEADER_LEN: usize = 20;
/// DTLS record header length (RFC 6347 §4.1).
const DTLS_RECORD_HEADER_LEN: usize = 13;
/// The smallest RTCP packet (a header with no report blocks); RTP needs 12.
const RTCP_MIN_LEN: usize = 8;

/// The protocol a datagram belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketKind {
    /// A STUN message (ICE connectivity checks, consent, server-reflexive discovery).
    Stun,
    /// A DTLS record.
    Dtls,
    /// An SRTP or SRTCP packet.
    Rtp,
    /// Anything else, or too short to be what its first byte claims: dropped and counted.
    Unknown,
}

/// Classifies a datagram received on the connection's UDP flow.
pub fn classify(packet: &[u8]) -> PacketKind {
    let Some(&first) = packet.first() else {
        return PacketKind::Unknown;
    };
    match first {
        0..=3 if packet.len() >= STUN_HEADER_LEN && packet[4..8] == STUN_MAGIC_COOKIE => {
            PacketKind::Stun
        }
        20..=63 if packet.len() >= DTLS_RECORD_HEADER_LEN => PacketKind::Dtls,
        128..=191 if packet.len() >= RTCP_MIN_LEN => PacketKind::Rtp,
        _ => PacketKind::Unknown,
    }
}

/// Fuzz-target body: classification is total and never panics.
///
/// # Panics
///
/// When a non-empty classification is given to an empty packet: a bug.
#[cfg(any(test, feature = "fuzzing"))]
pub fn fuzz_classify(data: &[u8]) {
    let kind = classify(data);
    if kind != PacketKind::Unknown {
        assert!(!data.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stun_binding_request() -> Vec<u8> {
        let mut packet = vec![0x00, 0x01, 0x00, 0x00];
        packet.extend_from_slice(&STUN_MAGIC_COOKIE);
        packet.extend_from_slice(&[7; 12]);
        packet
    }

    #[test]
    fn first_byte_ranges_select_the_protocol() {
        assert_eq!(classify(&stun_binding_request()), PacketKind::Stun);
        let mut dtls = vec![22, 0xfe, 0xfd];
        dtls.resize(40, 0);
        assert_eq!(classify(&dtls), PacketKind::Dtls);
        let mut rtp = vec![0x80, 96];
        rtp.resize(20, 0);
        assert_eq!(classify(&rtp), PacketKind::Rtp);
        let rtcp = [0x81, 201, 0, 1, 0, 0, 0, 1];
        assert_eq!(classify(&rtcp), PacketKind::Rtp);
    }

    #[test]
    fn zrtp_turn_channel_and_other_ranges_are_unknown() {
        for first in [16u8, 19, 64, 79, 100, 127, 192, 255] {
            let mut packet = vec![first];
            packet.resize(64, 0);
            assert_eq!(classify(&packet), PacketKind::Unknown, "first byte {first}");
        }
    }

    #[test]
    fn packets_shorter_than_their_header_are_unknown() {
        assert_eq!(classify(&[]), PacketKind::Unknown);
        assert_eq!(classify(&stun_binding_request()[..19]), PacketKind::Unknown);
        assert_eq!(classify(&[22; 12]), PacketKind::Unknown);
        assert_eq!(classify(&[0x80; 7]), PacketKind::Unknown);
    }

    #[test]
    fn stun_without_the_magic_cookie_is_unknown() {
        let mut packet = stun_binding_request();
        packet[4] = 0;
        assert_eq!(classify(&packet), PacketKind::Unknown);
    }

    #[test]
    fn every_byte_string_classifies_without_panicking() {
        for first in 0..=255u8 {
            for len in 0..24 {
                let mut packet = vec![first; len];
                if len > 8 {
                    packet[4..8].copy_from_slice(&STUN_MAGIC_COOKIE);
                }
                fuzz_classify(&packet);
            }
        }
    }
}
