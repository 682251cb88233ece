//! Codecs: what a track carries, our packetizers and depacketizers.
//!
//! Both directions are ours. The `rtp` crate's payloaders would pull tokio into this
//! sans-IO crate (through `webrtc-util`), and its VP9 payloader draws the initial picture
//! id from an unseeded RNG; its depacketizers read past the end of a short payload (the VP8
//! reader calls `get_u8` on a 4-byte packet with extension bits set, which panics). Ours
//! check every length and also tell the jitter buffer where frames and keyframes start.
//! Each packet is depacketized on arrival into bytes that concatenate to the frame, so a
//! frame is the concatenation of its packets' outputs. The tests cross-check both
//! directions against the `rtp` crate.

use bytes::{BufMut, Bytes, BytesMut};

use crate::{Error, Malformed};

/// A codec this crate packetizes and depacketizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Codec {
    /// Opus (RFC 7587), 48 kHz.
    Opus,
    /// VP8 (RFC 7741).
    Vp8,
    /// VP9 (RFC 9628).
    Vp9,
    /// H.264 (RFC 6184), packetization mode 1 (single NAL unit, STAP-A, FU-A). Samples
    /// are Annex B byte streams (NAL units after `00 00 00 01` start codes).
    H264,
}

impl Codec {
    /// The RTP clock rate WebRTC uses for the codec.
    pub const fn clock_rate(self) -> u32 {
        match self {
            Self::Opus => 48_000,
            Self::Vp8 | Self::Vp9 | Self::H264 => 90_000,
        }
    }

    /// Whether the codec carries video.
    pub const fn is_video(self) -> bool {
        !matches!(self, Self::Opus)
    }

    /// The codec for an `a=rtpmap` encoding name (case-insensitive).
    pub fn from_encoding_name(name: &str) -> Option<Self> {
        [Self::Opus, Self::Vp8, Self::Vp9, Self::H264]
            .into_iter()
            .find(|c| c.encoding_name().eq_ignore_ascii_case(name))
    }

    /// The `a=rtpmap` encoding name.
    pub const fn encoding_name(self) -> &'static str {
        match self {
            Self::Opus => "opus",
            Self::Vp8 => "VP8",
            Self::Vp9 => "VP9",
            Self::H264 => "H264",
        }
    }
}

/// The packetizer of one sending track.
#[derive(Debug)]
pub(crate) struct Packetizer {
    codec: Codec,
    /// VP8 / VP9 picture id (15 bits), advanced per frame.
    picture_id: u16,
}

/// Bytes of our VP8 payload descriptor: X, I with a 15-bit picture id.
const VP8_DESCRIPTOR_LEN: usize = 4;
/// Bytes of our VP9 payload descriptor: I with a 15-bit picture id (non-flexible mode).
const VP9_DESCRIPTOR_LEN: usize = 3;

impl Packetizer {
    /// `seed` picks the initial picture id.
    pub(crate) fn new(codec: Codec, seed: u16) -> Self {
        Self {
            codec,
            picture_id: seed & 0x7FFF,
        }
    }

