//! Cost of a traced call, side by side with its peers in one run (ratios, not absolute times).
//!
//! `cargo bench -p trace-runtime --bench span_overhead`
//!
//! Every case calls the same `#[inline(never)]` function doing trivial work:
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

struct DiscardReporter;

impl fastrace::collector::Reporter for DiscardReporter {
    fn report(&mut self, spans: Vec<fastrace::prelude::SpanRecord>) {
        black_box(spans);
    }
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

    fastrace::set_reporter(DiscardReporter, fastrace::collector::Config::default());
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
    targets = overhead
}
criterion_main!(benches);
