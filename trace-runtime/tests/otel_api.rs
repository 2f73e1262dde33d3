//! Spans made through the OpenTelemetry API and kit spans in one tree, both ways round, checked on
//! the exported `SpanData` of `testing::capture`.

use std::time::{Duration, SystemTime};

use opentelemetry::trace::{
    FutureExt as _, Link, Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags,
    TraceId, TraceState, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue, global};
use opentelemetry_sdk::trace::SpanData;
use trace_runtime::{otel, span, testing, trace, trace_pipeline};

fn find<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no span {name} in {spans:#?}"))
}

fn id(spans: &[SpanData], name: &str) -> SpanId {
    find(spans, name).span_context.span_id()
}

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a opentelemetry::Value> {
    span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| &kv.value)
}

#[trace_pipeline(name = "voice", element = "stt")]
fn transcribe() -> &'static str {
    global::tracer("stt-client").in_span("POST /v1/transcribe", |_cx| "hello")
}

#[test]
fn global_tracer_spans_are_children_of_the_current_kit_span() {
    let (text, spans) = testing::capture(|| trace!("turn", { transcribe() }));
    assert_eq!(text, "hello");
    assert_eq!(spans.len(), 3);
    let post = find(&spans, "POST /v1/transcribe");
    assert_eq!(post.parent_span_id, id(&spans, "transcribe"));
    assert_eq!(find(&spans, "transcribe").parent_span_id, id(&spans, "turn"));
    assert!(spans.iter().all(|s| s.span_context.trace_id() == post.span_context.trace_id()));
    assert_eq!(post.instrumentation_scope.name(), "stt-client");
    assert!(attr(post, "code.file.path").is_none(), "no kit call site on an API span");
}

#[test]
fn kit_spans_nest_under_an_api_span_made_current_by_in_span() {
    let (_, spans) = testing::capture(|| {
        global::tracer("app").in_span("handler", |cx| {
            cx.span().set_attribute(KeyValue::new("http.route", "/chat"));
            trace!("load history", { trace!("decode", {}) });
            transcribe();
        })
    });
    assert_eq!(spans.len(), 5);
    let handler = find(&spans, "handler");
    assert_eq!(handler.parent_span_id, SpanId::INVALID, "a root");
    assert_eq!(attr(handler, "http.route").map(|v| v.as_str().into_owned()), Some("/chat".into()));
    assert_eq!(find(&spans, "load history").parent_span_id, id(&spans, "handler"));
    assert_eq!(find(&spans, "decode").parent_span_id, id(&spans, "load history"));
    assert_eq!(find(&spans, "transcribe").parent_span_id, id(&spans, "handler"));
    assert_eq!(find(&spans, "POST /v1/transcribe").parent_span_id, id(&spans, "transcribe"));
}

#[test]
fn kit_spans_nest_under_an_attached_context_and_return_to_the_outer_span_after() {
    let (_, spans) = testing::capture(|| {
        let tracer = global::tracer("app");
        trace!("outer", {
            let span = tracer.start("attached");
            let cx = Context::current_with_span(span);
            {
                let _guard = cx.clone().attach();
                trace!("inside", {});
            }
            trace!("after", {});
            cx.span().end();
        })
    });
    assert_eq!(spans.len(), 4);
    assert_eq!(find(&spans, "attached").parent_span_id, id(&spans, "outer"));
    assert_eq!(find(&spans, "inside").parent_span_id, id(&spans, "attached"));
    assert_eq!(find(&spans, "after").parent_span_id, id(&spans, "outer"), "the guard put the kit span back");
}

