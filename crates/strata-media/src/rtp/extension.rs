//! RTP header extensions (RFC 8285) and the values WebRTC puts in them.

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};

use crate::{Malformed, Mid};

/// URI of the MID header extension (RFC 8843 §15).
pub const SDES_MID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
/// URI of the absolute send time extension (`abs-send-time`).
pub const ABS_SEND_TIME_URI: &str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
/// URI of the transport-wide sequence number extension
/// (draft-holmer-rmcat-transport-wide-cc-extensions-01).
pub const TRANSPORT_CC_URI: &str =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";

/// Most elements one header extension block may hold (a block is at most 256 KiB, but a
/// real sender uses a handful; more is a malformed or hostile packet).
pub const MAX_EXTENSION_ELEMENTS: usize = 64;

const ONE_BYTE_PROFILE: u16 = 0xBEDE;
const TWO_BYTE_PROFILE: u16 = 0x1000;

/// One extension element: a local identifier and its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionElement {
    /// Local identifier negotiated with `a=extmap` (1 to 14 in the one-byte form, 1 to 255
    /// in the two-byte form).
    pub id: u8,
    /// The element's data.
    pub data: Bytes,
}

/// The header extension block of an RTP packet.
///
/// RFC 8285 one-byte form (profile `0xBEDE`):
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |       0xBE    |    0xDE       |           length              |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  ID   | L=0   |     data      |  ID   |  L=1  |   data...
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// and two-byte form (profile `0x100` + 4 application bits):
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         0x100         |appbits|           length              |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |      ID       |     length    | data ...
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// Padding bytes (ID 0) are skipped; in the one-byte form ID 15 stops parsing (RFC 8285
/// §4.2). A block with another profile (RFC 3550 §5.3.1) is kept as
/// [`other_profile`](Self::other_profile) and its data as one element with ID 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderExtensions {
    /// The elements, in wire order.
    pub elements: Vec<ExtensionElement>,
    /// A profile other than RFC 8285's, with its raw data in the single element.
    pub other_profile: Option<u16>,
}

