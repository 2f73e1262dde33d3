//! Export settings from the builder and the environment: OTLP, Zipkin, the resource, adaptive
//! sampling and the circuit breaker.

use std::path::PathBuf;
use std::time::Duration;

use opentelemetry::KeyValue;

use super::{ConfigBuilder, ConfigError, Exporter};
use crate::export::{ExportSettings, OtlpProtocol, OtlpSettings};
use crate::pipeline::breaker::BreakerConfig;

/// Default adaptive-sampling threshold (`TRACE_SLOW_TRACE_MS`): traces whose root ran this long
/// are kept even when the ratio rejected them.
pub(crate) const DEFAULT_SLOW_TRACE: Duration = Duration::from_millis(1000);

/// What the builder set for exporting; the rest comes from the environment.
#[derive(Debug, Default)]
pub(crate) struct ExportOptions {
    otlp_endpoint: Option<String>,
    otlp_protocol: Option<OtlpProtocol>,
    otlp_headers: Vec<(String, String)>,
    otlp_gzip: Option<bool>,
    otlp_certificate: Option<PathBuf>,
    otlp_client_identity: Option<(PathBuf, PathBuf)>,
    zipkin_endpoint: Option<String>,
    service_version: Option<String>,
    resource: Vec<KeyValue>,
    adaptive: Option<bool>,
    slow_trace: Option<Duration>,
    breaker: Option<BreakerConfig>,
}

pub(super) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Resolves the export settings; OTLP and Zipkin variables are read only when those exporters
/// are configured, so a stray variable cannot break a program that does not use them.
pub(crate) fn resolve(
    mut options: ExportOptions,
    env: Env<'_>,
    exporters: &[Exporter],
    metrics_otlp: bool,
) -> Result<ExportSettings, ConfigError> {
    let mut warnings = Vec::new();
    let mut resource = match env("OTEL_RESOURCE_ATTRIBUTES") {
        Some(value) => parse_attributes(&value)?,
        None => Vec::new(),
    };
    resource.extend(std::mem::take(&mut options.resource));
    let adaptive = match options.adaptive {
        Some(on) => on,
        None => bool_env(env, "TRACE_ADAPTIVE_SAMPLING")?.unwrap_or(false),
    };
    let slow_trace = match options.slow_trace {
        Some(t) => t,
        None => millis_env(env, "TRACE_SLOW_TRACE_MS")?.unwrap_or(DEFAULT_SLOW_TRACE),
    };
    let breaker = match options.breaker {
        Some(b) if b.threshold == 0 => {
            return Err(ConfigError::InvalidSetting {
                setting: "circuit_breaker",
                value: "0".into(),
                expected: "at least 1 failure before the circuit opens",
            });
        }
        Some(b) => b,
        None => {
            let mut b = BreakerConfig::default();
            if let Some(n) = millis_env(env, "TRACE_BREAKER_FAILURES")? {
                b.threshold = u32::try_from(n.as_millis()).unwrap_or(u32::MAX).max(1);
            }
            if let Some(backoff) = millis_env(env, "TRACE_BREAKER_BACKOFF_MS")? {
                b.backoff = backoff;
            }
            b
        }
    };
    let otlp = match exporters.contains(&Exporter::Otlp) {
        true => Some(otlp_signal(&options, &super::otlp::TRACES, env, &mut warnings)?),
        false => None,
    };
    let metrics_otlp = match metrics_otlp {
        true => Some(otlp_signal(&options, &super::otlp::METRICS, env, &mut warnings)?),
        false => None,
    };
    let (zipkin_endpoint, zipkin_timeout) = if exporters.contains(&Exporter::Zipkin) {
        let (endpoint, variable) = match options.zipkin_endpoint {
            Some(e) => (e, None),
            None => match env("OTEL_EXPORTER_ZIPKIN_ENDPOINT") {
                Some(e) => (e, Some("OTEL_EXPORTER_ZIPKIN_ENDPOINT")),
                None => ("http://localhost:9411/api/v2/spans".to_string(), None),
            },
        };
        check_endpoint(&endpoint, variable, "zipkin_endpoint")?;
        (Some(endpoint), millis_env(env, "OTEL_EXPORTER_ZIPKIN_TIMEOUT")?)
    } else {
        (None, None)
    };
    Ok(ExportSettings {
        otlp,
        metrics_otlp,
        zipkin_endpoint,
        zipkin_timeout,
        service_version: options.service_version,
        resource,
        adaptive: adaptive.then_some(slow_trace),
        breaker,
        warnings,
    })
}

