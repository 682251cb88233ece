//! Transport-wide congestion control: the receiver's arrival log and feedback builder, and
//! the sender's history of send times.

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use crate::event::{PacketReport, TransportFeedbackReport};
use crate::rtcp::{
    PacketStatus, TWCC_DELTA_TICK_MICROS, TWCC_REFERENCE_TICK_MICROS, TransportFeedback,
};
use crate::rtp::TransportSeq;
use crate::{SeqNo, SeqUnwrapper, Ssrc};

/// Arrivals the receiver logs before feedback; more are dropped (counted in
/// [`SessionStats::transport_feedback_dropped`](crate::SessionStats::transport_feedback_dropped)).
pub const MAX_TRANSPORT_FEEDBACK_PENDING: usize = 4096;
/// Most sequence numbers one feedback message describes (keeps it within an MTU: at most
/// two bytes of delta and a chunk's share per packet).
pub const MAX_PACKETS_PER_FEEDBACK: usize = 400;
/// Sent packets whose send time is remembered for matching feedback.
pub const TRANSPORT_SEND_HISTORY: usize = 8192;

/// The receiving side: arrival times by transport-wide sequence number.
#[derive(Debug, Default)]
pub(crate) struct TwccReceiver {
    unwrapper: SeqUnwrapper,
    /// Extended sequence number → arrival, microseconds since the session epoch.
    arrivals: BTreeMap<u64, i64>,
    /// First sequence number the next feedback starts at.
    next_base: Option<u64>,
    feedback_count: u8,
    pub(crate) media_ssrc: Option<Ssrc>,
    pub(crate) last_feedback: Option<Instant>,
}

impl TwccReceiver {
    /// Logs an arrival. Returns false when it had to be dropped.
    pub(crate) fn record(
        &mut self,
        seq: TransportSeq,
        arrival_micros: i64,
        media_ssrc: Ssrc,
    ) -> bool {
        let ext = self.unwrapper.unwrap(SeqNo(seq.0)).0;
        self.media_ssrc.get_or_insert(media_ssrc);
        if self.next_base.is_some_and(|base| ext < base) {
            return false;
        }
        if self.arrivals.len() >= MAX_TRANSPORT_FEEDBACK_PENDING
            && !self.arrivals.contains_key(&ext)
        {
            return false;
        }
        self.arrivals.entry(ext).or_insert(arrival_micros);
        true
    }

    /// Whether enough is pending to send feedback before the interval ends.
    pub(crate) fn is_full(&self) -> bool {
        self.arrivals.len() >= MAX_PACKETS_PER_FEEDBACK
    }

    pub(crate) fn has_pending(&self) -> bool {
        !self.arrivals.is_empty()
    }

    /// Builds one feedback message from the oldest pending arrivals, or `None`.
    pub(crate) fn build(&mut self, sender_ssrc: Ssrc) -> Option<TransportFeedback> {
        let (&first, &first_arrival) = self.arrivals.iter().next()?;
        let base = self.next_base.map_or(first, |b| b.min(first));
        let reference = first_arrival.div_euclid(TWCC_REFERENCE_TICK_MICROS);
        let mut previous = reference * TWCC_REFERENCE_TICK_MICROS;
        let mut packets = Vec::new();
        let mut seq = base;
        while packets.len() < MAX_PACKETS_PER_FEEDBACK {
            let Some((&last, _)) = self.arrivals.iter().next_back() else {
                break;
            };
            if seq > last {
                break;
            }
            match self.arrivals.get(&seq) {
                None => packets.push(PacketStatus::NotReceived),
                Some(&arrival) => {
                    let ticks = (arrival - previous).div_euclid(TWCC_DELTA_TICK_MICROS);
                    let Ok(delta) = i16::try_from(ticks) else {
                        break;
                    };
                    previous += i64::from(delta) * TWCC_DELTA_TICK_MICROS;
                    packets.push(PacketStatus::Received { delta });
                    self.arrivals.remove(&seq);
                }
            }
            seq += 1;
        }
        // Trailing "not received" entries say nothing yet; the next feedback starts there.
        while packets.last() == Some(&PacketStatus::NotReceived) {
            packets.pop();
            seq -= 1;
        }
        if packets.is_empty() {
            return None;
        }
        self.next_base = Some(seq);
        let feedback = TransportFeedback {
            sender_ssrc,
            media_ssrc: self.media_ssrc.unwrap_or(Ssrc(0)),
            base_seq: base as u16,
            reference_time: (reference & 0x00FF_FFFF) as u32,
            feedback_count: self.feedback_count,
            packets,
        };
        self.feedback_count = self.feedback_count.wrapping_add(1);
        Some(feedback)
    }
}

