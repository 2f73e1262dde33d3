//! W3C Trace Context: inject in one "service", extract in another, and the trace continues; remote
//! sampling flags are obeyed; malformed headers start a new trace and never panic.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanId, TraceContextExt, TraceId};
use opentelemetry::{Context, global};
use opentelemetry_sdk::trace::SpanData;
use trace_runtime::{current_context, propagation, testing, trace};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

fn headers(traceparent: &str, tracestate: Option<&str>) -> HashMap<String, String> {
    let mut map = HashMap::from([("traceparent".to_string(), traceparent.to_string())]);
    if let Some(state) = tracestate {
        map.insert("tracestate".to_string(), state.to_string());
    }
    map
}

fn find<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no span {name} in {spans:#?}"))
}

/// Service B: handles a request carrying `headers`, and calls service C.
fn service_b(headers: &HashMap<String, String>) -> (HashMap<String, String>, Vec<SpanData>) {
    testing::capture(|| {
        let _remote = propagation::extract(headers).attach();
        trace!("b: handle", {
            trace!("b: work", {});
            let mut outgoing = HashMap::new();
            propagation::inject(&mut outgoing);
            outgoing
        })
    })
}

#[test]
fn a_trace_crosses_two_services_on_two_threads() {
    let (outgoing, a_spans) = testing::capture(|| {
        trace!("a: request", {
            let mut headers = HashMap::new();
            propagation::inject(&mut headers);
            headers
        })
    });
    let a_root = &a_spans[0];
    let (_, b_spans) = std::thread::spawn(move || service_b(&outgoing)).join().unwrap();
    let handle = find(&b_spans, "b: handle");
    assert_eq!(handle.span_context.trace_id(), a_root.span_context.trace_id());
    assert_eq!(handle.parent_span_id, a_root.span_context.span_id());
    assert!(handle.parent_span_is_remote);
    let work = find(&b_spans, "b: work");
    assert_eq!(work.parent_span_id, handle.span_context.span_id());
    assert!(!work.parent_span_is_remote);
}

#[test]
fn a_sampled_remote_parent_is_recorded_and_passed_on_with_its_tracestate() {
    let incoming = headers(&format!("00-{TRACE}-{PARENT}-01"), Some("vendor=abc,other=1"));
    let (outgoing, spans) = service_b(&incoming);
    let handle = find(&spans, "b: handle");
    assert_eq!(handle.span_context.trace_id(), TraceId::from_hex(TRACE).unwrap());
    assert_eq!(handle.parent_span_id, SpanId::from_hex(PARENT).unwrap());
    assert!(handle.parent_span_is_remote);
    assert_eq!(handle.span_context.trace_state().header(), "vendor=abc,other=1");
    let traceparent = &outgoing["traceparent"];
    assert_eq!(traceparent, &format!("00-{TRACE}-{}-01", handle.span_context.span_id()));
    assert_eq!(outgoing["tracestate"], "vendor=abc,other=1", "tracestate is passed on downstream");
}

#[test]
fn an_unsampled_remote_parent_records_nothing_but_still_propagates() {
    let incoming = headers(&format!("00-{TRACE}-{PARENT}-00"), None);
    let (outgoing, spans) = service_b(&incoming);
    assert!(spans.is_empty(), "the caller did not sample this trace: {spans:#?}");
    assert_eq!(outgoing["traceparent"], format!("00-{TRACE}-{PARENT}-00"), "same trace, still unsampled");
}

#[test]
fn malformed_headers_start_a_new_trace() {
    let bad = [
        String::new(),
        "garbage".into(),
        "00-xyz".into(),
        format!("00-{}-{PARENT}-01", "0".repeat(32)),
        format!("00-{TRACE}-{}-01", "0".repeat(16)),
        format!("ff-{TRACE}-{PARENT}-01"),
        format!("00-{TRACE}-{PARENT}-zz"),
        format!("00-{}-{PARENT}-01", &TRACE[..30]),
        format!("00-{TRACE}-{PARENT}-01-extra"),
        "00-ｔｒａｃｅ-é-01".into(),
        "-".repeat(10_000),
    ];
    for header in bad {
        let remote = propagation::extract(&headers(&header, Some("not a valid tracestate;;")));
        let (_, spans) = testing::capture(|| remote.in_scope(|| trace!("handle", {})));
        assert_eq!(spans.len(), 1, "{header:?}");
        assert_ne!(spans[0].span_context.trace_id(), TraceId::from_hex(TRACE).unwrap(), "{header:?}");
        assert_eq!(spans[0].parent_span_id, SpanId::INVALID, "{header:?}: a new root");
    }
    let (_, spans) =
        testing::capture(|| propagation::extract(&HashMap::new()).in_scope(|| trace!("no headers", {})));
    assert_eq!(spans[0].parent_span_id, SpanId::INVALID);
}

