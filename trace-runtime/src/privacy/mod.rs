//! The switches that turn tracing and telemetry off, the report of what [`init`](crate::init)
//! decided, and the [`redact`] rules every recorded string passes before it leaves the process.
//!
//! | switch | effect |
//! |---|---|
//! | `TRACE_DISABLE_ALL=true`, `OTEL_SDK_DISABLED=true`, `Config::builder().disabled(true)` | nothing is recorded, written or sent; no worker thread starts |
//! | the file `~/.trace-runtime-no-tracing` ([`OPT_OUT_FILE`]) | the same, for every program on the account |
//! | `TRACE_TELEMETRY_ENABLED=false` | the anonymous telemetry layer is off; tracing unaffected |
//! | a CI job ([`detect_ci`]) | telemetry off unless `TRACE_ENABLE_TELEMETRY_IN_CI=true`; tracing unaffected |
//! | `TRACE_DEBUG=true` | [`init`](crate::init) prints its [`InitReport`] to standard error |
//!
//! An opt-out wins over every setting that would turn things on: `disabled(false)` in code does
//! not override `TRACE_DISABLE_ALL=true` or the opt-out file. Both are read once, by `init`.

mod ci;
pub mod redact;

use std::fmt;
use std::path::{Path, PathBuf};

pub use ci::{CI_VARIABLES, detect_ci};

/// Name of the opt-out file in the home directory: while it exists, [`init`](crate::init) records
/// and sends nothing, as if `TRACE_DISABLE_ALL=true`.
///
/// ```
/// assert_eq!(trace_runtime::privacy::OPT_OUT_FILE, ".trace-runtime-no-tracing");
/// ```
pub const OPT_OUT_FILE: &str = ".trace-runtime-no-tracing";

/// Where the opt-out file is looked for: `$HOME` (`%USERPROFILE%` on Windows) from `env`, else the
/// platform's home directory; `None` when there is no home.
///
/// ```
/// use trace_runtime::privacy::opt_out_path;
///
/// let path = opt_out_path(|name| (name == "HOME").then(|| "/home/ada".to_string()));
/// assert_eq!(path.unwrap(), std::path::Path::new("/home/ada/.trace-runtime-no-tracing"));
/// ```
pub fn opt_out_path(env: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let variable = if cfg!(windows) { "USERPROFILE" } else { "HOME" };
    let home =
        env(variable).filter(|h| !h.trim().is_empty()).map(PathBuf::from).or_else(std::env::home_dir)?;
    Some(home.join(OPT_OUT_FILE))
}

/// The opt-out file, if it exists.
pub(crate) fn opt_out_file(env: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    opt_out_path(env).filter(|p| p.exists())
}

/// What [`init`](crate::init) decided about tracing and telemetry, and why; available from
/// [`TraceGuard::report`](crate::TraceGuard::report), and printed to standard error when
/// `TRACE_DEBUG=true`.
///
/// ```rust,standalone_crate
/// use trace_runtime::Config;
/// use trace_runtime::privacy::{TracingState, TracingOff};
///
/// let guard = trace_runtime::init_with(Config::builder().disabled(true).build()).unwrap();
/// assert_eq!(guard.report().tracing, TracingState::Off(TracingOff::Config));
/// assert_eq!(
///     guard.report().to_string(),
///     "tracing off (Config::builder().disabled(true)); telemetry off (tracing is switched off)"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InitReport {
    /// Whether spans are recorded and exported.
    pub tracing: TracingState,
    /// Whether the anonymous telemetry layer runs.
    pub telemetry: TelemetryState,
}

/// Whether tracing runs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TracingState {
    /// Spans are recorded and exported.
    On,
    /// Nothing is recorded or sent.
    Off(TracingOff),
}

/// Why tracing is off.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TracingOff {
    /// `Config::builder().disabled(true)`.
    Config,
    /// `TRACE_DISABLE_ALL` or `OTEL_SDK_DISABLED` is true.
    Env(&'static str),
    /// The opt-out file exists at this path.
    OptOutFile(PathBuf),
}

/// Whether the anonymous telemetry layer runs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TelemetryState {
    /// Counters are aggregated and sent to this destination (an endpoint URL, or `sink in code`).
    On(String),
    /// Nothing is collected or sent.
    Off(TelemetryOff),
}

