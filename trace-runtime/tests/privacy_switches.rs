//! Each privacy switch end to end, in a real child process (the switches are environment
//! variables and a file, read once by `init`): with the switch on, the traced program still runs
//! but prints no span, writes no file, opens no connection (a loopback server standing in for the
//! telemetry and OTLP endpoints sees nothing) and starts no worker thread; with it off, the same
//! program prints its spans and the loopback server receives a telemetry batch.
//!
//! Extending: `EXPORTERS` lists the exporters the child runs (add `file`, `sqlite`, `otlp` as they
//! land: the child's `TRACE_LOCAL_DIR`, `TRACE_SQLITE_PATH` and `OTEL_EXPORTER_OTLP_ENDPOINT`
//! already point into its sandbox and at the loopback server). The child records [`SECRET`] as
//! a span attribute; with tracing on, it must reach no output unredacted.
#![cfg(all(feature = "file-store", feature = "sqlite"))] // the child's `EXPORTERS`

#[path = "privacy_support/mod.rs"]
mod support;

use std::time::Duration;

use support::{Observed, run_child};
use trace_runtime::{span, telemetry, trace, trace_pipeline};

/// `TRACE_EXPORTER` of the child program.
const EXPORTERS: &str = "stdout,file,sqlite";

/// A value shaped like an API key, recorded on a span by the child program.
pub const SECRET: &str = "sk-live-0123456789abcdef0123456789abcdef";

/// The name of the child's root span: its presence on stdout means spans were exported.
const ROOT: &str = "privacy-turn";

#[trace_pipeline(name = "voice", element = "vad")]
fn step(i: u32) -> u32 {
    i + 1
}

/// The traced program. Runs only as a child (`TRACE_PRIVACY_CHILD` set); as a test of the parent
/// run it does nothing.
#[test]
fn child_traced_program() {
    if std::env::var_os("TRACE_PRIVACY_CHILD").is_none() {
        return;
    }
    let guard = match trace_runtime::init() {
        Ok(guard) => guard,
        Err(e) => {
            println!("init error: {e}");
            std::process::exit(2);
        }
    };
    println!("report: {}", guard.report());
    let recording;
    let sum = trace!(ROOT, session.id = "s-1", {
        recording = span::is_recording();
        span::set_unchecked("app.api_key", SECRET);
        (0..3).map(step).sum::<u32>()
    });
    telemetry::agent_run("simple", "rig", true, Duration::from_millis(12));
    telemetry::feature("voice");
    telemetry::error_type("TimeoutError", "agent.simple");
    println!("recording: {recording}");
    println!("telemetry: {}", telemetry::is_enabled());
    println!("threads: {}", support::thread_names());
    drop(guard);
    println!("ran: {sum}");
}

fn run(env: &[(&str, &str)]) -> Observed {
    let mut all = vec![("TRACE_EXPORTER", EXPORTERS)];
    all.extend_from_slice(env);
    run_child("child_traced_program", &all, false)
}

/// The program ran to the end, whatever the switches.
fn assert_ran(o: &Observed) {
    assert!(o.success, "the child failed:\n{}\n{}", o.stdout, o.stderr);
    assert_eq!(o.line("ran"), Some("6"), "{}", o.stdout);
}

fn assert_nothing_left_the_process(o: &Observed) {
    assert_ran(o);
    assert_eq!(o.line("recording"), Some("false"));
    assert!(!o.stdout.contains(ROOT), "no span printed:\n{}", o.stdout);
    assert!(o.files.is_empty(), "no file written: {:?}", o.files);
    assert_eq!(o.connections, 0, "no connection to the loopback endpoints: {:?}", o.requests);
    assert!(!o.contains(SECRET), "the recorded value went nowhere");
    if let Some(threads) = o.threads() {
        // libtest's main thread and the test's thread; a new thread may not carry its name yet,
        // so the count is what proves none started.
        assert_eq!(threads.len(), 2, "no export or telemetry thread started: {threads:?}");
    }
}

