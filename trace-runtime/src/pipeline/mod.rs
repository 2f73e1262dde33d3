//! From thread-local batches to exporters: a bounded lock-free queue and one export worker thread.
//!
//! Threads hand whole batches of finished records to [`submit`]; the queue's bound is counted in
//! spans (`TRACE_QUEUE_SIZE`), whatever the size of each batch, and past it a batch is dropped and
//! counted, never waited for. The worker (a plain thread: the kit does not depend on
//! the application's async runtime) wakes on a timer or when the queue passes a quarter of its
//! limit, converts records to `SpanData`, and routes each trace to the exporters or to the
//! `testing::capture` that started it. Batch buffers are recycled through a pool, so a steady
//! stream of spans allocates nothing.

pub(crate) mod breaker;
mod convert;
pub(crate) mod exporter;
pub(crate) mod fanout;
pub(crate) mod stage;
mod tail;

pub(crate) use convert::rehome;

use std::collections::HashMap;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

use crossbeam_queue::{ArrayQueue, SegQueue};
use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;

use crate::record::Record;
use exporter::DynExporter;
use fanout::{LaneConfig, Lanes};

/// Records per thread-local batch: an application thread hands its finished spans to the queue
/// this many at a time (or fewer, when it leaves its outermost span or a flush asks). A trace of
/// 16 spans fills a quarter of it and so leaves in the thread's own buffer, swapped for a pooled
/// one; at 128 it was copied into a buffer allocated for it and freed by the worker, and the
/// throughput bench's 16-span traces delivered a third less.
pub(crate) const LOCAL_BATCH: usize = 64;

/// Default bound on spans waiting for the worker (`TRACE_QUEUE_SIZE`): about 9 MiB of records, and
/// at most four times that in buffer room (a batch leaves whole once it is a quarter full).
pub(crate) const DEFAULT_QUEUE_SPANS: usize = 32 * 1024;
/// Default spans per exporter call (`TRACE_BATCH_SIZE`).
pub(crate) const DEFAULT_BATCH_SIZE: usize = 512;
/// How often the worker exports what it holds when nothing pushes it, by default
/// (`OTEL_BSP_SCHEDULE_DELAY`, `ConfigBuilder::schedule_delay`).
pub(crate) const DEFAULT_SCHEDULE_DELAY: Duration = Duration::from_millis(200);
/// Recycled batch buffers kept.
const POOL_SLOTS: usize = 1024;
/// Room of the short batches' buffers (a small trace's spans), by class: 1, 2, 4, 8 and 16
/// records. A short batch takes the smallest class that holds it, so queued memory stays
/// within twice its records.
const SHORT_CLASSES: usize = 5;
/// Recycled short buffers kept, per class (2.2 MB of room at most).
const SHORT_POOL_SLOTS: usize = 256;
const _: () = assert!(1 << (SHORT_CLASSES - 1) == LOCAL_BATCH / 4, "the largest class is a quarter batch");
/// Bundles of emptied attribute vectors on their way back from the lanes to the worker.
const RETURN_SLOTS: usize = 8;
/// Queued spans that wake the worker early: it returns buffers to the pool before threads run
/// out and fall back to fresh (page-faulting) memory.
const WAKE_SPANS: usize = 4 * 1024;

pub(crate) struct Shared {
    /// Unbounded in batches: [`reserve`] bounds the spans in it, so a burst of one-span traces
    /// fills it as far as the same number of spans in full batches would.
    queue: SegQueue<Vec<Record>>,
    pool: ArrayQueue<Vec<Record>>,
    /// Recycled buffers of short batches, by room class (see [`take_buffer_for`]): a one-span
    /// trace's hand-off allocated one and the worker freed it, memory of another thread's
    /// arena, a fifth of the one-span throughput bench's time with the page faults it brought.
    short_pool: [ArrayQueue<Vec<Record>>; SHORT_CLASSES],
    /// Attribute vectors the lanes emptied, for the worker's next spans (see [`rehome`]).
    returned: ArrayQueue<Vec<Vec<KeyValue>>>,
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
    /// Adaptive sampling: spans of traces neither errored nor slow.
    pub(crate) dropped_sampled_out: AtomicU64,
    /// Adaptive sampling: spans of waiting traces pushed out of the full tail buffer.
    pub(crate) dropped_tail_full: AtomicU64,
}

