//! Counters of the I/O layer and the Prometheus text rendering of all counters.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use strata_signal::ErrorCode;

use crate::hub::Hub;

/// Counters kept outside the hub (no lock needed).
#[derive(Debug, Default)]
pub struct Metrics {
    /// WebSocket connections accepted.
    pub connections_accepted: AtomicU64,
    /// Upgrades refused (connection limit or shutdown).
    pub connections_refused: AtomicU64,
    /// Text frames received.
    pub frames_received: AtomicU64,
    /// Frames written to sockets.
    pub frames_sent: AtomicU64,
    /// Connections closed because their send queue was full.
    pub slow_client_disconnects: AtomicU64,
    /// Frames dropped because a send queue was full.
    pub dropped_frames: AtomicU64,
    /// Connections closed for silence.
    pub idle_disconnects: AtomicU64,
    /// Connections closed (1009) for a message beyond the hard size limit.
    pub oversize_disconnects: AtomicU64,
    /// TCP connections closed at once because `max_http_connections` were speaking HTTP.
    pub http_connections_refused: AtomicU64,
}

fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// Adds one to `counter`.
pub fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Every gauge and counter but the errors: name, type, help, value.
fn series(metrics: &Metrics, hub: &Hub) -> [(&'static str, &'static str, &'static str, u64); 14] {
    let stats = hub.stats();
    [
        (
            "strata_connections",
            "gauge",
            "WebSocket connections open now.",
            hub.connection_count() as u64,
        ),
        (
            "strata_connections_accepted_total",
            "counter",
            "WebSocket connections accepted.",
            get(&metrics.connections_accepted),
        ),
        (
            "strata_connections_refused_total",
            "counter",
            "WebSocket upgrades refused (limit reached or shutting down).",
            get(&metrics.connections_refused),
        ),
        (
            "strata_rooms",
            "gauge",
            "Rooms that exist now.",
            hub.room_count() as u64,
        ),
        (
            "strata_participants",
            "gauge",
            "Participants in rooms now.",
            hub.participant_count() as u64,
        ),
        (
            "strata_joins_total",
            "counter",
            "Joins admitted.",
            stats.joins,
        ),
        (
            "strata_messages_received_total",
            "counter",
            "Text frames received from clients.",
            get(&metrics.frames_received),
        ),
        (
            "strata_messages_relayed_total",
            "counter",
            "Offers, answers, candidates and messages delivered to a peer.",
            stats.relayed,
        ),
        (
            "strata_frames_sent_total",
            "counter",
            "Frames written to client sockets.",
            get(&metrics.frames_sent),
        ),
        (
            "strata_slow_client_disconnects_total",
            "counter",
            "Connections closed because their send queue was full.",
            get(&metrics.slow_client_disconnects),
        ),
        (
            "strata_dropped_frames_total",
            "counter",
            "Frames dropped because a send queue was full.",
            get(&metrics.dropped_frames),
        ),
        (
            "strata_idle_disconnects_total",
            "counter",
            "Connections closed after the idle timeout.",
            get(&metrics.idle_disconnects),
        ),
        (
            "strata_oversize_disconnects_total",
            "counter",
            "Connections closed (1009) for a message beyond four times the frame limit.",
            get(&metrics.oversize_disconnects),
        ),
        (
            "strata_http_connections_refused_total",
            "counter",
            "TCP connections closed at once because max_http_connections were speaking HTTP.",
            get(&metrics.http_connections_refused),
        ),
    ]
}

/// Renders every counter in the Prometheus text exposition format (version 0.0.4).
pub fn render(metrics: &Metrics, hub: &Hub) -> String {
    let mut out = String::with_capacity(2048);
    for (name, kind, help, value) in series(metrics, hub) {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP strata_errors_total Error responses sent, by code.\n# TYPE strata_errors_total counter"
    );
    let errors = &hub.stats().errors;
    for (index, code) in ErrorCode::ALL.iter().enumerate() {
        let _ = writeln!(
            out,
            "strata_errors_total{{code=\"{}\"}} {}",
            code.name(),
            errors[index]
        );
    }
    let _ = writeln!(
        out,
        "strata_errors_total{{code=\"unknown\"}} {}",
        errors[ErrorCode::ALL.len()]
    );
    out
}
