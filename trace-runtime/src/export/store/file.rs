//! `TRACE_EXPORTER=file`: one JSON file per finished trace, and one per span.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, SystemTime};

use opentelemetry::trace::TraceId;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use serde_json::{Map, Value as Json};

use super::StoreError;
use super::atomic::{Durability, prepare_dir, remove_stale_temps, write_atomic};
use super::local::{TraceData, TraceFile, read_trace};
use super::span::{StoredSpan, json_of};
use super::time::{file_stamp, naive};
use crate::export::trace_buffer::TraceBuffer;

/// Spans held back waiting for their trace's root; past this the oldest trace is written early
/// (and completed later, when the rest arrives).
const DEFAULT_MAX_BUFFERED: usize = 10_000;
/// Traces remembered after they were written, so late spans are merged into the same file.
const REMEMBERED: usize = 4096;

/// Writes finished traces as JSON files in a directory (`TRACE_EXPORTER=file`,
/// `TRACE_LOCAL_DIR`, default `./traces`): see [`TraceFile`] and [`SpanFile`](super::SpanFile) for the
/// format.
///
/// Spans of a trace are held until its local root (a span without a parent, or with a remote
/// one) is exported, then written as one trace file; at most 10 000 spans wait (the oldest trace
/// is written early past that), and whatever waits is written on flush and shutdown. Spans that
/// arrive after their trace was written are merged into its file (`update_id` goes up). Every
/// file is written atomically and readable by its owner only. Clones share one writer, so a
/// clone kept by the application can ask where a trace went ([`saved_trace`](Self::saved_trace)).
///
/// ```
/// use trace_runtime::opentelemetry_sdk::trace::SpanExporter;
/// use trace_runtime::store::FileExporter;
/// use trace_runtime::{testing, trace};
///
/// let dir = std::env::temp_dir().join(format!("file-exporter-doc-{}", std::process::id()));
/// let exporter = FileExporter::builder().dir(&dir).span_files(false).build().unwrap();
/// let (_, spans) = testing::capture(|| trace!("job", { trace!("step", {}) }));
/// let trace_id = spans[0].span_context.trace_id();
/// futures::executor::block_on(exporter.export(spans)).unwrap();
///
/// let saved = exporter.saved_trace(trace_id).unwrap();
/// assert!(saved.url.starts_with("file://") && saved.url.ends_with(".json"));
/// let name = saved.path.file_name().unwrap().to_str().unwrap();
/// assert!(name.starts_with("trace_") && name.ends_with(&format!("_{}.json", &trace_id.to_string()[..8])));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Clone)]
pub struct FileExporter {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    span_files: bool,
    max_buffered: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    project_name: String,
    metadata: Map<String, Json>,
    pending: TraceBuffer<String, StoredSpan>,
    written: Remembered,
    shut_down: bool,
}

/// Whether a trace whose write failed waits again.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    OnFailure,
    Never,
}

/// Trace id -> file, for the last [`REMEMBERED`] traces.
#[derive(Default)]
struct Remembered {
    paths: HashMap<String, PathBuf>,
    /// Of those, the traces whose root was written: later spans are merged at once. Spans of a
    /// trace written early (no root yet) wait again, so a long trace is not rewritten per batch.
    rooted: std::collections::HashSet<String>,
    order: VecDeque<String>,
}

impl Remembered {
    fn insert(&mut self, trace_id: &str, path: PathBuf, rooted: bool) {
        if rooted {
            self.rooted.insert(trace_id.to_string());
        }
        if self.paths.insert(trace_id.to_string(), path).is_none() {
            self.order.push_back(trace_id.to_string());
            while self.order.len() > REMEMBERED {
                if let Some(old) = self.order.pop_front() {
                    self.paths.remove(&old);
                    self.rooted.remove(&old);
                }
            }
        }
    }
}

/// Builds a [`FileExporter`].
///
/// ```
/// use trace_runtime::store::FileExporter;
///
/// let dir = std::env::temp_dir().join(format!("builder-doc-{}", std::process::id()));
/// let exporter = FileExporter::builder().dir(&dir).span_files(false).max_buffered_spans(1000).build().unwrap();
/// assert_eq!(exporter.dir(), std::fs::canonicalize(&dir).unwrap());
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct FileExporterBuilder {
    dir: PathBuf,
    span_files: bool,
    max_buffered: usize,
}