    /// Splits one encoded sample into payloads of at most `max_payload` bytes.
    pub(crate) fn packetize(
        &mut self,
        max_payload: usize,
        sample: &Bytes,
    ) -> Result<Vec<Bytes>, Error> {
        if sample.is_empty() {
            return Err(Error::InvalidSample("the sample is empty"));
        }
        let payloads = match self.codec {
            Codec::Opus => {
                if sample.len() > max_payload {
                    return Err(Error::InvalidSample(
                        "an Opus packet larger than the MTU allows",
                    ));
                }
                vec![sample.clone()]
            }
            Codec::Vp8 => {
                let picture_id = self.next_picture_id();
                fragment(
                    sample,
                    max_payload,
                    VP8_DESCRIPTOR_LEN,
                    |first, _last, out| {
                        // X | S (first packet), PID 0; I; M | picture id.
                        out.put_u8(if first { 0x90 } else { 0x80 });
                        out.put_u8(0x80);
                        out.put_u16(0x8000 | picture_id);
                    },
                )?
            }
            Codec::Vp9 => {
                let picture_id = self.next_picture_id();
                let inter = !vp9_is_keyframe(sample);
                fragment(
                    sample,
                    max_payload,
                    VP9_DESCRIPTOR_LEN,
                    |first, last, out| {
                        // I | P (inter-predicted) | B (first) | E (last); M | picture id.
                        let mut byte = 0x80;
                        if inter {
                            byte |= 0x40;
                        }
                        if first {
                            byte |= 0x08;
                        }
                        if last {
                            byte |= 0x04;
                        }
                        out.put_u8(byte);
                        out.put_u16(0x8000 | picture_id);
                    },
                )?
            }
            Codec::H264 => packetize_h264(sample, max_payload)?,
        };
        Ok(payloads)
    }

    fn next_picture_id(&mut self) -> u16 {
        let id = self.picture_id;
        self.picture_id = (id + 1) & 0x7FFF;
        id
    }
}

/// Splits `sample` into fragments of at most `max_payload - descriptor_len` bytes, each
/// preceded by the descriptor `write` produces for (first, last).
fn fragment(
    sample: &Bytes,
    max_payload: usize,
    descriptor_len: usize,
    write: impl Fn(bool, bool, &mut BytesMut),
) -> Result<Vec<Bytes>, Error> {
    let room = max_payload.saturating_sub(descriptor_len);
    if room == 0 {
        return Err(Error::InvalidSample("the MTU leaves no room for payload"));
    }
    let count = sample.len().div_ceil(room);
    Ok(sample
        .chunks(room)
        .enumerate()
        .map(|(i, chunk)| {
            let mut out = BytesMut::with_capacity(descriptor_len + chunk.len());
            write(i == 0, i + 1 == count, &mut out);
            out.put_slice(chunk);
            out.freeze()
        })
        .collect())
}

/// Whether a VP9 frame is a keyframe: its uncompressed header (VP9 bitstream spec §6.2)
/// starts with `frame_marker` (2 bits), the profile (2 bits, plus a reserved zero bit in
/// profile 3), `show_existing_frame`, then `frame_type` (0 = key frame).
fn vp9_is_keyframe(frame: &[u8]) -> bool {
    let Some(&byte) = frame.first() else {
        return false;
    };
    if byte >> 6 != 0b10 {
        return false;
    }
    let profile = ((byte >> 5) & 1) | (((byte >> 4) & 1) << 1);
    let mut bit = 4;
    if profile == 3 {
        bit += 1;
    }
    let show_existing_frame = (byte >> (7 - bit)) & 1;
    bit += 1;
    show_existing_frame == 0 && (byte >> (7 - bit)) & 1 == 0
}

/// The NAL units of an Annex B byte stream (start codes `00 00 01` or `00 00 00 01`);
/// a sample without start codes is one NAL unit.
fn nal_units(stream: &Bytes) -> Vec<Bytes> {
    let b = &stream[..];
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= b.len() {
        if b[i] == 0 && b[i + 1] == 0 && b[i + 2] == 1 {
            starts.push((i, i + 3));
            i += 3;
        } else {
            i += 1;
        }
    }
    if starts.is_empty() {
        return vec![stream.clone()];
    }
    let mut units = Vec::with_capacity(starts.len());
    for (n, &(_, data_start)) in starts.iter().enumerate() {
        let mut end = starts.get(n + 1).map_or(b.len(), |&(code, _)| code);
        // A four-byte start code's leading zero belongs to it, not to this unit.
        if n + 1 < starts.len() && end > data_start && b[end - 1] == 0 {
            end -= 1;
        }
        if end > data_start {
            units.push(stream.slice(data_start..end));
        }
    }
    units
}

