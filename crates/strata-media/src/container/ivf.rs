//! IVF, the simple container libvpx writes for VP8, VP9 and AV1 frames.
//!
//! ```text
//! File header, 32 bytes, little-endian:
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       signature "DKIF"                        |
//! +-------------------------------+-------------------------------+
//! |          version (0)          |       header size (32)        |
//! +-------------------------------+-------------------------------+
//! |               fourcc ("VP80", "VP90", "AV01")                 |
//! +-------------------------------+-------------------------------+
//! |         width (pixels)        |        height (pixels)        |
//! +-------------------------------+-------------------------------+
//! |             timebase denominator (ticks per second)           |
//! +---------------------------------------------------------------+
//! |               timebase numerator (seconds per tick)           |
//! +---------------------------------------------------------------+
//! |                 frame count (patched on close)                |
//! +---------------------------------------------------------------+
//! |                            unused                             |
//! +---------------------------------------------------------------+
//!
//! Each frame, 12-byte header then the frame:
//! +---------------------------------------------------------------+
//! |                       frame size (bytes)                      |
//! +---------------------------------------------------------------+
//! |                  timestamp (64 bits, in timebase units)       |
//! +                                                               +
//! |                                                               |
//! +---------------------------------------------------------------+
//! |                      frame (frame size bytes) ...             |
//! ```

use std::io::{Read, Seek, SeekFrom, Write};

use bytes::Bytes;

use super::{Source, TimestampUnwrapper};
use crate::{Codec, Error, FileProblem};

const FORMAT: &str = "IVF";
const SIGNATURE: &[u8; 4] = b"DKIF";
const HEADER_SIZE: u16 = 32;
const FRAME_HEADER_SIZE: usize = 12;
/// The RTP clock of video in WebRTC.
const RTP_VIDEO_CLOCK: u32 = 90_000;

/// The largest IVF frame a reader accepts or a writer writes: 16 MiB, far above any
/// WebRTC frame (a 4K keyframe is a few hundred KiB). A larger declared size is a
/// [`FileProblem::TooLarge`] error, never an allocation.
pub const MAX_IVF_FRAME_SIZE: usize = 16 * 1024 * 1024;

/// The codec in an IVF file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IvfFourcc {
    /// `VP80`.
    Vp8,
    /// `VP90`.
    Vp9,
    /// `AV01` (read and written; this crate does not packetize AV1).
    Av1,
}

impl IvfFourcc {
    /// The four bytes in the header.
    pub const fn as_bytes(self) -> [u8; 4] {
        match self {
            Self::Vp8 => *b"VP80",
            Self::Vp9 => *b"VP90",
            Self::Av1 => *b"AV01",
        }
    }

    /// The fourcc for these bytes, if known.
    pub fn from_bytes(bytes: [u8; 4]) -> Option<Self> {
        match &bytes {
            b"VP80" => Some(Self::Vp8),
            b"VP90" => Some(Self::Vp9),
            b"AV01" => Some(Self::Av1),
            _ => None,
        }
    }

    /// The fourcc of an IVF file holding `codec`, if IVF can hold it.
    pub fn for_codec(codec: Codec) -> Option<Self> {
        match codec {
            Codec::Vp8 => Some(Self::Vp8),
            Codec::Vp9 => Some(Self::Vp9),
            Codec::Opus | Codec::H264 => None,
        }
    }

    /// The codec this crate sends for this fourcc (`None` for AV1).
    pub fn codec(self) -> Option<Codec> {
        match self {
            Self::Vp8 => Some(Codec::Vp8),
            Self::Vp9 => Some(Codec::Vp9),
            Self::Av1 => None,
        }
    }
}

/// The fields of an IVF file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IvfHeader {
    /// The codec.
    pub fourcc: IvfFourcc,
    /// Width in pixels (0 when unknown).
    pub width: u16,
    /// Height in pixels (0 when unknown).
    pub height: u16,
    /// Timestamps count `timebase_numerator / timebase_denominator` seconds; WebRTC
    /// recordings use 1/90000, the RTP clock.
    pub timebase_numerator: u32,
    /// See [`timebase_numerator`](Self::timebase_numerator); never 0 in a valid file.
    pub timebase_denominator: u32,
    /// The number of frames. Writers patch it when the file is finished; a file whose
    /// writer died holds 0 (or a stale count), which readers, ours included, ignore: they
    /// read frames until the data ends.
    pub frame_count: u32,
}

