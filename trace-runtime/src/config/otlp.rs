//! The OTLP exporter's settings from the standard variables: protocol, endpoint, headers,
//! timeout, compression and TLS files (`OTEL_EXPORTER_OTLP_*`, the signal's own forms —
//! `_TRACES_`, `_METRICS_` — winning).

use std::path::{Path, PathBuf};

use super::ConfigError;
use super::export::{Env, check_endpoint, check_header, millis_env, parse_pairs};
use crate::export::{OtlpProtocol, OtlpSettings};

/// The variables and URL path of one OTLP signal.
pub(crate) struct Signal {
    /// The signal's infix in its own variables: `TRACES`, `METRICS`.
    infix: &'static str,
    /// Added to a base endpoint for HTTP: `/v1/traces`.
    path: &'static str,
    protocol: &'static str,
    endpoint: &'static str,
    headers: &'static str,
    timeout: &'static str,
    compression: &'static str,
}

/// Spans.
pub(crate) const TRACES: Signal = Signal {
    infix: "TRACES",
    path: "/v1/traces",
    protocol: "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    endpoint: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    headers: "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    timeout: "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    compression: "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
};

/// Metrics.
pub(crate) const METRICS: Signal = Signal {
    infix: "METRICS",
    path: "/v1/metrics",
    protocol: "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
    endpoint: "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    headers: "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
    timeout: "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
    compression: "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
};

/// The OTLP exporter's TLS files: a CA (`OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE` or
/// `otlp_certificate`) and a client certificate and key for mutual TLS
/// (`OTEL_EXPORTER_OTLP_[TRACES_]CLIENT_CERTIFICATE` and `_CLIENT_KEY`, or
/// `otlp_client_identity`). A file that cannot be read, or a certificate without its key, is a
/// warning naming it, and the exporter goes without.
pub(super) fn tls(
    signal: &Signal,
    otlp: &mut OtlpSettings,
    certificate: Option<PathBuf>,
    identity: Option<(PathBuf, PathBuf)>,
    env: Env<'_>,
    warnings: &mut Vec<String>,
) {
    let path_of = |name: &str| {
        let own = format!("OTEL_EXPORTER_OTLP_{}_{name}", signal.infix);
        let general = format!("OTEL_EXPORTER_OTLP_{name}");
        env(&own).map(|p| (own, p)).or_else(|| env(&general).map(|p| (general, p)))
    };
    let read = |source: &str, path: &Path, warnings: &mut Vec<String>| match std::fs::read(path) {
        Ok(pem) => Some(pem),
        Err(e) => {
            warnings.push(format!(
                "{source} is `{}`, which cannot be read ({e}); the OTLP exporter goes without it",
                path.display()
            ));
            None
        }
    };
    let certificate = certificate
        .map(|p| ("`otlp_certificate`".to_string(), p))
        .or_else(|| path_of("CERTIFICATE").map(|(v, p)| (format!("`{v}`"), PathBuf::from(p))));
    otlp.ca_pem = certificate.and_then(|(source, path)| read(&source, &path, warnings));
    let identity = match identity {
        Some((cert, key)) => Some(("`otlp_client_identity`".to_string(), cert, key)),
        None => match (path_of("CLIENT_CERTIFICATE"), path_of("CLIENT_KEY")) {
            (Some((v, cert)), Some((_, key))) => Some((format!("`{v}`"), cert.into(), key.into())),
            (Some((v, _)), None) | (None, Some((v, _))) => {
                warnings.push(format!(
                    "`{v}` is set without its pair (`OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE` and \
                     `OTEL_EXPORTER_OTLP_CLIENT_KEY` go together); no client certificate is presented"
                ));
                None
            }
            (None, None) => None,
        },
    };
    otlp.client_pem = identity.and_then(|(source, cert, key)| {
        let cert = read(&source, &cert, warnings);
        let key = read(&source, &key, warnings);
        Some((cert?, key?))
    });
}

/// `OTEL_EXPORTER_OTLP_{TRACES,METRICS}_COMPRESSION`, else `OTEL_EXPORTER_OTLP_COMPRESSION`:
/// `gzip` or `none` (the default); another value is a warning, and no compression.
pub(super) fn compression(signal: &Signal, env: Env<'_>, warnings: &mut Vec<String>) -> bool {
    let Some((variable, value)) = [signal.compression, "OTEL_EXPORTER_OTLP_COMPRESSION"]
        .into_iter()
        .find_map(|v| env(v).map(|value| (v, value)))
    else {
        return false;
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "gzip" => true,
        "none" | "" => false,
        _ => {
            warnings.push(format!("`{variable}` is `{value}`: expected gzip or none; sending uncompressed"));
            false
        }
    }
}

