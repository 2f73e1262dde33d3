//! Remote sinks: spans and log records shipped over HTTP, with retries and back-off.
//!
//! | builder | service | payload |
//! |---|---|---|
//! | [`RestConfig`] | any JSON endpoint | a JSON array of documents |
//! | [`DatadogConfig`] | Datadog logs intake v2 | a JSON array of `ddsource`/`ddtags`/`hostname`/`service`/`status`/`message` entries |
//! | [`LokiConfig`] | Grafana Loki | `/loki/api/v1/push` JSON streams |
//! | [`CloudWatchConfig`] | AWS CloudWatch Logs | `PutLogEvents` JSON |
//! | [`ElasticsearchConfig`] | Elasticsearch | `_bulk` NDJSON |
//!
//! Each builds an [`HttpSink`], which is both an `opentelemetry_sdk` [`SpanExporter`] (each span
//! becomes a document, each `log` event on it a log entry) and a [`LogSink`] (every log record,
//! inside a span or not). Installed as both, it ships each log record once: the exporter side then
//! leaves `log` events to the log side.
//!
//! Nothing here blocks the application or the export worker: `export` and `write` hand the batch
//! to the sink's own thread through a bounded queue (full: dropped and counted in
//! [`HttpSink::stats`]), and that thread sends, retrying connection errors, timeouts, `429` and
//! `5xx` with exponential back-off up to [`Retry::max_attempts`]; other `4xx` are not retried.
//!
//! Every builder has a `from_env()` reading the variables below, and methods that override them.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `TRACE_SINK_MAX_ATTEMPTS` | attempts per request, the first included | `4` |
//! | `TRACE_SINK_TIMEOUT_MS` | time limit of one attempt | `10000` |
//! | `TRACE_REST_URL` | generic REST endpoint (required) | |
//! | `TRACE_REST_HEADERS` | extra headers, `name=value,name2=value2` | |
//! | `TRACE_REST_TOKEN` | sent as `Authorization: Bearer <token>` | |
//! | `TRACE_DATADOG_API_KEY` (or `DD_API_KEY`) | the `DD-API-KEY` header (required) | |
//! | `TRACE_DATADOG_URL` | intake URL | `https://http-intake.logs.datadoghq.com/api/v2/logs` |
//! | `TRACE_DATADOG_TAGS` (or `DD_TAGS`) | `ddtags`, `key:value,key:value` | |
//! | `TRACE_LOKI_URL` | Loki base URL; `/loki/api/v1/push` is added unless present (required) | |
//! | `TRACE_LOKI_LABELS` | extra stream labels, `name=value,...` | |
//! | `TRACE_LOKI_TENANT` | `X-Scope-OrgID` header | |
//! | `TRACE_LOKI_USERNAME`, `TRACE_LOKI_PASSWORD` | basic auth | |
//! | `TRACE_CLOUDWATCH_LOG_GROUP`, `TRACE_CLOUDWATCH_LOG_STREAM` | target group and stream (required) | |
//! | `AWS_REGION` (or `AWS_DEFAULT_REGION`), `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` | with credentials, CloudWatch requests are SigV4-signed | unsigned |
//! | `TRACE_CLOUDWATCH_URL` | CloudWatch Logs endpoint, or a signing proxy for unsigned requests | `https://logs.{AWS_REGION}.amazonaws.com/` |
//! | `TRACE_ELASTICSEARCH_URL` | cluster URL (required) | |
//! | `TRACE_ELASTICSEARCH_INDEX` | index name; `{date}` becomes the record's UTC `YYYY.MM.DD` | `trace-runtime-{date}` |
//! | `TRACE_ELASTICSEARCH_USERNAME`, `TRACE_ELASTICSEARCH_PASSWORD` | basic auth | |
//! | `TRACE_ELASTICSEARCH_API_KEY` | `Authorization: ApiKey <key>` | |
//!
//! The service name is the pipeline's resource `service.name` (`OTEL_SERVICE_NAME`) once the sink
//! is installed as an exporter, else `OTEL_SERVICE_NAME`, else `unknown_service`; each builder's
//! `service()` overrides it.

