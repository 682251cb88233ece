//! `reflect`'s forwarding: every sample of a received track goes back out on a local
//! track, unchanged, and keyframe requests travel the other way.

use strata::{
    Error as StrataError, MediaData, Sample, SampleTiming, TrackKind, TrackLocal, TrackRemote,
};

/// What one echoed track forwarded and dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EchoStats {
    /// Samples sent back.
    pub forwarded: u64,
    /// Samples dropped because the local track was not negotiated yet.
    pub not_negotiated: u64,
    /// Video frames dropped while waiting for a keyframe to start the echo with.
    pub waiting_for_keyframe: u64,
    /// Samples dropped because the local track negotiated another codec (forwarding
    /// does not transcode).
    pub codec_mismatch: u64,
    /// Keyframe requests from the peer forwarded to the sender.
    pub keyframe_requests: u64,
}

/// The time of `media` on the echoed track: its distance from the track's first sample,
/// in the codec's clock, so the sender's frame spacing is kept exactly. The 32-bit wrap
/// of the wire carries over.
fn echo_timing(first: u64, media: &MediaData) -> SampleTiming {
    SampleTiming::RtpTime(media.rtp_timestamp.wrapping_sub(first) as u32)
}

/// Forwards `remote`'s samples to `local` until either ends, and the peer's keyframe
/// requests on `local` to `remote`'s sender. Video starts at a keyframe (one is
/// requested when the first frame is not), so the peer can decode from the first frame
/// it gets.
pub async fn echo_track(remote: TrackRemote, mut local: TrackLocal) -> EchoStats {
    let mut stats = EchoStats::default();
    let mut first: Option<u64> = None;
    let mut started = remote.kind() == TrackKind::Audio;
    loop {
        tokio::select! {
            media = remote.read_sample() => {
                let Some(media) = media else { break };
                if local.codec() != Some(media.codec) {
                    if local.codec().is_none() {
                        stats.not_negotiated += 1;
                    } else {
                        if stats.codec_mismatch == 0 {
                            tracing::warn!(received = ?media.codec, sending = ?local.codec(),
                                "the echo negotiated another codec; its samples are dropped");
                        }
                        stats.codec_mismatch += 1;
                    }
                    continue;
                }
                if !started {
                    if !media.keyframe {
                        stats.waiting_for_keyframe += 1;
                        let _ = remote.request_keyframe().await;
                        continue;
                    }
                    started = true;
                }
                let base = *first.get_or_insert(media.rtp_timestamp);
                let sample = Sample { data: media.data.clone(), timing: echo_timing(base, &media) };
                match local.write_sample(sample).await {
                    Ok(()) => stats.forwarded += 1,
                    Err(StrataError::InvalidState(_)) => stats.not_negotiated += 1,
                    Err(error) => {
                        tracing::debug!(%error, "the echo track stopped");
                        break;
                    }
                }
            }
            request = local.keyframe_requested() => match request {
                Ok(_) => {
                    stats.keyframe_requests += 1;
                    let _ = remote.request_keyframe().await;
                }
                Err(_) => break,
            },
        }
    }
    stats
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use std::time::Instant;
    use strata::{Codec, Mid, Ssrc};

    use super::*;

    fn media(rtp_timestamp: u64) -> MediaData {
        MediaData {
            mid: Mid::new("0").unwrap(),
            ssrc: Ssrc(1),
            codec: Codec::Vp8,
            rtp_timestamp,
            keyframe: false,
            data: Bytes::new(),
            playout_at: Instant::now(),
            late: false,
        }
    }

    #[test]
    fn echo_timing_keeps_the_distance_from_the_first_sample_across_the_wrap() {
        let first = u64::from(u32::MAX) - 1000;
        assert_eq!(echo_timing(first, &media(first)), SampleTiming::RtpTime(0));
        assert_eq!(
            echo_timing(first, &media(first + 3000)),
            SampleTiming::RtpTime(3000)
        );
        // Five wraps later the offset is still the distance modulo 2^32.
        let later = first + 5 * (1 << 32) + 90_000;
        assert_eq!(
            echo_timing(first, &media(later)),
            SampleTiming::RtpTime(90_000)
        );
    }
}
