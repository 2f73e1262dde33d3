//! Counters of the export pipeline, readable from any thread.

use std::sync::atomic::Ordering;

/// A snapshot of the pipeline's counters since the process started.
///
/// ```
/// let m = trace_runtime::metrics();
/// assert!(m.spans_exported <= m.spans_queued);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Spans handed to the export queue.
    pub spans_queued: u64,
    /// Spans dropped because the queue was over `TRACE_QUEUE_SIZE`.
    pub spans_dropped_queue_full: u64,
    /// Spans that reached the worker with nowhere to go (no exporter, or a capture that had ended).
    pub spans_dropped_no_sink: u64,
    /// Spans every exporter accepted.
    pub spans_exported: u64,
    /// Spans at least one exporter failed on.
    pub spans_export_failed: u64,
    /// Exporter calls.
    pub export_batches: u64,
    /// The anonymous telemetry layer's counters ([`crate::telemetry::metrics`]).
    pub telemetry: crate::telemetry::TelemetryMetrics,
}

/// The pipeline's counters.
pub fn metrics() -> Metrics {
    // Reading the counters must not start the export worker (the kill switch promises none runs).
    let Some(shared) = crate::pipeline::started() else {
        return Metrics { telemetry: crate::telemetry::metrics(), ..Metrics::default() };
    };
    let c = &shared.counters;
    let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    Metrics {
        spans_queued: get(&c.spans_queued),
        spans_dropped_queue_full: get(&c.dropped_queue_full),
        spans_dropped_no_sink: get(&c.dropped_no_sink),
        spans_exported: get(&c.exported),
        spans_export_failed: get(&c.export_failed),
        export_batches: get(&c.export_batches),
        telemetry: crate::telemetry::metrics(),
    }
}
