//! Spans reach real receivers on loopback as sent: OTLP over gRPC, HTTP/protobuf and HTTP/JSON,
//! and Zipkin JSON — names, parentage, attributes, status and resource. Also adaptive sampling,
//! end to end. `init` is process-wide, so these tests take turns.
#![cfg(all(feature = "otlp", feature = "zipkin"))] // the backends under test

mod common;

use std::sync::Mutex;
use std::time::Duration;

use common::{attr, otlp_spans, wait_until};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_sdk::trace::InMemorySpanExporter;
use prost::Message;
use trace_runtime::config::{Exporter, OtlpProtocol};
use trace_runtime::{Config, ConfigBuilder, init_with, trace, trace_pipeline};

static INIT: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    INIT.lock().unwrap_or_else(|p| p.into_inner())
}

const WAIT: Duration = Duration::from_secs(20);

#[trace_pipeline(name = "voice", element = "stt")]
fn transcribe(i: u32) -> Result<u32, String> {
    if i == 2 { Err("no speech".into()) } else { Ok(i) }
}

/// One trace: a root with a session id and three children, the last of which fails.
fn turn() {
    trace!("turn", session.id = "s-42", {
        for i in 0..3 {
            let _ = transcribe(i);
        }
    });
}

fn base() -> ConfigBuilder {
    Config::builder()
        .service_name("backend-test")
        .service_version("1.2.3")
        .environment("test")
        .resource_attribute("team", "voice")
}

fn check_otlp(requests: &[ExportTraceServiceRequest]) {
    let spans = otlp_spans(requests);
    assert_eq!(spans.len(), 4, "one root and three children");
    let (resource, root) = spans.iter().find(|(_, s)| s.name == "turn").expect("the root arrived");
    assert!(root.parent_span_id.is_empty(), "the root has no parent");
    assert_eq!(attr(&root.attributes, "session.id").as_deref(), Some("s-42"));
    for (key, value) in [
        ("service.name", "backend-test"),
        ("service.version", "1.2.3"),
        ("deployment.environment.name", "test"),
        ("team", "voice"),
        ("process.pid", &std::process::id().to_string()),
    ] {
        assert_eq!(attr(resource, key).as_deref(), Some(value), "resource {key}");
    }
    let children: Vec<_> = spans.iter().filter(|(_, s)| s.name == "transcribe").collect();
    assert_eq!(children.len(), 3);
    for (_, child) in &children {
        assert_eq!(child.parent_span_id, root.span_id, "children nest under the root");
        assert_eq!(child.trace_id, root.trace_id);
        assert_eq!(attr(&child.attributes, "pipeline.element").as_deref(), Some("stt"));
    }
    let failed: Vec<_> = children
        .iter()
        .filter(|(_, s)| s.status.as_ref().is_some_and(|st| st.code == StatusCode::Error as i32))
        .collect();
    assert_eq!(failed.len(), 1, "the failing call is marked");
    assert_eq!(failed[0].1.status.as_ref().unwrap().message, "no speech");
}

#[test]
fn otlp_grpc_delivers_spans_parentage_attributes_status_and_resource() {
    let _serial = serial();
    let collector = common::grpc_receiver();
    let guard = init_with(
        base()
            .exporter(Exporter::Otlp)
            .otlp_protocol(OtlpProtocol::Grpc)
            .otlp_endpoint(collector.url())
            .otlp_header("x-api-key", "secret-1")
            .build(),
    )
    .unwrap();
    turn();
    assert!(guard.flush());
    let state = &collector.state;
    assert!(wait_until(WAIT, || otlp_spans(&state.grpc.lock().unwrap()).len() >= 4));
    check_otlp(&state.grpc.lock().unwrap());
    assert_eq!(state.header("x-api-key").as_deref(), Some("secret-1"));
    let exporter = &trace_runtime::metrics().exporters[0];
    assert_eq!((exporter.name.as_str(), exporter.spans_exported, exporter.spans_failed), ("otlp", 4, 0));
    guard.shutdown().expect("everything was sent");
}

#[test]
fn otlp_http_protobuf_delivers_the_same() {
    let _serial = serial();
    let collector = common::http_receiver();
    let guard = init_with(
        base()
            .exporter(Exporter::Otlp)
            .otlp_protocol(OtlpProtocol::HttpProtobuf)
            .otlp_endpoint(collector.url())
            .otlp_header("authorization", "Bearer t")
            .build(),
    )
    .unwrap();
    turn();
    assert!(guard.flush());
    let state = &collector.state;
    assert!(wait_until(WAIT, || otlp_spans(&http_requests(state, false)).len() >= 4));
    check_otlp(&http_requests(state, false));
    let bodies = state.bodies.lock().unwrap();
    assert_eq!(bodies[0].0, "/v1/traces", "the signal path is added to the base endpoint");
    assert_eq!(bodies[0].1, "application/x-protobuf");
    drop(bodies);
    assert_eq!(state.header("authorization").as_deref(), Some("Bearer t"));
    guard.shutdown().expect("everything was sent");
}

