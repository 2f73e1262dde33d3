//! trybuild cases for the kit's macros: see `tests/ui.rs`. The helpers below are for the pass
//! cases, which run the traced code and check the spans it exported.

use trace_runtime::opentelemetry::Value;
use trace_runtime::opentelemetry::trace::Status;
use trace_runtime::opentelemetry_sdk::trace::SpanData;

/// The one span named `name`.
pub fn span<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found: Vec<&SpanData> = spans.iter().filter(|s| s.name == name).collect();
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(found.len(), 1, "expected one span named {name:?}, got {names:?}");
    found[0]
}

/// The value of attribute `key` on `span`.
pub fn attr<'a>(span: &'a SpanData, key: &str) -> &'a Value {
    match span.attributes.iter().find(|kv| kv.key.as_str() == key) {
        Some(kv) => &kv.value,
        None => {
            let keys: Vec<&str> = span.attributes.iter().map(|kv| kv.key.as_str()).collect();
            panic!("span {:?} has no attribute {key:?}; it has {keys:?}", span.name)
        }
    }
}

/// The string value of attribute `key` on `span`.
pub fn str_attr(span: &SpanData, key: &str) -> String {
    match attr(span, key) {
        Value::String(s) => s.as_str().to_string(),
        other => panic!("attribute {key:?} of span {:?} is not a string: {other:?}", span.name),
    }
}

/// Asserts that `child` is a child of `parent`, in the same trace.
pub fn assert_child(child: &SpanData, parent: &SpanData) {
    assert_eq!(child.span_context.trace_id(), parent.span_context.trace_id(), "{:?} trace", child.name);
    assert_eq!(child.parent_span_id, parent.span_context.span_id(), "{:?} parent", child.name);
}

/// Asserts that `span` ended with status Error and `description`.
pub fn assert_error(span: &SpanData, description: &str) {
    assert_eq!(span.status, Status::error(description.to_string()), "{:?} status", span.name);
}

/// Asserts that `span` did not end with an error.
pub fn assert_unset(span: &SpanData) {
    assert_eq!(span.status, Status::Unset, "{:?} status", span.name);
}

/// An exporter keeping every span it is given, for pass cases that go through `init` (an
/// in-memory exporter forgets its spans at shutdown; this one does not).
#[derive(Clone, Debug, Default)]
pub struct Memory(pub std::sync::Arc<std::sync::Mutex<Vec<SpanData>>>);

impl trace_runtime::opentelemetry_sdk::trace::SpanExporter for Memory {
    async fn export(&self, batch: Vec<SpanData>) -> trace_runtime::opentelemetry_sdk::error::OTelSdkResult {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend(batch);
        Ok(())
    }
}

impl Memory {
    /// The spans exported so far.
    pub fn spans(&self) -> Vec<SpanData> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
