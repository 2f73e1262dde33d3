//! Cost of a log call: on a recording span (a `log` event), and handed to a log sink.
//!
//! `cargo bench -p trace-runtime --bench logs`
//!
//! - `span_only`: `trace!` around trivial work, the baseline;
//! - `span_with_info`: the same span with one `log::info` (an event with the record's metadata);
//! - `info_to_sink`: `log::info` outside any span, queued for a sink that discards;
//! - `info_buffered`: the same inside a `log::buffer()` scope, handed off every 64 records.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use trace_runtime::config::Exporter;
use trace_runtime::log::{self, LogRecord, LogSink, LogSinkError};
use trace_runtime::{Config, trace};

#[derive(Debug)]
struct Discard;

impl SpanExporter for Discard {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        black_box(batch);
        Ok(())
    }
}

struct DiscardLogs;

impl LogSink for DiscardLogs {
    fn name(&self) -> &str {
        "discard"
    }

    fn write(&self, records: &[LogRecord]) -> Result<(), LogSinkError> {
        black_box(records);
        Ok(())
    }
}

fn bench(c: &mut Criterion) {
    let _guard = trace_runtime::init_with(
        Config::builder().exporter(Exporter::None).with_span_exporter(Discard).build(),
    )
    .expect("valid settings");
    let mut group = c.benchmark_group("logs");
    group.bench_function("span_only", |b| b.iter(|| trace!("stage", { black_box(1) })));
    group.bench_function("span_with_info", |b| b.iter(|| trace!("stage", { log::info("rows loaded") })));
    let id = log::add_sink(Arc::new(DiscardLogs));
    group.bench_function("info_to_sink", |b| b.iter(|| log::info("rows loaded")));
    group.bench_function("info_buffered", |b| {
        b.iter(|| {
            let _buffer = log::buffer();
            for _ in 0..64 {
                log::info("rows loaded");
            }
        })
    });
    group.finish();
    log::remove_sink(id);
}

criterion_group!(benches, bench);
criterion_main!(benches);