impl HeaderExtensions {
    pub(crate) fn parse(profile: u16, data: &Bytes) -> Result<Self, Malformed> {
        let one_byte = profile == ONE_BYTE_PROFILE;
        if !one_byte && profile & 0xFFF0 != TWO_BYTE_PROFILE {
            return Ok(Self {
                elements: vec![ExtensionElement {
                    id: 0,
                    data: data.clone(),
                }],
                other_profile: Some(profile),
            });
        }
        let bytes = &data[..];
        let mut elements = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            // Element header: one byte (ID in the high nibble, length - 1 in the low one)
            // or two (ID, then length).
            let (id, len, header) = if one_byte {
                (bytes[i] >> 4, usize::from(bytes[i] & 0x0F) + 1, 1)
            } else {
                let len = bytes.get(i + 1).map_or(0, |&len| usize::from(len));
                (bytes[i], len, 2)
            };
            if id == 0 {
                // Padding; RFC 8285 §4.2 says its length bits are zero, but skip one byte
                // whatever they say.
                i += 1;
                continue;
            }
            if one_byte && id == 15 {
                // Reserved: processing stops here (RFC 8285 §4.2).
                break;
            }
            let start = i + header;
            let end = start + len;
            if start > bytes.len() || end > bytes.len() {
                return Err(Malformed::BadExtension);
            }
            if elements.len() >= MAX_EXTENSION_ELEMENTS {
                return Err(Malformed::BadExtension);
            }
            elements.push(ExtensionElement {
                id,
                data: data.slice(start..end),
            });
            i = end;
        }
        Ok(Self {
            elements,
            other_profile: None,
        })
    }

    /// Whether there is no extension block.
    pub fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }

    /// The data of element `id`.
    pub fn get(&self, id: u8) -> Option<&Bytes> {
        if self.other_profile.is_some() {
            return None;
        }
        self.elements.iter().find(|e| e.id == id).map(|e| &e.data)
    }

    /// Sets element `id` (1 to 255) to `data`, replacing an earlier value.
    pub fn set(&mut self, id: u8, data: Bytes) {
        if let Some(element) = self.elements.iter_mut().find(|e| e.id == id) {
            element.data = data;
        } else {
            self.elements.push(ExtensionElement { id, data });
        }
    }

    /// Whether every element fits the one-byte form.
    fn one_byte(&self) -> bool {
        self.elements
            .iter()
            .all(|e| (1..=14).contains(&e.id) && (1..=16).contains(&e.data.len()))
    }

    /// Bytes the block takes on the wire, with its 4-byte header and padding.
    pub fn encoded_len(&self) -> usize {
        if self.elements.is_empty() {
            return 0;
        }
        let body = if let Some(_profile) = self.other_profile {
            self.elements.iter().map(|e| e.data.len()).sum()
        } else {
            let per_element = if self.one_byte() { 1 } else { 2 };
            self.elements
                .iter()
                .map(|e| per_element + e.data.len().min(255))
                .sum::<usize>()
        };
        4 + body.div_ceil(4) * 4
    }

    pub(crate) fn write_to(&self, out: &mut BytesMut) {
        if self.elements.is_empty() {
            return;
        }
        let total = self.encoded_len();
        let words = (total - 4) / 4;
        let start = out.len();
        if let Some(profile) = self.other_profile {
            out.put_u16(profile);
            out.put_u16(words as u16);
            for e in &self.elements {
                out.put_slice(&e.data);
            }
        } else if self.one_byte() {
            out.put_u16(ONE_BYTE_PROFILE);
            out.put_u16(words as u16);
            for e in &self.elements {
                out.put_u8(e.id << 4 | (e.data.len() as u8 - 1));
                out.put_slice(&e.data);
            }
        } else {
            out.put_u16(TWO_BYTE_PROFILE);
            out.put_u16(words as u16);
            for e in &self.elements {
                let data = &e.data[..e.data.len().min(255)];
                out.put_u8(e.id);
                out.put_u8(data.len() as u8);
                out.put_slice(data);
            }
        }
        let written = out.len() - start;
        out.put_bytes(0, total - written);
    }
}

/// The extension ids negotiated with `a=extmap` for the values this crate reads and writes.
/// In a BUNDLE every section uses the same ids.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExtensionIds {
    /// [`SDES_MID_URI`].
    pub mid: Option<u8>,
    /// [`ABS_SEND_TIME_URI`].
    pub abs_send_time: Option<u8>,
    /// [`TRANSPORT_CC_URI`].
    pub transport_cc: Option<u8>,
}

impl ExtensionIds {
    /// Reads the MID from `extensions`; `None` if absent or not a valid MID.
    pub fn mid_of(&self, extensions: &HeaderExtensions) -> Option<Mid> {
        Mid::from_wire(extensions.get(self.mid?)?)
    }

    /// Reads the transport-wide sequence number from `extensions`.
    pub fn transport_seq_of(&self, extensions: &HeaderExtensions) -> Option<TransportSeq> {
        TransportSeq::parse(extensions.get(self.transport_cc?)?)
    }

    /// Reads the absolute send time from `extensions`.
    pub fn abs_send_time_of(&self, extensions: &HeaderExtensions) -> Option<AbsSendTime> {
        AbsSendTime::parse(extensions.get(self.abs_send_time?)?)
    }
}

/// The transport-wide sequence number: 16 bits, one counter for every packet of a
/// transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransportSeq(pub u16);

impl TransportSeq {
    /// Parses the 2-byte value.
    pub fn parse(data: &[u8]) -> Option<Self> {
        match data {
            [a, b] => Some(Self(u16::from_be_bytes([*a, *b]))),
            _ => None,
        }
    }

