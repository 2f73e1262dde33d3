//! `TRACE_EXPORTER=zipkin`: Zipkin v2 JSON over HTTP.
//!
//! Written here rather than taken from `opentelemetry-zipkin` 0.33, which does not send the
//! resource: its spans carry no `localEndpoint.serviceName`, so Zipkin shows every service as
//! unknown. This one follows the OpenTelemetry-to-Zipkin mapping: service name from the
//! resource, other resource attributes and span attributes as tags, status as `otel.status_code`
//! and `error`, events as annotations.

use std::time::{Duration, SystemTime};

use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::SpanData;
use serde_json::{Map, Value as Json, json};

use crate::pipeline::exporter::{DynExporter, ExportFuture};

pub(crate) struct Zipkin {
    endpoint: String,
    timeout: Duration,
    service_name: String,
    resource_tags: Vec<(String, String)>,
    client: Option<reqwest::Client>,
}

impl Zipkin {
    pub(crate) fn boxed(endpoint: String, timeout: Duration) -> Box<dyn DynExporter> {
        Box::new(Zipkin {
            endpoint,
            timeout,
            service_name: "unknown_service".into(),
            resource_tags: Vec::new(),
            client: None,
        })
    }

    fn body(&self, batch: &[SpanData]) -> Result<Vec<u8>, OTelSdkError> {
        let spans: Vec<Json> = batch.iter().map(|s| self.span(s)).collect();
        serde_json::to_vec(&spans).map_err(|e| OTelSdkError::InternalFailure(format!("zipkin JSON: {e}")))
    }

    fn span(&self, s: &SpanData) -> Json {
        let mut tags = Map::new();
        for (k, v) in &self.resource_tags {
            tags.insert(k.clone(), Json::String(v.clone()));
        }
        for KeyValue { key, value, .. } in &s.attributes {
            tags.insert(key.to_string(), Json::String(tag_value(value)));
        }
        tags.insert("otel.scope.name".into(), Json::String(s.instrumentation_scope.name().to_string()));
        if let Some(version) = s.instrumentation_scope.version() {
            tags.insert("otel.scope.version".into(), Json::String(version.to_string()));
        }
        match &s.status {
            Status::Unset => {}
            Status::Ok => {
                tags.insert("otel.status_code".into(), "OK".into());
            }
            Status::Error { description } => {
                tags.insert("otel.status_code".into(), "ERROR".into());
                tags.insert("error".into(), Json::String(description.to_string()));
            }
        }
        let start = micros(s.start_time);
        let mut span = json!({
            "traceId": s.span_context.trace_id().to_string(),
            "id": s.span_context.span_id().to_string(),
            "name": s.name,
            "timestamp": start,
            "duration": micros(s.end_time).saturating_sub(start).max(1),
            "localEndpoint": { "serviceName": self.service_name },
            "tags": tags,
        });
        if s.parent_span_id != SpanId::INVALID {
            span["parentId"] = Json::String(s.parent_span_id.to_string());
        }
        let kind = match s.span_kind {
            SpanKind::Client => Some("CLIENT"),
            SpanKind::Server => Some("SERVER"),
            SpanKind::Producer => Some("PRODUCER"),
            SpanKind::Consumer => Some("CONSUMER"),
            SpanKind::Internal => None,
        };
        if let Some(kind) = kind {
            span["kind"] = Json::String(kind.into());
        }
        let annotations: Vec<Json> = s
            .events
            .iter()
            .map(|e| {
                let value = if e.attributes.is_empty() {
                    e.name.to_string()
                } else {
                    let attrs: Map<String, Json> = e
                        .attributes
                        .iter()
                        .map(|kv| (kv.key.to_string(), Json::String(tag_value(&kv.value))))
                        .collect();
                    format!("\"{}\":{}", e.name, Json::Object(attrs))
                };
                json!({ "timestamp": micros(e.timestamp), "value": value })
            })
            .collect();
        if !annotations.is_empty() {
            span["annotations"] = Json::Array(annotations);
        }
        span
    }
}

fn micros(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Zipkin tags are strings; arrays become JSON arrays, as the OpenTelemetry mapping says.
fn tag_value(value: &Value) -> String {
    match value {
        Value::Array(array) => {
            let items: Vec<Json> = match array {
                opentelemetry::Array::Bool(v) => v.iter().map(|b| Json::Bool(*b)).collect(),
                opentelemetry::Array::I64(v) => v.iter().map(|n| json!(n)).collect(),
                opentelemetry::Array::F64(v) => v.iter().map(|n| json!(n)).collect(),
                opentelemetry::Array::String(v) => v.iter().map(|s| Json::String(s.to_string())).collect(),
                _ => return value.to_string(),
            };
            Json::Array(items).to_string()
        }
        other => other.to_string(),
    }
}

impl DynExporter for Zipkin {
    fn name(&self) -> &str {
        "zipkin"
    }

    fn timeout(&self) -> Option<Duration> {
        Some(self.timeout)
    }

    fn start(&mut self) -> Result<(), String> {
        // The lane cancels the call at `self.timeout`; this is a safety net just behind it.
        let client = reqwest::Client::builder()
            .timeout(self.timeout + Duration::from_millis(250))
            .build()
            .map_err(|e| format!("cannot build its HTTP client: {e}"))?;
        self.client = Some(client);
        Ok(())
    }

    fn export(&mut self, batch: Vec<SpanData>) -> ExportFuture<'_> {
        Box::pin(async move {
            let client = self
                .client
                .as_ref()
                .ok_or_else(|| OTelSdkError::InternalFailure("zipkin exporter not started".into()))?;
            let body = self.body(&batch)?;
            let response = client
                .post(&self.endpoint)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body)
                .send()
                .await
                .map_err(|e| OTelSdkError::InternalFailure(format!("POST {}: {e}", self.endpoint)))?;
            let status = response.status();
            if status.is_success() {
                Ok(())
            } else {
                Err(OTelSdkError::InternalFailure(format!("POST {}: HTTP {status}", self.endpoint)))
            }
        })
    }

    fn force_flush(&mut self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown(&mut self, _timeout: Duration) -> OTelSdkResult {
        self.client = None;
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource_tags.clear();
        for (key, value) in resource.iter() {
            if key.as_str() == "service.name" {
                self.service_name = value.to_string();
            } else {
                self.resource_tags.push((key.to_string(), tag_value(value)));
            }
        }
    }
}
