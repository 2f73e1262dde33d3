//! Sample traces and scratch directories for the local-store tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;
use trace_runtime::{Usage, record_usage, span, testing, trace, trace_llm};

#[trace_llm(provider = "openai", model = "gpt-4o-mini")]
fn complete(priced: bool) -> &'static str {
    record_usage(Usage { input_tokens: 31, output_tokens: 27, cache_read_tokens: 4, ..Default::default() });
    if priced {
        span::set_unchecked("gen_ai.usage.cost", 0.000_021);
    }
    "ok"
}

#[trace_llm(provider = "anthropic", model = "claude-haiku")]
fn classify() -> Result<(), std::io::Error> {
    record_usage(Usage { input_tokens: 10, output_tokens: 2, ..Default::default() });
    Err(std::io::Error::other("rate limited"))
}

/// One trace: `answer_question` -> priced `chat gpt-4o-mini` (with a `log` event), failed
/// `chat claude-haiku`, unpriced `chat gpt-4o-mini`, `run_tool`.
pub fn sample_trace() -> Vec<SpanData> {
    let (_, spans) = testing::capture(|| {
        trace!("answer_question", session.id = "s-1", {
            trace!("run_tool", "gen_ai.tool.name" = "weather", {
                span::add_event(
                    "log",
                    [
                        KeyValue::new("log.level", "warning"),
                        KeyValue::new("log.message", "tool is slow"),
                        KeyValue::new("log.run_id", "run-7"),
                        KeyValue::new("log.parent_run_id", "run-1"),
                        KeyValue::new("code.file.path", "src/agent.rs"),
                        KeyValue::new("code.line.number", 42),
                        KeyValue::new("thread.name", "main"),
                        KeyValue::new("thread.id", 1),
                        KeyValue::new("process.pid", 4242),
                        KeyValue::new("error.type", "Timeout"),
                        KeyValue::new("exception.message", "took 3 s"),
                        KeyValue::new("log.metadata", r#"{"attempt":2}"#),
                    ],
                );
            });
            complete(true);
            let _ = classify();
            complete(false);
        })
    });
    assert_eq!(spans.len(), 5);
    spans
}

/// The cost of [`sample_trace`]: the first `gpt-4o-mini` call's, set by the application, plus
/// the price table's for the second; the `claude-haiku` call is unpriced.
pub fn sample_trace_cost() -> f64 {
    0.000_021 + table_cost_of_one_call()
}

/// The price table's cost of one `gpt-4o-mini` call of [`sample_trace`].
pub fn table_cost_of_one_call() -> f64 {
    let usage = Usage { input_tokens: 31, output_tokens: 27, cache_read_tokens: 4, ..Default::default() };
    trace_runtime::cost::price_of("gpt-4o-mini").expect("a built-in price").breakdown(&usage).total()
}

/// A trace of `n` spans under a root named `name`.
pub fn trace_of(name: &'static str, n: usize) -> Vec<SpanData> {
    let (_, spans) = testing::capture(|| {
        trace!(name, {
            for _ in 1..n {
                trace!("step", {});
            }
        })
    });
    spans
}

pub fn resource(service: &'static str) -> Resource {
    Resource::builder().with_service_name(service).build()
}

/// A fresh, empty directory under the system temp dir.
pub fn scratch(name: &str) -> PathBuf {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "trace-store-{name}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

pub fn export<E: opentelemetry_sdk::trace::SpanExporter>(exporter: &E, spans: Vec<SpanData>) {
    futures::executor::block_on(exporter.export(spans)).expect("export succeeds");
}

/// File names in `dir` starting with `prefix`, sorted.
pub fn files(dir: &std::path::Path, prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect();
    names.sort();
    names
}

/// A JSON store in `dir` and a database `dir/traces.db` holding the same two traces, the older
/// `nightly_batch` (3 spans) and the [`sample_trace`]: (the database, the sample's id, the
/// older one's id).
pub fn two_stores(dir: &std::path::Path, service: &'static str) -> (PathBuf, String, String) {
    use opentelemetry_sdk::trace::SpanExporter as _;
    let db = dir.join("traces.db");
    let mut files = trace_runtime::store::FileExporter::builder().dir(dir).span_files(false).build().unwrap();
    let mut sqlite = trace_runtime::store::SqliteExporter::open(&db).unwrap();
    files.set_resource(&resource(service));
    sqlite.set_resource(&resource(service));
    let older = trace_of("nightly_batch", 3);
    let older_id = older[0].span_context.trace_id().to_string();
    // Distinct start times: newest first is then well defined.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let sample = sample_trace();
    let id = sample[0].span_context.trace_id().to_string();
    for spans in [older, sample] {
        export(&files, spans.clone());
        export(&sqlite, spans);
    }
    (db, id, older_id)
}