pub(super) fn resolve(
    signal: &Signal,
    endpoint: &Option<String>,
    protocol: Option<OtlpProtocol>,
    extra_headers: Vec<(String, String)>,
    env: Env<'_>,
) -> Result<OtlpSettings, ConfigError> {
    let protocol = match protocol {
        Some(p) => p,
        None => {
            let variable =
                [signal.protocol, "OTEL_EXPORTER_OTLP_PROTOCOL"].into_iter().find(|v| env(v).is_some());
            match variable {
                None => OtlpProtocol::Grpc,
                Some(variable) => {
                    let value = env(variable).unwrap_or_default();
                    OtlpProtocol::parse(&value).ok_or(ConfigError::InvalidEnv {
                        variable,
                        value,
                        expected: "grpc, http/protobuf or http/json",
                    })?
                }
            }
        }
    };
    let http = protocol != OtlpProtocol::Grpc;
    let (endpoint, variable) = match (endpoint, env(signal.endpoint)) {
        (Some(e), _) => (signal_url(e, signal, http), None),
        (None, Some(e)) => (e, Some(signal.endpoint)),
        (None, None) => match env("OTEL_EXPORTER_OTLP_ENDPOINT") {
            Some(e) => (signal_url(&e, signal, http), Some("OTEL_EXPORTER_OTLP_ENDPOINT")),
            None if http => (format!("http://localhost:4318{}", signal.path), None),
            None => ("http://localhost:4317".to_string(), None),
        },
    };
    check_endpoint(&endpoint, variable, "otlp_endpoint")?;
    let mut headers = Vec::new();
    for variable in ["OTEL_EXPORTER_OTLP_HEADERS", signal.headers] {
        if let Some(value) = env(variable) {
            for (k, v) in parse_pairs(&value, variable, "comma-separated key=value headers")? {
                check_header(&k, &v, Some(variable), &value)?;
                headers.retain(|(name, _): &(String, String)| !name.eq_ignore_ascii_case(&k));
                headers.push((k, v));
            }
        }
    }
    for (k, v) in extra_headers {
        check_header(&k, &v, None, &format!("{k}={v}"))?;
        headers.retain(|(name, _)| !name.eq_ignore_ascii_case(&k));
        headers.push((k, v));
    }
    let timeout = match millis_env(env, signal.timeout)? {
        Some(t) => Some(t),
        None => millis_env(env, "OTEL_EXPORTER_OTLP_TIMEOUT")?,
    };
    Ok(OtlpSettings { protocol, endpoint, headers, timeout, gzip: false, ca_pem: None, client_pem: None })
}

