//! Metrics settings: `OTEL_METRICS_EXPORTER`, `OTEL_METRIC_EXPORT_INTERVAL` and the builder's
//! [`with_metric_exporter`](ConfigBuilder::with_metric_exporter).

use std::time::Duration;

use super::ConfigBuilder;

/// How often metrics are exported by default (`OTEL_METRIC_EXPORT_INTERVAL`).
pub(crate) const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

#[cfg(feature = "metrics")]
use crate::export::metrics::AddReader;

/// What the builder set for metrics.
#[derive(Default)]
pub(crate) struct MetricsOptions {
    #[cfg(feature = "metrics")]
    readers: Vec<AddReader>,
    interval: Option<Duration>,
}

impl std::fmt::Debug for MetricsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = f.debug_struct("MetricsOptions");
        #[cfg(feature = "metrics")]
        s.field("metric_exporters", &self.readers.len());
        s.field("interval", &self.interval).finish()
    }
}

/// Metrics, resolved: where they go and how often.
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) struct MetricsSettings {
    #[cfg(feature = "metrics")]
    pub(crate) readers: Vec<AddReader>,
    /// `OTEL_METRICS_EXPORTER` names `otlp` (its settings are in `ExportSettings::metrics_otlp`).
    pub(crate) otlp: bool,
    /// `OTEL_METRICS_EXPORTER` names `console`.
    pub(crate) console: bool,
    pub(crate) interval: Duration,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        MetricsSettings {
            #[cfg(feature = "metrics")]
            readers: Vec::new(),
            otlp: false,
            console: false,
            interval: DEFAULT_INTERVAL,
        }
    }
}

impl MetricsSettings {
    /// The destinations, with the OTLP settings resolved beside the spans'.
    #[cfg(feature = "metrics")]
    pub(crate) fn destinations(
        self,
        otlp: Option<crate::export::OtlpSettings>,
    ) -> crate::export::metrics::Destinations {
        crate::export::metrics::Destinations {
            readers: self.readers,
            console: self.console,
            otlp: if self.otlp { otlp } else { None },
            interval: self.interval,
        }
    }
}

/// `OTEL_METRICS_EXPORTER` (a comma list of `otlp`, `console`, `none`; unknown names are a
/// warning and skipped) and `OTEL_METRIC_EXPORT_INTERVAL` (ms; a bad value is a warning).
pub(super) fn resolve(
    options: MetricsOptions,
    env: &impl Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> MetricsSettings {
    let (mut otlp, mut console) = (false, false);
    if let Some(value) = env("OTEL_METRICS_EXPORTER") {
        for name in value.split(',').map(|n| n.trim().to_ascii_lowercase()).filter(|n| !n.is_empty()) {
            match name.as_str() {
                "otlp" if cfg!(all(feature = "metrics", feature = "otlp")) => otlp = true,
                "console" if cfg!(feature = "metrics") => console = true,
                "none" => {}
                _ => {
                    let why = match name.as_str() {
                        "otlp" | "console" => {
                            "this build has its cargo feature off (`metrics`, and `otlp` for otlp)"
                        }
                        "prometheus" => {
                            "Prometheus is not supported: send OTLP to a collector that serves it"
                        }
                        _ => "expected otlp, console or none",
                    };
                    warnings.push(format!("`OTEL_METRICS_EXPORTER` names `{name}`: {why}; it is skipped"));
                }
            }
        }
    }
    let interval = options
        .interval
        .or_else(|| {
            super::otel::positive(env, "OTEL_METRIC_EXPORT_INTERVAL", warnings)
                .map(|ms| Duration::from_millis(ms as u64))
        })
        .unwrap_or(DEFAULT_INTERVAL);
    MetricsSettings {
        #[cfg(feature = "metrics")]
        readers: options.readers,
        otlp,
        console,
        interval,
    }
}

impl ConfigBuilder {
    /// Sends the GenAI and voice-turn metrics ([`llm` metrics](crate::summary)) to `exporter`
    /// too, every export interval and at shutdown: any OpenTelemetry
    /// [`PushMetricExporter`](opentelemetry_sdk::metrics::exporter::PushMetricExporter), the
    /// metrics counterpart of [`with_span_exporter`](Self::with_span_exporter). Recording happens
    /// on the export worker, from the spans it converts.
    ///
    /// ```rust,standalone_crate
    /// use trace_runtime::opentelemetry_sdk::metrics::InMemoryMetricExporter;
    /// use trace_runtime::{Config, Usage, config::Exporter, span, trace_llm};
    ///
    /// #[trace_llm(provider = "openai", model = "gpt-4o-mini")]
    /// fn ask() {
    ///     span::record_usage(Usage { input_tokens: 12, output_tokens: 30, ..Default::default() });
    /// }
    ///
    /// let metrics = InMemoryMetricExporter::default();
    /// let guard = trace_runtime::init_with(
    ///     Config::builder().exporter(Exporter::None).with_metric_exporter(metrics.clone()).build(),
    /// )
    /// .unwrap();
    /// ask();
    /// guard.shutdown().unwrap(); // exports the last metrics
    /// let exported = metrics.get_finished_metrics().unwrap();
    /// let names: Vec<_> = exported.iter().flat_map(|r| r.scope_metrics()).flat_map(|s| s.metrics()).map(|m| m.name()).collect();
    /// assert!(names.contains(&"gen_ai.client.token.usage"));
    /// assert!(names.contains(&"gen_ai.client.operation.duration"));
    /// ```
    #[cfg(feature = "metrics")]
    pub fn with_metric_exporter<E>(mut self, exporter: E) -> Self
    where
        E: opentelemetry_sdk::metrics::exporter::PushMetricExporter,
    {
        self.0.metrics.readers.push(Box::new(move |builder, interval| {
            builder.with_reader(
                opentelemetry_sdk::metrics::PeriodicReader::builder(exporter).with_interval(interval).build(),
            )
        }));
        self
    }

    /// How often metrics are exported (`OTEL_METRIC_EXPORT_INTERVAL`, default 60 s); they are
    /// exported at shutdown too.
    ///
    /// ```
    /// let config = trace_runtime::Config::builder().metric_export_interval(std::time::Duration::from_secs(10)).build();
    /// # drop(config);
    /// ```
    pub fn metric_export_interval(mut self, interval: Duration) -> Self {
        self.0.metrics.interval = Some(interval.max(Duration::from_millis(1)));
        self
    }
}
