//! `TRACE_EXPORTER=sqlite`: spans and levelled logs in a SQLite database (compiled in, WAL mode,
//! one transaction per export, versioned schema).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use rusqlite::{Connection, Row, params};
use serde_json::{Map, Value as Json};

use super::log::{LogFilter, LogRow, log_rows_of};
use super::span::{ModelTotals, SpanStatus, SpanUsage, StoredEvent, StoredSpan};
use super::time::{from_unix_nanos, unix_nanos};
use super::{StoreError, normalize_id};

/// The schema version this build writes (`PRAGMA user_version`).
///
/// | version | adds |
/// |---|---|
/// | 1 | `spans` and its indexes |
/// | 2 | `logs` and its indexes |
///
/// ```
/// assert_eq!(trace_runtime::store::SCHEMA_VERSION, 2);
/// ```
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Migration `i` takes the schema from version `i` to `i + 1`. Never edit one that shipped: add.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE spans (
        trace_id TEXT NOT NULL,
        span_id TEXT NOT NULL,
        parent_span_id TEXT,
        parent_is_remote INTEGER NOT NULL DEFAULT 0,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        start_time_unix_nano INTEGER NOT NULL,
        end_time_unix_nano INTEGER NOT NULL,
        duration_ms REAL NOT NULL,
        status TEXT NOT NULL,
        status_message TEXT,
        attributes TEXT NOT NULL,
        events TEXT NOT NULL,
        dropped_attributes_count INTEGER NOT NULL DEFAULT 0,
        dropped_events_count INTEGER NOT NULL DEFAULT 0,
        service_name TEXT,
        provider TEXT,
        model TEXT,
        input_tokens INTEGER,
        output_tokens INTEGER,
        cache_read_tokens INTEGER,
        cache_write_tokens INTEGER,
        reasoning_tokens INTEGER,
        cost REAL,
        PRIMARY KEY (trace_id, span_id)
    );
    CREATE INDEX spans_by_start ON spans (start_time_unix_nano);
    CREATE INDEX spans_by_model ON spans (model, start_time_unix_nano) WHERE model IS NOT NULL;
    CREATE INDEX spans_by_parent ON spans (trace_id, parent_span_id);",
    "CREATE TABLE logs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT,
        parent_run_id TEXT,
        level TEXT NOT NULL,
        message TEXT NOT NULL,
        time_unix_nano INTEGER NOT NULL,
        process_id INTEGER,
        thread_name TEXT,
        thread_id INTEGER,
        file TEXT,
        line INTEGER,
        trace_id TEXT,
        span_id TEXT,
        error_type TEXT,
        error_message TEXT,
        metadata TEXT
    );
    CREATE INDEX logs_by_run ON logs (run_id, time_unix_nano);
    CREATE INDEX logs_by_trace ON logs (trace_id, time_unix_nano);
    CREATE INDEX logs_by_time ON logs (time_unix_nano);
    CREATE INDEX logs_by_level ON logs (level, time_unix_nano);",
];

const SPAN_COLUMNS: &str = "trace_id, span_id, parent_span_id, parent_is_remote, name, kind, \
    start_time_unix_nano, end_time_unix_nano, duration_ms, status, status_message, attributes, events, \
    dropped_attributes_count, dropped_events_count, service_name, provider, model, input_tokens, \
    output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost";

const LOG_COLUMNS: &str = "run_id, parent_run_id, level, message, time_unix_nano, process_id, thread_name, \
    thread_id, file, line, trace_id, span_id, error_type, error_message, metadata";

/// A trace database: the `spans` and `logs` tables and the queries the viewer needs.
///
/// ```
/// use trace_runtime::store::{SqliteStore, StoredSpan, LogRow};
/// use trace_runtime::{record_usage, testing, trace, trace_llm, Usage};
///
/// #[trace_llm(provider = "openai", model = "gpt-4o-mini")]
/// fn complete() {
///     record_usage(Usage { input_tokens: 31, output_tokens: 27, ..Default::default() });
/// }
///
/// let path = std::env::temp_dir().join(format!("sqlite-store-doc-{}.db", std::process::id()));
/// let store = SqliteStore::open(&path).unwrap();
/// let (_, spans) = testing::capture(|| trace!("turn", { complete() }));
/// let spans: Vec<StoredSpan> = spans.iter().map(StoredSpan::from_span_data).collect();
/// store.insert_spans(&spans).unwrap();
/// store.insert_logs(&[LogRow::new("info", "run finished")]).unwrap();
///
/// let traces = store.traces(10).unwrap();
/// assert_eq!((traces[0].name.as_str(), traces[0].span_count), ("turn", 2));
/// assert_eq!(store.trace_spans(&traces[0].trace_id[..8]).unwrap().len(), 2);
/// let models = store.model_totals(None, None).unwrap();
/// assert_eq!((models[0].model.as_str(), models[0].input_tokens), ("gpt-4o-mini", 31));
/// # drop(store); for ext in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{ext}", path.display())); }
/// ```
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
}

