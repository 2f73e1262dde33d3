//! The local JSON store on disk: the file format, atomic owner-only writes, and the storage API
//! (list, get by id, clean up by age).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use super::log::{LogFilter, LogRow, log_rows_of};
use super::span::{ModelTotals, SpanStatus, StoredSpan};
use super::time::{file_stamp, rfc3339};
use super::{StoreError, normalize_id};

/// One trace file, `trace_YYYYMMDD_HHMMSS_{first 8 hex of the trace id}.json`.
///
/// Field order and names follow the reference local-trace format:
///
/// ```json
/// {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "timestamp": "2024-12-01T14:30:22.123456",
///  "storage_type": "local",
///  "data": {"trace_id": "4bf9…", "name": "answer_question", "project_name": "my-agent",
///           "created_at": "2024-12-01T14:30:21.000000Z", "duration": 1.234,
///           "trace_spans": [ /* StoredSpan, by start time */ ], "evaluation_runs": [],
///           "offline_mode": true, "parent_trace_id": null, "parent_name": null,
///           "customer_id": null, "tags": [], "metadata": {"service.name": "my-agent", …},
///           "update_id": 1, "evaluation_id": null, "is_evaluation": false}}
/// ```
///
/// `timestamp` is when the file was (last) written, in UTC without a zone suffix as in the
/// reference format; `created_at` is the trace's first span start; the file name's time is
/// `created_at`'s at the first write (a file written before its root keeps its name when the
/// root's earlier start arrives). `metadata` holds the resource attributes (`service.name`,
/// `deployment.environment.name`, ...). `update_id` counts writes: spans that arrive after the
/// file was written are merged into it and `update_id` goes up.
///
/// ```
/// let text = r#"{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","timestamp":"2024-12-01T14:30:22.123456",
///   "storage_type":"local","data":{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","name":"job",
///   "project_name":"agent","created_at":"2024-12-01T14:30:21.000000Z","duration":1.5,
///   "trace_spans":[],"evaluation_runs":[],"offline_mode":true,"parent_trace_id":null,
///   "parent_name":null,"customer_id":null,"tags":[],"metadata":{},"update_id":1,
///   "evaluation_id":null,"is_evaluation":false}}"#;
/// let file: trace_runtime::store::TraceFile = serde_json::from_str(text).unwrap();
/// assert_eq!(file.data.name, "job");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceFile {
    /// 32 hex characters.
    pub trace_id: String,
    /// When the file was written (UTC, no zone suffix).
    pub timestamp: String,
    /// Always `local`.
    pub storage_type: String,
    /// The trace.
    pub data: TraceData,
}

/// The `data` object of a [`TraceFile`] (see there for an example).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceData {
    /// 32 hex characters.
    pub trace_id: String,
    /// The root span's name (the earliest span's when the root was not recorded).
    pub name: String,
    /// The resource's `service.name`.
    pub project_name: String,
    /// The first span's start.
    #[serde(with = "rfc3339")]
    pub created_at: SystemTime,
    /// From the first start to the last end, in seconds.
    pub duration: f64,
    /// Every span of the trace, by start time.
    pub trace_spans: Vec<StoredSpan>,
    /// Always empty (kept for the reference format).
    #[serde(default)]
    pub evaluation_runs: Vec<Json>,
    /// Always `true`.
    #[serde(default)]
    pub offline_mode: bool,
    /// Always `null`.
    #[serde(default)]
    pub parent_trace_id: Option<String>,
    /// Always `null`.
    #[serde(default)]
    pub parent_name: Option<String>,
    /// Always `null`.
    #[serde(default)]
    pub customer_id: Option<String>,
    /// Always empty.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Resource attributes.
    #[serde(default)]
    pub metadata: Map<String, Json>,
    /// 1 for the first write, one more for each merge of late spans.
    #[serde(default)]
    pub update_id: u64,
    /// Always `null`.
    #[serde(default)]
    pub evaluation_id: Option<String>,
    /// Always `false`.
    #[serde(default)]
    pub is_evaluation: bool,
}

