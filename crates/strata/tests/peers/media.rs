//! Encoded-looking media for track tests: frames that carry their own index, so the
//! receiver can check every byte and tell which frame arrived.

use std::time::Duration;

use bytes::Bytes;
use strata::{MediaData, Sample, TrackLocal, TrackRemote};

use super::{PATIENCE, indexed_payload, read_indexed};

/// One video frame at 30 frames per second.
pub(crate) const FRAME: Duration = Duration::from_millis(33);
/// One Opus packet.
pub(crate) const AUDIO_PACKET: Duration = Duration::from_millis(20);

/// A VP8 frame of `len` bytes (at least 9) carrying `index`. The first byte is the VP8
/// payload header, whose P bit (RFC 7741 §4.3) is clear on keyframes.
pub(crate) fn vp8_frame(index: u64, len: usize, keyframe: bool) -> Bytes {
    let mut data = vec![if keyframe { 0x10 } else { 0x11 }];
    data.extend_from_slice(&indexed_payload(index, len.max(9) - 1));
    Bytes::from(data)
}

/// The index a [`vp8_frame`] carries, if every byte is intact.
pub(crate) fn vp8_index(data: &[u8]) -> Option<u64> {
    read_indexed(data.get(1..)?)
}

/// A frame size between 200 bytes and about 6 KB (several packets), from `index`.
pub(crate) fn frame_len(index: u64) -> usize {
    200 + (index.wrapping_mul(2_654_435_761) % 6000) as usize
}

/// Writes `frames` on `track`, paced like a live source at `every`.
pub(crate) async fn write_paced(track: &TrackLocal, frames: Vec<Bytes>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    for frame in frames {
        tick.tick().await;
        track
            .write_sample(Sample::new(frame, every))
            .await
            .expect("sample accepted");
    }
}

/// The next sample of `track`, or `None` when it ended or nothing came for `wait`.
pub(crate) async fn next_sample_within(track: &TrackRemote, wait: Duration) -> Option<MediaData> {
    tokio::time::timeout(wait, track.read_sample())
        .await
        .ok()
        .flatten()
}

/// The next sample of `track`, within the patience bound.
pub(crate) async fn next_sample(track: &TrackRemote) -> MediaData {
    next_sample_within(track, PATIENCE)
        .await
        .expect("a sample within the patience bound")
}
