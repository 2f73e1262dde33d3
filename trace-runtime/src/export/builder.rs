//! Builder methods for exporting, sampling and the resource (`Config::builder()`).

use std::time::Duration;

use opentelemetry::KeyValue;

use super::OtlpProtocol;
use crate::config::ConfigBuilder;
use crate::pipeline::breaker::BreakerConfig;

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
        self.export_options().breaker = Some(BreakerConfig { threshold: failures, backoff });
        self
    }
}