/// One trace in [`SqliteStore::traces`] (see [`SqliteStore`] for an example).
#[derive(Clone, Debug, PartialEq)]
pub struct TraceSummary {
    /// 32 hex characters.
    pub trace_id: String,
    /// The root span's name.
    pub name: String,
    /// First span start.
    pub start_time: SystemTime,
    /// From the first start to the last end, in seconds.
    pub duration: f64,
    /// Spans stored.
    pub span_count: u64,
    /// Spans with status error.
    pub error_count: u64,
    /// Input tokens of its LLM spans.
    pub input_tokens: u64,
    /// Output tokens of its LLM spans.
    pub output_tokens: u64,
    /// Sum of the priced spans' cost; `None` if none was priced.
    pub cost: Option<f64>,
}

impl SqliteStore {
    /// Opens (creating it and its directory if needed) and migrates the database at `path`.
    ///
    /// ```
    /// use trace_runtime::store::SqliteStore;
    ///
    /// let path = std::env::temp_dir().join(format!("open-doc-{}.db", std::process::id()));
    /// let store = SqliteStore::open(&path).unwrap();
    /// assert_eq!(store.schema_version().unwrap(), trace_runtime::store::SCHEMA_VERSION);
    /// assert!(path.exists());
    /// # drop(store); for ext in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{ext}", path.display())); }
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder
                .create(parent)
                .map_err(|source| StoreError::Directory { path: parent.to_path_buf(), source })?;
        }
        Self::connect(path, true)
    }

    /// Opens an existing database (never creates one), migrating it if it is older.
    ///
    /// ```
    /// use trace_runtime::store::{SqliteStore, StoreError};
    ///
    /// let err = SqliteStore::open_existing("/no/such/traces.db").unwrap_err();
    /// assert!(matches!(err, StoreError::MissingDatabase { .. }));
    /// assert!(!std::path::Path::new("/no/such/traces.db").exists());
    /// ```
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        if !path.is_file() {
            return Err(StoreError::MissingDatabase { path: path.to_path_buf() });
        }
        Self::connect(path, false)
    }

    fn connect(path: &Path, create: bool) -> Result<Self, StoreError> {
        use rusqlite::OpenFlags;
        let fail = |source| StoreError::Sqlite { path: path.to_path_buf(), source };
        let mut flags =
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn = Connection::open_with_flags(path, flags).map_err(fail)?;
        // Owner-only, like the JSON files; SQLite gives its -wal and -shm files the same mode.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        conn.busy_timeout(Duration::from_secs(5)).map_err(fail)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(fail)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(fail)?;
        let store = SqliteStore { conn, path: path.to_path_buf() };
        store.migrate(SCHEMA_VERSION)?;
        Ok(store)
    }

    /// Applies the migrations from the database's version up to `target`, each in a transaction.
    pub(crate) fn migrate(&self, target: i64) -> Result<(), StoreError> {
        let found: i64 =
            self.conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(|e| self.fail(e))?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path: self.path.clone(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        // A negative `user_version` is never written by the kit: another program's database.
        let Ok(start) = usize::try_from(found) else {
            return Err(StoreError::ForeignSchema { path: self.path.clone(), found });
        };
        let end = usize::try_from(target.min(SCHEMA_VERSION)).unwrap_or(0);
        for (version, migration) in MIGRATIONS.iter().enumerate().take(end).skip(start) {
            let tx = self.conn.unchecked_transaction().map_err(|e| self.fail(e))?;
            tx.execute_batch(migration).map_err(|e| self.fail(e))?;
            tx.pragma_update(None, "user_version", version as i64 + 1).map_err(|e| self.fail(e))?;
            tx.commit().map_err(|e| self.fail(e))?;
        }
        Ok(())
    }

    /// The schema version of the open database.
    ///
    /// ```
    /// use trace_runtime::store::SqliteStore;
    ///
    /// let path = std::env::temp_dir().join(format!("schema-version-doc-{}.db", std::process::id()));
    /// let store = SqliteStore::open(&path).unwrap();
    /// assert_eq!(store.schema_version().unwrap(), trace_runtime::store::SCHEMA_VERSION);
    /// # drop(store); for ext in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{ext}", path.display())); }
    /// ```
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(|e| self.fail(e))
    }

    /// The database file.
    ///
    /// ```
    /// use trace_runtime::store::SqliteStore;
    ///
    /// let path = std::env::temp_dir().join(format!("path-doc-{}.db", std::process::id()));
    /// let store = SqliteStore::open(&path).unwrap();
    /// assert_eq!(store.path(), path);
    /// # drop(store); for ext in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{ext}", path.display())); }
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The underlying connection, for queries of your own.
    ///
    /// ```
    /// use trace_runtime::store::SqliteStore;
    ///
    /// let path = std::env::temp_dir().join(format!("connection-doc-{}.db", std::process::id()));
    /// let store = SqliteStore::open(&path).unwrap();
    /// let spans: i64 = store.connection().query_row("SELECT COUNT(*) FROM spans", [], |r| r.get(0)).unwrap();
    /// assert_eq!(spans, 0);
    /// # drop(store); for ext in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{ext}", path.display())); }
    /// ```
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    fn fail(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite { path: self.path.clone(), source }
    }

    /// Inserts (or replaces, by trace and span id) `spans`, and a `logs` row for each of their
    /// `log` events, in one transaction.
    ///
    /// ```
    /// use trace_runtime::store::SqliteStore;
    /// use trace_runtime::store::StoredSpan;
    /// use trace_runtime::{testing, trace};
    /// let path = std::env::temp_dir().join(format!("insert-spans-doc-{}.db", std::process::id()));
    /// let store = SqliteStore::open(&path).unwrap();
    /// let (_, spans) = testing::capture(|| trace!("job", {}));
    /// let spans: Vec<StoredSpan> = spans.iter().map(StoredSpan::from_span_data).collect();
    /// store.insert_spans(&spans).unwrap();
    /// store.insert_spans(&spans).unwrap(); // the same ids: replaced, not doubled
    /// assert_eq!(store.traces(10).unwrap()[0].span_count, 1);
    /// # drop(store); for ext in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{ext}", path.display())); }
    /// ```
    pub fn insert_spans(&self, spans: &[StoredSpan]) -> Result<(), StoreError> {
        self.insert_spans_of(spans, None)
    }

    pub(crate) fn insert_spans_of(
        &self,
        spans: &[StoredSpan],
        service: Option<&str>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.fail(e))?;
        {
            let sql = format!("INSERT OR REPLACE INTO spans ({SPAN_COLUMNS}) VALUES ({})", placeholders(24));
            let mut insert = tx.prepare_cached(&sql).map_err(|e| self.fail(e))?;
            for s in spans {
                let usage = s.usage.as_ref();
                let count = |f: fn(&SpanUsage) -> u64| usage.map(|u| clamp_i64(f(u)));
                insert
                    .execute(params![
                        s.trace_id,
                        s.span_id,
                        s.parent_span_id,
                        s.parent_is_remote,
                        s.name,
                        s.kind,
                        unix_nanos(s.start_time),
                        unix_nanos(s.end_time),
                        s.duration * 1000.0,
                        s.status.as_str(),
                        s.status_message,
                        Json::Object(s.attributes.clone()).to_string(),
                        serde_json::to_string(&s.events).unwrap_or_else(|_| "[]".into()),
                        s.dropped_attributes_count,
                        s.dropped_events_count,
                        service,
                        usage.and_then(|u| u.provider.as_deref()),
                        usage.and_then(|u| u.model.as_deref()),
                        count(|u| u.input_tokens),
                        count(|u| u.output_tokens),
                        count(|u| u.cache_read_tokens),
                        count(|u| u.cache_write_tokens),
                        count(|u| u.reasoning_tokens),
                        usage.and_then(|u| u.cost),
                    ])
                    .map_err(|e| self.fail(e))?;
            }
        }
        let logs: Vec<LogRow> = spans.iter().flat_map(log_rows_of).collect();
        insert_log_rows(&tx, &logs).map_err(|e| self.fail(e))?;
        tx.commit().map_err(|e| self.fail(e))
    }

    /// Inserts log records that belong to no exported span (or were not sent as span events),
    /// in one transaction.
    ///
    /// ```
    /// use trace_runtime::store::{LogRow, SqliteStore};
    ///
    /// let path = std::env::temp_dir().join(format!("insert-logs-doc-{}.db", std::process::id()));
    /// let store = SqliteStore::open(&path).unwrap();
    /// let mut row = LogRow::new("error", "stage failed");
    /// row.run_id = Some("run-1".into());
    /// row.error_type = Some("io::Error".into());
    /// store.insert_logs(&[row]).unwrap();
    /// assert_eq!(store.logs_of_run("run-1").unwrap()[0].message, "stage failed");
    /// # drop(store); for ext in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{ext}", path.display())); }
    /// ```
    pub fn insert_logs(&self, rows: &[LogRow]) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.fail(e))?;
        insert_log_rows(&tx, rows).map_err(|e| self.fail(e))?;
        tx.commit().map_err(|e| self.fail(e))
    }

    /// The `limit` most recent traces, newest first.
    ///
    /// ```
    /// use trace_runtime::store::SqliteStore;
    /// use trace_runtime::store::StoredSpan;
    /// use trace_runtime::{testing, trace};
    /// let path = std::env::temp_dir().join(format!("traces-doc-{}.db", std::process::id()));
    /// let store = SqliteStore::open(&path).unwrap();
    /// let (_, spans) = testing::capture(|| { trace!("first", {}); trace!("second", {}) });
    /// let spans: Vec<StoredSpan> = spans.iter().map(StoredSpan::from_span_data).collect();
    /// store.insert_spans(&spans).unwrap();
    /// let names: Vec<String> = store.traces(10).unwrap().into_iter().map(|t| t.name).collect();
    /// assert_eq!(names, ["second", "first"]);
    /// assert_eq!(store.traces(1).unwrap().len(), 1);
    /// # drop(store); for ext in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{ext}", path.display())); }
    /// ```
    pub fn traces(&self, limit: usize) -> Result<Vec<TraceSummary>, StoreError> {
        let sql = "SELECT trace_id,
                COALESCE(MAX(CASE WHEN parent_span_id IS NULL OR parent_is_remote THEN name END), MIN(name)),
                MIN(start_time_unix_nano), MAX(end_time_unix_nano), COUNT(*),
                SUM(status = 'error'), SUM(COALESCE(input_tokens, 0)), SUM(COALESCE(output_tokens, 0)), SUM(cost)
            FROM spans GROUP BY trace_id ORDER BY MIN(start_time_unix_nano) DESC LIMIT ?1";
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.fail(e))?;
        let rows = stmt
            .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                let (start, end): (i64, i64) = (r.get(2)?, r.get(3)?);
                Ok(TraceSummary {
                    trace_id: r.get(0)?,
                    name: r.get(1)?,
                    start_time: from_unix_nanos(start),
                    duration: (end.saturating_sub(start).max(0)) as f64 / 1e9,
                    span_count: r.get::<_, i64>(4)?.max(0) as u64,
                    error_count: r.get::<_, i64>(5)?.max(0) as u64,
                    input_tokens: r.get::<_, i64>(6)?.max(0) as u64,
                    output_tokens: r.get::<_, i64>(7)?.max(0) as u64,
                    cost: r.get(8)?,
                })
            })
            .map_err(|e| self.fail(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.fail(e))
    }

    /// The full trace id for a full or 8-character one.
    ///
    /// ```
    /// use trace_runtime::store::SqliteStore;
    /// use trace_runtime::store::{StoreError, StoredSpan};
    /// use trace_runtime::{testing, trace};
    /// let path = std::env::temp_dir().join(format!("resolve-doc-{}.db", std::process::id()));
    /// let store = SqliteStore::open(&path).unwrap();
    /// let (_, spans) = testing::capture(|| trace!("job", {}));
    /// let full = spans[0].span_context.trace_id().to_string();
    /// store.insert_spans(&[StoredSpan::from_span_data(&spans[0])]).unwrap();
    /// assert_eq!(store.resolve_trace_id(&full[..8]).unwrap(), full);
    /// assert!(matches!(store.resolve_trace_id("xyz"), Err(StoreError::InvalidId { .. })));
    /// # drop(store); for ext in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{ext}", path.display())); }
    /// ```
    pub fn resolve_trace_id(&self, id: &str) -> Result<String, StoreError> {
        let id = normalize_id(id)?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT DISTINCT trace_id FROM spans WHERE trace_id >= ?1 AND trace_id < ?1 || 'g' LIMIT 5",
            )
            .map_err(|e| self.fail(e))?;
        let found: Vec<String> = stmt
            .query_map([&id], |r| r.get(0))
            .map_err(|e| self.fail(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.fail(e))?;
        match found.len() {
            0 => Err(StoreError::NotFound { id, location: self.path.display().to_string() }),
            1 => Ok(found.into_iter().next().unwrap_or_default()),
            _ => Err(StoreError::Ambiguous { id, candidates: found }),
        }
    }

    /// The spans of a trace (full or 8-character id), by start time.
    ///
    /// ```
    /// use trace_runtime::store::SqliteStore;
    /// use trace_runtime::store::StoredSpan;
    /// use trace_runtime::{testing, trace};
    /// let path = std::env::temp_dir().join(format!("trace-spans-doc-{}.db", std::process::id()));
    /// let store = SqliteStore::open(&path).unwrap();
    /// let (_, spans) = testing::capture(|| trace!("job", { trace!("step", {}) }));
    /// let spans: Vec<StoredSpan> = spans.iter().map(StoredSpan::from_span_data).collect();
    /// store.insert_spans(&spans).unwrap();
    /// let read = store.trace_spans(&spans[0].trace_id).unwrap();
    /// assert_eq!(read.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["job", "step"]);
    /// # drop(store); for ext in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{ext}", path.display())); }
    /// ```
    pub fn trace_spans(&self, id: &str) -> Result<Vec<StoredSpan>, StoreError> {
        let trace_id = self.resolve_trace_id(id)?;
        let sql =
            format!("SELECT {SPAN_COLUMNS} FROM spans WHERE trace_id = ?1 ORDER BY start_time_unix_nano");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.fail(e))?;
        let rows = stmt.query_map([&trace_id], span_of_row).map_err(|e| self.fail(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.fail(e))
    }

    /// Totals per (provider, model) of the LLM spans that started in `[since, until)` (either
    /// end open when `None`), most expensive first, then by tokens.
    ///
    /// ```
    /// use trace_runtime::store::SqliteStore;
    ///
    /// let path = std::env::temp_dir().join(format!("model-totals-doc-{}.db", std::process::id()));
    /// let store = SqliteStore::open(&path).unwrap();
    /// let since = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    /// assert!(store.model_totals(Some(since), None).unwrap().is_empty(), "no LLM spans yet");
    /// # drop(store); for ext in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{ext}", path.display())); }
    /// ```
    pub fn model_totals(
        &self,
        since: Option<SystemTime>,
        until: Option<SystemTime>,
    ) -> Result<Vec<ModelTotals>, StoreError> {
        let sql = "SELECT provider, model, COUNT(*), SUM(COALESCE(input_tokens, 0)), SUM(COALESCE(output_tokens, 0)),
                SUM(COALESCE(cache_read_tokens, 0)), SUM(COALESCE(cache_write_tokens, 0)),
                SUM(COALESCE(reasoning_tokens, 0)), SUM(cost), SUM(cost IS NULL)
            FROM spans
            WHERE model IS NOT NULL AND start_time_unix_nano >= ?1 AND start_time_unix_nano < ?2
            GROUP BY provider, model
            ORDER BY SUM(cost) DESC NULLS LAST, SUM(COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0)) DESC";
        let since = since.map_or(i64::MIN, unix_nanos);
        let until = until.map_or(i64::MAX, unix_nanos);
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.fail(e))?;
        let n = |r: &Row<'_>, i: usize| r.get::<_, i64>(i).map(|v| v.max(0) as u64);
        let rows = stmt
            .query_map([since, until], |r| {
                Ok(ModelTotals {
                    provider: r.get(0)?,
                    model: r.get(1)?,
                    calls: n(r, 2)?,
                    input_tokens: n(r, 3)?,
                    output_tokens: n(r, 4)?,
                    cache_read_tokens: n(r, 5)?,
                    cache_write_tokens: n(r, 6)?,
                    reasoning_tokens: n(r, 7)?,
                    cost: r.get(8)?,
                    unpriced_calls: n(r, 9)?,
                })
            })
            .map_err(|e| self.fail(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.fail(e))
    }

    /// The log records of a run, oldest first.
    ///
    /// ```
    /// use trace_runtime::store::SqliteStore;
    /// use trace_runtime::store::LogRow;
    /// let path = std::env::temp_dir().join(format!("logs-of-run-doc-{}.db", std::process::id()));
    /// let store = SqliteStore::open(&path).unwrap();
    /// let mut row = LogRow::new("info", "started");
    /// row.run_id = Some("run-9".into());
    /// store.insert_logs(&[row]).unwrap();
    /// assert_eq!(store.logs_of_run("run-9").unwrap()[0].message, "started");
    /// assert!(store.logs_of_run("run-10").unwrap().is_empty());
    /// # drop(store); for ext in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{ext}", path.display())); }
    /// ```
    pub fn logs_of_run(&self, run_id: &str) -> Result<Vec<LogRow>, StoreError> {
        self.logs_where("run_id = ?1", run_id)
    }

    /// The log records of a trace (full 32-character id), oldest first.
    ///
    /// ```
    /// use trace_runtime::store::SqliteStore;
    /// use trace_runtime::store::LogRow;
    /// let path = std::env::temp_dir().join(format!("logs-of-trace-doc-{}.db", std::process::id()));
    /// let store = SqliteStore::open(&path).unwrap();
    /// let mut row = LogRow::new("warning", "slow tool");
    /// row.trace_id = Some("4bf92f3577b34da6a3ce929d0e0e4736".into());
    /// store.insert_logs(&[row]).unwrap();
    /// assert_eq!(store.logs_of_trace("4bf92f3577b34da6a3ce929d0e0e4736").unwrap()[0].level, "warning");
    /// # drop(store); for ext in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{ext}", path.display())); }
    /// ```
    pub fn logs_of_trace(&self, trace_id: &str) -> Result<Vec<LogRow>, StoreError> {
        self.logs_where("trace_id = ?1", trace_id)
    }

    /// The log records that pass `filter`, oldest first: of them, the `limit` most recent.
    ///
    /// ```
    /// use trace_runtime::log::Level;
    /// use trace_runtime::store::{LogFilter, LogRow, SqliteStore};
    ///
    /// let path = std::env::temp_dir().join(format!("logs-filter-doc-{}.db", std::process::id()));
    /// let store = SqliteStore::open(&path).unwrap();
    /// let started = LogRow::new("info", "started");
    /// let mut failed = LogRow::new("error", "stage failed");
    /// failed.run_id = Some("run-3".into());
    /// store.insert_logs(&[started, failed]).unwrap();
    /// let errors = store.logs(&LogFilter::new().min_level(Level::Warning)).unwrap();
    /// assert_eq!(errors.iter().map(|r| r.message.as_str()).collect::<Vec<_>>(), ["stage failed"]);
    /// assert_eq!(store.logs(&LogFilter::new().run("run-3")).unwrap().len(), 1);
    /// assert_eq!(store.logs(&LogFilter::new().limit(1)).unwrap()[0].message, "stage failed");
    /// # drop(store); for ext in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{ext}", path.display())); }
    /// ```
    pub fn logs(&self, filter: &LogFilter) -> Result<Vec<LogRow>, StoreError> {
        let mut conditions: Vec<String> = Vec::new();
        let mut values: Vec<&str> = Vec::new();
        for (column, value) in [("trace_id", filter.trace_id()), ("run_id", filter.run_id())] {
            if let Some(value) = value {
                values.push(value);
                conditions.push(format!("{column} = ?{}", values.len()));
            }
        }
        if let Some(levels) = filter.levels() {
            let first = values.len() + 1;
            let list: Vec<String> = (first..first + levels.len()).map(|i| format!("?{i}")).collect();
            conditions.push(format!("level IN ({})", list.join(", ")));
            values.extend(levels);
        }
        let condition =
            if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
        let limit = filter.max_rows().map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
        // The newest `limit` rows, then put back in order of time.
        let sql = format!(
            "SELECT {LOG_COLUMNS} FROM (SELECT id, {LOG_COLUMNS} FROM logs {condition}
                ORDER BY time_unix_nano DESC, id DESC LIMIT {limit})
            ORDER BY time_unix_nano, id"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.fail(e))?;
        let rows =
            stmt.query_map(rusqlite::params_from_iter(values), log_of_row).map_err(|e| self.fail(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.fail(e))
    }

    fn logs_where(&self, condition: &str, value: &str) -> Result<Vec<LogRow>, StoreError> {
        let sql = format!("SELECT {LOG_COLUMNS} FROM logs WHERE {condition} ORDER BY time_unix_nano, id");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.fail(e))?;
        let rows = stmt.query_map([value], log_of_row).map_err(|e| self.fail(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.fail(e))
    }

    /// Deletes spans that started, and logs written, more than `older_than_days` days ago;
    /// returns how many rows went (spans, logs).
    ///
    /// ```
    /// use trace_runtime::store::SqliteStore;
    /// use trace_runtime::store::LogRow;
    /// let path = std::env::temp_dir().join(format!("cleanup-doc-{}.db", std::process::id()));
    /// let store = SqliteStore::open(&path).unwrap();
    /// store.insert_logs(&[LogRow::new("info", "old news")]).unwrap();
    /// assert_eq!(store.cleanup(0).unwrap(), (0, 1), "0 days: everything up to now");
    /// assert_eq!(store.cleanup(30).unwrap(), (0, 0));
    /// # drop(store); for ext in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{ext}", path.display())); }
    /// ```
    pub fn cleanup(&self, older_than_days: u64) -> Result<(usize, usize), StoreError> {
        let cutoff = SystemTime::now()
            .checked_sub(Duration::from_secs(older_than_days.saturating_mul(86_400)))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let cutoff = unix_nanos(cutoff);
        let tx = self.conn.unchecked_transaction().map_err(|e| self.fail(e))?;
        let spans = tx
            .execute("DELETE FROM spans WHERE start_time_unix_nano <= ?1", [cutoff])
            .map_err(|e| self.fail(e))?;
        let logs =
            tx.execute("DELETE FROM logs WHERE time_unix_nano <= ?1", [cutoff]).map_err(|e| self.fail(e))?;
        tx.commit().map_err(|e| self.fail(e))?;
        Ok((spans, logs))
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish_non_exhaustive()
    }
}

