//! The misuse shapes of the kit's first promise: no safe code corrupts memory, an ended span
//! never becomes current, and no finished span is lost without a count. Bounded in time, and run
//! under valgrind by `.ci/run`.
//!
//! `init` is process-wide, so the pipeline tests take turns.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use trace_runtime::config::Exporter;
use trace_runtime::{Config, current_context, init_with, span, testing, trace};

static INIT: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    INIT.lock().unwrap_or_else(|p| p.into_inner())
}

/// Counts what reaches it (an in-memory exporter forgets everything at shutdown).
#[derive(Clone, Debug, Default)]
struct Counting(Arc<AtomicUsize>);

impl SpanExporter for Counting {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.fetch_add(batch.len(), Ordering::Relaxed);
        Ok(())
    }
}

/// A pipeline whose only exporter counts what reaches it.
fn counting_pipeline() -> (trace_runtime::TraceGuard, Counting) {
    let counting = Counting::default();
    let config = Config::builder().exporter(Exporter::None).with_span_exporter(counting.clone()).build();
    (init_with(config).unwrap(), counting)
}

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a opentelemetry::Value> {
    span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| &kv.value)
}

/// Wakes each awaited future from a thread of its own, so tasks resume on whichever worker is
/// free and move between threads mid-span.
fn external_waker() -> std::sync::mpsc::Sender<tokio::sync::oneshot::Sender<()>> {
    let (tx, rx) = std::sync::mpsc::channel::<tokio::sync::oneshot::Sender<()>>();
    std::thread::spawn(move || {
        for wake in rx {
            std::thread::sleep(Duration::from_micros(50));
            let _ = wake.send(());
        }
    });
    tx
}

async fn woken_elsewhere(waker: &std::sync::mpsc::Sender<tokio::sync::oneshot::Sender<()>>) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    waker.send(tx).unwrap();
    rx.await.unwrap();
}

#[test]
fn a_context_guard_returned_out_of_a_span_never_makes_it_current_again() {
    let _serial = serial();
    let ((), spans) = testing::capture(|| {
        trace!("outer", {
            let outer = span::span_id();
            let cx = current_context();
            let guard = trace!("inner", { cx.attach() });
            assert_eq!(span::span_id(), outer, "inner ended: outer is current");
            drop(guard);
            assert_eq!(span::span_id(), outer, "the late guard restored nothing");
            span::set_unchecked("written.after", 1);
        })
    });
    let outer = spans.iter().find(|s| s.name == "outer").unwrap();
    let inner = spans.iter().find(|s| s.name == "inner").unwrap();
    assert!(attr(outer, "written.after").is_some(), "the write reached the live span");
    assert!(attr(inner, "written.after").is_none());
}

#[test]
fn context_guards_dropped_out_of_order_restore_the_context_from_before_them() {
    let _serial = serial();
    let ((), spans) = testing::capture(|| {
        let (a, b) = trace!("a", { (current_context(), trace!("b", { current_context() })) });
        assert_eq!(span::span_id(), None);
        let first = a.attach();
        let second = b.attach();
        assert_eq!(span::span_id(), b.span_id());
        drop(first);
        assert_eq!(span::span_id(), None, "dropping the older guard ends both");
        drop(second);
        assert_eq!(span::span_id(), None, "the younger guard restores nothing afterwards");
        trace!("after", {});
    });
    let after = spans.iter().find(|s| s.name == "after").unwrap();
    assert_eq!(after.parent_span_id, opentelemetry::trace::SpanId::INVALID, "a new root, not a child of b");
}

#[test]
fn writes_under_an_attached_context_reach_no_span_and_are_counted() {
    let _serial = serial();
    let before = trace_runtime::metrics().span_writes_dropped;
    let ((), spans) = testing::capture(|| {
        trace!("owner", {
            let cx = current_context();
            std::thread::spawn(move || {
                let _attached = cx.attach();
                span::set_unchecked("from.elsewhere", 1);
                assert!(!span::is_recording(), "the span records on another thread");
            })
            .join()
            .unwrap();
        })
    });
    assert!(attr(&spans[0], "from.elsewhere").is_none());
    assert!(trace_runtime::metrics().span_writes_dropped > before);
}

#[test]
fn user_code_run_while_recording_an_error_may_write_to_the_span() {
    let _serial = serial();
    #[derive(Debug)]
    struct Reentrant;
    impl std::fmt::Display for Reentrant {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            span::set_unchecked("from.display", "yes");
            span::add_event("from.display", []);
            f.write_str("reentrant error")
        }
    }
    impl std::error::Error for Reentrant {}
    let ((), spans) = testing::capture(|| trace!("err", { span::record_error(&Reentrant) }));
    assert!(attr(&spans[0], "from.display").is_some());
    assert_eq!(spans[0].status, opentelemetry::trace::Status::error("reentrant error"));
}

