//! Levelled logs: the `log` events on spans, delivery to log sinks inside and outside spans,
//! buffering, and the run-directory sink's files read back.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use trace_runtime::log::{self, Level, LogRecord, LogSink, LogSinkError, RunDirSink};
use trace_runtime::opentelemetry::trace::Event;
use trace_runtime::{testing, trace};

const FLUSH: Duration = Duration::from_secs(10);

fn attr(event: &Event, key: &str) -> Option<String> {
    event.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.as_str().into_owned())
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("trace-logs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Collects the records whose message starts with its prefix (tests share the process-wide queue).
struct Collect {
    prefix: &'static str,
    records: Mutex<Vec<LogRecord>>,
    batches: Mutex<Vec<usize>>,
}

impl Collect {
    fn new(prefix: &'static str) -> Arc<Collect> {
        Arc::new(Collect { prefix, records: Mutex::new(Vec::new()), batches: Mutex::new(Vec::new()) })
    }
}

impl LogSink for Collect {
    fn name(&self) -> &str {
        "collect"
    }

    fn write(&self, records: &[LogRecord]) -> Result<(), LogSinkError> {
        let mine: Vec<_> = records.iter().filter(|r| r.message.starts_with(self.prefix)).cloned().collect();
        if !mine.is_empty() {
            self.batches.lock().unwrap().push(mine.len());
            self.records.lock().unwrap().extend(mine);
        }
        Ok(())
    }
}

#[test]
fn each_level_is_a_log_event_with_caller_thread_process_and_run() {
    let (line, spans) = testing::capture(|| {
        let _run = log::run("wf-9").parent("parent-3").enter();
        trace!("stage", {
            let line = line!();
            log::debug("d");
            log::info!("i {}", 1);
            log::warning("w");
            log::error!("e {}", "x");
            log::entry(Level::Info, "with meta").meta("rows", 12).meta("table", "users").emit();
            line
        })
    });
    let span = &spans[0];
    let events = &span.events.events;
    assert_eq!(events.len(), 5);
    assert!(events.iter().all(|e| e.name == "log"));
    let levels: Vec<_> = events.iter().map(|e| attr(e, "log.level").unwrap()).collect();
    assert_eq!(levels, ["debug", "info", "warning", "error", "info"]);
    let messages: Vec<_> = events.iter().map(|e| attr(e, "log.message").unwrap()).collect();
    assert_eq!(messages, ["d", "i 1", "w", "e x", "with meta"]);

    let first = &events[0];
    assert_eq!(attr(first, "log.run_id").as_deref(), Some("wf-9"));
    assert_eq!(attr(first, "log.parent_run_id").as_deref(), Some("parent-3"));
    assert!(attr(first, "code.file.path").unwrap().ends_with("logs.rs"));
    assert_eq!(attr(first, "code.line.number"), Some((line + 1).to_string()), "the caller's line");
    assert_eq!(attr(&events[1], "code.line.number"), Some((line + 2).to_string()), "the macro's caller");
    assert_eq!(attr(first, "process.pid"), Some(std::process::id().to_string()));
    assert!(attr(first, "thread.id").unwrap().parse::<u64>().unwrap() > 0);
    assert_eq!(attr(first, "thread.name").as_deref(), std::thread::current().name());
    assert_eq!(attr(&events[4], "log.metadata").as_deref(), Some(r#"{"rows":12,"table":"users"}"#));
    assert!(events.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
    assert!(events[0].timestamp >= span.start_time && events[4].timestamp <= span.end_time);
}

#[derive(Debug, thiserror::Error)]
#[error("stage load failed")]
struct StageError(#[source] std::io::Error);

#[test]
fn exception_records_the_error_type_message_and_cause_chain() {
    let (_, spans) = testing::capture(|| {
        trace!("stage", {
            let err = StageError(std::io::Error::other("disk on fire"));
            log::exception(&err);
        })
    });
    let event = &spans[0].events.events[0];
    assert_eq!(attr(event, "log.level").as_deref(), Some("exception"));
    assert_eq!(attr(event, "log.message").as_deref(), Some("stage load failed"));
    assert_eq!(attr(event, "error.type").as_deref(), Some("logs::StageError"));
    assert_eq!(attr(event, "exception.message").as_deref(), Some("stage load failed"));
    assert_eq!(attr(event, "exception.stacktrace").as_deref(), Some("caused by: disk on fire\n"));
    assert!(
        matches!(spans[0].status, trace_runtime::opentelemetry::trace::Status::Unset),
        "logging is not failing"
    );
}

#[test]
fn logs_reach_sinks_inside_and_outside_spans() {
    let sink = Collect::new("reach:");
    let id = log::add_sink(sink.clone());
    log::info("reach: outside");
    let (_, spans) = testing::capture(|| trace!("t", { log::warning("reach: inside") }));
    assert!(log::flush(FLUSH));
    log::remove_sink(id);

    let records = sink.records.lock().unwrap().clone();
    assert_eq!(records.len(), 2);
    let outside = records.iter().find(|r| r.message == "reach: outside").unwrap();
    assert_eq!((outside.trace_id.as_deref(), outside.level), (None, Level::Info));
    let inside = records.iter().find(|r| r.message == "reach: inside").unwrap();
    assert_eq!(inside.trace_id, Some(spans[0].span_context.trace_id().to_string()));
    assert_eq!(inside.span_id, Some(spans[0].span_context.span_id().to_string()));
    assert!(inside.file.as_deref().unwrap().ends_with("logs.rs"));
}

#[test]
fn a_buffer_hands_its_records_over_in_one_batch_when_it_ends() {
    let sink = Collect::new("buffered:");
    let id = log::add_sink(sink.clone());
    {
        let _outer = log::buffer();
        {
            let _inner = log::buffer();
            log::info("buffered: 1");
        }
        log::info("buffered: 2");
        log::info("buffered: 3");
        log::flush(FLUSH);
        assert!(sink.records.lock().unwrap().is_empty(), "held back while the outer guard lives");
    }
    assert!(log::flush(FLUSH));
    log::remove_sink(id);
    assert_eq!(*sink.batches.lock().unwrap(), vec![3]);
}

#[test]
fn run_dir_sink_writes_stdout_stderr_and_metadata_per_run() {
    let dir = temp_dir("rundir");
    let sink = Arc::new(RunDirSink::new(&dir).unwrap());
    let id = log::add_sink(sink.clone());
    log::run("wf-A").parent("root").in_scope(|| {
        log::info("A started");
        log::debug("A detail");
        log::error("A failed\nsecond line");
        log::exception(&std::io::Error::other("A broke"));
    });
    log::run("wf-B").in_scope(|| log::warning("B careful"));
    assert!(log::flush(FLUSH));
    log::remove_sink(id);

    let a = dir.join("run_id=wf-A");
    let stdout = std::fs::read_to_string(a.join("stdout.txt")).unwrap();
    let stderr = std::fs::read_to_string(a.join("stderr.txt")).unwrap();
    let out_lines: Vec<_> = stdout.lines().collect();
    assert_eq!(out_lines.len(), 2);
    assert!(
        out_lines[0].contains("[INFO] A started (") && out_lines[0].contains("logs.rs:"),
        "{}",
        out_lines[0]
    );
    assert!(out_lines[0].contains(&format!("({:5},", std::process::id())));
    assert!(out_lines[1].contains("[DEBUG] A detail"));
    let err_lines: Vec<_> = stderr.lines().collect();
    assert_eq!(err_lines.len(), 2, "one line per record, newlines escaped: {stderr}");
    assert!(err_lines[0].contains("[ERROR] A failed\\nsecond line"));
    assert!(err_lines[1].contains("[EXCEPTION] A broke"));

    let meta = std::fs::read_to_string(a.join("metadata.jsonl")).unwrap();
    let objects: Vec<serde_json::Value> = meta.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(objects.len(), 4);
    let o = &objects[0];
    assert_eq!(o["level"], "info");
    assert_eq!(o["message"], "A started");
    assert_eq!(o["run_id"], "wf-A");
    assert_eq!(o["parent_run_id"], "root");
    assert_eq!(o["pid"], std::process::id());
    assert!(o["file"].as_str().unwrap().ends_with("logs.rs"));
    assert!(o["line"].as_u64().unwrap() > 0);
    assert!(o["thread_id"].as_u64().unwrap() > 0);
    assert!(o["time_unix_nano"].as_u64().unwrap() > 0);
    assert!(o["datetime"].as_str().unwrap().ends_with('Z'));
    assert_eq!(objects[3]["error_type"], "std::io::error::Error");
    assert_eq!(objects[3]["exception_message"], "A broke");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(a.clone()), 0o700);
        assert_eq!(mode(a.join("stdout.txt")), 0o600);
        assert_eq!(mode(a.join("metadata.jsonl")), 0o600);
    }

    let runs = sink.list_runs().unwrap();
    let ids: Vec<_> = runs.iter().map(|r| r.run_id.as_str()).collect();
    assert!(ids.contains(&"wf-A") && ids.contains(&"wf-B"));
    assert!(runs.iter().all(|r| r.size > 0));
    let back = sink.find_run("wf-A").unwrap().unwrap();
    assert_eq!(back.records.len(), 4);
    assert_eq!(back.records[2].level, Level::Error);
    assert_eq!(back.stdout, stdout);
    assert!(back.warnings.is_empty());
    assert_eq!(sink.find_run("wf-B").unwrap().unwrap().records[0].message, "B careful");
    assert!(sink.find_run("no-such-run").unwrap().is_none());
    assert!(sink.find_runs().unwrap().len() >= 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn corrupt_metadata_lines_are_skipped_with_a_warning() {
    let dir = temp_dir("corrupt");
    let sink = RunDirSink::new(&dir).unwrap();
    let mut record = LogRecord::new(Level::Info, "kept");
    record.run_id = Some("wf-C".into());
    sink.write_records(&[record.clone()]).unwrap();
    let meta = dir.join("run_id=wf-C").join("metadata.jsonl");
    let mut text = std::fs::read_to_string(&meta).unwrap();
    text.push_str("{not json\n\n{\"level\":\"loud\",\"message\":\"x\",\"time_unix_nano\":1}\n");
    std::fs::write(&meta, text).unwrap();
    record.message = "after".into();
    sink.write_records(&[record]).unwrap();
    std::fs::create_dir_all(dir.join("not-a-run")).unwrap();
    std::fs::write(dir.join("run_id=file-not-dir"), "x").unwrap();

    let run = sink.find_run("wf-C").unwrap().unwrap();
    let messages: Vec<_> = run.records.iter().map(|r| r.message.as_str()).collect();
    assert_eq!(messages, ["kept", "after"]);
    assert_eq!(run.warnings.len(), 2);
    assert!(run.warnings[0].contains("metadata.jsonl:2"), "{}", run.warnings[0]);
    let ids: Vec<_> = sink.list_runs().unwrap().into_iter().map(|r| r.run_id).collect();
    assert_eq!(ids, ["wf-C"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unwritable_directory_is_an_error_naming_the_path() {
    let file = temp_dir("blocker");
    std::fs::write(&file, "a file, not a directory").unwrap();
    let err = RunDirSink::new(file.join("logs")).unwrap_err();
    assert!(err.to_string().contains(&file.display().to_string()), "{err}");
    let _ = std::fs::remove_file(&file);
}

struct Panics;

impl LogSink for Panics {
    fn name(&self) -> &str {
        "panics"
    }

    fn write(&self, records: &[LogRecord]) -> Result<(), LogSinkError> {
        if records.iter().any(|r| r.message == "panic: trigger") {
            panic!("a broken sink");
        }
        Ok(())
    }
}

#[test]
fn a_panicking_sink_does_not_stop_the_others() {
    let good = Collect::new("panic:");
    let bad = log::add_sink(Arc::new(Panics));
    let id = log::add_sink(good.clone());
    log::info("panic: trigger");
    assert!(log::flush(FLUSH));
    log::info("panic: after");
    assert!(log::flush(FLUSH), "the drain thread survived");
    log::remove_sink(bad);
    log::remove_sink(id);
    let messages: Vec<_> = good.records.lock().unwrap().iter().map(|r| r.message.clone()).collect();
    assert_eq!(messages, ["panic: trigger", "panic: after"]);
    assert!(log::log_metrics().records_failed >= 1);
}
