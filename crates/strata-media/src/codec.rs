//! Codecs: what a track carries, packetization with the `rtp` crate's payloaders, and our
//! own depacketizers.
//!
//! Depacketization is ours because the `rtp` crate's depacketizers read past the end of a
//! short payload (its VP8 reader calls `get_u8` on a 4-byte packet with extension bits set,
//! which panics); ours check every length and also tell the jitter buffer where frames
//! and keyframes start. Each packet is depacketized on arrival into bytes that concatenate
//! to the frame, so a frame is the concatenation of its packets' outputs.

use bytes::{BufMut, Bytes, BytesMut};
use rtp::codecs::h264::H264Payloader;
use rtp::codecs::opus::OpusPayloader;
use rtp::codecs::vp8::Vp8Payloader;
use rtp::codecs::vp9::Vp9Payloader;
use rtp::packetizer::Payloader;

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
pub(crate) struct Packetizer {
    codec: Codec,
    payloader: Box<dyn Payloader + Send + Sync>,
}

impl std::fmt::Debug for Packetizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Packetizer")
            .field("codec", &self.codec)
            .finish_non_exhaustive()
    }
}

impl Packetizer {
    /// `seed` picks VP9's initial picture id (the payloader would otherwise draw it from
    /// an unseeded RNG).
    pub(crate) fn new(codec: Codec, seed: u16) -> Self {
        let payloader: Box<dyn Payloader + Send + Sync> = match codec {
            Codec::Opus => Box::new(OpusPayloader),
            Codec::Vp8 => {
                let mut vp8 = Vp8Payloader::default();
                vp8.enable_picture_id = true;
                Box::new(vp8)
            }
            Codec::Vp9 => {
                let mut vp9 = Vp9Payloader::default();
                vp9.initial_picture_id_fn = Some(std::sync::Arc::new(move || seed & 0x7FFF));
                Box::new(vp9)
            }
            Codec::H264 => Box::new(H264Payloader::default()),
        };
        Self { codec, payloader }
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
        if self.codec == Codec::Opus && sample.len() > max_payload {
            return Err(Error::InvalidSample(
                "an Opus packet larger than the MTU allows",
            ));
        }
        let payloads = self
            .payloader
            .payload(max_payload, sample)
            .map_err(|_| Error::InvalidSample("the payloader rejected the sample"))?;
        if payloads.is_empty() || payloads.iter().any(Bytes::is_empty) {
            return Err(Error::InvalidSample(
                "the sample holds nothing the codec can carry",
            ));
        }
        Ok(payloads)
    }
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
    let frame_start = first & 0x10 != 0 && first & 0x07 == 0;
    // The VP8 payload header's P bit (RFC 7741 §4.3) is 0 for a keyframe.
    let keyframe = frame_start && b[i] & 0x01 == 0;
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
            if p_diff & 0x01 == 0 {
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
    fn codec_names_are_case_insensitive() {
        assert_eq!(Codec::from_encoding_name("vp8"), Some(Codec::Vp8));
        assert_eq!(Codec::from_encoding_name("OPUS"), Some(Codec::Opus));
        assert_eq!(Codec::from_encoding_name("AV1"), None);
    }
}
