//! One secret, put through every public API that carries text, must reach no exporter and no sink
//! in clear: OTLP (HTTP/protobuf) and Zipkin receivers, the JSON trace files, the SQLite database,
//! the run directory and each remote sink (REST, Datadog, Loki, CloudWatch, Elasticsearch), all on
//! loopback. Every byte they receive is searched, and each must have received something.
//!
//! One test: `init` is process-wide and the remote sinks read process variables.
#![cfg(all(
    feature = "otlp",
    feature = "zipkin",
    feature = "file-store",
    feature = "sqlite",
    feature = "sinks",
    feature = "tracing"
))]

mod common;
mod support {
    pub mod http_server;
}

use std::path::{Path, PathBuf};
use std::time::Duration;

use opentelemetry::trace::{Status, TraceContextExt as _, Tracer as _};
use opentelemetry::{KeyValue, global};
use prost::Message as _;
use support::http_server::Server;
use trace_runtime::config::{Exporter, OtlpProtocol};
use trace_runtime::log::{self, Level};
use trace_runtime::{Config, Evaluation, init_with, keys, span, trace, trace_llm, trace_tool, tracing_layer};
use tracing_subscriber::layer::SubscriberExt as _;

/// What the built-in `openai_key` rule matches.
const SECRET: &str = "sk-proj-S3cr3tS3cr3tS3cr3tS3cr3tXYZ9";
/// The part of [`SECRET`] that must appear nowhere (a half-scrubbed or cut secret still shows it).
const CORE: &str = "S3cr3tS3cr3tS3cr3tS3cr3tXYZ9";
/// In every span and log record: its presence proves a sink received the scenario.
const ROOT: &str = "secrets-turn";
const LOG_MARK: &str = "log-visible";

const WAIT: Duration = Duration::from_secs(10);

#[trace_llm(provider = "openai", model = "gpt-4o-mini", input = prompt, output = String::as_str)]
fn complete(prompt: &str) -> String {
    format!("the key is {SECRET}")
}

/// A tool: its arguments and result are captured.
#[trace_tool(name = "vault")]
fn vault(query: &str) -> Result<String, String> {
    Ok(format!("{query} -> {SECRET}"))
}

/// Every text-carrying API, each given the secret.
fn scenario() {
    let subscriber = tracing_subscriber::registry().with(tracing_layer());
    tracing::subscriber::with_default(subscriber, || {
        log::info(format!("{LOG_MARK} outside any span {SECRET}"));
        let _run = log::run(format!("run-{SECRET}")).parent(format!("parent-{SECRET}")).enter();
        trace!(ROOT, "app.field" = SECRET, {
            span::set(keys::audio::codec, SECRET);
            span::set_unchecked("app.api_key", SECRET);
            // A key in a namespace the kit also writes to.
            span::set_unchecked("code.note", SECRET);
            span::add_event(format!("event {SECRET}"), [KeyValue::new("event.arg", SECRET)]);
            log::info!("{LOG_MARK} macro {SECRET}");
            log::warning(format!("{LOG_MARK} fn {SECRET}"));
            log::entry(Level::Error, format!("{LOG_MARK} entry {SECRET}"))
                .meta("token", SECRET)
                .meta(format!("key-{SECRET}"), 1)
                .error(&std::io::Error::other(format!("io {SECRET}")))
                .emit();
            log::exception(&std::io::Error::other(format!("exception {SECRET}")));
            complete(&format!("please use {SECRET}"));
            let _ = vault(&format!("look up {SECRET}"));
            span::record_evaluation(
                Evaluation::new("judge").label("leak").explanation(&format!("saw {SECRET}")),
            );
            // An association value, carried to the span below.
            trace!("associated", user.id = SECRET, { trace!("below associated", {}) });
            trace!("record-error", {
                span::record_error(&std::io::Error::other(format!("failed with {SECRET}")));
            });
            trace!("set-error", {
                span::set_error(format!("bad key {SECRET}"));
            });
            tracing::info_span!("tracing-span", api_key = SECRET, otel.status_message = SECRET).in_scope(
                || {
                    tracing::info!(token = SECRET, "calling with {}", SECRET);
                    tracing::error!("rejected {}", SECRET);
                },
            );
            global::tracer("bridge").in_span(format!("otel {SECRET}"), |cx| {
                let span = cx.span();
                span.set_attribute(KeyValue::new("otel.arg", SECRET));
                // A GenAI call through the API: its metric points carry the model too.
                span.set_attribute(KeyValue::new("gen_ai.operation.name", "chat"));
                span.set_attribute(KeyValue::new("gen_ai.request.model", format!("model-{SECRET}")));
                span.add_event(format!("otel event {SECRET}"), vec![KeyValue::new("otel.event.arg", SECRET)]);
                span.set_status(Status::error(format!("otel status {SECRET}")));
            });
        });
    });
}

