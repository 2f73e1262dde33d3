//! Configuration: a builder and environment variables, the builder winning.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `OTEL_TRACES_EXPORTER` | when `TRACE_EXPORTER` is unset: comma list of `otlp`, `zipkin`, `console`, `none`; an unknown name is a warning and skipped (none left: `otlp`) | unset |
//! | `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG` | when `TRACE_SAMPLING_RATE` is unset: `always_on`, `always_off`, `traceidratio`, and their `parentbased_` forms (which follow a remote parent's sampled flag; the others decide by the ratio there too); a bad value is a warning and `parentbased_always_on` | unset |
//! | `OTEL_PROPAGATORS` | the global text-map propagators: comma list of `tracecontext`, `baggage`, `none`; one the application installed before `init` is kept | `tracecontext` |
//! | `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BSP_EXPORT_TIMEOUT` | when `TRACE_QUEUE_SIZE`, `TRACE_BATCH_SIZE`, `TRACE_EXPORT_TIMEOUT_MS` are unset: the same settings; a bad value is a warning and the default stands | unset |
//! | `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`, `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT` (or `OTEL_ATTRIBUTE_COUNT_LIMIT`), `OTEL_SPAN_EVENT_COUNT_LIMIT` | the longest string value (bytes), the most attributes and events on a span; past them values are cut and attributes and events dropped and counted; a bad value is a warning | `16384`, `128`, `128` |
//! | `OTEL_BSP_SCHEDULE_DELAY` | the longest a finished span waits in the export worker for a full batch, in ms; a bad value is a warning | `200` |
//! | `TRACE_EXPORTER` | comma list of `stdout`, `otlp`, `zipkin`, `file`, `sqlite`, `none`; with the `otlp` feature also the LLM-observability backends `langfuse`, `phoenix`, `langwatch`, `logfire` (set up from the variables their own SDKs read: `LANGFUSE_PUBLIC_KEY`, `PHOENIX_COLLECTOR_ENDPOINT`, `LANGWATCH_API_KEY`, `LOGFIRE_TOKEN`, ...; see [`ConfigBuilder::langfuse`](crate::ConfigBuilder::langfuse)); with the `sinks` feature `rest`, `datadog`, `loki`, `cloudwatch`, `elasticsearch` (set up from their variables, see [`sinks`](crate::sinks)) | `stdout` |
//! | `TRACE_LOCAL_DIR` | directory of the `file` exporter's JSON traces | `./traces` |
//! | `TRACE_SQLITE_PATH` | database of the `sqlite` exporter | `./traces/traces.db` |
//! | `TRACE_LOG_DIR` | directory of the run-directory log sink ([`log::RunDirSink`](crate::log::RunDirSink)) | none |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` | OTLP base URL (`/v1/traces` added for HTTP), or the full traces URL | `http://localhost:4317` (grpc), `http://localhost:4318` (http) |
//! | `OTEL_EXPORTER_OTLP_PROTOCOL`, `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` | `grpc`, `http/protobuf` or `http/json` | `grpc` |
//! | `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TRACES_HEADERS` | `key=value,...` (values percent-encoded), e.g. auth | none |
//! | `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` | ms per OTLP export call | `TRACE_EXPORT_TIMEOUT_MS` |
//! | `OTEL_EXPORTER_OTLP_CERTIFICATE`, `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`, `OTEL_EXPORTER_OTLP_CLIENT_KEY` (and `_TRACES_` forms) | PEM files: a CA that verifies an `https://` collector (beside the system's roots), and a client certificate and key for mutual TLS; an unreadable file is a warning | none |
//! | `OTEL_EXPORTER_OTLP_COMPRESSION`, `OTEL_EXPORTER_OTLP_TRACES_COMPRESSION` | `gzip` or `none`, over gRPC and HTTP; another value is a warning | `none` |
//! | `OTEL_METRICS_EXPORTER` | GenAI and voice-turn metrics: comma list of `otlp` (the OTLP variables above, their `_METRICS_` forms winning; `/v1/metrics` for HTTP), `console`, `none`; an unknown name is a warning and skipped | `none` |
//! | `OTEL_METRIC_EXPORT_INTERVAL` | ms between metric exports (and one at shutdown) | `60000` |
//! | `OTEL_EXPORTER_ZIPKIN_ENDPOINT`, `OTEL_EXPORTER_ZIPKIN_TIMEOUT` | Zipkin v2 spans URL; ms per call | `http://localhost:9411/api/v2/spans` |
//! | `OTEL_SERVICE_NAME` | resource `service.name` | `service.name` of `OTEL_RESOURCE_ATTRIBUTES`, else the binary's name |
//! | `OTEL_RESOURCE_ATTRIBUTES` | more resource attributes, `key=value,...` (values percent-encoded) | none |
//! | `ENVIRONMENT` | resource `deployment.environment.name` | `development` |
//! | `TRACE_SAMPLING_RATE` | share of traces recorded, `0.0`-`1.0`, decided once per trace | `1.0` |
//! | `TRACE_ADAPTIVE_SAMPLING` | also keep traces the rate rejected when a span errored or the trace ran slow | `false` |
//! | `TRACE_SLOW_TRACE_MS` | how long a trace runs to count as slow for adaptive sampling | `1000` |
//! | `TRACE_QUEUE_SIZE` | spans waiting for the export worker before new ones are dropped (and counted); also the bound of each exporter's lane and of the adaptive-sampling buffer | `32768` |
//! | `TRACE_BATCH_SIZE` | spans per exporter call | `512` |
//! | `TRACE_EXPORT_TIMEOUT_MS` | bound of each export call, and of shutdown | `5000` |
//! | `TRACE_EXPORT_NICE` | how much lower than the application's the export threads' scheduling priority is (Linux `nice`, `0`-`19`): on a saturated machine the application's threads run first and what the export worker cannot convert is dropped and counted | `5` |
//! | `TRACE_BREAKER_FAILURES`, `TRACE_BREAKER_BACKOFF_MS` | consecutive failed exports that open an exporter's circuit; first back-off before a trial batch | `5`, `1000` |
//! | `TRACE_CAPTURE_IO` | record LLM prompts and completions | `false` |
//! | `TRACE_DISABLE_ALL`, `OTEL_SDK_DISABLED` | the kill switch: nothing is recorded or sent | `false` |
//! | `TRACE_SUMMARY` | print a per-trace token and cost summary to stderr when a root span ends | `true` with the `stdout` exporter |
//! | `TRACE_PRICES` | JSON or TOML file of model prices added to the built-in table ([`cost`](crate::cost)) | none |
//! | `TRACE_SEMCONV` | `genai`, `openinference` or `both`: attribute names of LLM spans | `genai` |
//! | `TRACE_REDACT` | the built-in secret redaction rules ([`redact`](crate::redact)) | `true` |
//! | `TRACE_REDACT_PATTERNS` | extra redaction regexes, separated by `;` | none |
//! | `TRACE_TELEMETRY_ENDPOINT` | `http://` URL (`https://` with the `tls` feature) the anonymous [`telemetry`](crate::telemetry) layer sends to | unset: telemetry off |
//! | `TRACE_TELEMETRY_ENABLED` | `false` turns the telemetry layer off | on when a destination is set |
//! | `TRACE_ENABLE_TELEMETRY_IN_CI` | keep telemetry on in a CI job ([`privacy::detect_ci`](crate::privacy::detect_ci)) | `false` |
//! | `TRACE_DEBUG` | print what `init` decided ([`privacy::InitReport`](crate::privacy::InitReport)) to standard error; a value that is not a boolean is a warning (`TraceGuard::warnings`), not an error | `false` |
//!
//! The kill switch, the opt-out file `~/.trace-runtime-no-tracing` and the telemetry switches are
//! described in [`privacy`](crate::privacy); an opt-out always wins over a setting that turns
//! things on.
//!
//! Invalid values are errors from [`init`](crate::init) that name the variable and the value.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

