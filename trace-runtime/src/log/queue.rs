//! From the logging calls to the log sinks: a process-wide bounded lock-free queue and one thread
//! that drains it into every installed sink.
//!
//! A logging call never waits: it pushes its record and returns; when the queue is full the record
//! is dropped and counted ([`log_metrics`]). The drain thread starts with the first sink, and
//! scrubs each record with the [redaction rules](crate::redact) before any sink sees it.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;

use super::LogRecord;
use super::record::rfc3339;
use crate::privacy::redact::Scrubber;

/// Records waiting for the log sinks before new ones are dropped.
///
/// ```
/// assert_eq!(trace_runtime::log::LOG_QUEUE_CAPACITY, 16_384);
/// ```
pub const LOG_QUEUE_CAPACITY: usize = 16 * 1024;
/// How often the drain thread wakes when nothing pushes it.
const TICK: Duration = Duration::from_millis(100);
/// Records handed to a sink per call at most.
const SINK_BATCH: usize = 1024;

/// Why a log sink could not write a batch; the last one is kept for [`last_sink_error`].
///
/// ```
/// let e = trace_runtime::log::LogSinkError { sink: "files".into(), reason: "disk full".into() };
/// assert_eq!(e.to_string(), "log sink `files`: disk full");
/// ```
#[derive(Debug, thiserror::Error)]
#[error("log sink `{sink}`: {reason}")]
pub struct LogSinkError {
    /// The sink's name.
    pub sink: String,
    /// What went wrong, and what to do about it.
    pub reason: String,
}

/// Where log records go: a file, a remote service. Called from the log drain thread only, so an
/// implementation may block on I/O (within reason: it delays the sinks after it).
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
/// use trace_runtime::log::{self, LogRecord, LogSink, LogSinkError};
///
/// #[derive(Default)]
/// struct Memory(Mutex<Vec<String>>);
///
/// impl LogSink for Memory {
///     fn name(&self) -> &str { "memory" }
///     fn write(&self, records: &[LogRecord]) -> Result<(), LogSinkError> {
///         self.0.lock().unwrap().extend(records.iter().map(|r| r.message.clone()));
///         Ok(())
///     }
/// }
///
/// let memory = Arc::new(Memory::default());
/// let id = log::add_sink(memory.clone());
/// log::info("outside any span, still delivered");
/// assert!(log::flush(Duration::from_secs(5)));
/// assert!(memory.0.lock().unwrap().iter().any(|m| m == "outside any span, still delivered"));
/// log::remove_sink(id);
/// ```
pub trait LogSink: Send + Sync + 'static {
    /// A short name for errors and metrics.
    fn name(&self) -> &str;
    /// Writes a batch of records, oldest first.
    fn write(&self, records: &[LogRecord]) -> Result<(), LogSinkError>;
    /// Makes what was written durable or sent, taking at most `timeout` where the sink can bound
    /// its wait; called by [`flush`] and by shutdown with what is left of their deadline.
    fn flush(&self, _timeout: Duration) -> Result<(), LogSinkError> {
        Ok(())
    }
    /// Called once when the sink is installed with [`add_sink`].
    fn on_install(&self) {}
}

/// Identifies an installed sink, for [`remove_sink`]; see [`LogSink`] for an example.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LogSinkId(u64);

/// Counters of the log queue since the process started.
///
/// ```
/// let m = trace_runtime::log::log_metrics();
/// assert!(m.records_written <= m.records_queued);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogMetrics {
    /// Records put on the queue for the sinks.
    pub records_queued: u64,
    /// Records dropped because the queue was full.
    pub records_dropped_queue_full: u64,
    /// Records written outside a recording span while no sink was installed: kept nowhere.
    pub records_dropped_no_sink: u64,
    /// Records every sink accepted.
    pub records_written: u64,
    /// Records at least one sink failed on.
    pub records_failed: u64,
}

struct Shared {
    /// Groups of records: one logging call's, or a whole `buffer` scope's.
    queue: ArrayQueue<Vec<LogRecord>>,
    /// Records in `queue`, bounded by `LOG_QUEUE_CAPACITY`.
    queued_len: AtomicUsize,
    sinks: Mutex<Vec<(LogSinkId, Arc<dyn LogSink>)>>,
    n_sinks: AtomicUsize,
    next_id: AtomicU64,
    queued: AtomicU64,
    dropped_full: AtomicU64,
    written: AtomicU64,
    failed: AtomicU64,
    last_error: Mutex<Option<String>>,
    control: Mutex<Sender<FlushRequest>>,
    worker: Thread,
}

