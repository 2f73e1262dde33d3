//! Spans per second written to the local JSON store and to SQLite, through their exporters.
//!
//! `cargo bench -p trace-runtime --bench store_write -- --warm-up-time 1 --measurement-time 2`
//!
//! Each iteration exports one fresh trace of 100 spans (a root and 99 children), as the export
//! worker hands them over; trace files are fsynced, so the disk sets the pace.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use trace_runtime::store::{FileExporter, SqliteExporter};
use trace_runtime::{testing, trace};

const SPANS: usize = 100;

fn fresh_trace() -> Vec<SpanData> {
    let (_, spans) = testing::capture(|| {
        trace!("request", session.id = "s-1", {
            for i in 0..SPANS - 1 {
                trace!("step", "step.index" = i as i64, "pipeline.element" = "vad", {});
            }
        })
    });
    spans
}

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("store-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut group = c.benchmark_group("store_write");
    group.throughput(Throughput::Elements(SPANS as u64));
    group.sample_size(10);

    let files = FileExporter::builder().dir(dir.join("traces-only")).span_files(false).build().unwrap();
    group.bench_function("json_trace_files_100_spans", |b| {
        b.iter_batched(
            fresh_trace,
            |spans| futures::executor::block_on(files.export(spans)).unwrap(),
            BatchSize::SmallInput,
        )
    });

    let with_spans = FileExporter::builder().dir(dir.join("with-span-files")).build().unwrap();
    group.bench_function("json_trace_and_span_files_100_spans", |b| {
        b.iter_batched(
            fresh_trace,
            |spans| futures::executor::block_on(with_spans.export(spans)).unwrap(),
            BatchSize::SmallInput,
        )
    });

    let sqlite = SqliteExporter::open(dir.join("traces.db")).unwrap();
    group.bench_function("sqlite_100_spans", |b| {
        b.iter_batched(
            fresh_trace,
            |spans| futures::executor::block_on(sqlite.export(spans)).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
