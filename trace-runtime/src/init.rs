//! `init()`: start exporting, from the environment or a [`Config`]; the guard flushes on drop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;

use crate::active::{PIPELINE_ON, SAMPLE_THRESHOLD};
use crate::config::{Config, ConfigError, Exporter, Settings};
use crate::console::ConsoleExporter;
use crate::pipeline::exporter::{DynExporter, Sdk};
use crate::{enable, local, pipeline};

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
}

/// Starts tracing with settings from the environment; see [`config`](crate::config) for the
/// variables. Dropping the returned guard exports what is queued and shuts the exporters down.
///
/// ```rust,standalone_crate
/// let _guard = trace_runtime::init().expect("valid tracing settings");
/// trace_runtime::trace!("startup", {});
/// ```
pub fn init() -> Result<TraceGuard, InitError> {
    init_with(Config::default())
}

/// Starts tracing with `config`; settings it leaves unset come from the environment.
pub fn init_with(config: Config) -> Result<TraceGuard, InitError> {
    let mut settings = config.resolve()?;
    if settings.disabled {
        return Ok(TraceGuard { active: false, timeout: settings.export_timeout });
    }
    if INITIALISED.swap(true, Ordering::AcqRel) {
        return Err(InitError::AlreadyInitialized);
    }
    let timeout = settings.export_timeout;
    let threshold = sample_threshold(settings.sampling_rate);
    let (batch_size, queue_size) = (settings.batch_size, settings.queue_size);
    crate::settings::set_capture_io(settings.capture_io);
    crate::semantics::configure(std::mem::take(&mut settings.semantics));
    let resource = resource(&settings);
    let exporters = exporters(settings);
    pipeline::install(exporters, resource, batch_size, queue_size);
    SAMPLE_THRESHOLD.store(threshold, Ordering::Relaxed);
    enable::acquire();
    PIPELINE_ON.store(true, Ordering::Relaxed);
    Ok(TraceGuard { active: true, timeout })
}

/// Roots are sampled when the low 63 bits of their trace id fall below this.
fn sample_threshold(rate: f64) -> u64 {
    (rate.clamp(0.0, 1.0) * (1u64 << 63) as f64) as u64
}

fn exporters(settings: Settings) -> Vec<Box<dyn DynExporter>> {
    let mut out: Vec<Box<dyn DynExporter>> = Vec::new();
    for exporter in &settings.exporters {
        match exporter {
            Exporter::Stdout => out.push(Sdk::boxed("stdout", ConsoleExporter::stdout())),
            Exporter::None => {}
        }
    }
    out.extend(settings.span_exporters);
    out
}

fn resource(settings: &Settings) -> Resource {
    Resource::builder()
        .with_service_name(settings.service_name.clone())
        .with_attributes([
            KeyValue::new("deployment.environment.name", settings.environment.clone()),
            KeyValue::new("telemetry.sdk.name", "trace-runtime"),
            KeyValue::new("telemetry.sdk.language", "rust"),
            KeyValue::new("telemetry.sdk.version", env!("CARGO_PKG_VERSION")),
        ])
        .build()
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
}

/// What shutdown could not deliver: spans an exporter failed on, exporters that failed to shut
/// down, or a worker that did not finish in time. See [`TraceGuard`] for an example.
#[derive(Debug, thiserror::Error)]
#[error("trace shutdown incomplete: {reason}")]
pub struct ShutdownError {
    reason: String,
}

impl TraceGuard {
    /// Hands everything recorded so far to the exporters, waiting at most the export timeout.
    /// Returns `false` if the worker did not finish in time.
    pub fn flush(&self) -> bool {
        if !self.active {
            return true;
        }
        local::flush_thread();
        pipeline::flush(true, self.timeout)
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
        local::flush_thread();
        PIPELINE_ON.store(false, Ordering::Relaxed);
        enable::release();
        let result = pipeline::shutdown(self.timeout);
        INITIALISED.store(false, Ordering::Release);
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
