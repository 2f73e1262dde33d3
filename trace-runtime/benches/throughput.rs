//! End-to-end throughput: 2 threads record spans as fast as they can for a fixed time, through
//! the whole pipeline to an exporter that counts and discards; then the same workload through
//! `opentelemetry_sdk`'s `BatchSpanProcessor` (default settings) in the same run.
//!
//! `cargo bench -p trace-runtime --bench throughput` (`THROUGHPUT_SECS=N` to change the 2 s
//! per side, `THROUGHPUT_ROWS=bursts,otel` to run some rows only: `kit`, `bursts`, `otel`).
//! Reports spans recorded and delivered per second, spans dropped, and the peak resident memory
//! of each side (VmHWM, reset between sides through /proc/self/clear_refs).
//!
//! The workload: traces of one root and 15 children with 4 attributes each, as a voice
//! pipeline's per-frame steps under a turn. A third row sends bursts of half the queue's
//! capacity, flushing between them: below capacity the kit drops nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use opentelemetry::trace::{Tracer, TracerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracerProvider, SpanData, SpanExporter};
use trace_runtime::config::Exporter;
use trace_runtime::{Config, trace, trace_pipeline};

const THREADS: usize = 2;
const CHILDREN: u64 = 15;

/// Counts what it is given, keeps nothing.
#[derive(Debug, Clone, Default)]
struct Discard(Arc<AtomicU64>);

impl SpanExporter for Discard {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

#[trace_pipeline(name = "voice", element = "stt", fields(audio.sample_rate = 16000, audio.channels = 1))]
fn kit_step(x: u64) -> u64 {
    std::hint::black_box(x.wrapping_mul(2654435761) >> 7)
}

/// Spans in a trace of `children` below a root; `0` children is a one-span trace, the step
/// itself as the root (a request handler's shape).
fn spans_per_trace(children: u64) -> u64 {
    if children == 0 { 1 } else { children + 1 }
}

/// One trace: a `turn` root over `children` steps, or one step alone.
fn kit_trace(i: u64, children: u64) -> u64 {
    if children == 0 {
        kit_step(i);
    } else {
        trace!("turn", {
            for c in 0..children {
                kit_step(i + c);
            }
        });
    }
    spans_per_trace(children)
}

struct Outcome {
    recorded: u64,
    delivered: u64,
    dropped: u64,
    elapsed: Duration,
    peak_kib: Option<u64>,
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets the peak-RSS mark (Linux), so each side reports its own peak.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Runs `trace_one` (one trace, returning its span count) on `THREADS` threads for `secs`.
fn drive(secs: Duration, trace_one: impl Fn(u64) -> u64 + Sync) -> (u64, Duration) {
    let stop = AtomicBool::new(false);
    let recorded = AtomicU64::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                let mut n = 0;
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..64 {
                        n += trace_one(i);
                        i += 1;
                    }
                }
                recorded.fetch_add(n, Ordering::Relaxed);
            });
        }
        std::thread::sleep(secs);
        stop.store(true, Ordering::Relaxed);
    });
    (recorded.load(Ordering::Relaxed), start.elapsed())
}

fn kit(secs: Duration, children: u64) -> Outcome {
    reset_peak();
    let discard = Discard::default();
    let guard = trace_runtime::init_with(
        Config::builder().exporter(Exporter::None).with_span_exporter(discard.clone()).build(),
    )
    .expect("valid settings");
    let before = trace_runtime::metrics();
    let (recorded, elapsed) = drive(secs, |i| kit_trace(i, children));
    guard.flush();
    let after = trace_runtime::metrics();
    drop(guard);
    println!(
        "  kit drops: queue full {}, exporter lane full or failed {}",
        after.spans_dropped_queue_full - before.spans_dropped_queue_full,
        after.spans_export_failed - before.spans_export_failed
    );
    Outcome {
        recorded,
        delivered: discard.0.load(Ordering::Relaxed),
        dropped: after.spans_dropped() - before.spans_dropped(),
        elapsed,
        peak_kib: status_kib("VmHWM:"),
    }
}

