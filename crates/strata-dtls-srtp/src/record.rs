//! Validation of DTLS datagrams before the protocol engine parses them.
//!
//! Written first for the `dtls` crate, which this crate used to run on: `dtls` 0.17.2
//! panics on some malformed handshake bodies (`ClientKeyExchange` and `ServerKeyExchange`
//! index their first bytes before checking the length, and its reassembly mixes fragments
//! of different types under one sequence number). Our engine checks every length itself;
//! the [`RecordValidator`] stays in front of it as a cheap first filter that drops, and
//! counts, datagrams that do not frame: records beyond their datagram, unknown content
//! types or versions, key-exchange bodies too short to hold their fields, and fragments
//! that contradict each other on a message's type or length.
//!
//! ```text
//! DTLS record (RFC 6347 §4.1)
//!  0        1        2        3        4        5        6 ... 11      12       13
//! +--------+--------+--------+--------+--------+--------+----------+--------+--------+----
//! |  type  |  version (major, minor)  |     epoch       | sequence |     length      | ...
//! +--------+--------+--------+--------+--------+--------+----------+--------+--------+----
//!
//! Handshake fragment (RFC 6347 §4.2.2), inside a type-22 record
//! +--------+--------------------------+-----------------+--------------------------+---------------------------+----
//! |msg_type|   length (24 bits)       | message_seq     | fragment_offset (24)     | fragment_length (24)      | body
//! +--------+--------------------------+-----------------+--------------------------+---------------------------+----
//! ```
//!
//! Encrypted handshake records (epoch ≥ 1) cannot be inspected here; only a peer that has
//! completed the key exchange can produce them.

const RECORD_HEADER_LEN: usize = 13;
const HANDSHAKE_HEADER_LEN: usize = 12;
/// RFC 6347 §4.1.1: a record's fragment is at most 2^14 bytes plus 2048 of expansion.
pub const MAX_RECORD_LEN: usize = (1 << 14) + 2048;
/// The largest handshake message accepted (a certificate chain is the large one; WebRTC
/// sends a single self-signed certificate of well under 2 KiB).
pub const MAX_HANDSHAKE_MESSAGE_LEN: u32 = 64 * 1024;
/// Handshake message sequence numbers tracked per connection; a DTLS 1.2 handshake uses
/// fewer than a dozen.
pub const MAX_TRACKED_MESSAGES: u16 = 64;

const CONTENT_CHANGE_CIPHER_SPEC: u8 = 20;
const CONTENT_ALERT: u8 = 21;
const CONTENT_HANDSHAKE: u8 = 22;
const CONTENT_APPLICATION_DATA: u8 = 23;

const HANDSHAKE_SERVER_KEY_EXCHANGE: u8 = 12;
const HANDSHAKE_CLIENT_KEY_EXCHANGE: u8 = 16;

/// Why a datagram was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Malformed {
    /// Fewer bytes than a record header, or a record longer than what follows it.
    #[error("truncated DTLS record")]
    TruncatedRecord,
    /// A content type DTLS 1.2 does not define (heartbeat included).
    #[error("unknown DTLS content type {0}")]
    ContentType(u8),
    /// Not DTLS 1.0 or 1.2.
    #[error("unsupported DTLS version {0:#06x}")]
    Version(u16),
    /// A record longer than RFC 6347 allows.
    #[error("DTLS record of {0} bytes exceeds the protocol maximum")]
    RecordTooLong(usize),
    /// A handshake fragment whose header or bounds do not fit.
    #[error("malformed handshake fragment")]
    Fragment,
    /// A handshake message larger than [`MAX_HANDSHAKE_MESSAGE_LEN`].
    #[error("handshake message of {0} bytes is larger than accepted")]
    MessageTooLong(u32),
    /// A key-exchange message too short to hold its fields.
    #[error("handshake message of type {kind} is too short ({len} bytes)")]
    MessageTooShort {
        /// Handshake type.
        kind: u8,
        /// Its declared length.
        len: u32,
    },
    /// Fragments of one message disagree on its type or length.
    #[error("handshake fragments of message {0} disagree on type or length")]
    InconsistentFragments(u16),
    /// A message sequence number beyond any real handshake.
    #[error("handshake message sequence {0} is out of range")]
    Sequence(u16),
}

/// Checks datagrams for one connection; remembers the type and length of every plaintext
/// handshake message so later fragments cannot contradict them.
#[derive(Debug, Default)]
pub struct RecordValidator {
    messages: Vec<Option<(u8, u32)>>,
}