fn placeholders(n: usize) -> String {
    (1..=n).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")
}

fn clamp_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn insert_log_rows(tx: &rusqlite::Transaction<'_>, rows: &[LogRow]) -> rusqlite::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!("INSERT INTO logs ({LOG_COLUMNS}) VALUES ({})", placeholders(15));
    let mut insert = tx.prepare_cached(&sql)?;
    for row in rows {
        // Metadata is JSON in the table; text that does not parse is kept as a JSON string.
        let metadata = row.metadata.as_ref().map(|m| match serde_json::from_str::<Json>(m) {
            Ok(_) => m.clone(),
            Err(_) => Json::String(m.clone()).to_string(),
        });
        insert.execute(params![
            row.run_id,
            row.parent_run_id,
            row.level,
            row.message,
            unix_nanos(row.time),
            row.process_id,
            row.thread_name,
            row.thread_id.map(|id| id as i64),
            row.file,
            row.line,
            row.trace_id,
            row.span_id,
            row.error_type,
            row.error_message,
            metadata,
        ])?;
    }
    Ok(())
}

fn span_of_row(r: &Row<'_>) -> rusqlite::Result<StoredSpan> {
    let (start, end): (i64, i64) = (r.get(6)?, r.get(7)?);
    let attributes: Map<String, Json> =
        r.get::<_, String>(11).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
    let events: Vec<StoredEvent> =
        r.get::<_, String>(12).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
    let model: Option<String> = r.get(17)?;
    let tokens: [Option<i64>; 5] = [r.get(18)?, r.get(19)?, r.get(20)?, r.get(21)?, r.get(22)?];
    let cost: Option<f64> = r.get(23)?;
    let usage = (model.is_some() || tokens.iter().any(Option::is_some) || cost.is_some()).then(|| {
        let t = |i: usize| tokens[i].unwrap_or(0).max(0) as u64;
        SpanUsage {
            provider: r.get(16).ok().flatten(),
            model,
            input_tokens: t(0),
            output_tokens: t(1),
            cache_read_tokens: t(2),
            cache_write_tokens: t(3),
            reasoning_tokens: t(4),
            total_tokens: t(0).saturating_add(t(1)),
            cost,
        }
    });
    Ok(StoredSpan {
        trace_id: r.get(0)?,
        span_id: r.get(1)?,
        parent_span_id: r.get(2)?,
        parent_is_remote: r.get(3)?,
        name: r.get(4)?,
        kind: r.get(5)?,
        start_time: from_unix_nanos(start),
        end_time: from_unix_nanos(end),
        duration: r.get::<_, f64>(8)? / 1000.0,
        status: SpanStatus::parse(&r.get::<_, String>(9)?),
        status_message: r.get(10)?,
        attributes,
        dropped_attributes_count: r.get(13)?,
        events,
        dropped_events_count: r.get(14)?,
        usage,
    })
}