#[test]
fn tasks_writing_to_their_spans_across_migrations_write_only_their_own() {
    let _serial = serial();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let ((), spans) = runtime.block_on(testing::capture_async(async {
        let waker = Arc::new(external_waker());
        let tasks: Vec<_> = (0..16i64)
            .map(|task| {
                let waker = waker.clone();
                trace_runtime::spawn(async move {
                    for step in 0..4i64 {
                        trace!("step", async {
                            span::set_unchecked("task", task);
                            woken_elsewhere(&waker).await;
                            span::set_unchecked("step", step);
                            woken_elsewhere(&waker).await;
                            span::set_unchecked("task.again", task);
                        })
                        .await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    }));
    assert_eq!(spans.len(), 64);
    for s in &spans {
        assert_eq!(attr(s, "task"), attr(s, "task.again"), "one task's writes, on one span: {s:?}");
        assert!(attr(s, "step").is_some());
    }
}

#[test]
fn spans_of_tasks_that_move_between_workers_are_all_delivered() {
    let _serial = serial();
    let (guard, counting) = counting_pipeline();
    let before = trace_runtime::metrics();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let waker = Arc::new(external_waker());
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let waker = waker.clone();
                tokio::spawn(async move {
                    for _ in 0..10 {
                        trace!("root", async {
                            trace!("child", async { woken_elsewhere(&waker).await }).await;
                            woken_elsewhere(&waker).await;
                        })
                        .await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    drop(guard);
    assert_eq!(counting.0.load(Ordering::Relaxed), 1000, "every root and child delivered");
    let after = trace_runtime::metrics();
    assert_eq!(after.spans_started - before.spans_started, 1000);
    assert_eq!(after.spans_exported - before.spans_exported, 1000);
    drop(runtime);
}

#[test]
fn a_burst_of_one_span_traces_below_the_bound_is_delivered_whole() {
    let _serial = serial();
    let (guard, counting) = counting_pipeline();
    let before = trace_runtime::metrics();
    for i in 0..20_000i64 {
        trace!("request", "request.index" = i, {});
    }
    drop(guard);
    let after = trace_runtime::metrics();
    assert_eq!(after.spans_dropped_queue_full, before.spans_dropped_queue_full, "below TRACE_QUEUE_SIZE");
    assert_eq!(counting.0.load(Ordering::Relaxed), 20_000);
    let started = after.spans_started - before.spans_started;
    let exported = after.spans_exported - before.spans_exported;
    let lost = after.spans_dropped() - before.spans_dropped();
    assert_eq!(started, exported + lost, "every span ended is exported or counted");
    assert_eq!(started, 20_000);
}

#[test]
fn a_capture_of_many_concurrent_tasks_keeps_every_span() {
    let _serial = serial();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let ((), spans) = runtime.block_on(testing::capture_async(async {
        let tasks: Vec<_> = (0..10_000)
            .map(|_| {
                trace_runtime::spawn(async {
                    trace!("task", async { tokio::task::yield_now().await }).await;
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    }));
    assert_eq!(spans.len(), 10_000);
}

#[test]
fn association_sets_survive_migrations_drops_and_a_full_queue() {
    let _serial = serial();
    // Tasks of 16 sessions migrating between workers, each session's id set once on its root and
    // changed by `span::set` half-way: every span carries its own session's ids, never another's.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let ((), spans) = runtime.block_on(testing::capture_async(async {
        let waker = Arc::new(external_waker());
        let tasks: Vec<_> = (0..16)
            .map(|session| {
                let waker = waker.clone();
                let id = format!("s-{session}");
                trace_runtime::spawn(trace!("session", session.id = id, async move {
                    span::set_unchecked("expected", format!("s-{session}"));
                    for step in 0..3 {
                        if step == 1 {
                            span::set(trace_runtime::keys::user::id, format!("u-{session}"));
                        }
                        trace!("step", async {
                            woken_elsewhere(&waker).await;
                            trace_runtime::spawn(async { trace!("inner", {}) }).await.unwrap();
                        })
                        .await;
                    }
                    // Futures made under the session and dropped before, or during, their first
                    // poll: they hold the parent's set only once in place, and free it either way.
                    drop(trace!("never polled", async {}));
                    let mut mid =
                        Box::pin(trace!("dropped mid-poll", async { woken_elsewhere(&waker).await }));
                    let _ = futures::poll!(mid.as_mut());
                    drop(mid);
                }))
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    }));
    // The session, 3 steps and their inner spans, and the two dropped futures (cancelled).
    assert_eq!(spans.len(), 16 * (1 + 3 * 2 + 2));
    assert_eq!(spans.iter().filter(|s| s.name == "never polled").count(), 16);
    let sessions: std::collections::HashMap<_, _> = spans
        .iter()
        .filter(|s| s.name == "session")
        .map(|s| (s.span_context.trace_id(), attr(s, "expected").unwrap().as_str().into_owned()))
        .collect();
    for s in &spans {
        let expected = &sessions[&s.span_context.trace_id()];
        assert_eq!(attr(s, "session.id").unwrap().as_str(), expected.as_str(), "{}", s.name);
        if let Some(user) = attr(s, "user.id") {
            assert_eq!(user.as_str().trim_start_matches("u-"), expected.trim_start_matches("s-"));
        }
    }

    // A queue of 64 spans under a burst of sessions: the records dropped with their sets, counted.
    let counting = Counting::default();
    let config = Config::builder()
        .exporter(Exporter::None)
        .queue_size(64)
        .with_span_exporter(counting.clone())
        .build();
    let guard = init_with(config).unwrap();
    let before = trace_runtime::metrics().spans_dropped_queue_full;
    for turn in 0..2_000 {
        trace!("turn", session.id = format!("s-{turn}"), { trace!("child", {}) });
    }
    assert!(guard.flush());
    let dropped = trace_runtime::metrics().spans_dropped_queue_full - before;
    assert_eq!(counting.0.load(Ordering::Relaxed) as u64 + dropped, 4_000, "every span delivered or counted");
}
