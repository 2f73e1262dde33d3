//! From thread-local batches to exporters: a bounded lock-free queue and one export worker thread.
//!
//! Threads hand whole batches of finished records to [`submit`]; past the span limit a batch is
//! dropped and counted, never waited for. The worker (a plain thread: the kit does not depend on
//! the application's async runtime) wakes on a timer or when the queue passes a quarter of its
//! limit, converts records to `SpanData`, and routes each trace to the exporters or to the
//! `testing::capture` that started it. Batch buffers are recycled through a pool, so a steady
//! stream of spans allocates nothing.

mod convert;
pub(crate) mod exporter;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;

use crate::local::LOCAL_BATCH;
use crate::record::Record;
use exporter::DynExporter;

/// Default bound on spans waiting for the worker (`TRACE_QUEUE_SIZE`): about 10 MiB of records.
pub(crate) const DEFAULT_QUEUE_SPANS: usize = 32 * 1024;
/// Default spans per exporter call (`TRACE_BATCH_SIZE`).
pub(crate) const DEFAULT_BATCH_SIZE: usize = 512;
/// How often the worker wakes when nothing pushes it.
const TICK: Duration = Duration::from_millis(200);
/// Batches the queue can hold at most, whatever their size.
const QUEUE_SLOTS: usize = 4096;
/// Recycled batch buffers kept.
const POOL_SLOTS: usize = 256;
/// Queued spans that wake the worker early: it returns buffers to the pool before threads run
/// out and fall back to fresh (page-faulting) memory.
const WAKE_SPANS: usize = 4 * 1024;

pub(crate) struct Shared {
    queue: ArrayQueue<Vec<Record>>,
    pool: ArrayQueue<Vec<Record>>,
    queued_spans: AtomicUsize,
    pub(crate) queue_limit: AtomicUsize,
    pub(crate) counters: Counters,
    captures: Mutex<HashMap<u32, Vec<SpanData>>>,
    control: Sender<Control>,
    worker: Thread,
}

/// Pipeline counters, readable from any thread.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) spans_queued: AtomicU64,
    pub(crate) dropped_queue_full: AtomicU64,
    pub(crate) dropped_no_sink: AtomicU64,
    pub(crate) exported: AtomicU64,
    pub(crate) export_failed: AtomicU64,
    pub(crate) export_batches: AtomicU64,
}

enum Control {
    Install {
        exporters: Vec<Box<dyn DynExporter>>,
        resource: Resource,
        batch_size: usize,
        done: SyncSender<()>,
    },
    Flush {
        export: bool,
        done: SyncSender<()>,
    },
    Shutdown {
        timeout: Duration,
        done: SyncSender<ShutdownReport>,
    },
}

/// What a shutdown could not do.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ShutdownReport {
    pub(crate) failed_exports: u64,
    pub(crate) errors: Vec<String>,
}

static SHARED: OnceLock<Shared> = OnceLock::new();

/// The pipeline, starting the worker on first use.
pub(crate) fn shared() -> &'static Shared {
    SHARED.get_or_init(|| {
        crate::clock::init();
        crate::panic::install_hook();
        let (control, rx) = mpsc::channel();
        let worker = std::thread::Builder::new()
            .name("trace-runtime-export".into())
            .spawn(move || Worker::new(rx).run())
            .map(|handle| handle.thread().clone())
            // Without a worker thread nothing can be exported; the handle of this thread keeps
            // `unpark` harmless and every flush times out instead of hanging.
            .unwrap_or_else(|_| std::thread::current());
        Shared {
            queue: ArrayQueue::new(QUEUE_SLOTS),
            pool: ArrayQueue::new(POOL_SLOTS),
            queued_spans: AtomicUsize::new(0),
            queue_limit: AtomicUsize::new(DEFAULT_QUEUE_SPANS),
            counters: Counters::default(),
            captures: Mutex::new(HashMap::new()),
            control,
            worker,
        }
    })
}

/// A buffer for a batch of `len` records: a recycled full-size one for a full batch, an exact one
/// for a short trace (so queued memory stays in proportion to queued spans).
pub(crate) fn take_buffer_for(len: usize) -> Vec<Record> {
    if len * 4 < LOCAL_BATCH {
        return Vec::with_capacity(len);
    }
    shared()
        .pool
        .pop()
        .filter(|b| b.capacity() >= len)
        .unwrap_or_else(|| Vec::with_capacity(LOCAL_BATCH.max(len)))
}

