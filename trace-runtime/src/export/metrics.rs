//! The metrics side of the export pipeline: an OpenTelemetry meter provider with one periodic
//! reader per destination — the application's [`PushMetricExporter`]s, OTLP, the console — into
//! whose instruments the export worker records (see `llm::metrics`).
//!
//! Each reader exports on its own thread (the SDK's `PeriodicReader`): a slow or dead backend
//! delays nobody. OTLP runs its calls on a current-thread tokio runtime of its own, like the span
//! lanes, so the application needs no runtime.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{Duration, Instant};

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};

/// Adds a reader exporting every `interval` to a meter provider being built (what
/// `ConfigBuilder::with_metric_exporter` keeps).
pub(crate) type AddReader = Box<
    dyn FnOnce(
            opentelemetry_sdk::metrics::MeterProviderBuilder,
            Duration,
        ) -> opentelemetry_sdk::metrics::MeterProviderBuilder
        + Send,
>;

/// Where metrics go, resolved by `config`.
pub(crate) struct Destinations {
    pub(crate) readers: Vec<AddReader>,
    pub(crate) console: bool,
    pub(crate) otlp: Option<crate::export::OtlpSettings>,
    pub(crate) interval: Duration,
}

/// The running meter provider; the export worker records into it until [`Self::shutdown`].
#[derive(Debug)]
pub(crate) struct MeterPipeline {
    provider: SdkMeterProvider,
}

impl MeterPipeline {
    /// Starts the readers `settings` ask for, or `None` when there are none (metrics off: the
    /// worker records nothing). An OTLP exporter that cannot be built is an error naming it.
    pub(crate) fn start(
        to: Destinations,
        resource: Resource,
        timeout: Duration,
    ) -> Result<Option<MeterPipeline>, String> {
        if to.readers.is_empty() && !to.console && to.otlp.is_none() {
            return Ok(None);
        }
        let interval = to.interval;
        let mut builder = SdkMeterProvider::builder().with_resource(resource);
        for add in to.readers {
            builder = add(builder, interval);
        }
        if to.console {
            builder =
                builder.with_reader(PeriodicReader::builder(ConsoleMetrics).with_interval(interval).build());
        }
        #[cfg(feature = "otlp")]
        if let Some(otlp) = &to.otlp {
            let exporter = OtlpMetrics::new(otlp, otlp.timeout.unwrap_or(timeout))?;
            builder = builder.with_reader(PeriodicReader::builder(exporter).with_interval(interval).build());
        }
        #[cfg(not(feature = "otlp"))]
        let _ = timeout;
        let provider = builder.build();
        crate::llm::metrics::install(&provider.meter("trace-runtime"));
        Ok(Some(MeterPipeline { provider }))
    }

    /// Exports what was recorded so far.
    pub(crate) fn flush(&self) -> bool {
        self.provider.force_flush().is_ok()
    }

    /// Stops recording, exports the last metrics and shuts the readers down by `deadline`. Call
    /// it after the span pipeline shut down: the worker recorded every span's metrics by then.
    pub(crate) fn shutdown(self, deadline: Instant) -> Result<(), String> {
        crate::llm::metrics::uninstall();
        let left = deadline.saturating_duration_since(Instant::now());
        self.provider
            .shutdown_with_timeout(left)
            .map_err(|e| format!("the metric exporters did not shut down: {e}"))
    }
}

/// OTLP metrics (gRPC, HTTP/protobuf, HTTP/JSON) from the same settings as the spans', with the
/// `_METRICS_` variables winning.
#[cfg(feature = "otlp")]
struct OtlpMetrics {
    runtime: tokio::runtime::Runtime,
    exporter: opentelemetry_otlp::MetricExporter,
}

#[cfg(feature = "otlp")]
impl OtlpMetrics {
    fn new(s: &crate::export::OtlpSettings, timeout: Duration) -> Result<Self, String> {
        use crate::export::OtlpProtocol;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("the OTLP metric exporter cannot start its tokio runtime: {e}"))?;
        // Built inside the runtime: the gRPC channel binds to it.
        let _entered = runtime.enter();
        let builder = opentelemetry_otlp::MetricExporter::builder();
        let built = match s.protocol {
            OtlpProtocol::Grpc => super::otlp::tonic(builder.with_tonic(), s, timeout)?.build(),
            OtlpProtocol::HttpProtobuf | OtlpProtocol::HttpJson => {
                super::otlp::http(builder.with_http(), s, timeout)?.build()
            }
        };
        let exporter =
            built.map_err(|e| format!("cannot build the OTLP metric exporter for {}: {e}", s.endpoint))?;
        drop(_entered);
        Ok(OtlpMetrics { runtime, exporter })
    }
}

#[cfg(feature = "otlp")]
impl PushMetricExporter for OtlpMetrics {
    fn export(&self, metrics: &ResourceMetrics) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        // The reader's thread drives the call on this exporter's own runtime; the client's
        // timeout bounds it.
        std::future::ready(self.runtime.block_on(self.exporter.export(metrics)))
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.exporter.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.exporter.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.exporter.temporality()
    }
}

/// `OTEL_METRICS_EXPORTER=console`: each histogram point on one line on standard output —
/// name, unit, attributes, count, sum, min and max.
struct ConsoleMetrics;

impl ConsoleMetrics {
    fn render(metrics: &ResourceMetrics) -> String {
        let mut out = String::new();
        for metric in metrics.scope_metrics().flat_map(|s| s.metrics()) {
            let mut point = |attributes: &mut dyn Iterator<Item = &opentelemetry::KeyValue>,
                             figures: String| {
                let attributes: Vec<String> =
                    attributes.map(|kv| format!("{}={}", kv.key, kv.value)).collect();
                let _ = writeln!(
                    out,
                    "metric {} [{}] {{{}}} {figures}",
                    metric.name(),
                    metric.unit(),
                    attributes.join(", ")
                );
            };
            match metric.data() {
                AggregatedMetrics::F64(MetricData::Histogram(h)) => {
                    for p in h.data_points() {
                        let (min, max) = (p.min().unwrap_or(0.0), p.max().unwrap_or(0.0));
                        point(
                            &mut p.attributes(),
                            format!("count={} sum={:.6} min={min:.6} max={max:.6}", p.count(), p.sum()),
                        );
                    }
                }
                AggregatedMetrics::U64(MetricData::Histogram(h)) => {
                    for p in h.data_points() {
                        let (min, max) = (p.min().unwrap_or(0), p.max().unwrap_or(0));
                        point(
                            &mut p.attributes(),
                            format!("count={} sum={} min={min} max={max}", p.count(), p.sum()),
                        );
                    }
                }
                // The kit records histograms only.
                _ => {}
            }
        }
        out
    }
}

impl PushMetricExporter for ConsoleMetrics {
    fn export(&self, metrics: &ResourceMetrics) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        let text = Self::render(metrics);
        // The documented console output; a closed stdout is an export error, not a panic.
        let written = std::io::stdout().lock().write_all(text.as_bytes());
        std::future::ready(
            written.map_err(|e| OTelSdkError::InternalFailure(format!("standard output: {e}"))),
        )
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}