enum Control {
    Install {
        exporters: Vec<Box<dyn DynExporter>>,
        resource: Resource,
        batch_size: usize,
        schedule_delay: Duration,
        lane: LaneConfig,
        adaptive: Option<Box<tail::Tail>>,
        nice: u8,
        done: SyncSender<Vec<String>>,
    },
    Flush {
        export: bool,
        done: SyncSender<()>,
    },
    Shutdown {
        deadline: Instant,
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
        crate::record::clock::init();
        let (control, rx) = mpsc::channel();
        let worker = std::thread::Builder::new()
            .name("trace-runtime-export".into())
            .spawn(move || {
                crate::background::mark_kit_thread();
                Worker::new(rx).run()
            })
            .map(|handle| handle.thread().clone())
            // Without a worker thread nothing can be exported; the handle of this thread keeps
            // `unpark` harmless and every flush times out instead of hanging.
            .unwrap_or_else(|_| std::thread::current());
        Shared {
            queue: SegQueue::new(),
            pool: ArrayQueue::new(POOL_SLOTS),
            short_pool: std::array::from_fn(|_| ArrayQueue::new(SHORT_POOL_SLOTS)),
            returned: ArrayQueue::new(RETURN_SLOTS),
            queued_spans: AtomicUsize::new(0),
            queue_limit: AtomicUsize::new(DEFAULT_QUEUE_SPANS),
            counters: Counters::default(),
            captures: Mutex::new(HashMap::new()),
            control,
            worker,
        }
    })
}

/// The pipeline if something already started it (reading counters must not start the worker).
pub(crate) fn started() -> Option<&'static Shared> {
    SHARED.get()
}

/// A buffer for a batch of `len` records: a recycled full-size one for a full batch, a recycled
/// one of the smallest class that holds it for a short trace (so queued memory stays in
/// proportion to queued spans).
pub(crate) fn take_buffer_for(len: usize) -> Vec<Record> {
    if len * 4 < LOCAL_BATCH {
        let room = len.max(1).next_power_of_two();
        if let Some(class) = short_class(room) {
            return shared().short_pool[class].pop().unwrap_or_else(|| Vec::with_capacity(room));
        }
    }
    shared()
        .pool
        .pop()
        .filter(|b| b.capacity() >= len)
        .unwrap_or_else(|| Vec::with_capacity(LOCAL_BATCH.max(len)))
}

/// Claims room in the queue for `n` spans, before a thread spends anything on handing them off.
/// Over the limit the claim fails, the spans count as dropped, and the caller drops them where
/// they are: an overloaded pipeline costs the application less, not more.
#[inline]
pub(crate) fn reserve(n: usize) -> bool {
    let shared = shared();
    let limit = shared.queue_limit.load(Ordering::Relaxed);
    let queued = shared.queued_spans.fetch_add(n, Ordering::Relaxed);
    if queued + n > limit {
        shared.queued_spans.fetch_sub(n, Ordering::Relaxed);
        count_dropped(shared, n);
        return false;
    }
    true
}

/// Queues a batch whose room was claimed with [`reserve`].
pub(crate) fn push_reserved(batch: Vec<Record>) {
    let shared = shared();
    let n = batch.len();
    shared.queue.push(batch);
    shared.counters.spans_queued.fetch_add(n as u64, Ordering::Relaxed);
    let limit = shared.queue_limit.load(Ordering::Relaxed);
    if shared.queued_spans.load(Ordering::Relaxed) >= (limit / 4).min(WAKE_SPANS) {
        shared.worker.unpark();
    }
}

/// Queues a batch of finished records; drops and counts it when the queue is over its limit.
pub(crate) fn submit(batch: Vec<Record>) {
    if reserve(batch.len()) {
        push_reserved(batch);
    } else {
        recycle(batch);
    }
}

