//! `TRACE_EXPORTER=otlp`: `opentelemetry-otlp`'s exporter over gRPC (tonic), HTTP/protobuf or
//! HTTP/JSON (reqwest), built on its lane's thread inside the lane's own tokio runtime.
//!
//! Retries are off: a failed batch counts against the lane's circuit breaker instead, so a dead
//! collector costs one timeout per batch at most, and none while the circuit is open.

use std::collections::HashMap;
use std::time::Duration;

use opentelemetry_otlp::{
    Compression, Protocol, RetryPolicy, WithExportConfig, WithHttpConfig, WithTonicConfig,
};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter as _};

use super::{OtlpProtocol, OtlpSettings};
use crate::pipeline::exporter::{DynExporter, ExportFuture};

/// How much longer than the lane's timeout the client's own timeout is.
pub(crate) const CLIENT_MARGIN: Duration = Duration::from_millis(250);

pub(crate) struct Otlp {
    settings: OtlpSettings,
    timeout: Duration,
    resource: Option<Resource>,
    exporter: Option<opentelemetry_otlp::SpanExporter>,
}

impl Otlp {
    /// An exporter for `settings`; each call bounded by the OTLP timeout, else `timeout`.
    pub(crate) fn boxed(settings: OtlpSettings, timeout: Duration) -> Box<dyn DynExporter> {
        let timeout = settings.timeout.unwrap_or(timeout);
        Box::new(Otlp { settings, timeout, resource: None, exporter: None })
    }

    fn build(&self) -> Result<opentelemetry_otlp::SpanExporter, String> {
        // The lane cancels the call at `self.timeout` and says so; the client's own bound is a
        // safety net just behind it.
        let client_timeout = self.timeout + CLIENT_MARGIN;
        let s = &self.settings;
        let built = match s.protocol {
            OtlpProtocol::Grpc => {
                tonic(opentelemetry_otlp::SpanExporter::builder().with_tonic(), s, client_timeout)?.build()
            }
            OtlpProtocol::HttpProtobuf | OtlpProtocol::HttpJson => {
                http(opentelemetry_otlp::SpanExporter::builder().with_http(), s, client_timeout)?.build()
            }
        };
        built.map_err(|e| format!("cannot build the OTLP exporter for {}: {e}", s.endpoint))
    }
}

/// An OTLP/gRPC builder (of spans or metrics) set up from `s`: endpoint, timeout, headers as
/// metadata, compression, TLS, and no retries.
pub(crate) fn tonic<B: WithExportConfig + WithTonicConfig>(
    builder: B,
    s: &OtlpSettings,
    client_timeout: Duration,
) -> Result<B, String> {
    let mut headers = http::HeaderMap::new();
    for (k, v) in &s.headers {
        let name = http::HeaderName::from_bytes(k.as_bytes()).map_err(|e| format!("header `{k}`: {e}"))?;
        let value = http::HeaderValue::from_str(v).map_err(|e| format!("header `{k}`: {e}"))?;
        headers.insert(name, value);
    }
    let metadata = opentelemetry_otlp::tonic_types::metadata::MetadataMap::from_headers(headers);
    let builder = builder
        .with_endpoint(s.endpoint.clone())
        .with_timeout(client_timeout)
        .with_metadata(metadata)
        .with_retry_policy(RetryPolicy::disabled());
    let builder = if s.gzip { builder.with_compression(Compression::Gzip) } else { builder };
    // `https://` trusts the system's roots and webpki's (`tls` feature; `check_endpoint` refused
    // `https://` without it), a private CA beside them, and a client identity for mutual TLS.
    #[cfg(feature = "tls")]
    let builder = if s.endpoint.starts_with("https://") {
        use opentelemetry_otlp::tonic_types::transport::{Certificate, ClientTlsConfig, Identity};
        let mut tls = ClientTlsConfig::new().with_enabled_roots();
        if let Some(ca) = &s.ca_pem {
            tls = tls.ca_certificate(Certificate::from_pem(ca));
        }
        if let Some((cert, key)) = &s.client_pem {
            tls = tls.identity(Identity::from_pem(cert, key));
        }
        builder.with_tls_config(tls)
    } else {
        builder
    };
    Ok(builder)
}

/// An OTLP/HTTP builder (of spans or metrics) set up from `s`: protocol, endpoint, timeout,
/// headers, compression, a reqwest client with the TLS files, and no retries.
pub(crate) fn http<B: WithExportConfig + WithHttpConfig>(
    builder: B,
    s: &OtlpSettings,
    client_timeout: Duration,
) -> Result<B, String> {
    let protocol =
        if s.protocol == OtlpProtocol::HttpJson { Protocol::HttpJson } else { Protocol::HttpBinary };
    let client = reqwest::Client::builder().timeout(client_timeout);
    #[cfg(feature = "tls")]
    let client = {
        let mut client = client;
        if let Some(ca) = &s.ca_pem {
            for cert in reqwest::Certificate::from_pem_bundle(ca)
                .map_err(|e| format!("its CA certificate is not PEM: {e}"))?
            {
                client = client.add_root_certificate(cert);
            }
        }
        if let Some((cert, key)) = &s.client_pem {
            let pem = [cert.as_slice(), b"\n", key.as_slice()].concat();
            let identity = reqwest::Identity::from_pem(&pem)
                .map_err(|e| format!("its client certificate and key are not PEM: {e}"))?;
            client = client.identity(identity);
        }
        client
    };
    let client = client.build().map_err(|e| format!("cannot build its HTTP client: {e}"))?;
    let headers: HashMap<String, String> = s.headers.iter().cloned().collect();
    let builder = builder
        .with_protocol(protocol)
        .with_endpoint(s.endpoint.clone())
        .with_timeout(client_timeout)
        .with_headers(headers)
        .with_http_client(client)
        .with_retry_policy(RetryPolicy::disabled());
    Ok(if s.gzip { builder.with_compression(Compression::Gzip) } else { builder })
}

impl DynExporter for Otlp {
    fn name(&self) -> &str {
        "otlp"
    }

    fn timeout(&self) -> Option<Duration> {
        Some(self.timeout)
    }

    fn start(&mut self) -> Result<(), String> {
        let mut exporter = self.build()?;
        if let Some(resource) = &self.resource {
            exporter.set_resource(resource);
        }
        self.exporter = Some(exporter);
        Ok(())
    }

    fn export(&mut self, batch: Vec<SpanData>) -> ExportFuture<'_> {
        match &self.exporter {
            Some(exporter) => Box::pin(exporter.export(batch)),
            None => Box::pin(async {
                Err(OTelSdkError::InternalFailure("the OTLP exporter was not started".into()))
            }),
        }
    }

    fn force_flush(&mut self) -> OTelSdkResult {
        self.exporter.as_ref().map_or(Ok(()), |e| e.force_flush())
    }

    fn shutdown(&mut self, timeout: Duration) -> OTelSdkResult {
        self.exporter.as_ref().map_or(Ok(()), |e| e.shutdown_with_timeout(timeout))
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = Some(resource.clone());
        if let Some(exporter) = &mut self.exporter {
            exporter.set_resource(resource);
        }
    }
}