#[test]
fn start_with_an_explicit_context_uses_that_parent() {
    let tracer = otel::TracerProvider::default().tracer("app");
    let (_, spans) = testing::capture(|| {
        let parent = tracer.start("background job");
        let parent_cx = Context::new().with_span(parent);
        trace!("unrelated request", {
            let mut child = tracer.start_with_context("job step", &parent_cx);
            child.end();
            let mut root = tracer.start_with_context("fresh root", &Context::new());
            root.end();
            let mut here = tracer.start("here");
            here.end();
        });
        parent_cx.span().end();
    });
    assert_eq!(find(&spans, "job step").parent_span_id, id(&spans, "background job"));
    assert_eq!(find(&spans, "here").parent_span_id, id(&spans, "unrelated request"));
    assert_eq!(
        find(&spans, "fresh root").parent_span_id,
        id(&spans, "unrelated request"),
        "with no OpenTelemetry span current, a span-less context means the current kit span"
    );
}

#[test]
fn builder_fields_reach_the_exported_span() {
    let tracer = otel::TracerProvider::default().tracer("http");
    let start = SystemTime::now() - Duration::from_secs(3);
    let linked = SpanContext::new(
        TraceId::from(0x1234_u128),
        SpanId::from(0x99_u64),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    let (_, spans) = testing::capture(|| {
        let mut span = tracer
            .span_builder("GET /models")
            .with_kind(SpanKind::Client)
            .with_start_time(start)
            .with_attributes([KeyValue::new("http.request.method", "GET"), KeyValue::new("retry", 0_i64)])
            .with_links(vec![Link::with_context(linked.clone())])
            .start(&tracer);
        assert!(span.is_recording());
        span.set_attribute(KeyValue::new("retry", 2_i64));
        span.add_event("response headers", vec![KeyValue::new("bytes", 512_i64)]);
        span.update_name("GET /v1/models");
        span.set_status(Status::error("503"));
        span.end();
    });
    let span = &spans[0];
    assert_eq!(span.name, "GET /v1/models");
    assert_eq!(span.span_kind, SpanKind::Client);
    assert_eq!(span.status, Status::error("503"));
    assert_eq!(attr(span, "retry"), Some(&opentelemetry::Value::I64(2)), "the last value wins");
    assert_eq!(attr(span, "http.request.method").map(|v| v.as_str().into_owned()), Some("GET".into()));
    assert_eq!(span.events.events[0].name, "response headers");
    assert_eq!(span.links.links[0].span_context, linked);
    let started = span.start_time.duration_since(start).unwrap_or_else(|e| e.duration());
    assert!(started < Duration::from_millis(50), "the builder's start time is kept: off by {started:?}");
    assert!(span.end_time >= span.start_time);
}

#[test]
fn ok_status_is_final_and_drop_ends_the_span() {
    let (_, spans) = testing::capture(|| {
        let mut span = global::tracer("app").start("checked");
        span.set_status(Status::Ok);
        span.set_status(Status::error("late"));
        span.set_status(Status::Unset);
    });
    assert_eq!(spans.len(), 1, "dropped without end(): still exported");
    assert_eq!(spans[0].status, Status::Ok);
}

#[test]
fn an_api_span_ended_twice_is_exported_once() {
    let (_, spans) = testing::capture(|| {
        let mut span = global::tracer("app").start("once");
        span.end();
        span.end();
        span.set_attribute(KeyValue::new("after.end", true));
    });
    assert_eq!(spans.len(), 1);
    assert!(attr(&spans[0], "after.end").is_none());
}

#[test]
fn the_current_span_is_carried_to_another_thread_through_the_otel_context() {
    let (_, spans) = testing::capture(|| {
        global::tracer("app").in_span("parent", |cx| {
            std::thread::spawn(move || {
                let _guard = cx.attach();
                trace!("on another thread", {});
            })
            .join()
            .unwrap();
        })
    });
    assert_eq!(spans.len(), 2, "the kit span reached this capture from the other thread: {spans:#?}");
    assert_eq!(find(&spans, "on another thread").parent_span_id, id(&spans, "parent"));
}

#[test]
fn async_api_spans_and_kit_spans_nest_across_awaits() {
    let tracer = otel::Tracer::default();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (_, spans) = rt.block_on(testing::capture_async(async {
        trace!("request", async {
            let span = tracer.start("llm stream");
            let cx = Context::current_with_span(span);
            async {
                tokio::task::yield_now().await;
                trace!("chunk", {});
                tokio::task::yield_now().await;
            }
            .with_context(cx.clone())
            .await;
            cx.span().end();
            trace!("after stream", {});
        })
        .await
    }));
    assert_eq!(spans.len(), 4);
    assert_eq!(find(&spans, "llm stream").parent_span_id, id(&spans, "request"));
    assert_eq!(find(&spans, "chunk").parent_span_id, id(&spans, "llm stream"));
    assert_eq!(find(&spans, "after stream").parent_span_id, id(&spans, "request"));
}

#[test]
fn kit_span_utilities_act_on_the_innermost_kit_span_around_api_spans() {
    let (_, spans) = testing::capture(|| {
        trace!("outer", {
            global::tracer("app").in_span("api", |_cx| {
                assert_eq!(span::span_id(), Some(id_of_current()));
                trace!("inner", { span::set_unchecked("where", "inner") });
            });
            span::set_unchecked("where", "outer");
        })
    });
    assert_eq!(attr(find(&spans, "inner"), "where").map(|v| v.as_str().into_owned()), Some("inner".into()));
    assert_eq!(attr(find(&spans, "outer"), "where").map(|v| v.as_str().into_owned()), Some("outer".into()));
}

fn id_of_current() -> SpanId {
    Context::map_current(|cx| cx.span().span_context().span_id())
}

#[test]
fn nothing_is_recorded_outside_a_capture_or_init() {
    let tracer = global::tracer("app");
    let mut span = tracer.start("nowhere");
    assert!(!span.is_recording());
    span.end();
    let (_, spans) = testing::capture(|| {});
    assert!(spans.is_empty());
}

#[test]
fn api_spans_obey_the_kit_limits() {
    let (_, spans) = testing::capture(|| {
        let mut span = global::tracer("app").start("big");
        for i in 0..200 {
            span.set_attribute(KeyValue::new(format!("key.{i}"), i as i64));
        }
        span.set_attribute(KeyValue::new("huge", "x".repeat(trace_runtime::limits::MAX_VALUE_BYTES * 2)));
        for _ in 0..200 {
            span.add_event("tick", vec![]);
        }
        span.end();
    });
    let span = &spans[0];
    assert_eq!(span.attributes.len(), trace_runtime::limits::MAX_ATTRIBUTES);
    assert_eq!(span.dropped_attributes_count, 200 + 1 - trace_runtime::limits::MAX_ATTRIBUTES as u32);
    assert_eq!(span.events.events.len(), trace_runtime::limits::MAX_EVENTS);
    assert_eq!(span.events.dropped_count, 200 - trace_runtime::limits::MAX_EVENTS as u32);
}

#[test]
fn unsampled_api_roots_pass_their_decision_to_kit_children() {
    // Captures sample everything; an unsampled remote parent is the way to get an unsampled trace.
    let headers = std::collections::HashMap::from([(
        "traceparent".to_string(),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00".to_string(),
    )]);
    let (_, spans) = testing::capture(|| {
        let _remote = trace_runtime::propagation::extract(&headers).attach();
        global::tracer("app").in_span("api", |cx| {
            assert!(!cx.span().is_recording());
            assert!(!cx.span().span_context().is_sampled());
            trace!("kit", {});
        });
    });
    assert!(spans.is_empty(), "{spans:#?}");
}

#[test]
fn guards_dropped_out_of_order_restore_the_kit_span() {
    let (_, spans) = testing::capture(|| {
        trace!("outer", {
            let tracer = global::tracer("app");
            let a = Context::current_with_span(tracer.start("a"));
            let guard_a = a.clone().attach();
            let b = Context::current_with_span(tracer.start("b"));
            let guard_b = b.clone().attach();
            trace!("in b", {});
            drop(guard_a);
            drop(guard_b);
            trace!("back in outer", {});
            a.span().end();
            b.span().end();
        })
    });
    assert_eq!(find(&spans, "b").parent_span_id, id(&spans, "a"));
    assert_eq!(find(&spans, "in b").parent_span_id, id(&spans, "b"));
    assert_eq!(find(&spans, "back in outer").parent_span_id, id(&spans, "outer"));
}

#[test]
fn api_spans_carried_into_tasks_on_a_multi_thread_runtime_keep_their_children() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    let (_, spans) = rt.block_on(testing::capture_async(async {
        let cx = Context::current_with_span(global::tracer("app").start("request"));
        let tasks: Vec<_> = (0..4)
            .map(|i| {
                tokio::spawn(
                    async move {
                        tokio::task::yield_now().await;
                        trace!("task", "task.index" = i, async { tokio::task::yield_now().await }).await;
                    }
                    .with_context(cx.clone()),
                )
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        cx.span().end();
    }));
    assert_eq!(spans.len(), 5, "every task's span reached the capture: {spans:#?}");
    let request = id(&spans, "request");
    assert!(spans.iter().filter(|s| s.name == "task").all(|s| s.parent_span_id == request));
}

#[test]
fn events_names_and_statuses_keep_the_kits_limits() {
    use trace_runtime::limits::{MAX_EVENT_ATTRIBUTES, MAX_VALUE_BYTES};
    let huge = "x".repeat(MAX_VALUE_BYTES * 4);
    let tracer = otel::Tracer::default();
    let (_, spans) = testing::capture(|| {
        let mut span = tracer.start(huge.clone());
        let many: Vec<KeyValue> =
            (0..MAX_EVENT_ATTRIBUTES * 2).map(|i| KeyValue::new(format!("k{i}"), 1)).collect();
        span.add_event(huge.clone(), many);
        let list = opentelemetry::Array::String(vec![huge.clone().into()]);
        span.add_event("list", vec![KeyValue::new("items", opentelemetry::Value::Array(list))]);
        span.set_status(opentelemetry::trace::Status::error(huge.clone()));
    });
    let span = &spans[0];
    assert_eq!(span.name.len(), MAX_VALUE_BYTES, "the span name is cut");
    let events = &span.events.events;
    assert_eq!(events[0].name.len(), MAX_VALUE_BYTES, "the event name is cut");
    assert_eq!(events[0].attributes.len(), MAX_EVENT_ATTRIBUTES, "event attributes are bounded");
    let opentelemetry::Value::Array(opentelemetry::Array::String(items)) = &events[1].attributes[0].value
    else {
        panic!("an array of strings: {:?}", events[1].attributes)
    };
    assert_eq!(items[0].as_str().len(), MAX_VALUE_BYTES, "strings in arrays are cut too");
    let opentelemetry::trace::Status::Error { description } = &span.status else {
        panic!("{:?}", span.status)
    };
    assert_eq!(description.len(), MAX_VALUE_BYTES, "the status description is cut");
}

#[test]
fn contexts_attached_deeper_than_the_mirror_restore_their_own_span_on_exit() {
    let remote = |i: u64| {
        SpanContext::new(
            TraceId::from(0xabcu128),
            SpanId::from(i),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        )
    };
    let (_, spans) = testing::capture(|| {
        // A deep recursion, each level attaching a context with a span of its own.
        let mut guards: Vec<_> =
            (1..=1100u64).map(|i| Context::current().with_remote_span_context(remote(i)).attach()).collect();
        while guards.len() > 1050 {
            guards.pop();
        }
        trace!("at depth 1050", {});
        while let Some(guard) = guards.pop() {
            drop(guard);
        }
        trace!("after all", {});
    });
    assert_eq!(find(&spans, "at depth 1050").parent_span_id, SpanId::from(1050u64));
    assert_eq!(find(&spans, "after all").parent_span_id, SpanId::INVALID, "back to no span");
}
