//! The sink's own sender thread: a bounded queue of documents in, formatted HTTP requests out.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use super::SinkError;
use super::doc::{self, Doc};
use super::http::{Http, Request, Retry, SendError};
use crate::log::{LogRecord, LogSink, LogSinkError};

/// Batches waiting for the sender thread before new ones are dropped.
const QUEUE_BATCHES: usize = 256;

/// What was delivered of a batch of documents.
#[derive(Default)]
pub(crate) struct Outcome {
    pub(crate) delivered: u64,
    pub(crate) failed: u64,
    pub(crate) retries: u64,
    pub(crate) error: Option<String>,
}

impl Outcome {
    /// Sends `request`, carrying `docs` documents, and counts the result.
    pub(crate) fn send(
        &mut self,
        http: &Http,
        request: &Request,
        docs: u64,
    ) -> Option<super::http::Response> {
        match http.send(request, &mut self.retries) {
            Ok(response) => {
                self.delivered += docs;
                Some(response)
            }
            Err(e) => {
                self.failed += docs;
                self.error = Some(e.to_string());
                None
            }
        }
    }

    pub(crate) fn fail(&mut self, docs: u64, error: &SendError) {
        self.failed += docs;
        self.error = Some(error.to_string());
    }
}

/// A wire format: how documents become requests, and what a response means.
pub(crate) trait Format: Send + 'static {
    fn deliver(&mut self, http: &Http, docs: Vec<Doc>) -> Outcome;
}

/// Counters of one sink since it was built.
///
/// ```
/// let stats = trace_runtime::sinks::SinkStats::default();
/// assert_eq!(stats.delivered + stats.failed + stats.dropped, 0);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SinkStats {
    /// Documents (spans and log entries) the service accepted.
    pub delivered: u64,
    /// Documents that were sent but not accepted: rejected, or still failing after every attempt.
    pub failed: u64,
    /// Documents dropped before sending because the sink's queue was full or it was shut down.
    pub dropped: u64,
    /// Attempts beyond the first.
    pub retries: u64,
    /// The last error, naming the URL and the status.
    pub last_error: Option<String>,
}

struct Inner {
    name: &'static str,
    tx: SyncSender<Vec<Doc>>,
    /// Batches the queue accepted, counted by the caller after it handed one over.
    accepted: AtomicU64,
    /// Batches the sender thread finished with (sent or given up on); `flush` waits on `sent`.
    finished: Mutex<u64>,
    sent: Condvar,
    service: Mutex<String>,
    service_fixed: bool,
    log_sink_installed: AtomicBool,
    delivered: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    retries: AtomicU64,
    last_error: Mutex<Option<String>>,
}

/// A remote sink: an `opentelemetry_sdk` `SpanExporter` and a [`LogSink`] that sends on a thread
/// of its own, never blocking the caller. Built by the configs of [`sinks`](crate::sinks); cheap
/// to clone (clones share the thread and the counters).
///
/// ```rust,standalone_crate
/// use std::sync::Arc;
/// use trace_runtime::{Config, config::Exporter, log, sinks::RestConfig};
///
/// // An endpoint nobody listens on: the application carries on, failures are counted.
/// let sink = RestConfig::new("http://127.0.0.1:9/ingest").max_attempts(1).build().unwrap();
/// let guard = trace_runtime::init_with(
///     Config::builder().exporter(Exporter::None).with_span_exporter(sink.clone()).build(),
/// )
/// .unwrap();
/// let id = log::add_sink(Arc::new(sink.clone()));
/// trace_runtime::trace!("request", { log::info("handled") });
/// drop(guard);
/// log::remove_sink(id);
/// sink.flush(std::time::Duration::from_secs(10));
/// assert_eq!(sink.stats().failed, 2, "one span, one log record");
/// ```
#[derive(Clone)]
pub struct HttpSink {
    inner: Arc<Inner>,
}

impl fmt::Debug for HttpSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpSink").field("name", &self.inner.name).field("stats", &self.stats()).finish()
    }
}

impl HttpSink {
    pub(crate) fn start(
        name: &'static str,
        service: Option<String>,
        retry: Retry,
        format: impl Format,
    ) -> Result<HttpSink, SinkError> {
        let (tx, rx) = mpsc::sync_channel(QUEUE_BATCHES);
        let service_fixed = service.is_some();
        let service = service
            .or_else(|| super::env("OTEL_SERVICE_NAME"))
            .unwrap_or_else(|| "unknown_service".to_string());
        let inner = Arc::new(Inner {
            name,
            tx,
            accepted: AtomicU64::new(0),
            finished: Mutex::new(0),
            sent: Condvar::new(),
            service: Mutex::new(service),
            service_fixed,
            log_sink_installed: AtomicBool::new(false),
            delivered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            last_error: Mutex::new(None),
        });
        // The HTTP client is built here, outside any async runtime (reqwest's blocking client
        // must not be created or dropped inside one), and moved to the thread.
        let http = Http::new(retry).map_err(|e| SinkError::Client { sink: name, reason: e.to_string() })?;
        let worker = Arc::downgrade(&inner);
        crate::background::spawn(format!("trace-runtime-sink-{name}"), move || run(rx, http, format, worker))
            .map_err(|e| SinkError::Client { sink: name, reason: format!("cannot start its thread: {e}") })?;
        Ok(HttpSink { inner })
    }