/// H.264 packetization mode 1 (RFC 6184): consecutive small NAL units are aggregated into
/// STAP-A packets, a unit that fits alone travels as a single NAL unit packet, and a
/// larger one is fragmented into FU-A packets.
fn packetize_h264(sample: &Bytes, max_payload: usize) -> Result<Vec<Bytes>, Error> {
    if max_payload < 3 {
        return Err(Error::InvalidSample("the MTU leaves no room for payload"));
    }
    let units = nal_units(sample);
    if units.iter().any(|u| u[0] & 0x80 != 0) {
        return Err(Error::InvalidSample(
            "an H.264 NAL unit has its forbidden bit set",
        ));
    }
    let mut payloads = Vec::new();
    let mut pending: Vec<Bytes> = Vec::new();
    let flush = |pending: &mut Vec<Bytes>, payloads: &mut Vec<Bytes>| match pending.len() {
        0 => {}
        1 => payloads.push(pending.remove(0)),
        _ => {
            let nri = pending.iter().map(|u| u[0] & 0x60).max().unwrap_or(0);
            let mut out =
                BytesMut::with_capacity(1 + pending.iter().map(|u| 2 + u.len()).sum::<usize>());
            out.put_u8(nri | NAL_STAP_A);
            for unit in pending.drain(..) {
                out.put_u16(unit.len() as u16);
                out.put_slice(&unit);
            }
            payloads.push(out.freeze());
        }
    };
    for unit in units {
        if unit.len() > max_payload {
            flush(&mut pending, &mut payloads);
            let header = unit[0];
            let body = &unit[1..];
            let room = max_payload - 2;
            let count = body.len().div_ceil(room);
            for (i, chunk) in body.chunks(room).enumerate() {
                let mut out = BytesMut::with_capacity(2 + chunk.len());
                out.put_u8((header & 0xE0) | NAL_FU_A);
                let mut fu = header & 0x1F;
                if i == 0 {
                    fu |= 0x80;
                }
                if i + 1 == count {
                    fu |= 0x40;
                }
                out.put_u8(fu);
                out.put_slice(chunk);
                payloads.push(out.freeze());
            }
            continue;
        }
        let aggregated = 1 + pending.iter().map(|u| 2 + u.len()).sum::<usize>() + 2 + unit.len();
        if !pending.is_empty() && aggregated > max_payload {
            flush(&mut pending, &mut payloads);
        }
        pending.push(unit);
    }
    flush(&mut pending, &mut payloads);
    if payloads.is_empty() {
        return Err(Error::InvalidSample("the sample holds no H.264 NAL unit"));
    }
    Ok(payloads)
}

/// One packet's payload, depacketized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Depacketized {
    /// Bytes that, concatenated over a frame's packets, give the frame.
    pub(crate) data: Bytes,
    /// The payload starts a frame.
    pub(crate) frame_start: bool,
    /// The payload starts a keyframe.
    pub(crate) keyframe: bool,
}

/// Depacketizes one RTP payload of `codec`.
pub(crate) fn depacketize(codec: Codec, payload: &Bytes) -> Result<Depacketized, Malformed> {
    match codec {
        Codec::Opus => {
            if payload.is_empty() {
                return Err(Malformed::BadPayload("Opus"));
            }
            Ok(Depacketized {
                data: payload.clone(),
                frame_start: true,
                keyframe: false,
            })
        }
        Codec::Vp8 => depacketize_vp8(payload),
        Codec::Vp9 => depacketize_vp9(payload),
        Codec::H264 => depacketize_h264(payload),
    }
}

