//! `init()` end to end: spans reach real SDK exporters, the guard flushes, sampling, the kill
//! switch, and a bounded queue that drops and counts instead of blocking.
//!
//! `init` is process-wide, so these tests take turns.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData, SpanExporter};
use trace_runtime::config::Exporter;
use trace_runtime::{Config, InitError, init_with, trace, trace_pipeline};

static INIT: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    INIT.lock().unwrap_or_else(|p| p.into_inner())
}

fn config(memory: &InMemorySpanExporter) -> trace_runtime::ConfigBuilder {
    Config::builder()
        .exporter(Exporter::None)
        .service_name("pipeline-test")
        .with_span_exporter(memory.clone())
}

#[trace_pipeline(name = "voice", element = "vad")]
fn frame(i: u32) -> u32 {
    i * 2
}

#[test]
fn spans_reach_the_exporter_and_the_guard_flushes() {
    let _serial = serial();
    let memory = InMemorySpanExporter::default();
    let guard = init_with(config(&memory).build()).unwrap();
    let worker = std::thread::spawn(|| trace!("turn", { (0..10).map(frame).sum::<u32>() }));
    assert_eq!(worker.join().unwrap(), 90);
    assert!(guard.flush());
    let spans = memory.get_finished_spans().unwrap();
    assert_eq!(spans.len(), 11);
    let root = spans.iter().find(|s| s.name == "turn").unwrap();
    assert!(
        spans.iter().filter(|s| s.name == "frame").all(|s| s.parent_span_id == root.span_context.span_id())
    );
    drop(guard);
    assert!(memory.get_finished_spans().unwrap().is_empty(), "shutdown reached the exporter");
    trace!("after", {});
    assert!(memory.get_finished_spans().unwrap().is_empty(), "nothing records after the guard dropped");
}

/// A thread inside a long-lived span (a session root) keeps finished children in its batch until
/// the root ends; after a flush, its next span end hands them off.
#[test]
fn a_flush_reaches_a_thread_inside_a_long_lived_span() {
    let _serial = serial();
    let memory = InMemorySpanExporter::default();
    let guard = init_with(config(&memory).build()).unwrap();
    let (to_main, from_worker) = std::sync::mpsc::channel();
    let (to_worker, from_main) = std::sync::mpsc::channel::<()>();
    let worker = std::thread::spawn(move || {
        trace!("session", {
            trace!("first", {});
            to_main.send(()).unwrap();
            from_main.recv().unwrap();
            trace!("second", {});
            to_main.send(()).unwrap();
            from_main.recv().unwrap();
        })
    });
    from_worker.recv().unwrap();
    assert!(guard.flush());
    to_worker.send(()).unwrap();
    from_worker.recv().unwrap();
    assert!(guard.flush());
    let names: Vec<String> =
        memory.get_finished_spans().unwrap().iter().map(|s| s.name.to_string()).collect();
    assert_eq!(names, ["first", "second"], "the children arrived while their session is still open");
    to_worker.send(()).unwrap();
    worker.join().unwrap();
    assert!(guard.flush());
    assert_eq!(memory.get_finished_spans().unwrap().len(), 3);
}

#[test]
fn a_second_init_is_refused_while_the_first_guard_lives() {
    let _serial = serial();
    let memory = InMemorySpanExporter::default();
    let guard = init_with(config(&memory).build()).unwrap();
    assert!(matches!(init_with(config(&memory).build()), Err(InitError::AlreadyInitialized)));
    drop(guard);
    let again = init_with(config(&memory).build());
    assert!(again.is_ok(), "init works again once the first guard is gone");
}

#[test]
fn sampling_keeps_whole_traces_at_the_configured_rate() {
    let _serial = serial();
    let memory = InMemorySpanExporter::default();
    let guard = init_with(config(&memory).sampling_rate(0.0).build()).unwrap();
    for i in 0..100 {
        trace!("dropped", { frame(i) });
    }
    assert!(guard.flush());
    assert!(memory.get_finished_spans().unwrap().is_empty());
    drop(guard);

    let memory = InMemorySpanExporter::default();
    let guard = init_with(config(&memory).sampling_rate(0.5).build()).unwrap();
    for i in 0..2000 {
        trace!("maybe", { frame(i) });
    }
    assert!(guard.flush());
    let spans = memory.get_finished_spans().unwrap();
    let roots: Vec<&SpanData> = spans.iter().filter(|s| s.name == "maybe").collect();
    assert!((800..1200).contains(&roots.len()), "{} of 2000 sampled", roots.len());
    assert_eq!(spans.len(), roots.len() * 2, "a sampled root keeps its child, a dropped one loses it");
}

#[test]
fn the_kill_switch_records_and_sends_nothing() {
    let _serial = serial();
    let memory = InMemorySpanExporter::default();
    let guard = init_with(config(&memory).disabled(true).build()).unwrap();
    trace!("hidden", { frame(1) });
    assert!(guard.flush());
    assert!(memory.get_finished_spans().unwrap().is_empty());
}

/// An exporter that takes its time, to fill the queue.
#[derive(Debug, Default, Clone)]
struct Slow(std::sync::Arc<AtomicUsize>);

impl SpanExporter for Slow {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        std::thread::sleep(Duration::from_millis(50));
        self.0.fetch_add(batch.len(), Ordering::Relaxed);
        Ok(())
    }
}