/// Queues a batch of finished records; drops and counts it when the queue is over its limit.
pub(crate) fn submit(batch: Vec<Record>) {
    let shared = shared();
    let n = batch.len();
    let limit = shared.queue_limit.load(Ordering::Relaxed);
    let queued = shared.queued_spans.fetch_add(n, Ordering::Relaxed);
    if queued + n > limit {
        shared.queued_spans.fetch_sub(n, Ordering::Relaxed);
        drop_batch(shared, batch);
        return;
    }
    match shared.queue.push(batch) {
        Ok(()) => {
            shared.counters.spans_queued.fetch_add(n as u64, Ordering::Relaxed);
            if queued + n >= (limit / 4).min(WAKE_SPANS) {
                shared.worker.unpark();
            }
        }
        Err(batch) => {
            shared.queued_spans.fetch_sub(n, Ordering::Relaxed);
            drop_batch(shared, batch);
        }
    }
}

#[cold]
fn drop_batch(shared: &Shared, batch: Vec<Record>) {
    shared.counters.dropped_queue_full.fetch_add(batch.len() as u64, Ordering::Relaxed);
    shared.worker.unpark();
    recycle(batch);
}

fn recycle(mut batch: Vec<Record>) {
    batch.clear();
    if batch.capacity() == LOCAL_BATCH {
        let _ = shared().pool.push(batch);
    }
}

/// Registers a capture sink; its spans are kept until [`take_capture`].
pub(crate) fn open_capture(id: u32) {
    lock(&shared().captures).insert(id, Vec::new());
}

