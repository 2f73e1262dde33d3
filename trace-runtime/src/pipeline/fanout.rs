//! Fan-out: every exporter gets its own lane — a thread with a bounded queue of batches, a tokio
//! runtime of its own, a timeout per export call and a circuit breaker — so a dead or slow
//! exporter never delays another exporter nor the export worker.
//!
//! The worker hands each batch to every lane without waiting: a lane whose queue is full drops
//! the batch and counts it. A batch is shared by the lanes (`Arc`); the last lane to take it
//! takes it without a copy. When every lane is done with a batch, its spans are counted once in
//! the pipeline's totals: exported if every exporter took them, failed otherwise.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;

use super::breaker::{Breaker, BreakerConfig, BreakerState};
use super::exporter::DynExporter;

/// How a lane runs its exporter.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LaneConfig {
    /// Bound of one export call.
    pub(crate) timeout: Duration,
    pub(crate) breaker: BreakerConfig,
    /// Batches a lane holds before it drops new ones.
    pub(crate) capacity: usize,
}

/// One exporter's counters, shared between its lane and `metrics()`.
#[derive(Debug)]
pub(crate) struct LaneStats {
    pub(crate) name: String,
    pub(crate) breaker: AtomicU8,
    pub(crate) exported: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) dropped_lane_full: AtomicU64,
    pub(crate) batches: AtomicU64,
    pub(crate) last_error: Mutex<Option<String>>,
}

impl LaneStats {
    fn new(name: String) -> Self {
        LaneStats {
            name,
            breaker: AtomicU8::new(BreakerState::Closed.to_u8()),
            exported: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            dropped_lane_full: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            last_error: Mutex::new(None),
        }
    }

    fn fail(&self, n: u64, error: String) {
        self.failed.fetch_add(n, Ordering::Relaxed);
        *lock(&self.last_error) = Some(error);
    }
}

/// The lanes of the installed pipeline, for `metrics()`; replaced by each `install`.
static CURRENT: Mutex<Vec<Arc<LaneStats>>> = Mutex::new(Vec::new());

/// The counters of the installed exporters.
pub(crate) fn current_stats() -> Vec<Arc<LaneStats>> {
    lock(&CURRENT).clone()
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A batch as the lanes share it; counted in the pipeline's totals when the last lane lets go.
struct Delivery {
    spans: u64,
    failed: AtomicBool,
}

impl Drop for Delivery {
    fn drop(&mut self) {
        let counters = &super::shared().counters;
        let counter =
            if self.failed.load(Ordering::Relaxed) { &counters.export_failed } else { &counters.exported };
        counter.fetch_add(self.spans, Ordering::Relaxed);
    }
}

/// One lane's share of a batch. Dropped without `done(true)`, it marks the batch failed.
struct Part {
    spans: Arc<Vec<SpanData>>,
    delivery: Arc<Delivery>,
    ok: bool,
}

impl Part {
    fn len(&self) -> u64 {
        self.delivery.spans
    }

    /// The spans, copied only if another lane still needs them.
    fn take(&mut self) -> Vec<SpanData> {
        let spans = std::mem::take(&mut self.spans);
        Arc::try_unwrap(spans).unwrap_or_else(|shared| (*shared).clone())
    }
}

impl Drop for Part {
    fn drop(&mut self) {
        if !self.ok {
            self.delivery.failed.store(true, Ordering::Relaxed);
        }
    }
}

/// Answers a flush once every lane has exported what it held when the flush was asked.
struct FlushTicket {
    remaining: AtomicUsize,
    done: SyncSender<()>,
}

impl FlushTicket {
    fn arrive(&self) {
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            let _ = self.done.try_send(());
        }
    }
}

enum Item {
    Batch(Part),
    Flush(Arc<FlushTicket>),
}

/// What a lane did at shutdown.
pub(crate) struct LaneReport {
    pub(crate) name: String,
    pub(crate) error: Option<String>,
}

#[derive(Default)]
struct QueueState {
    items: VecDeque<Item>,
    batches: usize,
    /// Set by shutdown: export what is queued until then, then stop.
    shutdown: Option<(Instant, SyncSender<LaneReport>)>,
}

struct Queue {
    state: Mutex<QueueState>,
    ready: Condvar,
}

struct Lane {
    queue: Arc<Queue>,
    stats: Arc<LaneStats>,
}

/// The exporters' lanes, driven by the export worker.
#[derive(Default)]
pub(crate) struct Lanes {
    lanes: Vec<Lane>,
    capacity: usize,
}

