//! Exporters as the worker drives them: any `opentelemetry_sdk` `SpanExporter`, boxed.

use std::time::Duration;

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// An exporter the worker can own without knowing its type.
pub(crate) trait DynExporter: Send {
    fn name(&self) -> &str;
    fn export(&mut self, batch: Vec<SpanData>) -> OTelSdkResult;
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

    fn export(&mut self, batch: Vec<SpanData>) -> OTelSdkResult {
        futures_executor::block_on(self.exporter.export(batch))
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