impl RecordValidator {
    /// A validator with nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks one datagram (one or more records). On error the whole datagram must be
    /// dropped; nothing of it is remembered.
    pub fn check(&mut self, datagram: &[u8]) -> Result<(), Malformed> {
        let mut seen: Vec<(u16, u8, u32)> = Vec::new();
        let mut rest = datagram;
        while !rest.is_empty() {
            let header = rest
                .get(..RECORD_HEADER_LEN)
                .ok_or(Malformed::TruncatedRecord)?;
            let content_type = header[0];
            let version = u16::from_be_bytes([header[1], header[2]]);
            let epoch = u16::from_be_bytes([header[3], header[4]]);
            let length = usize::from(u16::from_be_bytes([header[11], header[12]]));
            if !matches!(
                content_type,
                CONTENT_CHANGE_CIPHER_SPEC
                    | CONTENT_ALERT
                    | CONTENT_HANDSHAKE
                    | CONTENT_APPLICATION_DATA
            ) {
                return Err(Malformed::ContentType(content_type));
            }
            if !matches!(version, 0xfeff | 0xfefd) {
                return Err(Malformed::Version(version));
            }
            if length > MAX_RECORD_LEN {
                return Err(Malformed::RecordTooLong(length));
            }
            let body = rest
                .get(RECORD_HEADER_LEN..RECORD_HEADER_LEN + length)
                .ok_or(Malformed::TruncatedRecord)?;
            if content_type == CONTENT_HANDSHAKE && epoch == 0 {
                self.check_fragments(body, &mut seen)?;
            }
            rest = &rest[RECORD_HEADER_LEN + length..];
        }
        if !seen.is_empty() && self.messages.is_empty() {
            // Allocated on the first handshake message: most datagrams are application data.
            self.messages = vec![None; usize::from(MAX_TRACKED_MESSAGES)];
        }
        for (sequence, kind, len) in seen {
            // `sequence < MAX_TRACKED_MESSAGES` was checked above.
            if let Some(slot) = self.messages.get_mut(usize::from(sequence)) {
                *slot = Some((kind, len));
            }
        }
        Ok(())
    }

    fn check_fragments(
        &self,
        mut body: &[u8],
        seen: &mut Vec<(u16, u8, u32)>,
    ) -> Result<(), Malformed> {
        while !body.is_empty() {
            let header = body
                .get(..HANDSHAKE_HEADER_LEN)
                .ok_or(Malformed::Fragment)?;
            let kind = header[0];
            let length = u24(&header[1..4]);
            let sequence = u16::from_be_bytes([header[4], header[5]]);
            let offset = u24(&header[6..9]);
            let fragment_length = u24(&header[9..12]);
            if sequence >= MAX_TRACKED_MESSAGES {
                return Err(Malformed::Sequence(sequence));
            }
            if length > MAX_HANDSHAKE_MESSAGE_LEN {
                return Err(Malformed::MessageTooLong(length));
            }
            if offset
                .checked_add(fragment_length)
                .is_none_or(|end| end > length)
            {
                return Err(Malformed::Fragment);
            }
            let minimum = match kind {
                HANDSHAKE_CLIENT_KEY_EXCHANGE => 2,
                HANDSHAKE_SERVER_KEY_EXCHANGE => 4,
                _ => 0,
            };
            if length < minimum {
                return Err(Malformed::MessageTooShort { kind, len: length });
            }
            let known = self.messages.get(usize::from(sequence)).copied().flatten();
            let in_datagram = seen
                .iter()
                .find(|(s, _, _)| *s == sequence)
                .map(|(_, k, l)| (*k, *l));
            if known
                .or(in_datagram)
                .is_some_and(|first| first != (kind, length))
            {
                return Err(Malformed::InconsistentFragments(sequence));
            }
            if in_datagram.is_none() {
                seen.push((sequence, kind, length));
            }
            let end = HANDSHAKE_HEADER_LEN + fragment_length as usize;
            body = body.get(end..).ok_or(Malformed::Fragment)?;
        }
        Ok(())
    }
}

/// Recognises retransmitted handshake flights in one direction of a connection (RFC 6347
/// §4.2.4): a datagram whose plaintext handshake fragment is not past the furthest one
/// already seen (by message sequence, then fragment offset), or that carries a second
/// `ChangeCipherSpec`. Counts datagrams, not flights: a flight resent in two datagrams
/// counts twice. Sans-IO; never fails (malformed input is simply not counted).
#[derive(Debug, Default, Clone)]
pub struct FlightTracker {
    /// The furthest plaintext handshake fragment seen: (message sequence, offset).
    furthest: Option<(u16, u32)>,
    change_cipher_spec_seen: bool,
    repeated: u64,
}

