//! `TRACE_EXPORTER=rest` and `TRACE_LOG_DIR` through `init()`: spans and every log record reach
//! the REST endpoint once each, and the run directory. One test: it sets process variables.

#![cfg(feature = "sinks")]

mod support {
    pub mod http_server;
}

use support::http_server::Server;
use trace_runtime::{log, trace};

#[test]
fn init_installs_remote_sinks_and_the_run_directory_from_the_environment() {
    let server = Server::start(vec![]);
    let dir = std::env::temp_dir().join(format!("trace-sinks-init-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);

    // SAFETY: the only test of this binary; no other thread reads the environment yet.
    unsafe {
        std::env::set_var("TRACE_EXPORTER", "datadog");
        std::env::remove_var("TRACE_DATADOG_API_KEY");
        std::env::remove_var("DD_API_KEY");
    }
    let err = trace_runtime::init().expect_err("datadog without an API key is refused");
    assert!(err.to_string().contains("TRACE_DATADOG_API_KEY"), "{err}");

    unsafe {
        std::env::set_var("TRACE_EXPORTER", "rest");
        std::env::set_var("TRACE_REST_URL", format!("{}/v1/ingest", server.url));
        std::env::set_var("TRACE_REST_TOKEN", "tok-9");
        std::env::set_var("TRACE_REST_HEADERS", "x-env=test");
        std::env::set_var("TRACE_LOG_DIR", &dir);
        std::env::set_var("OTEL_SERVICE_NAME", "voice-agent");
    }
    let guard = trace_runtime::init().expect("valid settings");
    log::run("wf-init").in_scope(|| {
        log::info("before any span");
        trace!("turn", { log::warning("inside the turn") });
    });
    drop(guard);

    let docs: Vec<serde_json::Value> = server
        .received()
        .iter()
        .inspect(|r| {
            assert_eq!(r.path, "/v1/ingest");
            assert_eq!(r.header("authorization"), Some("Bearer tok-9"));
            assert_eq!(r.header("x-env"), Some("test"));
        })
        .flat_map(|r| r.json().as_array().cloned().unwrap())
        .collect();
    let spans: Vec<_> = docs.iter().filter(|d| d["type"] == "span").collect();
    let logs: Vec<_> = docs.iter().filter(|d| d["type"] == "log").collect();
    assert_eq!(spans.len(), 1, "{docs:#?}");
    assert_eq!(spans[0]["name"], "turn");
    assert_eq!(spans[0]["service"], "voice-agent");
    let mut messages: Vec<_> = logs.iter().map(|d| d["message"].as_str().unwrap()).collect();
    messages.sort();
    assert_eq!(messages, ["before any span", "inside the turn"], "each record once");
    let inside = logs.iter().find(|d| d["message"] == "inside the turn").unwrap();
    assert_eq!(inside["span_id"], spans[0]["span_id"]);

    let stdout = std::fs::read_to_string(dir.join("run_id=wf-init").join("stdout.txt")).unwrap();
    assert!(
        stdout.contains("[INFO] before any span") && stdout.contains("[WARNING] inside the turn"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
