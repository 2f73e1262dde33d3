//! Cost of a traced call, side by side with its peers in one run (ratios, not absolute times).
//!
//! `cargo bench -p trace-runtime --bench span_overhead` (`-- recorded` for the headline group)
//!
//! The `recorded` group is the fair comparison, where every system records every span: calls
//! run under roots of 100, and every 2,000 calls the timer stops while the system under test
//! flushes everything into a discarding exporter (the kit and the OpenTelemetry SDK) or reporter
//! (fastrace), so that no producer runs against a backlog. The group asserts that the kit dropped
//! nothing and that each system's exporter or reporter received every span it was given. Its
//! `kit/before_init*` and `kit/kill_switch*` rows are the disabled path in the same shape, beside
//! `plain_in_root` and `plain_async_in_root`: the plain fns under the same root, their baseline.
//!
//! The `span` group below it keeps the earlier shapes. Its tight loops (`kit/*`, `otel_sdk/*`,
//! `fastrace/*` under one long-lived root) are overload rows: every case calls the same
//! `#[inline(never)]` function doing trivial work:
//! - `plain`: no tracing;
//! - `kit/disabled`: `#[trace_pipeline]` before `init()`;
//! - `kit/sync_0_attrs`, `kit/sync_4_attrs`, `kit/async_*`, `kit/llm_usage`: inside a sampled
//!   root, exporting through the real pipeline to an exporter that discards;
//! - `kit/sync_4_attrs_in_session`: the same span under a root that set `session.id` and
//!   `user.id`, which every span below carries (one reference-counted set per span);
//! - `kit/llm_stream_4_chunks`: a streamed LLM response of 4 chunks, each reporting usage,
//!   through `trace_llm_stream` (one span; its two name copies are the only allocations);
//! - `otel_sdk/in_span_4_attrs`: `opentelemetry_sdk` `tracer.in_span` with a `BatchSpanProcessor`
//!   and a discarding exporter, inside a sampled root;
//! - `fastrace/*`: `#[fastrace::trace]` inside a sampled root, with a discarding reporter.
//!
//! Those tight loops call the traced function back to back, faster than any export worker can
//! convert spans, so they mostly measure each system's overload path: the kit drops whole batches
//! past `TRACE_QUEUE_SIZE` (counted), and fastrace stops recording a trace after its first 10240
//! spans (so `fastrace/*` there measure a span that records nothing, without a clock read).
//!
//! The `loop64/*` cases are the same tight loops with a root per 64 calls, so that fastrace
//! records every span too (its trace never reaches that limit) and the systems compare on a span
//! that is recorded. The kit and the SDK still overload there; fastrace's queue grows unbounded.
//!
//! `frame/kit_4_attrs_in_session` is `frame/kit_4_attrs` under roots that set `session.id` and
//! `user.id` (carried to every span below).
//!
//! The `frame/*` cases measure what a per-audio-frame function pays: each call does about 2.5 µs
//! of work, the spans of every 64 calls form one trace (a root per 64, as a turn of a voice
//! pipeline would), and every system's export thread keeps up, so every span is delivered. The
//! overhead of a system is its time minus `frame/plain`.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use futures::Stream;
use opentelemetry::KeyValue;
use opentelemetry::trace::{TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracer, SdkTracerProvider, SpanData, SpanExporter};
use trace_runtime::config::Exporter;
use trace_runtime::realtime::{Milestone, Turn};
use trace_runtime::{Config, Usage, record_usage, trace, trace_llm, trace_llm_stream, trace_pipeline};

#[inline(never)]
fn work(x: u64) -> u64 {
    x.wrapping_mul(2654435761) >> 7
}

/// About 2.5 µs of arithmetic: the work of a small per-frame function (a resampler or a VAD over
/// one 20 ms frame), and slow enough for every system's export thread to keep up.
#[inline(never)]
fn frame_work(x: u64) -> u64 {
    let mut h = x;
    for _ in 0..black_box(2048) {
        h = h.wrapping_mul(2654435761).rotate_left(7);
    }
    h
}

#[inline(never)]
fn frame_plain(x: u64) -> u64 {
    frame_work(x)
}

#[inline(never)]
#[trace_pipeline(name = "voice", element = "stt", fields(audio.sample_rate = 16000, audio.channels = 1))]
fn frame_kit(x: u64) -> u64 {
    frame_work(x)
}

#[inline(never)]
fn frame_fastrace(x: u64) -> u64 {
    let _span = fastrace::local::LocalSpan::enter_with_local_parent("frame").with_properties(|| {
        [
            ("pipeline.name", "voice"),
            ("pipeline.element", "stt"),
            ("audio.sample_rate", "16000"),
            ("audio.channels", "1"),
        ]
    });
    frame_work(x)
}