impl IvfHeader {
    /// A header for frames stamped on the 90 kHz RTP clock, size unknown yet.
    pub const fn for_rtp(fourcc: IvfFourcc) -> Self {
        Self {
            fourcc,
            width: 0,
            height: 0,
            timebase_numerator: 1,
            timebase_denominator: RTP_VIDEO_CLOCK,
            frame_count: 0,
        }
    }

    fn serialize(&self) -> [u8; HEADER_SIZE as usize] {
        let mut out = [0u8; HEADER_SIZE as usize];
        out[0..4].copy_from_slice(SIGNATURE);
        out[4..6].copy_from_slice(&0u16.to_le_bytes());
        out[6..8].copy_from_slice(&HEADER_SIZE.to_le_bytes());
        out[8..12].copy_from_slice(&self.fourcc.as_bytes());
        out[12..14].copy_from_slice(&self.width.to_le_bytes());
        out[14..16].copy_from_slice(&self.height.to_le_bytes());
        out[16..20].copy_from_slice(&self.timebase_denominator.to_le_bytes());
        out[20..24].copy_from_slice(&self.timebase_numerator.to_le_bytes());
        out[24..28].copy_from_slice(&self.frame_count.to_le_bytes());
        out
    }

    fn parse(bytes: &[u8; HEADER_SIZE as usize]) -> Result<Self, (u64, FileProblem)> {
        let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
        let u32_at =
            |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        if &bytes[0..4] != SIGNATURE {
            return Err((0, FileProblem::BadSignature));
        }
        if u16_at(4) != 0 {
            return Err((4, FileProblem::UnsupportedVersion(u16_at(4))));
        }
        if u16_at(6) != HEADER_SIZE {
            return Err((6, FileProblem::BadHeaderSize(u16_at(6))));
        }
        let fourcc_bytes = [bytes[8], bytes[9], bytes[10], bytes[11]];
        let fourcc = IvfFourcc::from_bytes(fourcc_bytes)
            .ok_or((8, FileProblem::UnknownFourcc(fourcc_bytes)))?;
        if u32_at(16) == 0 || u32_at(20) == 0 {
            return Err((16, FileProblem::ZeroTimebase));
        }
        Ok(Self {
            fourcc,
            width: u16_at(12),
            height: u16_at(14),
            timebase_denominator: u32_at(16),
            timebase_numerator: u32_at(20),
            frame_count: u32_at(24),
        })
    }
}

/// One frame read from an IVF file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IvfFrame {
    /// Its timestamp in the header's timebase.
    pub timestamp: u64,
    /// The encoded frame.
    pub data: Bytes,
}

/// Writes an IVF file.
///
/// The header goes out first with a frame count of 0 and is patched by
/// [`finish`](Self::finish) (count, and the frame size if [`set_dimensions`](Self::set_dimensions)
/// learned it): a process that dies before `finish` leaves a file whose frames are all
/// readable and whose header says 0 frames, which libvpx, `FFmpeg` and webrtc-rs's reader
/// tolerate. Frames go straight to the output; wrap a file in a `BufWriter` to batch them.
#[derive(Debug)]
pub struct IvfWriter<W: Write + Seek> {
    out: W,
    header: IvfHeader,
    frames: u32,
    /// Where the header starts in `out` (the writer need not start at 0).
    header_at: u64,
    unwrapper: TimestampUnwrapper,
    first_rtp: Option<u64>,
    last_timestamp: Option<u64>,
}

impl<W: Write + Seek> IvfWriter<W> {
    /// Writes `header` at the output's current position.
    pub fn new(mut out: W, header: IvfHeader) -> Result<Self, Error> {
        if header.timebase_denominator == 0 || header.timebase_numerator == 0 {
            return Err(cannot("the timebase has a zero term"));
        }
        let header_at = out.stream_position()?;
        out.write_all(&header.serialize())?;
        Ok(Self {
            out,
            header,
            frames: 0,
            header_at,
            unwrapper: TimestampUnwrapper::default(),
            first_rtp: None,
            last_timestamp: None,
        })
    }