#[derive(Debug, Clone, Copy)]
struct Sent {
    seq: u16,
    at: Instant,
    size: usize,
}

/// The sending side: stamps transport-wide sequence numbers and remembers send times.
#[derive(Debug, Default)]
pub(crate) struct TwccSender {
    next_seq: u16,
    history: VecDeque<Sent>,
}

impl TwccSender {
    /// The sequence number for the next packet, remembered with its send time.
    pub(crate) fn stamp(&mut self, at: Instant, size: usize) -> TransportSeq {
        let seq = self.next_seq;
        self.next_seq = seq.wrapping_add(1);
        if self.history.len() == TRANSPORT_SEND_HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(Sent { seq, at, size });
        TransportSeq(seq)
    }

    fn lookup(&self, seq: u16) -> Option<Sent> {
        let front = self.history.front()?;
        let index = usize::from(seq.wrapping_sub(front.seq));
        self.history.get(index).filter(|s| s.seq == seq).copied()
    }

    /// Matches feedback with the send history.
    pub(crate) fn report(&self, feedback: &TransportFeedback) -> TransportFeedbackReport {
        // Sign-extend the 24-bit reference time.
        let reference = i64::from(((feedback.reference_time << 8) as i32) >> 8);
        let mut arrival = reference * TWCC_REFERENCE_TICK_MICROS;
        let packets = feedback
            .packets
            .iter()
            .enumerate()
            .map(|(i, status)| {
                let seq = feedback.base_seq.wrapping_add(i as u16);
                let sent = self.lookup(seq);
                let arrival_micros = match status {
                    PacketStatus::NotReceived => None,
                    PacketStatus::Received { delta } => {
                        arrival += i64::from(*delta) * TWCC_DELTA_TICK_MICROS;
                        Some(arrival)
                    }
                };
                PacketReport {
                    seq: TransportSeq(seq),
                    sent_at: sent.map(|s| s.at),
                    size: sent.map(|s| s.size),
                    arrival_micros,
                }
            })
            .collect();
        TransportFeedbackReport { packets }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn feedback_describes_arrivals_and_gaps_in_order() {
        let mut rx = TwccReceiver::default();
        for (seq, at) in [
            (65_534u16, 1_000i64),
            (65_535, 2_000),
            (1, 30_000),
            (2, 29_000),
        ] {
            assert!(rx.record(TransportSeq(seq), at, Ssrc(9)));
        }
        let fb = rx.build(Ssrc(1)).unwrap();
        assert_eq!(fb.base_seq, 65_534);
        assert_eq!(fb.reference_time, 0);
        assert_eq!(
            fb.packets,
            vec![
                PacketStatus::Received { delta: 4 },
                PacketStatus::Received { delta: 4 },
                PacketStatus::NotReceived,
                PacketStatus::Received { delta: 112 },
                PacketStatus::Received { delta: -4 },
            ]
        );
        assert!(!rx.has_pending());
        // A late arrival of an already reported number is dropped.
        assert!(!rx.record(TransportSeq(0), 31_000, Ssrc(9)));
        assert!(rx.build(Ssrc(1)).is_none());

        // The sender matches it with its history.
        let start = Instant::now();
        let mut tx = TwccSender {
            next_seq: 65_534,
            history: VecDeque::new(),
        };
        for i in 0..5u64 {
            tx.stamp(start + Duration::from_millis(i), 100);
        }
        let report = tx.report(&fb);
        assert_eq!(report.packets.len(), 5);
        assert_eq!(report.packets[2].arrival_micros, None);
        assert_eq!(report.packets[3].arrival_micros, Some(30_000));
        assert_eq!(
            report.packets[4].sent_at,
            Some(start + Duration::from_millis(4))
        );
    }

    #[test]
    fn the_arrival_log_is_bounded() {
        let mut rx = TwccReceiver::default();
        let mut dropped = 0;
        for seq in 0..(MAX_TRANSPORT_FEEDBACK_PENDING as u16 + 10) {
            if !rx.record(TransportSeq(seq), i64::from(seq), Ssrc(1)) {
                dropped += 1;
            }
        }
        assert_eq!(dropped, 10);
        assert!(rx.is_full());
        let fb = rx.build(Ssrc(1)).unwrap();
        assert_eq!(fb.packets.len(), MAX_PACKETS_PER_FEEDBACK);
    }
}