/// The export requests an OTLP/HTTP collector received, bodies gunzipped when `gzip`.
fn http_requests(state: &common::State, gzip: bool) -> Vec<ExportTraceServiceRequest> {
    let bodies = state.bodies.lock().unwrap();
    bodies
        .iter()
        .map(|(_, _, body)| {
            let mut raw = Vec::new();
            match gzip {
                true => {
                    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(body.as_slice()), &mut raw)
                        .map(|_| raw)
                        .expect("a gzip body")
                }
                false => body.clone(),
            }
        })
        .map(|raw| ExportTraceServiceRequest::decode(raw.as_slice()).unwrap())
        .collect()
}

#[test]
fn otlp_gzip_compresses_grpc_and_http_bodies() {
    let _serial = serial();
    for protocol in [OtlpProtocol::Grpc, OtlpProtocol::HttpProtobuf] {
        let grpc = protocol == OtlpProtocol::Grpc;
        let collector = if grpc { common::grpc_receiver() } else { common::http_receiver() };
        let guard = init_with(
            base()
                .exporter(Exporter::Otlp)
                .otlp_protocol(protocol)
                .otlp_endpoint(collector.url())
                .otlp_gzip(true)
                .build(),
        )
        .unwrap();
        turn();
        assert!(guard.flush());
        let state = &collector.state;
        let received = || if grpc { state.grpc.lock().unwrap().clone() } else { http_requests(state, true) };
        assert!(wait_until(WAIT, || otlp_spans(&received()).len() >= 4), "{protocol:?}");
        check_otlp(&received());
        let (header, value) = if grpc { ("grpc-encoding", "gzip") } else { ("content-encoding", "gzip") };
        assert_eq!(state.header(header).as_deref(), Some(value), "{protocol:?}: the request was compressed");
        guard.shutdown().expect("everything was sent");
    }
}

#[test]
fn otlp_http_json_delivers_json() {
    let _serial = serial();
    let collector = common::http_receiver();
    let guard = init_with(
        base()
            .exporter(Exporter::Otlp)
            .otlp_protocol(OtlpProtocol::HttpJson)
            .otlp_endpoint(collector.url())
            .build(),
    )
    .unwrap();
    turn();
    assert!(guard.flush());
    let state = &collector.state;
    let spans = || -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        for (_, _, body) in state.bodies.lock().unwrap().iter() {
            let json: serde_json::Value = serde_json::from_slice(body).unwrap();
            for rs in json["resourceSpans"].as_array().unwrap() {
                for ss in rs["scopeSpans"].as_array().unwrap() {
                    out.extend(ss["spans"].as_array().unwrap().iter().cloned());
                }
            }
        }
        out
    };
    assert!(wait_until(WAIT, || spans().len() >= 4));
    let spans = spans();
    let root = spans.iter().find(|s| s["name"] == "turn").unwrap();
    let children = spans.iter().filter(|s| s["name"] == "transcribe");
    assert!(children.clone().all(|c| c["parentSpanId"] == root["spanId"]));
    assert_eq!(children.count(), 3);
    assert!(state.bodies.lock().unwrap()[0].1.contains("json"));
    guard.shutdown().expect("everything was sent");
}

#[test]
fn zipkin_delivers_v2_json_with_the_service_name() {
    let _serial = serial();
    let zipkin = common::http_receiver();
    let guard = init_with(
        base().exporter(Exporter::Zipkin).zipkin_endpoint(format!("{}/api/v2/spans", zipkin.url())).build(),
    )
    .unwrap();
    turn();
    assert!(guard.flush());
    let state = &zipkin.state;
    let spans = || -> Vec<serde_json::Value> {
        state
            .bodies
            .lock()
            .unwrap()
            .iter()
            .flat_map(|(_, _, body)| serde_json::from_slice::<Vec<serde_json::Value>>(body).unwrap())
            .collect()
    };
    assert!(wait_until(WAIT, || spans().len() >= 4));
    let spans = spans();
    assert_eq!(state.bodies.lock().unwrap()[0].0, "/api/v2/spans");
    let root = spans.iter().find(|s| s["name"] == "turn").unwrap();
    assert!(root.get("parentId").is_none(), "a root has no parentId");
    assert_eq!(root["localEndpoint"]["serviceName"], "backend-test");
    assert_eq!(root["tags"]["session.id"], "s-42");
    assert_eq!(root["tags"]["service.version"], "1.2.3");
    assert_eq!(root["traceId"].as_str().unwrap().len(), 32);
    let children: Vec<_> = spans.iter().filter(|s| s["name"] == "transcribe").collect();
    assert_eq!(children.len(), 3);
    assert!(children.iter().all(|c| c["parentId"] == root["id"] && c["traceId"] == root["traceId"]));
    let failed: Vec<_> = children.iter().filter(|c| c["tags"]["otel.status_code"] == "ERROR").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["tags"]["error"], "no speech");
    guard.shutdown().expect("everything was sent");
}