/// Removes a capture sink, returning what it collected.
pub(crate) fn take_capture(id: u32) -> Vec<SpanData> {
    lock(&shared().captures).remove(&id).unwrap_or_default()
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Waits until the worker has processed every batch queued before this call; with `export`, until
/// the exporters were handed everything too. `false` if the worker did not answer in `timeout`.
pub(crate) fn flush(export: bool, timeout: Duration) -> bool {
    let shared = shared();
    let (done, wait) = mpsc::sync_channel(1);
    if shared.control.send(Control::Flush { export, done }).is_err() {
        return false;
    }
    shared.worker.unpark();
    wait.recv_timeout(timeout).is_ok()
}

/// Hands the worker a new set of exporters (replacing none: `init` allows one pipeline at a time).
pub(crate) fn install(
    exporters: Vec<Box<dyn DynExporter>>,
    resource: Resource,
    batch_size: usize,
    queue_limit: usize,
) {
    let shared = shared();
    shared.queue_limit.store(queue_limit, Ordering::Relaxed);
    let (done, wait) = mpsc::sync_channel(1);
    if shared.control.send(Control::Install { exporters, resource, batch_size, done }).is_ok() {
        shared.worker.unpark();
        let _ = wait.recv_timeout(Duration::from_secs(5));
    }
}

/// Exports everything queued, then shuts the exporters down, within `timeout`.
pub(crate) fn shutdown(timeout: Duration) -> Result<ShutdownReport, ()> {
    let shared = shared();
    let (done, wait) = mpsc::sync_channel(1);
    shared.control.send(Control::Shutdown { timeout, done }).map_err(|_| ())?;
    shared.worker.unpark();
    wait.recv_timeout(timeout + Duration::from_millis(500)).map_err(|_| ())
}

struct Worker {
    control: Receiver<Control>,
    exporters: Vec<Box<dyn DynExporter>>,
    pending: Vec<SpanData>,
    batch_size: usize,
    /// `export_failed` when the current exporters were installed: shutdown reports only theirs.
    failed_before: u64,
    last_export: Instant,
    convert: convert::Converter,
    /// Cost, token ledgers, summaries, OpenInference names, redaction (issue #3).
    semantics: crate::semantics::Worker,
}

impl Worker {
    fn new(control: Receiver<Control>) -> Self {
        Worker {
            control,
            exporters: Vec::new(),
            pending: Vec::new(),
            batch_size: DEFAULT_BATCH_SIZE,
            failed_before: 0,
            last_export: Instant::now(),
            convert: convert::Converter::new(),
            semantics: crate::semantics::Worker::new(),
        }
    }

    fn run(mut self) {
        // `shared()` is being initialised by the thread that spawned this one: wait for it.
        let shared = loop {
            match SHARED.get() {
                Some(shared) => break shared,
                None => std::thread::park_timeout(Duration::from_millis(1)),
            }
        };
        loop {
            std::thread::park_timeout(TICK);
            self.drain(shared);
            loop {
                match self.control.try_recv() {
                    Ok(message) => {
                        self.drain(shared);
                        self.handle(shared, message);
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => return,
                }
            }
            if !self.pending.is_empty() && self.last_export.elapsed() >= TICK {
                self.export(shared);
            }
        }
    }

    fn handle(&mut self, shared: &Shared, message: Control) {
        match message {
            Control::Install { mut exporters, resource, batch_size, done } => {
                for exporter in &mut exporters {
                    exporter.set_resource(&resource);
                }
                self.exporters = exporters;
                self.batch_size = batch_size.max(1);
                self.failed_before = shared.counters.export_failed.load(Ordering::Relaxed);
                let _ = done.send(());
            }
            Control::Flush { export, done } => {
                if export {
                    self.export(shared);
                    for exporter in &mut self.exporters {
                        let _ = exporter.force_flush();
                    }
                }
                let _ = done.send(());
            }
            Control::Shutdown { timeout, done } => {
                self.export(shared);
                let mut report = ShutdownReport {
                    failed_exports: shared.counters.export_failed.load(Ordering::Relaxed)
                        - self.failed_before,
                    errors: Vec::new(),
                };
                for mut exporter in self.exporters.drain(..) {
                    if let Err(e) = exporter.shutdown(timeout) {
                        report.errors.push(format!("{}: {e}", exporter.name()));
                    }
                }
                let _ = done.send(report);
            }
        }
    }

    /// Converts and routes everything in the queue.
    fn drain(&mut self, shared: &Shared) {
        let rate = self.convert.refresh();
        self.semantics.refresh();
        while let Some(batch) = shared.queue.pop() {
            shared.queued_spans.fetch_sub(batch.len(), Ordering::Relaxed);
            let mut captures: Option<MutexGuard<'_, HashMap<u32, Vec<SpanData>>>> = None;
            for record in &batch {
                if record.sink == 0 {
                    // Converted even without exporters: token ledgers and summaries still count it.
                    let span = self.span_data(record, rate);
                    if self.exporters.is_empty() {
                        shared.counters.dropped_no_sink.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    self.pending.push(span);
                } else {
                    let captures = captures.get_or_insert_with(|| lock(&shared.captures));
                    match captures.get_mut(&record.sink) {
                        Some(spans) => spans.push(self.span_data(record, rate)),
                        None => {
                            shared.counters.dropped_no_sink.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
            drop(captures);
            recycle(batch);
            if self.pending.len() >= self.batch_size {
                self.export(shared);
            }
        }
        if self.pending.is_empty() {
            // Nothing left for the exporters: summaries of traces that ended can be printed.
            self.semantics.after_export();
        }
    }

    fn span_data(&mut self, record: &Record, rate: f64) -> SpanData {
        let mut span = self.convert.span_data(record, rate);
        self.semantics.process(record, &mut span);
        span
    }

    fn export(&mut self, shared: &Shared) {
        self.last_export = Instant::now();
        while !self.pending.is_empty() {
            let take = self.pending.len().min(self.batch_size);
            let batch: Vec<SpanData> = self.pending.drain(..take).collect();
            let n = batch.len() as u64;
            shared.counters.export_batches.fetch_add(1, Ordering::Relaxed);
            let mut ok = true;
            if let Some((last, rest)) = self.exporters.split_last_mut() {
                for exporter in rest {
                    ok &= exporter.export(batch.clone()).is_ok();
                }
                ok &= last.export(batch).is_ok();
            }
            let counter = if ok { &shared.counters.exported } else { &shared.counters.export_failed };
            counter.fetch_add(n, Ordering::Relaxed);
        }
        self.semantics.after_export();
    }
}