impl FlightTracker {
    /// A tracker with nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Notes one datagram; returns whether it repeated part of an earlier flight.
    pub fn note(&mut self, datagram: &[u8]) -> bool {
        let mut repeated = false;
        let mut rest = datagram;
        while let Some(header) = rest.get(..RECORD_HEADER_LEN) {
            let content_type = header[0];
            let epoch = u16::from_be_bytes([header[3], header[4]]);
            let length = usize::from(u16::from_be_bytes([header[11], header[12]]));
            let Some(body) = rest.get(RECORD_HEADER_LEN..RECORD_HEADER_LEN + length) else {
                break;
            };
            match content_type {
                CONTENT_CHANGE_CIPHER_SPEC => {
                    repeated |= std::mem::replace(&mut self.change_cipher_spec_seen, true);
                }
                CONTENT_HANDSHAKE if epoch == 0 => {
                    if let Some(fragment) = body.get(..HANDSHAKE_HEADER_LEN) {
                        let position = (
                            u16::from_be_bytes([fragment[4], fragment[5]]),
                            u24(&fragment[6..9]),
                        );
                        if self.furthest.is_some_and(|furthest| position <= furthest) {
                            repeated = true;
                        } else {
                            self.furthest = Some(position);
                        }
                    }
                }
                _ => {}
            }
            rest = &rest[RECORD_HEADER_LEN + length..];
        }
        if repeated {
            self.repeated += 1;
        }
        repeated
    }

    /// Datagrams that repeated an earlier flight.
    pub fn repeated(&self) -> u64 {
        self.repeated
    }
}

fn u24(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]])
}