#[test]
fn fan_out_sends_every_span_to_every_exporter() {
    let _serial = serial();
    let (collector, zipkin) = (common::grpc_receiver(), common::http_receiver());
    let memory = InMemorySpanExporter::default();
    let guard = init_with(
        base()
            .exporter(Exporter::Otlp)
            .exporter(Exporter::Zipkin)
            .otlp_endpoint(collector.url())
            .zipkin_endpoint(format!("{}/api/v2/spans", zipkin.url()))
            .with_span_exporter(memory.clone())
            .build(),
    )
    .unwrap();
    turn();
    assert!(guard.flush());
    assert!(wait_until(WAIT, || otlp_spans(&collector.state.grpc.lock().unwrap()).len() >= 4));
    assert!(wait_until(WAIT, || zipkin.state.accepted.load(std::sync::atomic::Ordering::SeqCst) >= 1));
    assert_eq!(memory.get_finished_spans().unwrap().len(), 4);
    let names: Vec<String> = trace_runtime::metrics().exporters.iter().map(|e| e.name.clone()).collect();
    assert_eq!(names, ["otlp", "zipkin", "custom-1"]);
    guard.shutdown().expect("everything was sent");
}

#[test]
fn bad_settings_are_errors_from_init_naming_the_value() {
    let _serial = serial();
    let err = init_with(Config::builder().exporter(Exporter::Otlp).otlp_endpoint("localhost:4317").build())
        .unwrap_err();
    assert!(err.to_string().contains("otlp_endpoint(localhost:4317)"), "{err}");
    let err = init_with(Config::builder().exporter(Exporter::Otlp).otlp_header("bad header", "x").build())
        .unwrap_err();
    assert!(err.to_string().contains("bad header=x"), "{err}");
    let ok = init_with(Config::builder().exporter(Exporter::None).build());
    assert!(ok.is_ok(), "a refused init leaves tracing free to start");
}

#[trace_pipeline(name = "voice", element = "tts")]
fn speak(fail: bool) -> Result<(), String> {
    if fail { Err("tts down".into()) } else { Ok(()) }
}

#[test]
fn adaptive_sampling_keeps_errored_and_slow_traces_the_rate_rejected() {
    let _serial = serial();
    let memory = InMemorySpanExporter::default();
    let before = trace_runtime::metrics();
    let guard = init_with(
        Config::builder()
            .exporter(Exporter::None)
            .with_span_exporter(memory.clone())
            .sampling_rate(0.0)
            .adaptive_sampling(true)
            .slow_trace_threshold(Duration::from_millis(50))
            .build(),
    )
    .unwrap();
    for _ in 0..20 {
        trace!("fine", {
            let _ = speak(false);
        });
    }
    trace!("failing", {
        let _ = speak(true);
    });
    trace!("slow", {
        std::thread::sleep(Duration::from_millis(80));
        let _ = speak(false);
    });
    assert!(guard.flush());
    let spans = memory.get_finished_spans().unwrap();
    let mut names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
    names.sort_unstable();
    assert_eq!(names, ["failing", "slow", "speak", "speak"], "whole traces, errored or slow");
    let after = trace_runtime::metrics();
    assert_eq!(
        after.spans_dropped_sampled_out - before.spans_dropped_sampled_out,
        40,
        "20 fine traces of 2 spans"
    );
    drop(guard);

    // Adaptive sampling off: the rate alone decides, nothing is recorded.
    let memory = InMemorySpanExporter::default();
    let guard = init_with(
        Config::builder()
            .exporter(Exporter::None)
            .with_span_exporter(memory.clone())
            .sampling_rate(0.0)
            .build(),
    )
    .unwrap();
    trace!("failing", {
        let _ = speak(true);
    });
    assert!(guard.flush());
    assert!(memory.get_finished_spans().unwrap().is_empty());
}
