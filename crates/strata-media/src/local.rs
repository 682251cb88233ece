//! A track we send: packetization, sequence numbers and timestamps, the retransmission
//! cache, and what the peer reports about it.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};

use crate::codec::Packetizer;
use crate::config::LocalTrackConfig;
use crate::rtcp::ReportBlock;
use crate::rtp::{RtpHeader, RtpPacket};
use crate::stats::{OutboundRtpStats, RemoteInboundRtpStats};
use crate::{PayloadType, SeqNo, Ssrc};

/// When a sample is stamped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleTiming {
    /// The sample lasts this long: it is stamped with the track's current media time, which
    /// then advances by the duration (in the codec's clock rate).
    Duration(Duration),
    /// The sample's media time in clock-rate ticks since the track's start (the wire
    /// timestamp adds the track's random offset, RFC 3550 §5.1).
    RtpTime(u32),
}

/// One encoded sample to send: an audio packet or a video frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// The encoded data (H.264 as Annex B).
    pub data: Bytes,
    /// Its timing.
    pub timing: SampleTiming,
}

impl Sample {
    /// A sample lasting `duration`.
    pub fn new(data: Bytes, duration: Duration) -> Self {
        Self {
            data,
            timing: SampleTiming::Duration(duration),
        }
    }
}

/// A packet kept for retransmission: the header fields and payload of the original.
#[derive(Debug, Clone)]
struct Cached {
    packet: RtpPacket,
    /// When it was last retransmitted.
    resent_at: Option<Instant>,
}

#[derive(Debug)]
pub(crate) struct TrackLocal {
    pub(crate) config: LocalTrackConfig,
    pub(crate) ssrc: Ssrc,
    pub(crate) rtx: Option<(PayloadType, Ssrc)>,
    packetizer: Packetizer,
    next_seq: SeqNo,
    next_rtx_seq: SeqNo,
    timestamp_base: u32,
    media_time: u64,
    /// The last timestamp sent and when, to extrapolate the SR's RTP timestamp.
    last_stamp: Option<(u32, Instant)>,
    cache: VecDeque<Cached>,
    cache_capacity: usize,
    last_fir_seq: Option<u8>,
    pub(crate) stats: OutboundRtpStats,
    pub(crate) remote: RemoteInboundRtpStats,
}

/// Random starting points of a track, drawn by the session.
pub(crate) struct TrackSeeds {
    pub(crate) ssrc: Ssrc,
    pub(crate) rtx_ssrc: Ssrc,
    pub(crate) seq: u16,
    pub(crate) rtx_seq: u16,
    pub(crate) timestamp: u32,
}

impl TrackLocal {
    pub(crate) fn new(config: LocalTrackConfig, seeds: &TrackSeeds, cache_capacity: usize) -> Self {
        let ssrc = config.ssrc.unwrap_or(seeds.ssrc);
        let rtx = config
            .rtx
            .map(|rtx| (rtx.payload_type, rtx.ssrc.unwrap_or(seeds.rtx_ssrc)));
        let stats = OutboundRtpStats {
            ssrc,
            rtx_ssrc: rtx.map(|(_, s)| s),
            mid: config.mid.clone(),
            codec: config.codec,
            packets_sent: 0,
            bytes_sent: 0,
            header_bytes_sent: 0,
            retransmitted_packets_sent: 0,
            retransmitted_bytes_sent: 0,
            frames_sent: 0,
            nack_count: 0,
            pli_count: 0,
            fir_count: 0,
            retransmission_cache_misses: 0,
            retransmissions_suppressed: 0,
        };
        let remote = RemoteInboundRtpStats {
            ssrc,
            mid: config.mid.clone(),
            packets_lost: 0,
            fraction_lost: 0.0,
            jitter: Duration::ZERO,
            round_trip_time: None,
            total_round_trip_time: Duration::ZERO,
            round_trip_time_measurements: 0,
            reports_received: 0,
        };
        Self {
            packetizer: Packetizer::new(config.codec, seeds.seq),
            config,
            ssrc,
            rtx,
            next_seq: SeqNo(seeds.seq),
            next_rtx_seq: SeqNo(seeds.rtx_seq),
            timestamp_base: seeds.timestamp,
            media_time: 0,
            last_stamp: None,
            cache: VecDeque::with_capacity(cache_capacity.min(1024)),
            cache_capacity,
            last_fir_seq: None,
            stats,
            remote,
        }
    }