fn log_of_row(r: &Row<'_>) -> rusqlite::Result<LogRow> {
    Ok(LogRow {
        run_id: r.get(0)?,
        parent_run_id: r.get(1)?,
        level: r.get(2)?,
        message: r.get(3)?,
        time: from_unix_nanos(r.get(4)?),
        process_id: r.get(5)?,
        thread_name: r.get(6)?,
        thread_id: r.get::<_, Option<i64>>(7)?.map(|id| id as u64),
        file: r.get(8)?,
        line: r.get(9)?,
        trace_id: r.get(10)?,
        span_id: r.get(11)?,
        error_type: r.get(12)?,
        error_message: r.get(13)?,
        metadata: r.get(14)?,
    })
}

/// Writes every exported span into a SQLite database (`TRACE_EXPORTER=sqlite`,
/// `TRACE_SQLITE_PATH`, default `./traces/traces.db`), one transaction per batch; `log` events
/// also go to the `logs` table. See [`SqliteStore`] for the tables and queries.
///
/// ```
/// use trace_runtime::opentelemetry_sdk::trace::SpanExporter;
/// use trace_runtime::store::{SqliteExporter, SqliteStore};
/// use trace_runtime::{testing, trace};
///
/// let path = std::env::temp_dir().join(format!("sqlite-exporter-doc-{}.db", std::process::id()));
/// let exporter = SqliteExporter::open(&path).unwrap();
/// let (_, spans) = testing::capture(|| trace!("job", {}));
/// futures::executor::block_on(exporter.export(spans)).unwrap();
/// assert_eq!(SqliteStore::open(&path).unwrap().traces(10).unwrap()[0].name, "job");
/// # drop(exporter); for ext in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{ext}", path.display())); }
/// ```
pub struct SqliteExporter {
    store: Mutex<SqliteStore>,
    service: Mutex<Option<String>>,
}

