//! `init()`: start exporting, from the environment or a [`Config`]; the guard flushes on drop.
//!
//! The one place that assembles the exporters, the log sinks and the pipeline: [`log`] builds
//! the run directory and remote sinks, [`store`] the file and SQLite stores.

mod log;
mod store;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::config::{Config, ConfigError, Exporter, Settings};
use crate::export::ConsoleExporter;
use crate::pipeline;
use crate::pipeline::exporter::{DynExporter, Sdk};
use crate::privacy::{InitReport, TelemetryOff, TelemetryState, TracingState};
use crate::span::gate::{ADAPTIVE, PIPELINE_ON, SAMPLE_THRESHOLD};
use crate::span::{gate, thread_state};

static INITIALISED: AtomicBool = AtomicBool::new(false);

/// Why [`init`] did not start tracing.
///
/// ```rust,standalone_crate
/// use trace_runtime::{Config, InitError, config::Exporter};
///
/// let first = trace_runtime::init_with(Config::builder().exporter(Exporter::None).build()).unwrap();
/// let second = trace_runtime::init_with(Config::builder().exporter(Exporter::None).build());
/// assert!(matches!(second, Err(InitError::AlreadyInitialized)));
///
/// let invalid = Config::builder().sampling_rate(1.5).build();
/// drop(first);
/// let err = trace_runtime::init_with(invalid).unwrap_err();
/// assert!(err.to_string().contains("sampling_rate(1.5)"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// A setting is invalid; the message names it and its value.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `init` was called while the guard of an earlier call is alive.
    #[error("tracing is already initialised: keep the first guard, or drop it before calling init again")]
    AlreadyInitialized,
    /// A log sink or remote sink could not be set up; the message names the setting or path.
    #[error(transparent)]
    Logs(#[from] crate::log::SetupError),
    /// An exporter could not start (e.g. its HTTP client or gRPC channel could not be built).
    #[error("exporter failed to start: {0}")]
    Exporter(String),
}

/// Starts tracing with settings from the environment; see [`config`](crate::config) for the
/// variables. Dropping the returned guard exports what is queued and shuts the exporters down.
///
/// The first call also makes the kit OpenTelemetry's global tracer provider and text-map
/// propagator ([`otel`](crate::otel), [`propagation::Propagator`](crate::propagation::Propagator)),
/// so code instrumented with the OpenTelemetry API joins the kit's traces; set another one after
/// `init` to replace them.
///
/// A built-in exporter that cannot start (a `TRACE_LOCAL_DIR` that cannot be created or
/// written, a `TRACE_SQLITE_PATH` that cannot be opened) does not fail `init`: it is left out,
/// the other exporters run, and the reason, naming the path, is in [`TraceGuard::warnings`] and
/// printed once on standard error as `trace-runtime: warning: ...`.
///
/// ```rust,standalone_crate
/// let _guard = trace_runtime::init().expect("valid tracing settings");
/// trace_runtime::trace!("startup", {});
/// ```
pub fn init() -> Result<TraceGuard, InitError> {
    init_with(Config::default())
}

