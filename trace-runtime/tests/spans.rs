//! What a user sees of the span runtime, through `testing::capture`: parentage across sync code,
//! `.await`, tasks and threads; errors, panics and cancelled futures; usage, events, attributes.

use std::time::Duration;

use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry_sdk::trace::SpanData;
use trace_runtime::{
    TraceFutureExt, Usage, record_usage, span, testing, trace, trace_connection, trace_llm, trace_pipeline,
};

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a opentelemetry::Value> {
    span.attributes.iter().rev().find(|kv| kv.key.as_str() == key).map(|kv| &kv.value)
}

fn named<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no span {name} in {spans:#?}"))
}

#[trace_pipeline(name = "voice", element = "resample", fields(audio.sample_rate = 16000, audio.channels = 1))]
fn resample(samples: &[i16]) -> Vec<i16> {
    samples.iter().step_by(3).copied().collect()
}

#[trace_llm(provider = "openai", model = "gpt-4o-mini")]
async fn complete(prompt: &str) -> Result<String, std::io::Error> {
    record_usage(Usage { input_tokens: 31, output_tokens: 27, ..Default::default() });
    tokio::task::yield_now().await;
    if prompt.is_empty() {
        return Err(std::io::Error::other("empty prompt"));
    }
    Ok(prompt.to_uppercase())
}

#[trace_connection(id = conn_id, kind = "webrtc", state = "connected")]
async fn serve(conn_id: &str) {
    tokio::time::sleep(Duration::from_millis(5)).await;
}

#[test]
fn nested_sync_spans_share_the_trace_and_link_parents() {
    let (out, spans) = testing::capture(|| trace!("turn", session.id = "s-1", { resample(&[1, 2, 3, 4]) }));
    assert_eq!(out, vec![1, 4]);
    assert_eq!(spans.len(), 2);
    let (turn, step) = (named(&spans, "turn"), named(&spans, "resample"));
    assert_eq!(turn.parent_span_id, SpanId::INVALID);
    assert_eq!(step.parent_span_id, turn.span_context.span_id());
    assert_eq!(step.span_context.trace_id(), turn.span_context.trace_id());
    assert!(step.start_time >= turn.start_time && step.end_time <= turn.end_time);
    assert_eq!(attr(turn, "session.id").map(|v| v.as_str().into_owned()), Some("s-1".into()));
    assert_eq!(attr(step, "pipeline.name").map(|v| v.as_str().into_owned()), Some("voice".into()));
    assert_eq!(attr(step, "audio.sample_rate"), Some(&opentelemetry::Value::I64(16000)));
    assert_eq!(
        attr(step, "code.function.name").map(|v| v.as_str().into_owned()),
        Some("spans::resample".into())
    );
    assert_eq!(step.span_kind, SpanKind::Internal);
}

#[cfg(feature = "tokio")] // `trace_runtime::spawn`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_spans_keep_their_parent_across_await_and_tasks() {
    let (answer, spans) = testing::capture_async(trace!("turn", async {
        let answer = complete("hi").await;
        let handle = trace_runtime::spawn(async { serve("c-1").await });
        handle.await.unwrap();
        answer
    }))
    .await;
    assert_eq!(answer.unwrap(), "HI");
    let turn = named(&spans, "turn");
    let llm = named(&spans, "chat gpt-4o-mini");
    let conn = named(&spans, "serve");
    assert_eq!(llm.parent_span_id, turn.span_context.span_id());
    assert_eq!(conn.parent_span_id, turn.span_context.span_id());
    assert_eq!(llm.span_kind, SpanKind::Client);
    assert_eq!(attr(llm, "gen_ai.operation.name").map(|v| v.as_str().into_owned()), Some("chat".into()));
    assert_eq!(attr(llm, "gen_ai.usage.input_tokens"), Some(&opentelemetry::Value::I64(31)));
    assert_eq!(attr(llm, "gen_ai.usage.output_tokens"), Some(&opentelemetry::Value::I64(27)));
    assert_eq!(attr(llm, "gen_ai.usage.cache_read.input_tokens"), None, "zero counts are left out");
    assert_eq!(attr(conn, "connection.type").map(|v| v.as_str().into_owned()), Some("webrtc".into()));
    assert!(conn.end_time.duration_since(conn.start_time).unwrap() >= Duration::from_millis(5));
}