/// Bursts of half the queue per thread, each followed by a flush: below capacity, nothing drops.
fn kit_bursts(secs: Duration, children: u64) -> Outcome {
    reset_peak();
    let discard = Discard::default();
    let queue = 32 * 1024;
    let guard = trace_runtime::init_with(
        Config::builder()
            .exporter(Exporter::None)
            .queue_size(queue)
            .with_span_exporter(discard.clone())
            .build(),
    )
    .expect("valid settings");
    let before = trace_runtime::metrics();
    let per_thread = queue as u64 / 2 / THREADS as u64 / spans_per_trace(children);
    let start = Instant::now();
    let mut recorded = 0;
    while start.elapsed() < secs {
        std::thread::scope(|s| {
            for t in 0..THREADS as u64 {
                s.spawn(move || {
                    for i in 0..per_thread {
                        kit_trace(t + i, children);
                    }
                });
            }
        });
        recorded += per_thread * THREADS as u64 * spans_per_trace(children);
        guard.flush();
    }
    let elapsed = start.elapsed();
    let after = trace_runtime::metrics();
    drop(guard);
    Outcome {
        recorded,
        delivered: discard.0.load(Ordering::Relaxed),
        dropped: after.spans_dropped() - before.spans_dropped(),
        elapsed,
        peak_kib: status_kib("VmHWM:"),
    }
}

fn otel_sdk(secs: Duration, children: u64) -> Outcome {
    reset_peak();
    let discard = Discard::default();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::builder(discard.clone()).build())
        .build();
    let tracer = provider.tracer("throughput");
    let step = |x: u64| {
        tracer.in_span("kit_step", |cx| {
            use opentelemetry::trace::TraceContextExt;
            let span = cx.span();
            span.set_attribute(KeyValue::new("pipeline.name", "voice"));
            span.set_attribute(KeyValue::new("pipeline.element", "stt"));
            span.set_attribute(KeyValue::new("audio.sample_rate", 16000));
            span.set_attribute(KeyValue::new("audio.channels", 1));
            std::hint::black_box(x.wrapping_mul(2654435761) >> 7);
        })
    };
    let (recorded, elapsed) = drive(secs, |i| {
        if children == 0 {
            step(i);
        } else {
            tracer.in_span("turn", |_| {
                for c in 0..children {
                    step(i + c);
                }
            });
        }
        spans_per_trace(children)
    });
    let _ = provider.force_flush();
    let _ = provider.shutdown();
    let delivered = discard.0.load(Ordering::Relaxed);
    Outcome {
        recorded,
        delivered,
        dropped: recorded.saturating_sub(delivered),
        elapsed,
        peak_kib: status_kib("VmHWM:"),
    }
}

fn report(name: &str, o: &Outcome) {
    let secs = o.elapsed.as_secs_f64();
    println!(
        "{name:<34} {:>12.0} {:>12.0} {:>12} {:>7.1}% {:>10}",
        o.recorded as f64 / secs,
        o.delivered as f64 / secs,
        o.dropped,
        100.0 * o.dropped as f64 / o.recorded.max(1) as f64,
        o.peak_kib.map_or("?".into(), |k| format!("{} MiB", k / 1024)),
    );
}

/// [`report`], checking that every kit span was delivered or counted as dropped.
fn report_kit(name: &str, o: &Outcome) {
    report(name, o);
    assert_eq!(o.recorded, o.delivered + o.dropped, "every kit span is delivered or counted as dropped");
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run briefly then.
    let benching = std::env::args().any(|a| a == "--bench");
    let secs = std::env::var("THROUGHPUT_SECS").ok().and_then(|s| s.parse().ok()).map_or(
        if benching { Duration::from_secs(2) } else { Duration::from_millis(100) },
        Duration::from_secs_f64,
    );
    println!(
        "{THREADS} threads, {secs:?} per side; steps with 4 attributes, in traces of 1 root + {CHILDREN} children or alone"
    );
    println!(
        "{:<34} {:>12} {:>12} {:>12} {:>8} {:>10}",
        "", "recorded/s", "delivered/s", "dropped", "", "peak RSS"
    );
    let rows =
        std::env::var("THROUGHPUT_ROWS").unwrap_or_else(|_| "kit,bursts,otel,kit1,bursts1,otel1".into());
    let row = |name: &str| rows.split(',').any(|r| r.trim() == name);
    for (suffix, children, shape) in [("", CHILDREN, "16-span traces"), ("1", 0, "1-span traces")] {
        if row(&format!("kit{suffix}")) {
            report_kit(&format!("trace-runtime, {shape}"), &kit(secs, children));
        }
        if row(&format!("bursts{suffix}")) {
            let b = kit_bursts(secs, children);
            report_kit(&format!("trace-runtime, {shape}, < queue"), &b);
            assert_eq!(b.dropped, 0, "below the queue bound the kit drops nothing");
        }
        if row(&format!("otel{suffix}")) {
            report(&format!("otel_sdk BatchSpanProcessor, {shape}"), &otel_sdk(secs, children));
        }
    }
}