/// Starts tracing with `config`; settings it leaves unset come from the environment.
///
/// The kill switch and the opt-out file are checked here, once: when either is on, nothing is
/// started (no export worker, no telemetry thread) and instrumented code stays on its disabled
/// path. [`TraceGuard::report`] says what was decided; `TRACE_DEBUG=true` prints it (a value
/// that is not a boolean is a warning in [`TraceGuard::warnings`], not an error).
pub fn init_with(config: Config) -> Result<TraceGuard, InitError> {
    let mut settings = config.resolve()?;
    let env = |name: &str| std::env::var(name).ok();
    let mut warnings = std::mem::take(&mut settings.warnings);
    let debug = crate::config::debug_enabled(env).unwrap_or_else(|bad| {
        warnings.push(bad.to_string());
        false
    });
    let opt_out = crate::privacy::opt_out_file(env);
    let tracing = crate::privacy::tracing_state(settings.disabled_by.take(), opt_out.as_deref());
    if tracing != TracingState::On {
        let report = InitReport { tracing, telemetry: TelemetryState::Off(TelemetryOff::KillSwitch) };
        print_warnings(&warnings);
        crate::privacy::debug_report(debug, &report);
        return Ok(TraceGuard {
            active: false,
            timeout: settings.export_timeout,
            report,
            warnings,
            logs: Default::default(),
            #[cfg(feature = "metrics")]
            metrics: None,
        });
    }
    let logs = log::from_settings(&settings)?;
    if INITIALISED.swap(true, Ordering::AcqRel) {
        return Err(InitError::AlreadyInitialized);
    }
    let timeout = settings.export_timeout;
    let threshold = sample_threshold(settings.sampling_rate);
    let parent_based = settings.parent_based;
    crate::record::limits::set(settings.limits);
    let options = pipeline::InstallOptions {
        batch_size: settings.batch_size,
        schedule_delay: settings.schedule_delay,
        queue_limit: settings.queue_size,
        lane: pipeline::fanout::LaneConfig {
            timeout,
            breaker: settings.export.breaker,
            capacity: settings.queue_size.div_ceil(settings.batch_size).max(2),
        },
        slow_trace: settings.export.adaptive,
        nice: settings.export_nice,
    };
    let adaptive = options.slow_trace.is_some();
    crate::span::gate::set_capture_io(settings.capture_io);
    crate::llm::stage::install();
    crate::llm::stage::configure(std::mem::take(&mut settings.llm));
    let resource =
        crate::export::resource::build(&settings.service_name, &settings.environment, &settings.export);
    let telemetry = settings.telemetry.sink.take();
    let interval = settings.telemetry.interval;
    let mut report = InitReport { tracing, telemetry: settings.telemetry.state.clone() };
    let propagators = settings.propagators;
    #[cfg(feature = "metrics")]
    let metrics = {
        let to = std::mem::take(&mut settings.metrics).destinations(settings.export.metrics_otlp.take());
        match crate::export::metrics::MeterPipeline::start(to, resource.clone(), timeout) {
            Ok(metrics) => metrics,
            Err(error) => {
                INITIALISED.store(false, Ordering::Release);
                return Err(InitError::Exporter(error));
            }
        }
    };
    let (mut exporters, left_out) = exporters(settings);
    warnings.extend(left_out);
    exporters.extend(logs.exporters());
    print_warnings(&warnings);
    if let Err(errors) = pipeline::install(exporters, resource, options) {
        #[cfg(feature = "metrics")]
        if let Some(metrics) = metrics {
            let _ = metrics.shutdown(Instant::now() + Duration::from_secs(1));
        }
        INITIALISED.store(false, Ordering::Release);
        return Err(InitError::Exporter(errors.join("; ")));
    }
    crate::interop::install_with(propagators);
    SAMPLE_THRESHOLD.store(threshold, Ordering::Relaxed);
    crate::span::gate::PARENT_BASED.store(parent_based, Ordering::Relaxed);
    ADAPTIVE.store(adaptive, Ordering::Relaxed);
    gate::acquire();
    PIPELINE_ON.store(true, Ordering::Relaxed);
    if let Some(sink) = telemetry
        && !crate::telemetry::start(sink, interval)
    {
        report.telemetry = TelemetryState::Off(TelemetryOff::NoThread);
    }
    crate::privacy::debug_report(debug, &report);
    Ok(TraceGuard {
        active: true,
        timeout,
        report,
        warnings,
        logs: logs.install(),
        #[cfg(feature = "metrics")]
        metrics,
    })
}

/// The documented console output of what `init` let pass with a warning (see [`init`]).
fn print_warnings(warnings: &[String]) {
    for warning in warnings {
        eprintln!("trace-runtime: warning: {warning}");
    }
}

/// Roots are sampled when the low 63 bits of their trace id fall below this.
fn sample_threshold(rate: f64) -> u64 {
    (rate.clamp(0.0, 1.0) * (1u64 << 63) as f64) as u64
}