static SHARED: OnceLock<Shared> = OnceLock::new();
/// Outside `Shared`, so counting a record with nowhere to go does not start the drain thread.
static DROPPED_NO_SINK: AtomicU64 = AtomicU64::new(0);

fn shared() -> &'static Shared {
    SHARED.get_or_init(|| {
        let (control, rx) = mpsc::channel();
        let worker = crate::background::spawn("trace-runtime-logs".into(), move || run(rx))
            .map(|handle| handle.thread().clone())
            // Without a drain thread records wait in the queue and `flush` times out; the current
            // thread's handle keeps `unpark` harmless.
            .unwrap_or_else(|_| std::thread::current());
        Shared {
            queue: ArrayQueue::new(LOG_QUEUE_CAPACITY),
            queued_len: AtomicUsize::new(0),
            sinks: Mutex::new(Vec::new()),
            n_sinks: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            queued: AtomicU64::new(0),
            dropped_full: AtomicU64::new(0),
            written: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            last_error: Mutex::new(None),
            control: Mutex::new(control),
            worker,
        }
    })
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether any sink is installed (without starting the drain thread).
pub(crate) fn has_sinks() -> bool {
    SHARED.get().is_some_and(|s| s.n_sinks.load(Ordering::Relaxed) > 0)
}

/// Counts records written outside a span while no sink was installed.
pub(crate) fn count_no_sink(n: u64) {
    DROPPED_NO_SINK.fetch_add(n, Ordering::Relaxed);
}

/// Queues records for the sinks as one group, which reaches each sink in a single `write`.
/// `on_span` says whether they are also kept on a span, so a record with nowhere to go is counted
/// as lost only when it is not.
pub(crate) fn push(records: Vec<LogRecord>, on_span: bool) {
    let n = records.len();
    if n == 0 {
        return;
    }
    if !has_sinks() {
        if !on_span {
            count_no_sink(n as u64);
        }
        return;
    }
    let shared = shared();
    let queued = shared.queued_len.fetch_add(n, Ordering::Relaxed);
    if queued + n > LOG_QUEUE_CAPACITY {
        shared.queued_len.fetch_sub(n, Ordering::Relaxed);
        shared.dropped_full.fetch_add(n as u64, Ordering::Relaxed);
        shared.worker.unpark();
        return;
    }
    match shared.queue.push(records) {
        Ok(()) => {
            shared.queued.fetch_add(n as u64, Ordering::Relaxed);
            if queued + n >= LOG_QUEUE_CAPACITY / 4 {
                shared.worker.unpark();
            }
        }
        Err(_) => {
            shared.queued_len.fetch_sub(n, Ordering::Relaxed);
            shared.dropped_full.fetch_add(n as u64, Ordering::Relaxed);
        }
    }
}

/// Installs a sink: from now on it receives every log record of the process.
///
/// ```
/// use std::sync::Arc;
/// use trace_runtime::log::{self, RunDirSink};
///
/// let dir = std::env::temp_dir().join(format!("add-sink-{}", std::process::id()));
/// let id = log::add_sink(Arc::new(RunDirSink::new(&dir).unwrap()));
/// log::info("to the run directory");
/// log::remove_sink(id);
/// # std::fs::remove_dir_all(&dir).ok();
/// ```
pub fn add_sink(sink: Arc<dyn LogSink>) -> LogSinkId {
    let shared = shared();
    let id = LogSinkId(shared.next_id.fetch_add(1, Ordering::Relaxed));
    sink.on_install();
    let mut sinks = lock(&shared.sinks);
    sinks.push((id, sink));
    shared.n_sinks.store(sinks.len(), Ordering::Relaxed);
    id
}

/// Removes a sink after handing it what is queued; `false` if `id` was not installed.
///
/// ```
/// use std::sync::Arc;
/// let dir = std::env::temp_dir().join(format!("remove-sink-{}", std::process::id()));
/// let id = trace_runtime::log::add_sink(Arc::new(trace_runtime::log::RunDirSink::new(&dir).unwrap()));
/// assert!(trace_runtime::log::remove_sink(id));
/// assert!(!trace_runtime::log::remove_sink(id));
/// ```
pub fn remove_sink(id: LogSinkId) -> bool {
    flush(Duration::from_secs(5));
    detach(id)
}

/// Removes a sink at once, handing it nothing more.
pub(crate) fn detach(id: LogSinkId) -> bool {
    let shared = shared();
    let mut sinks = lock(&shared.sinks);
    let before = sinks.len();
    sinks.retain(|(i, _)| *i != id);
    shared.n_sinks.store(sinks.len(), Ordering::Relaxed);
    before != sinks.len()
}

