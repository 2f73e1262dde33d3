//! Exporters failing in every way a network fails: a collector down for the whole run, one that
//! stalls past the timeout, one failing then recovering, one closing connections mid-request.
//! The application is never blocked, nothing panics, breakers open and recover (in `metrics()`),
//! every span is counted, and spans arrive once the backend is back. Shutdown is bounded from a
//! plain thread and from inside tokio runtimes. `init` is process-wide: these tests take turns.
#![cfg(feature = "otlp")] // the exporter that meets the faults

mod common;

use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{Mode, otlp_spans, wait_until};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use trace_runtime::config::{Exporter, OtlpProtocol};
use trace_runtime::{BreakerState, Config, ExporterMetrics, TraceGuard, init_with, trace, trace_pipeline};

static INIT: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    INIT.lock().unwrap_or_else(|p| p.into_inner())
}

const WAIT: Duration = Duration::from_secs(30);

#[trace_pipeline(name = "voice", element = "vad")]
fn frame(i: u32) -> u32 {
    i + 1
}

fn traces(name: &'static str, n: u32) -> u32 {
    (0..n).map(|i| trace!(name, { frame(i) })).sum()
}

fn exporter(name: &str) -> ExporterMetrics {
    trace_runtime::metrics().exporters.into_iter().find(|e| e.name == name).expect("exporter installed")
}

/// Every span this process started is exported or counted as dropped (once nothing is in flight).
fn counts_add_up() -> bool {
    let m = trace_runtime::metrics();
    m.spans_started == m.spans_exported + m.spans_dropped()
}

fn http_config(url: String) -> trace_runtime::ConfigBuilder {
    Config::builder()
        .exporter(Exporter::Otlp)
        .otlp_protocol(OtlpProtocol::HttpProtobuf)
        .otlp_endpoint(url)
        .batch_size(16)
        .export_timeout(Duration::from_millis(300))
        .circuit_breaker(2, Duration::from_millis(100))
}

fn http_spans(state: &common::State) -> Vec<String> {
    let bodies = state.bodies.lock().unwrap();
    let requests: Vec<ExportTraceServiceRequest> =
        bodies.iter().map(|(_, _, b)| ExportTraceServiceRequest::decode(b.as_slice()).unwrap()).collect();
    otlp_spans(&requests).into_iter().map(|(_, s)| s.name).collect()
}

/// Sends traces named `name` until one arrives; the breaker must let a trial through for that.
fn send_until_arrives(guard: &TraceGuard, state: &common::State, name: &'static str) -> bool {
    wait_until(WAIT, || {
        traces(name, 1);
        guard.flush();
        http_spans(state).iter().any(|n| n == name)
    })
}

#[test]
fn a_collector_down_for_the_whole_run_opens_the_breaker_and_blocks_nothing() {
    let _serial = serial();
    let down = common::closed_port();
    let guard = init_with(
        Config::builder()
            .exporter(Exporter::Otlp)
            .otlp_endpoint(format!("http://{down}"))
            .batch_size(8)
            .export_timeout(Duration::from_millis(500))
            .circuit_breaker(2, Duration::from_secs(60))
            .build(),
    )
    .unwrap();
    for _ in 0..10 {
        assert_eq!(traces("unsent", 10), 55, "traced code runs as usual");
        guard.flush();
    }
    assert!(wait_until(WAIT, || exporter("otlp").breaker == BreakerState::Open));
    let otlp = exporter("otlp");
    assert!(otlp.last_error.is_some());
    assert!(otlp.spans_failed > 0);
    assert_eq!(otlp.spans_exported, 0);
    assert!(otlp.batches <= 3, "an open circuit stops calling the exporter: {} calls", otlp.batches);
    assert!(wait_until(WAIT, counts_add_up));
    let err = guard.shutdown().expect_err("the lost spans are reported");
    assert!(err.to_string().contains("spans failed to export"), "{err}");
}

#[test]
fn a_stalled_collector_never_blocks_the_application_and_is_timed_out() {
    let _serial = serial();
    let collector = common::http_receiver();
    collector.state.set_mode(Mode::Stall);
    let guard = init_with(http_config(collector.url()).build()).unwrap();
    traces("first", 1);
    guard.flush();
    assert!(wait_until(WAIT, || collector.state.in_flight.load(Ordering::SeqCst) >= 1), "an export is stuck");
    // The collector holds that request for as long as the mode says: traced code still runs.
    assert_eq!(traces("during", 50), 50 * 51 / 2);
    assert!(collector.state.in_flight.load(Ordering::SeqCst) >= 1, "the export was still stuck meanwhile");
    assert!(wait_until(WAIT, || exporter("otlp").spans_failed > 0), "the stuck export was given up");
    let error = exporter("otlp").last_error.unwrap_or_default();
    assert!(error.contains("export timed out after 300ms"), "{error}");
    collector.state.set_mode(Mode::Ok);
    assert!(send_until_arrives(&guard, &collector.state, "after"), "spans arrive once the collector answers");
    assert!(wait_until(WAIT, || exporter("otlp").breaker == BreakerState::Closed));
    assert!(wait_until(WAIT, counts_add_up));
    drop(guard);
}

#[test]
fn a_failing_collector_opens_the_breaker_which_recovers_when_it_is_back() {
    let _serial = serial();
    let before = trace_runtime::metrics();
    let collector = common::http_receiver();
    collector.state.set_mode(Mode::Fail);
    let guard = init_with(http_config(collector.url()).build()).unwrap();
    assert!(wait_until(WAIT, || {
        traces("lost", 5);
        guard.flush();
        exporter("otlp").breaker == BreakerState::Open
    }));
    assert!(exporter("otlp").last_error.unwrap().contains("503"));
    collector.state.set_mode(Mode::Ok);
    assert!(send_until_arrives(&guard, &collector.state, "recovered"));
    assert!(wait_until(WAIT, || exporter("otlp").breaker == BreakerState::Closed));
    assert!(!http_spans(&collector.state).iter().any(|n| n == "lost"), "nothing was accepted while failing");
    assert!(wait_until(WAIT, counts_add_up));
    let failed = trace_runtime::metrics().spans_export_failed - before.spans_export_failed;
    assert!(failed > 0);
    drop(guard);
}

