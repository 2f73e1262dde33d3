//! Levelled log records: the `log` span events as rows of the SQLite `logs` table.

use std::time::SystemTime;

use serde_json::Value as Json;

use super::span::{StoredSpan, as_u64};
use crate::log::Level;

/// A levelled log record, as a row of the SQLite `logs` table.
///
/// Log records travel as span events named `log` (attributes `log.level`, `log.message`,
/// `log.run_id`, `log.parent_run_id`, `code.file.path`, `code.line.number`, `thread.name`,
/// `thread.id`, `process.pid`, `error.type`, `exception.message`, `log.metadata`);
/// [`log_rows_of`] reads them back, and `SqliteStore::insert_logs` writes records that belong to
/// no span.
///
/// ```
/// use trace_runtime::store::LogRow;
///
/// let mut row = LogRow::new("info", "stage started");
/// row.run_id = Some("run-42".into());
/// row.metadata = Some(r#"{"stage":"extract"}"#.into());
/// assert_eq!(row.level, "info");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LogRow {
    /// The workflow run the record belongs to.
    pub run_id: Option<String>,
    /// The run that started it.
    pub parent_run_id: Option<String>,
    /// `debug`, `info`, `warning`, `error` or `exception`.
    pub level: String,
    /// The message.
    pub message: String,
    /// When it was logged.
    pub time: SystemTime,
    /// Process id.
    pub process_id: Option<u32>,
    /// Thread name.
    pub thread_name: Option<String>,
    /// Thread id.
    pub thread_id: Option<u64>,
    /// Source file.
    pub file: Option<String>,
    /// Source line.
    pub line: Option<u32>,
    /// Trace it was logged in (32 hex characters).
    pub trace_id: Option<String>,
    /// Span it was logged in (16 hex characters).
    pub span_id: Option<String>,
    /// Error type, for `error` and `exception` records.
    pub error_type: Option<String>,
    /// Error message (with its chain of causes).
    pub error_message: Option<String>,
    /// Extra fields as a JSON text (stored as a JSON string if it does not parse).
    pub metadata: Option<String>,
}

impl LogRow {
    /// A record logged now, with nothing but a level and a message.
    ///
    /// ```
    /// let row = trace_runtime::store::LogRow::new("info", "ready");
    /// assert_eq!((row.level.as_str(), row.message.as_str(), row.run_id), ("info", "ready", None));
    /// ```
    pub fn new(level: impl Into<String>, message: impl Into<String>) -> Self {
        LogRow {
            run_id: None,
            parent_run_id: None,
            level: level.into(),
            message: message.into(),
            time: SystemTime::now(),
            process_id: None,
            thread_name: None,
            thread_id: None,
            file: None,
            line: None,
            trace_id: None,
            span_id: None,
            error_type: None,
            error_message: None,
            metadata: None,
        }
    }
}

/// The `log` events of a span, as log rows carrying the span's trace and span ids.
///
/// ```
/// use trace_runtime::opentelemetry::KeyValue;
/// use trace_runtime::store::{log_rows_of, StoredSpan};
/// use trace_runtime::{span, testing, trace};
///
/// let (_, spans) = testing::capture(|| {
///     trace!("stage", {
///         span::add_event("log", [KeyValue::new("log.level", "warning"), KeyValue::new("log.message", "slow")]);
///     })
/// });
/// let rows = log_rows_of(&StoredSpan::from_span_data(&spans[0]));
/// assert_eq!((rows[0].level.as_str(), rows[0].message.as_str()), ("warning", "slow"));
/// ```
pub fn log_rows_of(span: &StoredSpan) -> Vec<LogRow> {
    span.events
        .iter()
        .filter(|e| e.name == "log")
        .map(|e| {
            let a = &e.attributes;
            let text = |key: &str| {
                a.get(key).map(|v| match v {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                })
            };
            let number = |key: &str| a.get(key).and_then(as_u64);
            LogRow {
                run_id: text("log.run_id"),
                parent_run_id: text("log.parent_run_id"),
                level: text("log.level").unwrap_or_else(|| "info".into()),
                message: text("log.message").unwrap_or_default(),
                time: e.time,
                process_id: number("process.pid").and_then(|n| u32::try_from(n).ok()),
                thread_name: text("thread.name"),
                thread_id: number("thread.id"),
                file: text("code.file.path"),
                line: number("code.line.number").and_then(|n| u32::try_from(n).ok()),
                trace_id: Some(span.trace_id.clone()),
                span_id: Some(span.span_id.clone()),
                error_type: text("error.type"),
                error_message: text("exception.message"),
                metadata: text("log.metadata"),
            }
        })
        .collect()
}

/// Which log records to read back, and how many: the records of one trace, of one run, at a
/// level or above, the `limit` most recent. Used by `SqliteStore::logs`, `LocalStore::logs` and
/// `trace-view logs`; [`apply`](LogFilter::apply) runs it over rows already in memory.
///
/// ```
/// use trace_runtime::log::Level;
/// use trace_runtime::store::{LogFilter, LogRow};
///
/// let mut slow = LogRow::new("warning", "tool is slow");
/// slow.run_id = Some("run-7".into());
/// let rows = vec![LogRow::new("info", "started"), slow, LogRow::new("error", "failed")];
/// let filter = LogFilter::new().min_level(Level::Warning).run("run-7");
/// let kept = filter.apply(rows.clone());
/// assert_eq!(kept.iter().map(|r| r.message.as_str()).collect::<Vec<_>>(), ["tool is slow"]);
/// assert_eq!(LogFilter::new().limit(1).apply(rows)[0].message, "failed", "the most recent");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogFilter {
    trace_id: Option<String>,
    run_id: Option<String>,
    min_level: Option<Level>,
    limit: Option<usize>,
}