/// One OTLP signal's settings: the builder's, then the signal's variables, then the general ones.
fn otlp_signal(
    options: &ExportOptions,
    signal: &super::otlp::Signal,
    env: Env<'_>,
    warnings: &mut Vec<String>,
) -> Result<OtlpSettings, ConfigError> {
    let mut otlp = super::otlp::resolve(
        signal,
        &options.otlp_endpoint,
        options.otlp_protocol,
        options.otlp_headers.clone(),
        env,
    )?;
    otlp.gzip = match options.otlp_gzip {
        Some(gzip) => gzip,
        None => super::otlp::compression(signal, env, warnings),
    };
    super::otlp::tls(
        signal,
        &mut otlp,
        options.otlp_certificate.clone(),
        options.otlp_client_identity.clone(),
        env,
        warnings,
    );
    Ok(otlp)
}

pub(super) fn check_endpoint(
    endpoint: &str,
    variable: Option<&'static str>,
    setting: &'static str,
) -> Result<(), ConfigError> {
    let scheme_ok = |scheme: &str| scheme == "http" || (cfg!(feature = "tls") && scheme == "https");
    let valid = endpoint
        .parse::<http::Uri>()
        .ok()
        .filter(|uri| uri.authority().is_some() && uri.scheme_str().is_some_and(scheme_ok))
        .is_some();
    let expected = if cfg!(feature = "tls") {
        "an http:// or https:// URL with a host, e.g. http://localhost:4317"
    } else {
        "an http:// URL with a host, e.g. http://localhost:4317 (https:// needs trace-runtime's `tls` feature)"
    };
    if valid {
        return Ok(());
    }
    Err(match variable {
        Some(variable) => ConfigError::InvalidEnv { variable, value: endpoint.to_string(), expected },
        None => ConfigError::InvalidSetting { setting, value: endpoint.to_string(), expected },
    })
}

pub(super) fn check_header(
    name: &str,
    value: &str,
    variable: Option<&'static str>,
    raw: &str,
) -> Result<(), ConfigError> {
    let ok =
        http::HeaderName::from_bytes(name.as_bytes()).is_ok() && http::HeaderValue::from_str(value).is_ok();
    if ok {
        return Ok(());
    }
    const EXPECTED: &str = "comma-separated name=value headers with valid HTTP header names and values";
    Err(match variable {
        Some(variable) => ConfigError::InvalidEnv { variable, value: raw.to_string(), expected: EXPECTED },
        None => {
            ConfigError::InvalidSetting { setting: "otlp_header", value: raw.to_string(), expected: EXPECTED }
        }
    })
}

/// `k1=v1,k2=v2` with percent-encoded values (the W3C baggage form the `OTEL_*` lists use).
/// An entry without `=` or with an empty key is an error naming the whole value.
pub(crate) fn parse_pairs(
    value: &str,
    variable: &'static str,
    expected: &'static str,
) -> Result<Vec<(String, String)>, ConfigError> {
    let invalid = || ConfigError::InvalidEnv { variable, value: value.to_string(), expected };
    let mut out = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (k, v) = entry.split_once('=').ok_or_else(invalid)?;
        let k = k.trim();
        if k.is_empty() {
            return Err(invalid());
        }
        let v = percent_encoding::percent_decode_str(v.trim()).decode_utf8().map_err(|_| invalid())?;
        out.push((k.to_string(), v.into_owned()));
    }
    Ok(out)
}