/// Every file under `dir`, with its path.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, bytes));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// What one destination received, as bytes: bodies, headers, file names and contents.
struct Received {
    name: String,
    bytes: Vec<u8>,
}

fn from_server(name: &str, server: &Server) -> Received {
    let mut bytes = Vec::new();
    for r in server.received() {
        bytes.extend(r.method.as_bytes());
        bytes.extend(r.path.as_bytes());
        for (k, v) in &r.headers {
            bytes.extend(k.as_bytes());
            bytes.extend(v.as_bytes());
        }
        bytes.extend(r.body.as_bytes());
    }
    Received { name: name.into(), bytes }
}

fn from_receiver(name: &str, receiver: &common::Receiver) -> Received {
    let mut bytes = Vec::new();
    for (path, content_type, body) in receiver.state.bodies.lock().unwrap().iter() {
        bytes.extend(path.as_bytes());
        bytes.extend(content_type.as_bytes());
        bytes.extend(body);
    }
    for request in receiver.state.grpc.lock().unwrap().iter() {
        bytes.extend(request.encode_to_vec());
    }
    for (k, v) in receiver.state.last_headers.lock().unwrap().iter() {
        bytes.extend(k.as_bytes());
        bytes.extend(v.as_bytes());
    }
    Received { name: name.into(), bytes }
}

fn from_dir(name: &str, dir: &Path) -> Received {
    let mut bytes = Vec::new();
    for (path, content) in files(dir) {
        bytes.extend(path.display().to_string().as_bytes());
        bytes.extend(content);
    }
    Received { name: name.into(), bytes }
}

