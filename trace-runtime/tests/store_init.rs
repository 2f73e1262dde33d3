//! `init()` with the storage exporters: files and rows written through the real pipeline,
//! `save_trace` URLs, and the fallback when a directory cannot be used.
//!
//! `init` is process-wide, so these tests take turns.
#![cfg(all(feature = "file-store", feature = "sqlite"))]

mod store_common;

use std::sync::Mutex;

use opentelemetry_sdk::trace::InMemorySpanExporter;
use store_common::scratch;
use trace_runtime::config::Exporter;
use trace_runtime::store::{LocalStore, SqliteStore, StoreError, save_trace};
use trace_runtime::{Config, Usage, init_with, record_usage, trace, trace_llm};

static INIT: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    INIT.lock().unwrap_or_else(|p| p.into_inner())
}

#[trace_llm(provider = "openai", model = "gpt-4o-mini")]
fn complete() {
    record_usage(Usage { input_tokens: 31, output_tokens: 27, ..Default::default() });
}

#[test]
fn file_and_sqlite_exporters_store_what_init_records() {
    let _serial = serial();
    let dir = scratch("init");
    let db = dir.join("db").join("traces.db");
    let guard = init_with(
        Config::builder()
            .exporter(Exporter::File)
            .exporter(Exporter::Sqlite)
            .local_dir(&dir)
            .sqlite_path(&db)
            .service_name("init-test")
            .build(),
    )
    .unwrap();
    assert!(guard.warnings().is_empty(), "{:?}", guard.warnings());
    let trace_id = trace!("answer_question", {
        complete();
        trace_runtime::trace_id().unwrap()
    });
    let saved = save_trace(trace_id).unwrap();
    let short = &trace_id.to_string()[..8];
    assert!(
        saved.url.starts_with("file:///") && saved.url.ends_with(&format!("_{short}.json")),
        "{}",
        saved.url
    );
    assert!(saved.path.is_file());
    let unknown = opentelemetry::trace::TraceId::from(7u128);
    assert!(matches!(save_trace(unknown), Err(StoreError::NotSaved { .. })));
    guard.shutdown().unwrap();

    let trace = LocalStore::new(&dir).get(short).unwrap();
    assert_eq!(trace.path, saved.path);
    assert_eq!(trace.file.data.project_name, "init-test");
    assert_eq!(trace.file.data.name, "answer_question");
    assert_eq!(trace.file.data.trace_spans.len(), 2);

    let store = SqliteStore::open_existing(&db).unwrap();
    assert_eq!(store.trace_spans(short).unwrap().len(), 2);
    let service: String =
        store.connection().query_row("SELECT DISTINCT service_name FROM spans", [], |r| r.get(0)).unwrap();
    assert_eq!(service, "init-test");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unusable_directory_is_reported_and_the_other_exporters_still_run() {
    let _serial = serial();
    let base = scratch("fallback");
    std::fs::create_dir_all(&base).unwrap();
    std::fs::write(base.join("a-file"), b"").unwrap();
    let bad_dir = base.join("a-file").join("traces");
    let bad_db = base.join("a-file").join("traces.db");
    let memory = InMemorySpanExporter::default();
    let guard = init_with(
        Config::builder()
            .exporter(Exporter::File)
            .exporter(Exporter::Sqlite)
            .local_dir(&bad_dir)
            .sqlite_path(&bad_db)
            .with_span_exporter(memory.clone())
            .build(),
    )
    .expect("init succeeds without the broken exporters");
    let warnings = guard.warnings();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].contains("`file` exporter is off")
            && warnings[0].contains(&bad_dir.display().to_string())
    );
    assert!(warnings[0].contains("TRACE_LOCAL_DIR"));
    assert!(warnings[1].contains("`sqlite` exporter is off") && warnings[1].contains("a-file"));
    trace!("still traced", {});
    assert!(guard.flush());
    assert_eq!(memory.get_finished_spans().unwrap()[0].name, "still traced");
    drop(guard);

    let guard = init_with(Config::builder().exporter(Exporter::File).local_dir(&bad_dir).build()).unwrap();
    assert_eq!(guard.warnings().len(), 2);
    assert!(guard.warnings()[1].contains("no other exporter"), "{:?}", guard.warnings());
    drop(guard);
    std::fs::remove_dir_all(&base).unwrap();
}
