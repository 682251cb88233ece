//! Fuzz-target bodies, called by the central `fuzz/` crate (feature `fuzzing`).

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::dcep::{
    ChannelRequest, ChannelType, DataChannelOpen, DcepConfig, DcepEndpoint, DcepMessage, DtlsRole,
    PayloadKind, StreamId,
};

/// DCEP decoding never panics, and what decodes survives an encode/decode round trip.
///
/// # Panics
///
/// When the round trip changes the message: that is the bug the target looks for.
pub fn dcep_decode(data: &[u8]) {
    if let Ok(message) = DcepMessage::decode(data) {
        let encoded = message.encode();
        assert_eq!(DcepMessage::decode(&encoded).as_ref(), Ok(&message));
    }
}

/// Drives the DCEP state machine with an arbitrary sequence of inputs: it never panics
/// and never counts more channels than its limit.
///
/// # Panics
///
/// When the channel count passes the limit: that is the bug the target looks for.
pub fn dcep_state_machine(data: &[u8]) {
    let mut config = DcepConfig::new(if data.first().is_some_and(|b| b & 1 == 1) {
        DtlsRole::Server
    } else {
        DtlsRole::Client
    });
    config.max_channels = 16;
    config.max_unclaimed_streams = 4;
    config.max_unclaimed_bytes = 256;
    let mut endpoint = DcepEndpoint::new(config);
    let mut now = Instant::now();
    let mut input = data.get(1..).unwrap_or_default();
    while let [op, a, b, rest @ ..] = input {
        let len = usize::from(*b % 32).min(rest.len());
        let (payload, tail) = rest.split_at(len);
        input = tail;
        let Ok(id) = StreamId::new(u16::from(*a % 64)) else {
            continue;
        };
        match op % 9 {
            0 => {
                if let Ok(open) =
                    DataChannelOpen::new(ChannelType::RELIABLE, 256, "f".into(), String::new())
                {
                    let negotiated = (*b & 1 == 1).then_some(id);
                    let _ = endpoint.open_channel(now, ChannelRequest { open, negotiated });
                }
            }
            1 => {
                let _ = endpoint.close_channel(now, id);
            }
            2 => endpoint.handle_stream_reset(now, id),
            3 => {
                endpoint.handle_message(
                    now,
                    id,
                    PayloadKind::Dcep,
                    Bytes::copy_from_slice(payload),
                );
            }
            4 => {
                let kind = PayloadKind::from_ppid(u32::from(*b % 60));
                endpoint.handle_message(now, id, kind, Bytes::copy_from_slice(payload));
            }
            5 => now += Duration::from_millis(u64::from(*b) * 100),
            6 => endpoint.handle_timeout(now),
            7 => endpoint.handle_association_closed(),
            _ => endpoint.abandon_open(id),
        }
        while endpoint.poll_output().is_some() {}
        assert!(endpoint.channel_count() <= 16);
    }
}

/// SCTP packet parsing never panics, and what parses is written back to the same
/// packet.
///
/// # Panics
///
/// When a parsed packet does not survive writing and parsing again: that is the bug the
/// target looks for.
pub fn sctp_packet(data: &[u8]) {
    crate::sctp::fuzz_packet(data);
}

/// Two sans-IO SCTP associations, connected, then driven by the input: packets
/// delivered, dropped, corrupted (with a correct checksum, so the parser accepts them),
/// forged from the input's bytes, timers fired, messages sent in every reliability mode,
/// streams reset, shutdown and abort. Never panics, never loops without end.
pub fn sctp_association(data: &[u8]) {
    crate::sctp::fuzz_association(data, Instant::now());
}
