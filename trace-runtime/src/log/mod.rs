//! Levelled logs correlated with spans.
//!
//! [`debug`], [`info`], [`warning`], [`error`] and [`exception`] (and the [`info!`](crate::log::info!)
//! style macros, which format their arguments) write a [`LogRecord`] with the caller's file and
//! line, the thread, the process, the current [`run`] and the current trace and span ids. Inside a
//! recording span the record is stored on it as an event named `log` (attributes in [`attr`]), so
//! every exporter sees it with the span; every record also goes to the installed log sinks
//! ([`add_sink`]: a [`RunDirSink`], a remote sink), inside a span or not.
//!
//! A span keeps at most [`MAX_EVENTS`](crate::record::limits::MAX_EVENTS) events: past that, records are
//! counted as dropped events on the span, and still reach the sinks. The current [`run`] is
//! per thread: enter a clone of it in threads and tasks the work moves to.
//!
//! No logging call waits: records go onto a bounded lock-free queue drained by a thread of the
//! kit, and a full queue drops and counts ([`log_metrics`]). That makes every function here its
//! own async form: call it from async code as it is, there is nothing to await. [`buffer`] holds a
//! scope's records back and hands them to the sinks in one batch when the scope ends.
//!
//! ```
//! use trace_runtime::{log, testing, trace};
//!
//! let (_, spans) = testing::capture(|| {
//!     let _run = log::run("workflow-123").parent("parent-456").enter();
//!     trace!("stage", {
//!         log::info!("loaded {} rows", 12);
//!         let err = std::fs::read("/no/such/file").unwrap_err();
//!         log::exception(&err);
//!     })
//! });
//! let events = &spans[0].events.events;
//! assert_eq!(events[0].name, "log");
//! let attr = |i: usize, key: &str| {
//!     events[i].attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.as_str().into_owned())
//! };
//! assert_eq!(attr(0, "log.message").as_deref(), Some("loaded 12 rows"));
//! assert_eq!(attr(0, "log.run_id").as_deref(), Some("workflow-123"));
//! assert_eq!(attr(1, "log.level").as_deref(), Some("exception"));
//! ```

#[cfg(feature = "log")]
mod bridge;
mod emit;
mod error;
mod queue;
mod record;
mod rundir;

use std::cell::{Cell, RefCell};
use std::error::Error;
use std::panic::Location;
use std::sync::Arc;

#[cfg(feature = "log")]
pub use bridge::LogBridge;
pub use error::SetupError;
#[cfg(feature = "sinks")]
pub use error::SinkError;
pub use queue::{
    LOG_QUEUE_CAPACITY, LogMetrics, LogSink, LogSinkError, LogSinkId, add_sink, flush, last_sink_error,
    log_metrics, remove_sink,
};
pub(crate) use queue::{detach, has_sinks, request_flush};
pub use record::{EVENT_NAME, Level, LogRecord, UnknownLevel, attr};
pub use rundir::{RunDirError, RunDirSink, RunLogs, RunSummary};

#[cfg(feature = "sinks")]
pub(crate) use record::{rfc3339, unix_nanos, utc_date};

use emit::Draft;

/// Records one thread holds back in a [`buffer`] scope before it hands them off early.
const MAX_BUFFERED: usize = 4096;

/// A run: the unit of work log records are grouped by (a workflow execution, a job, a request).
///
/// ```
/// use trace_runtime::log;
///
/// let run = log::run("job-7").parent("workflow-1");
/// assert_eq!(log::current_run_id(), None);
/// run.in_scope(|| assert_eq!(log::current_run_id().as_deref(), Some("job-7")));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    run_id: Arc<str>,
    parent_run_id: Option<Arc<str>>,
}

/// Starts describing a run with id `run_id`; [`Run::enter`] makes it current on this thread.
///
/// ```
/// use trace_runtime::log;
///
/// let _run = log::run("workflow-123").enter();
/// assert_eq!(log::current_run_id().as_deref(), Some("workflow-123"));
/// ```
pub fn run(run_id: impl AsRef<str>) -> Run {
    Run { run_id: run_id.as_ref().into(), parent_run_id: None }
}

impl Run {
    /// Sets the run's parent (`log.parent_run_id`).
    ///
    /// ```
    /// let run = trace_runtime::log::run("job-7").parent("workflow-1");
    /// assert_eq!(run.id(), "job-7");
    /// ```
    pub fn parent(mut self, parent_run_id: impl AsRef<str>) -> Run {
        self.parent_run_id = Some(parent_run_id.as_ref().into());
        self
    }