impl SqliteExporter {
    /// Opens (creating and migrating if needed) the database at `path`.
    ///
    /// ```
    /// use trace_runtime::store::SqliteExporter;
    ///
    /// let path = std::env::temp_dir().join(format!("exporter-open-doc-{}.db", std::process::id()));
    /// let exporter = SqliteExporter::open(&path).unwrap();
    /// assert_eq!(exporter.path(), path);
    /// assert!(SqliteExporter::open("/proc/no-such-dir/traces.db").is_err());
    /// # drop(exporter); for ext in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{ext}", path.display())); }
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Ok(SqliteExporter { store: Mutex::new(SqliteStore::open(path)?), service: Mutex::new(None) })
    }

    /// The database file, for opening another [`SqliteStore`] on it (WAL lets readers and
    /// writers share it), e.g. to [`insert_logs`](SqliteStore::insert_logs).
    ///
    /// ```
    /// use trace_runtime::store::{LogRow, SqliteExporter, SqliteStore};
    ///
    /// let path = std::env::temp_dir().join(format!("exporter-path-doc-{}.db", std::process::id()));
    /// let exporter = SqliteExporter::open(&path).unwrap();
    /// let logs = SqliteStore::open(exporter.path()).unwrap();
    /// logs.insert_logs(&[LogRow::new("info", "side channel")]).unwrap();
    /// # drop((exporter, logs)); for ext in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{ext}", path.display())); }
    /// ```
    pub fn path(&self) -> PathBuf {
        self.store().path.clone()
    }

    fn store(&self) -> MutexGuard<'_, SqliteStore> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for SqliteExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteExporter").finish_non_exhaustive()
    }
}