impl LogFilter {
    /// Every record.
    ///
    /// ```
    /// let all = trace_runtime::store::LogFilter::new();
    /// assert!(all.matches(&trace_runtime::store::LogRow::new("debug", "x")));
    /// ```
    pub fn new() -> Self {
        LogFilter::default()
    }

    /// Only the records logged in this trace (its full 32-character id, as stored).
    ///
    /// ```
    /// use trace_runtime::store::{LogFilter, LogRow};
    ///
    /// let mut row = LogRow::new("info", "x");
    /// row.trace_id = Some("4bf92f3577b34da6a3ce929d0e0e4736".into());
    /// assert!(LogFilter::new().trace("4bf92f3577b34da6a3ce929d0e0e4736").matches(&row));
    /// assert!(!LogFilter::new().trace("00000000000000000000000000000001").matches(&row));
    /// ```
    pub fn trace(mut self, trace_id: impl Into<String>) -> Self {
        self.trace_id = Some(trace_id.into().to_ascii_lowercase());
        self
    }

    /// Only the records of this run (`log::run(..)`).
    ///
    /// ```
    /// use trace_runtime::store::{LogFilter, LogRow};
    ///
    /// let mut row = LogRow::new("info", "x");
    /// row.run_id = Some("run-7".into());
    /// assert!(LogFilter::new().run("run-7").matches(&row));
    /// assert!(!LogFilter::new().run("run-8").matches(&row));
    /// ```
    pub fn run(mut self, run_id: impl Into<String>) -> Self {
        self.run_id = Some(run_id.into());
        self
    }

    /// Only the records at `level` or above (`debug` < `info` < `warning` < `error` <
    /// `exception`); a record whose level is none of these is left out.
    ///
    /// ```
    /// use trace_runtime::{log::Level, store::{LogFilter, LogRow}};
    ///
    /// let errors = LogFilter::new().min_level(Level::Error);
    /// assert!(errors.matches(&LogRow::new("exception", "x")));
    /// assert!(!errors.matches(&LogRow::new("warning", "x")));
    /// ```
    pub fn min_level(mut self, level: Level) -> Self {
        self.min_level = Some(level);
        self
    }

    /// At most the `limit` most recent records.
    ///
    /// ```
    /// use trace_runtime::store::{LogFilter, LogRow};
    ///
    /// let rows = vec![LogRow::new("info", "a"), LogRow::new("info", "b"), LogRow::new("info", "c")];
    /// assert_eq!(LogFilter::new().limit(2).apply(rows).len(), 2);
    /// ```
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Whether `row` passes the trace, run and level conditions (the limit aside).
    ///
    /// ```
    /// use trace_runtime::{log::Level, store::{LogFilter, LogRow}};
    /// assert!(!LogFilter::new().min_level(Level::Info).matches(&LogRow::new("verbose", "x")));
    /// ```
    pub fn matches(&self, row: &LogRow) -> bool {
        let level_ok = self.min_level.is_none_or(|min| row.level.parse::<Level>().is_ok_and(|l| l >= min));
        level_ok
            && self.trace_id.as_ref().is_none_or(|t| row.trace_id.as_ref() == Some(t))
            && self.run_id.as_ref().is_none_or(|r| row.run_id.as_ref() == Some(r))
    }

    /// The rows that [`match`](Self::matches), oldest first, of which the `limit` most recent.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use trace_runtime::store::{LogFilter, LogRow};
    ///
    /// let at = |s: u64, m: &str| LogRow { time: UNIX_EPOCH + Duration::from_secs(s), ..LogRow::new("info", m) };
    /// let kept = LogFilter::new().limit(2).apply(vec![at(3, "c"), at(1, "a"), at(2, "b")]);
    /// assert_eq!(kept.iter().map(|r| r.message.as_str()).collect::<Vec<_>>(), ["b", "c"]);
    /// ```
    pub fn apply(&self, rows: Vec<LogRow>) -> Vec<LogRow> {
        let mut kept: Vec<LogRow> = rows.into_iter().filter(|r| self.matches(r)).collect();
        kept.sort_by_key(|r| r.time);
        if let Some(limit) = self.limit {
            kept.drain(..kept.len().saturating_sub(limit));
        }
        kept
    }

    /// The levels a record may have to pass, for a query; `None`: any.
    #[cfg(feature = "sqlite")]
    pub(crate) fn levels(&self) -> Option<Vec<&'static str>> {
        self.min_level.map(|min| Level::ALL.iter().filter(|l| **l >= min).map(|l| l.as_str()).collect())
    }

    #[cfg(feature = "sqlite")]
    pub(crate) fn trace_id(&self) -> Option<&str> {
        self.trace_id.as_deref()
    }

    #[cfg(feature = "sqlite")]
    pub(crate) fn run_id(&self) -> Option<&str> {
        self.run_id.as_deref()
    }

    #[cfg(feature = "sqlite")]
    pub(crate) fn max_rows(&self) -> Option<usize> {
        self.limit
    }
}
