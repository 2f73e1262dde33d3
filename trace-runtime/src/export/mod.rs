//! Every exporter the pipeline's lanes call: OTLP, Zipkin, the console, the local file and SQLite
//! stores, and the remote sinks, with the resource they describe the service by and the plain
//! settings `config` resolves for them (endpoints, adaptive sampling, circuit breakers).

#[cfg(feature = "otlp")]
pub(crate) mod backends;
pub(crate) mod console;
#[cfg(feature = "metrics")]
pub(crate) mod metrics;
#[cfg(feature = "otlp")]
pub(crate) mod otlp;
pub(crate) mod resource;
pub(crate) mod trace_buffer;
#[cfg(feature = "zipkin")]
pub(crate) mod zipkin;

#[cfg(feature = "sinks")]
pub mod sinks;
#[cfg(any(feature = "file-store", feature = "sqlite"))]
pub mod store;

use std::time::Duration;

use opentelemetry::KeyValue;

use crate::pipeline::breaker::BreakerConfig;

pub use console::ConsoleExporter;

/// How OTLP travels (`OTEL_EXPORTER_OTLP_PROTOCOL`).
///
/// ```
/// use trace_runtime::{Config, config::{Exporter, OtlpProtocol}};
///
/// let config = Config::builder()
///     .exporter(Exporter::Otlp)
///     .otlp_protocol(OtlpProtocol::HttpProtobuf)
///     .otlp_endpoint("http://collector:4318")
///     .build();
/// # drop(config);
/// assert_eq!(OtlpProtocol::HttpJson.as_str(), "http/json");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OtlpProtocol {
    /// `grpc`: OTLP/gRPC, default port 4317.
    Grpc,
    /// `http/protobuf`: OTLP/HTTP with protobuf bodies, default port 4318.
    HttpProtobuf,
    /// `http/json`: OTLP/HTTP with JSON bodies, default port 4318.
    HttpJson,
}

impl OtlpProtocol {
    /// The name used in `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub fn as_str(self) -> &'static str {
        match self {
            OtlpProtocol::Grpc => "grpc",
            OtlpProtocol::HttpProtobuf => "http/protobuf",
            OtlpProtocol::HttpJson => "http/json",
        }
    }

    pub(crate) fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_lowercase().as_str() {
            "grpc" => Some(OtlpProtocol::Grpc),
            "http/protobuf" => Some(OtlpProtocol::HttpProtobuf),
            "http/json" => Some(OtlpProtocol::HttpJson),
            _ => None,
        }
    }
}

/// OTLP settings, validated.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OtlpSettings {
    pub(crate) protocol: OtlpProtocol,
    /// The full URL: for HTTP, including `/v1/traces`.
    pub(crate) endpoint: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) timeout: Option<Duration>,
    /// Bodies gzip-compressed (`OTEL_EXPORTER_OTLP_COMPRESSION=gzip`).
    pub(crate) gzip: bool,
    /// PEM of the CA certificates that verify the collector (`OTEL_EXPORTER_OTLP_CERTIFICATE`),
    /// beside the system's and webpki's roots.
    pub(crate) ca_pem: Option<Vec<u8>>,
    /// PEM certificate and key the exporter presents (`OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`,
    /// `OTEL_EXPORTER_OTLP_CLIENT_KEY`): mutual TLS.
    pub(crate) client_pem: Option<(Vec<u8>, Vec<u8>)>,
}

/// Everything exporting needs, resolved.
#[derive(Debug)]
// Without the `otlp` / `zipkin` features their settings are validated but not used.
#[cfg_attr(not(all(feature = "otlp", feature = "zipkin")), allow(dead_code))]
pub(crate) struct ExportSettings {
    pub(crate) otlp: Option<OtlpSettings>,
    /// OTLP for metrics (`OTEL_METRICS_EXPORTER=otlp`), from the same variables with the
    /// `_METRICS_` forms winning.
    pub(crate) metrics_otlp: Option<OtlpSettings>,
    pub(crate) zipkin_endpoint: Option<String>,
    pub(crate) zipkin_timeout: Option<Duration>,
    /// Bad values of standard variables read here, replaced by their defaults.
    pub(crate) warnings: Vec<String>,
    pub(crate) service_version: Option<String>,
    /// `OTEL_RESOURCE_ATTRIBUTES`, then the builder's attributes (which win).
    pub(crate) resource: Vec<KeyValue>,
    /// Adaptive sampling's slow-trace threshold, when it is on.
    pub(crate) adaptive: Option<Duration>,
    pub(crate) breaker: BreakerConfig,
}

impl ExportSettings {
    /// A string attribute of the configured resource (`OTEL_RESOURCE_ATTRIBUTES` or builder).
    pub(crate) fn resource_value(&self, key: &str) -> Option<String> {
        self.resource.iter().rev().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.as_str().into_owned())
    }
}
