//! Resolving the telemetry settings: builder first, then the environment, then the precedence
//! rules of the [telemetry docs](crate::telemetry).

use std::time::Duration;

use super::{ConfigError, parse_bool};
use crate::privacy::{TelemetryOff, TelemetryState, detect_ci};
use crate::telemetry::{
    DEFAULT_INTERVAL, EndpointError, HttpTelemetrySink, TelemetrySettings, TelemetrySink,
};

/// Telemetry settings given in code.
#[derive(Default)]
pub(crate) struct TelemetryConfig {
    pub(crate) endpoint: Option<String>,
    pub(crate) sink: Option<Box<dyn TelemetrySink>>,
    pub(crate) enabled: Option<bool>,
    pub(crate) in_ci: Option<bool>,
    pub(crate) interval: Option<Duration>,
}

impl std::fmt::Debug for TelemetryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryConfig")
            .field("endpoint", &self.endpoint)
            .field("sink", &self.sink.as_ref().map(|s| s.destination()))
            .field("enabled", &self.enabled)
            .field("in_ci", &self.in_ci)
            .field("interval", &self.interval)
            .finish()
    }
}

impl TelemetryConfig {
    /// `tracing_off`: the kill switch already decided; nothing else is consulted but the values'
    /// validity (a bad value is an error whatever the switches say, as for every setting).
    /// An endpoint's requests are bounded by a quarter of `export_timeout` each (connect, write,
    /// read), so the last batch fits in shutdown's wait.
    pub(crate) fn resolve(
        self,
        env: &impl Fn(&str) -> Option<String>,
        tracing_off: bool,
        export_timeout: Duration,
    ) -> Result<TelemetrySettings, ConfigError> {
        let http = |url: &str| HttpTelemetrySink::new(url).map(|s| s.timeout(export_timeout / 4));
        let enabled = match self.enabled {
            Some(on) => Some(on),
            None => parse_bool(env, "TRACE_TELEMETRY_ENABLED")?,
        };
        let in_ci = match self.in_ci {
            Some(on) => on,
            None => parse_bool(env, "TRACE_ENABLE_TELEMETRY_IN_CI")?.unwrap_or(false),
        };
        let sink: Option<Box<dyn TelemetrySink>> = match (self.sink, self.endpoint) {
            (Some(sink), _) => Some(sink),
            (None, Some(url)) => Some(Box::new(http(&url).map_err(|e| ConfigError::InvalidSetting {
                setting: "telemetry_endpoint",
                value: url.clone(),
                expected: expected_endpoint(&e),
            })?)),
            (None, None) => match env("TRACE_TELEMETRY_ENDPOINT") {
                Some(url) => Some(Box::new(http(&url).map_err(|e| ConfigError::InvalidEnv {
                    variable: "TRACE_TELEMETRY_ENDPOINT",
                    value: url.clone(),
                    expected: expected_endpoint(&e),
                })?)),
                None => None,
            },
        };
        let interval = self.interval.unwrap_or(DEFAULT_INTERVAL).max(Duration::from_millis(10));
        let off = |reason| Ok(TelemetrySettings { state: TelemetryState::Off(reason), sink: None, interval });
        if tracing_off {
            return off(TelemetryOff::KillSwitch);
        }
        if enabled == Some(false) {
            return off(TelemetryOff::Disabled);
        }
        let Some(sink) = sink else { return off(TelemetryOff::NoDestination) };
        if !in_ci && let Some(variable) = detect_ci(env) {
            return off(TelemetryOff::Ci(variable));
        }
        Ok(TelemetrySettings { state: TelemetryState::On(sink.destination()), sink: Some(sink), interval })
    }
}