/// Every argument a literal: the fn awaits its plain body when tracing is off, and makes its span
/// at the first poll of the traced future otherwise.
#[trace_pipeline(name = "voice", element = "vad")]
async fn listen(crash: bool) -> usize {
    tokio::time::sleep(Duration::from_millis(5)).await;
    trace!("frame", {});
    if crash {
        panic!("vad crashed");
    }
    3
}

#[tokio::test]
async fn a_literal_only_async_fn_dropped_mid_poll_is_exported_cancelled_under_its_parent() {
    let ((), spans) = testing::capture_async(trace!("turn", async {
        let mut slow = std::pin::pin!(listen(false));
        assert!(futures::poll!(slow.as_mut()).is_pending());
    }))
    .await;
    let vad = named(&spans, "listen");
    assert_eq!(attr(vad, "span.cancelled"), Some(&opentelemetry::Value::Bool(true)));
    assert_eq!(vad.parent_span_id, named(&spans, "turn").span_context.span_id());
    assert!(spans.iter().all(|s| s.name != "frame"), "the body stopped at its sleep");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_literal_only_async_fn_is_the_parent_of_its_children_and_records_its_panic() {
    let (outcomes, spans) = testing::capture_async(trace!("turn", async {
        let ok = trace_runtime::spawn(listen(false)).await.ok();
        let crashed = trace_runtime::spawn(listen(true)).await.is_err();
        (ok, crashed)
    }))
    .await;
    assert_eq!(outcomes, (Some(3), true));
    let turn = named(&spans, "turn").span_context.span_id();
    let vads: Vec<_> = spans.iter().filter(|s| s.name == "listen").collect();
    assert_eq!(vads.len(), 2, "{spans:#?}");
    for vad in &vads {
        assert_eq!(vad.parent_span_id, turn);
        let frames =
            spans.iter().filter(|s| s.name == "frame" && s.parent_span_id == vad.span_context.span_id());
        assert_eq!(frames.count(), 1, "the frame after the await is the fn's child: {spans:#?}");
    }
    let crashed = vads.iter().find(|s| s.status != Status::Unset).expect("the crashed call's span");
    let Status::Error { description } = &crashed.status else { unreachable!() };
    assert!(description.contains("vad crashed"), "{description}");
}

#[tokio::test]
async fn an_err_return_sets_status_error_with_its_text() {
    let (result, spans) = testing::capture_async(complete("")).await;
    assert!(result.is_err());
    assert_eq!(spans[0].status, Status::error("empty prompt"));
}

#[test]
fn a_panic_ends_the_span_with_an_error_and_still_propagates() {
    let ((), spans) = testing::capture(|| {
        let result = std::panic::catch_unwind(|| trace!("outer", { trace!("inner", { panic!("boom") }) }));
        assert!(result.is_err(), "the panic propagates");
    });
    assert_eq!(spans.len(), 2);
    for s in &spans {
        let Status::Error { description } = &s.status else { panic!("{s:?}") };
        assert!(description.contains("panic") && description.contains("boom"), "{description}");
        let event = &s.events.events[0];
        assert_eq!(event.name, "exception");
        assert!(event.attributes.iter().any(|kv| kv.key.as_str() == "exception.message"));
    }
}

#[test]
fn a_span_never_reports_an_earlier_panics_message() {
    let ((), spans) = testing::capture(|| {
        // Caught outside any span: its message is never taken by a span.
        let _ = std::panic::catch_unwind(|| panic!("an earlier panic"));
        // `resume_unwind` runs no panic hook, so nothing records this panic's message.
        let result = std::panic::catch_unwind(|| {
            trace!("later", { std::panic::resume_unwind(Box::new("a later panic")) })
        });
        assert!(result.is_err());
    });
    let Status::Error { description } = &named(&spans, "later").status else { panic!("{spans:?}") };
    assert!(!description.contains("earlier"), "{description}");
    assert!(description.contains("panic"), "{description}");
}

#[test]
fn a_panic_re_raised_inside_its_span_keeps_its_message() {
    let ((), spans) = testing::capture(|| {
        let result = std::panic::catch_unwind(|| {
            trace!("re-raised", {
                let Err(payload) = std::panic::catch_unwind(|| panic!("the original"));
                std::panic::resume_unwind(payload)
            })
        });
        assert!(result.is_err());
    });
    let Status::Error { description } = &named(&spans, "re-raised").status else { panic!("{spans:?}") };
    assert!(description.contains("the original"), "{description}");
}

#[tokio::test]
async fn a_panicking_task_marks_its_span() {
    let ((), spans) = testing::capture_async(async {
        let task = tokio::spawn(trace!("task", async { panic!("in task") }).in_current_trace());
        assert!(task.await.is_err());
    })
    .await;
    let Status::Error { description } = &named(&spans, "task").status else { panic!() };
    assert!(description.contains("in task"));
}

#[tokio::test]
async fn a_dropped_future_is_exported_marked_cancelled() {
    let ((), spans) = testing::capture_async(trace!("turn", async {
        // Polled once, its sleep pending, then dropped before it completes, as a timeout or a
        // `select!` drops it: a 1 ms timeout racing the 5 ms sleep lost on a loaded machine.
        let mut slow = std::pin::pin!(serve("c-2"));
        assert!(futures::poll!(slow.as_mut()).is_pending());
    }))
    .await;
    let conn = named(&spans, "serve");
    assert_eq!(attr(conn, "span.cancelled"), Some(&opentelemetry::Value::Bool(true)));
    assert_eq!(conn.status, Status::Unset, "cancellation is not an error");
    assert_eq!(conn.parent_span_id, named(&spans, "turn").span_context.span_id());
}

#[test]
fn threads_carry_the_current_span() {
    let ((), spans) = testing::capture(|| {
        trace!("parent", {
            let handles: Vec<_> =
                (0..4).map(|i| trace_runtime::thread::spawn(move || trace!("worker", { i }))).collect();
            for h in handles {
                h.join().unwrap();
            }
            std::thread::scope(|s| {
                trace_runtime::thread::spawn_scoped(s, || trace!("scoped", {}));
            });
        })
    });
    let parent = named(&spans, "parent").span_context.span_id();
    assert_eq!(spans.len(), 6);
    assert!(spans.iter().filter(|s| s.name != "parent").all(|s| s.parent_span_id == parent));
}

#[test]
fn concurrent_captures_are_isolated() {
    let handles: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                testing::capture(|| {
                    for _ in 0..50 {
                        trace!("job", job::index = i, { resample(&[1, 2, 3]) });
                    }
                })
                .1
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let spans = h.join().unwrap();
        assert_eq!(spans.len(), 100);
        let jobs = spans.iter().filter(|s| s.name == "job");
        assert!(jobs.into_iter().all(|s| attr(s, "job.index") == Some(&opentelemetry::Value::I64(i as i64))));
    }
}