impl FileExporterBuilder {
    /// The directory (default `./traces`; `TRACE_LOCAL_DIR` when built by `init`).
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("builder-dir-doc-{}", std::process::id()));
    /// let exporter = trace_runtime::store::FileExporter::builder().dir(&dir).build().unwrap();
    /// assert!(exporter.dir().is_absolute());
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = dir.into();
        self
    }

    /// Whether to write a `span_*.json` file per span beside the trace files (default `true`).
    /// A per-frame span of a realtime pipeline makes many small files: turn them off there.
    ///
    /// ```
    /// use trace_runtime::opentelemetry_sdk::trace::SpanExporter;
    /// use trace_runtime::{store::FileExporter, testing, trace};
    ///
    /// let dir = std::env::temp_dir().join(format!("span-files-doc-{}", std::process::id()));
    /// let exporter = FileExporter::builder().dir(&dir).span_files(false).build().unwrap();
    /// let (_, spans) = testing::capture(|| trace!("frame", {}));
    /// futures::executor::block_on(exporter.export(spans)).unwrap();
    /// let names: Vec<String> =
    ///     std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    /// assert!(names.iter().all(|n| n.starts_with("trace_")), "{names:?}");
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn span_files(mut self, on: bool) -> Self {
        self.span_files = on;
        self
    }

    /// Most spans held back waiting for their root (default 10 000; at least 1).
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("max-buffered-doc-{}", std::process::id()));
    /// let exporter = trace_runtime::store::FileExporter::builder().dir(&dir).max_buffered_spans(0).build();
    /// assert!(exporter.is_ok(), "0 is taken as 1");
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn max_buffered_spans(mut self, spans: usize) -> Self {
        self.max_buffered = spans.max(1);
        self
    }

    /// Creates the directory (owner-only) and checks that it is writable.
    ///
    /// ```
    /// use trace_runtime::store::{FileExporter, StoreError};
    ///
    /// let err = FileExporter::builder().dir("/proc/no-such-dir/traces").build().unwrap_err();
    /// assert!(matches!(err, StoreError::Directory { .. }));
    /// assert!(err.to_string().contains("TRACE_LOCAL_DIR"), "says the fix: {err}");
    /// ```
    pub fn build(self) -> Result<FileExporter, StoreError> {
        let dir = prepare_dir(&self.dir)?;
        // A writer killed between its temporary file and the rename left the temporary behind.
        remove_stale_temps(&dir);
        let state = State { project_name: "unknown_service".into(), ..State::default() };
        Ok(FileExporter {
            inner: Arc::new(Inner {
                dir,
                span_files: self.span_files,
                max_buffered: self.max_buffered,
                state: Mutex::new(state),
            }),
        })
    }
}

/// Where a trace was saved: see [`FileExporter`] and [`save_trace`] for examples.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedTrace {
    /// 32 hex characters.
    pub trace_id: String,
    /// The trace file.
    pub path: PathBuf,
    /// The trace file as a `file://` URL.
    pub url: String,
}

impl SavedTrace {
    fn new(trace_id: &str, path: &Path) -> Self {
        SavedTrace { trace_id: trace_id.to_string(), path: path.to_path_buf(), url: file_url(path) }
    }
}

