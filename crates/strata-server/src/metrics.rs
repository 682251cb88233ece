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
}

fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// Adds one to `counter`.
pub fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Renders every counter in the Prometheus text exposition format (version 0.0.4).
pub fn render(metrics: &Metrics, hub: &Hub) -> String {
    let mut out = String::with_capacity(2048);
    let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    };
    metric(
        "strata_connections",
        "gauge",
        "WebSocket connections open now.",
        hub.connection_count() as u64,
    );
    metric(
        "strata_connections_accepted_total",
        "counter",
        "WebSocket connections accepted.",
        get(&metrics.connections_accepted),
    );
    metric(
        "strata_connections_refused_total",
        "counter",
        "WebSocket upgrades refused (limit reached or shutting down).",
        get(&metrics.connections_refused),
    );
    metric(
        "strata_rooms",
        "gauge",
        "Rooms that exist now.",
        hub.room_count() as u64,
    );
    metric(
        "strata_participants",
        "gauge",
        "Participants in rooms now.",
        hub.participant_count() as u64,
    );
    metric(
        "strata_joins_total",
        "counter",
        "Joins admitted.",
        hub.stats().joins,
    );
    metric(
        "strata_messages_received_total",
        "counter",
        "Text frames received from clients.",
        get(&metrics.frames_received),
    );
    metric(
        "strata_messages_relayed_total",
        "counter",
        "Offers, answers, candidates and messages delivered to a peer.",
        hub.stats().relayed,
    );
    metric(
        "strata_frames_sent_total",
        "counter",
        "Frames written to client sockets.",
        get(&metrics.frames_sent),
    );
    metric(
        "strata_slow_client_disconnects_total",
        "counter",
        "Connections closed because their send queue was full.",
        get(&metrics.slow_client_disconnects),
    );
    metric(
        "strata_dropped_frames_total",
        "counter",
        "Frames dropped because a send queue was full.",
        get(&metrics.dropped_frames),
    );
    metric(
        "strata_idle_disconnects_total",
        "counter",
        "Connections closed after the idle timeout.",
        get(&metrics.idle_disconnects),
    );
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
