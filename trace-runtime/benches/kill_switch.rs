//! Cost of instrumented code under the kill switch, and of a telemetry call when the layer is off
//! and on, beside a plain call in the same run.
//!
//! `cargo bench -p trace-runtime --bench kill_switch -- --warm-up-time 1 --measurement-time 2`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use trace_runtime::config::Exporter;
use trace_runtime::{Config, telemetry, trace_pipeline};

#[inline(never)]
fn work(x: u64) -> u64 {
    x.wrapping_mul(2654435761) >> 7
}

#[inline(never)]
fn plain(x: u64) -> u64 {
    work(x)
}

#[inline(never)]
#[trace_pipeline(name = "voice", element = "stt", fields(audio.sample_rate = 16000, audio.channels = 1))]
fn traced(x: u64) -> u64 {
    work(x)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("kill_switch");
    group.bench_function("plain", |b| b.iter(|| plain(black_box(7))));
    let guard = trace_runtime::init_with(Config::builder().disabled(true).build()).expect("init");
    group.bench_function("traced_fn_kill_switch_on", |b| b.iter(|| traced(black_box(7))));
    group.bench_function("telemetry_call_layer_off", |b| b.iter(|| telemetry::feature(black_box("voice"))));
    drop(guard);
    // A sink that discards; the interval is long so the thread only drains the queue.
    let sink = |_: &telemetry::Payload| -> Result<(), telemetry::DeliveryError> { Ok(()) };
    let guard = trace_runtime::init_with(
        Config::builder()
            .exporter(Exporter::None)
            .telemetry_sink(sink)
            .telemetry_in_ci(true)
            .telemetry_interval(Duration::from_secs(3600))
            .build(),
    )
    .expect("init");
    group.bench_function("telemetry_call_layer_on", |b| b.iter(|| telemetry::feature(black_box("voice"))));
    drop(guard);
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