mod keys {
    trace_runtime::define_keys! {
        /// Keys of this test.
        pub mod job {
            /// Which job.
            index: i64,
        }
    }
}
use keys::job;

#[test]
fn spans_outside_a_capture_are_not_recorded() {
    let outside = std::thread::spawn(|| {
        for _ in 0..1000 {
            trace!("outside", {});
        }
    });
    let ((), spans) = testing::capture(|| trace!("inside", {}));
    outside.join().unwrap();
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].name, "inside");
}

#[test]
fn usage_recorded_in_chunks_adds_up() {
    #[trace_llm(provider = "anthropic", model = "claude-sonnet-4-5")]
    fn stream() {
        for _ in 0..3 {
            record_usage(Usage { output_tokens: 10, reasoning_tokens: 2, ..Default::default() });
        }
        record_usage(Usage { input_tokens: 100, cache_read_tokens: 80, ..Default::default() });
    }
    let ((), spans) = testing::capture(stream);
    let s = &spans[0];
    assert_eq!(attr(s, "gen_ai.usage.input_tokens"), Some(&opentelemetry::Value::I64(100)));
    assert_eq!(attr(s, "gen_ai.usage.output_tokens"), Some(&opentelemetry::Value::I64(30)));
    assert_eq!(attr(s, "gen_ai.usage.reasoning.output_tokens"), Some(&opentelemetry::Value::I64(6)));
    assert_eq!(attr(s, "gen_ai.usage.cache_read.input_tokens"), Some(&opentelemetry::Value::I64(80)));
}