impl Lanes {
    /// Starts one lane per exporter; each builds its exporter on its own thread and runtime.
    /// Returns the errors of exporters that failed to start (their lanes are not kept).
    pub(crate) fn start(
        exporters: Vec<Box<dyn DynExporter>>,
        resource: &Resource,
        config: LaneConfig,
    ) -> (Lanes, Vec<String>) {
        let mut lanes = Vec::new();
        let mut errors = Vec::new();
        let mut starting = Vec::new();
        for mut exporter in exporters {
            exporter.set_resource(resource);
            let stats = Arc::new(LaneStats::new(exporter.name().to_string()));
            let queue = Arc::new(Queue { state: Mutex::default(), ready: Condvar::new() });
            let (started, wait) = mpsc::sync_channel(1);
            let thread = {
                let (queue, stats) = (queue.clone(), stats.clone());
                std::thread::Builder::new().name(format!("trace-export-{}", stats.name)).spawn(move || {
                    crate::background::mark_kit_thread();
                    run(exporter, &queue, &stats, config, started)
                })
            };
            match thread {
                Ok(_) => starting.push((Lane { queue, stats }, wait)),
                Err(e) => errors.push(format!("{}: cannot start its thread: {e}", stats.name)),
            }
        }
        for (lane, wait) in starting {
            match wait.recv_timeout(Duration::from_secs(10)) {
                Ok(Ok(())) => lanes.push(lane),
                Ok(Err(e)) => errors.push(format!("{}: {e}", lane.stats.name)),
                Err(_) => errors.push(format!("{}: did not start within 10 s", lane.stats.name)),
            }
        }
        *lock(&CURRENT) = lanes.iter().map(|l| l.stats.clone()).collect();
        (Lanes { lanes, capacity: config.capacity.max(1) }, errors)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.lanes.is_empty()
    }

    /// Hands a batch to every lane, never waiting: a full lane drops its share and counts it.
    pub(crate) fn send(&self, batch: Vec<SpanData>) {
        let n = batch.len() as u64;
        let mut spans = Some(Arc::new(batch));
        let delivery = Arc::new(Delivery { spans: n, failed: AtomicBool::new(false) });
        let last = self.lanes.len().saturating_sub(1);
        for (i, lane) in self.lanes.iter().enumerate() {
            // The last lane gets the worker's own reference: once the others are done, it takes
            // the spans without a copy, however soon it runs.
            let shared = if i == last { spans.take() } else { spans.clone() };
            let Some(shared) = shared else { break };
            let part = Part { spans: shared, delivery: delivery.clone(), ok: false };
            let mut state = lock(&lane.queue.state);
            if state.batches >= self.capacity || state.shutdown.is_some() {
                drop(state);
                lane.stats.dropped_lane_full.fetch_add(n, Ordering::Relaxed);
                lane.stats.fail(n, format!("its queue of {} batches was full: batch dropped", self.capacity));
                continue;
            }
            state.items.push_back(Item::Batch(part));
            state.batches += 1;
            drop(state);
            lane.queue.ready.notify_one();
        }
    }

    /// Sends `done` once every lane has exported what it holds now (at once with no lane).
    pub(crate) fn flush(&self, done: SyncSender<()>) {
        if self.lanes.is_empty() {
            let _ = done.try_send(());
            return;
        }
        let ticket = Arc::new(FlushTicket { remaining: AtomicUsize::new(self.lanes.len()), done });
        for lane in &self.lanes {
            lock(&lane.queue.state).items.push_back(Item::Flush(ticket.clone()));
            lane.queue.ready.notify_one();
        }
    }

    /// Lets every lane export what it holds until `deadline`, then shut its exporter down.
    /// A lane that does not answer by then is left behind (its thread ends when its exporter
    /// returns); what it still held is dropped and counted as failed.
    pub(crate) fn shutdown(self, deadline: Instant) -> Vec<String> {
        let mut waits = Vec::new();
        let lane_deadline = super::before(deadline);
        for lane in &self.lanes {
            let (done, wait) = mpsc::sync_channel(1);
            lock(&lane.queue.state).shutdown = Some((lane_deadline, done));
            lane.queue.ready.notify_one();
            waits.push(wait);
        }
        let mut errors = Vec::new();
        for (lane, wait) in self.lanes.iter().zip(waits) {
            // The lanes' own deadline is a little earlier, so an answer arrives by ours.
            let left = deadline.saturating_duration_since(Instant::now());
            match wait.recv_timeout(left) {
                Ok(LaneReport { name, error: Some(e) }) => errors.push(format!("{name}: {e}")),
                Ok(_) => {}
                Err(_) => {
                    let left_over: Vec<Item> = lock(&lane.queue.state).items.drain(..).collect();
                    let unsent: u64 = left_over
                        .iter()
                        .map(|item| if let Item::Batch(part) = item { part.len() } else { 0 })
                        .sum();
                    if unsent > 0 {
                        lane.stats.fail(unsent, "shutdown timed out before these spans were sent".into());
                    }
                    drop(left_over);
                    errors.push(format!(
                        "{}: still exporting at the shutdown deadline ({unsent} queued spans dropped)",
                        lane.stats.name
                    ));
                }
            }
        }
        errors
    }
}