#[test]
fn a_full_queue_drops_and_counts_instead_of_blocking() {
    let _serial = serial();
    let slow = Slow::default();
    let before = trace_runtime::metrics();
    let guard = init_with(
        Config::builder()
            .exporter(Exporter::None)
            .queue_size(256)
            .batch_size(64)
            .with_span_exporter(slow.clone())
            .build(),
    )
    .unwrap();
    let started = std::time::Instant::now();
    for _ in 0..200 {
        trace!("burst", {
            for i in 0..50 {
                frame(i);
            }
        });
    }
    let elapsed = started.elapsed();
    drop(guard);
    let after = trace_runtime::metrics();
    let dropped = after.spans_dropped_queue_full - before.spans_dropped_queue_full;
    // Batches the worker took but the exporter's own lane had no room for.
    let lane_full = after.spans_export_failed - before.spans_export_failed;
    let exported = slow.0.load(Ordering::Relaxed) as u64;
    assert!(dropped + lane_full > 0, "a 256-span queue cannot hold 10,200 spans behind a slow exporter");
    assert_eq!(exported + dropped + lane_full, 200 * 51, "every span is exported or counted as dropped");
    assert!(elapsed < Duration::from_secs(2), "the application did not wait for the exporter: {elapsed:?}");
}

/// An exporter whose backend is down.
#[derive(Debug)]
struct Down;

impl SpanExporter for Down {
    async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
        Err(opentelemetry_sdk::error::OTelSdkError::InternalFailure("backend down".into()))
    }
}

#[test]
fn shutdown_reports_the_failures_of_its_own_pipeline_only() {
    let _serial = serial();
    let guard =
        init_with(Config::builder().exporter(Exporter::None).with_span_exporter(Down).build()).unwrap();
    trace!("lost", { frame(1) });
    let err = guard.shutdown().expect_err("the failed export is reported");
    assert!(err.to_string().contains("2 spans failed to export"), "{err}");

    let memory = InMemorySpanExporter::default();
    let guard = init_with(config(&memory).build()).unwrap();
    trace!("kept", { frame(1) });
    assert!(guard.shutdown().is_ok(), "an earlier pipeline's failures are not this one's");
}

/// The nice value in a `/proc/.../stat` line: field 19, counted after the parenthesised name.
#[cfg(target_os = "linux")]
fn nice_in_stat(stat: &str) -> Option<i32> {
    stat[stat.rfind(')')? + 1..].split_whitespace().nth(16)?.parse().ok()
}

/// The nice value of each of this process's threads whose name starts with `prefix`
/// (names are cut to 15 bytes in `/proc/self/task/*/comm`).
#[cfg(target_os = "linux")]
fn nice_of_threads(prefix: &str) -> Vec<i32> {
    let mut found = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim_end().starts_with(prefix) {
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
            found.extend(nice_in_stat(&stat));
        }
    }
    found
}

#[cfg(target_os = "linux")]
#[test]
fn export_threads_run_at_the_configured_lower_priority() {
    let _serial = serial();
    // This test thread's nice value: the worker inherits it from the test thread that started it.
    let own = nice_in_stat(&std::fs::read_to_string("/proc/thread-self/stat").unwrap()).unwrap();
    for nice in [7, 2] {
        let memory = InMemorySpanExporter::default();
        let guard = init_with(config(&memory).export_nice(nice).build()).unwrap();
        let expected = (own + i32::from(nice)).min(19);
        // Set again on each init, replacing the last increment rather than adding to it.
        assert_eq!(nice_of_threads("trace-runtime-e"), [expected], "the export worker");
        // A lane of the previous pipeline may still be ending (it answers shutdown, then drops
        // its runtime): wait for only this pipeline's lanes to be left.
        let settled = |lanes: &[i32]| !lanes.is_empty() && lanes.iter().all(|&n| n == expected);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let mut lanes = nice_of_threads("trace-export-");
        while !settled(&lanes) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
            lanes = nice_of_threads("trace-export-");
        }
        assert!(settled(&lanes), "its lanes: {lanes:?}");
        assert_eq!(trace!("turn", { frame(1) }), 2);
        assert!(guard.flush());
        assert_eq!(memory.get_finished_spans().unwrap().len(), 2, "the pipeline delivers as before");
        drop(guard);
    }
}

/// Without `CAP_SYS_NICE` a thread can lower its priority but never raise it again: with
/// `TRACE_EXPORT_NICE=0` no export thread may pass through a lower priority on its way to 0.
/// The test runs itself again in a child process whose capabilities lack `CAP_SYS_NICE`.
#[cfg(target_os = "linux")]
#[test]
fn nice_zero_needs_no_privilege() {
    const CHILD: &str = "TRACE_TEST_NICE_ZERO_CHILD";
    if std::env::var_os(CHILD).is_none() {
        let setpriv = std::path::Path::new("/usr/bin/setpriv");
        if !setpriv.exists() {
            eprintln!("skipped: no /usr/bin/setpriv to drop CAP_SYS_NICE");
            return;
        }
        let out = std::process::Command::new(setpriv)
            .args(["--inh-caps=-sys_nice", "--bounding-set=-sys_nice"])
            .arg(std::env::current_exe().unwrap())
            .args(["--exact", "nice_zero_needs_no_privilege", "--nocapture", "--test-threads=1"])
            .env(CHILD, "1")
            .output()
            .unwrap();
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && text.contains("1 passed"), "the child without CAP_SYS_NICE:\n{text}");
        return;
    }
    let _serial = serial();
    let own = nice_in_stat(&std::fs::read_to_string("/proc/thread-self/stat").unwrap()).unwrap();
    let memory = InMemorySpanExporter::default();
    let guard = init_with(config(&memory).export_nice(0).build()).unwrap();
    assert_eq!(nice_of_threads("trace-runtime-e"), [own], "the export worker");
    let lanes = nice_of_threads("trace-export-");
    assert!(!lanes.is_empty() && lanes.iter().all(|&n| n == own), "its lanes: {lanes:?}");
    assert_eq!(trace!("turn", { frame(1) }), 2);
    assert!(guard.flush());
    drop(guard);
}
