//! Authentication of incoming STUN Binding requests before webrtc-ice sees them
//! (RFC 8445 §7.3, RFC 5389 §10.1.2, §15.4, §15.5).
//!
//! A connectivity check must carry `USERNAME` = `<our ufrag>:<their ufrag>` and a
//! `MESSAGE-INTEGRITY` keyed with our password; anything else cannot come from the peer
//! we negotiated with. Checking here, on the socket's reader, means a flood of forged or
//! malformed requests costs one HMAC each and a counter, and never reaches webrtc-ice's
//! agent, its logs or its buffers. Other STUN messages (responses, indications) pass:
//! webrtc-ice matches responses to its own transactions.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |0 0|     STUN Message Type     |         Message Length        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         Magic Cookie                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     Transaction ID (96 bits)                  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Type                  |            Length             |  attributes,
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+  each padded
//! |                         Value (variable)                ....  |  to 4 bytes
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// STUN header length.
const HEADER_LEN: usize = 20;
/// Attribute header length (type and length).
const ATTRIBUTE_HEADER_LEN: usize = 4;
/// The Binding method in the request class.
const BINDING_REQUEST: u16 = 0x0001;
const USERNAME: u16 = 0x0006;
const MESSAGE_INTEGRITY: u16 = 0x0008;
const FINGERPRINT: u16 = 0x8028;
/// HMAC-SHA1 output length, the `MESSAGE-INTEGRITY` value.
const INTEGRITY_LEN: usize = 20;
/// RFC 5389 §15.5: the CRC-32 is XOR-ed with this.
const FINGERPRINT_XOR: u32 = 0x5354_554E;
/// CRC-32 as in ISO/IEC 13239 (the one STUN's `FINGERPRINT` uses).
const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// Why an incoming Binding request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The length fields do not describe the datagram (RFC 5389 §6, §15).
    Malformed,
    /// No `USERNAME`, or one that does not start with our ufrag and a colon.
    WrongUsername,
    /// No `MESSAGE-INTEGRITY`.
    MissingIntegrity,
    /// `MESSAGE-INTEGRITY` does not verify with our password.
    WrongIntegrity,
    /// `FINGERPRINT` is present and wrong.
    WrongFingerprint,
}

/// Our side's credentials a request may be keyed with: the current ones, and the
/// previous generation while an ICE restart is under way.
#[derive(Debug, Clone, Copy)]
pub struct LocalKey<'a> {
    /// Our username fragment (`a=ice-ufrag`).
    pub ufrag: &'a str,
    /// Our password (`a=ice-pwd`), the HMAC key for short-term credentials.
    pub pwd: &'a str,
}

/// Checks one STUN message (already classified as STUN by [`crate::demux`]) against our
/// credentials. Anything but a Binding request passes unchecked; a Binding request must
/// be well formed, name one of `keys`' ufrags and carry that key's integrity.
pub fn check<'k>(
    message: &[u8],
    keys: impl IntoIterator<Item = LocalKey<'k>>,
) -> Result<(), Rejection> {
    let Some(request) = binding_request(message)? else {
        return Ok(());
    };
    if let Some((at, value)) = request.fingerprint
        && value != fingerprint_of(message, at).to_be_bytes()
    {
        return Err(Rejection::WrongFingerprint);
    }
    let key = request
        .username
        .and_then(|name| keys.into_iter().find(|key| names_us(name, key.ufrag)))
        .ok_or(Rejection::WrongUsername)?;
    let (at, tag) = request.integrity.ok_or(Rejection::MissingIntegrity)?;
    if tag.len() != INTEGRITY_LEN {
        return Err(Rejection::Malformed);
    }
    integrity_of(message, at, key.pwd)
        .ok_or(Rejection::WrongIntegrity)?
        .verify_slice(tag)
        .map_err(|_| Rejection::WrongIntegrity)
}

/// Whether an outgoing message is a connectivity check that names no peer: its
/// `USERNAME`, `<their ufrag>:<our ufrag>` (RFC 8445 §7.2.2), has an empty first part.
///
/// webrtc-ice sends such checks between an ICE restart, which forgets the remote
/// credentials, and the moment the new ones are set: they are keyed with an empty
/// password too, so no peer can authenticate them, and a peer that checks (as
/// [`check`] does) counts each as an attack.
pub fn names_no_peer(message: &[u8]) -> bool {
    matches!(
        binding_request(message),
        Ok(Some(BindingRequest { username: Some(name), .. })) if name.first() == Some(&b':')
    )
}

