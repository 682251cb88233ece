//! Our RTP packet model: typed, bounds-checked parsing and serialization of the RTP header
//! (RFC 3550 §5.1) with CSRCs, padding and RFC 8285 header extensions.
//!
//! Everything inbound goes through [`RtpPacket::parse`]: the `rtp` crate's parser panics on
//! malformed header extensions, so it never sees network input.

mod extension;

use bytes::{BufMut, Bytes, BytesMut};

pub use extension::{
    ABS_SEND_TIME_URI, AbsSendTime, ExtensionElement, ExtensionIds, HeaderExtensions,
    MAX_EXTENSION_ELEMENTS, SDES_MID_URI, TRANSPORT_CC_URI, TransportSeq,
};

use crate::{Error, Malformed, PayloadType, SeqNo, Ssrc};

/// Most CSRCs a header can list (the CC field is four bits).
pub const MAX_CSRCS: usize = 15;

/// Length of the fixed RTP header.
pub const FIXED_HEADER_LEN: usize = 12;

/// The RTP header (RFC 3550 §5.1):
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |V=2|P|X|  CC   |M|     PT      |       sequence number         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                           timestamp                           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           synchronization source (SSRC) identifier            |
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// |            contributing source (CSRC) identifiers             |
/// |                             ....                              |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |      defined by profile       |           length              |  (X = 1)
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                        header extension                       |
/// |                             ....                              |
/// ```
///
/// The P bit and padding length live in [`RtpPacket::padding`]; the X bit follows from
/// [`extensions`](Self::extensions) being non-empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpHeader {
    /// M: for video, the last packet of a frame.
    pub marker: bool,
    /// PT.
    pub payload_type: PayloadType,
    /// Sequence number.
    pub sequence_number: SeqNo,
    /// Timestamp, in the codec's clock rate.
    pub timestamp: u32,
    /// SSRC.
    pub ssrc: Ssrc,
    /// Contributing sources, at most [`MAX_CSRCS`].
    pub csrcs: Vec<Ssrc>,
    /// The header extension block.
    pub extensions: HeaderExtensions,
}

impl RtpHeader {
    /// A header with no CSRCs and no extensions.
    pub fn new(
        payload_type: PayloadType,
        sequence_number: SeqNo,
        timestamp: u32,
        ssrc: Ssrc,
    ) -> Self {
        Self {
            marker: false,
            payload_type,
            sequence_number,
            timestamp,
            ssrc,
            csrcs: Vec::new(),
            extensions: HeaderExtensions::default(),
        }
    }

    /// Bytes this header takes on the wire.
    pub fn len(&self) -> usize {
        FIXED_HEADER_LEN + 4 * self.csrcs.len().min(MAX_CSRCS) + self.extensions.encoded_len()
    }

    /// Always false: a header has at least its fixed part.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// One RTP packet: header, payload and padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacket {
    /// The header.
    pub header: RtpHeader,
    /// The payload, without padding.
    pub payload: Bytes,
    /// Padding bytes after the payload (0 for none; the last one holds the count).
    pub padding: u8,
}

