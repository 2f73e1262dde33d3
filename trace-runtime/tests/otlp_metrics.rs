//! `OTEL_METRICS_EXPORTER=otlp` for real: a child process configured only by the standard
//! variables sends its GenAI metrics to a loopback collector over gRPC, HTTP/protobuf and
//! HTTP/JSON (the `_METRICS_` variables winning over the general ones), and
//! `OTEL_METRICS_EXPORTER=console` prints them.

mod common;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use prost::Message as _;
use trace_runtime::{Usage, span, trace_llm};

const CHILD: &str = "OTLP_METRICS_CHILD";

#[trace_llm(provider = "openai", model = "gpt-4o-mini")]
fn ask() {
    span::record_usage(Usage { input_tokens: 40, output_tokens: 2, ..Default::default() });
}

/// Run as a child: the environment decides everything.
#[test]
fn child_program() {
    if std::env::var(CHILD).is_err() {
        return;
    }
    let guard = trace_runtime::init().expect("init from the environment");
    ask();
    ask();
    println!("shutdown: {:?}", guard.shutdown());
}

fn run(envs: &[(&str, &str)]) -> String {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_program", "--nocapture", "--test-threads", "1"])
        .env(CHILD, "1")
        .env("TRACE_TELEMETRY_ENABLED", "false")
        .env("TRACE_EXPORTER", "none")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_PROTOCOL")
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    // Both streams: warnings are on standard error.
    format!("{stdout}\n{stderr}")
}

/// A child whose shutdown exported everything.
fn run_ok(envs: &[(&str, &str)]) -> String {
    let stdout = run(envs);
    assert!(stdout.contains("shutdown: Ok(())"), "{stdout}");
    stdout
}

/// (metric name, unit, token type, count, sum) of each histogram point.
fn points(request: &ExportMetricsServiceRequest) -> Vec<(String, String, Option<String>, u64, f64)> {
    let mut out = Vec::new();
    for metric in request.resource_metrics.iter().flat_map(|r| &r.scope_metrics).flat_map(|s| &s.metrics) {
        if let Some(Data::Histogram(h)) = &metric.data {
            for p in &h.data_points {
                let token_type = common::attr(&p.attributes, "gen_ai.token.type");
                assert_eq!(
                    common::attr(&p.attributes, "gen_ai.request.model").as_deref(),
                    Some("gpt-4o-mini")
                );
                out.push((
                    metric.name.clone(),
                    metric.unit.clone(),
                    token_type,
                    p.count,
                    p.sum.unwrap_or(0.0),
                ));
            }
        }
    }
    out.sort_by(|a, b| a.partial_cmp(b).unwrap());
    out
}

fn assert_genai(request: &ExportMetricsServiceRequest) {
    let service =
        request.resource_metrics[0].resource.as_ref().map(|r| common::attr(&r.attributes, "service.name"));
    assert!(service.flatten().is_some(), "the resource names the service");
    let points = points(request);
    let shape: Vec<_> =
        points.iter().map(|(n, u, t, c, _)| (n.as_str(), u.as_str(), t.as_deref(), *c)).collect();
    assert_eq!(
        shape,
        [
            ("gen_ai.client.operation.duration", "s", None, 2),
            ("gen_ai.client.token.usage", "{token}", Some("input"), 2),
            ("gen_ai.client.token.usage", "{token}", Some("output"), 2),
        ]
    );
    assert_eq!((points[1].4, points[2].4), (80.0, 4.0), "token sums");
}

#[test]
fn metrics_reach_a_grpc_collector_with_the_metrics_headers() {
    let collector = common::grpc_receiver();
    run_ok(&[
        ("OTEL_METRICS_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.url()),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=general"),
        ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x-tenant=metrics"),
    ]);
    let requests = collector.state.grpc_metrics.lock().unwrap();
    assert!(!requests.is_empty(), "no metrics arrived");
    assert_genai(requests.last().unwrap());
    assert_eq!(collector.state.header("x-tenant").as_deref(), Some("metrics"), "the _METRICS_ headers win");
    assert!(collector.state.grpc.lock().unwrap().is_empty(), "TRACE_EXPORTER=none: no spans");
}

#[test]
fn metrics_reach_an_http_collector_as_protobuf_and_as_json() {
    let collector = common::http_receiver();
    run_ok(&[
        ("OTEL_METRICS_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.url()),
    ]);
    {
        let bodies = collector.state.bodies.lock().unwrap();
        let (path, content_type, body) = bodies.last().expect("a metrics request");
        assert_eq!((path.as_str(), content_type.as_str()), ("/v1/metrics", "application/x-protobuf"));
        assert_genai(&ExportMetricsServiceRequest::decode(body.as_slice()).unwrap());
    }
    let full = format!("{}/custom/metrics", collector.url());
    run_ok(&[
        ("OTEL_METRICS_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", &full),
    ]);
    let bodies = collector.state.bodies.lock().unwrap();
    let (path, content_type, body) = bodies.last().unwrap();
    assert_eq!((path.as_str(), content_type.as_str()), ("/custom/metrics", "application/json"));
    let json = String::from_utf8_lossy(body);
    assert!(json.contains("gen_ai.client.token.usage") && json.contains("{token}"), "{json}");
}

#[test]
fn console_metrics_are_printed_and_none_prints_nothing() {
    let out = run_ok(&[("OTEL_METRICS_EXPORTER", "console")]);
    let line = out.lines().find(|l| {
        l.contains("metric gen_ai.client.token.usage [{token}]") && l.contains("gen_ai.token.type=input")
    });
    assert!(line.is_some_and(|l| l.contains("count=2 sum=80")), "{out}");
    let quiet = run_ok(&[("OTEL_METRICS_EXPORTER", "none")]);
    assert!(!quiet.contains("metric gen_ai"), "{quiet}");
}

#[test]
fn a_dead_metrics_collector_is_reported_at_shutdown_and_an_unknown_exporter_is_a_warning() {
    let dead = format!("http://{}", common::closed_port());
    let out = run(&[
        ("OTEL_METRICS_EXPORTER", "otlp,prometheus"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &dead),
        ("TRACE_EXPORT_TIMEOUT_MS", "500"),
    ]);
    assert!(out.contains("shutdown: Err") && out.contains("metric"), "the failed export is reported: {out}");
    assert!(out.contains("`OTEL_METRICS_EXPORTER` names `prometheus`"), "{out}");
}
