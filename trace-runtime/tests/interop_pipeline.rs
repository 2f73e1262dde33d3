//! Interop through a real `init_with` pipeline and an SDK `InMemorySpanExporter`: OpenTelemetry API
//! and `tracing` spans reach the exporter in the kit's tree, and one trace crosses two services
//! over a real HTTP request on loopback, with the remote sampling decision obeyed.
//!
//! `init` is process-wide, so these tests take turns.

#[path = "privacy_support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::io::{BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Mutex;

use opentelemetry::global;
use opentelemetry::trace::{SpanId, Tracer as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use trace_runtime::config::Exporter;
use trace_runtime::{Config, TraceGuard, init_with, propagation, trace};

static INIT: Mutex<()> = Mutex::new(());

fn start(sampling_rate: f64) -> (std::sync::MutexGuard<'static, ()>, TraceGuard, InMemorySpanExporter) {
    let serial = INIT.lock().unwrap_or_else(|p| p.into_inner());
    let memory = InMemorySpanExporter::default();
    let config = Config::builder()
        .exporter(Exporter::None)
        .service_name("interop-test")
        .sampling_rate(sampling_rate)
        .with_span_exporter(memory.clone())
        .build();
    let guard = init_with(config).expect("init");
    (serial, guard, memory)
}

fn finished(guard: &TraceGuard, memory: &InMemorySpanExporter) -> Vec<SpanData> {
    assert!(guard.flush());
    memory.get_finished_spans().expect("spans")
}

fn find<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no span {name} in {spans:#?}"))
}

fn id(spans: &[SpanData], name: &str) -> SpanId {
    find(spans, name).span_context.span_id()
}

#[cfg(feature = "tracing")]
#[test]
fn otel_api_and_tracing_spans_reach_the_exporter_in_the_kit_tree() {
    use opentelemetry::trace::TraceContextExt;
    use tracing_subscriber::layer::SubscriberExt;
    let (_serial, guard, memory) = start(1.0);
    let subscriber = tracing_subscriber::registry().with(trace_runtime::tracing_layer());
    tracing::subscriber::with_default(subscriber, || {
        trace!("agent turn", {
            global::tracer("vector-db").in_span("similarity search", |cx| {
                cx.span().add_event("hits", vec![opentelemetry::KeyValue::new("count", 3_i64)]);
                trace!("rerank", {});
            });
            tracing::info_span!("tool call", tool = "weather").in_scope(|| {
                tracing::info!("calling");
                trace!("http get", {});
            });
        })
    });
    let spans = finished(&guard, &memory);
    assert_eq!(spans.len(), 5, "{spans:#?}");
    assert_eq!(find(&spans, "similarity search").parent_span_id, id(&spans, "agent turn"));
    assert_eq!(find(&spans, "rerank").parent_span_id, id(&spans, "similarity search"));
    assert_eq!(find(&spans, "tool call").parent_span_id, id(&spans, "agent turn"));
    assert_eq!(find(&spans, "http get").parent_span_id, id(&spans, "tool call"));
    assert_eq!(find(&spans, "similarity search").events.events[0].name, "hits");
    assert_eq!(find(&spans, "tool call").events.events[0].name, "calling");
    let trace_id = find(&spans, "agent turn").span_context.trace_id();
    assert!(spans.iter().all(|s| s.span_context.trace_id() == trace_id));
}

/// Spans made through the bridges inside a trace the rate rejected carry its sampled-out mark:
/// adaptive sampling drops them with a fast trace and keeps them with a failed one, never
/// exporting a bridged child without its trace.
#[cfg(feature = "tracing")]
#[test]
fn bridged_spans_keep_the_sampled_out_mark_of_their_trace() {
    use tracing_subscriber::layer::SubscriberExt;
    let _serial = INIT.lock().unwrap_or_else(|p| p.into_inner());
    let memory = InMemorySpanExporter::default();
    let guard = init_with(
        Config::builder()
            .exporter(Exporter::None)
            .with_span_exporter(memory.clone())
            .sampling_rate(0.0)
            .adaptive_sampling(true)
            .build(),
    )
    .expect("init");
    let subscriber = tracing_subscriber::registry().with(trace_runtime::tracing_layer());
    let turn = |name: &'static str, fail: bool| {
        trace!(name, {
            // Each bridged span with a child of its own: the mark passes through the bridge.
            global::tracer("vector-db").in_span("similarity search", |_| trace!("rerank", {}));
            tracing::info_span!("tool call").in_scope(|| trace!("http get", {}));
            if fail {
                trace_runtime::span::set_error("the tool failed");
            }
        })
    };
    tracing::subscriber::with_default(subscriber, || {
        turn("fast", false);
        turn("failed", true);
    });
    let spans = finished(&guard, &memory);
    let mut names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["failed", "http get", "rerank", "similarity search", "tool call"],
        "the failed trace whole, nothing of the fast one"
    );
    let trace_id = find(&spans, "failed").span_context.trace_id();
    assert!(spans.iter().all(|s| s.span_context.trace_id() == trace_id));
}

