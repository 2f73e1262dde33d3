//! Spans and log records as the JSON documents every remote format is built from.

use std::time::SystemTime;

use opentelemetry::Value;
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry_sdk::trace::SpanData;
use serde_json::{Map, Value as Json, json};

use crate::log::{Level, LogRecord, rfc3339, unix_nanos};

/// What a document describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DocKind {
    Span,
    Log,
}

/// One span or log record, ready to be formatted.
#[derive(Clone, Debug)]
pub(crate) struct Doc {
    pub(crate) kind: DocKind,
    pub(crate) time: SystemTime,
    /// A log level name (`debug` .. `exception`); spans are `info`, or `error` if they failed.
    pub(crate) level: Level,
    pub(crate) message: String,
    /// Every field, `type` and `service` included.
    pub(crate) fields: Map<String, Json>,
}

impl Doc {
    pub(crate) fn time_unix_nano(&self) -> u64 {
        unix_nanos(self.time)
    }

    /// The document as one JSON object.
    pub(crate) fn json(&self) -> Json {
        Json::Object(self.fields.clone())
    }
}

/// A log record's document: its fields plus `type: "log"` and `service`.
pub(crate) fn from_log(record: &LogRecord, service: &str) -> Doc {
    let mut fields = match serde_json::to_value(record) {
        Ok(Json::Object(map)) => map,
        _ => Map::new(),
    };
    fields.insert("type".into(), json!("log"));
    fields.insert("service".into(), json!(service));
    Doc {
        kind: DocKind::Log,
        time: record.time(),
        level: record.level,
        message: record.message.clone(),
        fields,
    }
}

/// A span's document, and its `log` events as log documents (unless `with_logs` is off, when they
/// are left out entirely: the log sink side delivers them).
pub(crate) fn from_span(span: &SpanData, service: &str, with_logs: bool, out: &mut Vec<Doc>) {
    let trace_id = span.span_context.trace_id().to_string();
    let span_id = span.span_context.span_id().to_string();
    let parent = (span.parent_span_id != opentelemetry::trace::SpanId::INVALID)
        .then(|| span.parent_span_id.to_string());
    let (status, status_message) = match &span.status {
        Status::Unset => ("unset", None),
        Status::Ok => ("ok", None),
        Status::Error { description } => ("error", Some(description.to_string())),
    };
    let attributes: Map<String, Json> =
        span.attributes.iter().map(|kv| (kv.key.as_str().to_string(), value(&kv.value))).collect();
    let mut events = Vec::new();
    for event in span.events.iter() {
        if event.name == crate::log::EVENT_NAME {
            if with_logs
                && let Some(record) =
                    LogRecord::from_event(event, Some(trace_id.clone()), Some(span_id.clone()))
            {
                out.push(from_log(&record, service));
            }
            continue;
        }
        let attrs: Map<String, Json> =
            event.attributes.iter().map(|kv| (kv.key.as_str().to_string(), value(&kv.value))).collect();
        events.push(json!({ "name": event.name, "time": rfc3339(event.timestamp), "attributes": attrs }));
    }
    let duration_ms = span.end_time.duration_since(span.start_time).map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    let fields = json!({
        "type": "span",
        "service": service,
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": parent,
        "name": span.name,
        "kind": kind(&span.span_kind),
        "start_time": rfc3339(span.start_time),
        "end_time": rfc3339(span.end_time),
        "start_time_unix_nano": unix_nanos(span.start_time),
        "duration_ms": duration_ms,
        "status": status,
        "status_message": status_message,
        "attributes": attributes,
        "events": events,
    });
    let level = if status == "error" { Level::Error } else { Level::Info };
    let fields = match fields {
        Json::Object(map) => map,
        _ => Map::new(),
    };
    out.push(Doc {
        kind: DocKind::Span,
        time: span.start_time,
        level,
        message: span.name.to_string(),
        fields,
    });
}

fn kind(kind: &SpanKind) -> &'static str {
    match kind {
        SpanKind::Client => "client",
        SpanKind::Server => "server",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
        SpanKind::Internal => "internal",
    }
}

/// An attribute value as JSON (non-finite floats as strings, which JSON cannot hold as numbers).
pub(crate) fn value(v: &Value) -> Json {
    match v {
        Value::Bool(b) => json!(b),
        Value::I64(n) => json!(n),
        Value::F64(f) if f.is_finite() => json!(f),
        Value::Array(opentelemetry::Array::Bool(a)) => json!(a),
        Value::Array(opentelemetry::Array::I64(a)) => json!(a),
        Value::Array(opentelemetry::Array::String(a)) => {
            Json::Array(a.iter().map(|s| json!(s.as_str())).collect())
        }
        other => json!(other.as_str()),
    }
}
