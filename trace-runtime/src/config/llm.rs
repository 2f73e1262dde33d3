//! LLM span settings from the builder and the environment: the printed summary, the attribute
//! conventions, redaction rules and the price file.

use super::{ConfigBuilder, ConfigError};
use crate::llm::cost;
use crate::llm::stage::{Options, Semconv};
use crate::privacy::redact::{self, Redactor};

/// The settings of this module, as the builder left them (unset: from the environment).
#[derive(Debug, Default)]
pub(crate) struct Builder {
    pub(crate) summary: Option<bool>,
    pub(crate) semconv: Option<Semconv>,
    pub(crate) redact: Option<bool>,
    pub(crate) redact_patterns: Vec<String>,
    pub(crate) prices_file: Option<std::path::PathBuf>,
}

impl Builder {
    /// Resolves against `env`; `stdout` says whether the console exporter is on (the summary's
    /// default).
    pub(crate) fn resolve(
        self,
        env: &impl Fn(&str) -> Option<String>,
        stdout: bool,
    ) -> Result<Options, ConfigError> {
        let flag = |set: Option<bool>, variable: &'static str, default: bool| match set {
            Some(v) => Ok(v),
            None => match env(variable) {
                None => Ok(default),
                Some(v) => match v.to_ascii_lowercase().as_str() {
                    "1" | "true" | "yes" | "on" => Ok(true),
                    "0" | "false" | "no" | "off" => Ok(false),
                    _ => Err(ConfigError::InvalidEnv { variable, value: v, expected: "true or false" }),
                },
            },
        };
        let summary = flag(self.summary, "TRACE_SUMMARY", stdout)?;
        let builtin = flag(self.redact, "TRACE_REDACT", true)?;
        let semconv = match self.semconv {
            Some(s) => s,
            None => match env("TRACE_SEMCONV") {
                None => Semconv::GenAi,
                Some(v) => v.parse().map_err(|_| ConfigError::InvalidEnv {
                    variable: "TRACE_SEMCONV",
                    value: v,
                    expected: "genai, openinference or both",
                })?,
            },
        };
        let mut patterns = self.redact_patterns;
        if let Some(list) = env("TRACE_REDACT_PATTERNS") {
            patterns.extend(redact::split_patterns(&list));
        }
        let redactor = Redactor::new(builtin, &patterns)
            .map_err(|e| ConfigError::InvalidRedactPattern { pattern: e.pattern, problem: e.problem })?;
        let path = self.prices_file.or_else(|| env("TRACE_PRICES").map(Into::into));
        let prices = match path {
            Some(path) => Some(
                cost::read_prices(&path)
                    .map_err(|e| ConfigError::InvalidPrices { path: e.path, problem: e.problem })?,
            ),
            None => None,
        };
        Ok(Options { summary, semconv, redactor, prices })
    }
}

/// Settings of the LLM stage (the builder wins over the environment).
impl ConfigBuilder {
    /// Print each trace's token and cost summary to stderr when its root ends (replaces
    /// `TRACE_SUMMARY`; default: on with the `stdout` exporter).
    ///
    /// ```
    /// let config = trace_runtime::Config::builder().summary(false).build();
    /// # drop(config);
    /// ```
    pub fn summary(mut self, on: bool) -> Self {
        self.0.llm.summary = Some(on);
        self
    }

    /// Attribute names of LLM spans (replaces `TRACE_SEMCONV`).
    ///
    /// ```
    /// use trace_runtime::config::Semconv;
    /// let config = trace_runtime::Config::builder().semconv(Semconv::Both).build();
    /// # drop(config);
    /// ```
    pub fn semconv(mut self, semconv: Semconv) -> Self {
        self.0.llm.semconv = Some(semconv);
        self
    }

    /// The built-in [redaction rules](crate::redact) on or off (replaces `TRACE_REDACT`).
    ///
    /// ```
    /// let config = trace_runtime::Config::builder().redact(false).build();
    /// # drop(config);
    /// ```
    pub fn redact(mut self, on: bool) -> Self {
        self.0.llm.redact = Some(on);
        self
    }

    /// Adds a redaction regex (besides those of `TRACE_REDACT_PATTERNS`); matches become
    /// `[REDACTED:custom]`. An invalid pattern makes `init_with` fail naming it.
    ///
    /// ```
    /// let config = trace_runtime::Config::builder().redact_pattern(r"acct-\d{6}").build();
    /// # drop(config);
    /// ```
    pub fn redact_pattern(mut self, pattern: impl Into<String>) -> Self {
        self.0.llm.redact_patterns.push(pattern.into());
        self
    }

    /// A JSON or TOML price file added to the built-in table (replaces `TRACE_PRICES`); see
    /// [`cost`](mod@crate::cost) for the format. A file that cannot be read or parsed makes
    /// `init_with` fail naming it.
    ///
    /// ```
    /// let config = trace_runtime::Config::builder().prices_file("prices.toml").build();
    /// # drop(config);
    /// ```
    pub fn prices_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.0.llm.prices_file = Some(path.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn resolve(vars: &[(&str, &str)], stdout: bool) -> Result<Options, ConfigError> {
        let vars: HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Builder::default().resolve(&|name: &str| vars.get(name).cloned(), stdout)
    }

    #[test]
    fn the_summary_follows_the_stdout_exporter_unless_set() {
        assert!(resolve(&[], true).unwrap().summary);
        assert!(!resolve(&[], false).unwrap().summary);
        assert!(!resolve(&[("TRACE_SUMMARY", "false")], true).unwrap().summary);
        assert!(resolve(&[("TRACE_SUMMARY", "on")], false).unwrap().summary);
        let err = resolve(&[("TRACE_SUMMARY", "loud")], true).err().unwrap().to_string();
        assert_eq!(
            err,
            "environment variable `TRACE_SUMMARY` is `loud`: expected true or false; fix or unset it"
        );
    }

    #[test]
    fn semconv_redaction_and_prices_from_the_environment() {
        assert_eq!(
            resolve(&[("TRACE_SEMCONV", "OpenInference")], false).unwrap().semconv,
            Semconv::OpenInference
        );
        let err = resolve(&[("TRACE_SEMCONV", "otel")], false).err().unwrap().to_string();
        assert!(err.contains("`TRACE_SEMCONV` is `otel`: expected genai, openinference or both"), "{err}");

        let options =
            resolve(&[("TRACE_REDACT", "false"), ("TRACE_REDACT_PATTERNS", r"id-\d+; x\;y")], false).unwrap();
        assert_eq!(
            options.redactor.redact("id-42 x;y ada@example.com"),
            "[REDACTED:custom] [REDACTED:custom] ada@example.com"
        );
        let err = resolve(&[("TRACE_REDACT_PATTERNS", "ok;[z-a]")], false).err().unwrap().to_string();
        assert!(err.starts_with("redaction pattern `[z-a]` is not a valid regular expression"), "{err}");

        let err = resolve(&[("TRACE_PRICES", "/no/such/prices.toml")], false).err().unwrap().to_string();
        assert!(
            err.starts_with("price file `/no/such/prices.toml` (`TRACE_PRICES`): cannot be read"),
            "{err}"
        );
    }
}