fn bool_env(env: Env<'_>, variable: &'static str) -> Result<Option<bool>, ConfigError> {
    let Some(value) = env(variable) else { return Ok(None) };
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(Some(true)),
        "0" | "false" | "no" | "off" => Ok(Some(false)),
        _ => Err(ConfigError::InvalidEnv { variable, value, expected: "true or false" }),
    }
}

/// A whole number (milliseconds, or a count) greater than 0.
pub(super) fn millis_env(env: Env<'_>, variable: &'static str) -> Result<Option<Duration>, ConfigError> {
    let Some(value) = env(variable) else { return Ok(None) };
    match value.parse::<u64>() {
        Ok(n) if n > 0 => Ok(Some(Duration::from_millis(n))),
        _ => Err(ConfigError::InvalidEnv { variable, value, expected: "a whole number greater than 0" }),
    }
}

/// `OTEL_RESOURCE_ATTRIBUTES`: `key=value` pairs, values percent-decoded.
pub(crate) fn parse_attributes(value: &str) -> Result<Vec<KeyValue>, ConfigError> {
    let pairs = parse_pairs(
        value,
        "OTEL_RESOURCE_ATTRIBUTES",
        "comma-separated key=value pairs, values percent-encoded (e.g. team=voice,region=eu%20west)",
    )?;
    Ok(pairs.into_iter().map(|(k, v)| KeyValue::new(k, v)).collect())
}

