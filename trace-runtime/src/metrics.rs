//! Counters of the export pipeline, readable from any thread.
//!
//! Every span handed off by a thread ends in exactly one of: exported, dropped because the queue
//! was full, dropped with nowhere to go, sampled out (adaptive sampling), pushed out of the
//! adaptive-sampling buffer, or failed in an exporter — so once the pipeline is flushed,
//! `spans_started` equals `spans_exported` plus [`Metrics::spans_dropped`]. (Spans recorded inside
//! `testing::capture` are counted as started and queued, and go to their capture instead.)

use std::sync::atomic::Ordering;

pub use crate::pipeline::breaker::BreakerState;

/// A snapshot of the pipeline's counters since the process started.
///
/// ```
/// let m = trace_runtime::metrics();
/// assert!(m.spans_exported <= m.spans_queued);
/// assert_eq!(m.spans_started, m.spans_queued + m.spans_dropped_queue_full);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Spans ended and handed off by the application's threads (queued or dropped at hand-off),
    /// counted where they leave the thread.
    pub spans_started: u64,
    /// Writes to the current span (`span::set`, events, errors, usage, logs) that reached no span:
    /// made under a context attached from elsewhere, whose span records on another thread, or
    /// past the bound of writes a thread keeps for its live spans.
    pub span_writes_dropped: u64,
    /// Spans handed to the export queue.
    pub spans_queued: u64,
    /// Spans dropped because the queue was over `TRACE_QUEUE_SIZE`.
    pub spans_dropped_queue_full: u64,
    /// Spans that reached the worker with nowhere to go (no exporter, or a capture that had ended).
    pub spans_dropped_no_sink: u64,
    /// Adaptive sampling: spans of traces the ratio rejected that neither errored nor ran slow.
    pub spans_dropped_sampled_out: u64,
    /// Adaptive sampling: spans of undecided traces pushed out of its full buffer.
    pub spans_dropped_sampling_buffer_full: u64,
    /// Spans every exporter accepted.
    pub spans_exported: u64,
    /// Spans at least one exporter did not take: it failed or timed out, its circuit was open,
    /// or its lane was full.
    pub spans_export_failed: u64,
    /// Batches handed to the exporters.
    pub export_batches: u64,
    /// The anonymous telemetry layer's counters ([`crate::telemetry::metrics`]).
    pub telemetry: crate::telemetry::TelemetryMetrics,
    /// Each exporter of the installed pipeline.
    pub exporters: Vec<ExporterMetrics>,
}

impl Metrics {
    /// Every span not exported, whatever the reason.
    ///
    /// ```
    /// let m = trace_runtime::metrics();
    /// assert!(m.spans_dropped() >= m.spans_dropped_queue_full);
    /// ```
    pub fn spans_dropped(&self) -> u64 {
        self.spans_dropped_queue_full
            + self.spans_dropped_no_sink
            + self.spans_dropped_sampled_out
            + self.spans_dropped_sampling_buffer_full
            + self.spans_export_failed
    }
}

/// One exporter's counters, from its own lane.
///
/// ```rust,standalone_crate
/// use trace_runtime::{BreakerState, Config, config::Exporter};
/// use trace_runtime::opentelemetry_sdk::trace::InMemorySpanExporter;
///
/// let guard = trace_runtime::init_with(
///     Config::builder().exporter(Exporter::None).with_span_exporter(InMemorySpanExporter::default()).build(),
/// )
/// .unwrap();
/// trace_runtime::trace!("job", {});
/// assert!(guard.flush());
/// let exporter = &trace_runtime::metrics().exporters[0];
/// assert_eq!((exporter.name.as_str(), exporter.spans_exported), ("custom-1", 1));
/// assert_eq!(exporter.breaker, BreakerState::Closed);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExporterMetrics {
    /// `stdout`, `otlp`, `zipkin`, or `custom-N` for exporters added with
    /// [`with_span_exporter`](crate::ConfigBuilder::with_span_exporter).
    pub name: String,
    /// Its circuit breaker.
    pub breaker: BreakerState,
    /// Spans it accepted.
    pub spans_exported: u64,
    /// Spans it did not take: failed, timed out, circuit open or lane full.
    pub spans_failed: u64,
    /// Of those, spans dropped because its lane's queue was full.
    pub spans_dropped_lane_full: u64,
    /// Export calls made.
    pub batches: u64,
    /// The last error, if any.
    pub last_error: Option<String>,
}

/// The pipeline's counters, and each installed exporter's.
///
/// ```
/// let m = trace_runtime::metrics();
/// assert!(m.exporters.is_empty(), "no exporter before init()");
/// ```
pub fn metrics() -> Metrics {
    // Reading the counters must not start the export worker (the kill switch promises none runs).
    let Some(shared) = crate::pipeline::started() else {
        return Metrics {
            span_writes_dropped: crate::span::thread_state::DROPPED_WRITES.load(Ordering::Relaxed),
            telemetry: crate::telemetry::metrics(),
            ..Metrics::default()
        };
    };
    let c = &shared.counters;
    let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    let exporters = crate::pipeline::fanout::current_stats()
        .iter()
        .map(|lane| ExporterMetrics {
            name: lane.name.clone(),
            breaker: BreakerState::from_u8(lane.breaker.load(Ordering::Relaxed)),
            spans_exported: get(&lane.exported),
            spans_failed: get(&lane.failed),
            spans_dropped_lane_full: get(&lane.dropped_lane_full),
            batches: get(&lane.batches),
            last_error: lane.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        })
        .collect();
    let queued = get(&c.spans_queued);
    let dropped_queue_full = get(&c.dropped_queue_full);
    Metrics {
        // Every hand-off is queued or dropped there: one counter fewer for each to touch.
        spans_started: queued + dropped_queue_full,
        span_writes_dropped: crate::span::thread_state::DROPPED_WRITES.load(Ordering::Relaxed),
        spans_queued: queued,
        spans_dropped_queue_full: dropped_queue_full,
        spans_dropped_no_sink: get(&c.dropped_no_sink),
        spans_dropped_sampled_out: get(&c.dropped_sampled_out),
        spans_dropped_sampling_buffer_full: get(&c.dropped_tail_full),
        spans_exported: get(&c.exported),
        spans_export_failed: get(&c.export_failed),
        export_batches: get(&c.export_batches),
        telemetry: crate::telemetry::metrics(),
        exporters,
    }
}
