//! Limits that bound what one span can hold, so a huge attribute never turns into unbounded memory
//! or an export that a backend rejects.
//!
//! What goes past a limit is cut or dropped, and counted on the span
//! (`dropped_attributes_count`, `dropped_events_count`): never an error, never a panic.
//!
//! The constants are the defaults; `init` sets the limits in force from
//! `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`, `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT` (or
//! `OTEL_ATTRIBUTE_COUNT_LIMIT`) and `OTEL_SPAN_EVENT_COUNT_LIMIT`, or the builder's
//! [`attribute_value_length_limit`](crate::ConfigBuilder::attribute_value_length_limit),
//! [`span_attribute_count_limit`](crate::ConfigBuilder::span_attribute_count_limit) and
//! [`span_event_count_limit`](crate::ConfigBuilder::span_event_count_limit).
//!
//! ```
//! assert_eq!(trace_runtime::limits::MAX_VALUE_BYTES, 16 * 1024);
//! assert_eq!(trace_runtime::limits::value_bytes(), 16 * 1024, "the default, before init");
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};

/// Longest string attribute value kept by default, in bytes; longer values are cut on a char
/// boundary.
pub const MAX_VALUE_BYTES: usize = 16 * 1024;

/// Appended to a string cut at the value limit, when the limit leaves room for it.
pub const TRUNCATED: &str = "…[truncated]";

/// Most attributes kept on one span by default; the rest are dropped and counted.
pub const MAX_ATTRIBUTES: usize = 128;

/// Most events kept on one span by default; the rest are dropped and counted.
pub const MAX_EVENTS: usize = 128;

static VALUE_BYTES: AtomicUsize = AtomicUsize::new(MAX_VALUE_BYTES);
static ATTRIBUTES: AtomicUsize = AtomicUsize::new(MAX_ATTRIBUTES);
static EVENTS: AtomicUsize = AtomicUsize::new(MAX_EVENTS);

/// The longest string value kept now, in bytes.
///
/// ```
/// assert_eq!(trace_runtime::limits::value_bytes(), trace_runtime::limits::MAX_VALUE_BYTES);
/// ```
#[inline(always)]
pub fn value_bytes() -> usize {
    VALUE_BYTES.load(Ordering::Relaxed)
}

/// The most attributes a span keeps now.
///
/// ```
/// assert_eq!(trace_runtime::limits::attributes(), trace_runtime::limits::MAX_ATTRIBUTES);
/// ```
#[inline(always)]
pub fn attributes() -> usize {
    ATTRIBUTES.load(Ordering::Relaxed)
}

/// The most events a span keeps now.
///
/// ```
/// assert_eq!(trace_runtime::limits::events(), trace_runtime::limits::MAX_EVENTS);
/// ```
#[inline(always)]
pub fn events() -> usize {
    EVENTS.load(Ordering::Relaxed)
}

/// The limits a configuration asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SpanLimits {
    pub(crate) value_bytes: usize,
    pub(crate) attributes: usize,
    pub(crate) events: usize,
}

impl Default for SpanLimits {
    fn default() -> Self {
        SpanLimits { value_bytes: MAX_VALUE_BYTES, attributes: MAX_ATTRIBUTES, events: MAX_EVENTS }
    }
}

/// Puts `limits` in force (`init`).
pub(crate) fn set(limits: SpanLimits) {
    VALUE_BYTES.store(limits.value_bytes, Ordering::Relaxed);
    ATTRIBUTES.store(limits.attributes, Ordering::Relaxed);
    EVENTS.store(limits.events, Ordering::Relaxed);
}

/// Most attributes kept on one event; the rest are dropped.
pub const MAX_EVENT_ATTRIBUTES: usize = 128;

// Event names, event attribute values (strings, and each string of an array) and status
// descriptions are cut at `MAX_VALUE_BYTES` like span attribute values. Events are rare and
// already allocate, so cutting them when they are added costs nothing on the span hot path.

/// `text` cut at the value limit on a char boundary.
pub(crate) fn clamp_text(text: std::borrow::Cow<'static, str>) -> std::borrow::Cow<'static, str> {
    match text {
        std::borrow::Cow::Owned(s) if s.len() > value_bytes() => {
            crate::record::value::clip(&s).into_owned().into()
        }
        std::borrow::Cow::Borrowed(s) => crate::record::value::clip(s),
        short => short,
    }
}

/// `kv` with its string values cut at the value limit.
pub(crate) fn clamp_key_value(kv: opentelemetry::KeyValue) -> opentelemetry::KeyValue {
    use opentelemetry::{Array, StringValue, Value};
    let cut = |s: StringValue| -> StringValue {
        if s.as_str().len() > value_bytes() {
            crate::record::value::clip(s.as_str()).into_owned().into()
        } else {
            s
        }
    };
    let value = match kv.value {
        Value::String(s) => Value::String(cut(s)),
        Value::Array(Array::String(items)) => {
            Value::Array(Array::String(items.into_iter().map(cut).collect()))
        }
        other => other,
    };
    opentelemetry::KeyValue::new(kv.key, value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::{Array, KeyValue, Value};

    #[test]
    fn event_values_and_texts_are_cut_to_the_limit() {
        let long = "x".repeat(MAX_VALUE_BYTES + 10);
        let kv = clamp_key_value(KeyValue::new("k", long.clone()));
        assert_eq!(kv.value.as_str().len(), MAX_VALUE_BYTES);
        let kv = clamp_key_value(KeyValue::new(
            "k",
            Value::Array(Array::String(vec![long.clone().into(), "a".into()])),
        ));
        let Value::Array(Array::String(items)) = kv.value else { panic!("still an array") };
        assert_eq!((items[0].as_str().len(), items[1].as_str()), (MAX_VALUE_BYTES, "a"));
        assert_eq!(clamp_key_value(KeyValue::new("n", 7)).value, Value::I64(7));
        assert_eq!(clamp_text(long.into()).len(), MAX_VALUE_BYTES);
        assert_eq!(clamp_text("short".into()), "short");
    }
}