mod cloudwatch;
mod datadog;
mod doc;
mod elasticsearch;
mod engine;
mod http;
mod loki;
mod rest;
mod sigv4;

pub use cloudwatch::CloudWatchConfig;
pub use datadog::DatadogConfig;
pub use elasticsearch::ElasticsearchConfig;
pub use engine::{HttpSink, SinkStats};
pub use http::Retry;
pub use loki::LokiConfig;
pub use rest::RestConfig;

#[cfg(doc)]
use crate::log::LogSink;
#[cfg(doc)]
use opentelemetry_sdk::trace::SpanExporter;

use std::time::Duration;

pub use crate::log::SinkError;

/// Reads a variable, trimmed; unset and empty are the same.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// `TRACE_SINK_MAX_ATTEMPTS` and `TRACE_SINK_TIMEOUT_MS` over the defaults.
fn retry_from_env(sink: &'static str) -> Result<Retry, SinkError> {
    let mut retry = Retry::default();
    if let Some(v) = env("TRACE_SINK_MAX_ATTEMPTS") {
        retry.max_attempts = v.parse().ok().filter(|n| *n >= 1).ok_or(SinkError::Invalid {
            sink,
            setting: "TRACE_SINK_MAX_ATTEMPTS",
            value: v,
            expected: "a whole number of at least 1",
        })?;
    }
    if let Some(v) = env("TRACE_SINK_TIMEOUT_MS") {
        let ms: u64 = v.parse().ok().filter(|n| *n >= 1).ok_or(SinkError::Invalid {
            sink,
            setting: "TRACE_SINK_TIMEOUT_MS",
            value: v,
            expected: "a whole number of milliseconds, at least 1",
        })?;
        retry.timeout = Duration::from_millis(ms);
    }
    Ok(retry)
}

/// Parses `name=value,name2=value2` (values may contain `=`; `%XX` escapes are decoded).
fn parse_pairs(
    sink: &'static str,
    setting: &'static str,
    text: &str,
) -> Result<Vec<(String, String)>, SinkError> {
    text.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| match part.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((percent_decode(k.trim()), percent_decode(v.trim()))),
            _ => Err(SinkError::Invalid {
                sink,
                setting,
                value: text.to_string(),
                expected: "a comma list of name=value pairs",
            }),
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Checks that `url` is an `http(s)` URL.
fn check_url(sink: &'static str, setting: &'static str, url: &str) -> Result<String, SinkError> {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(url.to_string()),
        _ => Err(SinkError::Invalid {
            sink,
            setting,
            value: url.to_string(),
            expected: "an http:// or https:// URL",
        }),
    }
}

fn basic_auth(username: &str, password: &str) -> String {
    use base64::Engine as _;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}")))
}

/// The host's name, for Datadog's `hostname`.
fn hostname() -> String {
    crate::export::resource::host_name().unwrap_or_else(|| "unknown".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_parse_with_escapes_and_reject_garbage() {
        let pairs = parse_pairs("rest", "TRACE_REST_HEADERS", "x-a=1, x-b=a%3Db=c").unwrap();
        assert_eq!(pairs, vec![("x-a".into(), "1".into()), ("x-b".into(), "a=b=c".into())]);
        let err = parse_pairs("rest", "TRACE_REST_HEADERS", "oops").unwrap_err();
        assert!(err.to_string().contains("TRACE_REST_HEADERS") && err.to_string().contains("oops"));
        assert_eq!(percent_decode("100%"), "100%");
    }

    #[test]
    fn urls_must_be_http() {
        assert!(check_url("rest", "TRACE_REST_URL", "ftp://x").is_err());
        assert!(check_url("rest", "TRACE_REST_URL", "http://127.0.0.1:1/x").is_ok());
    }
}