    /// Makes this the current run of this thread until the guard drops. Runs nest; a thread or
    /// task started inside does not inherit it: enter a clone of the run there.
    ///
    /// ```
    /// use trace_runtime::log;
    ///
    /// let run = log::run("job-7");
    /// let _current = run.clone().enter();
    /// std::thread::spawn(move || {
    ///     let _run = run.enter();
    ///     assert_eq!(log::current_run_id().as_deref(), Some("job-7"));
    /// })
    /// .join()
    /// .unwrap();
    /// ```
    pub fn enter(self) -> RunGuard {
        RunGuard { previous: CURRENT_RUN.with(|c| c.replace(Some(self))) }
    }

    /// Runs `f` with this run current.
    pub fn in_scope<R>(self, f: impl FnOnce() -> R) -> R {
        let _guard = self.enter();
        f()
    }

    /// The run's id.
    pub fn id(&self) -> &str {
        &self.run_id
    }
}

/// Keeps a [`Run`] current; restores the previous one on drop.
///
/// ```
/// use trace_runtime::log;
///
/// let outer = log::run("outer").enter();
/// {
///     let _inner = log::run("inner").enter();
///     assert_eq!(log::current_run_id().as_deref(), Some("inner"));
/// }
/// assert_eq!(log::current_run_id().as_deref(), Some("outer"));
/// drop(outer);
/// assert_eq!(log::current_run_id(), None);
/// ```
#[must_use = "the run stops being current when the guard drops: bind it, `let _run = ...enter();`"]
#[derive(Debug)]
pub struct RunGuard {
    previous: Option<Run>,
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT_RUN.with(|c| *c.borrow_mut() = previous);
    }
}