#[inline(never)]
#[fastrace::trace]
fn frame_fastrace_bare(x: u64) -> u64 {
    frame_work(x)
}

/// Spans per trace in the `frame/*` cases.
const TRACE_SPANS: u64 = 64;

/// Runs `iters` calls of `call`, `TRACE_SPANS` of them under each `root`, and times the lot.
fn per_trace(
    iters: u64,
    mut root: impl FnMut(&mut dyn FnMut()),
    mut call: impl FnMut(u64) -> u64,
) -> Duration {
    let start = Instant::now();
    let mut done = 0;
    while done < iters {
        let n = TRACE_SPANS.min(iters - done);
        root(&mut || {
            for i in 0..n {
                black_box(call(black_box(i)));
            }
        });
        done += n;
    }
    start.elapsed()
}

#[inline(never)]
fn plain(x: u64) -> u64 {
    work(x)
}

#[inline(never)]
fn kit_0_attrs(x: u64) -> u64 {
    trace!("frame", { work(x) })
}

#[inline(never)]
#[trace_pipeline(name = "voice", element = "stt", fields(audio.sample_rate = 16000, audio.channels = 1))]
fn kit_4_attrs(x: u64) -> u64 {
    work(x)
}

#[inline(never)]
async fn plain_async(x: u64) -> u64 {
    work(x)
}

#[inline(never)]
async fn kit_async_0_attrs(x: u64) -> u64 {
    trace!("frame", async move { work(x) }).await
}

#[inline(never)]
#[trace_pipeline(name = "voice", element = "stt", fields(audio.sample_rate = 16000, audio.channels = 1))]
async fn kit_async_4_attrs(x: u64) -> u64 {
    work(x)
}

#[inline(never)]
#[trace_llm(provider = "openai", model = "gpt-4o-mini")]
fn kit_llm_usage(x: u64) -> u64 {
    record_usage(Usage { input_tokens: 31, output_tokens: 27, ..Default::default() });
    work(x)
}

#[inline(never)]
fn kit_llm_stream(x: u64) -> u64 {
    let chunks = futures::stream::iter([x, x + 1, x + 2, x + 3]);
    let usage = |c: &u64| Some(Usage { output_tokens: c & 1, ..Default::default() });
    let mut stream = pin!(trace_llm_stream("openai", "gpt-4o-mini", chunks, usage));
    let mut cx = Context::from_waker(Waker::noop());
    let mut sum = 0u64;
    while let Poll::Ready(Some(chunk)) = stream.as_mut().poll_next(&mut cx) {
        sum = sum.wrapping_add(work(chunk));
    }
    sum
}

#[inline(never)]
#[fastrace::trace]
fn fastrace_bare(x: u64) -> u64 {
    work(x)
}

#[inline(never)]
fn fastrace_4_props(x: u64) -> u64 {
    let _span = fastrace::local::LocalSpan::enter_with_local_parent("frame").with_properties(|| {
        [
            ("pipeline.name", "voice"),
            ("pipeline.element", "stt"),
            ("audio.sample_rate", "16000"),
            ("audio.channels", "1"),
        ]
    });
    work(x)
}

/// `body(x)` inside an SDK span with the 4 attributes of the kit's `fields(..)` cases.
fn otel_4_attrs(tracer: &SdkTracer, x: u64, body: fn(u64) -> u64) -> u64 {
    tracer.in_span("frame", |cx| {
        cx.span().set_attributes([
            KeyValue::new("pipeline.name", "voice"),
            KeyValue::new("pipeline.element", "stt"),
            KeyValue::new("audio.sample_rate", 16000),
            KeyValue::new("audio.channels", 1),
        ]);
        body(x)
    })
}

fn poll_once<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("the benchmarked futures never wait"),
    }
}

#[derive(Debug)]
struct Discard;

impl SpanExporter for Discard {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        black_box(batch);
        Ok(())
    }
}

/// Calls under each root in the `recorded` group.
const ROOT_CALLS: u64 = 100;
/// Calls between two flushes in the `recorded` group: the timer stops, and the system under test
/// hands everything it recorded to its discarding exporter before the next calls.
const FLUSH_EVERY: u64 = 2_000;