#[test]
fn span_utilities_work_on_the_current_span() {
    let ((), spans) = testing::capture(|| {
        trace!("decode", {
            span::set(trace_runtime::keys::audio::codec, "opus");
            span::set(trace_runtime::keys::audio::codec, String::from("pcm"));
            span::set_unchecked("app.tenant", "acme");
            span::add_event("frame.dropped", [opentelemetry::KeyValue::new("frame.index", 7)]);
            let err = std::io::Error::new(std::io::ErrorKind::NotFound, "model file");
            span::record_error(&err);
            assert!(span::is_recording());
        })
    });
    let s = &spans[0];
    assert_eq!(
        attr(s, "audio.codec").map(|v| v.as_str().into_owned()),
        Some("pcm".into()),
        "last value wins"
    );
    assert_eq!(s.attributes.iter().filter(|kv| kv.key.as_str() == "audio.codec").count(), 1);
    assert_eq!(attr(s, "app.tenant").map(|v| v.as_str().into_owned()), Some("acme".into()));
    assert_eq!(s.events.events[0].name, "frame.dropped");
    assert_eq!(s.events.events[1].name, "exception");
    assert_eq!(s.status, Status::error("model file"));
    assert!(attr(s, "error.type").is_some());
    assert!(!span::is_recording());
}

#[test]
fn many_attributes_spill_over_and_are_bounded() {
    let ((), spans) = testing::capture(|| {
        trace!("wide", {
            for i in 0..200 {
                span::set(trace_runtime::keys::message::size, i);
            }
            for i in 0..200 {
                span::set_unchecked(Box::leak(format!("key.{i}").into_boxed_str()), i);
            }
            span::set_unchecked("big", "x".repeat(1 << 20));
        })
    });
    let s = &spans[0];
    assert_eq!(
        attr(s, "message.size"),
        Some(&opentelemetry::Value::I64(199)),
        "a key set again keeps its last value"
    );
    assert_eq!(s.attributes.iter().filter(|kv| kv.key.as_str() == "message.size").count(), 1);
    let keys = s.attributes.iter().filter(|kv| kv.key.as_str().starts_with("key.")).count();
    assert_eq!(keys, 127, "message.size once, then distinct keys up to the 128-attribute limit");
    assert!(s.dropped_attributes_count > 0);
    assert!(attr(s, "big").is_none(), "set after the limit, so dropped");
    let ((), spans) = testing::capture(|| trace!("big", { span::set_unchecked("big", "x".repeat(1 << 20)) }));
    let big = attr(&spans[0], "big").unwrap().as_str().len();
    assert_eq!(big, trace_runtime::limits::MAX_VALUE_BYTES);
}

#[test]
fn trace_ids_and_log_prefix_follow_the_current_span() {
    let ((), spans) = testing::capture(|| {
        trace!("t", {
            let line = trace_runtime::log_with_trace("hello");
            let t = trace_runtime::trace_id().unwrap();
            let s = trace_runtime::span_id().unwrap();
            assert_eq!(line, format!("[trace_id={t} span_id={s}] hello"));
        })
    });
    assert_eq!(spans.len(), 1);
    assert_eq!(trace_runtime::trace_id(), None);
}