/// The exporters to run, and why any built-in one was left out.
fn exporters(settings: Settings) -> (Vec<Box<dyn DynExporter>>, Vec<String>) {
    let mut out: Vec<Box<dyn DynExporter>> = Vec::new();
    let mut warnings = Vec::new();
    for exporter in &settings.exporters {
        match exporter {
            Exporter::Stdout => out.push(Sdk::boxed("stdout", ConsoleExporter::stdout())),
            Exporter::None => {}
            Exporter::File | Exporter::Sqlite => match store::exporter(*exporter, &settings) {
                Ok(built) => out.push(built),
                Err(warning) => warnings.push(warning),
            },
            #[cfg(feature = "otlp")]
            Exporter::Otlp => {
                if let Some(otlp) = settings.export.otlp.clone() {
                    out.push(crate::export::otlp::Otlp::boxed(otlp, settings.export_timeout));
                }
            }
            #[cfg(feature = "zipkin")]
            Exporter::Zipkin => {
                if let Some(endpoint) = settings.export.zipkin_endpoint.clone() {
                    let timeout = settings.export.zipkin_timeout.unwrap_or(settings.export_timeout);
                    out.push(crate::export::zipkin::Zipkin::boxed(endpoint, timeout));
                }
            }
            // Remote sinks: built and checked by `init::log` before anything started. Others:
            // refused by `Exporter::parse` when their feature is off.
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }
    #[cfg(feature = "otlp")]
    for backend in settings.backends {
        out.push(crate::export::backends::BackendLane::boxed(backend, settings.export_timeout));
    }
    out.extend(settings.span_exporters);
    if !warnings.is_empty() && out.is_empty() {
        warnings.push(
            "no other exporter is configured: spans are dropped and counted in `metrics().spans_dropped_no_sink`"
                .to_string(),
        );
    }
    (out, warnings)
}

/// Keeps tracing running; dropping it flushes and shuts down within the export timeout.
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
/// trace_runtime::trace!("request", {});
/// assert!(guard.flush(), "everything recorded so far reached the exporter");
/// assert_eq!(memory.get_finished_spans().unwrap().len(), 1);
/// guard.shutdown().expect("nothing failed to export");
/// ```
#[must_use = "tracing stops when the guard is dropped: bind it, `let _guard = init()?;`"]
#[derive(Debug)]
pub struct TraceGuard {
    active: bool,
    timeout: Duration,
    report: InitReport,
    warnings: Vec<String>,
    logs: log::Installed,
    /// The meter provider the worker records GenAI metrics into, when metrics are on.
    #[cfg(feature = "metrics")]
    metrics: Option<crate::export::metrics::MeterPipeline>,
}

/// What shutdown could not deliver: spans an exporter failed on, exporters that failed to shut
/// down, or a worker that did not finish in time. See [`TraceGuard`] for an example.
#[derive(Debug, thiserror::Error)]
#[error("trace shutdown incomplete: {reason}")]
pub struct ShutdownError {
    reason: String,
}

impl TraceGuard {
    /// What [`init`] decided: whether tracing and the telemetry layer run, and why.
    ///
    /// ```rust,standalone_crate
    /// use trace_runtime::{Config, config::Exporter, privacy::TelemetryState};
    ///
    /// let guard = trace_runtime::init_with(Config::builder().exporter(Exporter::None).build()).unwrap();
    /// assert!(matches!(guard.report().telemetry, TelemetryState::Off(_)), "no destination configured");
    /// ```
    pub fn report(&self) -> &InitReport {
        &self.report
    }

    /// What `init` let pass with a warning, one line each (also printed once on standard error):
    /// built-in exporters left out, naming the path and the fix, and a `TRACE_DEBUG` that is not
    /// a boolean, naming the value; empty when every exporter started and every value was valid.
    ///
    /// ```rust,standalone_crate
    /// use trace_runtime::{Config, config::Exporter};
    ///
    /// // A directory below a regular file cannot be created.
    /// let file = std::env::temp_dir().join(format!("not-a-dir-{}", std::process::id()));
    /// std::fs::write(&file, b"").unwrap();
    /// let guard = trace_runtime::init_with(
    ///     Config::builder().exporter(Exporter::File).local_dir(file.join("traces")).build(),
    /// )
    /// .expect("init still succeeds");
    /// # #[cfg(feature = "file-store")] // without it, the warning is that the exporter is not built
    /// assert!(guard.warnings()[0].contains(&file.join("traces").display().to_string()));
    /// # drop(guard); std::fs::remove_file(&file).unwrap();
    /// ```
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Hands everything recorded so far to the exporters, waiting at most the export timeout.
    /// Returns `false` if the worker or an exporter (stuck, or slower than the timeout) did not
    /// finish in time; the spans still reach the exporters that are working.
    pub fn flush(&self) -> bool {
        if !self.active {
            return true;
        }
        // One deadline for everything: log sinks flush while the span exporters do.
        let deadline = Instant::now() + self.timeout;
        thread_state::request_flush();
        thread_state::flush_thread();
        let logs = self.logs.start_flush(deadline);
        let spans = pipeline::flush(true, self.timeout);
        let logs = logs.is_none_or(|done| done.recv_timeout(left(deadline)).is_ok());
        // After the spans: the worker recorded their metrics while converting them.
        #[cfg(feature = "metrics")]
        let metrics = self.metrics.as_ref().is_none_or(|m| m.flush());
        #[cfg(not(feature = "metrics"))]
        let metrics = true;
        spans && logs && metrics
    }

    /// Stops recording, exports what is queued and shuts the exporters down, reporting what
    /// could not be done.
    pub fn shutdown(mut self) -> Result<(), ShutdownError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), ShutdownError> {
        if !std::mem::replace(&mut self.active, false) {
            return Ok(());
        }
        // One deadline for everything: the log sinks, the span exporters and the telemetry
        // thread all finish in parallel within the export timeout.
        let deadline = Instant::now() + self.timeout;
        thread_state::request_flush();
        thread_state::flush_thread();
        let logs = self.logs.start_flush(deadline);
        PIPELINE_ON.store(false, Ordering::Relaxed);
        gate::release();
        let telemetry = crate::telemetry::stop();
        let result = pipeline::shutdown(deadline);
        // After the worker finished: it recorded every span's metrics.
        #[cfg(feature = "metrics")]
        let metrics = self.metrics.take().map_or(Ok(()), |m| m.shutdown(pipeline::before(deadline)));
        #[cfg(not(feature = "metrics"))]
        let metrics: Result<(), String> = Ok(());
        let logs_done = logs.is_none_or(|done| done.recv_timeout(left(deadline)).is_ok());
        self.logs.remove();
        let telemetry_done = telemetry.wait(left(deadline));
        INITIALISED.store(false, Ordering::Release);
        if !telemetry_done {
            return Err(ShutdownError {
                reason: format!("the telemetry thread did not finish within {:?}", self.timeout),
            });
        }
        if !logs_done {
            return Err(ShutdownError {
                reason: format!(
                    "the log sinks did not finish flushing within {:?}; see log::last_sink_error()",
                    self.timeout
                ),
            });
        }
        if let Err(reason) = metrics {
            return Err(ShutdownError { reason });
        }
        match result {
            Ok(report) if report.errors.is_empty() && report.failed_exports == 0 => Ok(()),
            Ok(report) => Err(ShutdownError {
                reason: format!(
                    "{} spans failed to export; {}",
                    report.failed_exports,
                    report.errors.join("; ")
                ),
            }),
            Err(()) => Err(ShutdownError {
                reason: format!("the export worker did not finish within {:?}", self.timeout),
            }),
        }
    }
}

/// What is left until `deadline`.
fn left(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

impl Drop for TraceGuard {
    fn drop(&mut self) {
        // Nothing to return an error to; `shutdown()` reports it for callers who want it.
        let _ = self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::sample_threshold;

    #[test]
    fn sampling_rate_maps_to_a_63_bit_threshold() {
        assert_eq!(sample_threshold(0.0), 0);
        assert_eq!(sample_threshold(1.0), 1 << 63);
        assert_eq!(sample_threshold(0.5), 1 << 62);
    }
}