/// The attributes of a Binding request that authentication reads, each with its offset
/// where integrity covers the message up to it.
struct BindingRequest<'m> {
    username: Option<&'m [u8]>,
    integrity: Option<(usize, &'m [u8])>,
    fingerprint: Option<(usize, &'m [u8])>,
}

/// Walks a Binding request's attributes; `None` for any other message.
fn binding_request(message: &[u8]) -> Result<Option<BindingRequest<'_>>, Rejection> {
    if message.len() < HEADER_LEN || read_u16(message, 0) != BINDING_REQUEST {
        return Ok(None);
    }
    let body_len = usize::from(read_u16(message, 2));
    if HEADER_LEN + body_len != message.len() || body_len % 4 != 0 {
        return Err(Rejection::Malformed);
    }
    let mut request = BindingRequest {
        username: None,
        integrity: None,
        fingerprint: None,
    };
    let mut offset = HEADER_LEN;
    while offset < message.len() {
        let Some(header) = message.get(offset..offset + ATTRIBUTE_HEADER_LEN) else {
            return Err(Rejection::Malformed);
        };
        let kind = read_u16(header, 0);
        let len = usize::from(read_u16(header, 2));
        let value_start = offset + ATTRIBUTE_HEADER_LEN;
        let Some(value) = message.get(value_start..value_start + len) else {
            return Err(Rejection::Malformed);
        };
        let next = value_start + len.next_multiple_of(4);
        match kind {
            // §15.4: attributes after MESSAGE-INTEGRITY are ignored, except FINGERPRINT.
            _ if request.fingerprint.is_some() => return Err(Rejection::Malformed),
            FINGERPRINT => request.fingerprint = Some((offset, value)),
            _ if request.integrity.is_some() => {}
            USERNAME => request.username = Some(value),
            MESSAGE_INTEGRITY => request.integrity = Some((offset, value)),
            _ => {}
        }
        offset = next;
    }
    if offset != message.len() {
        return Err(Rejection::Malformed);
    }
    Ok(Some(request))
}

/// `USERNAME` of a check sent to us: `<our ufrag>:<their ufrag>` (RFC 8445 §7.2.2).
fn names_us(username: &[u8], ufrag: &str) -> bool {
    username
        .strip_prefix(ufrag.as_bytes())
        .is_some_and(|rest| rest.first() == Some(&b':'))
}

/// What `MESSAGE-INTEGRITY` and `FINGERPRINT` cover (RFC 5389 §15.4, §15.5): the message
/// up to the attribute at `at`, with the header's length rewritten as if that attribute
/// (`attribute_len` bytes with its header) were the last one. In two parts, the rewritten
/// first four bytes and the rest, so nothing is copied.
fn covered(message: &[u8], at: usize, attribute_len: usize) -> ([u8; 4], &[u8]) {
    let len = (at - HEADER_LEN + attribute_len) as u16;
    let [high, low] = len.to_be_bytes();
    ([message[0], message[1], high, low], &message[4..at])
}

/// The HMAC-SHA1 keyed with `pwd` over what a `MESSAGE-INTEGRITY` at `at` covers, ready
/// to finalize or verify. `None` never happens (HMAC takes keys of any length).
fn integrity_of(message: &[u8], at: usize, pwd: &str) -> Option<Hmac<Sha1>> {
    let mut mac = Hmac::<Sha1>::new_from_slice(pwd.as_bytes()).ok()?;
    let (head, rest) = covered(message, at, ATTRIBUTE_HEADER_LEN + INTEGRITY_LEN);
    mac.update(&head);
    mac.update(rest);
    Some(mac)
}

/// The `FINGERPRINT` value for an attribute at `at`.
fn fingerprint_of(message: &[u8], at: usize) -> u32 {
    let (head, rest) = covered(message, at, ATTRIBUTE_HEADER_LEN + 4);
    let mut digest = CRC32.digest();
    digest.update(&head);
    digest.update(rest);
    digest.finalize() ^ FINGERPRINT_XOR
}

fn read_u16(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}

