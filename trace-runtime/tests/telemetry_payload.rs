//! The telemetry layer end to end against a real loopback HTTP server: the payload checked field
//! by field for the absence of content, the breaker, the bounded queue, sinks in code, and
//! staying off without a destination or with the kill switch.
//!
//! `init` is process-wide, so these tests take turns.

#[path = "privacy_support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use support::Loopback;
use trace_runtime::config::Exporter;
use trace_runtime::privacy::{TelemetryOff, TelemetryState};
use trace_runtime::telemetry::{self, BreakerState, DeliveryError, Payload};
use trace_runtime::{Config, ConfigBuilder, init_with};

static INIT: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    INIT.lock().unwrap_or_else(|p| p.into_inner())
}

/// Tracing with no span exporter, telemetry kept on even if these tests run in CI.
fn config() -> ConfigBuilder {
    Config::builder()
        .exporter(Exporter::None)
        .telemetry_in_ci(true)
        .telemetry_interval(Duration::from_secs(3600))
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object().expect("an object").keys().map(String::as_str).collect()
}

fn set<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
    names.iter().copied().collect()
}

/// Every string in `v`, recursively.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Object(map) => map.values().for_each(|i| strings(i, out)),
        _ => {}
    }
}

#[test]
fn the_payload_carries_counts_and_names_never_content() {
    let _serial = serial();
    let server = Loopback::start();
    let before = telemetry::metrics();
    let guard = init_with(config().telemetry_endpoint(server.url("/v1/telemetry")).build()).unwrap();
    assert!(matches!(&guard.report().telemetry, TelemetryState::On(url) if url.ends_with("/v1/telemetry")));

    // What a careless caller might pass as labels: every one of these must arrive as `redacted`.
    let cwd = std::env::current_dir().unwrap().display().to_string();
    let home = std::env::home_dir().map(|h| h.display().to_string()).unwrap_or_else(|| "/home/ada".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_else(|_| "buildbox7".into());
    let content: Vec<&'static str> = vec![
        leak(cwd),
        leak(home),
        leak(host.trim().to_string()),
        "/home/ada/agent.py",
        "C:\\Users\\ada",
        "https://api.openai.com/v1/chat",
        "api.openai.com",
        "ada@example.com",
        "10.0.0.5",
        "fe80::1",
        "connection refused by 10.0.0.5:443",
        "sk-live-0123456789abcdef",
        "thread 'main' panicked at src/main.rs:4:5",
    ];
    telemetry::agent_run("simple", "rig", true, Duration::from_millis(1200));
    telemetry::agent_run("simple", "rig", true, Duration::from_millis(300));
    telemetry::agent_run("simple", "rig", false, Duration::from_millis(50));
    telemetry::feature("voice");
    telemetry::error::<std::io::Error>("agent.simple");
    telemetry::error_type("TimeoutError", "agent.simple");
    for &c in &content {
        telemetry::agent_run(c, c, true, Duration::ZERO);
        telemetry::feature(c);
        telemetry::error_type(c, c);
    }
    guard.shutdown().expect("the batch was delivered");

    let requests = server.requests();
    assert_eq!(requests.len(), 1, "one batch at shutdown");
    let request = &requests[0];
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/v1/telemetry"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    let header_names: BTreeSet<String> =
        request.headers.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
    assert_eq!(
        header_names,
        // reqwest's own `accept: */*` besides ours: still no cookie, no auth, no machine id.
        ["accept", "content-length", "content-type", "host", "user-agent"].map(String::from).into(),
        "no other header (no cookie, no auth, no machine id)"
    );
    assert_eq!(request.header("user-agent"), Some(concat!("trace-runtime/", env!("CARGO_PKG_VERSION"))));

    let body = request.json();
    assert_eq!(
        keys(&body),
        set(&[
            "agent_runs",
            "arch",
            "errors",
            "features",
            "kit_version",
            "os",
            "rust_version",
            "schema",
            "sequence",
            "session_id"
        ])
    );
    assert_eq!(body["schema"], telemetry::SCHEMA);
    assert_eq!(body["kit_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["os"], std::env::consts::OS);
    assert_eq!(body["arch"], std::env::consts::ARCH);
    assert_eq!(
        body["sequence"],
        before.batches_sent + before.batches_failed,
        "batches of this process so far"
    );
    let rust = body["rust_version"].as_str().unwrap();
    assert!(rust.split('.').count() >= 3 && rust.starts_with("1."), "a version, no more: {rust}");
    let session = body["session_id"].as_str().unwrap();
    assert!(session.len() == 32 && session.bytes().all(|b| b.is_ascii_hexdigit()), "{session}");

    let runs = body["agent_runs"].as_array().unwrap();
    for run in runs {
        assert_eq!(
            keys(run),
            set(&["agent_type", "count", "framework", "max_duration_ms", "success", "total_duration_ms"])
        );
    }
    let ok = runs.iter().find(|r| r["agent_type"] == "simple" && r["success"] == true).unwrap();
    assert_eq!((&ok["framework"], &ok["count"]), (&Value::from("rig"), &Value::from(2)));
    assert_eq!((&ok["total_duration_ms"], &ok["max_duration_ms"]), (&Value::from(1500), &Value::from(1200)));
    let redacted = runs.iter().find(|r| r["agent_type"] == telemetry::REDACTED).unwrap();
    assert_eq!(redacted["count"], content.len(), "content is counted under `redacted`, not dropped");

    for feature in body["features"].as_array().unwrap() {
        assert_eq!(keys(feature), set(&["count", "name"]));
    }
    let errors = body["errors"].as_array().unwrap();
    for error in errors {
        assert_eq!(keys(error), set(&["component", "count", "error_type"]));
    }
    assert!(
        errors.iter().any(|e| e["error_type"] == "Error" && e["component"] == "agent.simple"),
        "io::Error by type"
    );
    assert!(errors.iter().any(|e| e["error_type"] == "TimeoutError"));

    let mut all = Vec::new();
    strings(&body, &mut all);
    let allowed: BTreeSet<&str> = [
        "simple",
        "rig",
        "voice",
        "Error",
        "TimeoutError",
        "agent.simple",
        telemetry::REDACTED,
        telemetry::SCHEMA,
        env!("CARGO_PKG_VERSION"),
        rust,
        std::env::consts::OS,
        std::env::consts::ARCH,
        session,
    ]
    .into();
    for s in &all {
        assert!(allowed.contains(s.as_str()), "unexpected string in the payload: {s:?}");
    }
    let text = String::from_utf8_lossy(&request.body);
    for c in &content {
        assert!(!text.contains(c), "{c:?} left the process");
    }
    let after = telemetry::metrics();
    assert_eq!(after.labels_redacted - before.labels_redacted, content.len() as u64 * 5);
    assert_eq!(after.batches_sent - before.batches_sent, 1);
}

#[test]
fn a_failing_endpoint_opens_the_breaker_and_costs_no_more_requests() {
    let _serial = serial();
    let server = Loopback::start();
    server.answer_with(503);
    let before = telemetry::metrics();
    let guard = init_with(config().telemetry_endpoint(server.url("/t")).build()).unwrap();
    for _ in 0..telemetry::FAILURES_TO_OPEN {
        telemetry::feature("voice");
        assert!(telemetry::flush(Duration::from_secs(10)));
    }
    let m = telemetry::metrics();
    assert_eq!(m.batches_failed - before.batches_failed, u64::from(telemetry::FAILURES_TO_OPEN));
    assert_eq!(m.breaker, BreakerState::Open);
    let requests = server.connections();
    telemetry::feature("voice");
    assert!(telemetry::flush(Duration::from_secs(10)));
    assert_eq!(server.connections(), requests, "an open breaker sends nothing until its cool-down ends");
    assert!(guard.shutdown().is_ok(), "tracing itself is fine");
    let after = telemetry::metrics();
    assert_eq!(after.events_dropped - before.events_dropped, 1, "the held-back count is reported lost");
}

#[test]
fn a_burst_beyond_the_queue_is_dropped_and_counted_never_blocking() {
    let _serial = serial();
    let batches: Arc<Mutex<Vec<Payload>>> = Arc::default();
    let seen = batches.clone();
    let sink = move |p: &Payload| -> Result<(), DeliveryError> {
        seen.lock().unwrap().push(p.clone());
        Ok(())
    };
    let before = telemetry::metrics();
    let guard = init_with(config().telemetry_sink(sink).build()).unwrap();
    let burst = 4 * telemetry::QUEUE_EVENTS as u64;
    for _ in 0..burst {
        telemetry::feature("voice");
    }
    drop(guard);
    let after = telemetry::metrics();
    let (processed, dropped) =
        (after.events_processed - before.events_processed, after.events_dropped - before.events_dropped);
    assert_eq!(processed + dropped, burst, "every event is counted or reported dropped");
    let sent: u64 = batches.lock().unwrap().iter().flat_map(|p| &p.features).map(|f| f.count).sum();
    assert_eq!(sent, processed);
}

#[test]
fn without_a_destination_or_with_the_kill_switch_nothing_is_collected() {
    let _serial = serial();
    let before = telemetry::metrics();
    telemetry::feature("before-init");
    assert!(!telemetry::is_enabled());

    let guard =
        init_with(Config::builder().exporter(Exporter::None).telemetry_enabled(true).build()).unwrap();
    assert_eq!(guard.report().telemetry, TelemetryState::Off(TelemetryOff::NoDestination));
    telemetry::feature("voice");
    assert!(!telemetry::is_enabled());
    drop(guard);

    let called = Arc::new(Mutex::new(0));
    let count = called.clone();
    let sink = move |_: &Payload| -> Result<(), DeliveryError> {
        *count.lock().unwrap() += 1;
        Ok(())
    };
    let guard = init_with(config().telemetry_sink(sink).disabled(true).build()).unwrap();
    assert_eq!(guard.report().telemetry, TelemetryState::Off(TelemetryOff::KillSwitch));
    telemetry::agent_run("simple", "rig", true, Duration::from_millis(5));
    assert!(!telemetry::is_enabled());
    drop(guard);
    assert_eq!(*called.lock().unwrap(), 0, "the sink was never called");
    assert_eq!(telemetry::metrics(), before, "nothing counted, nothing sent");
}

#[test]
fn telemetry_is_separate_from_tracing() {
    let _serial = serial();
    let memory = trace_runtime::opentelemetry_sdk::trace::InMemorySpanExporter::default();
    let batches: Arc<Mutex<Vec<Payload>>> = Arc::default();
    let seen = batches.clone();
    let sink = move |p: &Payload| -> Result<(), DeliveryError> {
        seen.lock().unwrap().push(p.clone());
        Ok(())
    };
    let guard = init_with(config().with_span_exporter(memory.clone()).telemetry_sink(sink).build()).unwrap();
    trace_runtime::trace!("agent-run", session.id = "s-1", {
        trace_runtime::span::set_unchecked("app.user", "ada@example.com");
        telemetry::agent_run("simple", "rig", true, Duration::from_millis(20));
    });
    assert!(guard.flush());
    assert!(telemetry::flush(Duration::from_secs(10)));
    assert_eq!(memory.get_finished_spans().unwrap().len(), 1, "the span went to the span exporter");
    let batches = batches.lock().unwrap();
    let json = serde_json::to_string(&*batches).unwrap();
    assert!(
        !json.contains("agent-run") && !json.contains("ada@") && !json.contains("s-1"),
        "no span data: {json}"
    );
    assert_eq!(batches[0].agent_runs[0].count, 1);
}

#[test]
fn a_session_started_while_the_last_one_still_sends_keeps_its_own_counts() {
    let _serial = serial();
    let features = |batches: &[Payload]| -> Vec<&'static str> {
        batches.iter().flat_map(|b| b.features.iter().map(|f| f.name)).collect()
    };
    // The first session's destination hangs in each send until the test lets it go.
    let (entered_tx, entered) = std::sync::mpsc::channel::<()>();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let first: Arc<Mutex<Vec<Payload>>> = Arc::default();
    let seen = first.clone();
    let slow = move |p: &Payload| -> Result<(), DeliveryError> {
        let _ = entered_tx.send(());
        let _ = released.recv_timeout(Duration::from_secs(60));
        seen.lock().unwrap().push(p.clone());
        Ok(())
    };
    let guard =
        init_with(config().export_timeout(Duration::from_millis(100)).telemetry_sink(slow).build()).unwrap();
    telemetry::feature("first_a");
    assert!(!telemetry::flush(Duration::from_millis(1)), "the destination hangs");
    entered.recv_timeout(Duration::from_secs(60)).expect("the first batch is being sent");
    telemetry::feature("first_b");
    drop(guard); // gives up waiting: the first thread is still in its send

    let second: Arc<Mutex<Vec<Payload>>> = Arc::default();
    let seen = second.clone();
    let sink = move |p: &Payload| -> Result<(), DeliveryError> {
        seen.lock().unwrap().push(p.clone());
        Ok(())
    };
    let guard = init_with(config().telemetry_sink(sink).build()).unwrap();
    telemetry::feature("second");
    release.send(()).unwrap(); // the first batch
    entered.recv_timeout(Duration::from_secs(60)).expect("the first session's last batch");
    release.send(()).unwrap();
    drop(guard);
    // The first thread has pushed its last batch once it returns from the released send.
    let give_up = std::time::Instant::now() + Duration::from_secs(60);
    while first.lock().unwrap().len() < 2 {
        assert!(std::time::Instant::now() < give_up, "the first thread never sent its last batch");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(features(&first.lock().unwrap()), ["first_a", "first_b"], "the first session's counts");
    assert_eq!(features(&second.lock().unwrap()), ["second"], "the second session's counts");
}

#[test]
fn the_http_sink_reaches_a_collector_named_localhost() {
    use trace_runtime::telemetry::{HttpTelemetrySink, TelemetrySink};
    let server = Loopback::start();
    let mut sink = HttpTelemetrySink::new(&format!("http://localhost:{}/v1/telemetry", server.port)).unwrap();
    sink.send(&Payload::example()).expect("one of localhost's addresses is the collector's");
    let requests = server.requests();
    assert_eq!((requests[0].method.as_str(), requests[0].path.as_str()), ("POST", "/v1/telemetry"));
    assert_eq!(requests[0].json()["schema"], trace_runtime::telemetry::SCHEMA);
}