#[test]
fn dynamic_names_and_many_spans_arrive_in_full() {
    let ((), spans) = testing::capture(|| {
        trace!("root", {
            for i in 0..1000 {
                trace!(format!("step {i}"), {});
            }
        })
    });
    assert_eq!(spans.len(), 1001);
    assert!(spans.iter().any(|s| s.name == "step 999"));
}

#[trace_pipeline(name = "voice", element = "stt", fields(audio.sample_rate = 16000, audio.channels = 1))]
async fn traced_step(x: u64) -> u64 {
    x * 3
}

#[test]
fn a_traced_async_fn_future_holds_its_span_once() {
    // The span is moved into the future that wraps the body; had the fn's own future kept room
    // for it too, it would be twice the size, and so would every move of it.
    let traced = std::mem::size_of_val(&traced_step(1));
    let block = std::mem::size_of_val(&trace!("step", async move { 1u64 }));
    assert!(traced < block + 64, "a traced async fn's future is {traced} bytes, a trace! block's {block}");
}

/// Sets its flag when dropped.
struct DropFlag(std::rc::Rc<std::cell::Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[trace_pipeline(name = "voice", element = "vad")]
async fn holds(_guard: DropFlag, unused: DropFlag) -> u8 {
    tokio::task::yield_now().await;
    7
}

#[test]
fn an_async_fns_arguments_live_as_long_as_its_future_traced_or_not() {
    // An async fn's future owns every argument, used or not, until it ends; the traced fn's
    // future does too, with recording off and on, also when the future is made before the
    // recording starts and when it is dropped unfinished.
    let flags = || [(); 2].map(|()| std::rc::Rc::new(std::cell::Cell::new(false)));
    let run = |cancel: bool| {
        let [a, b] = flags();
        let future = holds(DropFlag(a.clone()), DropFlag(b.clone()));
        assert!(!a.get() && !b.get(), "an argument was dropped by the call, before its future ran");
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let (inner_a, inner_b) = (a.clone(), b.clone());
        let (out, spans) = runtime.block_on(testing::capture_async(async move {
            if cancel {
                let mut future = std::pin::pin!(future);
                let _ = futures::poll!(future.as_mut());
                assert!(
                    !inner_a.get() && !inner_b.get(),
                    "an argument was dropped while its future was pending"
                );
                None
            } else {
                Some(future.await)
            }
        }));
        assert!(a.get() && b.get(), "an argument outlived its future");
        (out, spans)
    };
    let (out, spans) = run(false);
    assert_eq!(out, Some(7));
    assert_eq!(spans.len(), 1, "{spans:#?}");
    let (_, spans) = run(true);
    assert_eq!(spans.len(), 1, "the cancelled future's span: {spans:#?}");
    let [a, b] = flags();
    drop(holds(DropFlag(a.clone()), DropFlag(b.clone())));
    assert!(a.get() && b.get(), "a future never polled drops its arguments");
    // Recording off throughout: the plain body's future, the same lifetimes.
    let [a, b] = flags();
    let mut future = std::pin::pin!(holds(DropFlag(a.clone()), DropFlag(b.clone())));
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    assert!(future.as_mut().poll(&mut cx).is_pending());
    assert!(!a.get() && !b.get(), "an argument was dropped while its untraced future was pending");
    assert_eq!(future.as_mut().poll(&mut cx), std::task::Poll::Ready(7));
    assert!(a.get() && b.get(), "an argument outlived its untraced future");
}

async fn plain_step(x: u64) -> u64 {
    x * 3
}

#[test]
fn a_traced_async_fn_future_is_its_body_and_two_words() {
    // With literal attributes only, the future holds the body and a pointer to the span's box
    // (and the call site's metadata until the first poll): had it held the span inline, every
    // call would copy 112 bytes instead of 32 out of it, recording or not.
    let traced = std::mem::size_of_val(&traced_step(1));
    let plain = std::mem::size_of_val(&plain_step(1));
    assert!(traced <= plain + 16, "a traced async fn's future is {traced} bytes, the plain fn's {plain}");
}
