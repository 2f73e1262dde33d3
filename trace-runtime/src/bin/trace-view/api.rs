//! The traces of a store as JSON: what `serve`'s API answers and what `--json` prints.

use serde_json::{Value, json};
use trace_runtime::store::{StoreError, StoredSpan, format_rfc3339};

use super::Source;

/// `{"traces": [..], "warnings": [..]}`: the `limit` newest traces.
pub(crate) fn traces(source: &Source, limit: usize) -> Result<Value, StoreError> {
    let (rows, warnings): (Vec<Value>, Vec<String>) = match source {
        Source::Dir(store) => {
            let listing = store.list()?;
            let rows = listing
                .traces
                .into_iter()
                .take(limit)
                .map(|t| {
                    json!({
                        "trace_id": t.trace_id, "name": t.name, "start": format_rfc3339(t.created_at),
                        "duration": t.duration, "spans": t.span_count, "errors": t.error_count,
                        "tokens": t.total_tokens, "cost": t.cost, "session_id": t.session_id, "models": t.models,
                    })
                })
                .collect();
            (rows, listing.warnings)
        }
        Source::Db(db) => {
            let rows = db
                .traces(limit)?
                .into_iter()
                .map(|t| {
                    json!({
                        "trace_id": t.trace_id, "name": t.name, "start": format_rfc3339(t.start_time),
                        "duration": t.duration, "spans": t.span_count, "errors": t.error_count,
                        "tokens": t.input_tokens.saturating_add(t.output_tokens), "cost": t.cost,
                        "session_id": t.session_id, "models": t.models,
                    })
                })
                .collect();
            (rows, Vec::new())
        }
    };
    Ok(json!({ "traces": rows, "warnings": warnings }))
}

/// The traces of `listing` (an answer of [`traces`]) with a span whose attribute matches `query`:
/// `key=value` (the value as text, exactly), or `key` (present), or text found in any key or
/// value. Each trace is read once; one that cannot be read is left out.
pub(crate) fn search(source: &Source, mut listing: Value, query: &str) -> Value {
    let query = query.trim().to_lowercase();
    let (key, value) = match query.split_once('=') {
        Some((k, v)) => (k.trim().to_string(), Some(v.trim().to_string())),
        None => (query.clone(), None),
    };
    let text = |v: &Value| match v {
        Value::String(s) => s.to_lowercase(),
        other => other.to_string().to_lowercase(),
    };
    let matches = |span: &StoredSpan| {
        span.attributes.iter().any(|(k, v)| match &value {
            Some(value) => k.to_lowercase() == key && text(v) == *value,
            None => k.to_lowercase().contains(&key) || text(v).contains(&key),
        })
    };
    if let Some(rows) = listing["traces"].as_array_mut() {
        rows.retain(|row| {
            let id = row["trace_id"].as_str().unwrap_or_default();
            load(source, id).is_ok_and(|(_, spans)| spans.iter().any(matches))
        });
    }
    listing
}

/// One trace by full id or unique prefix: its full id and spans.
pub(crate) fn load(source: &Source, id: &str) -> Result<(String, Vec<StoredSpan>), StoreError> {
    match source {
        Source::Dir(store) => {
            let trace = store.get(id)?;
            Ok((trace.file.trace_id, trace.file.data.trace_spans))
        }
        Source::Db(db) => {
            let trace_id = db.resolve_trace_id(id)?;
            let spans = db.trace_spans(&trace_id)?;
            Ok((trace_id, spans))
        }
    }
}

/// `{"trace_id", "spans": [..]}`.
pub(crate) fn trace(source: &Source, id: &str) -> Result<Value, StoreError> {
    let (trace_id, spans) = load(source, id)?;
    Ok(json!({ "trace_id": trace_id, "spans": spans }))
}
