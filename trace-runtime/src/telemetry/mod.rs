//! Anonymous usage telemetry: counts of agent runs, feature uses and error types, separate from
//! tracing and off unless the application configures a destination.
//!
//! **Off by default.** The layer runs only when [`init`](crate::init) finds a destination —
//! `TRACE_TELEMETRY_ENDPOINT` (an `http://` URL, or `https://` with the `tls` cargo feature:
//! [`HttpTelemetrySink`]) or
//! `Config::builder().telemetry_sink(..)` — and nothing switches it off. In order, what wins:
//!
//! 1. the kill switch (`TRACE_DISABLE_ALL`, `OTEL_SDK_DISABLED`, `disabled(true)`) or the opt-out
//!    file `~/.trace-runtime-no-tracing`: off;
//! 2. `TRACE_TELEMETRY_ENABLED=false` (or `telemetry_enabled(false)`): off;
//! 3. no destination: off (`TRACE_TELEMETRY_ENABLED=true` alone does not turn it on);
//! 4. a CI job ([`detect_ci`](crate::privacy::detect_ci)) without `TRACE_ENABLE_TELEMETRY_IN_CI=true`
//!    (or `telemetry_in_ci(true)`): off;
//! 5. otherwise on. [`TraceGuard::report`](crate::TraceGuard::report) says which rule decided.
//!
//! **What is sent**, and nothing else ([`Payload`]): the schema name, a random session id drawn
//! once per process (not derived from the machine, user or network), a batch sequence number, the
//! kit version, the Rust version that built it, the OS and CPU architecture names; then counters:
//! agent runs per (agent type, framework, success) with count, total and longest duration in ms;
//! uses per feature name; errors per (error type, component).
//!
//! **What is never sent**: error messages, stack traces, file paths, URLs, host names, IP
//! addresses, e-mail addresses, user or machine identifiers, span data, prompts, completions,
//! attribute values, timestamps of single events. The API takes only `&'static str` labels
//! (names written in the program) and `bool`/`Duration`, and each label is checked on the
//! telemetry thread: a label that looks like a path, URL, e-mail, address, host, id or key, or is
//! longer than [`MAX_LABEL_BYTES`] is replaced by [`REDACTED`] and counted.
//!
//! **How**: a call is one relaxed load when the layer is off; when on, a `Copy` event pushed to a
//! bounded lock-free queue ([`QUEUE_EVENTS`]; when full, the event is dropped and counted). The
//! telemetry thread folds events into counters (at most 256 keys per table)
//! and sends one JSON batch a minute (`telemetry_interval`) and at shutdown, within the export
//! timeout, behind a circuit breaker ([`BreakerState`]). [`metrics`] shows what happened.

mod breaker;
mod label;
mod payload;
mod sink;
#[cfg(feature = "http-client")]
mod tls;
mod worker;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crossbeam_queue::ArrayQueue;

pub use crate::pipeline::breaker::BreakerState;
pub use breaker::{COOLDOWN, FAILURES_TO_OPEN, MAX_COOLDOWN};
pub use label::{MAX_LABEL_BYTES, REDACTED};
pub use payload::{AgentRunCount, ErrorCount, FeatureCount, Payload, RUST_VERSION, SCHEMA};
pub use sink::{DeliveryError, EndpointError, HttpTelemetrySink, TelemetrySink};

pub(crate) use worker::{start, stop};

use payload::Event;

/// Events waiting for the telemetry thread; more are dropped and counted.
///
/// ```
/// assert_eq!(trace_runtime::telemetry::QUEUE_EVENTS, 4096);
/// ```
pub const QUEUE_EVENTS: usize = 4096;

/// Default time between two batches.
///
/// ```
/// assert_eq!(trace_runtime::telemetry::DEFAULT_INTERVAL, std::time::Duration::from_secs(60));
/// ```
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

static ON: AtomicBool = AtomicBool::new(false);

fn queue() -> &'static ArrayQueue<Event> {
    static QUEUE: OnceLock<ArrayQueue<Event>> = OnceLock::new();
    QUEUE.get_or_init(|| ArrayQueue::new(QUEUE_EVENTS))
}

struct Counters {
    processed: AtomicU64,
    dropped: AtomicU64,
    redacted: AtomicU64,
    sent: AtomicU64,
    failed: AtomicU64,
}

static COUNTERS: Counters = Counters {
    processed: AtomicU64::new(0),
    dropped: AtomicU64::new(0),
    redacted: AtomicU64::new(0),
    sent: AtomicU64::new(0),
    failed: AtomicU64::new(0),
};