/// Tracing printed the spans; whether telemetry was sent is checked by the caller.
fn assert_traced(o: &Observed) {
    assert_ran(o);
    assert_eq!(o.line("recording"), Some("true"));
    assert!(o.stdout.contains(ROOT), "the span tree is printed:\n{}", o.stdout);
    let written = |prefix: &str| {
        o.files
            .iter()
            .any(|(path, _)| path.file_name().is_some_and(|n| n.to_string_lossy().starts_with(prefix)))
    };
    assert!(
        written("trace_"),
        "a local trace file is written: {:?}",
        o.files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    assert!(written("traces.db"), "the SQLite database is written");
    assert!(
        !o.contains(SECRET),
        "the API key recorded on a span is redacted before any exporter sees it: stdout, files, SQLite"
    );
    assert!(o.stdout.contains("[REDACTED:"), "the console shows where a secret was");
}

fn telemetry_batches(o: &Observed) -> Vec<serde_json::Value> {
    o.requests.iter().filter(|r| r.path == "/v1/telemetry").map(|r| r.json()).collect()
}

#[test]
fn with_no_switch_the_program_traces_and_sends_telemetry() {
    let o = run(&[]);
    assert_traced(&o);
    assert_eq!(o.line("telemetry"), Some("true"));
    let batches = telemetry_batches(&o);
    assert_eq!(batches.len(), 1, "one batch, sent at shutdown: {:?}", o.requests);
    assert_eq!(batches[0]["agent_runs"][0]["agent_type"], "simple");
    assert_eq!(batches[0]["features"][0]["name"], "voice");
    assert_eq!(batches[0]["errors"][0]["error_type"], "TimeoutError");
    assert!(!o.contains("report: tracing off"));
    if let Some(threads) = o.threads() {
        let lanes = EXPORTERS.split(',').count();
        assert_eq!(
            threads.len(),
            2 + 1 + lanes + 1,
            "libtest's two, the export worker, one lane per exporter and telemetry: {threads:?}"
        );
    }
}

#[test]
fn trace_disable_all_turns_everything_off() {
    let o = run(&[("TRACE_DISABLE_ALL", "true")]);
    assert_nothing_left_the_process(&o);
    assert_eq!(
        o.line("report"),
        Some("tracing off (TRACE_DISABLE_ALL=true); telemetry off (tracing is switched off)")
    );
}

#[test]
fn otel_sdk_disabled_turns_everything_off() {
    let o = run(&[("OTEL_SDK_DISABLED", "true")]);
    assert_nothing_left_the_process(&o);
    assert!(o.line("report").unwrap().starts_with("tracing off (OTEL_SDK_DISABLED=true)"));
}

#[test]
fn the_opt_out_file_turns_everything_off() {
    let o = run_child("child_traced_program", &[("TRACE_EXPORTER", EXPORTERS)], true);
    assert_nothing_left_the_process(&o);
    let report = o.line("report").unwrap();
    assert!(
        report.starts_with("tracing off (opt-out file ") && report.contains(".trace-runtime-no-tracing"),
        "{report}"
    );
}

#[test]
fn trace_debug_prints_the_decision_to_stderr_and_nothing_by_default() {
    let o = run(&[("TRACE_DISABLE_ALL", "true"), ("TRACE_DEBUG", "true")]);
    assert!(o.stderr.contains("trace-runtime: tracing off (TRACE_DISABLE_ALL=true)"), "{}", o.stderr);
    let quiet = run(&[("TRACE_DISABLE_ALL", "true")]);
    assert!(!quiet.stderr.contains("trace-runtime:"), "no noise by default: {}", quiet.stderr);
}

#[test]
fn trace_debug_takes_every_boolean_spelling_and_a_bad_value_is_a_warning() {
    let on = run(&[("TRACE_DISABLE_ALL", "true"), ("TRACE_DEBUG", "yes")]);
    assert!(on.stderr.contains("trace-runtime: tracing off (TRACE_DISABLE_ALL=true)"), "{}", on.stderr);
    let off = run(&[("TRACE_DISABLE_ALL", "true"), ("TRACE_DEBUG", "off")]);
    assert!(!off.stderr.contains("trace-runtime:"), "{}", off.stderr);

    let bad = run(&[("TRACE_DEBUG", "verbose")]);
    assert_traced(&bad);
    assert!(
        bad.stderr.contains(
            "trace-runtime: warning: environment variable `TRACE_DEBUG` is `verbose`: expected true or false"
        ),
        "the variable and the value are named: {}",
        bad.stderr
    );
    assert!(!bad.stderr.contains("trace-runtime: tracing on"), "no report: {}", bad.stderr);
}

#[test]
fn telemetry_enabled_false_keeps_tracing_and_sends_nothing() {
    let o = run(&[("TRACE_TELEMETRY_ENABLED", "false")]);
    assert_traced(&o);
    assert_eq!(o.line("telemetry"), Some("false"));
    assert_eq!(o.connections, 0, "{:?}", o.requests);
}

#[test]
fn in_every_ci_system_telemetry_is_off_and_tracing_unaffected() {
    for &variable in trace_runtime::privacy::CI_VARIABLES {
        let o = run(&[(variable, "true")]);
        assert_traced(&o);
        assert_eq!(o.line("telemetry"), Some("false"), "{variable}");
        assert_eq!(o.connections, 0, "{variable}: {:?}", o.requests);
        assert!(o.line("report").unwrap().contains(&format!("CI detected by {variable}")));
    }
}

#[test]
fn in_ci_telemetry_can_be_turned_back_on() {
    let o = run(&[("CI", "true"), ("TRACE_ENABLE_TELEMETRY_IN_CI", "true")]);
    assert_traced(&o);
    assert_eq!(telemetry_batches(&o).len(), 1, "{:?}", o.requests);
}

#[test]
fn an_invalid_switch_value_is_an_error_from_init_not_a_silent_default() {
    let o = run(&[("TRACE_DISABLE_ALL", "perhaps")]);
    assert!(!o.success);
    let error = o.line("init error").unwrap_or_default();
    assert!(error.contains("`TRACE_DISABLE_ALL` is `perhaps`: expected true or false"), "{}", o.stdout);
    assert_eq!(o.connections, 0);
}

/// A value that is not UTF-8 used to read as "unset": an operator's kill switch silently ignored.
#[cfg(unix)]
#[test]
fn a_non_utf8_switch_is_an_error_naming_it_not_an_unset_switch() {
    use std::{ffi::OsString, os::unix::ffi::OsStringExt};
    let on = OsString::from_vec(b"tr\xffue".to_vec());
    let o = run_child(
        "child_traced_program",
        &[("TRACE_EXPORTER", EXPORTERS.into()), ("TRACE_DISABLE_ALL", on)],
        false,
    );
    assert!(!o.success, "{}", o.stdout);
    let error = o.line("init error").unwrap_or_default();
    assert!(error.contains("`TRACE_DISABLE_ALL` is not valid UTF-8"), "{}", o.stdout);
    assert_eq!(o.connections, 0);
}