/// Spans each system was given in the `recorded` group (calls and roots), to check against what
/// its exporter or reporter received.
static KIT_SPANS: AtomicU64 = AtomicU64::new(0);
static FASTRACE_SPANS: AtomicU64 = AtomicU64::new(0);
static OTEL_SPANS: AtomicU64 = AtomicU64::new(0);
/// What the discarding exporters and reporter received.
static KIT_EXPORTED: AtomicU64 = AtomicU64::new(0);
static FASTRACE_REPORTED: AtomicU64 = AtomicU64::new(0);
static OTEL_EXPORTED: AtomicU64 = AtomicU64::new(0);

/// Times `iters` calls made by `root(n)` (one root over `n` calls), `ROOT_CALLS` per root, with
/// the clock stopped for `flush` every `FLUSH_EVERY` calls, so that no system records against a
/// backlog. `made` counts the spans given to the system (calls and roots).
fn recorded(
    iters: u64,
    made: Option<&AtomicU64>,
    mut root: impl FnMut(u64),
    mut flush: impl FnMut(),
) -> Duration {
    let mut timed = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let chunk = FLUSH_EVERY.min(iters - done);
        let start = Instant::now();
        let mut left = chunk;
        while left > 0 {
            let n = ROOT_CALLS.min(left);
            root(n);
            left -= n;
        }
        timed += start.elapsed();
        if let Some(made) = made {
            made.fetch_add(chunk + chunk.div_ceil(ROOT_CALLS), Ordering::Relaxed);
        }
        flush();
        done += chunk;
    }
    timed
}

/// `n` calls of `call`, polled to completion in one future, under the root future `root` wraps
/// them in.
async fn async_calls<F: Future<Output = u64>>(n: u64, call: fn(u64) -> F) {
    for i in 0..n {
        black_box(call(black_box(i)).await);
    }
}

fn sync_calls(n: u64, call: fn(u64) -> u64) {
    for i in 0..n {
        black_box(call(black_box(i)));
    }
}

#[inline(never)]
#[fastrace::trace]
async fn fastrace_async_bare(x: u64) -> u64 {
    work(x)
}

#[derive(Debug)]
struct CountingDiscard(&'static AtomicU64);

impl SpanExporter for CountingDiscard {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.fetch_add(batch.len() as u64, Ordering::Relaxed);
        black_box(batch);
        Ok(())
    }
}

struct CountingReporter;

impl fastrace::collector::Reporter for CountingReporter {
    fn report(&mut self, spans: Vec<fastrace::prelude::SpanRecord>) {
        FASTRACE_REPORTED.fetch_add(spans.len() as u64, Ordering::Relaxed);
        black_box(spans);
    }
}