thread_local! {
    static CURRENT_RUN: RefCell<Option<Run>> = const { RefCell::new(None) };
    static BUFFER: RefCell<Vec<LogRecord>> = const { RefCell::new(Vec::new()) };
    static BUFFER_DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// The current run's id on this thread, if any; see [`RunGuard`] for an example.
pub fn current_run_id() -> Option<String> {
    CURRENT_RUN.with(|c| c.borrow().as_ref().map(|r| r.run_id.to_string()))
}

/// Holds this thread's log records for the sinks until the guard drops, then hands them off in one
/// batch (early, past 4096 records). Records are still stored on their spans at once. Guards nest:
/// the outermost one hands off.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
/// use trace_runtime::log::{self, LogRecord, LogSink, LogSinkError};
///
/// struct Batches(Mutex<Vec<usize>>);
/// impl LogSink for Batches {
///     fn name(&self) -> &str { "batches" }
///     fn write(&self, records: &[LogRecord]) -> Result<(), LogSinkError> {
///         let n = records.iter().filter(|r| r.message.starts_with("buffered")).count();
///         if n > 0 { self.0.lock().unwrap().push(n); }
///         Ok(())
///     }
/// }
///
/// let sink = Arc::new(Batches(Mutex::new(Vec::new())));
/// let id = log::add_sink(sink.clone());
/// {
///     let _buffer = log::buffer();
///     for i in 0..3 {
///         log::info!("buffered {i}");
///     }
/// }
/// log::flush(Duration::from_secs(5));
/// assert_eq!(*sink.0.lock().unwrap(), vec![3]);
/// log::remove_sink(id);
/// ```
pub fn buffer() -> BufferGuard {
    BUFFER_DEPTH.with(|d| d.set(d.get() + 1));
    BufferGuard { _not_send: std::marker::PhantomData }
}

/// Holds log records back until dropped; see [`buffer`] for an example.
#[must_use = "records are handed off when the guard drops: bind it, `let _buffer = log::buffer();`"]
#[derive(Debug)]
pub struct BufferGuard {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for BufferGuard {
    fn drop(&mut self) {
        let depth = BUFFER_DEPTH.with(|d| {
            let n = d.get().saturating_sub(1);
            d.set(n);
            n
        });
        if depth == 0 {
            flush_thread_buffer();
        }
    }
}

/// Hands this thread's buffered records to the queue.
pub(crate) fn flush_thread_buffer() {
    let records = BUFFER.try_with(|b| std::mem::take(&mut *b.borrow_mut())).unwrap_or_default();
    if !records.is_empty() {
        queue::push(records, true);
    }
}

/// Builds a log record with metadata; [`Entry::emit`] writes it.
///
/// ```
/// use trace_runtime::{log, testing, trace};
/// use trace_runtime::log::Level;
///
/// let (_, spans) = testing::capture(|| trace!("stage", {
///     log::entry(Level::Warning, "retrying").meta("attempt", 2).meta("stage", "load").emit();
/// }));
/// let meta = spans[0].events.events[0].attributes.iter().find(|kv| kv.key.as_str() == "log.metadata").unwrap();
/// assert_eq!(meta.value.as_str(), r#"{"attempt":2,"stage":"load"}"#);
/// ```
#[derive(Debug)]
#[must_use = "an entry is written by `.emit()`"]
pub struct Entry {
    draft: Draft,
}

/// Starts a record at `level` with `message`, located at the caller; see [`Entry`].
///
/// ```
/// use trace_runtime::log::{self, Level};
///
/// log::entry(Level::Error, "upload failed")
///     .meta("bytes", 1024)
///     .error(&std::io::Error::other("connection reset"))
///     .emit();
/// ```
#[track_caller]
pub fn entry(level: Level, message: impl Into<String>) -> Entry {
    Entry { draft: Draft::new(level, message.into(), Location::caller()) }
}

impl Entry {
    /// Adds a metadata field (stored as JSON in `log.metadata`).
    pub fn meta(mut self, key: impl Into<String>, value: impl Into<serde_json::Value>) -> Entry {
        self.draft.metadata.get_or_insert_with(Default::default).insert(key.into(), value.into());
        self
    }

    /// Attaches an error: its type, message and chain of causes.
    pub fn error<E: Error + ?Sized>(mut self, error: &E) -> Entry {
        self.draft.set_error(error);
        self
    }

    /// Writes the record: onto the current span, and to the log sinks.
    pub fn emit(self) {
        self.draft.emit();
    }
}

/// Writes a `debug` record.
///
/// ```
/// trace_runtime::log::debug("cache warm");
/// ```
#[track_caller]
pub fn debug(message: impl Into<String>) {
    Draft::new(Level::Debug, message.into(), Location::caller()).emit();
}

/// Writes an `info` record.
///
/// ```
/// trace_runtime::log::info("workflow started");
/// ```
#[track_caller]
pub fn info(message: impl Into<String>) {
    Draft::new(Level::Info, message.into(), Location::caller()).emit();
}

/// Writes a `warning` record.
///
/// ```
/// trace_runtime::log::warning("retrying failed operation");
/// ```
#[track_caller]
pub fn warning(message: impl Into<String>) {
    Draft::new(Level::Warning, message.into(), Location::caller()).emit();
}

/// Writes an `error` record.
///
/// ```
/// trace_runtime::log::error("job failed: connection timeout");
/// ```
#[track_caller]
pub fn error(message: impl Into<String>) {
    Draft::new(Level::Error, message.into(), Location::caller()).emit();
}

/// Writes an `exception` record of `error`: its message, type and chain of causes. The span's
/// status is left alone: [`span::record_error`](crate::span::record_error) marks the span failed.
///
/// ```
/// use trace_runtime::{log, testing, trace};
///
/// let (_, spans) = testing::capture(|| trace!("load", {
///     log::exception(&std::fs::read("/no/such/file").unwrap_err());
/// }));
/// let attrs = &spans[0].events.events[0].attributes;
/// let get = |k: &str| attrs.iter().find(|kv| kv.key.as_str() == k).unwrap().value.as_str().into_owned();
/// assert_eq!(get("error.type"), "std::io::error::Error");
/// assert!(get("exception.message").contains("No such file"));
/// ```
#[track_caller]
pub fn exception<E: Error + ?Sized>(error: &E) {
    let mut draft = Draft::new(Level::Exception, error.to_string(), Location::caller());
    draft.set_error(error);
    draft.emit();
}

/// Writes a record at `level`: for levels chosen at run time.
///
/// ```
/// trace_runtime::log::log(trace_runtime::log::Level::Info, "level from config");
/// ```
#[track_caller]
pub fn log(level: Level, message: impl Into<String>) {
    Draft::new(level, message.into(), Location::caller()).emit();
}

/// Writes a `debug` record, formatting like `format!`, at the caller's file and line.
///
/// ```
/// trace_runtime::log::debug!("{} frames queued", 3);
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! __log_debug {
    ($($arg:tt)+) => { $crate::log::debug(::std::format!($($arg)+)) };
}

/// Writes an `info` record, formatting like `format!`, at the caller's file and line.
///
/// ```
/// let rows = 12;
/// trace_runtime::log::info!("loaded {rows} rows");
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! __log_info {
    ($($arg:tt)+) => { $crate::log::info(::std::format!($($arg)+)) };
}

/// Writes a `warning` record, formatting like `format!`, at the caller's file and line.
///
/// ```
/// trace_runtime::log::warning!("attempt {} failed, retrying", 2);
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! __log_warning {
    ($($arg:tt)+) => { $crate::log::warning(::std::format!($($arg)+)) };
}

/// Writes an `error` record, formatting like `format!`, at the caller's file and line.
///
/// ```
/// trace_runtime::log::error!("job {} failed", "load");
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! __log_error {
    ($($arg:tt)+) => { $crate::log::error(::std::format!($($arg)+)) };
}

pub use crate::__log_debug as debug;
pub use crate::__log_error as error;
pub use crate::__log_info as info;
pub use crate::__log_warning as warning;