/// A carrier whose `get` matches names exactly, as a hand-written one might.
struct Pairs(Vec<(&'static str, String)>);

impl opentelemetry::propagation::Extractor for Pairs {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(k, _)| *k).collect()
    }
}

#[test]
fn header_names_match_regardless_of_case() {
    let carrier = Pairs(vec![("TraceParent", format!("00-{TRACE}-{PARENT}-01"))]);
    let carrier: &dyn opentelemetry::propagation::Extractor = &carrier;
    assert_eq!(propagation::extract(carrier).trace_id(), Some(TraceId::from_hex(TRACE).unwrap()));
}

#[test]
fn a_hash_map_carrier_is_read_in_any_case() {
    // OpenTelemetry's own `Extractor` for a map looks up the lowercase name only. A trace id of
    // its own: a trace's `tracestate` is kept process-wide, and other tests use `TRACE`.
    const OWN_TRACE: &str = "5af92f3577b34da6a3ce929d0e0e4736";
    for name in ["Traceparent", "TRACEPARENT", "traceParent"] {
        let map = HashMap::from([
            (name.to_string(), format!("00-{OWN_TRACE}-{PARENT}-01")),
            ("TraceState".to_string(), "vendor=a".to_string()),
            ("Baggage".to_string(), "session.id=s-9".to_string()),
        ]);
        let (_, spans) = testing::capture(|| propagation::extract(&map).in_scope(|| trace!("handle", {})));
        assert_eq!(spans[0].span_context.trace_id(), TraceId::from_hex(OWN_TRACE).unwrap(), "{name}");
        assert_eq!(spans[0].span_context.trace_state().get("vendor"), Some("a"), "{name}");
        assert!(spans[0].attributes.iter().any(|kv| kv.key.as_str() == "session.id"), "{name}: baggage too");
    }
}

#[cfg(feature = "http")]
#[test]
fn http_header_names_match_regardless_of_case() {
    let mut headers = http::HeaderMap::new();
    headers.insert("TRACEPARENT", format!("00-{TRACE}-{PARENT}-01").parse().unwrap());
    assert_eq!(propagation::extract_headers(&headers).trace_id(), Some(TraceId::from_hex(TRACE).unwrap()));
}

#[cfg(feature = "http")]
#[test]
fn http_header_maps_round_trip() {
    let mut request = http::HeaderMap::new();
    let (_, a) = testing::capture(|| trace!("client", { propagation::inject_headers(&mut request) }));
    let (_, b) = testing::capture(|| {
        propagation::extract_headers(&request).in_scope(|| trace!("server", {}));
    });
    assert_eq!(b[0].parent_span_id, a[0].span_context.span_id());
    assert_eq!(b[0].span_context.trace_id(), a[0].span_context.trace_id());
}

#[test]
fn the_global_propagator_injects_kit_spans_and_its_extraction_parents_kit_spans() {
    let (_, spans) = testing::capture(|| {
        let mut carrier = HashMap::new();
        trace!("kit client", {
            global::get_text_map_propagator(|p| p.inject(&mut carrier));
        });
        let remote_cx = global::get_text_map_propagator(|p| p.extract(&carrier));
        assert!(remote_cx.span().span_context().is_remote());
        let _guard = remote_cx.attach();
        trace!("kit server", {});
    });
    let client = find(&spans, "kit client");
    let server = find(&spans, "kit server");
    assert_eq!(server.parent_span_id, client.span_context.span_id());
    assert!(server.parent_span_is_remote);
}

#[test]
fn the_kit_propagator_is_a_text_map_propagator_over_otel_contexts() {
    let propagator = propagation::Propagator::new();
    let mut carrier = HashMap::new();
    propagator.inject_context(&Context::new(), &mut carrier);
    assert!(carrier.is_empty(), "nothing current, nothing injected");
    let incoming = headers(&format!("00-{TRACE}-{PARENT}-01"), Some("k=v"));
    let cx = propagator.extract(&incoming);
    propagator.inject_context(&cx, &mut carrier);
    assert_eq!(carrier["traceparent"], format!("00-{TRACE}-{PARENT}-01"));
    assert_eq!(carrier["tracestate"], "k=v");
}

#[test]
fn a_context_taken_before_a_thread_hop_injects_the_same_parent() {
    let (headers, spans) = testing::capture(|| {
        trace!("producer", {
            let cx = current_context();
            std::thread::spawn(move || {
                let mut headers = HashMap::new();
                propagation::inject_context(&cx, &mut headers);
                headers
            })
            .join()
            .unwrap()
        })
    });
    let producer = &spans[0].span_context;
    assert_eq!(headers["traceparent"], format!("00-{}-{}-01", producer.trace_id(), producer.span_id()));
}