/// Builder settings for exporting, sampling and the resource.
impl ConfigBuilder {
    /// OTLP endpoint (replaces `OTEL_EXPORTER_OTLP_ENDPOINT`): the base URL; for HTTP,
    /// `/v1/traces` is appended.
    ///
    /// ```
    /// let config = trace_runtime::Config::builder().otlp_endpoint("http://localhost:4317").build();
    /// # drop(config);
    /// ```
    pub fn otlp_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.export_options().otlp_endpoint = Some(endpoint.into());
        self
    }

    /// A PEM file of CA certificates that verify the OTLP collector's certificate, beside the
    /// system's roots (replaces `OTEL_EXPORTER_OTLP_CERTIFICATE`): a collector with a private CA.
    ///
    /// ```
    /// let config = trace_runtime::Config::builder().otlp_certificate("/etc/otel/ca.pem").build();
    /// # drop(config);
    /// ```
    pub fn otlp_certificate(mut self, pem_file: impl Into<PathBuf>) -> Self {
        self.export_options().otlp_certificate = Some(pem_file.into());
        self
    }

    /// A client certificate and its private key (PEM files) the OTLP exporter presents, for
    /// collectors that require mutual TLS (replaces `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE` and
    /// `OTEL_EXPORTER_OTLP_CLIENT_KEY`).
    ///
    /// ```
    /// let config = trace_runtime::Config::builder().otlp_client_identity("client.pem", "client-key.pem").build();
    /// # drop(config);
    /// ```
    pub fn otlp_client_identity(mut self, certificate: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.export_options().otlp_client_identity = Some((certificate.into(), key.into()));
        self
    }

    /// Gzip-compresses OTLP request bodies, over gRPC and HTTP (replaces
    /// `OTEL_EXPORTER_OTLP_COMPRESSION` / `OTEL_EXPORTER_OTLP_TRACES_COMPRESSION`, `gzip` or
    /// `none`; default none).
    ///
    /// ```
    /// let config = trace_runtime::Config::builder().otlp_gzip(true).build();
    /// # drop(config);
    /// ```
    pub fn otlp_gzip(mut self, gzip: bool) -> Self {
        self.export_options().otlp_gzip = Some(gzip);
        self
    }

    /// OTLP protocol (replaces `OTEL_EXPORTER_OTLP_PROTOCOL`); see [`OtlpProtocol`].
    ///
    /// ```
    /// use trace_runtime::config::OtlpProtocol;
    /// let config = trace_runtime::Config::builder().otlp_protocol(OtlpProtocol::HttpJson).build();
    /// # drop(config);
    /// ```
    pub fn otlp_protocol(mut self, protocol: OtlpProtocol) -> Self {
        self.export_options().otlp_protocol = Some(protocol);
        self
    }

    /// Adds an OTLP header, e.g. an API key (beside `OTEL_EXPORTER_OTLP_HEADERS`, winning).
    ///
    /// ```
    /// let config = trace_runtime::Config::builder().otlp_header("x-api-key", "secret").build();
    /// # drop(config);
    /// ```
    pub fn otlp_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.export_options().otlp_headers.push((name.into(), value.into()));
        self
    }

    /// Zipkin endpoint (replaces `OTEL_EXPORTER_ZIPKIN_ENDPOINT`).
    ///
    /// ```
    /// let config = trace_runtime::Config::builder()
    ///     .zipkin_endpoint("http://localhost:9411/api/v2/spans")
    ///     .build();
    /// # drop(config);
    /// ```
    pub fn zipkin_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.export_options().zipkin_endpoint = Some(endpoint.into());
        self
    }

    /// Resource `service.version`.
    ///
    /// ```
    /// let config = trace_runtime::Config::builder().service_version(env!("CARGO_PKG_VERSION")).build();
    /// # drop(config);
    /// ```
    pub fn service_version(mut self, version: impl Into<String>) -> Self {
        self.export_options().service_version = Some(version.into());
        self
    }

    /// Adds a resource attribute (beside `OTEL_RESOURCE_ATTRIBUTES`, winning).
    ///
    /// ```
    /// let config = trace_runtime::Config::builder().resource_attribute("team", "voice").build();
    /// # drop(config);
    /// ```
    pub fn resource_attribute(
        mut self,
        key: impl Into<opentelemetry::Key>,
        value: impl Into<opentelemetry::Value>,
    ) -> Self {
        self.export_options().resource.push(KeyValue::new(key, value));
        self
    }

    /// Adaptive sampling (replaces `TRACE_ADAPTIVE_SAMPLING`): traces the sampling rate rejects
    /// are still recorded, and kept whole if any span errored or the trace ran longer than
    /// [`slow_trace_threshold`](Self::slow_trace_threshold).
    ///
    /// ```
    /// let config = trace_runtime::Config::builder().sampling_rate(0.1).adaptive_sampling(true).build();
    /// # drop(config);
    /// ```
    pub fn adaptive_sampling(mut self, on: bool) -> Self {
        self.export_options().adaptive = Some(on);
        self
    }

    /// How long a trace must run to be kept by adaptive sampling (replaces `TRACE_SLOW_TRACE_MS`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = trace_runtime::Config::builder().slow_trace_threshold(Duration::from_secs(2)).build();
    /// # drop(config);
    /// ```
    pub fn slow_trace_threshold(mut self, threshold: Duration) -> Self {
        self.export_options().slow_trace = Some(threshold);
        self
    }

    /// Each exporter's circuit breaker (replaces `TRACE_BREAKER_FAILURES` and
    /// `TRACE_BREAKER_BACKOFF_MS`): it opens after `failures` consecutive failed or timed-out
    /// exports, lets one trial batch through after `backoff`, and doubles the back-off (up to
    /// 60 s) while trials fail.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = trace_runtime::Config::builder().circuit_breaker(3, Duration::from_millis(500)).build();
    /// # drop(config);
    /// ```
    pub fn circuit_breaker(mut self, failures: u32, backoff: Duration) -> Self {
        self.export_options().breaker =
            Some(BreakerConfig { threshold: failures, backoff, ..Default::default() });
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn resolve_env(vars: &[(&str, &str)], exporters: &[Exporter]) -> Result<ExportSettings, ConfigError> {
        let vars: HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        resolve(ExportOptions::default(), &|name| vars.get(name).cloned(), exporters, false)
    }

    #[test]
    fn bad_otlp_values_name_the_variable_and_the_value() {
        let err = resolve_env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "thrift")], &[Exporter::Otlp]).unwrap_err();
        assert!(err.to_string().contains("`OTEL_EXPORTER_OTLP_PROTOCOL` is `thrift`"), "{err}");
        let err =
            resolve_env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4317")], &[Exporter::Otlp]).unwrap_err();
        assert!(err.to_string().contains("`OTEL_EXPORTER_OTLP_ENDPOINT` is `localhost:4317`"), "{err}");
        let err = resolve_env(&[("OTEL_EXPORTER_OTLP_HEADERS", "novalue")], &[Exporter::Otlp]).unwrap_err();
        assert!(err.to_string().contains("`OTEL_EXPORTER_OTLP_HEADERS` is `novalue`"), "{err}");
        let err =
            resolve_env(&[("OTEL_EXPORTER_OTLP_HEADERS", "bad name=1")], &[Exporter::Otlp]).unwrap_err();
        assert!(err.to_string().contains("bad name=1"), "{err}");
        let err =
            resolve_env(&[("OTEL_EXPORTER_ZIPKIN_ENDPOINT", "ftp://x")], &[Exporter::Zipkin]).unwrap_err();
        assert!(err.to_string().contains("`OTEL_EXPORTER_ZIPKIN_ENDPOINT` is `ftp://x`"), "{err}");
        // Not configured: not read.
        assert!(resolve_env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "thrift")], &[]).is_ok());
    }

    #[test]
    fn service_name_and_environment_precedence() {
        let vars: HashMap<&str, &str> = [(
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.name=from-attrs,deployment.environment.name=staging,team=voice",
        )]
        .into();
        let env = |n: &str| vars.get(n).map(|v| v.to_string());
        let s = crate::Config::builder().build().resolve_with(env).unwrap();
        assert_eq!((s.service_name.as_str(), s.environment.as_str()), ("from-attrs", "staging"));
        let mut vars = vars.clone();
        vars.insert("OTEL_SERVICE_NAME", "from-env");
        vars.insert("ENVIRONMENT", "prod");
        let env = |n: &str| vars.get(n).map(|v| v.to_string());
        let s = crate::Config::builder().build().resolve_with(env).unwrap();
        assert_eq!((s.service_name.as_str(), s.environment.as_str()), ("from-env", "prod"));
        let resource = crate::export::resource::build(&s.service_name, &s.environment, &s.export);
        let get = |k: &str| resource.get(&opentelemetry::Key::from(k.to_string())).map(|v| v.to_string());
        assert_eq!(get("service.name").as_deref(), Some("from-env"));
        assert_eq!(get("deployment.environment.name").as_deref(), Some("prod"));
        assert_eq!(get("team").as_deref(), Some("voice"));
        assert!(get("host.name").is_some() && get("process.pid").is_some());
    }

    #[test]
    fn adaptive_sampling_and_breaker_settings() {
        let s = resolve_env(
            &[
                ("TRACE_ADAPTIVE_SAMPLING", "true"),
                ("TRACE_SLOW_TRACE_MS", "250"),
                ("TRACE_BREAKER_FAILURES", "2"),
                ("TRACE_BREAKER_BACKOFF_MS", "100"),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(s.adaptive, Some(Duration::from_millis(250)));
        assert_eq!(
            s.breaker,
            BreakerConfig { threshold: 2, backoff: Duration::from_millis(100), ..Default::default() }
        );
        assert_eq!(resolve_env(&[], &[]).unwrap().adaptive, None);
        let err = resolve_env(&[("TRACE_SLOW_TRACE_MS", "soon")], &[]).unwrap_err();
        assert!(err.to_string().contains("`TRACE_SLOW_TRACE_MS` is `soon`"), "{err}");
    }

    #[test]
    fn attributes_parse_per_spec_and_bad_entries_name_the_value() {
        let attrs = parse_attributes("team=voice, region=eu%20west,,service.version=1.2").unwrap();
        assert_eq!(attrs[1], KeyValue::new("region", "eu west"));
        assert_eq!(attrs.len(), 3);
        let err = parse_attributes("team=voice,oops").unwrap_err();
        assert!(err.to_string().contains("`OTEL_RESOURCE_ATTRIBUTES` is `team=voice,oops`"), "{err}");
        assert!(parse_attributes("=x").is_err());
        assert!(parse_attributes("k=%FF").is_err(), "not UTF-8 once decoded");
    }
}