impl FileExporter {
    /// An exporter writing trace and span files into `dir` (created if missing).
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("file-new-doc-{}", std::process::id()));
    /// let exporter = trace_runtime::store::FileExporter::new(dir.join("nested")).unwrap();
    /// assert!(exporter.dir().ends_with("nested"));
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
        Self::builder().dir(dir).build()
    }

    /// A builder, with the defaults.
    ///
    /// ```
    /// let builder = trace_runtime::store::FileExporter::builder();
    /// assert!(format!("{builder:?}").contains("\"traces\""), "./traces by default");
    /// ```
    pub fn builder() -> FileExporterBuilder {
        FileExporterBuilder {
            dir: PathBuf::from("traces"),
            span_files: true,
            max_buffered: DEFAULT_MAX_BUFFERED,
        }
    }

    /// The directory, absolute.
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("file-dir-doc-{}", std::process::id()));
    /// let exporter = trace_runtime::store::FileExporter::new(&dir).unwrap();
    /// assert_eq!(exporter.dir(), std::fs::canonicalize(&dir).unwrap());
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Where this exporter wrote `trace_id`, if it did (among the last 4096 traces it wrote).
    ///
    /// ```
    /// use trace_runtime::opentelemetry::trace::TraceId;
    ///
    /// let dir = std::env::temp_dir().join(format!("saved-trace-doc-{}", std::process::id()));
    /// let exporter = trace_runtime::store::FileExporter::new(&dir).unwrap();
    /// assert_eq!(exporter.saved_trace(TraceId::from(7u128)), None, "nothing written yet");
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn saved_trace(&self, trace_id: TraceId) -> Option<SavedTrace> {
        let id = trace_id.to_string();
        self.lock().written.paths.get(&id).map(|path| SavedTrace::new(&id, path))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_span_file(&self, span: &StoredSpan) -> std::io::Result<()> {
        let stamp = file_stamp(span.start_time);
        let short = span.span_id.get(..8).unwrap_or(&span.span_id);
        let names = [format!("span_{stamp}_{short}.json"), format!("span_{stamp}_{}.json", span.span_id)];
        let file = SpanFileRef {
            trace_id: &span.trace_id,
            span_id: &span.span_id,
            timestamp: naive(SystemTime::now()),
            storage_type: "local",
            data: span,
        };
        // Not fsynced: a span file repeats a part of its trace file (which is), and an fsync per span
        // would cap the exporter at a couple of hundred spans a second on an ordinary disk.
        write_atomic(&self.inner.dir, &names, &to_json(&file)?, false, Durability::ProcessCrash).map(drop)
    }

    /// Writes `spans` of one trace: a new file, or merged into the file written before. On
    /// failure the spans come back with the error (with those of the earlier file, which a
    /// later write merges again without duplicates), so the caller can keep them.
    fn write_trace(
        &self,
        state: &mut State,
        trace_id: &str,
        spans: Vec<StoredSpan>,
    ) -> Result<(), (std::io::Error, Vec<StoredSpan>)> {
        let earlier = state
            .written
            .paths
            .get(trace_id)
            .and_then(|path| read_trace(path).ok().map(|f| (path.clone(), f.0)));
        let (mut data, update_id) = match earlier {
            Some((_, old)) => {
                let mut all = old.data.trace_spans;
                all.retain(|s| !spans.iter().any(|n| n.span_id == s.span_id));
                all.extend(spans);
                (
                    TraceData::of(all, state.project_name.clone(), state.metadata.clone()),
                    old.data.update_id + 1,
                )
            }
            None => (TraceData::of(spans, state.project_name.clone(), state.metadata.clone()), 1),
        };
        data.update_id = update_id;
        let file = TraceFile {
            trace_id: trace_id.to_string(),
            timestamp: naive(SystemTime::now()),
            storage_type: "local".into(),
            data,
        };
        let written = to_json(&file).and_then(|bytes| match state.written.paths.get(trace_id) {
            Some(path) if update_id > 1 => {
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                write_atomic(&self.inner.dir, &[name], &bytes, true, Durability::PowerLoss)
            }
            _ => {
                let stamp = file_stamp(file.data.created_at);
                let short = trace_id.get(..8).unwrap_or(trace_id);
                let names = [format!("trace_{stamp}_{short}.json"), format!("trace_{stamp}_{trace_id}.json")];
                write_atomic(&self.inner.dir, &names, &bytes, false, Durability::PowerLoss)
            }
        });
        let path = match written {
            Ok(path) => path,
            Err(e) => return Err((e, file.data.trace_spans)),
        };
        let rooted = file.data.trace_spans.iter().any(StoredSpan::is_local_root);
        state.written.insert(trace_id, path.clone(), rooted);
        remember(trace_id, &path);
        Ok(())
    }

    /// Writes a waiting trace. On failure its spans wait again (in their place, for the next
    /// flush, shutdown or eviction) when `keep` is set: a full disk or a directory gone for a
    /// moment loses nothing. Eviction passes `keep: false`, which keeps the buffer bounded.
    fn write_pending(&self, state: &mut State, trace_id: &str, keep: Keep) -> std::io::Result<()> {
        let Some(mut pending) = state.pending.take(trace_id) else { return Ok(()) };
        let spans = std::mem::take(&mut pending.spans);
        let Err((error, spans)) = self.write_trace(state, trace_id, spans) else { return Ok(()) };
        if keep == Keep::OnFailure {
            pending.spans = spans;
            state.pending.put_back(trace_id.to_string(), pending);
        }
        Err(error)
    }

    fn write_all_pending(&self, state: &mut State) -> OTelSdkResult {
        let mut result = Ok(());
        for trace_id in state.pending.oldest_first() {
            if let Err(e) = self.write_pending(state, &trace_id, Keep::OnFailure) {
                result = Err(self.failure(&e));
            }
        }
        result
    }

    fn failure(&self, error: &std::io::Error) -> OTelSdkError {
        OTelSdkError::InternalFailure(format!(
            "writing a trace file in `{}`: {error}; check that the directory (TRACE_LOCAL_DIR) exists, is writable and has space",
            self.inner.dir.display()
        ))
    }
}