impl TraceData {
    /// A trace of `spans` (any order; at least one).
    pub(crate) fn of(mut spans: Vec<StoredSpan>, project_name: String, metadata: Map<String, Json>) -> Self {
        spans.sort_by_key(|s| s.start_time);
        let first = spans.first().map_or(SystemTime::UNIX_EPOCH, |s| s.start_time);
        let last = spans.iter().map(|s| s.end_time).max().unwrap_or(first);
        let root = spans.iter().find(|s| s.is_local_root()).or(spans.first());
        TraceData {
            trace_id: spans.first().map(|s| s.trace_id.clone()).unwrap_or_default(),
            name: root.map(|s| s.name.clone()).unwrap_or_default(),
            project_name,
            created_at: first,
            duration: last.duration_since(first).unwrap_or(Duration::ZERO).as_secs_f64(),
            trace_spans: spans,
            evaluation_runs: Vec::new(),
            offline_mode: true,
            parent_trace_id: None,
            parent_name: None,
            customer_id: None,
            tags: Vec::new(),
            metadata,
            update_id: 1,
            evaluation_id: None,
            is_evaluation: false,
        }
    }
}

/// One span file, `span_YYYYMMDD_HHMMSS_{first 8 hex of the span id}.json` (the time is the
/// span's start): `{"trace_id", "span_id", "timestamp", "storage_type": "local", "data": span}`.
///
/// The kit's span ids share their first 8 hex characters within a thread, so when that name is
/// taken the file is named with the whole 16-character id instead: a span file never replaces
/// another.
///
/// ```
/// use trace_runtime::opentelemetry_sdk::trace::SpanExporter;
/// use trace_runtime::store::{FileExporter, SpanFile};
/// use trace_runtime::{testing, trace};
///
/// let dir = std::env::temp_dir().join(format!("span-file-doc-{}", std::process::id()));
/// let exporter = FileExporter::new(&dir).unwrap();
/// let (_, spans) = testing::capture(|| trace!("job", {}));
/// futures::executor::block_on(exporter.export(spans)).unwrap();
/// let path = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path())
///     .find(|p| p.file_name().unwrap().to_str().unwrap().starts_with("span_")).unwrap();
/// let file: SpanFile = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
/// assert_eq!((file.storage_type.as_str(), file.data.name.as_str()), ("local", "job"));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpanFile {
    /// 32 hex characters.
    pub trace_id: String,
    /// 16 hex characters.
    pub span_id: String,
    /// When the file was written (UTC, no zone suffix).
    pub timestamp: String,
    /// Always `local`.
    pub storage_type: String,
    /// The span.
    pub data: StoredSpan,
}

/// A stored trace, as [`LocalStore::list`] sees it (see [`LocalStore`] for an example).
#[derive(Clone, Debug, PartialEq)]
pub struct TraceInfo {
    /// 32 hex characters.
    pub trace_id: String,
    /// When the file was written (the file's `timestamp`).
    pub timestamp: String,
    /// The trace's first span start.
    pub created_at: SystemTime,
    /// File size in bytes.
    pub size: u64,
    /// Root span name.
    pub name: String,
    /// Spans in the file.
    pub span_count: usize,
    /// Trace duration in seconds.
    pub duration: f64,
    /// Spans with status error.
    pub error_count: usize,
    /// Input plus output tokens of its LLM spans.
    pub total_tokens: u64,
    /// Sum of its priced spans' cost; `None` if none was priced.
    pub cost: Option<f64>,
    /// The `session.id` its spans carry, if any.
    pub session_id: Option<String>,
    /// The models its LLM spans called, each once.
    pub models: Vec<String>,
    /// The file.
    pub path: PathBuf,
}

/// The traces of a directory, newest first, and the files that were skipped (see [`LocalStore`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TraceListing {
    /// Readable traces, newest `created_at` first.
    pub traces: Vec<TraceInfo>,
    /// One line per skipped file: its path and why (corrupt JSON, another format, unreadable).
    pub warnings: Vec<String>,
}

/// A trace read back by [`LocalStore::get`] (see [`LocalStore`] for an example).
#[derive(Clone, Debug, PartialEq)]
pub struct StoredTrace {
    /// The file it came from.
    pub path: PathBuf,
    /// Its content.
    pub file: TraceFile,
}

/// What [`LocalStore::cleanup`] did (see [`LocalStore`] for an example).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cleanup {
    /// Trace, span and leftover temporary files removed.
    pub removed: Vec<PathBuf>,
    /// Files that could not be removed, with why.
    pub warnings: Vec<String>,
}

