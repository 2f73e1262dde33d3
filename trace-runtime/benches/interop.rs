//! Cost of spans made through the OpenTelemetry API and `tracing` when the kit records them, and of
//! W3C inject / extract; with the OpenTelemetry SDK's own `in_span` as the peer in the same run.
//!
//! `cargo bench -p trace-runtime --bench interop -- --quick`
//!
//! - `otel_api_via_kit/in_span_4_attrs`: `global::tracer(..).in_span` with 4 attributes, recorded
//!   by the kit's provider inside a sampled kit root, exported through the real pipeline to an
//!   exporter that discards;
//! - `tracing_via_kit/span_4_fields`: `tracing::info_span!` with 4 fields, entered, through
//!   `tracing_layer()` likewise;
//! - `propagation/inject`, `propagation/extract`: a `traceparent` into / out of a `HashMap`;
//! - `otel_sdk/in_span_4_attrs`: `opentelemetry_sdk` `tracer.in_span` with a `BatchSpanProcessor`
//!   and a discarding exporter, inside a sampled root.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry::KeyValue;
use opentelemetry::trace::{TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracerProvider, SpanData, SpanExporter};
use trace_runtime::config::Exporter;
use trace_runtime::{Config, propagation, trace, tracing_layer};
use tracing_subscriber::layer::SubscriberExt;

#[inline(never)]
fn work(x: u64) -> u64 {
    x.wrapping_mul(2654435761) >> 7
}

fn attrs() -> [KeyValue; 4] {
    [
        KeyValue::new("pipeline.name", "voice"),
        KeyValue::new("pipeline.element", "stt"),
        KeyValue::new("audio.sample_rate", 16000),
        KeyValue::new("audio.channels", 1),
    ]
}

#[derive(Debug)]
struct Discard;

impl SpanExporter for Discard {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        black_box(batch);
        Ok(())
    }
}

fn interop(c: &mut Criterion) {
    let mut g = c.benchmark_group("interop");
    let guard = trace_runtime::init_with(
        Config::builder().exporter(Exporter::None).with_span_exporter(Discard).queue_size(1 << 20).build(),
    )
    .expect("bench config");
    let subscriber = tracing_subscriber::registry().with(tracing_layer());
    let _default = tracing::subscriber::set_default(subscriber);
    let tracer = opentelemetry::global::tracer("bench");
    trace!("bench root", {
        g.bench_function("otel_api_via_kit/in_span_4_attrs", |b| {
            b.iter(|| {
                tracer.in_span("frame", |cx| {
                    cx.span().set_attributes(attrs());
                    work(black_box(7))
                })
            })
        });
        g.bench_function("tracing_via_kit/span_4_fields", |b| {
            b.iter(|| {
                tracing::info_span!(
                    "frame",
                    pipeline.name = "voice",
                    pipeline.element = "stt",
                    audio.sample_rate = 16000,
                    audio.channels = 1
                )
                .in_scope(|| work(black_box(7)))
            })
        });
        g.bench_function("propagation/inject", |b| {
            b.iter(|| {
                let mut headers = HashMap::with_capacity(2);
                propagation::inject(&mut headers);
                headers
            })
        });
    });
    let headers = HashMap::from([(
        "traceparent".to_string(),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string(),
    )]);
    g.bench_function("propagation/extract", |b| b.iter(|| propagation::extract(black_box(&headers))));
    drop(guard);

    let provider = SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::builder(Discard).build())
        .build();
    let sdk = provider.tracer("bench");
    sdk.in_span("bench root", |_| {
        g.bench_function("otel_sdk/in_span_4_attrs", |b| {
            b.iter(|| {
                sdk.in_span("frame", |cx| {
                    cx.span().set_attributes(attrs());
                    work(black_box(7))
                })
            })
        });
    });
    let _ = provider.shutdown();
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = interop
}
criterion_main!(benches);