#[cfg(feature = "otlp")]
mod backends;
mod builder;
mod error;
mod export;
mod exporter;
pub(crate) mod llm;
mod metrics;
mod otel;
mod otlp;
mod parse;
mod telemetry;

pub use builder::ConfigBuilder;
pub use error::ConfigError;
pub(crate) use error::reject_non_unicode;
pub use exporter::Exporter;
use parse::{binary_name, positive, ranged};
pub(crate) use parse::{debug_enabled, parse_bool};

pub use crate::export::OtlpProtocol;
pub use crate::llm::stage::Semconv;
use crate::pipeline::exporter::DynExporter;
use crate::pipeline::{DEFAULT_BATCH_SIZE, DEFAULT_QUEUE_SPANS};
use crate::privacy::TracingOff;

/// Settings for [`init_with`](crate::init_with). Unset settings come from the environment.
///
/// ```rust,standalone_crate
/// use trace_runtime::{Config, config::Exporter};
///
/// let config = Config::builder()
///     .service_name("voice-agent")
///     .exporter(Exporter::None)
///     .sampling_rate(0.25)
///     .build();
/// let guard = trace_runtime::init_with(config).expect("valid settings");
/// drop(guard); // flushes and shuts down
/// ```
#[derive(Default)]
pub struct Config {
    exporters: Option<Vec<Exporter>>,
    span_exporters: Vec<Box<dyn DynExporter>>,
    service_name: Option<String>,
    environment: Option<String>,
    sampling_rate: Option<f64>,
    parent_based: Option<bool>,
    queue_size: Option<usize>,
    batch_size: Option<usize>,
    schedule_delay: Option<Duration>,
    value_limit: Option<usize>,
    attribute_limit: Option<usize>,
    event_limit: Option<usize>,
    export_timeout: Option<Duration>,
    export_nice: Option<u8>,
    capture_io: Option<bool>,
    disabled: Option<bool>,
    telemetry: telemetry::TelemetryConfig,
    local_dir: Option<PathBuf>,
    sqlite_path: Option<PathBuf>,
    log_dir: Option<std::path::PathBuf>,
    export: export::ExportOptions,
    metrics: metrics::MetricsOptions,
    #[cfg(feature = "otlp")]
    backends: backends::BackendOptions,
    pub(crate) llm: llm::Builder,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut f = f.debug_struct("Config");
        f.field("exporters", &self.exporters)
            .field("span_exporters", &self.span_exporters.iter().map(|e| e.name()).collect::<Vec<_>>())
            .field("service_name", &self.service_name)
            .field("environment", &self.environment)
            .field("sampling_rate", &self.sampling_rate)
            .field("queue_size", &self.queue_size)
            .field("batch_size", &self.batch_size)
            .field("export_timeout", &self.export_timeout)
            .field("export_nice", &self.export_nice)
            .field("capture_io", &self.capture_io)
            .field("disabled", &self.disabled)
            .field("telemetry", &self.telemetry)
            .field("local_dir", &self.local_dir)
            .field("sqlite_path", &self.sqlite_path)
            .field("log_dir", &self.log_dir)
            .field("export", &self.export)
            .field("metrics", &self.metrics);
        #[cfg(feature = "otlp")]
        f.field("backends", &self.backends);
        f.field("llm", &self.llm).finish()
    }
}