/// Why the telemetry layer is off.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TelemetryOff {
    /// Tracing itself is off (kill switch or opt-out file).
    KillSwitch,
    /// `TRACE_TELEMETRY_ENABLED=false` or `Config::builder().telemetry_enabled(false)`.
    Disabled,
    /// No `TRACE_TELEMETRY_ENDPOINT` and no sink in code: the default.
    NoDestination,
    /// A CI job, found by this variable, without `TRACE_ENABLE_TELEMETRY_IN_CI=true`.
    Ci(&'static str),
    /// The telemetry thread could not be started (the system refused a new thread).
    NoThread,
}

impl fmt::Display for InitReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.tracing {
            TracingState::On => f.write_str("tracing on")?,
            TracingState::Off(TracingOff::Config) => {
                f.write_str("tracing off (Config::builder().disabled(true))")?
            }
            TracingState::Off(TracingOff::Env(variable)) => write!(f, "tracing off ({variable}=true)")?,
            TracingState::Off(TracingOff::OptOutFile(path)) => {
                write!(f, "tracing off (opt-out file {} exists)", path.display())?
            }
        }
        match &self.telemetry {
            TelemetryState::On(destination) => write!(f, "; telemetry on (sending to {destination})"),
            TelemetryState::Off(TelemetryOff::KillSwitch) => {
                f.write_str("; telemetry off (tracing is switched off)")
            }
            TelemetryState::Off(TelemetryOff::Disabled) => {
                f.write_str("; telemetry off (TRACE_TELEMETRY_ENABLED=false)")
            }
            TelemetryState::Off(TelemetryOff::NoDestination) => {
                f.write_str("; telemetry off (no TRACE_TELEMETRY_ENDPOINT or sink configured)")
            }
            TelemetryState::Off(TelemetryOff::NoThread) => {
                f.write_str("; telemetry off (its thread could not be started)")
            }
            TelemetryState::Off(TelemetryOff::Ci(variable)) => write!(
                f,
                "; telemetry off (CI detected by {variable}; TRACE_ENABLE_TELEMETRY_IN_CI=true enables it)"
            ),
        }
    }
}

/// Tracing's state from the resolved kill switch and the opt-out file; an opt-out always wins.
pub(crate) fn tracing_state(disabled: Option<TracingOff>, opt_out: Option<&Path>) -> TracingState {
    match (disabled, opt_out) {
        (Some(reason), _) => TracingState::Off(reason),
        (None, Some(path)) => TracingState::Off(TracingOff::OptOutFile(path.to_path_buf())),
        (None, None) => TracingState::On,
    }
}

/// Prints `report` to standard error when `on` ([`TRACE_DEBUG`](crate::config)): the documented debug output.
pub(crate) fn debug_report(on: bool, report: &InitReport) {
    if on {
        eprintln!("trace-runtime: {report}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_opt_out_file_is_found_under_the_home_of_the_environment() {
        let home = std::env::temp_dir().join(format!("trace-privacy-home-{}", std::process::id()));
        std::fs::create_dir_all(&home).unwrap();
        let env = |name: &str| (name == "HOME" || name == "USERPROFILE").then(|| home.display().to_string());
        assert_eq!(opt_out_file(env), None);
        std::fs::write(home.join(OPT_OUT_FILE), "").unwrap();
        assert_eq!(opt_out_file(env), Some(home.join(OPT_OUT_FILE)));
        std::fs::remove_dir_all(&home).unwrap();
    }

    #[test]
    fn an_opt_out_wins_and_says_why() {
        let file = Path::new("/home/ada/.trace-runtime-no-tracing");
        assert_eq!(tracing_state(None, None), TracingState::On);
        assert_eq!(
            tracing_state(None, Some(file)),
            TracingState::Off(TracingOff::OptOutFile(file.to_path_buf()))
        );
        let env = TracingOff::Env("TRACE_DISABLE_ALL");
        assert_eq!(tracing_state(Some(env.clone()), Some(file)), TracingState::Off(env));
        let report = InitReport {
            tracing: tracing_state(None, Some(file)),
            telemetry: TelemetryState::Off(TelemetryOff::KillSwitch),
        };
        assert_eq!(
            report.to_string(),
            "tracing off (opt-out file /home/ada/.trace-runtime-no-tracing exists); telemetry off (tracing is switched off)"
        );
    }
}