/// Every system recording every span: roots of `ROOT_CALLS` calls, each system flushed into a
/// discarding exporter every `FLUSH_EVERY` calls with the clock stopped. The README's headline
/// table comes from this group.
fn recorded_group(c: &mut Criterion) {
    let mut g = c.benchmark_group("recorded");
    let no_flush = || {};
    g.bench_function("plain", |b| {
        b.iter_custom(|iters| recorded(iters, None, |n| sync_calls(n, plain), no_flush))
    });
    g.bench_function("plain_async", |b| {
        b.iter_custom(|iters| recorded(iters, None, |n| poll_once(async_calls(n, plain_async)), no_flush))
    });
    let kit_sync = |n| trace!("turn", { sync_calls(n, kit_4_attrs) });
    let kit_async = |n| poll_once(trace!("turn", async move { async_calls(n, kit_async_4_attrs).await }));
    // The plain fns under the kit rows' root, before init(): the same program without the
    // attribute, the baseline of the disabled rows. (The root's future changes how the loop in
    // it holds the fn's future: a future returned through memory and copied into the caller's
    // state costs a store-forwarding stall, 7-9 ns here, which the plain loop avoids.)
    g.bench_function("plain_in_root", |b| {
        b.iter_custom(|iters| recorded(iters, None, |n| trace!("turn", { sync_calls(n, plain) }), no_flush))
    });
    g.bench_function("plain_async_in_root", |b| {
        b.iter_custom(|iters| {
            recorded(
                iters,
                None,
                |n| poll_once(trace!("turn", async move { async_calls(n, plain_async).await })),
                no_flush,
            )
        })
    });
    // Before init(), then under the kill switch: the disabled path, in the same shape.
    g.bench_function("kit/before_init", |b| b.iter_custom(|iters| recorded(iters, None, kit_sync, no_flush)));
    g.bench_function("kit/before_init_async", |b| {
        b.iter_custom(|iters| recorded(iters, None, kit_async, no_flush))
    });
    let guard =
        trace_runtime::init_with(Config::builder().disabled(true).build()).expect("kill switch config");
    g.bench_function("kit/kill_switch", |b| b.iter_custom(|iters| recorded(iters, None, kit_sync, no_flush)));
    g.bench_function("kit/kill_switch_async", |b| {
        b.iter_custom(|iters| recorded(iters, None, kit_async, no_flush))
    });
    drop(guard);

    let guard = trace_runtime::init_with(
        Config::builder().exporter(Exporter::None).with_span_exporter(CountingDiscard(&KIT_EXPORTED)).build(),
    )
    .expect("bench config");
    let kit_flush = || assert!(guard.flush(), "the kit's flush timed out");
    g.bench_function("kit/sync_4_attrs", |b| {
        b.iter_custom(|iters| recorded(iters, Some(&KIT_SPANS), kit_sync, kit_flush))
    });
    g.bench_function("kit/async_4_attrs", |b| {
        b.iter_custom(|iters| recorded(iters, Some(&KIT_SPANS), kit_async, kit_flush))
    });
    let m = trace_runtime::metrics();
    assert_eq!(
        m.spans_dropped_queue_full, 0,
        "the kit dropped spans: the recorded group must record every one"
    );
    assert_eq!(KIT_EXPORTED.load(Ordering::Relaxed), KIT_SPANS.load(Ordering::Relaxed), "the kit lost spans");
    drop(guard);

    fastrace::set_reporter(CountingReporter, fastrace::collector::Config::default());
    let fastrace_root = |n, call| {
        let root = fastrace::Span::root("turn", fastrace::collector::SpanContext::random());
        let _parent = root.set_local_parent();
        sync_calls(n, call);
    };
    g.bench_function("fastrace/bare", |b| {
        b.iter_custom(|iters| {
            recorded(iters, Some(&FASTRACE_SPANS), |n| fastrace_root(n, fastrace_bare), fastrace::flush)
        })
    });
    g.bench_function("fastrace/4_props", |b| {
        b.iter_custom(|iters| {
            recorded(iters, Some(&FASTRACE_SPANS), |n| fastrace_root(n, fastrace_4_props), fastrace::flush)
        })
    });
    g.bench_function("fastrace/async_bare", |b| {
        b.iter_custom(|iters| {
            let root = |n| {
                use fastrace::future::FutureExt as _;
                let root = fastrace::Span::root("turn", fastrace::collector::SpanContext::random());
                poll_once(async_calls(n, fastrace_async_bare).in_span(root))
            };
            recorded(iters, Some(&FASTRACE_SPANS), root, fastrace::flush)
        })
    });
    fastrace::flush();
    assert_eq!(
        FASTRACE_REPORTED.load(Ordering::Relaxed),
        FASTRACE_SPANS.load(Ordering::Relaxed),
        "fastrace's reporter must receive every span"
    );

    let provider = SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::builder(CountingDiscard(&OTEL_EXPORTED)).build())
        .build();
    let tracer = provider.tracer("bench");
    g.bench_function("otel_sdk/4_attrs", |b| {
        b.iter_custom(|iters| {
            let root = |n| {
                tracer.in_span("turn", |_| {
                    for i in 0..n {
                        black_box(otel_4_attrs(&tracer, black_box(i), work));
                    }
                })
            };
            let flush = || assert!(provider.force_flush().is_ok(), "the SDK's flush failed");
            recorded(iters, Some(&OTEL_SPANS), root, flush)
        })
    });
    assert_eq!(
        OTEL_EXPORTED.load(Ordering::Relaxed),
        OTEL_SPANS.load(Ordering::Relaxed),
        "the SDK lost spans"
    );
    let _ = provider.shutdown();
    g.finish();
}

