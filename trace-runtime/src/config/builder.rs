//! `ConfigBuilder`: every setting in code, each replacing its environment variable.

use std::path::PathBuf;
use std::time::Duration;

use opentelemetry_sdk::trace::SpanExporter;

use super::{Config, Exporter};
use crate::pipeline::exporter::Sdk;

/// Builds a [`Config`]; see the [module docs](crate::config) for the matching environment variables.
#[derive(Debug)]
pub struct ConfigBuilder(pub(crate) Config);

impl ConfigBuilder {
    pub(crate) fn export_options(&mut self) -> &mut super::export::ExportOptions {
        &mut self.0.export
    }

    /// Built-in exporter (replaces `TRACE_EXPORTER`; call again to add more).
    pub fn exporter(mut self, exporter: Exporter) -> Self {
        self.0.exporters.get_or_insert_with(Vec::new).push(exporter);
        self
    }

    /// Adds any OpenTelemetry SDK exporter beside the built-in ones.
    ///
    /// ```rust,standalone_crate
    /// use trace_runtime::{Config, config::Exporter};
    /// use trace_runtime::opentelemetry_sdk::trace::InMemorySpanExporter;
    ///
    /// let memory = InMemorySpanExporter::default();
    /// let guard = trace_runtime::init_with(
    ///     Config::builder().exporter(Exporter::None).with_span_exporter(memory.clone()).build(),
    /// )
    /// .unwrap();
    /// trace_runtime::trace!("job", {});
    /// assert!(guard.flush());
    /// assert_eq!(memory.get_finished_spans().unwrap()[0].name, "job");
    /// ```
    pub fn with_span_exporter<E: SpanExporter + 'static>(mut self, exporter: E) -> Self {
        let name = format!("custom-{}", self.0.span_exporters.len() + 1);
        self.0.span_exporters.push(Sdk::boxed(name, exporter));
        self
    }

    /// Resource `service.name` (replaces `OTEL_SERVICE_NAME`).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.0.service_name = Some(name.into());
        self
    }

    /// Resource `deployment.environment.name` (replaces `ENVIRONMENT`).
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.0.environment = Some(environment.into());
        self
    }

    /// Share of traces recorded, `0.0`-`1.0` (replaces `TRACE_SAMPLING_RATE`).
    pub fn sampling_rate(mut self, rate: f64) -> Self {
        self.0.sampling_rate = Some(rate);
        self
    }

    /// The longest a finished span waits in the export worker for a full batch before it is
    /// exported (`OTEL_BSP_SCHEDULE_DELAY`, in milliseconds; default 200 ms, at least 1 ms).
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = trace_runtime::Config::builder().schedule_delay(Duration::from_secs(1)).build();
    /// ```
    pub fn schedule_delay(mut self, delay: Duration) -> Self {
        self.0.schedule_delay = Some(delay);
        self
    }

    /// The longest string attribute value kept, in bytes (`OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`;
    /// default [`limits::MAX_VALUE_BYTES`](crate::limits::MAX_VALUE_BYTES)): longer values,
    /// event texts and status messages are cut on a char boundary, marked `…[truncated]`.
    ///
    /// ```
    /// let config = trace_runtime::Config::builder().attribute_value_length_limit(4096).build();
    /// ```
    pub fn attribute_value_length_limit(mut self, bytes: usize) -> Self {
        self.0.value_limit = Some(bytes);
        self
    }

    /// The most attributes one span keeps (`OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`; default
    /// [`limits::MAX_ATTRIBUTES`](crate::limits::MAX_ATTRIBUTES)); the rest are dropped and
    /// counted in the span's `dropped_attributes_count`.
    ///
    /// ```
    /// let config = trace_runtime::Config::builder().span_attribute_count_limit(64).build();
    /// ```
    pub fn span_attribute_count_limit(mut self, attributes: usize) -> Self {
        self.0.attribute_limit = Some(attributes);
        self
    }

    /// The most events one span keeps (`OTEL_SPAN_EVENT_COUNT_LIMIT`; default
    /// [`limits::MAX_EVENTS`](crate::limits::MAX_EVENTS)); the rest are dropped and counted.
    ///
    /// ```
    /// let config = trace_runtime::Config::builder().span_event_count_limit(32).build();
    /// ```
    pub fn span_event_count_limit(mut self, events: usize) -> Self {
        self.0.event_limit = Some(events);
        self
    }

    /// Whether a span under a remote parent (a `traceparent` from another service) follows the
    /// parent's sampled flag (`true`, the default: the `parentbased_*` samplers of
    /// `OTEL_TRACES_SAMPLER`) or is sampled by [`sampling_rate`](Self::sampling_rate) on its trace
    /// id like a root (`false`: `always_on`, `always_off`, `traceidratio`).
    ///
    /// ```
    /// let config = trace_runtime::Config::builder().sampling_rate(1.0).parent_based_sampling(false).build();
    /// ```
    pub fn parent_based_sampling(mut self, parent_based: bool) -> Self {
        self.0.parent_based = Some(parent_based);
        self
    }

    /// Spans waiting for the export worker before new ones are dropped (replaces `TRACE_QUEUE_SIZE`).
    pub fn queue_size(mut self, spans: usize) -> Self {
        self.0.queue_size = Some(spans);
        self
    }

    /// Spans per exporter call (replaces `TRACE_BATCH_SIZE`).
    pub fn batch_size(mut self, spans: usize) -> Self {
        self.0.batch_size = Some(spans);
        self
    }

    /// Bound of each export call (an exporter taking longer counts as failed, towards its circuit
    /// breaker) and of shutdown (replaces `TRACE_EXPORT_TIMEOUT_MS`).
    pub fn export_timeout(mut self, timeout: Duration) -> Self {
        self.0.export_timeout = Some(timeout);
        self
    }

    /// How much lower than the application's the export threads' scheduling priority is, as a
    /// Linux `nice` increment from 0 to 19 (replaces `TRACE_EXPORT_NICE`; default 5, ignored on
    /// other systems). On a machine with idle cores it changes nothing; on a saturated one the
    /// application's threads run first, and the spans the export worker then cannot convert are
    /// dropped and counted. `0` shares the CPU equally, for delivery over the application's speed.
    ///
    /// ```
    /// use trace_runtime::Config;
    ///
    /// let config = Config::builder().export_nice(0).build();
    /// # drop(config);
    /// ```
    pub fn export_nice(mut self, nice: u8) -> Self {
        self.0.export_nice = Some(nice);
        self
    }

    /// Record LLM prompts and completions (replaces `TRACE_CAPTURE_IO`).
    pub fn capture_io(mut self, on: bool) -> Self {
        self.0.capture_io = Some(on);
        self
    }

    /// The kill switch. `true` turns everything off whatever the environment says; `false` does
    /// not override `TRACE_DISABLE_ALL`, `OTEL_SDK_DISABLED` or the opt-out file: an opt-out wins.
    pub fn disabled(mut self, disabled: bool) -> Self {
        self.0.disabled = Some(disabled);
        self
    }

    /// Sends anonymous telemetry to an `http://` endpoint, or `https://` with the `tls` feature
    /// (replaces `TRACE_TELEMETRY_ENDPOINT`); see [`telemetry`](crate::telemetry) for what is
    /// sent and what switches it off.
    ///
    /// ```
    /// let config = trace_runtime::Config::builder().telemetry_endpoint("http://127.0.0.1:4318/t").build();
    /// # drop(config);
    /// ```
    pub fn telemetry_endpoint(mut self, url: impl Into<String>) -> Self {
        self.0.telemetry.endpoint = Some(url.into());
        self
    }

    /// Hands telemetry batches to `sink` instead of an endpoint (see
    /// [`TelemetrySink`](crate::telemetry::TelemetrySink) for an example).
    pub fn telemetry_sink(mut self, sink: impl crate::telemetry::TelemetrySink) -> Self {
        self.0.telemetry.sink = Some(Box::new(sink));
        self
    }

    /// `false` turns the telemetry layer off (replaces `TRACE_TELEMETRY_ENABLED`); `true` alone
    /// does not turn it on: it needs a destination.
    pub fn telemetry_enabled(mut self, on: bool) -> Self {
        self.0.telemetry.enabled = Some(on);
        self
    }

    /// Keeps telemetry on in CI jobs (replaces `TRACE_ENABLE_TELEMETRY_IN_CI`).
    pub fn telemetry_in_ci(mut self, on: bool) -> Self {
        self.0.telemetry.in_ci = Some(on);
        self
    }

    /// Time between two telemetry batches (default one minute; at least 10 ms).
    pub fn telemetry_interval(mut self, interval: Duration) -> Self {
        self.0.telemetry.interval = Some(interval);
        self
    }

    /// Directory of the `file` exporter's JSON traces (replaces `TRACE_LOCAL_DIR`, default
    /// `./traces`).
    pub fn local_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.0.local_dir = Some(dir.into());
        self
    }

    /// Database file of the `sqlite` exporter (replaces `TRACE_SQLITE_PATH`, default
    /// `./traces/traces.db`).
    pub fn sqlite_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.0.sqlite_path = Some(path.into());
        self
    }

    /// Directory of the run-directory log sink, installed by `init` (replaces `TRACE_LOG_DIR`).
    ///
    /// ```rust,standalone_crate
    /// use trace_runtime::{Config, config::Exporter, log};
    ///
    /// let dir = std::env::temp_dir().join(format!("log-dir-doc-{}", std::process::id()));
    /// let guard = trace_runtime::init_with(Config::builder().exporter(Exporter::None).log_dir(&dir).build())
    ///     .expect("a writable directory");
    /// log::run("job-1").in_scope(|| log::info("started"));
    /// drop(guard); // hands the log records to the sinks
    /// assert!(std::fs::read_to_string(dir.join("run_id=job-1/stdout.txt")).unwrap().contains("started"));
    /// # std::fs::remove_dir_all(&dir).ok();
    /// ```
    pub fn log_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.0.log_dir = Some(dir.into());
        self
    }

    /// The configuration.
    pub fn build(self) -> Config {
        self.0
    }
}