/// A lane's thread: its own runtime, its exporter, its breaker.
fn run(
    mut exporter: Box<dyn DynExporter>,
    queue: &Queue,
    stats: &LaneStats,
    config: LaneConfig,
    started: SyncSender<Result<(), String>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            let _ = started.send(Err(format!("cannot start its tokio runtime: {e}")));
            return;
        }
    };
    let start = {
        let _enter = runtime.enter();
        std::panic::catch_unwind(AssertUnwindSafe(|| exporter.start()))
            .unwrap_or_else(|_| Err("panicked while starting".into()))
    };
    let failed_to_start = start.is_err();
    let _ = started.send(start);
    if failed_to_start {
        return;
    }
    let mut breaker = Breaker::new(config.breaker);
    let timeout = exporter.timeout().unwrap_or(config.timeout);
    loop {
        let next = {
            let mut state = lock(&queue.state);
            loop {
                if let Some(item) = state.items.pop_front() {
                    if matches!(item, Item::Batch(_)) {
                        state.batches -= 1;
                    }
                    break Ok((item, state.shutdown.as_ref().map(|(deadline, _)| *deadline)));
                }
                if let Some(shutdown) = state.shutdown.take() {
                    break Err(shutdown);
                }
                state = queue.ready.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
            }
        };
        match next {
            Ok((Item::Batch(part), deadline)) => {
                export(&runtime, exporter.as_mut(), part, stats, &mut breaker, timeout, deadline);
            }
            Ok((Item::Flush(ticket), _)) => {
                let _ = std::panic::catch_unwind(AssertUnwindSafe(|| exporter.force_flush()));
                ticket.arrive();
            }
            Err((deadline, done)) => {
                let left = deadline.saturating_duration_since(Instant::now());
                let result = std::panic::catch_unwind(AssertUnwindSafe(|| exporter.shutdown(left)));
                let error = match result {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => Some(format!("shutdown failed: {e}")),
                    Err(_) => Some("panicked while shutting down".into()),
                };
                let _ = done.send(LaneReport { name: stats.name.clone(), error });
                return;
            }
        }
    }
}

fn export(
    runtime: &tokio::runtime::Runtime,
    exporter: &mut dyn DynExporter,
    mut part: Part,
    stats: &LaneStats,
    breaker: &mut Breaker,
    timeout: Duration,
    deadline: Option<Instant>,
) {
    let n = part.len();
    let now = Instant::now();
    let timeout = match deadline {
        Some(deadline) => timeout.min(deadline.saturating_duration_since(now)),
        None => timeout,
    };
    if timeout.is_zero() {
        stats.fail(n, "shutdown deadline passed before this batch was sent".into());
        return;
    }
    if !breaker.admit(now) {
        // Counted, but the last error stays the one that opened the circuit.
        stats.failed.fetch_add(n, Ordering::Relaxed);
        return;
    }
    stats.breaker.store(breaker.state().to_u8(), Ordering::Relaxed);
    stats.batches.fetch_add(1, Ordering::Relaxed);
    let mut spans = part.take();
    super::rehome(&mut spans);
    let call = std::panic::catch_unwind(AssertUnwindSafe(|| {
        runtime.block_on(async { tokio::time::timeout(timeout, exporter.export(spans)).await })
    }));
    let error = match call {
        Ok(Ok(Ok(()))) => None,
        Ok(Ok(Err(e))) => Some(e.to_string()),
        Ok(Err(_)) => Some(format!("export timed out after {timeout:?}")),
        Err(_) => Some("the exporter panicked".to_string()),
    };
    match error {
        None => {
            breaker.success();
            stats.exported.fetch_add(n, Ordering::Relaxed);
            part.ok = true;
        }
        Some(e) => {
            breaker.failure(Instant::now());
            stats.fail(n, e);
        }
    }
    stats.breaker.store(breaker.state().to_u8(), Ordering::Relaxed);
}