fn overhead(c: &mut Criterion) {
    let mut g = c.benchmark_group("span");
    g.bench_function("plain", |b| b.iter(|| plain(black_box(7))));
    g.bench_function("plain_async", |b| b.iter(|| poll_once(plain_async(black_box(7)))));
    // Before init(): the disabled path.
    g.bench_function("kit/disabled", |b| b.iter(|| kit_4_attrs(black_box(7))));

    g.bench_function("frame/plain", |b| b.iter(|| frame_plain(black_box(7))));

    let guard = trace_runtime::init_with(
        Config::builder().exporter(Exporter::None).with_span_exporter(Discard).queue_size(1 << 20).build(),
    )
    .expect("bench config");
    let dropped_before = trace_runtime::metrics().spans_dropped_queue_full;
    let kit_root = |body: &mut dyn FnMut()| trace!("turn", { body() });
    g.bench_function("frame/kit_4_attrs", |b| b.iter_custom(|iters| per_trace(iters, kit_root, frame_kit)));
    // The same, each root setting `session.id` and `user.id`, which every span below carries.
    let session_root =
        |body: &mut dyn FnMut()| trace!("turn", session.id = "s-bench", user.id = "u-bench", { body() });
    g.bench_function("frame/kit_4_attrs_in_session", |b| {
        b.iter_custom(|iters| per_trace(iters, session_root, frame_kit))
    });
    assert_eq!(
        trace_runtime::metrics().spans_dropped_queue_full,
        dropped_before,
        "frame/kit must deliver every span for its overhead to compare with the peers'"
    );
    g.bench_function("loop64/kit_4_attrs", |b| {
        b.iter_custom(|iters| per_trace(iters, kit_root, kit_4_attrs))
    });
    trace!("bench root", {
        g.bench_function("kit/sync_0_attrs", |b| b.iter(|| kit_0_attrs(black_box(7))));
        g.bench_function("kit/sync_4_attrs", |b| b.iter(|| kit_4_attrs(black_box(7))));
        g.bench_function("kit/async_0_attrs", |b| b.iter(|| poll_once(kit_async_0_attrs(black_box(7)))));
        g.bench_function("kit/async_4_attrs", |b| b.iter(|| poll_once(kit_async_4_attrs(black_box(7)))));
        g.bench_function("kit/llm_usage", |b| b.iter(|| kit_llm_usage(black_box(7))));
        g.bench_function("kit/llm_stream_4_chunks", |b| b.iter(|| kit_llm_stream(black_box(7))));
        // The voice turn's milestones, from the audio thread: a first mark, a mark already made
        // (every frame marks "first audio out"), and audio sent.
        g.bench_function("turn/mark_first", |b| {
            b.iter_batched(
                Turn::start,
                |turn| {
                    turn.mark(black_box(Milestone::SpeechEnded));
                    turn
                },
                BatchSize::SmallInput,
            )
        });
        let turn = Turn::start();
        turn.mark(Milestone::FirstAudioOut);
        g.bench_function("turn/mark_again", |b| b.iter(|| turn.mark(black_box(Milestone::FirstAudioOut))));
        g.bench_function("turn/audio_sent", |b| {
            b.iter(|| turn.audio_sent(black_box(Duration::from_millis(20))))
        });
    });
    trace!("session root", session.id = "s-bench", user.id = "u-bench", {
        g.bench_function("kit/sync_4_attrs_in_session", |b| b.iter(|| kit_4_attrs(black_box(7))));
    });
    drop(guard);

    let provider = SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::builder(Discard).build())
        .build();
    let tracer = provider.tracer("bench");
    tracer.in_span("bench root", |_| {
        g.bench_function("otel_sdk/in_span_4_attrs", |b| {
            b.iter(|| otel_4_attrs(&tracer, black_box(7), work))
        });
    });
    let otel_root = |body: &mut dyn FnMut()| tracer.in_span("turn", |_| body());
    g.bench_function("frame/otel_sdk_4_attrs", |b| {
        b.iter_custom(|iters| per_trace(iters, otel_root, |x| otel_4_attrs(&tracer, x, frame_work)))
    });
    g.bench_function("loop64/otel_sdk_4_attrs", |b| {
        b.iter_custom(|iters| per_trace(iters, otel_root, |x| otel_4_attrs(&tracer, x, work)))
    });
    let _ = provider.shutdown();

    // fastrace's reporter is the `recorded` group's (one per process).
    let root_per_trace = |body: &mut dyn FnMut()| {
        let root = fastrace::Span::root("turn", fastrace::collector::SpanContext::random());
        let _parent = root.set_local_parent();
        body();
    };
    g.bench_function("frame/fastrace_4_props", |b| {
        b.iter_custom(|iters| per_trace(iters, root_per_trace, frame_fastrace))
    });
    g.bench_function("frame/fastrace_bare", |b| {
        b.iter_custom(|iters| per_trace(iters, root_per_trace, frame_fastrace_bare))
    });
    g.bench_function("loop64/fastrace_bare", |b| {
        b.iter_custom(|iters| per_trace(iters, root_per_trace, fastrace_bare))
    });
    g.bench_function("loop64/fastrace_4_props", |b| {
        b.iter_custom(|iters| per_trace(iters, root_per_trace, fastrace_4_props))
    });
    let root = fastrace::Span::root("bench root", fastrace::collector::SpanContext::random());
    let _parent = root.set_local_parent();
    g.bench_function("fastrace/bare", |b| b.iter(|| fastrace_bare(black_box(7))));
    g.bench_function("fastrace/4_props", |b| b.iter(|| fastrace_4_props(black_box(7))));
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(40);
    targets = recorded_group, overhead
}
criterion_main!(benches);
