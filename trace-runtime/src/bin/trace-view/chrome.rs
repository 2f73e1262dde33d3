//! `export --format chrome` and `diff`: a trace for other tools, and two traces side by side.

use std::collections::BTreeMap;
use std::time::UNIX_EPOCH;

use serde_json::{Value, json};
use trace_runtime::store::{SpanStatus, StoredSpan};

use crate::format;

/// The Chrome trace-event format (JSON object form) that ui.perfetto.dev and chrome://tracing
/// open: one complete (`"ph": "X"`) event per span, in microseconds, on the thread the span ran on
/// (`thread.id`, else one lane), its attributes as `args`.
pub(crate) fn trace_events(trace_id: &str, spans: &[StoredSpan]) -> Value {
    let micros =
        |t: std::time::SystemTime| t.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1e6);
    let mut events: Vec<Value> = crate::tree::ordered(spans)
        .into_iter()
        .map(|(_, s)| {
            let tid = s.attributes.get("thread.id").and_then(Value::as_u64).unwrap_or(1);
            let mut args: serde_json::Map<String, Value> = s.attributes.clone();
            args.insert("span_id".into(), s.span_id.clone().into());
            if s.status == SpanStatus::Error {
                args.insert("error".into(), s.status_message.clone().unwrap_or_default().into());
            }
            json!({
                "name": s.name, "cat": category(s), "ph": "X", "ts": micros(s.start_time),
                "dur": s.duration * 1e6, "pid": 1, "tid": tid, "args": args,
            })
        })
        .collect();
    events.push(json!({ "name": "process_name", "ph": "M", "pid": 1, "args": { "name": format!("trace {trace_id}") } }));
    json!({ "traceEvents": events, "displayTimeUnit": "ms" })
}

fn category(span: &StoredSpan) -> &'static str {
    match span.attributes.get("gen_ai.operation.name").and_then(Value::as_str) {
        Some("execute_tool") => "tool",
        Some("invoke_agent" | "create_agent") => "agent",
        Some(_) => "llm",
        None if span.attributes.contains_key("pipeline.element") => "pipeline",
        None => "span",
    }
}

/// One trace's figures for `diff`.
struct Figures {
    spans: usize,
    errors: usize,
    duration: f64,
    /// Per model: calls, input tokens, output tokens, cost.
    models: BTreeMap<String, (u64, u64, u64, Option<f64>)>,
}

fn figures(spans: &[StoredSpan]) -> Figures {
    let overview = crate::tree::overview(spans);
    let mut models: BTreeMap<String, (u64, u64, u64, Option<f64>)> = BTreeMap::new();
    for usage in spans.iter().filter_map(|s| s.usage.as_ref()) {
        let entry = models.entry(usage.model.clone().unwrap_or_else(|| "(unknown)".into())).or_default();
        entry.0 += 1;
        entry.1 = entry.1.saturating_add(usage.input_tokens);
        entry.2 = entry.2.saturating_add(usage.output_tokens);
        if let Some(c) = usage.cost {
            entry.3 = Some(entry.3.unwrap_or(0.0) + c);
        }
    }
    Figures { spans: spans.len(), errors: overview.errors, duration: overview.total, models }
}

/// Two traces side by side: spans, errors, duration, and per model the calls, tokens and cost.
pub(crate) fn diff(a: (&str, &[StoredSpan]), b: (&str, &[StoredSpan])) -> (String, Value) {
    let (fa, fb) = (figures(a.1), figures(b.1));
    let name = |spans: &[StoredSpan]| crate::tree::overview(spans).name.to_string();
    let mut table = format::Table::new(&["", &a.0[..8.min(a.0.len())], &b.0[..8.min(b.0.len())], "CHANGE"]);
    let change = |x: f64, y: f64| match (x, y) {
        (x, y) if x == y => "=".to_string(),
        (0.0, _) => "new".to_string(),
        (x, y) if ((y - x) / x).abs() < 0.1 => format!("{:+.1}%", (y - x) / x * 100.0),
        (x, y) => format!("{:+.0}%", (y - x) / x * 100.0),
    };
    table.row(vec![
        "name".into(),
        format::printable(&name(a.1)),
        format::printable(&name(b.1)),
        String::new(),
    ]);
    table.row(vec![
        "spans".into(),
        fa.spans.to_string(),
        fb.spans.to_string(),
        change(fa.spans as f64, fb.spans as f64),
    ]);
    table.row(vec![
        "errors".into(),
        fa.errors.to_string(),
        fb.errors.to_string(),
        change(fa.errors as f64, fb.errors as f64),
    ]);
    table.row(vec![
        "duration".into(),
        format::duration(fa.duration),
        format::duration(fb.duration),
        change(fa.duration, fb.duration),
    ]);
    let mut models: Vec<&String> = fa.models.keys().chain(fb.models.keys()).collect();
    models.sort();
    models.dedup();
    let mut json_models = serde_json::Map::new();
    for model in models {
        let (x, y) = (
            fa.models.get(model).copied().unwrap_or_default(),
            fb.models.get(model).copied().unwrap_or_default(),
        );
        let label = format::printable(model);
        table.row(vec![
            format!("{label} calls"),
            x.0.to_string(),
            y.0.to_string(),
            change(x.0 as f64, y.0 as f64),
        ]);
        let (tx, ty) = (x.1.saturating_add(x.2), y.1.saturating_add(y.2));
        table.row(vec![
            format!("{label} tokens"),
            tx.to_string(),
            ty.to_string(),
            change(tx as f64, ty as f64),
        ]);
        table.row(vec![
            format!("{label} cost"),
            format::cost(x.3),
            format::cost(y.3),
            change(x.3.unwrap_or(0.0), y.3.unwrap_or(0.0)),
        ]);
        let side = |m: (u64, u64, u64, Option<f64>)| json!({ "calls": m.0, "input_tokens": m.1, "output_tokens": m.2, "cost": m.3 });
        json_models.insert(model.clone(), json!({ "a": side(x), "b": side(y) }));
    }
    let side = |id: &str, f: &Figures, spans: &[StoredSpan]| json!({ "trace_id": id, "name": name(spans), "spans": f.spans, "errors": f.errors, "duration": f.duration });
    let value = json!({ "a": side(a.0, &fa, a.1), "b": side(b.0, &fb, b.1), "models": json_models });
    (table.render(&[false, true, true, true]), value)
}