impl RtpPacket {
    /// Parses one RTP packet. The payload is a slice of `data`, not a copy.
    pub fn parse(data: &Bytes) -> Result<Self, Error> {
        let bytes = &data[..];
        if bytes.len() < FIXED_HEADER_LEN {
            return Err(Error::rtp(Malformed::TooShort("RTP packet")));
        }
        let version = bytes[0] >> 6;
        if version != 2 {
            return Err(Error::rtp(Malformed::BadVersion(version)));
        }
        let has_padding = bytes[0] & 0x20 != 0;
        let has_extension = bytes[0] & 0x10 != 0;
        let csrc_count = usize::from(bytes[0] & 0x0F);
        let marker = bytes[1] & 0x80 != 0;
        let payload_type = PayloadType(bytes[1] & 0x7F);
        let sequence_number = SeqNo(u16::from_be_bytes([bytes[2], bytes[3]]));
        let timestamp = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        let ssrc = Ssrc(u32::from_be_bytes([
            bytes[8], bytes[9], bytes[10], bytes[11],
        ]));

        let mut offset = FIXED_HEADER_LEN;
        let csrc_end = offset + 4 * csrc_count;
        if bytes.len() < csrc_end {
            return Err(Error::rtp(Malformed::BadLength("CSRC list")));
        }
        let csrcs = bytes[offset..csrc_end]
            .chunks_exact(4)
            .map(|c| Ssrc(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect();
        offset = csrc_end;

        let extensions = if has_extension {
            if bytes.len() < offset + 4 {
                return Err(Error::rtp(Malformed::BadLength("header extension")));
            }
            let profile = u16::from_be_bytes([bytes[offset], bytes[offset + 1]]);
            let words = usize::from(u16::from_be_bytes([bytes[offset + 2], bytes[offset + 3]]));
            let start = offset + 4;
            let end = start + 4 * words;
            if bytes.len() < end {
                return Err(Error::rtp(Malformed::BadLength("header extension")));
            }
            offset = end;
            HeaderExtensions::parse(profile, &data.slice(start..end)).map_err(Error::rtp)?
        } else {
            HeaderExtensions::default()
        };

        let mut end = bytes.len();
        let mut padding = 0;
        if has_padding {
            padding = bytes[end - 1];
            if padding == 0 || usize::from(padding) > end - offset {
                return Err(Error::rtp(Malformed::BadPadding));
            }
            end -= usize::from(padding);
        }
        Ok(Self {
            header: RtpHeader {
                marker,
                payload_type,
                sequence_number,
                timestamp,
                ssrc,
                csrcs,
                extensions,
            },
            payload: data.slice(offset..end),
            padding,
        })
    }

    /// Bytes the packet takes on the wire.
    pub fn len(&self) -> usize {
        self.header.len() + self.payload.len() + usize::from(self.padding)
    }

    /// Whether the packet carries neither payload nor padding.
    pub fn is_empty(&self) -> bool {
        self.payload.is_empty() && self.padding == 0
    }

    /// Serializes the packet. CSRCs beyond [`MAX_CSRCS`] are not written.
    pub fn serialize(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.len());
        self.write_to(&mut out);
        out.freeze()
    }

    /// Appends the serialized packet to `out`.
    pub fn write_to(&self, out: &mut BytesMut) {
        let header = &self.header;
        let csrcs = &header.csrcs[..header.csrcs.len().min(MAX_CSRCS)];
        let mut first = 0x80 | csrcs.len() as u8;
        if self.padding > 0 {
            first |= 0x20;
        }
        if !header.extensions.is_empty() {
            first |= 0x10;
        }
        out.put_u8(first);
        out.put_u8(u8::from(header.marker) << 7 | header.payload_type.value());
        out.put_u16(header.sequence_number.0);
        out.put_u32(header.timestamp);
        out.put_u32(header.ssrc.0);
        for csrc in csrcs {
            out.put_u32(csrc.0);
        }
        header.extensions.write_to(out);
        out.put_slice(&self.payload);
        if self.padding > 0 {
            out.put_bytes(0, usize::from(self.padding) - 1);
            out.put_u8(self.padding);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(v: u8) -> PayloadType {
        PayloadType::new(v).unwrap()
    }

    #[test]
    fn a_full_packet_round_trips() {
        let mut header = RtpHeader::new(pt(96), SeqNo(65_535), 0xDEAD_BEEF, Ssrc(0x1234_5678));
        header.marker = true;
        header.csrcs = vec![Ssrc(1), Ssrc(2)];
        header.extensions.set(1, Bytes::from_static(b"0"));
        header.extensions.set(3, Bytes::from_static(&[0, 7]));
        let packet = RtpPacket {
            header,
            payload: Bytes::from_static(b"payload"),
            padding: 3,
        };
        let wire = packet.serialize();
        assert_eq!(wire.len(), packet.len());
        assert_eq!(RtpPacket::parse(&wire).unwrap(), packet);
    }

    #[test]
    fn a_plain_header_is_twelve_bytes() {
        let packet = RtpPacket {
            header: RtpHeader::new(pt(111), SeqNo(1), 2, Ssrc(3)),
            payload: Bytes::new(),
            padding: 0,
        };
        let wire = packet.serialize();
        assert_eq!(&wire[..], &[0x80, 111, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]);
        assert_eq!(RtpPacket::parse(&wire).unwrap(), packet);
    }

    #[test]
    fn truncated_and_invalid_packets_are_typed_errors() {
        let good = RtpPacket {
            header: {
                let mut h = RtpHeader::new(pt(96), SeqNo(1), 2, Ssrc(3));
                h.csrcs = vec![Ssrc(9)];
                h.extensions.set(5, Bytes::from_static(b"abc"));
                h
            },
            payload: Bytes::from_static(b"xy"),
            padding: 2,
        }
        .serialize();
        for len in 0..good.len() {
            // Every truncation either fails cleanly or parses to something shorter.
            let _ = RtpPacket::parse(&good.slice(..len));
        }
        assert!(matches!(
            RtpPacket::parse(&Bytes::from_static(&[0x40; 12])),
            Err(Error::Malformed {
                problem: Malformed::BadVersion(1),
                ..
            })
        ));
        // P bit with a zero count.
        let mut zero_pad = good.to_vec();
        *zero_pad.last_mut().unwrap() = 0;
        assert!(RtpPacket::parse(&Bytes::from(zero_pad)).is_err());
        // CC claims more CSRCs than there are bytes.
        assert!(
            RtpPacket::parse(&Bytes::from_static(&[
                0x8F, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
            ]))
            .is_err()
        );
        // Extension length past the end.
        assert!(
            RtpPacket::parse(&Bytes::from_static(&[
                0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xBE, 0xDE, 0, 9
            ]))
            .is_err()
        );
    }
}