#[inline]
fn record(event: Event) {
    if !ON.load(Ordering::Relaxed) {
        return;
    }
    if queue().push(event).is_err() {
        COUNTERS.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// Whether the telemetry layer is running (see the [module docs](self) for what turns it on).
///
/// ```
/// assert!(!trace_runtime::telemetry::is_enabled(), "off until init finds a destination");
/// ```
pub fn is_enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Counts one agent run: its type, its framework, whether it succeeded and how long it took.
///
/// ```
/// use std::time::Duration;
/// trace_runtime::telemetry::agent_run("simple", "rig", true, Duration::from_millis(1234));
/// ```
pub fn agent_run(agent_type: &'static str, framework: &'static str, success: bool, duration: Duration) {
    let duration_ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    record(Event::Run { agent_type, framework, success, duration_ms });
}

/// Counts one use of a named feature.
///
/// ```
/// trace_runtime::telemetry::feature("multimodal_content");
/// ```
pub fn feature(name: &'static str) {
    record(Event::Feature(name));
}

/// Counts one error of type `E` in `component`: the bare type name only (`ParseIntError`), since
/// the function takes no error value at all.
///
/// ```
/// fn parse(s: &str) -> Result<u32, std::num::ParseIntError> {
///     s.parse().inspect_err(|_| trace_runtime::telemetry::error::<std::num::ParseIntError>("config"))
/// }
/// assert!(parse("x").is_err());
/// ```
pub fn error<E: ?Sized>(component: &'static str) {
    record(Event::Error { error_type: label::type_label(std::any::type_name::<E>()), component });
}

/// Counts one error by a type name of your choosing, such as `"TimeoutError"`.
///
/// ```
/// trace_runtime::telemetry::error_type("TimeoutError", "agent.simple");
/// ```
pub fn error_type(error_type: &'static str, component: &'static str) {
    record(Event::Error { error_type, component });
}

/// Sends what was counted so far now, instead of at the next interval; `false` if the layer is
/// off or the telemetry thread did not answer within `timeout`.
///
/// ```
/// assert!(!trace_runtime::telemetry::flush(std::time::Duration::from_secs(1)), "off");
/// ```
pub fn flush(timeout: Duration) -> bool {
    worker::flush(timeout)
}

/// The telemetry layer's counters since the process started.
///
/// ```
/// let m = trace_runtime::telemetry::metrics();
/// assert_eq!(m.batches_sent + m.batches_failed, 0, "nothing is sent while the layer is off");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TelemetryMetrics {
    /// Events counted into a batch.
    pub events_processed: u64,
    /// Events lost: queue full, too many distinct labels, or held back by an open breaker at
    /// shutdown.
    pub events_dropped: u64,
    /// Labels replaced by [`REDACTED`] because they looked like content.
    pub labels_redacted: u64,
    /// Batches the destination accepted.
    pub batches_sent: u64,
    /// Batches that failed.
    pub batches_failed: u64,
    /// The circuit breaker in front of the destination.
    pub breaker: BreakerState,
}

/// The telemetry layer's counters (also in [`crate::metrics()`]'s `telemetry` field).
///
/// ```
/// use trace_runtime::telemetry::{self, BreakerState};
///
/// let m = telemetry::metrics();
/// assert_eq!((m.batches_sent, m.breaker), (0, BreakerState::Closed), "off: nothing sent");
/// assert_eq!(trace_runtime::metrics().telemetry, m);
/// ```
pub fn metrics() -> TelemetryMetrics {
    let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
    TelemetryMetrics {
        events_processed: get(&COUNTERS.processed),
        events_dropped: get(&COUNTERS.dropped),
        labels_redacted: get(&COUNTERS.redacted),
        batches_sent: get(&COUNTERS.sent),
        batches_failed: get(&COUNTERS.failed),
        breaker: breaker::published(),
    }
}

/// The session id: 128 bits from the operating system's random source, drawn once per process.
fn session_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let mut bytes = [0u8; 16];
        if getrandom::fill(&mut bytes).is_err() {
            // The hasher keys std draws from the OS at start-up: random too, never machine-derived.
            use std::hash::{BuildHasher, Hasher};
            let state = std::collections::hash_map::RandomState::new();
            for (i, chunk) in bytes.chunks_mut(8).enumerate() {
                let mut h = state.build_hasher();
                h.write_usize(i);
                chunk.copy_from_slice(&h.finish().to_le_bytes());
            }
        }
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    })
}

/// The resolved layer: its state and, when on, its sink.
pub(crate) struct TelemetrySettings {
    pub(crate) state: crate::privacy::TelemetryState,
    pub(crate) sink: Option<Box<dyn TelemetrySink>>,
    pub(crate) interval: Duration,
}