#[cold]
fn count_dropped(shared: &Shared, n: usize) {
    shared.counters.dropped_queue_full.fetch_add(n as u64, Ordering::Relaxed);
    shared.worker.unpark();
}

fn recycle(mut batch: Vec<Record>) {
    batch.clear();
    let room = batch.capacity();
    if room == LOCAL_BATCH {
        let _ = shared().pool.push(batch);
    } else if let Some(class) = short_class(room) {
        let _ = shared().short_pool[class].push(batch);
    }
}

/// The short-buffer class of a buffer with room for `room` records, if it is one's size.
fn short_class(room: usize) -> Option<usize> {
    let class = room.trailing_zeros() as usize;
    (room.is_power_of_two() && class < SHORT_CLASSES).then_some(class)
}

/// Pushes onto `v` the value `init` writes into the vector's own spare slot (and returns, as
/// proof), rather than a value built on the stack and moved there: the export worker's copies
/// of freshly built values stalled on store forwarding. A reference that is not to the slot
/// leaves the vector as it was.
pub(crate) fn push_in_place<T>(
    v: &mut Vec<T>,
    init: impl for<'a> FnOnce(&'a mut MaybeUninit<T>) -> &'a mut T,
) -> Option<&mut T> {
    v.reserve(1);
    let len = v.len();
    let slot = v.spare_capacity_mut().first_mut()?;
    let slot_ptr = slot.as_ptr();
    if !std::ptr::eq(init(slot), slot_ptr) {
        return None;
    }
    // SAFETY: `init` returned a reference to the slot just past the length, so it holds a value.
    unsafe { v.set_len(len + 1) };
    v.last_mut()
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

/// How the worker exports: batches, lanes and adaptive sampling.
pub(crate) struct InstallOptions {
    pub(crate) batch_size: usize,
    /// The longest a span waits in the worker's batch before it is exported.
    pub(crate) schedule_delay: Duration,
    pub(crate) queue_limit: usize,
    pub(crate) lane: LaneConfig,
    /// Adaptive sampling's slow-trace threshold; `None`: adaptive sampling off.
    pub(crate) slow_trace: Option<Duration>,
    /// Nice increment of the worker and of the lanes it starts (see [`crate::background`]).
    pub(crate) nice: u8,
}

/// Hands the worker a new set of exporters (replacing none: `init` allows one pipeline at a time).
/// Each exporter starts on its own lane; if any fails to start, none is kept and the errors
/// are returned.
pub(crate) fn install(
    exporters: Vec<Box<dyn DynExporter>>,
    resource: Resource,
    options: InstallOptions,
) -> Result<(), Vec<String>> {
    let shared = shared();
    shared.queue_limit.store(options.queue_limit, Ordering::Relaxed);
    let adaptive = options.slow_trace.map(|slow| Box::new(tail::Tail::new(slow, options.queue_limit)));
    let (done, wait) = mpsc::sync_channel(1);
    let install = Control::Install {
        exporters,
        resource,
        batch_size: options.batch_size,
        schedule_delay: options.schedule_delay,
        lane: options.lane,
        adaptive,
        nice: options.nice,
        done,
    };
    if shared.control.send(install).is_err() {
        return Err(vec!["the export worker is not running".into()]);
    }
    shared.worker.unpark();
    match wait.recv_timeout(Duration::from_secs(15)) {
        Ok(errors) if errors.is_empty() => Ok(()),
        Ok(errors) => Err(errors),
        Err(_) => Err(vec!["the export worker did not answer within 15 s".into()]),
    }
}

/// Exports everything queued, then shuts the exporters down, returning by `deadline`.
pub(crate) fn shutdown(deadline: Instant) -> Result<ShutdownReport, ()> {
    let shared = shared();
    let (done, wait) = mpsc::sync_channel(1);
    // The worker's own deadline is a little earlier, so its answer arrives before ours.
    let worker_deadline = before(deadline);
    shared.control.send(Control::Shutdown { deadline: worker_deadline, done }).map_err(|_| ())?;
    shared.worker.unpark();
    wait.recv_timeout(deadline.saturating_duration_since(Instant::now())).map_err(|_| ())
}

/// A deadline a little before `deadline` (a tenth of the time left, at most 50 ms), for a
/// helper whose answer must reach its caller by `deadline`.
pub(crate) fn before(deadline: Instant) -> Instant {
    let left = deadline.saturating_duration_since(Instant::now());
    deadline - (left / 10).min(Duration::from_millis(50))
}

struct Worker {
    control: Receiver<Control>,
    lanes: Lanes,
    /// Adaptive sampling's buffer of traces the head ratio rejected.
    tail: Option<Box<tail::Tail>>,
    pending: Vec<SpanData>,
    batch_size: usize,
    /// How long the worker sleeps when nothing pushes it, and the longest a span waits in
    /// `pending` for a full batch.
    schedule_delay: Duration,
    /// `export_failed` when the current exporters were installed: shutdown reports only theirs.
    failed_before: u64,
    last_export: Instant,
    convert: convert::Converter,
    /// What a domain adds to each span (the LLM stage: cost, ledgers, summaries, redaction).
    stage: stage::Slot,
    /// This thread's scheduling priority, relative to the application thread that started it.
    priority: crate::background::Priority,
}

impl Worker {
    fn new(control: Receiver<Control>) -> Self {
        Worker {
            control,
            lanes: Lanes::default(),
            tail: None,
            pending: Vec::new(),
            batch_size: DEFAULT_BATCH_SIZE,
            schedule_delay: DEFAULT_SCHEDULE_DELAY,
            failed_before: 0,
            last_export: Instant::now(),
            convert: convert::Converter::new(),
            stage: stage::Slot::new(),
            priority: crate::background::Priority::of_current_thread(),
        }
    }

    fn run(mut self) {
        // No priority change until `Install` gives the final one: lowering it here and raising it
        // back for `TRACE_EXPORT_NICE=0` would need `CAP_SYS_NICE`.
        // `shared()` is being initialised by the thread that spawned this one: wait for it.
        let shared = loop {
            match SHARED.get() {
                Some(shared) => break shared,
                None => std::thread::park_timeout(Duration::from_millis(1)),
            }
        };
        loop {
            std::thread::park_timeout(self.schedule_delay);
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
            if !self.pending.is_empty() && self.last_export.elapsed() >= self.schedule_delay {
                self.export(shared);
            }
        }
    }

    fn handle(&mut self, shared: &Shared, message: Control) {
        match message {
            Control::Install {
                exporters,
                resource,
                batch_size,
                schedule_delay,
                lane,
                adaptive,
                nice,
                done,
            } => {
                // Before the lanes start: their threads inherit it. Set once per pipeline, from the
                // application's priority, so the first pipeline only ever lowers it.
                self.priority.set(nice);
                let (lanes, errors) = Lanes::start(exporters, &resource, lane);
                if errors.is_empty() {
                    self.lanes = lanes;
                    self.tail = adaptive;
                } else {
                    lanes.shutdown(Instant::now() + Duration::from_secs(1));
                }
                self.batch_size = batch_size.max(1);
                // At least a millisecond: a zero delay would spin the worker.
                self.schedule_delay = schedule_delay.max(Duration::from_millis(1));
                self.failed_before = shared.counters.export_failed.load(Ordering::Relaxed);
                let _ = done.send(errors);
            }
            Control::Flush { export, done } => {
                if export {
                    self.export(shared);
                    self.lanes.flush(done);
                } else {
                    let _ = done.send(());
                }
            }
            Control::Shutdown { deadline, done } => {
                if let Some(mut tail) = self.tail.take() {
                    let outcome = tail.finish(&mut self.pending);
                    count_tail(shared, outcome);
                }
                self.export(shared);
                let errors = std::mem::take(&mut self.lanes).shutdown(deadline);
                let report = ShutdownReport {
                    failed_exports: shared.counters.export_failed.load(Ordering::Relaxed)
                        - self.failed_before,
                    errors,
                };
                let _ = done.send(report);
            }
        }
    }

    /// Converts and routes everything in the queue.
    fn drain(&mut self, shared: &Shared) {
        let rate = self.convert.refresh();
        self.stage.refresh();
        while let Some(mut batch) = shared.queue.pop() {
            shared.queued_spans.fetch_sub(batch.len(), Ordering::Relaxed);
            self.convert.refill(&shared.returned, batch.len());
            let mut captures: Option<MutexGuard<'_, HashMap<u32, Vec<SpanData>>>> = None;
            for i in 0..batch.len() {
                if let Some(next) = batch.get(i + 1) {
                    convert::prefetch(next);
                }
                let record = &mut batch[i];
                if record.sink == 0 {
                    // Converted even without exporters: token ledgers and summaries still count it.
                    if self.lanes.is_empty() {
                        drop(self.span_data(record, rate));
                        shared.counters.dropped_no_sink.fetch_add(1, Ordering::Relaxed);
                    } else if record.flags & crate::record::flags::SAMPLED_OUT == 0 {
                        self.convert_into_pending(record, rate);
                        if self.pending.len() >= self.batch_size {
                            self.export(shared);
                        }
                    } else {
                        let span = self.span_data(record, rate);
                        match &mut self.tail {
                            Some(tail) => count_tail(shared, tail.offer(span, &mut self.pending)),
                            None => {
                                shared.counters.dropped_sampled_out.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
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
            self.stage.stage().after_export();
        }
    }

    /// Converts `record` straight into the next slot of `pending`: a `SpanData` returned and then
    /// pushed is a 400-byte copy per span, a tenth of the worker's time in the throughput bench.
    fn convert_into_pending(&mut self, record: &mut Record, rate: f64) {
        let Worker { pending, convert, stage, .. } = self;
        let stage = stage.stage();
        push_in_place(pending, |slot| {
            let span = convert.span_data_into(record, rate, stage, slot);
            stage.process(record, span);
            span
        });
    }

    fn span_data(&mut self, record: &mut Record, rate: f64) -> SpanData {
        let mut slot = MaybeUninit::uninit();
        let stage = self.stage.stage();
        self.convert.span_data_into(record, rate, stage, &mut slot);
        // SAFETY: `span_data_into` initialised the slot.
        let mut span = unsafe { slot.assume_init() };
        stage.process(record, &mut span);
        span
    }

    fn export(&mut self, shared: &Shared) {
        self.last_export = Instant::now();
        while !self.pending.is_empty() {
            let batch: Vec<SpanData> = if self.pending.len() <= self.batch_size {
                // The whole buffer leaves as the batch: no span is moved again.
                std::mem::replace(&mut self.pending, Vec::with_capacity(self.batch_size))
            } else {
                self.pending.drain(..self.batch_size).collect()
            };
            shared.counters.export_batches.fetch_add(1, Ordering::Relaxed);
            if self.lanes.is_empty() {
                shared.counters.dropped_no_sink.fetch_add(batch.len() as u64, Ordering::Relaxed);
            } else {
                self.lanes.send(batch);
            }
        }
        self.stage.stage().after_export();
    }
}

fn count_tail(shared: &Shared, outcome: tail::Outcome) {
    let c = &shared.counters;
    c.dropped_sampled_out.fetch_add(outcome.sampled_out, Ordering::Relaxed);
    c.dropped_tail_full.fetch_add(outcome.overflow, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_batch_gets_the_smallest_room_class_that_holds_it() {
        for (len, room) in [(0, 1), (1, 1), (2, 2), (3, 4), (5, 8), (8, 8), (9, 16), (15, 16)] {
            let buffer = take_buffer_for(len);
            assert_eq!(buffer.capacity(), room, "the buffer for a batch of {len}");
            assert!(buffer.is_empty());
            recycle(buffer);
        }
        assert!(take_buffer_for(16).capacity() >= LOCAL_BATCH, "a quarter batch leaves in a full buffer");
    }
}
