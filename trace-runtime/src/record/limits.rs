//! Limits that bound what one span can hold, so a huge attribute never turns into unbounded memory
//! or an export that a backend rejects.
//!
//! What goes past a limit is cut or dropped, and counted on the span
//! (`dropped_attributes_count`, `dropped_events_count`): never an error, never a panic.
//!
//! ```
//! assert_eq!(trace_runtime::limits::MAX_VALUE_BYTES, 16 * 1024);
//! ```

/// Longest string attribute value kept, in bytes; longer values are cut on a char boundary.
pub const MAX_VALUE_BYTES: usize = 16 * 1024;

/// Appended to a string cut at [`MAX_VALUE_BYTES`].
pub const TRUNCATED: &str = "…[truncated]";

/// Most attributes kept on one span; the rest are dropped and counted.
pub const MAX_ATTRIBUTES: usize = 128;

/// Most events kept on one span; the rest are dropped and counted.
pub const MAX_EVENTS: usize = 128;

/// Most attributes kept on one event; the rest are dropped.
pub const MAX_EVENT_ATTRIBUTES: usize = 128;

// Event names, event attribute values (strings, and each string of an array) and status
// descriptions are cut at `MAX_VALUE_BYTES` like span attribute values. Events are rare and
// already allocate, so cutting them when they are added costs nothing on the span hot path.

/// `text` cut at [`MAX_VALUE_BYTES`] on a char boundary.
pub(crate) fn clamp_text(text: std::borrow::Cow<'static, str>) -> std::borrow::Cow<'static, str> {
    match text {
        std::borrow::Cow::Owned(s) if s.len() > MAX_VALUE_BYTES => {
            crate::record::value::clip(&s).into_owned().into()
        }
        std::borrow::Cow::Borrowed(s) => crate::record::value::clip(s),
        short => short,
    }
}

/// `kv` with its string values cut at [`MAX_VALUE_BYTES`].
pub(crate) fn clamp_key_value(kv: opentelemetry::KeyValue) -> opentelemetry::KeyValue {
    use opentelemetry::{Array, StringValue, Value};
    let cut = |s: StringValue| -> StringValue {
        if s.as_str().len() > MAX_VALUE_BYTES {
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