    /// Packetizes a sample into RTP packets (without the session-wide extensions, which
    /// the session adds as it sends each one). `header_room` is what those extensions
    /// need.
    pub(crate) fn packetize(
        &mut self,
        now: Instant,
        sample: &Sample,
        mtu: usize,
        header_room: usize,
    ) -> Result<Vec<RtpPacket>, crate::Error> {
        // Room for the fixed header, the extensions and RTX's two-byte OSN.
        let max_payload = mtu.saturating_sub(12 + header_room + 2);
        let payloads = self.packetizer.packetize(max_payload, &sample.data)?;
        let ticks = match sample.timing {
            SampleTiming::Duration(duration) => {
                let stamp = self.media_time;
                let clock = u128::from(self.config.codec.clock_rate());
                self.media_time = self
                    .media_time
                    .wrapping_add((duration.as_nanos() * clock / 1_000_000_000) as u64);
                stamp
            }
            SampleTiming::RtpTime(t) => {
                self.media_time = u64::from(t);
                u64::from(t)
            }
        };
        let timestamp = self.timestamp_base.wrapping_add(ticks as u32);
        self.last_stamp = Some((timestamp, now));
        let count = payloads.len();
        let video = self.config.codec.is_video();
        self.stats.frames_sent += 1;
        Ok(payloads
            .into_iter()
            .enumerate()
            .map(|(i, payload)| {
                let mut header = RtpHeader::new(
                    self.config.payload_type,
                    self.next_seq,
                    timestamp,
                    self.ssrc,
                );
                self.next_seq = self.next_seq.next();
                header.marker = video && i + 1 == count;
                RtpPacket {
                    header,
                    payload,
                    padding: 0,
                }
            })
            .collect())
    }

    /// Counts a sent original packet and keeps it for retransmission.
    pub(crate) fn sent(&mut self, packet: &RtpPacket, wire_len: usize) {
        self.stats.packets_sent += 1;
        self.stats.bytes_sent += packet.payload.len() as u64;
        self.stats.header_bytes_sent += (wire_len - packet.payload.len()) as u64;
        if self.cache.len() == self.cache_capacity {
            self.cache.pop_front();
        }
        self.cache.push_back(Cached {
            packet: packet.clone(),
            resent_at: None,
        });
    }

    /// The retransmission of `seq`: an RTX packet (RFC 4588 §4: the original sequence
    /// number in the first two payload bytes, on the RTX SSRC and payload type) when RTX
    /// was negotiated, else the original packet again. `None` when no longer cached, or
    /// when it was resent less than `min_interval` (one RTT) ago: a repeated request that
    /// crossed the retransmission on the way.
    pub(crate) fn retransmission(
        &mut self,
        seq: SeqNo,
        now: Instant,
        min_interval: Duration,
    ) -> Option<RtpPacket> {
        let front = self.cache.front().map(|c| c.packet.header.sequence_number);
        let index = front.map_or(0, |front| usize::from(seq.0.wrapping_sub(front.0)));
        let Some(cached) = self
            .cache
            .get_mut(index)
            .filter(|c| c.packet.header.sequence_number == seq)
        else {
            self.stats.retransmission_cache_misses += 1;
            return None;
        };
        if cached.resent_at.is_some_and(|at| now < at + min_interval) {
            self.stats.retransmissions_suppressed += 1;
            return None;
        }
        cached.resent_at = Some(now);
        let original = &cached.packet;
        let packet = match self.rtx {
            Some((payload_type, ssrc)) => {
                let mut payload = BytesMut::with_capacity(2 + original.payload.len());
                payload.put_u16(original.header.sequence_number.0);
                payload.put_slice(&original.payload);
                let mut header = RtpHeader::new(
                    payload_type,
                    self.next_rtx_seq,
                    original.header.timestamp,
                    ssrc,
                );
                self.next_rtx_seq = self.next_rtx_seq.next();
                header.marker = original.header.marker;
                RtpPacket {
                    header,
                    payload: payload.freeze(),
                    padding: 0,
                }
            }
            None => original.clone(),
        };
        Some(packet)
    }

    /// Counts a sent retransmission.
    pub(crate) fn retransmitted(&mut self, packet: &RtpPacket, wire_len: usize) {
        self.stats.packets_sent += 1;
        self.stats.retransmitted_packets_sent += 1;
        self.stats.bytes_sent += packet.payload.len() as u64;
        self.stats.retransmitted_bytes_sent += packet.payload.len() as u64;
        self.stats.header_bytes_sent += (wire_len - packet.payload.len()) as u64;
    }

    /// A FIR with this command sequence number: a new request (true) or a repeat.
    pub(crate) fn fir_is_new(&mut self, seq_nr: u8) -> bool {
        let new = self.last_fir_seq != Some(seq_nr);
        self.last_fir_seq = Some(seq_nr);
        new
    }

    /// The RTP timestamp corresponding to `now`, extrapolated from the last sample.
    pub(crate) fn rtp_time_at(&self, now: Instant) -> u32 {
        match self.last_stamp {
            None => self.timestamp_base,
            Some((timestamp, at)) => {
                let elapsed = now.saturating_duration_since(at);
                let ticks =
                    elapsed.as_nanos() * u128::from(self.config.codec.clock_rate()) / 1_000_000_000;
                timestamp.wrapping_add(ticks as u32)
            }
        }
    }