/// VP8 payload descriptor (RFC 7741 §4.2):
///
/// ```text
///       0 1 2 3 4 5 6 7
///      +-+-+-+-+-+-+-+-+
///      |X|R|N|S|R| PID | (REQUIRED)
///      +-+-+-+-+-+-+-+-+
/// X:   |I|L|T|K| RSV   | (OPTIONAL)
///      +-+-+-+-+-+-+-+-+
/// I:   |M| PictureID   | (OPTIONAL, a second byte when M)
///      +-+-+-+-+-+-+-+-+
/// L:   |   TL0PICIDX   | (OPTIONAL)
///      +-+-+-+-+-+-+-+-+
/// T/K: |TID|Y| KEYIDX  | (OPTIONAL)
///      +-+-+-+-+-+-+-+-+
/// ```
fn depacketize_vp8(payload: &Bytes) -> Result<Depacketized, Malformed> {
    const BAD: Malformed = Malformed::BadPayload("VP8");
    let b = &payload[..];
    let first = *b.first().ok_or(BAD)?;
    let mut i = 1;
    if first & 0x80 != 0 {
        let x = *b.get(i).ok_or(BAD)?;
        i += 1;
        if x & 0x80 != 0 {
            let picture_id = *b.get(i).ok_or(BAD)?;
            i += if picture_id & 0x80 != 0 { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            i += 1;
        }
        if x & 0x30 != 0 {
            i += 1;
        }
    }
    if i >= b.len() {
        return Err(BAD);
    }
    // S set and partition index (PID, the low three bits) zero.
    let frame_start = first & 0x10 != 0 && first.trailing_zeros() >= 3;
    // The VP8 payload header's P bit (RFC 7741 §4.3) is 0 for a keyframe.
    let keyframe = frame_start && b[i].is_multiple_of(2);
    Ok(Depacketized {
        data: payload.slice(i..),
        frame_start,
        keyframe,
    })
}

/// VP9 payload descriptor (RFC 9628 §4.2):
///
/// ```text
///       0 1 2 3 4 5 6 7
///      +-+-+-+-+-+-+-+-+
///      |I|P|L|F|B|E|V|Z| (REQUIRED)
///      +-+-+-+-+-+-+-+-+
/// I:   |M| PICTURE ID  | (a second byte when M)
///      +-+-+-+-+-+-+-+-+
/// L:   | TID |U| SID |D| (then TL0PICIDX when F = 0)
///      +-+-+-+-+-+-+-+-+                             -\
/// P,F: | P_DIFF      |N| (up to 3 times)             -/
///      +-+-+-+-+-+-+-+-+
/// V:   | SS ...        |
///      +-+-+-+-+-+-+-+-+
/// ```
fn depacketize_vp9(payload: &Bytes) -> Result<Depacketized, Malformed> {
    const BAD: Malformed = Malformed::BadPayload("VP9");
    let b = &payload[..];
    let first = *b.first().ok_or(BAD)?;
    let (has_picture_id, inter, has_layers, flexible, begin, _end, has_ss) = (
        first & 0x80 != 0,
        first & 0x40 != 0,
        first & 0x20 != 0,
        first & 0x10 != 0,
        first & 0x08 != 0,
        first & 0x04 != 0,
        first & 0x02 != 0,
    );
    let mut i = 1;
    let byte = |i: usize| b.get(i).copied().ok_or(BAD);
    if has_picture_id {
        i += if byte(i)? & 0x80 != 0 { 2 } else { 1 };
    }
    let mut spatial_id = 0;
    if has_layers {
        spatial_id = (byte(i)? >> 1) & 0x07;
        i += 1;
        if !flexible {
            i += 1;
        }
    }
    if flexible && inter {
        for n in 0.. {
            if n == 3 {
                return Err(BAD);
            }
            let p_diff = byte(i)?;
            i += 1;
            if p_diff.is_multiple_of(2) {
                break;
            }
        }
    }
    if has_ss {
        let ss = byte(i)?;
        i += 1;
        let spatial_layers = usize::from(ss >> 5) + 1;
        if ss & 0x10 != 0 {
            i += 4 * spatial_layers;
        }
        if ss & 0x08 != 0 {
            let groups = byte(i)?;
            i += 1;
            for _ in 0..groups {
                let g = byte(i)?;
                i += 1 + usize::from((g >> 2) & 0x03);
            }
        }
    }
    if i >= b.len() {
        return Err(BAD);
    }
    Ok(Depacketized {
        data: payload.slice(i..),
        frame_start: begin && spatial_id == 0,
        keyframe: begin && !inter && spatial_id == 0,
    })
}

const START_CODE: [u8; 4] = [0, 0, 0, 1];
const NAL_SPS: u8 = 7;
const NAL_STAP_A: u8 = 24;
const NAL_FU_A: u8 = 28;

/// H.264 (RFC 6184 §5.6–§5.8): single NAL unit packets (types 1–23), STAP-A (24) and FU-A
/// (28) become Annex B. A packet carrying an SPS starts a keyframe (WebRTC senders put
/// SPS and PPS before every IDR); other frame boundaries come from the marker bit and
/// timestamps.
fn depacketize_h264(payload: &Bytes) -> Result<Depacketized, Malformed> {
    const BAD: Malformed = Malformed::BadPayload("H.264");
    let b = &payload[..];
    let header = *b.first().ok_or(BAD)?;
    if header & 0x80 != 0 {
        return Err(BAD);
    }
    match header & 0x1F {
        nal @ 1..=23 => {
            let mut out = BytesMut::with_capacity(4 + b.len());
            out.put_slice(&START_CODE);
            out.put_slice(b);
            let keyframe = nal == NAL_SPS;
            Ok(Depacketized {
                data: out.freeze(),
                frame_start: keyframe,
                keyframe,
            })
        }
        NAL_STAP_A => {
            let mut out = BytesMut::with_capacity(b.len() + 16);
            let mut i = 1;
            let mut keyframe = false;
            while i < b.len() {
                if i + 2 > b.len() {
                    return Err(BAD);
                }
                let size = usize::from(u16::from_be_bytes([b[i], b[i + 1]]));
                i += 2;
                if size == 0 || i + size > b.len() {
                    return Err(BAD);
                }
                keyframe |= b[i] & 0x1F == NAL_SPS;
                out.put_slice(&START_CODE);
                out.put_slice(&b[i..i + size]);
                i += size;
            }
            if out.is_empty() {
                return Err(BAD);
            }
            Ok(Depacketized {
                data: out.freeze(),
                frame_start: keyframe,
                keyframe,
            })
        }
        NAL_FU_A => {
            if b.len() < 3 {
                return Err(BAD);
            }
            let fu = b[1];
            let start = fu & 0x80 != 0;
            let nal_type = fu & 0x1F;
            if nal_type == 0 || nal_type > 23 || (start && fu & 0x40 != 0) {
                return Err(BAD);
            }
            let data = if start {
                let mut out = BytesMut::with_capacity(4 + b.len());
                out.put_slice(&START_CODE);
                out.put_u8((header & 0xE0) | nal_type);
                out.put_slice(&b[2..]);
                out.freeze()
            } else {
                payload.slice(2..)
            };
            Ok(Depacketized {
                data,
                frame_start: false,
                keyframe: false,
            })
        }
        _ => Err(BAD),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(codec: Codec, sample: &[u8], mtu: usize) -> (Vec<Bytes>, Vec<Depacketized>) {
        let mut p = Packetizer::new(codec, 7);
        let payloads = p.packetize(mtu, &Bytes::copy_from_slice(sample)).unwrap();
        let parts: Vec<_> = payloads
            .iter()
            .map(|pl| depacketize(codec, pl).unwrap())
            .collect();
        let joined: Vec<u8> = parts.iter().flat_map(|d| d.data.to_vec()).collect();
        assert_eq!(joined, sample, "{codec:?}");
        assert!(payloads.iter().all(|pl| pl.len() <= mtu));
        (payloads, parts)
    }

    #[test]
    fn vp8_frames_survive_packetization_and_keyframes_are_seen() {
        // A keyframe's first payload byte has P = 0.
        let key: Vec<u8> = (0..3000u32).map(|i| (i * 7 + 2) as u8 & 0xFE).collect();
        let (_, parts) = round_trip(Codec::Vp8, &key, 500);
        assert!(parts[0].keyframe && parts[0].frame_start);
        assert!(parts[1..].iter().all(|d| !d.frame_start));
        let delta = [1u8; 100];
        let (_, parts) = round_trip(Codec::Vp8, &delta, 500);
        assert!(parts[0].frame_start && !parts[0].keyframe);
    }

    #[test]
    fn vp9_and_opus_survive_packetization() {
        let frame: Vec<u8> = (0..2500u32).map(|i| i as u8).collect();
        let (_, parts) = round_trip(Codec::Vp9, &frame, 1000);
        assert!(parts[0].frame_start && !parts[1].frame_start);
        round_trip(Codec::Opus, &[0xFC, 1, 2, 3], 1000);
    }

    #[test]
    fn h264_access_units_become_annex_b_again() {
        let mut au = Vec::new();
        for nal in [&[0x67u8, 1, 2, 3][..], &[0x68, 4, 5], &[0x65; 3000]] {
            au.extend_from_slice(&START_CODE);
            au.extend_from_slice(nal);
        }
        let (_, parts) = round_trip(Codec::H264, &au, 1200);
        assert!(parts[0].keyframe);
    }

    #[test]
    fn empty_and_oversized_samples_are_errors() {
        let mut p = Packetizer::new(Codec::Vp8, 0);
        assert!(matches!(
            p.packetize(1000, &Bytes::new()),
            Err(Error::InvalidSample(_))
        ));
        let mut p = Packetizer::new(Codec::Opus, 0);
        assert!(p.packetize(10, &Bytes::from_static(&[0; 11])).is_err());
    }

    #[test]
    fn truncated_payload_descriptors_are_rejected() {
        for (codec, bad) in [
            (Codec::Vp8, &[][..]),
            (Codec::Vp8, &[0x90, 0x80][..]),
            (Codec::Vp8, &[0x90, 0x80, 0x80, 0x01][..]),
            (Codec::Vp9, &[0xD0, 0x80, 0x01, 0x03][..]),
            (Codec::Vp9, &[0x82, 0x05, 0xFF][..]),
            (Codec::H264, &[24, 0, 9, 0x67][..]),
            (Codec::H264, &[28, 0xC5, 1][..]),
            (Codec::H264, &[0x80][..]),
            (Codec::Opus, &[][..]),
        ] {
            assert!(
                depacketize(codec, &Bytes::copy_from_slice(bad)).is_err(),
                "{codec:?} {bad:?}"
            );
        }
    }

    #[test]
    fn vp9_keyframes_are_read_from_the_uncompressed_header() {
        // frame_marker 0b10, profile 0, show_existing_frame 0, frame_type 0 (key) / 1.
        assert!(vp9_is_keyframe(&[0x80, 0x49]));
        assert!(!vp9_is_keyframe(&[0x84, 0x00]));
        // Profile 3 has a reserved bit before show_existing_frame.
        assert!(vp9_is_keyframe(&[0xB0]));
        assert!(!vp9_is_keyframe(&[0xB2]));
        assert!(!vp9_is_keyframe(&[]));
        let (_, parts) = round_trip(Codec::Vp9, &[0x80; 3000], 1200);
        assert!(parts[0].keyframe);
        let (_, parts) = round_trip(Codec::Vp9, &[0x84; 3000], 1200);
        assert!(parts[0].frame_start && !parts[0].keyframe);
    }

    #[test]
    fn h264_small_units_are_aggregated_and_three_byte_start_codes_accepted() {
        let sample = [
            &[0, 0, 1, 0x67, 1][..],
            &[0, 0, 0, 1, 0x68, 2],
            &[0, 0, 1, 0x65, 3, 3],
        ]
        .concat();
        let mut p = Packetizer::new(Codec::H264, 0);
        let payloads = p.packetize(1200, &Bytes::from(sample)).unwrap();
        assert_eq!(payloads.len(), 1);
        assert_eq!(payloads[0][0] & 0x1F, NAL_STAP_A);
        let out = depacketize(Codec::H264, &payloads[0]).unwrap();
        assert!(out.keyframe);
        assert_eq!(
            &out.data[..],
            &[
                0, 0, 0, 1, 0x67, 1, 0, 0, 0, 1, 0x68, 2, 0, 0, 0, 1, 0x65, 3, 3
            ]
        );
        assert!(
            p.packetize(1200, &Bytes::from_static(&[0, 0, 1, 0xE5, 1]))
                .is_err()
        );
    }

    /// Our depacketizers read what the `rtp` crate's payloaders write, and its
    /// depacketizers read what ours write.
    #[test]
    fn packetization_agrees_with_the_rtp_crate_both_ways() {
        use rtp::codecs::{h264, vp8, vp9};
        use rtp::packetizer::{Depacketizer, Payloader};

        let vp8_frame: Bytes = (0..3000u32)
            .map(|i| (i * 13) as u8 & 0xFE)
            .collect::<Vec<_>>()
            .into();
        let mut au = Vec::new();
        for nal in [
            &[0x67u8, 0x42, 0x00, 0x1F][..],
            &[0x68, 0xCE, 0x3C, 0x80],
            &[0x65; 5000],
        ] {
            au.extend_from_slice(&START_CODE);
            au.extend_from_slice(nal);
        }
        let h264_frame = Bytes::from(au);

        // Theirs → ours.
        let mut theirs = vp8::Vp8Payloader::default();
        theirs.enable_picture_id = true;
        let joined: Vec<u8> = theirs
            .payload(1000, &vp8_frame)
            .unwrap()
            .iter()
            .flat_map(|p| depacketize(Codec::Vp8, p).unwrap().data.to_vec())
            .collect();
        assert_eq!(joined, vp8_frame);
        let joined: Vec<u8> = vp9::Vp9Payloader::default()
            .payload(1000, &vp8_frame)
            .unwrap()
            .iter()
            .flat_map(|p| depacketize(Codec::Vp9, p).unwrap().data.to_vec())
            .collect();
        assert_eq!(joined, vp8_frame);
        let joined: Vec<u8> = h264::H264Payloader::default()
            .payload(1000, &h264_frame)
            .unwrap()
            .iter()
            .flat_map(|p| depacketize(Codec::H264, p).unwrap().data.to_vec())
            .collect();
        assert_eq!(joined, h264_frame);

        // Ours → theirs.
        let ours = Packetizer::new(Codec::Vp8, 5)
            .packetize(1000, &vp8_frame)
            .unwrap();
        let joined: Vec<u8> = ours
            .iter()
            .flat_map(|p| vp8::Vp8Packet::default().depacketize(p).unwrap().to_vec())
            .collect();
        assert_eq!(joined, vp8_frame);
        let ours = Packetizer::new(Codec::Vp9, 5)
            .packetize(1000, &vp8_frame)
            .unwrap();
        let joined: Vec<u8> = ours
            .iter()
            .flat_map(|p| vp9::Vp9Packet::default().depacketize(p).unwrap().to_vec())
            .collect();
        assert_eq!(joined, vp8_frame);
        let ours = Packetizer::new(Codec::H264, 5)
            .packetize(1000, &h264_frame)
            .unwrap();
        let mut depacketizer = h264::H264Packet::default();
        let joined: Vec<u8> = ours
            .iter()
            .flat_map(|p| depacketizer.depacketize(p).unwrap().to_vec())
            .collect();
        assert_eq!(joined, h264_frame);
    }

    #[test]
    fn codec_names_are_case_insensitive() {
        assert_eq!(Codec::from_encoding_name("vp8"), Some(Codec::Vp8));
        assert_eq!(Codec::from_encoding_name("OPUS"), Some(Codec::Opus));
        assert_eq!(Codec::from_encoding_name("AV1"), None);
    }
}
