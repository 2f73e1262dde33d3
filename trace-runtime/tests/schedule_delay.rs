//! `OTEL_BSP_SCHEDULE_DELAY` / `ConfigBuilder::schedule_delay`: how long the export worker holds a
//! partial batch. A test binary of its own: `init` is process-wide.

use std::time::Duration;

use opentelemetry_sdk::trace::InMemorySpanExporter;
use trace_runtime::config::Exporter;
use trace_runtime::{Config, trace};

#[test]
fn a_partial_batch_waits_for_the_schedule_delay_or_a_flush() {
    let memory = InMemorySpanExporter::default();
    let guard = trace_runtime::init_with(
        Config::builder()
            .exporter(Exporter::None)
            .summary(false)
            .schedule_delay(Duration::from_secs(30))
            .with_span_exporter(memory.clone())
            .build(),
    )
    .unwrap();
    trace!("held", {});
    // The span reached the worker (its thread left its outermost span), but a batch of one is
    // held for the delay: with the old fixed 200 ms it would be exported by now.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(memory.get_finished_spans().unwrap().is_empty(), "held for the 30 s delay");
    assert!(guard.flush());
    assert_eq!(memory.get_finished_spans().unwrap().len(), 1, "a flush exports it at once");
}
