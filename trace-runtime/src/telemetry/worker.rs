//! The telemetry thread: drains the event queue into the aggregate, sends a batch every interval
//! and at shutdown, behind the breaker.
//!
//! A thread of its own rather than the span export worker: telemetry must run when no span
//! exporter is configured and stop independently, and a slow telemetry endpoint (a blocking HTTP
//! POST of up to its timeout) must never delay span export. It sleeps between ticks and holds
//! one small map, so its cost is a parked thread. An `https://` endpoint (`tls` feature) adds a
//! current-thread tokio runtime driven from this thread, not a thread of its own; only a host
//! name lookup borrows a short-lived resolver thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::breaker::Breaker;
use super::payload::{Added, Aggregate, Event};
use super::{COUNTERS, ON, TelemetrySink, queue};

/// How often queued events are folded into the aggregate.
const DRAIN_TICK: Duration = Duration::from_millis(250);

enum Control {
    Flush(SyncSender<()>),
    /// With the events `stop` took from the queue: after it, the thread never reads the queue.
    Shutdown(SyncSender<()>, Vec<Event>),
}

static CONTROL: Mutex<Option<Sender<Control>>> = Mutex::new(None);

/// The session whose thread may read the shared queue; `stop` moves it on. A thread still sending
/// its last batch (a slow endpoint) when the next session starts thus neither takes the new
/// session's events nor has its own cleared by `start`.
static SESSION: AtomicU64 = AtomicU64::new(0);

fn control() -> MutexGuard<'static, Option<Sender<Control>>> {
    CONTROL.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts the thread with `sink`; `false` if the thread could not be started (telemetry stays off).
pub(crate) fn start(sink: Box<dyn TelemetrySink>, interval: Duration) -> bool {
    let mut control = control();
    if control.is_some() {
        return true;
    }
    // Events left from an earlier session were recorded while no sink ran: not this session's.
    while queue().pop().is_some() {}
    let (tx, rx) = mpsc::channel();
    let session = SESSION.load(Ordering::Acquire);
    let spawned = crate::background::spawn("trace-telemetry".into(), move || {
        Worker { sink, aggregate: Aggregate::default(), breaker: Breaker::new(), interval, session }.run(rx)
    });
    if spawned.is_err() {
        return false;
    }
    *control = Some(tx);
    ON.store(true, Ordering::Relaxed);
    true
}

/// Sends what was counted so far; `false` if the thread did not answer within `timeout`.
pub(crate) fn flush(timeout: Duration) -> bool {
    let (done, wait) = mpsc::sync_channel(1);
    let sent = control().as_ref().is_some_and(|c| c.send(Control::Flush(done)).is_ok());
    sent && wait.recv_timeout(timeout).is_ok()
}

/// Stops counting and asks the thread to send the last batch and end; [`Stopping::wait`] waits
/// for it, so the span pipeline can shut down meanwhile.
pub(crate) fn stop() -> Stopping {
    ON.store(false, Ordering::Relaxed);
    let Some(tx) = control().take() else { return Stopping(None) };
    SESSION.fetch_add(1, Ordering::AcqRel);
    let mut last = Vec::new();
    while let Some(event) = queue().pop() {
        last.push(event);
    }
    let (done, wait) = mpsc::sync_channel(1);
    Stopping(tx.send(Control::Shutdown(done, last)).is_ok().then_some(wait))
}

/// A telemetry shutdown under way.
pub(crate) struct Stopping(Option<Receiver<()>>);

impl Stopping {
    /// `false` if the thread did not finish within `timeout` (it then ends on its own).
    pub(crate) fn wait(self, timeout: Duration) -> bool {
        self.0.is_none_or(|done| done.recv_timeout(timeout).is_ok())
    }
}

struct Worker {
    sink: Box<dyn TelemetrySink>,
    aggregate: Aggregate,
    breaker: Breaker,
    interval: Duration,
    /// The [`SESSION`] this thread belongs to.
    session: u64,
}

impl Worker {
    fn run(mut self, control: Receiver<Control>) {
        let mut last_send = Instant::now();
        loop {
            let message = control.recv_timeout(DRAIN_TICK);
            self.drain();
            match message {
                Ok(Control::Flush(done)) => {
                    self.send();
                    last_send = Instant::now();
                    let _ = done.send(());
                }
                Ok(Control::Shutdown(done, last)) => {
                    last.into_iter().for_each(|event| self.add(event));
                    self.send();
                    self.drop_unsent();
                    let _ = done.send(());
                    return;
                }
                Err(RecvTimeoutError::Timeout) if last_send.elapsed() >= self.interval => {
                    self.send();
                    last_send = Instant::now();
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    self.send();
                    self.drop_unsent();
                    return;
                }
            }
        }
    }

    /// Folds the queued events into the aggregate, while the queue is this session's.
    fn drain(&mut self) {
        while SESSION.load(Ordering::Acquire) == self.session
            && let Some(event) = queue().pop()
        {
            self.add(event);
        }
    }

    fn add(&mut self, event: Event) {
        let redacted_before = self.aggregate.redacted;
        let counter = match self.aggregate.add(event) {
            Added::Counted => &COUNTERS.processed,
            Added::Full => &COUNTERS.dropped,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        COUNTERS.redacted.fetch_add(self.aggregate.redacted - redacted_before, Ordering::Relaxed);
    }

    /// Sends the aggregate as one batch, if there is anything and the breaker allows it; while
    /// the breaker is open the counts wait (bounded by the aggregate's key limit).
    fn send(&mut self) {
        if self.aggregate.is_empty() || !self.breaker.allow(Instant::now()) {
            return;
        }
        let sequence = COUNTERS.sent.load(Ordering::Relaxed) + COUNTERS.failed.load(Ordering::Relaxed);
        let payload = self.aggregate.take(super::session_id().to_string(), sequence);
        match self.sink.send(&payload) {
            Ok(()) => {
                self.breaker.success();
                COUNTERS.sent.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                self.breaker.failure(Instant::now());
                COUNTERS.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// At shutdown, counts held back by an open breaker are lost: say so in the metrics.
    fn drop_unsent(&mut self) {
        let unsent = self.aggregate.events();
        if unsent > 0 {
            COUNTERS.dropped.fetch_add(unsent, Ordering::Relaxed);
        }
    }
}