fn expected_endpoint(e: &EndpointError) -> &'static str {
    if e.needs_client() {
        "`Config::builder().telemetry_sink(..)`: this build has no HTTP client (build trace-runtime with an exporter feature, `otlp`, `zipkin` or `sinks`, or `http-client`)"
    } else if e.needs_tls() {
        "an http:// URL (https:// needs trace-runtime's `tls` cargo feature; or send through a local collector, or use `Config::builder().telemetry_sink(..)`)"
    } else if cfg!(feature = "tls") {
        "an http:// or https:// URL such as http://127.0.0.1:4318/v1/telemetry"
    } else {
        "an http:// URL such as http://127.0.0.1:4318/v1/telemetry"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn state(config: TelemetryConfig, vars: &[(&str, &str)], tracing_off: bool) -> TelemetryState {
        let vars: HashMap<&str, &str> = vars.iter().copied().collect();
        config
            .resolve(&|n: &str| vars.get(n).map(|v| v.to_string()), tracing_off, Duration::from_secs(5))
            .unwrap()
            .state
    }

    const ENDPOINT: (&str, &str) = ("TRACE_TELEMETRY_ENDPOINT", "http://127.0.0.1:9/t");

    #[test]
    fn off_by_default_and_on_with_a_destination() {
        assert_eq!(
            state(TelemetryConfig::default(), &[], false),
            TelemetryState::Off(TelemetryOff::NoDestination)
        );
        assert_eq!(
            state(TelemetryConfig::default(), &[("TRACE_TELEMETRY_ENABLED", "true")], false),
            TelemetryState::Off(TelemetryOff::NoDestination),
            "enabling without a destination sends nothing"
        );
        assert_eq!(
            state(TelemetryConfig::default(), &[ENDPOINT], false),
            TelemetryState::On("http://127.0.0.1:9/t".into())
        );
    }

    #[test]
    fn the_precedence_of_the_switches() {
        let with = |vars: &[(&str, &str)], off| state(TelemetryConfig::default(), vars, off);
        assert_eq!(with(&[ENDPOINT], true), TelemetryState::Off(TelemetryOff::KillSwitch));
        assert_eq!(
            with(&[ENDPOINT, ("TRACE_TELEMETRY_ENABLED", "false"), ("CI", "true")], false),
            TelemetryState::Off(TelemetryOff::Disabled)
        );
        assert_eq!(
            with(&[ENDPOINT, ("GITLAB_CI", "true")], false),
            TelemetryState::Off(TelemetryOff::Ci("GITLAB_CI"))
        );
        assert!(matches!(
            with(&[ENDPOINT, ("CI", "1"), ("TRACE_ENABLE_TELEMETRY_IN_CI", "true")], false),
            TelemetryState::On(_)
        ));
        let in_code = TelemetryConfig { enabled: Some(false), ..Default::default() };
        assert_eq!(state(in_code, &[ENDPOINT], false), TelemetryState::Off(TelemetryOff::Disabled));
        let in_code = TelemetryConfig { in_ci: Some(true), ..Default::default() };
        assert!(matches!(state(in_code, &[ENDPOINT, ("CI", "true")], false), TelemetryState::On(_)));
    }

    #[test]
    fn every_ci_variable_turns_telemetry_off() {
        for &variable in crate::privacy::CI_VARIABLES {
            assert_eq!(
                state(TelemetryConfig::default(), &[ENDPOINT, (variable, "true")], false),
                TelemetryState::Off(TelemetryOff::Ci(variable))
            );
        }
    }

    #[cfg(feature = "tls")]
    #[test]
    fn with_tls_an_https_endpoint_turns_telemetry_on() {
        assert_eq!(
            state(TelemetryConfig::default(), &[("TRACE_TELEMETRY_ENDPOINT", "https://t.example/v1")], false),
            TelemetryState::On("https://t.example/v1".into())
        );
        let in_code = TelemetryConfig { endpoint: Some("https://t.example/v1".into()), ..Default::default() };
        assert_eq!(state(in_code, &[], false), TelemetryState::On("https://t.example/v1".into()));
    }

    #[test]
    fn bad_values_name_the_variable() {
        let resolve = |vars: &[(&str, &str)]| {
            let vars: HashMap<&str, &str> = vars.iter().copied().collect();
            TelemetryConfig::default()
                .resolve(&|n: &str| vars.get(n).map(|v| v.to_string()), false, Duration::from_secs(5))
                .err()
                .unwrap()
        };
        #[cfg(not(feature = "tls"))]
        {
            let err = resolve(&[("TRACE_TELEMETRY_ENDPOINT", "https://t.example/v1")]).to_string();
            assert!(
                err.contains("`TRACE_TELEMETRY_ENDPOINT` is `https://t.example/v1`")
                    && err.contains("telemetry_sink")
                    && err.contains("`tls` cargo feature"),
                "{err}"
            );
        }
        let err = resolve(&[("TRACE_TELEMETRY_ENDPOINT", "ftp://t.example/v1")]).to_string();
        assert!(err.contains("`TRACE_TELEMETRY_ENDPOINT` is `ftp://t.example/v1`"), "{err}");
        let err = resolve(&[("TRACE_TELEMETRY_ENABLED", "sometimes")]).to_string();
        assert!(err.contains("`TRACE_TELEMETRY_ENABLED` is `sometimes`"), "{err}");
        let err = resolve(&[("TRACE_ENABLE_TELEMETRY_IN_CI", "y")]).to_string();
        assert!(err.contains("`TRACE_ENABLE_TELEMETRY_IN_CI` is `y`"), "{err}");
    }
}
