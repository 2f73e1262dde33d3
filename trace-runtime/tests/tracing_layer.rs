//! `tracing` spans and events through `trace_runtime::tracing_layer()`: nesting with kit spans both
//! ways, fields as attributes, events as span events, the `otel.*` fields and the error status.
//!
//! Each test installs the layer as its thread's default subscriber, so tests run side by side.
#![cfg(feature = "tracing")]

use opentelemetry::trace::{SpanId, SpanKind, Status, Tracer as _};
use opentelemetry::{Value, global};
use opentelemetry_sdk::trace::SpanData;
use trace_runtime::{testing, trace, tracing_layer};
use tracing::Instrument as _;
use tracing_subscriber::layer::SubscriberExt;

fn find<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no span {name} in {spans:#?}"))
}

fn id(spans: &[SpanData], name: &str) -> SpanId {
    find(spans, name).span_context.span_id()
}

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| &kv.value)
}

fn with_layer<R>(f: impl FnOnce() -> R) -> R {
    let subscriber = tracing_subscriber::registry().with(tracing_layer());
    tracing::subscriber::with_default(subscriber, f)
}

#[test]
fn tracing_spans_nest_under_kit_spans_and_kit_spans_under_them() {
    let (_, spans) = with_layer(|| {
        testing::capture(|| {
            trace!("turn", {
                let request =
                    tracing::info_span!("http request", method = "POST", attempt = 2_u64, ok = true);
                let _entered = request.enter();
                trace!("parse body", {
                    tracing::debug_span!("validate", ratio = 0.5).in_scope(|| ());
                });
            })
        })
    });
    assert_eq!(spans.len(), 4);
    let request = find(&spans, "http request");
    assert_eq!(request.parent_span_id, id(&spans, "turn"));
    assert_eq!(find(&spans, "parse body").parent_span_id, id(&spans, "http request"));
    assert_eq!(find(&spans, "validate").parent_span_id, id(&spans, "parse body"));
    assert_eq!(attr(request, "method").map(|v| v.as_str().into_owned()), Some("POST".into()));
    assert_eq!(attr(request, "attempt"), Some(&Value::I64(2)));
    assert_eq!(attr(request, "ok"), Some(&Value::Bool(true)));
    assert_eq!(attr(find(&spans, "validate"), "ratio"), Some(&Value::F64(0.5)));
    assert_eq!(
        attr(request, "code.file.path").map(|v| v.as_str().into_owned()),
        Some(file!().to_string()),
        "the tracing call site"
    );
}

#[test]
fn events_become_span_events_and_errors_set_the_status() {
    let (_, spans) = with_layer(|| {
        testing::capture(|| {
            tracing::info_span!("synthesize").in_scope(|| {
                tracing::info!(voice = "alloy", chars = 42, "started");
                tracing::error!(code = 429, "rate limited");
            });
        })
    });
    let span = &spans[0];
    let events = &span.events.events;
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].name, "started");
    let event_attr = |i: usize, key: &str| {
        events[i].attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.clone())
    };
    assert_eq!(event_attr(0, "level"), Some(Value::from("INFO")));
    assert_eq!(event_attr(0, "voice"), Some(Value::from("alloy")));
    assert_eq!(event_attr(0, "chars"), Some(Value::I64(42)));
    assert_eq!(event_attr(1, "level"), Some(Value::from("ERROR")));
    assert_eq!(span.status, Status::error("rate limited"));
}

#[test]
fn an_event_goes_to_the_innermost_span_kit_or_tracing() {
    let (_, spans) = with_layer(|| {
        testing::capture(|| {
            tracing::info_span!("outer tracing").in_scope(|| {
                trace!("kit inside", { tracing::warn!("in kit span") });
                tracing::warn!("in tracing span");
            });
        })
    });
    assert_eq!(find(&spans, "kit inside").events.events[0].name, "in kit span");
    let outer = find(&spans, "outer tracing");
    assert_eq!(outer.events.events.len(), 1);
    assert_eq!(outer.events.events[0].name, "in tracing span");
}

#[test]
fn recorded_fields_and_otel_fields_shape_the_span() {
    let (_, spans) = with_layer(|| {
        testing::capture(|| {
            let span = tracing::info_span!(
                "request",
                otel.name = "GET /health",
                otel.kind = "server",
                otel.status_code = tracing::field::Empty,
                status = tracing::field::Empty,
            );
            span.record("status", 200);
            span.record("otel.status_code", "ok");
            drop(span);
        })
    });
    let span = &spans[0];
    assert_eq!(span.name, "GET /health");
    assert_eq!(span.span_kind, SpanKind::Server);
    assert_eq!(span.status, Status::Ok);
    assert_eq!(attr(span, "status"), Some(&Value::I64(200)));
    assert!(attr(span, "otel.kind").is_none());
}