/// Waits until every record queued before the call reached the sinks and they flushed, at most
/// `timeout`; `false` if that did not happen in time. Records held by a live
/// [`buffer`](crate::log::buffer) guard are not queued yet: they wait for the guard.
///
/// ```
/// use std::time::Duration;
/// assert!(trace_runtime::log::flush(Duration::from_secs(5)));
/// ```
pub fn flush(timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    request_flush(deadline).is_some_and(|wait| wait.recv_timeout(timeout).is_ok())
}

/// A flush for the drain thread: sinks get what is left until `deadline`; `done` answers.
struct FlushRequest {
    deadline: Instant,
    done: SyncSender<()>,
}

/// Asks the drain thread to hand every record queued so far to the sinks and flush them by
/// `deadline`, without waiting; the receiver answers when that is done. `None`: no drain thread.
pub(crate) fn request_flush(deadline: Instant) -> Option<Receiver<()>> {
    let shared = shared();
    let (done, wait) = mpsc::sync_channel(1);
    lock(&shared.control).send(FlushRequest { deadline, done }).ok()?;
    shared.worker.unpark();
    Some(wait)
}

/// The log queue's counters.
pub fn log_metrics() -> LogMetrics {
    let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let Some(s) = SHARED.get() else {
        return LogMetrics { records_dropped_no_sink: get(&DROPPED_NO_SINK), ..LogMetrics::default() };
    };
    LogMetrics {
        records_queued: get(&s.queued),
        records_dropped_queue_full: get(&s.dropped_full),
        records_dropped_no_sink: get(&DROPPED_NO_SINK),
        records_written: get(&s.written),
        records_failed: get(&s.failed),
    }
}

/// The last error a sink returned, if any: what a failing sink said, since sinks never print.
///
/// ```
/// let _maybe: Option<String> = trace_runtime::log::last_sink_error();
/// ```
pub fn last_sink_error() -> Option<String> {
    SHARED.get().and_then(|s| lock(&s.last_error).clone())
}

fn run(control: Receiver<FlushRequest>) {
    let shared = loop {
        match SHARED.get() {
            Some(shared) => break shared,
            None => std::thread::park_timeout(Duration::from_millis(1)),
        }
    };
    let mut batch = Vec::with_capacity(SINK_BATCH);
    let mut redaction = Scrubber::new();
    loop {
        std::thread::park_timeout(TICK);
        drain(shared, &mut batch, &mut redaction);
        loop {
            match control.try_recv() {
                Ok(FlushRequest { deadline, done }) => {
                    drain(shared, &mut batch, &mut redaction);
                    let sinks = lock(&shared.sinks).clone();
                    for (_, sink) in &sinks {
                        let left = deadline.saturating_duration_since(Instant::now());
                        match std::panic::catch_unwind(AssertUnwindSafe(|| sink.flush(left))) {
                            Ok(Ok(())) => {}
                            Ok(Err(e)) => *lock(&shared.last_error) = Some(e.to_string()),
                            Err(_) => {
                                *lock(&shared.last_error) =
                                    Some(format!("log sink `{}` panicked while flushing", sink.name()));
                            }
                        }
                    }
                    let _ = done.send(());
                }
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => return,
            }
        }
    }
}

fn drain(shared: &Shared, batch: &mut Vec<LogRecord>, redaction: &mut Scrubber) {
    if shared.queue.is_empty() {
        return;
    }
    redaction.refresh();
    while !shared.queue.is_empty() {
        // Whole groups only: a `buffer` scope's records reach a sink in one `write`.
        while batch.len() < SINK_BATCH {
            match shared.queue.pop() {
                Some(group) => {
                    shared.queued_len.fetch_sub(group.len(), Ordering::Relaxed);
                    batch.extend(group);
                }
                None => break,
            }
        }
        for record in batch.iter_mut() {
            if record.datetime.is_empty() {
                record.datetime = rfc3339(record.time());
            }
            // Here, before the first sink: every sink, the user's too, gets the scrubbed record,
            // and the application's thread never pays for the rules.
            let (rules, clean) = redaction.parts();
            record.redact(rules, clean);
        }
        let sinks = lock(&shared.sinks).clone();
        let mut ok = true;
        for (_, sink) in &sinks {
            // A panicking sink must not take the drain thread, and every other sink, down with it.
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| sink.write(batch)));
            let error = match result {
                Ok(Ok(())) => continue,
                Ok(Err(e)) => e.to_string(),
                Err(_) => format!("log sink `{}` panicked while writing; its batch is lost", sink.name()),
            };
            ok = false;
            *lock(&shared.last_error) = Some(error);
        }
        let counter = if ok && !sinks.is_empty() { &shared.written } else { &shared.failed };
        counter.fetch_add(batch.len() as u64, Ordering::Relaxed);
        batch.clear();
    }
}