    /// The header as it will be written by [`finish`](Self::finish).
    pub fn header(&self) -> &IvfHeader {
        &self.header
    }

    /// Frames written so far.
    pub fn frames_written(&self) -> u32 {
        self.frames
    }

    /// Sets the frame size written into the header by [`finish`](Self::finish).
    pub fn set_dimensions(&mut self, width: u16, height: u16) {
        self.header.width = width;
        self.header.height = height;
    }

    /// Writes a frame stamped `timestamp` in the header's timebase. Timestamps may not go
    /// backwards (players present IVF frames in file order).
    pub fn write_frame(&mut self, timestamp: u64, frame: &[u8]) -> Result<(), Error> {
        if frame.len() > MAX_IVF_FRAME_SIZE {
            return Err(cannot("frame larger than MAX_IVF_FRAME_SIZE"));
        }
        if self.last_timestamp.is_some_and(|last| timestamp < last) {
            return Err(cannot("timestamp before the previous frame's"));
        }
        if self.frames == u32::MAX {
            return Err(cannot("more than 2^32 - 1 frames"));
        }
        let mut frame_header = [0u8; FRAME_HEADER_SIZE];
        frame_header[0..4].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        frame_header[4..12].copy_from_slice(&timestamp.to_le_bytes());
        self.out.write_all(&frame_header)?;
        self.out.write_all(frame)?;
        self.frames += 1;
        self.last_timestamp = Some(timestamp);
        Ok(())
    }

    /// Writes a frame carrying this 32-bit RTP timestamp (90 kHz clock). The first frame
    /// is at 0; later ones at their distance from it, across the 2^32 wrap, converted to
    /// the header's timebase (identical for [`IvfHeader::for_rtp`]).
    pub fn write_rtp_frame(&mut self, rtp_timestamp: u32, frame: &[u8]) -> Result<(), Error> {
        let extended = self.unwrapper.unwrap(rtp_timestamp);
        let first = *self.first_rtp.get_or_insert(extended);
        let Some(ticks) = extended.checked_sub(first) else {
            return Err(cannot("RTP timestamp before the first frame's"));
        };
        let timestamp = u128::from(ticks) * u128::from(self.header.timebase_denominator)
            / (u128::from(self.header.timebase_numerator) * u128::from(RTP_VIDEO_CLOCK));
        self.write_frame(timestamp as u64, frame)
    }