    /// The 2-byte value.
    pub fn to_bytes(self) -> Bytes {
        Bytes::copy_from_slice(&self.0.to_be_bytes())
    }
}

/// Absolute send time: 24 bits, seconds in 6.18 fixed point (wraps every 64 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AbsSendTime(pub u32);

impl AbsSendTime {
    /// The value for a time since any epoch (only the low 6 bits of seconds remain).
    pub fn from_duration(since_epoch: Duration) -> Self {
        let fixed = (since_epoch.as_nanos() << 18) / 1_000_000_000;
        Self((fixed & 0x00FF_FFFF) as u32)
    }

    /// Parses the 3-byte value.
    pub fn parse(data: &[u8]) -> Option<Self> {
        match data {
            [a, b, c] => Some(Self(u32::from_be_bytes([0, *a, *b, *c]))),
            _ => None,
        }
    }

    /// The 3-byte value.
    pub fn to_bytes(self) -> Bytes {
        Bytes::copy_from_slice(&self.0.to_be_bytes()[1..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_byte_form_is_used_when_an_element_needs_it() {
        let mut ext = HeaderExtensions::default();
        ext.set(1, Bytes::from_static(b"m"));
        ext.set(20, Bytes::from(vec![7; 20]));
        let mut out = BytesMut::new();
        ext.write_to(&mut out);
        assert_eq!(&out[..2], &[0x10, 0x00]);
        assert_eq!(out.len(), ext.encoded_len());
        let parsed = HeaderExtensions::parse(0x1000, &Bytes::copy_from_slice(&out[4..])).unwrap();
        assert_eq!(parsed, ext);
    }

    #[test]
    fn one_byte_padding_and_the_stop_id_are_honoured() {
        // padding, id 1 len 1, padding, id 15 (stop), garbage
        let data = Bytes::from_static(&[0x00, 0x10, 0xAA, 0x00, 0xF0, 0xFF, 0xFF, 0xFF]);
        let parsed = HeaderExtensions::parse(0xBEDE, &data).unwrap();
        assert_eq!(parsed.elements.len(), 1);
        assert_eq!(parsed.get(1).unwrap().as_ref(), &[0xAA]);
        // id 2 claims 16 bytes, only 3 present
        assert_eq!(
            HeaderExtensions::parse(0xBEDE, &Bytes::from_static(&[0x2F, 1, 2, 3])),
            Err(Malformed::BadExtension)
        );
        assert_eq!(
            HeaderExtensions::parse(0x1000, &Bytes::from_static(&[0x05])),
            Err(Malformed::BadExtension)
        );
    }

    #[test]
    fn other_profiles_are_kept_raw() {
        let data = Bytes::from_static(&[1, 2, 3, 4]);
        let parsed = HeaderExtensions::parse(0x1234, &data).unwrap();
        assert_eq!(parsed.other_profile, Some(0x1234));
        let mut out = BytesMut::new();
        parsed.write_to(&mut out);
        assert_eq!(&out[..], &[0x12, 0x34, 0, 1, 1, 2, 3, 4]);
    }

    #[test]
    fn typed_values_round_trip() {
        let ids = ExtensionIds {
            mid: Some(1),
            abs_send_time: Some(2),
            transport_cc: Some(3),
        };
        let mut ext = HeaderExtensions::default();
        ext.set(1, Bytes::from_static(b"video"));
        ext.set(
            2,
            AbsSendTime::from_duration(Duration::from_millis(1500)).to_bytes(),
        );
        ext.set(3, TransportSeq(513).to_bytes());
        assert_eq!(ids.mid_of(&ext).unwrap().as_str(), "video");
        assert_eq!(ids.abs_send_time_of(&ext), Some(AbsSendTime(3 << 17)));
        assert_eq!(ids.transport_seq_of(&ext), Some(TransportSeq(513)));
        ext.set(3, Bytes::from_static(&[1]));
        assert_eq!(ids.transport_seq_of(&ext), None);
    }
}