/// The storage API over a directory of trace files: list, get by id, clean up by age.
///
/// Only files named `trace_*.json` are read; a corrupt or foreign one is skipped and reported in
/// the result's `warnings` (never a failure, never printed by the library). Other files (span
/// files, the SQLite database, temporary files) are left alone.
///
/// ```
/// use trace_runtime::store::{FileExporter, LocalStore};
/// use trace_runtime::opentelemetry_sdk::trace::SpanExporter;
/// use trace_runtime::{testing, trace};
///
/// let dir = std::env::temp_dir().join(format!("local-store-doc-{}", std::process::id()));
/// let exporter = FileExporter::new(&dir).unwrap();
/// let (_, spans) = testing::capture(|| trace!("job", {}));
/// futures::executor::block_on(exporter.export(spans)).unwrap();
///
/// let store = LocalStore::new(&dir);
/// let listing = store.list().unwrap();
/// assert_eq!(listing.traces[0].name, "job");
/// let id = &listing.traces[0].trace_id;
/// assert_eq!(store.get(&id[..8]).unwrap().file.data.trace_spans.len(), 1);
/// assert_eq!(store.cleanup(0).unwrap().removed.len(), 2, "the trace file and the span file");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct LocalStore {
    dir: PathBuf,
}

impl LocalStore {
    /// A store over `dir`; nothing is read until asked.
    ///
    /// ```
    /// let store = trace_runtime::store::LocalStore::new("/no/such/dir");
    /// assert!(store.list().is_err(), "the directory is read when asked, not before");
    /// ```
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        LocalStore { dir: dir.into() }
    }

    /// The directory.
    ///
    /// ```
    /// let store = trace_runtime::store::LocalStore::new("traces");
    /// assert_eq!(store.dir(), std::path::Path::new("traces"));
    /// ```
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every readable trace, newest first; corrupt or foreign trace files are in `warnings`.
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("local-list-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// std::fs::write(dir.join("trace_20241201_143022_4bf92f35.json"), "{ not json").unwrap();
    /// let listing = trace_runtime::store::LocalStore::new(&dir).list().unwrap();
    /// assert!(listing.traces.is_empty());
    /// assert!(listing.warnings[0].contains("trace_20241201_143022_4bf92f35.json"), "named, skipped");
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn list(&self) -> Result<TraceListing, StoreError> {
        let mut listing = TraceListing::default();
        for path in self.trace_files()? {
            match read_trace(&path) {
                Ok((file, size)) => {
                    let spans = &file.data.trace_spans;
                    let usages = || spans.iter().filter_map(|s| s.usage.as_ref());
                    let costs: Vec<f64> = usages().filter_map(|u| u.cost).collect();
                    listing.traces.push(TraceInfo {
                        span_count: spans.len(),
                        error_count: spans.iter().filter(|s| s.status == SpanStatus::Error).count(),
                        total_tokens: usages().map(|u| u.total_tokens).fold(0, u64::saturating_add),
                        cost: (!costs.is_empty()).then(|| costs.iter().sum()),
                        models: {
                            let mut models: Vec<String> = usages().filter_map(|u| u.model.clone()).collect();
                            models.sort();
                            models.dedup();
                            models
                        },
                        session_id: spans.iter().find_map(|s| {
                            s.attributes.get("session.id").and_then(|v| v.as_str()).map(str::to_string)
                        }),
                        trace_id: file.trace_id,
                        timestamp: file.timestamp,
                        created_at: file.data.created_at,
                        size,
                        name: file.data.name,
                        duration: file.data.duration,
                        path,
                    })
                }
                Err(why) => listing.warnings.push(why),
            }
        }
        listing.traces.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.path.cmp(&b.path)));
        Ok(listing)
    }

    /// The trace with this id: the full 32 hex characters, or any unique prefix of 4 or more. A
    /// file that may hold it but cannot be read is an error naming the file, not "not found".
    ///
    /// ```
    /// use trace_runtime::store::{LocalStore, StoreError};
    ///
    /// let dir = std::env::temp_dir().join(format!("local-get-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let store = LocalStore::new(&dir);
    /// assert!(matches!(store.get("4bf92f35"), Err(StoreError::NotFound { .. })));
    /// assert!(matches!(store.get("4bf"), Err(StoreError::InvalidId { .. })));
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn get(&self, id: &str) -> Result<StoredTrace, StoreError> {
        let id = normalize_id(id)?;
        let mut found: Vec<StoredTrace> = Vec::new();
        let mut corrupt = None;
        // Files are named after the first 8 characters of their trace id.
        let named_by = &id[..id.len().min(8)];
        for path in self.trace_files()? {
            let named = path.file_stem().and_then(|s| s.to_str()).and_then(|s| s.rsplit('_').next());
            if !named.is_some_and(|n| n.starts_with(named_by)) {
                continue;
            }
            match read_trace(&path) {
                Ok((file, _)) if file.trace_id.starts_with(&id) => found.push(StoredTrace { path, file }),
                Ok(_) => {}
                Err(problem) => {
                    // `read_trace` says "skipped `path`: why"; the error names the file itself.
                    let why = problem.split_once("`: ").map_or(problem.as_str(), |(_, why)| why).to_string();
                    corrupt = Some((path, why));
                }
            }
        }
        found.sort_by(|a, b| {
            a.file.trace_id.cmp(&b.file.trace_id).then(b.file.data.update_id.cmp(&a.file.data.update_id))
        });
        found.dedup_by(|a, b| a.file.trace_id == b.file.trace_id);
        match found.len() {
            0 => match corrupt {
                Some((path, problem)) => Err(StoreError::Corrupt { path, problem }),
                None => Err(StoreError::NotFound { id, location: self.dir.display().to_string() }),
            },
            1 => Ok(found.remove(0)),
            _ => Err(StoreError::Ambiguous {
                id,
                candidates: found.into_iter().map(|t| t.file.trace_id).collect(),
            }),
        }
    }

    /// Totals per (provider, model) of the LLM spans that started in `[since, until)` (either
    /// end open when `None`), over every readable trace file; skipped files are the warnings.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("model-totals-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// let (totals, warnings) = trace_runtime::store::LocalStore::new(&dir).model_totals(None, None).unwrap();
    /// assert!(totals.is_empty() && warnings.is_empty());
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn model_totals(
        &self,
        since: Option<SystemTime>,
        until: Option<SystemTime>,
    ) -> Result<(Vec<ModelTotals>, Vec<String>), StoreError> {
        let mut spans = Vec::new();
        let mut warnings = Vec::new();
        for path in self.trace_files()? {
            match read_trace(&path) {
                Ok((file, _)) => spans.extend(file.data.trace_spans.into_iter().filter(|s| {
                    since.is_none_or(|t| s.start_time >= t) && until.is_none_or(|t| s.start_time < t)
                })),
                Err(why) => warnings.push(why),
            }
        }
        Ok((ModelTotals::of(&spans), warnings))
    }

    /// The log records (span events named `log`) of every readable trace file that pass
    /// `filter`, oldest first; skipped files are the warnings. A trace written again with late
    /// spans is read once, from its latest file.
    ///
    /// ```
    /// use trace_runtime::store::{LocalStore, LogFilter};
    /// # let dir = std::env::temp_dir().join(format!("local-logs-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// let (rows, warnings) = LocalStore::new(&dir).logs(&LogFilter::new().limit(20)).unwrap();
    /// assert!(rows.is_empty() && warnings.is_empty());
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn logs(&self, filter: &LogFilter) -> Result<(Vec<LogRow>, Vec<String>), StoreError> {
        let mut latest: HashMap<String, TraceFile> = HashMap::new();
        let mut warnings = Vec::new();
        for path in self.trace_files()? {
            match read_trace(&path) {
                Ok((file, _)) => match latest.get(&file.trace_id) {
                    Some(kept) if kept.data.update_id >= file.data.update_id => {}
                    _ => {
                        latest.insert(file.trace_id.clone(), file);
                    }
                },
                Err(why) => warnings.push(why),
            }
        }
        let rows =
            latest.values().flat_map(|file| file.data.trace_spans.iter().flat_map(log_rows_of)).collect();
        Ok((filter.apply(rows), warnings))
    }

    /// Removes trace and span files whose time (in their name) is more than `older_than_days`
    /// days ago, and temporary files left by a killed process as old as that (and at least an
    /// hour old). `0` removes every trace and span file up to now.
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("local-cleanup-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// std::fs::write(dir.join("trace_20000101_000000_4bf92f35.json"), "{}").unwrap();
    /// std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    /// let done = trace_runtime::store::LocalStore::new(&dir).cleanup(30).unwrap();
    /// assert_eq!(done.removed, [dir.join("trace_20000101_000000_4bf92f35.json")]);
    /// assert!(dir.join("notes.txt").exists(), "other files are left alone");
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn cleanup(&self, older_than_days: u64) -> Result<Cleanup, StoreError> {
        let mut cleanup = Cleanup::default();
        for path in self.cleanup_candidates(older_than_days)? {
            match std::fs::remove_file(&path) {
                Ok(()) => cleanup.removed.push(path),
                Err(e) => cleanup.warnings.push(format!("could not remove `{}`: {e}", path.display())),
            }
        }
        Ok(cleanup)
    }

    /// What [`cleanup`](Self::cleanup) would delete, sorted, deleting nothing (a dry run).
    ///
    /// ```
    /// use trace_runtime::store::LocalStore;
    ///
    /// let dir = std::env::temp_dir().join(format!("local-plan-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// std::fs::write(dir.join("trace_20200101_000000_0123abcd.json"), "{}").unwrap();
    /// let store = LocalStore::new(&dir);
    /// assert_eq!(store.cleanup_candidates(30).unwrap().len(), 1);
    /// assert!(dir.join("trace_20200101_000000_0123abcd.json").exists(), "nothing deleted");
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn cleanup_candidates(&self, older_than_days: u64) -> Result<Vec<PathBuf>, StoreError> {
        let cutoff = SystemTime::now()
            .checked_sub(Duration::from_secs(older_than_days.saturating_mul(86_400)))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let cutoff_stamp = file_stamp(cutoff);
        let mut old = Vec::new();
        for entry in self.entries()? {
            let Some(name) = entry.file_name().to_str().map(str::to_string) else { continue };
            let expired = if name.ends_with(".tmp") && name.starts_with('.') {
                // A temporary file younger than an hour may be a write in progress.
                let modified = entry.metadata().and_then(|m| m.modified()).unwrap_or(SystemTime::now());
                let in_progress = SystemTime::now().checked_sub(Duration::from_secs(3600)).unwrap_or(cutoff);
                modified <= cutoff.min(in_progress)
            } else if let Some(stamp) = stamp_of(&name) {
                stamp <= cutoff_stamp.as_str()
            } else {
                false
            };
            if expired {
                old.push(entry.path());
            }
        }
        old.sort();
        Ok(old)
    }

    fn entries(&self) -> Result<Vec<std::fs::DirEntry>, StoreError> {
        let read = std::fs::read_dir(&self.dir).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                StoreError::MissingDirectory { path: self.dir.clone() }
            } else {
                StoreError::Io { path: self.dir.clone(), source }
            }
        })?;
        Ok(read.filter_map(Result::ok).collect())
    }

    fn trace_files(&self) -> Result<Vec<PathBuf>, StoreError> {
        let mut files: Vec<PathBuf> = self
            .entries()?
            .into_iter()
            .filter(|e| {
                e.file_name().to_str().is_some_and(|n| n.starts_with("trace_") && n.ends_with(".json"))
            })
            .map(|e| e.path())
            .collect();
        files.sort();
        Ok(files)
    }
}

