//! Exporters as the lanes drive them: any `opentelemetry_sdk` `SpanExporter`, boxed.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// An export call in progress, polled on the lane's own runtime.
pub(crate) type ExportFuture<'a> = Pin<Box<dyn Future<Output = OTelSdkResult> + Send + 'a>>;

/// An exporter a lane can own without knowing its type.
pub(crate) trait DynExporter: Send {
    fn name(&self) -> &str;
    /// Called once on the lane's thread, inside the lane's tokio runtime, before any export:
    /// exporters whose client needs a runtime (gRPC channels) are built here.
    fn start(&mut self) -> Result<(), String> {
        Ok(())
    }
    /// Its own bound per export call (e.g. `OTEL_EXPORTER_OTLP_TIMEOUT`); `None`: the
    /// pipeline's (`TRACE_EXPORT_TIMEOUT_MS`).
    fn timeout(&self) -> Option<Duration> {
        None
    }
    fn export(&mut self, batch: Vec<SpanData>) -> ExportFuture<'_>;
    fn force_flush(&mut self) -> OTelSdkResult;
    fn shutdown(&mut self, timeout: Duration) -> OTelSdkResult;
    fn set_resource(&mut self, resource: &Resource);
}

pub(crate) struct Sdk<E> {
    name: String,
    exporter: E,
}

impl<E: SpanExporter + 'static> Sdk<E> {
    pub(crate) fn boxed(name: impl Into<String>, exporter: E) -> Box<dyn DynExporter> {
        Box::new(Sdk { name: name.into(), exporter })
    }
}

impl<E: SpanExporter + 'static> DynExporter for Sdk<E> {
    fn name(&self) -> &str {
        &self.name
    }

    fn export(&mut self, batch: Vec<SpanData>) -> ExportFuture<'_> {
        Box::pin(self.exporter.export(batch))
    }

    fn force_flush(&mut self) -> OTelSdkResult {
        self.exporter.force_flush()
    }

    fn shutdown(&mut self, timeout: Duration) -> OTelSdkResult {
        self.exporter.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.exporter.set_resource(resource);
    }
}
