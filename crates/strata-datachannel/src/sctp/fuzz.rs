//! Fuzz bodies for the SCTP layer; [`crate::fuzzing`] exposes them.

use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};

use super::wire::{COMMON_HEADER_LEN, Packet};
use super::{Association, Config, SendOptions, State, seal};

/// Parses `data` as a packet; what parses must write back to a packet that parses to
/// the same thing.
pub(crate) fn packet(data: &[u8]) {
    let Ok(packet) = Packet::parse(&Bytes::copy_from_slice(data)) else {
        return;
    };
    let again = Packet::parse(&packet.write());
    assert_eq!(
        again.as_ref(),
        Ok(&packet),
        "a parsed packet must write back"
    );
}

/// Steps of [`association`] at most, so that every input ends quickly.
const MAX_STEPS: usize = 4096;

/// Two associations that completed their handshake over a clean path.
fn connected_pair(now: Instant) -> (Association, Association) {
    let config = Config {
        max_message_size: 64 * 1024,
        receive_window: 128 * 1024,
        ..Config::default()
    };
    let mut a = Association::new(config.clone(), now, 1);
    let mut b = Association::new(config, now, 2);
    a.connect(now);
    for _ in 0..8 {
        while let Some(packet) = a.poll_transmit(now) {
            b.handle_packet(now, &packet);
        }
        while let Some(packet) = b.poll_transmit(now) {
            a.handle_packet(now, &packet);
        }
    }
    assert_eq!(a.state(), State::Established, "a clean handshake connects");
    (a, b)
}

/// Two associations, connected at `start`, then driven by `data`.
pub(crate) fn association(data: &[u8], start: Instant) {
    let mut now = start;
    let (mut a, mut b) = connected_pair(now);
    let mut to_b: Vec<Bytes> = Vec::new();
    let mut to_a: Vec<Bytes> = Vec::new();
    let mut input = data;
    let mut steps = 0;
    while let [op, x, y, rest @ ..] = input {
        steps += 1;
        if steps > MAX_STEPS {
            break;
        }
        input = rest;
        while let Some(packet) = a.poll_transmit(now) {
            to_b.push(packet);
        }
        while let Some(packet) = b.poll_transmit(now) {
            to_a.push(packet);
        }
        if op % 12 == 7 {
            // Time passes.
            now += Duration::from_millis(u64::from(*x) * 16 + u64::from(*y));
            a.handle_timeout(now);
            b.handle_timeout(now);
        } else {
            let (from, to, queue) = if op & 0x80 == 0 {
                (&mut a, &mut b, &mut to_b)
            } else {
                (&mut b, &mut a, &mut to_a)
            };
            let forged = step(now, [*op, *x, *y], rest, from, to, queue);
            input = &rest[forged..];
        }
        while a.poll_event().is_some() {}
        while b.poll_event().is_some() {}
        // Bounded: nothing queued grows without limit.
        assert!(to_b.len() < 100_000 && to_a.len() < 100_000);
    }
}

/// One operation from `from` towards `to`. Returns how many bytes of `rest` it used.
fn step(
    now: Instant,
    [op, x, y]: [u8; 3],
    rest: &[u8],
    from: &mut Association,
    to: &mut Association,
    queue: &mut Vec<Bytes>,
) -> usize {
    match op % 12 {
        // Deliver the oldest packet, or one further back (reordering).
        0..=2 => {
            if !queue.is_empty() {
                let index = usize::from(x) % queue.len().min(4);
                let packet = queue.remove(index);
                to.handle_packet(now, &packet);
            }
        }
        // Drop one.
        3 => {
            if !queue.is_empty() {
                queue.remove(0);
            }
        }
        // Change one byte past the header, keep the checksum right.
        4 => {
            if !queue.is_empty() {
                let mut packet = BytesMut::from(&queue.remove(0)[..]);
                if packet.len() > COMMON_HEADER_LEN {
                    let at =
                        COMMON_HEADER_LEN + usize::from(x) % (packet.len() - COMMON_HEADER_LEN);
                    packet[at] ^= y | 1;
                    seal(&mut packet);
                }
                to.handle_packet(now, &packet.freeze());
            }
        }
        // Forge a packet: the real header, chunks from the input.
        5 => {
            let len = usize::from(y).min(rest.len());
            if let Some(template) = queue.first() {
                let mut packet = BytesMut::with_capacity(COMMON_HEADER_LEN + len);
                packet.put_slice(&template[..COMMON_HEADER_LEN]);
                packet.put_slice(&rest[..len]);
                seal(&mut packet);
                to.handle_packet(now, &packet.freeze());
            }
            return len;
        }
        // Duplicate one.
        6 => {
            if let Some(packet) = queue.first().cloned() {
                to.handle_packet(now, &packet);
            }
        }
        // Send a message.
        8 | 9 => {
            let options = SendOptions {
                unordered: x & 1 == 1,
                max_retransmits: (x & 2 == 2).then_some(u16::from(x >> 6)),
                lifetime: (x & 4 == 4).then(|| Duration::from_millis(u64::from(y))),
            };
            let len = 1 + usize::from(y) * 37;
            let stream = u16::from(x >> 3 & 7);
            let _ = from.send(now, stream, 53, Bytes::from(vec![y; len]), options);
        }
        // Reset a stream.
        10 => from.reset_streams(&[u16::from(x & 7)]),
        // Rarely: end it.
        _ => match (x, y) {
            (0, 0) => from.abort("fuzz"),
            (0, 1) => from.shutdown(now),
            _ => from.set_buffered_amount_low_threshold(u16::from(x & 7), usize::from(y)),
        },
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forged_and_corrupted_traffic_never_panics() {
        let mut state = 0x1234_5678_9ABC_DEF0u64;
        for _ in 0..200 {
            let input: Vec<u8> = (0..600)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            association(&input, crate::sctp::test_epoch());
            packet(&input);
        }
    }
}