#[test]
fn explicit_parents_and_roots_are_respected() {
    let (_, spans) = with_layer(|| {
        testing::capture(|| {
            let job = tracing::info_span!("job");
            trace!("request", {
                tracing::info_span!(parent: &job, "job step").in_scope(|| ());
                tracing::info_span!(parent: None, "detached").in_scope(|| ());
            });
        })
    });
    assert_eq!(find(&spans, "job step").parent_span_id, id(&spans, "job"));
    let detached = find(&spans, "detached");
    assert_eq!(detached.parent_span_id, SpanId::INVALID);
    assert_ne!(detached.span_context.trace_id(), find(&spans, "request").span_context.trace_id());
}

#[test]
fn instrumented_futures_nest_across_awaits() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let (_, spans) = with_layer(|| {
        rt.block_on(testing::capture_async(trace!("turn", async {
            async {
                tokio::task::yield_now().await;
                trace!("inside future", {});
            }
            .instrument(tracing::info_span!("llm call"))
            .await;
            trace!("after", {});
        })))
    });
    assert_eq!(spans.len(), 4);
    assert_eq!(find(&spans, "llm call").parent_span_id, id(&spans, "turn"));
    assert_eq!(find(&spans, "inside future").parent_span_id, id(&spans, "llm call"));
    assert_eq!(find(&spans, "after").parent_span_id, id(&spans, "turn"));
}

#[test]
fn tracing_and_otel_api_spans_share_one_tree() {
    let (_, spans) = with_layer(|| {
        testing::capture(|| {
            tracing::info_span!("tracing root").in_scope(|| {
                global::tracer("lib").in_span("otel child", |_cx| {
                    tracing::info_span!("tracing grandchild").in_scope(|| ());
                });
            });
        })
    });
    assert_eq!(spans.len(), 3);
    assert_eq!(find(&spans, "otel child").parent_span_id, id(&spans, "tracing root"));
    assert_eq!(find(&spans, "tracing grandchild").parent_span_id, id(&spans, "otel child"));
}

#[test]
fn nothing_is_recorded_outside_a_capture_or_init() {
    let (_, spans) = with_layer(|| {
        tracing::info_span!("before").in_scope(|| tracing::info!("ignored"));
        testing::capture(|| {})
    });
    assert!(spans.is_empty());
}

/// A `Debug` value that counts how often it was formatted and how many bytes it was let write.
struct Probe {
    formatted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    written: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    chunks: usize,
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::sync::atomic::Ordering::Relaxed;
        self.formatted.fetch_add(1, Relaxed);
        let chunk = "x".repeat(1024);
        for _ in 0..self.chunks {
            f.write_str(&chunk)?;
            self.written.fetch_add(chunk.len(), Relaxed);
        }
        Ok(())
    }
}

fn probe(chunks: usize) -> Probe {
    Probe { formatted: Default::default(), written: Default::default(), chunks }
}

#[test]
fn an_event_no_span_records_is_not_formatted() {
    use std::sync::atomic::Ordering::Relaxed;
    let outside = probe(1);
    let (_, spans) = with_layer(|| {
        testing::capture(|| {
            tracing::info!(value = ?outside, "no span around me");
            trace!("job", { tracing::info!(value = ?outside, "inside") });
        })
    });
    assert_eq!(find(&spans, "job").events.events.len(), 1);
    assert_eq!(outside.formatted.load(Relaxed), 1, "only the event inside a recorded span was formatted");
}

#[test]
fn a_huge_debug_value_is_formatted_only_up_to_the_value_limit() {
    use std::sync::atomic::Ordering::Relaxed;
    use trace_runtime::limits::MAX_VALUE_BYTES;
    let huge = probe(64 * 1024); // 64 MiB if written in full
    let (_, spans) = with_layer(|| {
        testing::capture(|| {
            tracing::info_span!("upload", body = ?huge).in_scope(|| tracing::info!(body = ?huge, "sent"));
        })
    });
    let upload = find(&spans, "upload");
    assert_eq!(attr(upload, "body").map(|v| v.as_str().len()), Some(MAX_VALUE_BYTES));
    let event = &upload.events.events[0];
    let body = event.attributes.iter().find(|kv| kv.key.as_str() == "body").unwrap();
    assert_eq!(body.value.as_str().len(), MAX_VALUE_BYTES);
    assert!(
        huge.written.load(Relaxed) <= 2 * MAX_VALUE_BYTES,
        "formatting stopped at the limit, not after {} bytes",
        huge.written.load(Relaxed)
    );
}

#[test]
fn the_fields_of_an_unsampled_span_are_not_formatted() {
    use std::collections::HashMap;
    use std::sync::atomic::Ordering::Relaxed;
    let field = probe(1);
    let unsampled = HashMap::from([(
        "traceparent".to_string(),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00".to_string(),
    )]);
    let (_, spans) = with_layer(|| {
        testing::capture(|| {
            let remote = trace_runtime::propagation::extract(&unsampled);
            remote.in_scope(|| tracing::info_span!("skipped", v = ?field).in_scope(|| ()));
            tracing::info_span!("kept", v = ?field, otel.kind = "client").in_scope(|| ());
        })
    });
    assert_eq!(spans.len(), 1, "{spans:#?}");
    assert_eq!(find(&spans, "kept").span_kind, SpanKind::Client, "otel.kind still sets the kind");
    assert_eq!(field.formatted.load(Relaxed), 1, "only the recorded span's field was formatted");
}
