//! What the viewer and the CLI ask of a trace database: traces, spans, model totals, logs.

use std::time::SystemTime;

use rusqlite::Row;

use super::rows::{log_of_row, span_of_row};
use super::schema::{LOG_COLUMNS, SPAN_COLUMNS};
use super::{SqliteStore, TraceOverview};
use crate::export::store::log::{LogFilter, LogRow};
use crate::export::store::span::{ModelTotals, StoredSpan};
use crate::export::store::time::{from_unix_nanos, unix_nanos};
use crate::export::store::{StoreError, normalize_id};

impl SqliteStore {
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
    pub fn traces(&self, limit: usize) -> Result<Vec<TraceOverview>, StoreError> {
        let sql = "SELECT trace_id,
                COALESCE(MAX(CASE WHEN parent_span_id IS NULL OR parent_is_remote THEN name END), MIN(name)),
                MIN(start_time_unix_nano), MAX(end_time_unix_nano), COUNT(*),
                SUM(status = 'error'), SUM(COALESCE(input_tokens, 0)), SUM(COALESCE(output_tokens, 0)), SUM(cost),
                MAX(CASE WHEN json_valid(attributes) THEN json_extract(attributes, '$.\"session.id\"') END),
                GROUP_CONCAT(DISTINCT model)
            FROM spans GROUP BY trace_id ORDER BY MIN(start_time_unix_nano) DESC LIMIT ?1";
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.fail(e))?;
        let rows = stmt
            .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                let (start, end): (i64, i64) = (r.get(2)?, r.get(3)?);
                Ok(TraceOverview {
                    trace_id: r.get(0)?,
                    name: r.get(1)?,
                    start_time: from_unix_nanos(start),
                    duration: (end.saturating_sub(start).max(0)) as f64 / 1e9,
                    span_count: r.get::<_, i64>(4)?.max(0) as u64,
                    error_count: r.get::<_, i64>(5)?.max(0) as u64,
                    input_tokens: r.get::<_, i64>(6)?.max(0) as u64,
                    output_tokens: r.get::<_, i64>(7)?.max(0) as u64,
                    cost: r.get(8)?,
                    // A session id stored as a number (an edited file) is still shown.
                    session_id: r.get::<_, Option<rusqlite::types::Value>>(9)?.and_then(|v| match v {
                        rusqlite::types::Value::Text(s) => Some(s),
                        rusqlite::types::Value::Integer(n) => Some(n.to_string()),
                        _ => None,
                    }),
                    models: r
                        .get::<_, Option<String>>(10)?
                        .map(|list| {
                            let mut models: Vec<String> = list.split(',').map(str::to_string).collect();
                            models.sort();
                            models
                        })
                        .unwrap_or_default(),
                })
            })
            .map_err(|e| self.fail(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.fail(e))
    }

    /// The full trace id for a full one or any unique prefix of 4 or more characters.
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
}