    /// Patches the header's frame count (and size), flushes, and returns the output
    /// positioned after the last frame.
    pub fn finish(mut self) -> Result<W, Error> {
        self.header.frame_count = self.frames;
        let end = self.out.stream_position()?;
        self.out.seek(SeekFrom::Start(self.header_at))?;
        self.out.write_all(&self.header.serialize())?;
        self.out.seek(SeekFrom::Start(end))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

fn cannot(problem: &'static str) -> Error {
    Error::CannotWrite {
        format: FORMAT,
        problem,
    }
}

/// Reads an IVF file frame by frame.
///
/// The header is validated (signature, version 0, header size 32, a known fourcc, a
/// timebase without a zero term); frames
/// are read until the data ends, whatever the header's frame count says. A frame header
/// or frame cut short is a [`FileProblem::Truncated`] error at the offset where the data
/// ended, and a declared frame size above [`MAX_IVF_FRAME_SIZE`] is
/// [`FileProblem::TooLarge`].
#[derive(Debug)]
pub struct IvfReader<R: Read> {
    source: Source<R>,
    header: IvfHeader,
}

impl<R: Read> IvfReader<R> {
    /// Reads and validates the file header.
    pub fn new(input: R) -> Result<Self, Error> {
        let mut source = Source::new(input, FORMAT);
        let mut bytes = [0u8; HEADER_SIZE as usize];
        source.read_exact(&mut bytes, "file header")?;
        let header = IvfHeader::parse(&bytes)
            .map_err(|(offset, problem)| source.error_at(offset, problem))?;
        Ok(Self { source, header })
    }

    /// The file header.
    pub fn header(&self) -> &IvfHeader {
        &self.header
    }

    /// The next frame, or `None` at the end of the data.
    pub fn next_frame(&mut self) -> Result<Option<IvfFrame>, Error> {
        let at = self.source.offset();
        let mut frame_header = [0u8; FRAME_HEADER_SIZE];
        if !self.source.read_record(&mut frame_header, "frame header")? {
            return Ok(None);
        }
        let size = u32::from_le_bytes([
            frame_header[0],
            frame_header[1],
            frame_header[2],
            frame_header[3],
        ]) as usize;
        let mut timestamp = [0u8; 8];
        timestamp.copy_from_slice(&frame_header[4..12]);
        if size > MAX_IVF_FRAME_SIZE {
            return Err(self.source.error_at(
                at,
                FileProblem::TooLarge {
                    what: "frame",
                    size: size as u64,
                    limit: MAX_IVF_FRAME_SIZE as u64,
                },
            ));
        }
        let data = self.source.read_vec(size, "frame")?;
        Ok(Some(IvfFrame {
            timestamp: u64::from_le_bytes(timestamp),
            data: Bytes::from(data),
        }))
    }

    /// The input, positioned after what was read.
    pub fn into_inner(self) -> R {
        self.source.into_inner()
    }
}

/// The frame size a VP8 or VP9 keyframe declares, if `frame` is one.
pub(crate) fn keyframe_dimensions(codec: Codec, frame: &[u8]) -> Option<(u16, u16)> {
    match codec {
        Codec::Vp8 => vp8_keyframe_dimensions(frame),
        Codec::Vp9 => vp9_keyframe_dimensions(frame),
        Codec::Opus | Codec::H264 => None,
    }
}

/// RFC 6386 §9.1: a keyframe's 3-byte frame tag (bit 0 clear), the start code
/// `9d 01 2a`, then 14-bit width and height (2 scaling bits each).
fn vp8_keyframe_dimensions(frame: &[u8]) -> Option<(u16, u16)> {
    let [tag, _, _, 0x9d, 0x01, 0x2a, w0, w1, h0, h1, ..] = *frame else {
        return None;
    };
    if tag & 1 != 0 {
        return None;
    }
    let width = u16::from_le_bytes([w0, w1]) & 0x3FFF;
    let height = u16::from_le_bytes([h0, h1]) & 0x3FFF;
    Some((width, height))
}

/// VP9 bitstream spec §6.2: the uncompressed header of a keyframe up to `frame_size()`.
fn vp9_keyframe_dimensions(frame: &[u8]) -> Option<(u16, u16)> {
    let mut bits = BitReader { data: frame, at: 0 };
    if bits.read(2)? != 2 {
        return None; // frame_marker
    }
    let low = bits.read(1)?;
    let high = bits.read(1)?;
    let profile = (high << 1) | low;
    if profile == 3 {
        bits.read(1)?; // reserved_zero
    }
    if bits.read(1)? == 1 {
        return None; // show_existing_frame
    }
    if bits.read(1)? != 0 {
        return None; // frame_type: not a keyframe
    }
    bits.read(2)?; // show_frame, error_resilient_mode
    if bits.read(24)? != 0x49_83_42 {
        return None; // frame_sync_code
    }
    if profile >= 2 {
        bits.read(1)?; // ten_or_twelve_bit
    }
    let color_space = bits.read(3)?;
    if color_space != 7 {
        bits.read(1)?; // color_range
        if profile == 1 || profile == 3 {
            bits.read(3)?; // subsampling_x, subsampling_y, reserved_zero
        }
    } else if profile == 1 || profile == 3 {
        bits.read(1)?; // reserved_zero
    }
    let width = u16::try_from(bits.read(16)? + 1).ok()?;
    let height = u16::try_from(bits.read(16)? + 1).ok()?;
    Some((width, height))
}

/// Most-significant-bit-first reader over a byte slice.
struct BitReader<'a> {
    data: &'a [u8],
    at: usize,
}

impl BitReader<'_> {
    fn read(&mut self, count: usize) -> Option<u32> {
        let mut value = 0u32;
        for _ in 0..count {
            let byte = *self.data.get(self.at / 8)?;
            value = (value << 1) | u32::from((byte >> (7 - self.at % 8)) & 1);
            self.at += 1;
        }
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn write(frames: &[(u32, &[u8])]) -> Vec<u8> {
        let mut writer =
            IvfWriter::new(Cursor::new(Vec::new()), IvfHeader::for_rtp(IvfFourcc::Vp8)).unwrap();
        for (timestamp, frame) in frames {
            writer.write_rtp_frame(*timestamp, frame).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    fn read_all(file: &[u8]) -> Result<Vec<IvfFrame>, Error> {
        let mut reader = IvfReader::new(file)?;
        let mut frames = Vec::new();
        while let Some(frame) = reader.next_frame()? {
            frames.push(frame);
        }
        Ok(frames)
    }

    fn problem(error: &Error) -> (u64, FileProblem) {
        match error {
            Error::MalformedFile {
                offset, problem, ..
            } => (*offset, *problem),
            other => panic!("expected a malformed-file error, got {other}"),
        }
    }

    #[test]
    fn frames_round_trip_with_timestamps_relative_to_the_first() {
        let file = write(&[(1000, b"one"), (4000, b"two"), (7000, b"")]);
        assert_eq!(file.len(), 32 + 3 * 12 + 6);
        let reader = IvfReader::new(file.as_slice()).unwrap();
        assert_eq!(reader.header().frame_count, 3);
        assert_eq!(reader.header().timebase_denominator, 90_000);
        let frames = read_all(&file).unwrap();
        let got: Vec<_> = frames.iter().map(|f| (f.timestamp, &f.data[..])).collect();
        assert_eq!(
            got,
            [(0, &b"one"[..]), (3000, &b"two"[..]), (6000, &b""[..])]
        );
    }

    #[test]
    fn rtp_timestamps_convert_to_a_coarser_timebase() {
        let mut header = IvfHeader::for_rtp(IvfFourcc::Vp9);
        header.timebase_denominator = 30;
        let mut writer = IvfWriter::new(Cursor::new(Vec::new()), header).unwrap();
        writer.write_rtp_frame(10, b"a").unwrap();
        writer.write_rtp_frame(10 + 3000, b"b").unwrap();
        writer.write_rtp_frame(10 + 90_000, b"c").unwrap();
        let file = writer.finish().unwrap().into_inner();
        let stamps: Vec<_> = read_all(&file)
            .unwrap()
            .iter()
            .map(|f| f.timestamp)
            .collect();
        assert_eq!(stamps, [0, 1, 30]);
    }

    #[test]
    fn an_unfinished_file_reads_with_a_zero_frame_count() {
        let mut writer =
            IvfWriter::new(Cursor::new(Vec::new()), IvfHeader::for_rtp(IvfFourcc::Vp8)).unwrap();
        writer.write_rtp_frame(0, b"frame").unwrap();
        let file = writer.out.get_ref().clone();
        let reader = IvfReader::new(file.as_slice()).unwrap();
        assert_eq!(reader.header().frame_count, 0);
        assert_eq!(read_all(&file).unwrap().len(), 1);
    }

    #[test]
    fn a_writer_may_start_in_the_middle_of_its_output() {
        let mut out = Cursor::new(b"prefix".to_vec());
        out.seek(SeekFrom::End(0)).unwrap();
        let mut writer = IvfWriter::new(out, IvfHeader::for_rtp(IvfFourcc::Vp8)).unwrap();
        writer.write_rtp_frame(0, b"x").unwrap();
        let file = writer.finish().unwrap().into_inner();
        assert_eq!(&file[..6], b"prefix");
        assert_eq!(IvfReader::new(&file[6..]).unwrap().header().frame_count, 1);
    }

    #[test]
    fn backwards_timestamps_and_oversized_frames_are_refused() {
        let mut writer =
            IvfWriter::new(Cursor::new(Vec::new()), IvfHeader::for_rtp(IvfFourcc::Vp8)).unwrap();
        writer.write_frame(10, b"a").unwrap();
        assert!(matches!(
            writer.write_frame(9, b"b"),
            Err(Error::CannotWrite { .. })
        ));
        assert!(matches!(
            writer.write_frame(11, &vec![0; MAX_IVF_FRAME_SIZE + 1]),
            Err(Error::CannotWrite { .. })
        ));
        assert_eq!(writer.frames_written(), 1);
    }

    #[test]
    fn a_bad_signature_is_refused() {
        let mut file = write(&[(0, b"a")]);
        file[0] = b'X';
        let error = IvfReader::new(file.as_slice()).unwrap_err();
        assert_eq!(problem(&error), (0, FileProblem::BadSignature));
    }

    #[test]
    fn an_unknown_version_header_size_or_fourcc_is_refused() {
        let file = write(&[(0, b"a")]);
        let mut version = file.clone();
        version[4] = 1;
        assert_eq!(
            problem(&IvfReader::new(version.as_slice()).unwrap_err()).1,
            FileProblem::UnsupportedVersion(1)
        );
        let mut size = file.clone();
        size[6] = 64;
        assert_eq!(
            problem(&IvfReader::new(size.as_slice()).unwrap_err()).1,
            FileProblem::BadHeaderSize(64)
        );
        let mut fourcc = file;
        fourcc[8..12].copy_from_slice(b"H264");
        assert_eq!(
            problem(&IvfReader::new(fourcc.as_slice()).unwrap_err()),
            (8, FileProblem::UnknownFourcc(*b"H264"))
        );
    }

    #[test]
    fn a_truncated_header_frame_header_or_frame_is_an_error_where_the_data_ends() {
        let file = write(&[(0, b"frame one"), (3000, b"frame two")]);
        for cut in 1..file.len() {
            let result = IvfReader::new(&file[..cut]).and_then(|mut r| {
                while r.next_frame()?.is_some() {}
                Ok(())
            });
            let at_frame_boundary = cut == 32 || cut == 32 + 12 + 9;
            if at_frame_boundary {
                assert!(result.is_ok(), "cut at {cut}");
            } else {
                let (offset, problem) = problem(&result.unwrap_err());
                assert_eq!(offset, cut as u64);
                assert!(matches!(problem, FileProblem::Truncated(_)));
            }
        }
    }

    #[test]
    fn a_huge_declared_frame_size_is_an_error_not_an_allocation() {
        let mut file = write(&[(0, b"a")]);
        file[32..36].copy_from_slice(&u32::MAX.to_le_bytes());
        let error = read_all(&file).unwrap_err();
        assert!(matches!(
            problem(&error),
            (32, FileProblem::TooLarge { size, .. }) if size == u64::from(u32::MAX)
        ));
        // Just under the bound, with the data missing: a truncation, and only the data
        // present was held.
        file[32..36].copy_from_slice(&(MAX_IVF_FRAME_SIZE as u32).to_le_bytes());
        assert!(matches!(
            problem(&read_all(&file).unwrap_err()).1,
            FileProblem::Truncated("frame")
        ));
    }

    #[test]
    fn vp8_and_vp9_keyframes_tell_their_size() {
        let vp8 = [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];
        assert_eq!(keyframe_dimensions(Codec::Vp8, &vp8), Some((640, 480)));
        let mut inter = vp8;
        inter[0] |= 1;
        assert_eq!(keyframe_dimensions(Codec::Vp8, &inter), None);
        // Profile 0 keyframe: marker 10, profile 00, show_existing 0, frame_type 0,
        // show_frame 1, error_res 0 -> 1000_0010; sync code; color_space 3 bits + range
        // 1 bit; then width-1 (1279) and height-1 (719) in 16 bits each.
        let mut bits = String::from("10000010");
        bits += "010010011000001101000010";
        bits += "0010";
        bits.extend([1279u16, 719].map(|v| format!("{v:016b}")));
        while bits.len() % 8 != 0 {
            bits.push('0');
        }
        let vp9: Vec<u8> = bits
            .as_bytes()
            .chunks(8)
            .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 2).unwrap())
            .collect();
        assert_eq!(keyframe_dimensions(Codec::Vp9, &vp9), Some((1280, 720)));
        assert_eq!(keyframe_dimensions(Codec::Vp9, &vp9[..5]), None);
    }
}
