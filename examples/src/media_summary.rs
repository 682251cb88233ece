//! The media figures the examples print when they leave a call, as one JSON object (the
//! interop scenarios read them back).

use strata::SessionStats;

/// The session's round-trip time and how it was learnt, and the counters of each
/// received and sent stream that tell how the call went: loss, repairs, frames.
pub fn media_summary(media: &SessionStats) -> serde_json::Value {
    let inbound: Vec<_> = media
        .inbound
        .iter()
        .map(|s| {
            serde_json::json!({
                "codec": format!("{:?}", s.codec),
                "packets_received": s.packets_received,
                "packets_lost": s.packets_lost,
                "packets_recovered": s.packets_recovered,
                "unneeded_recoveries": s.unneeded_recoveries,
                "packets_awaiting_retransmission": s.packets_awaiting_retransmission,
                "retransmitted_packets_received": s.retransmitted_packets_received,
                "nack_count": s.nack_count,
                "frames_received": s.frames_received,
                "frames_dropped": s.frames_dropped,
            })
        })
        .collect();
    let outbound: Vec<_> = media
        .outbound
        .iter()
        .map(|s| {
            serde_json::json!({
                "codec": format!("{:?}", s.codec),
                "packets_sent": s.packets_sent,
                "nack_count": s.nack_count,
                "retransmitted_packets_sent": s.retransmitted_packets_sent,
                "retransmission_cache_misses": s.retransmission_cache_misses,
            })
        })
        .collect();
    serde_json::json!({
        "round_trip_time_ms": media.round_trip_time.map(|rtt| rtt.as_secs_f64() * 1000.0),
        "dlrr_rtt_measurements": media.dlrr_rtt_measurements,
        "inbound": inbound,
        "outbound": outbound,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_round_trip_time_is_in_milliseconds_and_absent_until_measured() {
        let mut media = SessionStats::default();
        assert!(media_summary(&media)["round_trip_time_ms"].is_null());
        media.round_trip_time = Some(Duration::from_micros(41_500));
        media.dlrr_rtt_measurements = 3;
        let summary = media_summary(&media);
        assert_eq!(summary["round_trip_time_ms"], 41.5);
        assert_eq!(summary["dlrr_rtt_measurements"], 3);
        assert_eq!(summary["inbound"], serde_json::json!([]));
    }
}
