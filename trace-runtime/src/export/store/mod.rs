//! Local storage of finished traces: JSON files ([`FileExporter`], [`LocalStore`]) and a SQLite
//! database ([`SqliteExporter`], [`SqliteStore`]), both readable by the `trace-view` program.
//!
//! Both stores keep a span in the same shape, [`StoredSpan`]: ids, parent, name, kind, start,
//! end, duration, status, attributes, events and the token usage of LLM spans, so what one
//! writes the other's tools can show.
//!
//! ```
//! use trace_runtime::store::{StoredSpan, SpanStatus};
//! use trace_runtime::{record_usage, testing, trace_llm, Usage};
//!
//! #[trace_llm(provider = "acme", model = "in-house-llm")] // not in the price table
//! fn complete() {
//!     record_usage(Usage { input_tokens: 31, output_tokens: 27, ..Default::default() });
//! }
//!
//! let (_, spans) = testing::capture(complete);
//! let span = StoredSpan::from_span_data(&spans[0]);
//! assert_eq!(span.name, "chat in-house-llm");
//! assert_eq!(span.status, SpanStatus::Unset);
//! let usage = span.usage.unwrap();
//! assert_eq!((usage.model.as_deref(), usage.total_tokens), (Some("in-house-llm"), 58));
//! assert_eq!(usage.cost, None, "no price, no `gen_ai.usage.cost` attribute: unpriced, never $0");
//! ```

#[cfg(feature = "file-store")]
mod atomic;
#[cfg(feature = "file-store")]
mod file;
#[cfg(feature = "file-store")]
mod local;
mod log;
mod span;
#[cfg(feature = "sqlite")]
mod sqlite;
mod time;

#[cfg(feature = "file-store")]
pub use file::{FileExporter, FileExporterBuilder, SavedTrace, save_trace};
#[cfg(feature = "file-store")]
pub use local::{
    Cleanup, LocalStore, MAX_TRACE_FILE_BYTES, SpanFile, StoredTrace, TraceData, TraceFile, TraceInfo,
    TraceListing,
};
pub use log::{LogFilter, LogRow, log_rows_of};
pub use span::{ModelTotals, SpanStatus, SpanUsage, StoredEvent, StoredSpan};
#[cfg(feature = "sqlite")]
pub use sqlite::{SCHEMA_VERSION, SqliteExporter, SqliteStore, TraceOverview};
pub use time::{format_rfc3339, parse_time};

use std::path::PathBuf;

/// What went wrong reading or writing a local store. Messages name the path or id and the fix.
///
/// ```
/// use trace_runtime::store::{LocalStore, StoreError};
///
/// let err = LocalStore::new("/no/such/traces").list().unwrap_err();
/// assert!(matches!(err, StoreError::MissingDirectory { .. }));
/// assert_eq!(
///     err.to_string(),
///     "trace directory `/no/such/traces` does not exist: check the path, or run the traced program first"
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The directory could not be created or is not writable.
    #[error(
        "trace directory `{}` cannot be used: {source}; set TRACE_LOCAL_DIR (or the builder's dir) to a writable directory",
        path.display()
    )]
    Directory {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The directory does not exist.
    #[error("trace directory `{}` does not exist: check the path, or run the traced program first", path.display())]
    MissingDirectory {
        /// The directory.
        path: PathBuf,
    },
    /// The database file does not exist.
    #[error("trace database `{}` does not exist: check the path, or run the traced program with TRACE_EXPORTER=sqlite first", path.display())]
    MissingDatabase {
        /// The database file.
        path: PathBuf,
    },
    /// A file could not be read or written.
    #[error("trace file or directory `{}` cannot be read: {source}; check that it exists and that this user may read it", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// No stored trace has this id.
    #[error("no trace with id `{id}` in `{location}`: list them with `trace-view list`")]
    NotFound {
        /// The id asked for.
        id: String,
        /// Where it was looked for.
        location: String,
    },
    /// A short id matches several traces.
    #[error("trace id `{id}` matches {} traces ({}): give more of the id", candidates.len(), candidates.join(", "))]
    Ambiguous {
        /// The id asked for.
        id: String,
        /// Full ids it matches.
        candidates: Vec<String>,
    },
    /// A trace id is not 4 to 32 hex characters.
    #[error("`{id}` is not a trace id: expected 4 to 32 hexadecimal characters (a unique prefix of the id)")]
    InvalidId {
        /// The id given.
        id: String,
    },
    /// The file that holds the trace asked for cannot be read as one (cut short, edited).
    #[error("trace file `{}` is corrupt: {problem}; the trace it held cannot be shown (delete the file, or restore it)", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// The database could not be opened, migrated, written or queried.
    #[cfg(feature = "sqlite")]
    #[error("trace database `{}`: {source}; set TRACE_SQLITE_PATH to a writable file", path.display())]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// Why.
        source: rusqlite::Error,
    },
    /// The database was written by a newer version of the kit.
    #[cfg(feature = "sqlite")]
    #[error(
        "trace database `{}` has schema version {found}, newer than the {supported} this trace-runtime knows: upgrade trace-runtime or use another TRACE_SQLITE_PATH",
        path.display()
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// Its `PRAGMA user_version`.
        found: i64,
        /// [`SCHEMA_VERSION`].
        supported: i64,
    },
    /// The database has a schema version the kit never writes (negative): another program's file.
    #[cfg(feature = "sqlite")]
    #[error(
        "trace database `{}` has schema version {found}, which trace-runtime never writes: it belongs to another program; set TRACE_SQLITE_PATH to another file",
        path.display()
    )]
    ForeignSchema {
        /// The database file.
        path: PathBuf,
        /// Its `PRAGMA user_version`.
        found: i64,
    },
    /// The file is another program's SQLite database: its `PRAGMA application_id` is not the
    /// kit's, or it has tables of its own and no schema version. Nothing was written to it.
    #[cfg(feature = "sqlite")]
    #[error(
        "`{}` is another program's SQLite database ({why}), not a trace database; set TRACE_SQLITE_PATH to another file",
        path.display()
    )]
    ForeignDatabase {
        /// The database file.
        path: PathBuf,
        /// What gave it away.
        why: String,
    },
    /// A trace could not be saved because no file exporter wrote it.
    #[error(
        "trace `{trace_id}` was not saved to a local file: is `TRACE_EXPORTER` set to include `file`, did the trace end, and was it sampled?"
    )]
    NotSaved {
        /// The trace.
        trace_id: String,
    },
}

/// Checks that `id` is 8 or 32 hex characters and returns it in lower case.
pub(crate) fn normalize_id(id: &str) -> Result<String, StoreError> {
    let id = id.trim().to_ascii_lowercase();
    if (4..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(id)
    } else {
        Err(StoreError::InvalidId { id })
    }
}