/// Fuzz-target body: any datagram is checked without panicking, and a request this
/// module builds for a key verifies with that key and no other.
///
/// # Panics
///
/// When a correctly signed request is refused or a wrongly keyed one accepted: a bug.
#[cfg(any(test, feature = "fuzzing"))]
pub fn fuzz_check(data: &[u8]) {
    let key = LocalKey {
        ufrag: "fuzzufrag",
        pwd: "fuzz-password-of-22-chars",
    };
    let _ = check(data, [key]);
    let _ = names_no_peer(data);
    let signed = signed_request(data, key.ufrag, key.pwd);
    assert_eq!(check(&signed, [key]), Ok(()));
    let other = LocalKey {
        ufrag: key.ufrag,
        pwd: "another-password-of-22",
    };
    assert_eq!(check(&signed, [other]), Err(Rejection::WrongIntegrity));
}

/// A Binding request from `payload` (as the transaction id and a software attribute),
/// signed for `ufrag`/`pwd` with a fingerprint: what a real peer sends.
#[cfg(any(test, feature = "fuzzing"))]
fn signed_request(payload: &[u8], ufrag: &str, pwd: &str) -> Vec<u8> {
    fn attribute(message: &mut Vec<u8>, kind: u16, value: &[u8]) {
        message.extend_from_slice(&kind.to_be_bytes());
        message.extend_from_slice(&(value.len() as u16).to_be_bytes());
        message.extend_from_slice(value);
        message.resize(message.len().next_multiple_of(4), 0);
    }
    let mut message = BINDING_REQUEST.to_be_bytes().to_vec();
    message.extend_from_slice(&[0, 0, 0x21, 0x12, 0xA4, 0x42]);
    let mut transaction = [0u8; 12];
    for (slot, byte) in transaction.iter_mut().zip(payload) {
        *slot = *byte;
    }
    message.extend_from_slice(&transaction);
    attribute(&mut message, USERNAME, format!("{ufrag}:them").as_bytes());
    let software = &payload[..payload.len().min(512)];
    attribute(&mut message, 0x8022, software);
    let tag = integrity_of(&message, message.len(), pwd)
        .expect("any key length")
        .finalize()
        .into_bytes();
    attribute(&mut message, MESSAGE_INTEGRITY, &tag);
    let crc = fingerprint_of(&message, message.len());
    attribute(&mut message, FINGERPRINT, &crc.to_be_bytes());
    let len = (message.len() - HEADER_LEN) as u16;
    message[2..4].copy_from_slice(&len.to_be_bytes());
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: LocalKey<'static> = LocalKey {
        ufrag: "ourfrag",
        pwd: "our-password-is-long-enough",
    };

    fn request() -> Vec<u8> {
        signed_request(b"transaction1", KEY.ufrag, KEY.pwd)
    }

    #[test]
    fn a_request_signed_with_our_password_passes() {
        assert_eq!(check(&request(), [KEY]), Ok(()));
    }

    #[test]
    fn a_request_signed_by_the_stun_crate_passes() {
        // The upstream encoder, as webrtc-ice uses it, is the reference for the byte layout.
        use stun::agent::TransactionId;
        use stun::fingerprint::FINGERPRINT as UPSTREAM_FINGERPRINT;
        use stun::integrity::MessageIntegrity;
        use stun::message::{BINDING_REQUEST as UPSTREAM_BINDING, Message};
        use stun::textattrs::Username;
        let mut message = Message::new();
        message
            .build(&[
                Box::new(UPSTREAM_BINDING),
                Box::new(TransactionId::new()),
                Box::new(Username::new(
                    stun::attributes::ATTR_USERNAME,
                    format!("{}:peer", KEY.ufrag),
                )),
                Box::new(MessageIntegrity::new_short_term_integrity(
                    KEY.pwd.to_owned(),
                )),
                Box::new(UPSTREAM_FINGERPRINT),
            ])
            .unwrap();
        assert_eq!(check(&message.raw, [KEY]), Ok(()));
        let mut tampered = message.raw.clone();
        tampered[9] ^= 1;
        assert_ne!(check(&tampered, [KEY]), Ok(()));
    }

    #[test]
    fn a_request_keyed_for_someone_else_is_refused() {
        let other = signed_request(b"transaction1", KEY.ufrag, "not-our-password-at-all");
        assert_eq!(check(&other, [KEY]), Err(Rejection::WrongIntegrity));
        let stranger = signed_request(b"transaction1", "nobody", KEY.pwd);
        assert_eq!(check(&stranger, [KEY]), Err(Rejection::WrongUsername));
        // A ufrag that merely starts with ours is someone else's.
        let longer = signed_request(b"transaction1", "ourfragment", KEY.pwd);
        assert_eq!(check(&longer, [KEY]), Err(Rejection::WrongUsername));
    }

    #[test]
    fn the_previous_generation_of_credentials_is_accepted_while_listed() {
        let old = LocalKey {
            ufrag: "oldfrag",
            pwd: "the-old-password-still-valid",
        };
        let late = signed_request(b"transaction1", old.ufrag, old.pwd);
        assert_eq!(check(&late, [KEY, old]), Ok(()));
        assert_eq!(check(&late, [KEY]), Err(Rejection::WrongUsername));
    }

    #[test]
    fn a_request_without_integrity_is_refused() {
        let mut message = BINDING_REQUEST.to_be_bytes().to_vec();
        message.extend_from_slice(&[0, 12, 0x21, 0x12, 0xA4, 0x42]);
        message.extend_from_slice(&[1; 12]);
        message.extend_from_slice(&USERNAME.to_be_bytes());
        message.extend_from_slice(&[0, 8]);
        message.extend_from_slice(b"ourfrag:");
        assert_eq!(check(&message, [KEY]), Err(Rejection::MissingIntegrity));
    }

    #[test]
    fn tampering_with_any_covered_byte_is_detected() {
        let message = request();
        // From the cookie to the end of MESSAGE-INTEGRITY, and the fingerprint's value.
        // (A changed type is no longer a Binding request and a changed length no longer
        // describes the datagram, both tested above; a renamed FINGERPRINT is an unknown
        // attribute after MESSAGE-INTEGRITY, which RFC 5389 §15.4 says to ignore.)
        let end = message.len();
        for at in (4..end - 8).chain(end - 4..end) {
            let mut tampered = message.clone();
            tampered[at] ^= 0x40;
            assert_ne!(check(&tampered, [KEY]), Ok(()), "byte {at} flipped");
        }
    }

    #[test]
    fn lengths_that_do_not_describe_the_datagram_are_malformed() {
        let message = request();
        let mut longer = message.clone();
        longer.extend_from_slice(&[0; 4]);
        assert_eq!(check(&longer, [KEY]), Err(Rejection::Malformed));
        let mut runs_past = message.clone();
        // USERNAME's length now runs past the end of the message.
        runs_past[22..24].copy_from_slice(&0x0400u16.to_be_bytes());
        assert_eq!(check(&runs_past, [KEY]), Err(Rejection::Malformed));
        assert_eq!(
            check(&message[..message.len() - 4], [KEY]),
            Err(Rejection::Malformed)
        );
    }

    #[test]
    fn responses_and_indications_pass_unchecked() {
        let mut response = request();
        response[0..2].copy_from_slice(&0x0101u16.to_be_bytes());
        assert_eq!(check(&response, [KEY]), Ok(()));
        let mut indication = request();
        indication[0..2].copy_from_slice(&0x0011u16.to_be_bytes());
        assert_eq!(check(&indication, []), Ok(()));
    }

    #[test]
    fn only_a_check_with_an_empty_remote_ufrag_names_no_peer() {
        // `signed_request` writes `<ufrag>:them`; the first part is the peer's ufrag in a
        // check we send.
        let unkeyed = signed_request(b"transaction1", "", "");
        assert!(names_no_peer(&unkeyed));
        assert!(!names_no_peer(&request()));
        let mut response = unkeyed.clone();
        response[0..2].copy_from_slice(&0x0101u16.to_be_bytes());
        assert!(!names_no_peer(&response), "only requests are checks");
        assert!(!names_no_peer(&unkeyed[..unkeyed.len() - 4]), "malformed");
        assert!(!names_no_peer(&[]));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x2545_F491);
        for len in 0..200 {
            let mut data = vec![0u8; len];
            rng.fill(&mut data[..]);
            if data.len() >= 2 {
                data[0] = 0;
                data[1] = 1;
            }
            fuzz_check(&data);
        }
    }
}
