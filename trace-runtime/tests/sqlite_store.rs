//! The SQLite store: schema and indexes, spans and logs field by field, queries, concurrent
//! writers, and a path that cannot be a database.
#![cfg(feature = "sqlite")]

mod store_common;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use opentelemetry_sdk::trace::SpanExporter;
use store_common::{export, resource, sample_trace, sample_trace_cost, scratch, trace_of};
use trace_runtime::store::{
    LogRow, SCHEMA_VERSION, SpanStatus, SqliteExporter, SqliteStore, StoreError, StoredSpan,
};

fn db(name: &str) -> (PathBuf, PathBuf) {
    let dir = scratch(name);
    let path = dir.join("nested").join("traces.db");
    (dir, path)
}

fn columns(store: &SqliteStore, table: &str) -> Vec<(String, String, bool)> {
    let mut stmt = store.connection().prepare(&format!("PRAGMA table_info({table})")).unwrap();
    stmt.query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, bool>(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn indexes(store: &SqliteStore, table: &str) -> Vec<String> {
    let mut stmt = store.connection().prepare(&format!("PRAGMA index_list({table})")).unwrap();
    let mut names: Vec<String> =
        stmt.query_map([], |r| r.get::<_, String>(1)).unwrap().map(Result::unwrap).collect();
    names.sort();
    names
}

#[test]
fn the_schema_has_every_column_and_index_at_the_current_version() {
    let (dir, path) = db("schema");
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let span_columns = columns(&store, "spans");
    let spans: Vec<(&str, &str, bool)> =
        span_columns.iter().map(|(n, t, nn)| (n.as_str(), t.as_str(), *nn)).collect();
    assert_eq!(
        spans,
        [
            ("trace_id", "TEXT", true),
            ("span_id", "TEXT", true),
            ("parent_span_id", "TEXT", false),
            ("parent_is_remote", "INTEGER", true),
            ("name", "TEXT", true),
            ("kind", "TEXT", true),
            ("start_time_unix_nano", "INTEGER", true),
            ("end_time_unix_nano", "INTEGER", true),
            ("duration_ms", "REAL", true),
            ("status", "TEXT", true),
            ("status_message", "TEXT", false),
            ("attributes", "TEXT", true),
            ("events", "TEXT", true),
            ("dropped_attributes_count", "INTEGER", true),
            ("dropped_events_count", "INTEGER", true),
            ("service_name", "TEXT", false),
            ("provider", "TEXT", false),
            ("model", "TEXT", false),
            ("input_tokens", "INTEGER", false),
            ("output_tokens", "INTEGER", false),
            ("cache_read_tokens", "INTEGER", false),
            ("cache_write_tokens", "INTEGER", false),
            ("reasoning_tokens", "INTEGER", false),
            ("cost", "REAL", false),
        ]
    );
    let logs: Vec<String> = columns(&store, "logs").into_iter().map(|c| c.0).collect();
    assert_eq!(
        logs,
        [
            "id",
            "run_id",
            "parent_run_id",
            "level",
            "message",
            "time_unix_nano",
            "process_id",
            "thread_name",
            "thread_id",
            "file",
            "line",
            "trace_id",
            "span_id",
            "error_type",
            "error_message",
            "metadata",
        ]
    );
    assert_eq!(
        indexes(&store, "spans"),
        ["spans_by_model", "spans_by_parent", "spans_by_start", "sqlite_autoindex_spans_1"]
    );
    assert_eq!(indexes(&store, "logs"), ["logs_by_level", "logs_by_run", "logs_by_time", "logs_by_trace"]);
    let mode: String = store.connection().pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    // The model index serves the per-model query.
    let plan: String = store
        .connection()
        .query_row(
            "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM spans WHERE model IS NOT NULL AND model = 'x' AND start_time_unix_nano >= 0",
            [],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.contains("spans_by_model"), "{plan}");
    drop(store);
    assert_eq!(
        SqliteStore::open(&path).unwrap().schema_version().unwrap(),
        SCHEMA_VERSION,
        "reopening is a no-op"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn spans_round_trip_field_by_field_and_log_events_become_log_rows() {
    let (dir, path) = db("spans");
    let mut exporter = SqliteExporter::open(&path).unwrap();
    exporter.set_resource(&resource("my-agent"));
    let spans = sample_trace();
    let expected: Vec<StoredSpan> = spans.iter().map(StoredSpan::from_span_data).collect();
    let trace_id = expected[0].trace_id.clone();
    export(&exporter, spans);

    let store = SqliteStore::open_existing(&path).unwrap();
    let stored = store.trace_spans(&trace_id).unwrap();
    assert_eq!(stored.len(), 5);
    for want in &expected {
        let got = stored.iter().find(|s| s.span_id == want.span_id).unwrap();
        assert!((got.duration - want.duration).abs() < 1e-9, "{} vs {}", got.duration, want.duration);
        let got = StoredSpan { duration: want.duration, ..got.clone() };
        assert_eq!(&got, want, "{}", want.name);
    }
    let llm = stored.iter().find(|s| s.usage.as_ref().is_some_and(|u| u.cost.is_some())).unwrap();
    let row: (String, String, String, i64, i64, i64, f64, String) = store
        .connection()
        .query_row(
            "SELECT service_name, provider, model, input_tokens, output_tokens, cache_read_tokens, cost, kind
             FROM spans WHERE span_id = ?1",
            [&llm.span_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?)),
        )
        .unwrap();
    assert_eq!(
        row,
        ("my-agent".into(), "openai".into(), "gpt-4o-mini".into(), 31, 27, 4, 0.000_021, "client".into())
    );
    let failed = stored.iter().find(|s| s.name == "chat claude-haiku").unwrap();
    assert_eq!((failed.status, failed.status_message.as_deref()), (SpanStatus::Error, Some("rate limited")));

    let logs = store.logs_of_trace(&trace_id).unwrap();
    assert_eq!(logs.len(), 1);
    let tool = stored.iter().find(|s| s.name == "run_tool").unwrap();
    let log = &logs[0];
    assert_eq!(log.level, "warning");
    assert_eq!(log.message, "tool is slow");
    assert_eq!(log.time, tool.events[0].time);
    assert_eq!(log.run_id.as_deref(), Some("run-7"));
    assert_eq!(log.parent_run_id.as_deref(), Some("run-1"));
    assert_eq!(log.file.as_deref(), Some("src/agent.rs"));
    assert_eq!(log.line, Some(42));
    assert_eq!(log.thread_name.as_deref(), Some("main"));
    assert_eq!(log.thread_id, Some(1));
    assert_eq!(log.process_id, Some(4242));
    assert_eq!(log.trace_id.as_deref(), Some(trace_id.as_str()));
    assert_eq!(log.span_id.as_deref(), Some(tool.span_id.as_str()));
    assert_eq!(log.error_type.as_deref(), Some("Timeout"));
    assert_eq!(log.error_message.as_deref(), Some("took 3 s"));
    assert_eq!(log.metadata.as_deref(), Some(r#"{"attempt":2}"#));
    assert_eq!(store.logs_of_run("run-7").unwrap(), logs);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn log_rows_inserted_directly_keep_every_field() {
    let (dir, path) = db("logs");
    let store = SqliteStore::open(&path).unwrap();
    let mut full = LogRow::new("exception", "stage crashed");
    full.run_id = Some("run-9".into());
    full.parent_run_id = Some("run-1".into());
    full.time = SystemTime::UNIX_EPOCH + Duration::from_nanos(1_733_063_422_123_456_789);
    full.process_id = Some(77);
    full.thread_name = Some("worker-2".into());
    full.thread_id = Some(u64::MAX);
    full.file = Some("src/stage.rs".into());
    full.line = Some(7);
    full.trace_id = Some("4bf92f3577b34da6a3ce929d0e0e4736".into());
    full.span_id = Some("00f067aa0ba902b7".into());
    full.error_type = Some("ParseError".into());
    full.error_message = Some("bad row\ncaused by: eof".into());
    full.metadata = Some(r#"{"rows":3}"#.into());
    let mut bare = LogRow::new("debug", "plain");
    bare.run_id = Some("run-9".into());
    bare.time = full.time + Duration::from_secs(1);
    bare.metadata = Some("not json".into());
    store.insert_logs(&[full.clone(), bare.clone()]).unwrap();
    let rows = store.logs_of_run("run-9").unwrap();
    assert_eq!(rows[0], full);
    assert_eq!(rows[1], LogRow { metadata: Some(r#""not json""#.into()), ..bare });
    let metadata_is_json: bool = store
        .connection()
        .query_row("SELECT json_valid(metadata) FROM logs WHERE message = 'plain'", [], |r| r.get(0))
        .unwrap();
    assert!(metadata_is_json);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn traces_and_model_totals_are_queried_over_time_ranges() {
    let (dir, path) = db("queries");
    let exporter = SqliteExporter::open(&path).unwrap();
    export(&exporter, trace_of("old job", 2));
    let between = SystemTime::now();
    std::thread::sleep(Duration::from_millis(5));
    export(&exporter, sample_trace());
    let store = SqliteStore::open(&path).unwrap();

    let traces = store.traces(10).unwrap();
    assert_eq!(traces.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["answer_question", "old job"]);
    let t = &traces[0];
    assert_eq!((t.span_count, t.error_count, t.input_tokens, t.output_tokens), (5, 1, 72, 56));
    assert!((t.cost.expect("priced calls") - sample_trace_cost()).abs() < 1e-12);
    assert_eq!(traces[1].cost, None);
    assert_eq!(store.traces(1).unwrap().len(), 1);

    let models = store.model_totals(Some(between), None).unwrap();
    assert_eq!(models.len(), 2);
    let gpt = &models[0];
    assert_eq!((gpt.provider.as_deref(), gpt.model.as_str()), (Some("openai"), "gpt-4o-mini"));
    assert_eq!((gpt.calls, gpt.input_tokens, gpt.output_tokens, gpt.cache_read_tokens), (2, 62, 54, 8));
    assert!((gpt.cost.expect("priced") - sample_trace_cost()).abs() < 1e-12);
    assert_eq!(gpt.unpriced_calls, 0, "both calls priced: one by the application, one by the table");
    assert_eq!(
        (models[1].model.as_str(), models[1].cost, models[1].unpriced_calls),
        ("claude-haiku", None, 1)
    );
    assert!(store.model_totals(None, Some(between)).unwrap().is_empty(), "nothing before `between`");

    assert!(matches!(store.trace_spans("0123abcd"), Err(StoreError::NotFound { .. })));
    let err = store.trace_spans("0123abcd").unwrap_err().to_string();
    assert!(err.contains("0123abcd") && err.contains(&path.display().to_string()), "{err}");
    assert_eq!(store.cleanup(1).unwrap(), (0, 0));
    assert_eq!(store.cleanup(0).unwrap(), (7, 1));
    assert!(store.traces(10).unwrap().is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn concurrent_writers_on_one_database_lose_nothing() {
    let (dir, path) = db("concurrent");
    SqliteStore::open(&path).unwrap();
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || {
                let exporter = SqliteExporter::open(&path).unwrap();
                for _ in 0..20 {
                    export(&exporter, trace_of("job", 5));
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.traces(1000).unwrap().len(), 80);
    let spans: i64 = store.connection().query_row("SELECT COUNT(*) FROM spans", [], |r| r.get(0)).unwrap();
    assert_eq!(spans, 400);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn shutdown_leaves_one_file_with_every_span_and_no_wal_or_shm() {
    let (dir, path) = db("shutdown");
    let exporter = SqliteExporter::open(&path).unwrap();
    let spans = sample_trace();
    let trace_id = StoredSpan::from_span_data(&spans[0]).trace_id;
    export(&exporter, spans);
    let side = |ext: &str| PathBuf::from(format!("{}{ext}", path.display()));
    assert!(side("-wal").exists(), "WAL mode writes beside the database while open");
    exporter.shutdown().unwrap();
    assert!(!side("-wal").exists() && !side("-shm").exists(), "the exporter is still alive, its files gone");
    assert!(futures::executor::block_on(exporter.export(sample_trace())).is_err(), "shut down");
    assert_eq!(SqliteStore::open_existing(&path).unwrap().trace_spans(&trace_id).unwrap().len(), 5);
    std::fs::remove_dir_all(dir).unwrap();
}

fn assert_names(err: &StoreError, path: &Path) {
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
}

#[test]
fn a_path_that_cannot_hold_a_database_is_a_clear_error() {
    let base = scratch("bad-db");
    std::fs::create_dir_all(&base).unwrap();
    let file = base.join("a-file");
    std::fs::write(&file, b"").unwrap();
    let under_file = file.join("traces.db");
    let err = SqliteStore::open(&under_file).unwrap_err();
    assert_names(&err, &file);
    let missing = base.join("missing.db");
    let err = SqliteStore::open_existing(&missing).unwrap_err();
    assert!(matches!(err, StoreError::MissingDatabase { .. }));
    assert_names(&err, &missing);
    assert!(!missing.exists(), "open_existing never creates");
    std::fs::write(base.join("garbage.db"), b"this is not a database, just text padding it out").unwrap();
    let err = SqliteStore::open(base.join("garbage.db")).unwrap_err();
    assert_names(&err, &base.join("garbage.db"));
    std::fs::remove_dir_all(&base).unwrap();
}