impl std::fmt::Debug for FileExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileExporter").field("dir", &self.inner.dir).finish_non_exhaustive()
    }
}

impl SpanExporter for FileExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let mut guard = self.lock();
        let state = &mut *guard;
        if state.shut_down {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let mut result = Ok(());
        let mut complete: Vec<String> = Vec::new();
        for data in &batch {
            let span = StoredSpan::from_span_data(data);
            if self.inner.span_files
                && let Err(e) = self.write_span_file(&span)
            {
                result = Err(self.failure(&e));
            }
            let trace_id = span.trace_id.clone();
            if span.is_local_root() || state.written.rooted.contains(&trace_id) {
                complete.push(trace_id.clone());
            }
            state.pending.push(trace_id, span);
        }
        // Written once the whole batch is in, so children later in the batch join their root.
        complete.dedup();
        for trace_id in complete {
            if let Err(e) = self.write_pending(state, &trace_id, Keep::OnFailure) {
                result = Err(self.failure(&e));
            }
        }
        while state.pending.len() > self.inner.max_buffered {
            let Some(oldest) = state.pending.oldest().cloned() else { break };
            if let Err(e) = self.write_pending(state, &oldest, Keep::Never) {
                result = Err(self.failure(&e));
            }
        }
        result
    }

    fn force_flush(&self) -> OTelSdkResult {
        let mut state = self.lock();
        self.write_all_pending(&mut state)
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        let mut state = self.lock();
        let result = self.write_all_pending(&mut state);
        state.shut_down = true;
        result
    }

    fn set_resource(&mut self, resource: &Resource) {
        let mut state = self.lock();
        state.metadata = resource.iter().map(|(k, v)| (k.as_str().to_string(), json_of(v))).collect();
        if let Some(Json::String(name)) = state.metadata.get("service.name") {
            state.project_name = name.clone();
        }
    }
}

/// A [`SpanFile`] written without copying the span.
#[derive(serde::Serialize)]
struct SpanFileRef<'a> {
    trace_id: &'a str,
    span_id: &'a str,
    timestamp: String,
    storage_type: &'static str,
    data: &'a StoredSpan,
}

fn to_json<T: serde::Serialize>(value: &T) -> std::io::Result<Vec<u8>> {
    serde_json::to_vec_pretty(value).map_err(std::io::Error::other)
}

/// `file://` URL of an absolute path, with characters outside the URL-safe set percent-encoded.
fn file_url(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    let mut url = String::from(if text.starts_with('/') { "file://" } else { "file:///" });
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~:".contains(&b) {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

/// Traces written by any file exporter of the process, for [`save_trace`].
fn saved() -> &'static Mutex<Remembered> {
    static SAVED: OnceLock<Mutex<Remembered>> = OnceLock::new();
    SAVED.get_or_init(Default::default)
}

fn remember(trace_id: &str, path: &Path) {
    saved().lock().unwrap_or_else(PoisonError::into_inner).insert(trace_id, path.to_path_buf(), false);
}

/// Exports everything recorded so far and returns where the file exporter wrote `trace_id`, as a
/// path and a `file://` URL. A trace still running is written as far as it got (and completed
/// in the same file when it ends). Waits at most 5 s for the export worker.
///
/// ```rust,standalone_crate
/// use trace_runtime::{Config, config::Exporter, store, trace};
///
/// let dir = std::env::temp_dir().join(format!("save-trace-doc-{}", std::process::id()));
/// let guard = trace_runtime::init_with(
///     Config::builder().exporter(Exporter::File).local_dir(&dir).build(),
/// )
/// .unwrap();
/// let trace_id = trace!("job", { trace_runtime::trace_id().unwrap() });
/// let saved = store::save_trace(trace_id).unwrap();
/// assert!(saved.url.starts_with("file://"));
/// assert!(saved.path.starts_with(std::fs::canonicalize(&dir).unwrap()));
/// drop(guard);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn save_trace(trace_id: TraceId) -> Result<SavedTrace, StoreError> {
    crate::span::thread_state::flush_thread();
    crate::pipeline::flush(true, Duration::from_secs(5));
    let id = trace_id.to_string();
    let saved = saved().lock().unwrap_or_else(PoisonError::into_inner).paths.get(&id).cloned();
    saved.map(|path| SavedTrace::new(&id, &path)).ok_or(StoreError::NotSaved { trace_id: id })
}