    /// Takes in a report block about this track; `rtt` when it echoed our SR.
    pub(crate) fn report_received(&mut self, block: &ReportBlock, rtt: Option<Duration>) {
        let remote = &mut self.remote;
        remote.reports_received += 1;
        remote.packets_lost = i64::from(block.cumulative_lost);
        remote.fraction_lost = f64::from(block.fraction_lost) / 256.0;
        let clock = f64::from(self.config.codec.clock_rate());
        remote.jitter = Duration::from_secs_f64(f64::from(block.jitter) / clock);
        if let Some(rtt) = rtt {
            remote.round_trip_time = Some(rtt);
            remote.total_round_trip_time += rtt;
            remote.round_trip_time_measurements += 1;
        }
    }

    pub(crate) fn ssrcs(&self) -> impl Iterator<Item = Ssrc> + '_ {
        std::iter::once(self.ssrc).chain(self.rtx.map(|(_, s)| s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RtxConfig;
    use crate::{Codec, Mid};

    fn track(rtx: bool, cache: usize) -> TrackLocal {
        let mut config = LocalTrackConfig::new(
            Mid::new("0").unwrap(),
            Codec::Vp8,
            PayloadType::new(96).unwrap(),
        );
        if rtx {
            config.rtx = Some(RtxConfig {
                payload_type: PayloadType::new(97).unwrap(),
                ssrc: Some(Ssrc(99)),
            });
        }
        let seeds = TrackSeeds {
            ssrc: Ssrc(1),
            rtx_ssrc: Ssrc(2),
            seq: 65_535,
            rtx_seq: 10,
            timestamp: u32::MAX - 10,
        };
        TrackLocal::new(config, &seeds, cache)
    }

    #[test]
    fn frames_get_consecutive_numbers_one_timestamp_and_a_final_marker() {
        let mut t = track(false, 16);
        let now = Instant::now();
        let sample = Sample::new(Bytes::from(vec![0u8; 2500]), Duration::from_millis(33));
        let packets = t.packetize(now, &sample, 1200, 0).unwrap();
        assert_eq!(packets.len(), 3);
        assert_eq!(packets[0].header.sequence_number, SeqNo(65_535));
        assert_eq!(packets[1].header.sequence_number, SeqNo(0));
        assert!(packets.iter().all(|p| p.header.timestamp == u32::MAX - 10));
        assert_eq!(
            packets.iter().map(|p| p.header.marker).collect::<Vec<_>>(),
            [false, false, true]
        );
        assert!(packets.iter().all(|p| p.len() + 2 <= 1200));
        let next = t.packetize(now, &sample, 1200, 0).unwrap();
        // 33 ms at 90 kHz, wrapping.
        assert_eq!(next[0].header.timestamp, (u32::MAX - 10).wrapping_add(2970));
        let explicit = Sample {
            data: Bytes::from_static(&[1]),
            timing: SampleTiming::RtpTime(9000),
        };
        assert_eq!(
            t.packetize(now, &explicit, 1200, 0).unwrap()[0]
                .header
                .timestamp,
            (u32::MAX - 10).wrapping_add(9000)
        );
    }

    #[test]
    fn retransmissions_come_from_a_bounded_cache_over_rtx() {
        let mut t = track(true, 2);
        let now = Instant::now();
        for _ in 0..3 {
            for p in t
                .packetize(
                    now,
                    &Sample::new(Bytes::from_static(b"abc"), Duration::from_millis(10)),
                    1200,
                    0,
                )
                .unwrap()
            {
                let len = p.len();
                t.sent(&p, len);
            }
        }
        // 65535 fell out of the two-packet cache.
        let rtt = Duration::from_millis(50);
        assert!(t.retransmission(SeqNo(65_535), now, rtt).is_none());
        assert_eq!(t.stats.retransmission_cache_misses, 1);
        let rtx = t.retransmission(SeqNo(1), now, rtt).unwrap();
        // Asked again within one RTT: the first retransmission may still be on its way.
        assert!(
            t.retransmission(SeqNo(1), now + Duration::from_millis(20), rtt)
                .is_none()
        );
        assert_eq!(t.stats.retransmissions_suppressed, 1);
        let again = t.retransmission(SeqNo(1), now + rtt, rtt).unwrap();
        assert_eq!(again.header.sequence_number, SeqNo(11));
        assert_eq!(rtx.header.ssrc, Ssrc(99));
        assert_eq!(rtx.header.payload_type.value(), 97);
        assert_eq!(rtx.header.sequence_number, SeqNo(10));
        assert_eq!(&rtx.payload[..2], &[0, 1]);
        let plain = track(false, 4).retransmission(SeqNo(1), now, rtt);
        assert!(plain.is_none());
    }
}