/// Fuzz-target body: any sequence of datagrams is checked without panicking, and a
/// datagram that passes keeps every record inside its bounds; a [`FlightTracker`] notes
/// every datagram without panicking and counts at most one repeat per datagram.
///
/// # Panics
///
/// When the tracker counts more repeats than datagrams: a bug.
#[cfg(any(test, feature = "fuzzing"))]
pub fn fuzz_validate(data: &[u8]) {
    let mut validator = RecordValidator::new();
    let mut flights = FlightTracker::new();
    let mut datagrams = 0;
    for datagram in data.split(|b| *b == 0xff) {
        let _ = validator.check(datagram);
        flights.note(datagram);
        datagrams += 1;
    }
    assert!(flights.repeated() <= datagrams);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record(content_type: u8, epoch: u16, body: &[u8]) -> Vec<u8> {
        let mut out = vec![content_type, 0xfe, 0xfd];
        out.extend_from_slice(&epoch.to_be_bytes());
        out.extend_from_slice(&[0, 0, 0, 0, 0, 1]);
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    fn fragment(kind: u8, length: u32, sequence: u16, offset: u32, body: &[u8]) -> Vec<u8> {
        let mut out = vec![kind];
        out.extend_from_slice(&length.to_be_bytes()[1..]);
        out.extend_from_slice(&sequence.to_be_bytes());
        out.extend_from_slice(&offset.to_be_bytes()[1..]);
        out.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn well_formed_handshake_and_application_records_pass() {
        let mut validator = RecordValidator::new();
        let hello = fragment(1, 4, 0, 0, &[1, 2, 3, 4]);
        let mut datagram = record(CONTENT_HANDSHAKE, 0, &hello);
        datagram.extend(record(CONTENT_CHANGE_CIPHER_SPEC, 0, &[1]));
        datagram.extend(record(CONTENT_APPLICATION_DATA, 1, &[9; 40]));
        assert_eq!(validator.check(&datagram), Ok(()));
        // A retransmission of the same message passes again.
        assert_eq!(
            validator.check(&record(CONTENT_HANDSHAKE, 0, &hello)),
            Ok(())
        );
    }

    #[test]
    fn short_key_exchange_bodies_that_crash_upstream_are_refused() {
        let mut validator = RecordValidator::new();
        for (kind, len) in [
            (HANDSHAKE_CLIENT_KEY_EXCHANGE, 0u32),
            (HANDSHAKE_CLIENT_KEY_EXCHANGE, 1),
            (HANDSHAKE_SERVER_KEY_EXCHANGE, 3),
        ] {
            let body = vec![0u8; len as usize];
            let datagram = record(CONTENT_HANDSHAKE, 0, &fragment(kind, len, 3, 0, &body));
            assert_eq!(
                validator.check(&datagram),
                Err(Malformed::MessageTooShort { kind, len })
            );
        }
    }

    #[test]
    fn fragments_that_disagree_on_a_message_are_refused_across_datagrams() {
        let mut validator = RecordValidator::new();
        // The first fragment of message 5 declares a ServerKeyExchange of 8 bytes...
        let first = record(
            CONTENT_HANDSHAKE,
            0,
            &fragment(HANDSHAKE_SERVER_KEY_EXCHANGE, 8, 5, 4, &[0; 4]),
        );
        assert_eq!(validator.check(&first), Ok(()));
        // ...a zero-length fragment of another type under the same number is refused.
        let sneaky = record(CONTENT_HANDSHAKE, 0, &fragment(2, 0, 5, 0, &[]));
        assert_eq!(
            validator.check(&sneaky),
            Err(Malformed::InconsistentFragments(5))
        );
        // The same within one datagram.
        let mut both = fragment(HANDSHAKE_SERVER_KEY_EXCHANGE, 8, 6, 4, &[0; 4]);
        both.extend(fragment(2, 0, 6, 0, &[]));
        assert_eq!(
            validator.check(&record(CONTENT_HANDSHAKE, 0, &both)),
            Err(Malformed::InconsistentFragments(6))
        );
    }

    #[test]
    fn truncated_and_out_of_bounds_structures_are_refused() {
        let mut validator = RecordValidator::new();
        assert_eq!(
            validator.check(&[22, 0xfe, 0xfd]),
            Err(Malformed::TruncatedRecord)
        );
        let mut long = record(CONTENT_APPLICATION_DATA, 1, &[0; 10]);
        long.truncate(long.len() - 1);
        assert_eq!(validator.check(&long), Err(Malformed::TruncatedRecord));
        assert_eq!(
            validator.check(&record(24, 0, &[1])),
            Err(Malformed::ContentType(24))
        );
        let mut tls = record(CONTENT_ALERT, 0, &[1, 0]);
        tls[1] = 0x03;
        assert!(matches!(validator.check(&tls), Err(Malformed::Version(_))));
        // Fragment longer than its message, and a fragment header cut short.
        assert_eq!(
            validator.check(&record(
                CONTENT_HANDSHAKE,
                0,
                &fragment(1, 2, 0, 1, &[0, 0])
            )),
            Err(Malformed::Fragment)
        );
        assert_eq!(
            validator.check(&record(CONTENT_HANDSHAKE, 0, &[1, 0, 0])),
            Err(Malformed::Fragment)
        );
        // A fragment claiming more body than the record holds.
        let mut cut = fragment(1, 10, 0, 0, &[0; 10]);
        cut.truncate(cut.len() - 5);
        assert_eq!(
            validator.check(&record(CONTENT_HANDSHAKE, 0, &cut)),
            Err(Malformed::Fragment)
        );
        assert_eq!(
            validator.check(&record(
                CONTENT_HANDSHAKE,
                0,
                &fragment(1, 4, MAX_TRACKED_MESSAGES, 0, &[0; 4])
            )),
            Err(Malformed::Sequence(MAX_TRACKED_MESSAGES))
        );
    }

    #[test]
    fn refused_datagrams_leave_no_memory() {
        let mut validator = RecordValidator::new();
        let mut datagram = record(CONTENT_HANDSHAKE, 0, &fragment(1, 4, 2, 0, &[0; 4]));
        datagram.extend(record(99, 0, &[]));
        assert!(validator.check(&datagram).is_err());
        // Message 2 was not recorded: a different type for it is still accepted later.
        assert_eq!(
            validator.check(&record(
                CONTENT_HANDSHAKE,
                0,
                &fragment(11, 4, 2, 0, &[0; 4])
            )),
            Ok(())
        );
    }

    proptest! {
        #[test]
        fn arbitrary_datagrams_never_panic(datagrams in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..8)) {
            let mut validator = RecordValidator::new();
            for datagram in &datagrams {
                let _ = validator.check(datagram);
            }
        }
    }

    #[test]
    fn flight_tracker_counts_resent_handshake_datagrams_but_not_later_fragments() {
        let mut tracker = FlightTracker::new();
        let hello = record(CONTENT_HANDSHAKE, 0, &fragment(1, 4, 0, 0, &[0; 4]));
        assert!(!tracker.note(&hello));
        assert!(
            tracker.note(&hello),
            "the same message again is a retransmission"
        );
        // A certificate in two fragments, in two datagrams: both new.
        let first = record(CONTENT_HANDSHAKE, 0, &fragment(11, 8, 1, 0, &[0; 4]));
        let second = record(CONTENT_HANDSHAKE, 0, &fragment(11, 8, 1, 4, &[0; 4]));
        assert!(!tracker.note(&first));
        assert!(!tracker.note(&second));
        assert!(tracker.note(&first));
        // The final flight: ChangeCipherSpec and an encrypted Finished, then again.
        let mut last = record(CONTENT_CHANGE_CIPHER_SPEC, 0, &[1]);
        last.extend(record(CONTENT_HANDSHAKE, 1, &[0xaa; 40]));
        assert!(!tracker.note(&last));
        assert!(tracker.note(&last));
        // Application data and truncated input are never retransmissions.
        assert!(!tracker.note(&record(CONTENT_APPLICATION_DATA, 1, &[1, 2, 3])));
        assert!(!tracker.note(&hello[..5]));
        assert_eq!(tracker.repeated(), 3);
    }
}