/// Service B: a one-request-at-a-time HTTP server on loopback that continues the caller's trace.
fn serve(listener: TcpListener, requests: usize) {
    for _ in 0..requests {
        let Ok((stream, _)) = listener.accept() else { return };
        let mut reader = BufReader::new(stream);
        let request = support::read_request(&mut reader).expect("a request");
        let headers: HashMap<String, String> =
            request.headers.into_iter().map(|(name, value)| (name.to_ascii_lowercase(), value)).collect();
        let body = propagation::extract(&headers).in_scope(|| {
            trace!("b: handle request", {
                trace!("b: query", {});
                "ok"
            })
        });
        support::respond(reader.get_mut(), 200, body);
    }
}

/// Service A: calls B with the current span in `traceparent`.
fn call(addr: std::net::SocketAddr) -> String {
    let mut headers = HashMap::new();
    propagation::inject(&mut headers);
    let mut request = format!("GET /answer HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n");
    for (name, value) in &headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.write_all(request.as_bytes()).expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    response
}

#[test]
fn one_trace_crosses_two_services_over_http() {
    let (_serial, guard, memory) = start(1.0);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    let server = std::thread::spawn(move || serve(listener, 1));
    let response = trace!("a: ask b", { call(addr) });
    server.join().expect("server");
    assert!(response.ends_with("ok"), "{response}");
    let spans = finished(&guard, &memory);
    assert_eq!(spans.len(), 3, "{spans:#?}");
    let client = find(&spans, "a: ask b");
    let handle = find(&spans, "b: handle request");
    assert_eq!(handle.span_context.trace_id(), client.span_context.trace_id());
    assert_eq!(handle.parent_span_id, client.span_context.span_id());
    assert!(handle.parent_span_is_remote);
    assert!(!client.parent_span_is_remote);
    assert_eq!(find(&spans, "b: query").parent_span_id, handle.span_context.span_id());
}

#[test]
fn the_remote_sampling_decision_wins_over_the_local_rate() {
    let (_serial, guard, memory) = start(0.0);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    let server = std::thread::spawn(move || serve(listener, 2));
    // A sampled caller: recorded here although this service samples nothing of its own.
    let sampled = format!("00-{}-{}-01", "a".repeat(32), "b".repeat(16));
    let unsampled = format!("00-{}-{}-00", "c".repeat(32), "d".repeat(16));
    for traceparent in [&sampled, &unsampled] {
        let headers = HashMap::from([("traceparent".to_string(), traceparent.clone())]);
        propagation::extract(&headers).in_scope(|| trace!("a: forward", { call(addr) }));
    }
    trace!("a: local root", {});
    server.join().expect("server");
    let spans = finished(&guard, &memory);
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(spans.len(), 3, "only the sampled remote trace is recorded: {names:?}");
    assert!(spans.iter().all(|s| s.span_context.trace_id().to_string() == "a".repeat(32)));
    assert_eq!(find(&spans, "a: forward").parent_span_id.to_string(), "b".repeat(16));
    assert_eq!(find(&spans, "b: handle request").parent_span_id, id(&spans, "a: forward"));
}

#[test]
fn init_installs_the_global_provider_and_propagator() {
    let (_serial, guard, memory) = start(1.0);
    let mut carrier = HashMap::new();
    global::tracer("lib").in_span("library op", |_cx| {
        global::get_text_map_propagator(|p| p.inject(&mut carrier));
    });
    let spans = finished(&guard, &memory);
    let op = find(&spans, "library op");
    assert_eq!(
        carrier["traceparent"],
        format!("00-{}-{}-01", op.span_context.trace_id(), op.span_context.span_id())
    );
    drop(guard);
    let mut after = global::tracer("lib").start("after shutdown");
    assert!(!opentelemetry::trace::Span::is_recording(&after), "nothing records once the guard dropped");
    opentelemetry::trace::Span::end(&mut after);
}
