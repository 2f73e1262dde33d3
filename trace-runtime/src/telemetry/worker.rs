//! The telemetry thread: drains the event queue into the aggregate, sends a batch every interval
//! and at shutdown, behind the breaker.
//!
//! A thread of its own rather than the span export worker: telemetry must run when no span
//! exporter is configured and stop independently, and a slow telemetry endpoint (a blocking HTTP
//! POST of up to its timeout) must never delay span export. It sleeps between ticks and holds
//! one small map, so its cost is a parked thread.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::breaker::Breaker;
use super::payload::{Added, Aggregate};
use super::{COUNTERS, ON, TelemetrySink, queue};

/// How often queued events are folded into the aggregate.
const DRAIN_TICK: Duration = Duration::from_millis(250);

enum Control {
    Flush(SyncSender<()>),
    Shutdown(SyncSender<()>),
}

static CONTROL: Mutex<Option<Sender<Control>>> = Mutex::new(None);

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
    let spawned = std::thread::Builder::new().name("trace-telemetry".into()).spawn(move || {
        Worker { sink, aggregate: Aggregate::default(), breaker: Breaker::new(), interval }.run(rx)
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
    let (done, wait) = mpsc::sync_channel(1);
    Stopping(tx.send(Control::Shutdown(done)).is_ok().then_some(wait))
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
                Ok(Control::Shutdown(done)) => {
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

    fn drain(&mut self) {
        let redacted_before = self.aggregate.redacted;
        while let Some(event) = queue().pop() {
            let counter = match self.aggregate.add(event) {
                Added::Counted => &COUNTERS.processed,
                Added::Full => &COUNTERS.dropped,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
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