impl Config {
    /// A builder; every setting left unset is read from the environment by `init_with`.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder(Config::default())
    }

    /// Resolves the settings against the process environment.
    pub(crate) fn resolve(self) -> Result<Settings, ConfigError> {
        reject_non_unicode(std::env::vars_os())?;
        self.resolve_with(|name| std::env::var(name).ok())
    }

    /// Resolves the settings against `env` (tests pass a map instead of mutating the process).
    pub(crate) fn resolve_with(self, env: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let env = |name: &str| env(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        // Any opt-out wins: `disabled(false)` in code does not override an operator's kill switch.
        let (trace_off, otel_off) =
            (parse_bool(&env, "TRACE_DISABLE_ALL")?, parse_bool(&env, "OTEL_SDK_DISABLED")?);
        let disabled_by = match (self.disabled, trace_off, otel_off) {
            (Some(true), _, _) => Some(TracingOff::Config),
            (_, Some(true), _) => Some(TracingOff::Env("TRACE_DISABLE_ALL")),
            (_, _, Some(true)) => Some(TracingOff::Env("OTEL_SDK_DISABLED")),
            _ => None,
        };
        let mut warnings = Vec::new();
        let exporters = match self.exporters {
            Some(list) => list,
            None => match (env("TRACE_EXPORTER"), env("OTEL_TRACES_EXPORTER")) {
                (Some(list), _) => list
                    .split(',')
                    .map(|name| Exporter::parse(&name.trim().to_ascii_lowercase()))
                    .collect::<Result<_, _>>()?,
                (None, Some(list)) => otel::traces_exporter(&list, &mut warnings),
                (None, None) => vec![Exporter::Stdout],
            },
        };
        let propagators = otel::propagators(&env, &mut warnings);
        let otel_sampler = otel::sampler(&env, &mut warnings);
        let otel_rate = match (self.sampling_rate, env("TRACE_SAMPLING_RATE")) {
            (None, None) => otel_sampler.map(|(rate, _)| rate),
            _ => None,
        };
        let parent_based = self.parent_based.or(otel_sampler.map(|(_, p)| p)).unwrap_or(true);
        let sampling_rate = ranged(
            self.sampling_rate.or(otel_rate),
            "sampling_rate",
            &env,
            "TRACE_SAMPLING_RATE",
            0.0..=1.0,
            1.0,
            "a number from 0.0 to 1.0",
        )?;
        // The batch processor's standard variables, where the kit's own are unset.
        let mut standard = |kit: &str, name: &str| match env(kit) {
            Some(_) => None,
            None => otel::positive(&env, name, &mut warnings),
        };
        let otel_queue = standard("TRACE_QUEUE_SIZE", "OTEL_BSP_MAX_QUEUE_SIZE");
        let otel_batch = standard("TRACE_BATCH_SIZE", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE");
        let otel_timeout = standard("TRACE_EXPORT_TIMEOUT_MS", "OTEL_BSP_EXPORT_TIMEOUT");
        let schedule_delay = self
            .schedule_delay
            .or_else(|| {
                otel::positive(&env, "OTEL_BSP_SCHEDULE_DELAY", &mut warnings)
                    .map(|ms| Duration::from_millis(ms as u64))
            })
            .unwrap_or(crate::pipeline::DEFAULT_SCHEDULE_DELAY);
        let mut count = |name: &str| otel::count(&env, name, &mut warnings);
        let defaults = crate::record::limits::SpanLimits::default();
        let value_limit = self.value_limit.or_else(|| count("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"));
        let attribute_limit = self
            .attribute_limit
            .or_else(|| count("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT"))
            .or_else(|| count("OTEL_ATTRIBUTE_COUNT_LIMIT"));
        let event_limit = self.event_limit.or_else(|| count("OTEL_SPAN_EVENT_COUNT_LIMIT"));
        let limits = crate::record::limits::SpanLimits {
            value_bytes: value_limit.unwrap_or(defaults.value_bytes),
            attributes: attribute_limit.unwrap_or(defaults.attributes),
            events: event_limit.unwrap_or(defaults.events),
        };
        let queue_size = positive(
            self.queue_size.or(otel_queue),
            "queue_size",
            &env,
            "TRACE_QUEUE_SIZE",
            DEFAULT_QUEUE_SPANS,
        )?;
        let batch_size = positive(
            self.batch_size.or(otel_batch),
            "batch_size",
            &env,
            "TRACE_BATCH_SIZE",
            DEFAULT_BATCH_SIZE,
        )?;
        let export_timeout = match self.export_timeout {
            Some(t) => t,
            None => Duration::from_millis(positive(
                otel_timeout,
                "export_timeout",
                &env,
                "TRACE_EXPORT_TIMEOUT_MS",
                5000,
            )? as u64),
        };
        let export_nice = ranged(
            self.export_nice,
            "export_nice",
            &env,
            "TRACE_EXPORT_NICE",
            0..=19,
            crate::background::DEFAULT_NICE,
            "a whole number from 0 to 19",
        )?;
        let telemetry = self.telemetry.resolve(&env, disabled_by.is_some(), export_timeout)?;
        let capture_io = match self.capture_io {
            Some(c) => c,
            None => parse_bool(&env, "TRACE_CAPTURE_IO")?.unwrap_or(false),
        };
        let metrics = metrics::resolve(self.metrics, &env, &mut warnings);
        let mut export = export::resolve(self.export, &env, &exporters, metrics.otlp)?;
        warnings.append(&mut export.warnings);
        let service_name = self
            .service_name
            .or_else(|| env("OTEL_SERVICE_NAME"))
            .or_else(|| export.resource_value("service.name"))
            .unwrap_or_else(binary_name);
        let environment = self
            .environment
            .or_else(|| env("ENVIRONMENT"))
            .or_else(|| export.resource_value("deployment.environment.name"))
            .unwrap_or_else(|| "development".into());
        let local_dir = self.local_dir.or_else(|| env("TRACE_LOCAL_DIR").map(PathBuf::from));
        let local_dir = local_dir.unwrap_or_else(|| PathBuf::from("traces"));
        let sqlite_path = self.sqlite_path.or_else(|| env("TRACE_SQLITE_PATH").map(PathBuf::from));
        let sqlite_path = sqlite_path.unwrap_or_else(|| PathBuf::from("traces").join("traces.db"));
        let llm = self.llm.resolve(&env, exporters.contains(&Exporter::Stdout))?;
        #[cfg(feature = "otlp")]
        let backends = backends::resolve(self.backends, &env, &exporters, &service_name)?;
        Ok(Settings {
            disabled_by,
            telemetry,
            local_dir,
            sqlite_path,
            exporters,
            span_exporters: self.span_exporters,
            sampling_rate,
            parent_based,
            queue_size,
            batch_size,
            schedule_delay,
            limits,
            export_timeout,
            export_nice,
            capture_io,
            service_name,
            environment,
            log_dir: self.log_dir.or_else(|| env("TRACE_LOG_DIR").map(Into::into)),
            export,
            metrics,
            #[cfg(feature = "otlp")]
            backends,
            llm,
            propagators,
            warnings,
        })
    }
}

/// Every setting, resolved.
pub(crate) struct Settings {
    pub(crate) disabled_by: Option<TracingOff>,
    pub(crate) telemetry: crate::telemetry::TelemetrySettings,
    pub(crate) exporters: Vec<Exporter>,
    pub(crate) span_exporters: Vec<Box<dyn DynExporter>>,
    pub(crate) sampling_rate: f64,
    /// A remote parent's sampled flag decides (`parentbased_*` samplers, the default).
    pub(crate) parent_based: bool,
    pub(crate) queue_size: usize,
    pub(crate) batch_size: usize,
    /// The longest a finished span waits in the worker for a full batch (`OTEL_BSP_SCHEDULE_DELAY`).
    pub(crate) schedule_delay: Duration,
    /// Limits on what one span holds (`OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`, ...).
    pub(crate) limits: crate::record::limits::SpanLimits,
    pub(crate) export_timeout: Duration,
    /// Nice increment of the export worker and its lanes.
    pub(crate) export_nice: u8,
    pub(crate) capture_io: bool,
    pub(crate) service_name: String,
    pub(crate) environment: String,
    /// Directory of the `file` exporter.
    #[cfg_attr(not(feature = "file-store"), allow(dead_code))]
    pub(crate) local_dir: PathBuf,
    /// Database of the `sqlite` exporter.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) sqlite_path: PathBuf,
    pub(crate) log_dir: Option<std::path::PathBuf>,
    pub(crate) export: crate::export::ExportSettings,
    /// Where the GenAI metrics go (`OTEL_METRICS_EXPORTER`, `with_metric_exporter`).
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) metrics: metrics::MetricsSettings,
    /// The LLM-observability backends' lanes (`langfuse`, `phoenix`, `langwatch`, `logfire`).
    #[cfg(feature = "otlp")]
    pub(crate) backends: Vec<crate::export::backends::BackendSettings>,
    pub(crate) llm: crate::llm::stage::Options,
    /// The global propagators to install (`OTEL_PROPAGATORS`).
    pub(crate) propagators: crate::interop::Propagators,
    /// Bad values of standard variables, replaced by their defaults: for `TraceGuard::warnings`.
    pub(crate) warnings: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn resolve(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::default().resolve_with(|name| vars.get(name).cloned())
    }

    #[test]
    fn standard_variables_choose_exporters_and_sampling_when_the_kits_are_unset() {
        let s = resolve(&[("OTEL_TRACES_EXPORTER", "none"), ("OTEL_TRACES_SAMPLER", "always_off")]).unwrap();
        assert_eq!((s.exporters.as_slice(), s.sampling_rate), ([Exporter::None].as_slice(), 0.0));
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        let s = resolve(&[
            ("OTEL_TRACES_EXPORTER", "none"),
            ("TRACE_EXPORTER", "stdout"),
            ("OTEL_TRACES_SAMPLER", "always_off"),
            ("TRACE_SAMPLING_RATE", "0.5"),
        ])
        .unwrap();
        assert_eq!(
            (s.exporters.as_slice(), s.sampling_rate),
            ([Exporter::Stdout].as_slice(), 0.5),
            "TRACE_* wins"
        );
        let s =
            resolve(&[("OTEL_TRACES_EXPORTER", "console,jaeger"), ("OTEL_TRACES_SAMPLER", "often")]).unwrap();
        assert_eq!((s.exporters.as_slice(), s.sampling_rate), ([Exporter::Stdout].as_slice(), 1.0));
        assert_eq!(s.warnings.len(), 2, "{:?}", s.warnings);
        assert!(s.warnings[0].contains("jaeger") && s.warnings[1].contains("often"), "{:?}", s.warnings);
        let s =
            resolve(&[("OTEL_TRACES_SAMPLER", "traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "0.1")]).unwrap();
        assert_eq!(s.sampling_rate, 0.1);
    }

    #[cfg(unix)]
    #[test]
    fn the_schedule_delay_and_parent_based_sampling_come_from_the_standard_variables() {
        let s = resolve(&[]).unwrap();
        assert_eq!((s.schedule_delay, s.parent_based), (Duration::from_millis(200), true));
        let s =
            resolve(&[("OTEL_BSP_SCHEDULE_DELAY", "5000"), ("OTEL_TRACES_SAMPLER", "always_on")]).unwrap();
        assert_eq!((s.schedule_delay, s.parent_based), (Duration::from_secs(5), false));
        let s = resolve(&[
            ("OTEL_BSP_SCHEDULE_DELAY", "soon"),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
        ])
        .unwrap();
        assert_eq!((s.schedule_delay, s.parent_based), (Duration::from_millis(200), true));
        assert!(s.warnings[0].contains("`OTEL_BSP_SCHEDULE_DELAY` is `soon`"), "{:?}", s.warnings);
        let built = Config::builder()
            .schedule_delay(Duration::from_millis(20))
            .parent_based_sampling(false)
            .build()
            .resolve_with(|name| (name == "OTEL_BSP_SCHEDULE_DELAY").then(|| "5000".to_string()))
            .unwrap();
        assert_eq!(
            (built.schedule_delay, built.parent_based),
            (Duration::from_millis(20), false),
            "the builder wins"
        );
    }

    #[test]
    fn a_non_utf8_value_is_an_error_naming_the_variable() {
        use std::{ffi::OsString, os::unix::ffi::OsStringExt};
        let bad = || OsString::from_vec(b"std\xffout".to_vec());
        let err = reject_non_unicode([
            ("PATH".into(), bad()),
            ("TRACE_QUEUE_SIZE".into(), "100".into()),
            ("TRACE_EXPORTER".into(), bad()),
        ])
        .unwrap_err();
        assert!(matches!(&err, ConfigError::NotUnicode { variable, .. } if variable == "TRACE_EXPORTER"));
        assert!(err.to_string().contains("`TRACE_EXPORTER` is not valid UTF-8 (`std\u{fffd}out`)"), "{err}");
        // Variables the kit never reads are not its business.
        assert!(reject_non_unicode([("PATH".into(), bad()), ("MY_TRACE_X".into(), bad())]).is_ok());
    }

    #[test]
    fn defaults_when_the_environment_is_empty() {
        let s = resolve(&[]).unwrap();
        assert_eq!(s.exporters, vec![Exporter::Stdout]);
        assert_eq!(s.sampling_rate, 1.0);
        assert_eq!(s.queue_size, DEFAULT_QUEUE_SPANS);
        assert_eq!(s.batch_size, DEFAULT_BATCH_SIZE);
        assert_eq!(s.export_timeout, Duration::from_secs(5));
        assert!(!s.capture_io && s.disabled_by.is_none());
        assert_eq!(s.environment, "development");
    }

    #[test]
    fn environment_values_are_read() {
        let s = resolve(&[
            ("TRACE_EXPORTER", "none, stdout"),
            ("TRACE_SAMPLING_RATE", "0.5"),
            ("TRACE_QUEUE_SIZE", "100"),
            ("OTEL_SERVICE_NAME", "agent"),
            ("ENVIRONMENT", "prod"),
            ("TRACE_CAPTURE_IO", "TRUE"),
            ("OTEL_SDK_DISABLED", "true"),
        ])
        .unwrap();
        assert_eq!(s.exporters, vec![Exporter::None, Exporter::Stdout]);
        assert_eq!((s.sampling_rate, s.queue_size), (0.5, 100));
        assert_eq!((s.service_name.as_str(), s.environment.as_str()), ("agent", "prod"));
        assert!(s.capture_io);
        assert_eq!(s.disabled_by, Some(TracingOff::Env("OTEL_SDK_DISABLED")));
    }

    #[test]
    fn the_export_threads_priority_comes_from_the_environment_or_the_builder() {
        assert_eq!(resolve(&[]).unwrap().export_nice, 5);
        assert_eq!(resolve(&[("TRACE_EXPORT_NICE", "0")]).unwrap().export_nice, 0);
        assert_eq!(resolve(&[("TRACE_EXPORT_NICE", "19")]).unwrap().export_nice, 19);
        let env = |n: &str| (n == "TRACE_EXPORT_NICE").then(|| "12".to_string());
        assert_eq!(Config::builder().export_nice(3).build().resolve_with(env).unwrap().export_nice, 3);
        for bad in ["20", "-1", "high"] {
            let err = resolve(&[("TRACE_EXPORT_NICE", bad)]).err().unwrap();
            assert_eq!(
                err.to_string(),
                format!(
                    "environment variable `TRACE_EXPORT_NICE` is `{bad}`: expected a whole number from 0 to 19; fix or unset it"
                )
            );
        }
        let err = Config::builder().export_nice(20).build().resolve().err().unwrap();
        assert_eq!(
            err.to_string(),
            "`Config::builder().export_nice(20)`: expected a whole number from 0 to 19"
        );
    }

    #[test]
    fn storage_locations_come_from_the_environment_or_the_builder() {
        let s = resolve(&[]).unwrap();
        assert_eq!(s.local_dir, PathBuf::from("traces"));
        assert_eq!(s.sqlite_path, PathBuf::from("traces").join("traces.db"));
        let s = resolve(&[("TRACE_LOCAL_DIR", "/tmp/t"), ("TRACE_SQLITE_PATH", "/tmp/t.db")]).unwrap();
        assert_eq!((s.local_dir, s.sqlite_path), (PathBuf::from("/tmp/t"), PathBuf::from("/tmp/t.db")));
        let env = |n: &str| (n == "TRACE_LOCAL_DIR" || n == "TRACE_SQLITE_PATH").then(|| "env".to_string());
        let s = Config::builder().local_dir("a").sqlite_path("b.db").build().resolve_with(env).unwrap();
        assert_eq!((s.local_dir, s.sqlite_path), (PathBuf::from("a"), PathBuf::from("b.db")));
        #[cfg(all(feature = "file-store", feature = "sqlite"))]
        assert_eq!(
            resolve(&[("TRACE_EXPORTER", "file,sqlite")]).unwrap().exporters,
            [Exporter::File, Exporter::Sqlite]
        );
    }

    #[test]
    fn invalid_values_name_the_variable_and_the_value() {
        let err = resolve(&[("TRACE_SAMPLING_RATE", "1.5")]).err().unwrap();
        assert_eq!(
            err.to_string(),
            "environment variable `TRACE_SAMPLING_RATE` is `1.5`: expected a number from 0.0 to 1.0; fix or unset it"
        );
        let err = resolve(&[("TRACE_QUEUE_SIZE", "lots")]).err().unwrap();
        assert!(err.to_string().contains("`TRACE_QUEUE_SIZE` is `lots`"));
        let err = resolve(&[("TRACE_DISABLE_ALL", "maybe")]).err().unwrap();
        assert!(err.to_string().contains("`TRACE_DISABLE_ALL` is `maybe`: expected true or false"));
        let err = resolve(&[("TRACE_EXPORTER", "stdout,jaeger")]).err().unwrap();
        assert_eq!(err, ConfigError::UnknownExporter { name: "jaeger".into() });
        assert!(err.to_string().contains("`jaeger`") && err.to_string().contains("stdout, "));
        assert!(
            err.to_string().contains("stdout, none, file, sqlite, otlp, zipkin, rest"),
            "the message lists every name"
        );
        #[cfg(not(feature = "zipkin"))]
        {
            let err = resolve(&[("TRACE_EXPORTER", "zipkin")]).err().unwrap();
            assert!(err.to_string().contains("`zipkin`") && err.to_string().contains("cargo feature"));
        }
    }

    #[test]
    fn an_opt_out_wins_over_the_builder() {
        let vars: HashMap<&str, &str> = [("TRACE_DISABLE_ALL", "true")].into();
        let s =
            Config::builder().disabled(false).build().resolve_with(|n| vars.get(n).map(|v| v.to_string()));
        assert_eq!(s.unwrap().disabled_by, Some(TracingOff::Env("TRACE_DISABLE_ALL")));
        let s = Config::builder().disabled(true).build().resolve_with(|_| None).unwrap();
        assert_eq!(s.disabled_by, Some(TracingOff::Config));
        let off = resolve(&[("TRACE_DISABLE_ALL", "false"), ("OTEL_SDK_DISABLED", "0")]).unwrap();
        assert_eq!(off.disabled_by, None);
    }

    #[test]
    fn the_builder_wins_over_the_environment() {
        let vars: HashMap<&str, &str> = [("TRACE_SAMPLING_RATE", "0.1"), ("TRACE_EXPORTER", "jaeger")].into();
        let s = Config::builder()
            .sampling_rate(0.9)
            .exporter(Exporter::None)
            .build()
            .resolve_with(|n| vars.get(n).map(|v| v.to_string()))
            .unwrap();
        assert_eq!(s.sampling_rate, 0.9);
        assert_eq!(s.exporters, vec![Exporter::None]);
        let err = Config::builder().sampling_rate(2.0).build().resolve_with(|_| None).err().unwrap();
        assert!(err.to_string().contains("sampling_rate(2)"));
    }
}
