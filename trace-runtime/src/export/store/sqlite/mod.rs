//! `TRACE_EXPORTER=sqlite`: spans and levelled logs in a SQLite database (compiled in, WAL mode,
//! one transaction per export, versioned schema).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, params};
use serde_json::Value as Json;

use super::StoreError;
use super::log::{LogRow, log_rows_of};
use super::span::{SpanUsage, StoredSpan};
use super::time::unix_nanos;

mod exporter;
mod query;
mod rows;
mod schema;

pub use exporter::SqliteExporter;
use rows::insert_log_rows;
pub use schema::SCHEMA_VERSION;
use schema::{APPLICATION_ID, MIGRATIONS, SPAN_COLUMNS};

/// How long a writer waits for another's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

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
pub struct TraceOverview {
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
    /// The `session.id` its spans carry, if any.
    pub session_id: Option<String>,
    /// The models its LLM spans called, each once.
    pub models: Vec<String>,
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
        conn.busy_timeout(BUSY_TIMEOUT).map_err(fail)?;
        // Switching to WAL and the first schema transaction can meet another process doing the
        // same: SQLite then answers "database is locked" at once, without its busy handler.
        let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
        let store = SqliteStore { conn, path: path.to_path_buf() };
        loop {
            let set_up = store
                .conn
                .pragma_update(None, "journal_mode", "WAL")
                .and_then(|()| store.conn.pragma_update(None, "synchronous", "NORMAL"))
                .map_err(fail)
                .and_then(|()| store.migrate(SCHEMA_VERSION));
            match set_up {
                Err(StoreError::Sqlite { source, .. })
                    if source.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(5));
                }
                other => return other.map(|()| store),
            }
        }
    }

    /// Applies the migrations from the database's version up to `target`, each in its own
    /// `BEGIN IMMEDIATE` transaction: the write lock is taken before the version is read, so two
    /// processes opening a new file never both create the schema.
    pub(crate) fn migrate(&self, target: i64) -> Result<(), StoreError> {
        let end = target.min(SCHEMA_VERSION);
        loop {
            self.conn.execute_batch("BEGIN IMMEDIATE").map_err(|e| self.fail(e))?;
            match self.migrate_step(end) {
                Ok(more) => {
                    self.conn.execute_batch("COMMIT").map_err(|e| self.fail(e))?;
                    if !more {
                        return Ok(());
                    }
                }
                Err(e) => {
                    let _ = self.conn.execute_batch("ROLLBACK");
                    return Err(e);
                }
            }
        }
    }

    /// Checks whose database this is and applies the next migration, inside the open
    /// transaction; `false` once the schema is at `end`.
    fn migrate_step(&self, end: i64) -> Result<bool, StoreError> {
        let pragma = |name: &str| -> Result<i64, StoreError> {
            self.conn.pragma_query_value(None, name, |r| r.get(0)).map_err(|e| self.fail(e))
        };
        let found = pragma("user_version")?;
        let application = pragma("application_id")?;
        if application != 0 && application != APPLICATION_ID {
            let why = format!("its application_id is {application:#x}");
            return Err(StoreError::ForeignDatabase { path: self.path.clone(), why });
        }
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
        if found == 0 && application == 0 {
            let tables: i64 = self
                .conn
                .query_row("SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'", [], |r| {
                    r.get(0)
                })
                .map_err(|e| self.fail(e))?;
            if tables > 0 {
                let why = format!("it holds {tables} tables or indexes and no trace-runtime schema version");
                return Err(StoreError::ForeignDatabase { path: self.path.clone(), why });
            }
        }
        if application == 0 {
            // New, or written by a kit from before the id (its version says it is ours).
            self.conn.pragma_update(None, "application_id", APPLICATION_ID).map_err(|e| self.fail(e))?;
        }
        let Some(migration) = MIGRATIONS.get(start).filter(|_| found < end) else {
            return Ok(false);
        };
        self.conn.execute_batch(migration).map_err(|e| self.fail(e))?;
        self.conn.pragma_update(None, "user_version", found + 1).map_err(|e| self.fail(e))?;
        Ok(true)
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

    /// The spans and log records [`cleanup`](Self::cleanup) would delete, deleting nothing (a dry
    /// run).
    ///
    /// ```
    /// use trace_runtime::store::{SqliteStore, StoredSpan};
    /// use trace_runtime::{testing, trace};
    /// let path = std::env::temp_dir().join(format!("count-doc-{}.db", std::process::id()));
    /// let store = SqliteStore::open(&path).unwrap();
    /// let (_, spans) = testing::capture(|| trace!("job", {}));
    /// store.insert_spans(&[StoredSpan::from_span_data(&spans[0])]).unwrap();
    /// assert_eq!(store.cleanup_count(0).unwrap(), (1, 0), "older than now: the span");
    /// assert_eq!(store.cleanup_count(30).unwrap(), (0, 0));
    /// assert_eq!(store.traces(10).unwrap().len(), 1, "nothing deleted");
    /// # drop(store); for ext in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{ext}", path.display())); }
    /// ```
    pub fn cleanup_count(&self, older_than_days: u64) -> Result<(usize, usize), StoreError> {
        let cutoff = SystemTime::now()
            .checked_sub(Duration::from_secs(older_than_days.saturating_mul(86_400)))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let cutoff = unix_nanos(cutoff);
        let count = |sql: &str| -> Result<usize, StoreError> {
            let n: i64 = self.conn.query_row(sql, [cutoff], |r| r.get(0)).map_err(|e| self.fail(e))?;
            Ok(usize::try_from(n).unwrap_or(0))
        };
        Ok((
            count("SELECT COUNT(*) FROM spans WHERE start_time_unix_nano <= ?1")?,
            count("SELECT COUNT(*) FROM logs WHERE time_unix_nano <= ?1")?,
        ))
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
    fn another_programs_database_is_refused_and_left_untouched() {
        let path = temp_db("foreign-id");
        Connection::open(&path).unwrap().pragma_update(None, "application_id", 0x1234).unwrap();
        let err = SqliteStore::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::ForeignDatabase { .. }), "{err}");
        assert!(err.to_string().contains("0x1234") && err.to_string().contains("TRACE_SQLITE_PATH"), "{err}");

        // The usual case: an application's own file, with tables and neither pragma set.
        let path = temp_db("foreign-tables");
        Connection::open(&path).unwrap().execute_batch("CREATE TABLE invoices (id INTEGER)").unwrap();
        let err = SqliteStore::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::ForeignDatabase { .. }), "{err}");
        let conn = Connection::open(&path).unwrap();
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0)).unwrap();
        assert_eq!((version, tables), (0, 1), "no migration ran in it");
    }

    #[test]
    fn a_kit_database_carries_the_application_id_and_reopens() {
        let path = temp_db("app-id");
        drop(SqliteStore::open(&path).unwrap());
        let id: i64 = Connection::open(&path)
            .unwrap()
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .unwrap();
        assert_eq!(id, APPLICATION_ID);
        assert_eq!(SqliteStore::open(&path).unwrap().schema_version().unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn processes_opening_a_new_file_at_once_create_the_schema_once() {
        let path = temp_db("race");
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || SqliteStore::open(&path).map(|s| s.schema_version().unwrap()))
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap().unwrap(), SCHEMA_VERSION);
        }
    }

    #[test]
    fn a_newer_schema_is_refused_with_the_versions() {
        let path = temp_db("newer");
        Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
        let err = SqliteStore::open(&path).unwrap_err().to_string();
        assert!(err.contains("schema version 99") && err.contains(&path.display().to_string()), "{err}");
    }
}
