//! Levelled log records: the `log` span events as rows of the SQLite `logs` table.

use std::time::SystemTime;

use serde_json::Value as Json;

use super::span::{StoredSpan, as_u64};

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