#[test]
fn connections_closed_mid_request_are_failures_not_panics() {
    let _serial = serial();
    let collector = common::http_receiver();
    collector.state.set_mode(Mode::Close);
    let guard = init_with(http_config(collector.url()).build()).unwrap();
    assert!(wait_until(WAIT, || {
        traces("cut", 5);
        guard.flush();
        exporter("otlp").spans_failed > 0
    }));
    collector.state.set_mode(Mode::Ok);
    assert!(send_until_arrives(&guard, &collector.state, "whole"));
    assert!(wait_until(WAIT, counts_add_up));
    drop(guard);
}

#[cfg(feature = "zipkin")] // the healthy one
#[test]
fn a_dead_exporter_does_not_delay_a_healthy_one() {
    let _serial = serial();
    let stalled = common::http_receiver();
    stalled.state.set_mode(Mode::Stall);
    let healthy = common::grpc_receiver();
    let guard = init_with(
        Config::builder()
            .exporter(Exporter::Otlp)
            .exporter(Exporter::Zipkin)
            .otlp_endpoint(healthy.url())
            .zipkin_endpoint(format!("{}/api/v2/spans", stalled.url()))
            .export_timeout(Duration::from_secs(30))
            .build(),
    )
    .unwrap();
    // No `flush()` here: it would wait for the stuck lane. The worker exports on its own timer.
    traces("both", 3);
    assert!(wait_until(WAIT, || stalled.state.in_flight.load(Ordering::SeqCst) >= 1), "zipkin is stuck");
    traces("second", 3);
    // Zipkin's export is held for up to 30 s; OTLP gets every span meanwhile.
    assert!(wait_until(WAIT, || otlp_spans(&healthy.state.grpc.lock().unwrap()).len() >= 12));
    assert!(stalled.state.in_flight.load(Ordering::SeqCst) >= 1, "zipkin was stuck all along");
    stalled.state.set_mode(Mode::Ok);
    drop(guard);
}

fn stalled_pipeline(collector: &common::Receiver) -> TraceGuard {
    let guard = init_with(
        http_config(collector.url())
            .export_timeout(Duration::from_millis(500))
            .circuit_breaker(100, Duration::from_millis(100))
            .build(),
    )
    .unwrap();
    traces("stuck", 40);
    guard
}

#[test]
fn shutdown_is_bounded_from_a_plain_thread() {
    let _serial = serial();
    let collector = common::http_receiver();
    collector.state.set_mode(Mode::Stall);
    let guard = stalled_pipeline(&collector);
    let err = std::thread::spawn(move || guard.shutdown()).join().unwrap().expect_err("spans were not sent");
    assert!(err.to_string().contains("failed to export"), "{err}");
    collector.state.set_mode(Mode::Ok);
}

#[test]
fn shutdown_is_bounded_inside_a_current_thread_runtime() {
    let _serial = serial();
    let collector = common::http_receiver();
    collector.state.set_mode(Mode::Stall);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let result = rt.block_on(async {
        let guard = stalled_pipeline(&collector);
        tokio::task::yield_now().await;
        guard.shutdown()
    });
    assert!(result.is_err(), "what could not be sent is reported");
    collector.state.set_mode(Mode::Ok);
}

#[test]
fn shutdown_by_guard_drop_is_bounded_inside_a_multi_thread_runtime() {
    let _serial = serial();
    let collector = common::http_receiver();
    collector.state.set_mode(Mode::Stall);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let before = trace_runtime::metrics();
    rt.block_on(async {
        let guard = stalled_pipeline(&collector);
        tokio::spawn(async { traces("task", 5) }).await.unwrap();
        drop(guard);
    });
    let after = trace_runtime::metrics();
    assert!(after.spans_export_failed > before.spans_export_failed, "unsent spans are counted");
    collector.state.set_mode(Mode::Ok);
}

/// A log sink stuck in its flush, as a user's sink talking to a dead service may be.
struct StuckLogSink;

impl trace_runtime::log::LogSink for StuckLogSink {
    fn name(&self) -> &str {
        "stuck"
    }
    fn write(&self, _: &[trace_runtime::log::LogRecord]) -> Result<(), trace_runtime::log::LogSinkError> {
        Ok(())
    }
    fn flush(&self, _: Duration) -> Result<(), trace_runtime::log::LogSinkError> {
        std::thread::sleep(Duration::from_secs(3));
        Ok(())
    }
}

#[test]
fn shutdown_as_a_whole_ends_within_the_export_timeout_with_a_stuck_log_sink_and_collector() {
    let _serial = serial();
    let collector = common::http_receiver();
    collector.state.set_mode(Mode::Stall);
    let guard = stalled_pipeline(&collector);
    let sink = trace_runtime::log::add_sink(std::sync::Arc::new(StuckLogSink));
    trace!("with-log", { trace_runtime::log::info("stuck behind a sink") });
    let started = std::time::Instant::now();
    let err = guard.shutdown().expect_err("neither the spans nor the logs were delivered");
    let took = started.elapsed();
    // The timeout is 500 ms; a little scheduling slack, far from the 5.5 s it used to take.
    assert!(took < Duration::from_millis(800), "shutdown took {took:?}: {err}");
    collector.state.set_mode(Mode::Ok);
    trace_runtime::log::remove_sink(sink);
}