/// `YYYYMMDD_HHMMSS` of `trace_…` / `span_…` file names.
fn stamp_of(name: &str) -> Option<&str> {
    let rest = name.strip_prefix("trace_").or_else(|| name.strip_prefix("span_"))?;
    let stamp = rest.get(..15)?;
    let ok = name.ends_with(".json")
        && stamp.bytes().enumerate().all(|(i, b)| if i == 8 { b == b'_' } else { b.is_ascii_digit() });
    ok.then_some(stamp)
}

/// Largest trace file read, in bytes. The file exporter writes far smaller ones (10 000 spans
/// are a few tens of MiB); a larger `trace_*.json` is not this kit's, and reading it whole could
/// exhaust memory, so a listing skips it with a warning.
///
/// ```
/// assert_eq!(trace_runtime::store::MAX_TRACE_FILE_BYTES, 256 * 1024 * 1024);
/// ```
pub const MAX_TRACE_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Reads and parses a trace file; the error is a warning line naming the file.
pub(crate) fn read_trace(path: &Path) -> Result<(TraceFile, u64), String> {
    let size = std::fs::metadata(path).map_err(|e| format!("skipped `{}`: {e}", path.display()))?.len();
    if size > MAX_TRACE_FILE_BYTES {
        return Err(format!(
            "skipped `{}`: {size} bytes, larger than the {MAX_TRACE_FILE_BYTES} a trace file of this kit can be; move it out of the directory",
            path.display()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("skipped `{}`: {e}", path.display()))?;
    let file: TraceFile = serde_json::from_slice(&bytes)
        .map_err(|e| format!("skipped `{}`: not a trace file of this kit ({e})", path.display()))?;
    Ok((file, bytes.len() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_read_from_names() {
        assert_eq!(stamp_of("trace_20241201_143022_a1b2c3d4.json"), Some("20241201_143022"));
        assert_eq!(stamp_of("span_20241201_143022_a1b2c3d4.json"), Some("20241201_143022"));
        assert_eq!(stamp_of("trace_2024_a1.json"), None);
        assert_eq!(stamp_of("traces.db"), None);
    }
}