impl SpanExporter for SqliteExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans: Vec<StoredSpan> = batch.iter().map(StoredSpan::from_span_data).collect();
        let service = self.service.lock().unwrap_or_else(PoisonError::into_inner).clone();
        self.store()
            .insert_spans_of(&spans, service.as_deref())
            .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))
    }

    fn set_resource(&mut self, resource: &Resource) {
        let name = resource
            .get(&opentelemetry::Key::from_static_str("service.name"))
            .map(|v| v.as_str().into_owned());
        *self.service.lock().unwrap_or_else(PoisonError::into_inner) = name;
    }
}

/// Rows in `table`, for tests.
#[cfg(test)]
pub(crate) fn count(store: &SqliteStore, table: &str) -> i64 {
    store.conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap_or(-1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_db(name: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!("sqlite-unit-{name}-{}.db", std::process::id()));
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
        }
        path
    }

    #[test]
    fn an_old_schema_is_migrated_and_keeps_its_rows() {
        let path = temp_db("migrate");
        {
            let conn = Connection::open(&path).unwrap();
            let store = SqliteStore { conn, path: path.clone() };
            store.migrate(1).unwrap();
            assert_eq!(store.schema_version().unwrap(), 1);
            store
                .conn
                .execute(
                    "INSERT INTO spans (trace_id, span_id, name, kind, start_time_unix_nano, end_time_unix_nano,
                     duration_ms, status, attributes, events) VALUES ('a', 'b', 'old', 'internal', 1, 2, 0.0, 'ok', '{}', '[]')",
                    [],
                )
                .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(count(&store, "spans"), 1);
        assert_eq!(count(&store, "logs"), 0);
        let mode: String = store.conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn a_negative_schema_version_is_refused_not_a_panic() {
        let path = temp_db("negative");
        Connection::open(&path).unwrap().pragma_update(None, "user_version", -3).unwrap();
        let err = SqliteStore::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::ForeignSchema { found: -3, .. }), "{err}");
        let err = err.to_string();
        assert!(err.contains("schema version -3") && err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains("TRACE_SQLITE_PATH"), "says the fix: {err}");
    }

    #[test]
    fn a_newer_schema_is_refused_with_the_versions() {
        let path = temp_db("newer");
        Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
        let err = SqliteStore::open(&path).unwrap_err().to_string();
        assert!(err.contains("schema version 99") && err.contains(&path.display().to_string()), "{err}");
    }
}