    /// The sink's name (`rest`, `datadog`, `loki`, `cloudwatch`, `elasticsearch`).
    pub fn name(&self) -> &'static str {
        self.inner.name
    }

    /// What the sink delivered, failed and dropped so far; see [`HttpSink`] for an example.
    pub fn stats(&self) -> SinkStats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        SinkStats {
            delivered: get(&self.inner.delivered),
            failed: get(&self.inner.failed),
            dropped: get(&self.inner.dropped),
            retries: get(&self.inner.retries),
            last_error: lock(&self.inner.last_error).clone(),
        }
    }

    /// Waits until everything handed to the sink so far was sent (or given up on), at most
    /// `timeout`; `false` if that did not happen in time. See [`HttpSink`] for an example.
    ///
    /// It takes no queue slot and holds no lock while it waits, so a full queue or a hung service
    /// neither stretches the wait past `timeout` nor blocks callers handing the sink more work.
    pub fn flush(&self, timeout: Duration) -> bool {
        let target = self.inner.accepted.load(Ordering::Acquire);
        let finished = lock(&self.inner.finished);
        let (finished, _) = self
            .inner
            .sent
            .wait_timeout_while(finished, timeout, |finished| *finished < target)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *finished >= target
    }

    fn submit(&self, docs: Vec<Doc>) -> bool {
        if docs.is_empty() {
            return true;
        }
        let n = docs.len() as u64;
        match self.inner.tx.try_send(docs) {
            Ok(()) => {
                self.inner.accepted.fetch_add(1, Ordering::Release);
                true
            }
            Err(_) => {
                self.inner.dropped.fetch_add(n, Ordering::Relaxed);
                false
            }
        }
    }

    fn service(&self) -> String {
        lock(&self.inner.service).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn run(rx: Receiver<Vec<Doc>>, http: Http, mut format: impl Format, inner: std::sync::Weak<Inner>) {
    while let Ok(docs) = rx.recv() {
        let outcome = format.deliver(&http, docs);
        let Some(inner) = inner.upgrade() else { return };
        inner.delivered.fetch_add(outcome.delivered, Ordering::Relaxed);
        inner.failed.fetch_add(outcome.failed, Ordering::Relaxed);
        inner.retries.fetch_add(outcome.retries, Ordering::Relaxed);
        if let Some(e) = outcome.error {
            *lock(&inner.last_error) = Some(e);
        }
        *lock(&inner.finished) += 1;
        inner.sent.notify_all();
    }
}

impl SpanExporter for HttpSink {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let service = self.service();
        let with_logs = !self.inner.log_sink_installed.load(Ordering::Relaxed);
        let mut docs = Vec::with_capacity(batch.len());
        for span in &batch {
            doc::from_span(span, &service, with_logs, &mut docs);
        }
        if self.submit(docs) {
            Ok(())
        } else {
            Err(OTelSdkError::InternalFailure(format!("{} sink: queue full, batch dropped", self.inner.name)))
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        if HttpSink::flush(self, Duration::from_secs(30)) {
            Ok(())
        } else {
            Err(OTelSdkError::Timeout(Duration::from_secs(30)))
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        if HttpSink::flush(self, timeout) { Ok(()) } else { Err(OTelSdkError::Timeout(timeout)) }
    }

    fn set_resource(&mut self, resource: &Resource) {
        if self.inner.service_fixed {
            return;
        }
        if let Some(name) = resource.get(&opentelemetry::Key::from_static_str("service.name")) {
            *lock(&self.inner.service) = name.as_str().into_owned();
        }
    }
}

impl LogSink for HttpSink {
    fn name(&self) -> &str {
        self.inner.name
    }

    fn write(&self, records: &[LogRecord]) -> Result<(), LogSinkError> {
        let service = self.service();
        let docs = records.iter().map(|r| doc::from_log(r, &service)).collect();
        if self.submit(docs) {
            Ok(())
        } else {
            Err(LogSinkError {
                sink: self.inner.name.to_string(),
                reason: "queue full, batch dropped".into(),
            })
        }
    }

    fn flush(&self, timeout: Duration) -> Result<(), LogSinkError> {
        if HttpSink::flush(self, timeout) {
            Ok(())
        } else {
            Err(LogSinkError {
                sink: self.inner.name.to_string(),
                reason: format!("still sending when the flush deadline ({timeout:?}) passed"),
            })
        }
    }

    fn on_install(&self) {
        self.inner.log_sink_installed.store(true, Ordering::Relaxed);
    }
}