/// A base endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`) as the signal's URL: HTTP adds `/v1/traces`
/// (or `/v1/metrics`).
fn signal_url(base: &str, signal: &Signal, http: bool) -> String {
    if http { format!("{}{}", base.trim_end_matches('/'), signal.path) } else { base.to_string() }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use super::*;
    use crate::config::Exporter;
    use crate::config::export::{ExportOptions, resolve as resolve_export};
    use crate::export::ExportSettings;

    fn resolve_env(vars: &[(&str, &str)], exporters: &[Exporter]) -> Result<ExportSettings, ConfigError> {
        let vars: HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        resolve_export(ExportOptions::default(), &|name| vars.get(name).cloned(), exporters, false)
    }

    /// With `OTEL_METRICS_EXPORTER=otlp`: metrics' OTLP settings resolved too.
    fn resolve_metrics(vars: &[(&str, &str)], exporters: &[Exporter]) -> Result<ExportSettings, ConfigError> {
        let vars: HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        resolve_export(ExportOptions::default(), &|name| vars.get(name).cloned(), exporters, true)
    }

    #[test]
    fn metrics_take_the_same_variables_with_their_own_forms_winning() {
        let vars = [
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "tenant=acme"),
            ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "tenant=metrics"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "100"),
            ("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "gzip"),
        ];
        let s = resolve_metrics(&vars, &[Exporter::Otlp]).unwrap();
        let (traces, metrics) = (s.otlp.unwrap(), s.metrics_otlp.unwrap());
        assert_eq!(traces.endpoint, "http://collector:4318/v1/traces");
        assert_eq!(metrics.endpoint, "http://collector:4318/v1/metrics");
        assert_eq!(traces.headers, vec![("tenant".into(), "acme".into())]);
        assert_eq!(metrics.headers, vec![("tenant".into(), "metrics".into())]);
        assert_eq!((traces.timeout, metrics.timeout), (Some(Duration::from_millis(100)), None));
        assert_eq!((traces.gzip, metrics.gzip), (false, true));
        let own = [
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:9/metrics"),
            ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc"),
        ];
        let metrics = resolve_metrics(&own, &[]).unwrap().metrics_otlp.unwrap();
        assert_eq!((metrics.protocol, metrics.endpoint.as_str()), (OtlpProtocol::Grpc, "http://m:9/metrics"));
        let bad = resolve_metrics(&[("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "udp")], &[]).unwrap_err();
        assert!(bad.to_string().contains("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"), "{bad}");
    }

    #[test]
    fn otlp_defaults_follow_the_protocol() {
        let s = resolve_env(&[], &[Exporter::Otlp]).unwrap().otlp.unwrap();
        assert_eq!((s.protocol, s.endpoint.as_str()), (OtlpProtocol::Grpc, "http://localhost:4317"));
        let s = resolve_env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")], &[Exporter::Otlp])
            .unwrap()
            .otlp
            .unwrap();
        assert_eq!(s.endpoint, "http://localhost:4318/v1/traces");
    }

    #[test]
    fn otlp_variables_are_read_and_the_traces_ones_win() {
        let s = resolve_env(
            &[
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
                ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
                ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=a%20b, tenant=acme"),
                ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "tenant=other"),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
            ],
            &[Exporter::Otlp],
        )
        .unwrap()
        .otlp
        .unwrap();
        assert_eq!(s.protocol, OtlpProtocol::HttpJson);
        assert_eq!(s.endpoint, "http://collector:4318/v1/traces");
        assert_eq!(s.headers, vec![("x-api-key".into(), "a b".into()), ("tenant".into(), "other".into())]);
        assert_eq!(s.timeout, Some(Duration::from_millis(2500)));
        assert!(!s.gzip, "uncompressed by default");
    }

    #[test]
    fn otlp_tls_files_are_read_and_a_missing_one_or_half_a_pair_is_a_warning() {
        let dir = std::env::temp_dir().join(format!("trace-otlp-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path.to_string_lossy().into_owned()
        };
        let (ca, cert, key) = (file("ca.pem", "CA"), file("cert.pem", "CERT"), file("key.pem", "KEY"));
        let s = resolve_env(
            &[
                ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/no/such/ca.pem"),
                ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", &ca),
                ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", &cert),
                ("OTEL_EXPORTER_OTLP_CLIENT_KEY", &key),
            ],
            &[Exporter::Otlp],
        )
        .unwrap();
        assert!(s.warnings.is_empty(), "the _TRACES_ form wins: {:?}", s.warnings);
        let otlp = s.otlp.unwrap();
        assert_eq!(otlp.ca_pem.as_deref(), Some(b"CA".as_slice()));
        assert_eq!(otlp.client_pem, Some((b"CERT".to_vec(), b"KEY".to_vec())));

        let s = resolve_env(
            &[("OTEL_EXPORTER_OTLP_CERTIFICATE", "/no/such/ca.pem"), ("OTEL_EXPORTER_OTLP_CLIENT_KEY", &key)],
            &[Exporter::Otlp],
        )
        .unwrap();
        let otlp = s.otlp.as_ref().unwrap();
        assert_eq!((otlp.ca_pem.as_ref(), otlp.client_pem.as_ref()), (None, None));
        assert!(
            s.warnings.iter().any(|w| w.contains("`OTEL_EXPORTER_OTLP_CERTIFICATE` is `/no/such/ca.pem`")),
            "{:?}",
            s.warnings
        );
        assert!(
            s.warnings.iter().any(|w| w.contains("`OTEL_EXPORTER_OTLP_CLIENT_KEY` is set without its pair")),
            "{:?}",
            s.warnings
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn otlp_compression_is_gzip_or_none_and_a_bad_value_is_a_warning() {
        let with = |vars: &[(&str, &str)]| resolve_env(vars, &[Exporter::Otlp]).unwrap();
        assert!(with(&[("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")]).otlp.unwrap().gzip);
        let traces_win = with(&[
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
            ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none"),
        ]);
        assert!(!traces_win.otlp.unwrap().gzip);
        let bad = with(&[("OTEL_EXPORTER_OTLP_COMPRESSION", "brotli")]);
        assert!(!bad.otlp.unwrap().gzip);
        assert!(
            bad.warnings[0].contains("`OTEL_EXPORTER_OTLP_COMPRESSION` is `brotli`"),
            "{:?}",
            bad.warnings
        );
    }
}
