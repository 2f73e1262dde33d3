//! The errors of setting up log output: the run directory, and the remote sinks' settings.
//!
//! They live with the log records rather than with the sinks or `init`, which both depend on
//! `log`: the records flow from here down to the sinks, never back.

use super::rundir::RunDirError;

/// A log sink `init` could not set up.
///
/// ```rust,standalone_crate
/// use trace_runtime::{Config, InitError, config::Exporter};
///
/// let file = std::env::temp_dir().join(format!("blocker-{}", std::process::id()));
/// std::fs::write(&file, "x").unwrap();
/// let err = trace_runtime::init_with(Config::builder().exporter(Exporter::None).log_dir(file.join("logs")).build())
///     .unwrap_err();
/// assert!(matches!(err, InitError::Logs(_)));
/// assert!(err.to_string().starts_with("TRACE_LOG_DIR: "));
/// # std::fs::remove_file(&file).ok();
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// `TRACE_LOG_DIR` (or `log_dir(..)`) cannot be created or written.
    #[error("TRACE_LOG_DIR: {0}")]
    RunDir(#[from] RunDirError),
    /// A remote sink named in `TRACE_EXPORTER` is missing a setting or has a bad one.
    #[cfg(feature = "sinks")]
    #[error(transparent)]
    Sink(#[from] SinkError),
}

#[cfg(feature = "sinks")]
/// A sink that could not be built from its settings.
///
/// ```
/// let err = trace_runtime::sinks::LokiConfig::new("ftp://loki").build().unwrap_err();
/// assert!(err.to_string().contains("ftp://loki"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// A required setting is missing.
    #[error("{sink} sink: {what} is not set: set `{variable}` or call `.{method}(..)` on the builder")]
    Missing {
        /// The sink.
        sink: &'static str,
        /// What is missing.
        what: &'static str,
        /// Its environment variable.
        variable: &'static str,
        /// Its builder method.
        method: &'static str,
    },
    /// A setting holds a value that does not parse.
    #[error("{sink} sink: `{setting}` is `{value}`: expected {expected}")]
    Invalid {
        /// The sink.
        sink: &'static str,
        /// The environment variable or builder method.
        setting: &'static str,
        /// The value given.
        value: String,
        /// What would be accepted.
        expected: &'static str,
    },
    /// The HTTP client could not be created.
    #[error("{sink} sink: cannot create the HTTP client: {reason}")]
    Client {
        /// The sink.
        sink: &'static str,
        /// Why.
        reason: String,
    },
}