#[test]
fn a_secret_reaches_no_exporter_and_no_sink_in_clear() {
    let sandbox = std::env::temp_dir().join(format!("trace-secrets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&sandbox);
    let (traces, db_dir, runs) = (sandbox.join("traces"), sandbox.join("db"), sandbox.join("runs"));
    std::fs::create_dir_all(&db_dir).unwrap();

    let otlp = common::http_receiver();
    let zipkin = common::http_receiver();
    let servers: Vec<(&str, Server)> = ["rest", "datadog", "loki", "cloudwatch", "elasticsearch"]
        .into_iter()
        .map(|name| (name, Server::start(vec![])))
        .collect();
    let url = |name: &str| servers.iter().find(|(n, _)| *n == name).map(|(_, s)| s.url.clone()).unwrap();
    // SAFETY: the only test of this binary, before any thread of the kit reads the environment.
    unsafe {
        std::env::set_var("TRACE_REST_URL", format!("{}/ingest", url("rest")));
        std::env::set_var("TRACE_DATADOG_API_KEY", "dd-test-key");
        std::env::set_var("TRACE_DATADOG_URL", format!("{}/api/v2/logs", url("datadog")));
        std::env::set_var("TRACE_LOKI_URL", url("loki"));
        std::env::set_var("TRACE_CLOUDWATCH_URL", url("cloudwatch"));
        std::env::set_var("TRACE_CLOUDWATCH_LOG_GROUP", "secrets");
        std::env::set_var("TRACE_CLOUDWATCH_LOG_STREAM", "test");
        std::env::set_var("AWS_REGION", "us-east-1");
        std::env::remove_var("AWS_ACCESS_KEY_ID");
        std::env::remove_var("AWS_SECRET_ACCESS_KEY");
        std::env::set_var("TRACE_ELASTICSEARCH_URL", url("elasticsearch"));
        std::env::set_var("TRACE_SINK_MAX_ATTEMPTS", "1");
        std::env::set_var("TRACE_SINK_TIMEOUT_MS", "5000");
    }
    let metrics = opentelemetry_sdk::metrics::InMemoryMetricExporter::default();
    let mut builder = Config::builder()
        .with_metric_exporter(metrics.clone())
        .service_name("secrets-test")
        .telemetry_enabled(false)
        .capture_io(true)
        .summary(false)
        .exporter(Exporter::Otlp)
        .otlp_protocol(OtlpProtocol::HttpProtobuf)
        .otlp_endpoint(otlp.url())
        .exporter(Exporter::Zipkin)
        .zipkin_endpoint(format!("{}/api/v2/spans", zipkin.url()))
        .exporter(Exporter::File)
        .local_dir(&traces)
        .exporter(Exporter::Sqlite)
        .sqlite_path(db_dir.join("traces.db"))
        .log_dir(&runs);
    for exporter in
        [Exporter::Rest, Exporter::Datadog, Exporter::Loki, Exporter::CloudWatch, Exporter::Elasticsearch]
    {
        builder = builder.exporter(exporter);
    }
    let guard = init_with(builder.build()).expect("every exporter and sink starts");

    scenario();

    assert!(guard.flush(), "the exporters took every span");
    let spans_arrived = |r: &common::Receiver| {
        let state = r.state.clone();
        move || state.bodies.lock().unwrap().iter().any(|(_, _, b)| contains(b, ROOT))
    };
    assert!(common::wait_until(WAIT, spans_arrived(&otlp)), "OTLP received the trace");
    assert!(common::wait_until(WAIT, spans_arrived(&zipkin)), "Zipkin received the trace");
    drop(guard);

    let mut received = vec![from_receiver("otlp", &otlp), from_receiver("zipkin", &zipkin)];
    received.extend(servers.iter().map(|(name, server)| from_server(name, server)));
    received.push(from_dir("file store", &traces));
    received.push(from_dir("sqlite store", &db_dir));
    received.push(from_dir("run directory", &runs));
    let points = format!("{:?}", metrics.get_finished_metrics().expect("metrics were exported"));
    received.push(Received { name: "metrics".into(), bytes: points.into_bytes() });

    let mut leaks = Vec::new();
    for r in &received {
        // The run directory holds log records only; every other destination also holds spans.
        let mark = match r.name.as_str() {
            "run directory" => LOG_MARK,
            "metrics" => "model-[REDACTED",
            _ => ROOT,
        };
        assert!(contains(&r.bytes, mark), "{} received nothing of the scenario", r.name);
        if r.name == "file store" {
            // The agent layer's texts were recorded (and scrubbed), not left out.
            for key in
                ["gen_ai.tool.call.arguments", "gen_ai.tool.call.result", "gen_ai.evaluation.explanation"]
            {
                assert!(contains(&r.bytes, key), "the file store has no {key}");
            }
        }
        let text = String::from_utf8_lossy(&r.bytes);
        let found: Vec<usize> = text.match_indices(CORE).map(|(at, _)| at).collect();
        for &at in found.iter().take(6) {
            let start = text.floor_char_boundary(at.saturating_sub(100));
            let end = text.ceil_char_boundary((at + CORE.len() + 20).min(text.len()));
            leaks.push(format!("{} ({} times): …{}…", r.name, found.len(), &text[start..end]));
        }
    }
    assert!(leaks.is_empty(), "the secret reached these destinations in clear:\n{}", leaks.join("\n"));
    let _ = std::fs::remove_dir_all(&sandbox);
}
