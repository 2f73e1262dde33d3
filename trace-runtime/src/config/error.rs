//! What a setting that cannot be used reports, and the check that the environment is UTF-8.

use super::Exporter;

/// A setting that could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An environment variable holds a value that does not parse or is out of range.
    #[error("environment variable `{variable}` is `{value}`: expected {expected}; fix or unset it")]
    InvalidEnv { variable: &'static str, value: String, expected: &'static str },
    /// A builder setting is out of range.
    #[error("`Config::builder().{setting}({value})`: expected {expected}")]
    InvalidSetting { setting: &'static str, value: String, expected: &'static str },
    /// `TRACE_EXPORTER` names an exporter that does not exist.
    #[error(
        "unknown exporter `{name}` in `TRACE_EXPORTER`: expected a comma list of {}",
        Exporter::NAMES.join(", ")
    )]
    UnknownExporter { name: String },
    /// `TRACE_EXPORTER` names an exporter whose cargo feature this build left out.
    #[error(
        "exporter `{name}` in `TRACE_EXPORTER` is not built into this trace-runtime {}: enable its cargo feature (see the crate's features), or add an exporter with `Config::builder().with_span_exporter(..)`",
        env!("CARGO_PKG_VERSION")
    )]
    UnavailableExporter { name: String },
    /// A redaction pattern (`TRACE_REDACT_PATTERNS` or the builder) is not a valid regex.
    #[error(
        "redaction pattern `{pattern}` is not a valid regular expression: {problem}; fix it in `TRACE_REDACT_PATTERNS` (patterns are separated by `;`, a literal `;` is `\\;`) or in `Config::builder().redact_pattern(..)`"
    )]
    InvalidRedactPattern { pattern: String, problem: String },
    /// The price file (`TRACE_PRICES` or the builder) cannot be used.
    #[error(
        "price file `{path}` (`TRACE_PRICES`): {problem}; expected a JSON or TOML table of model names to {{ input, output, cache_read, cache_write }} in USD per million tokens"
    )]
    InvalidPrices { path: String, problem: String },
    /// An exporter needs a setting that is neither in the environment nor in the builder.
    #[error(
        "`TRACE_EXPORTER` names `{exporter}`, which needs `{variable}`: set it, or call `Config::builder().{setting}(..)`"
    )]
    MissingSetting { exporter: &'static str, variable: &'static str, setting: &'static str },
    /// A credential cannot be sent as an HTTP header (it holds a line break or another control
    /// character); the message does not show it.
    #[error(
        "the `{exporter}` credential cannot be sent as the `{header}` header: it holds a character HTTP headers do not allow (a line break?); copy it again"
    )]
    InvalidSecret { exporter: &'static str, header: String },
    /// A variable the kit reads holds bytes that are not UTF-8.
    #[error(
        "environment variable `{variable}` is not valid UTF-8 (`{lossy}`): set it to a UTF-8 value or unset it"
    )]
    NotUnicode { variable: String, lossy: String },
}

/// Prefixes and names of the environment variables the kit reads.
const READ_PREFIXES: &[&str] =
    &["TRACE_", "OTEL_", "DD_", "AWS_", "LANGFUSE_", "PHOENIX_", "LANGWATCH_", "LOGFIRE_"];
const READ_NAMES: &[&str] = &["ENVIRONMENT"];

/// The first variable the kit reads whose value is not UTF-8, as an error naming it.
///
/// `std::env::var` reports such a value as an error that a plain `.ok()` turns into "unset", which
/// would silently run with defaults (an opt-out ignored, a sink unconfigured); checking the whole
/// environment once at `init` makes it an error instead.
pub(crate) fn reject_non_unicode(
    vars: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> Result<(), ConfigError> {
    for (name, value) in vars {
        let name = name.to_string_lossy();
        let read = READ_NAMES.contains(&&*name) || READ_PREFIXES.iter().any(|p| name.starts_with(p));
        if read && value.to_str().is_none() {
            return Err(ConfigError::NotUnicode {
                variable: name.into_owned(),
                lossy: value.to_string_lossy().into_owned(),
            });
        }
    }
    Ok(())
}
