//! The schema: its version, the migrations that build it, the column lists.

/// `PRAGMA application_id` of a trace database (`TRCE`): the file says whose it is, so another
/// program's SQLite file is refused rather than given the kit's tables.
pub(crate) const APPLICATION_ID: i64 = 0x5452_4345;

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
pub(super) const MIGRATIONS: &[&str] = &[
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

pub(super) const SPAN_COLUMNS: &str = "trace_id, span_id, parent_span_id, parent_is_remote, name, kind, \
    start_time_unix_nano, end_time_unix_nano, duration_ms, status, status_message, attributes, events, \
    dropped_attributes_count, dropped_events_count, service_name, provider, model, input_tokens, \
    output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost";

pub(super) const LOG_COLUMNS: &str = "run_id, parent_run_id, level, message, time_unix_nano, process_id, thread_name, \
    thread_id, file, line, trace_id, span_id, error_type, error_message, metadata";
