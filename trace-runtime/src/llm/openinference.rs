//! The OpenInference mirror (`TRACE_SEMCONV=openinference|both`): the names Phoenix and other
//! OpenInference backends read, written from a converted span's GenAI attributes on the export
//! worker.
//!
//! | OpenInference | from |
//! |---|---|
//! | `openinference.span.kind` | `LLM` (chat, text completion, content generation), `EMBEDDING`, `TOOL` (`execute_tool`), `AGENT` (`invoke_agent`, `create_agent`), `CHAIN` for every other span |
//! | `llm.model_name` | `gen_ai.response.model`, else `gen_ai.request.model` |
//! | `llm.provider`, `llm.system` | `gen_ai.provider.name` |
//! | `llm.token_count.prompt`, `.completion`, `.total` | the span's usage |
//! | `llm.token_count.prompt_details.cache_read`, `.cache_write` | cache tokens |
//! | `llm.token_count.completion_details.reasoning` | reasoning tokens |
//! | `llm.cost.prompt`, `.completion`, `.total`, `llm.cost.prompt_details.cache_read`, `.cache_write` | the [price](crate::cost) of the usage (priced models only) |
//! | `input.value` / `output.value` (+ `*.mime_type` `application/json`), `llm.input_messages.{i}.message.role` / `.content`, `llm.output_messages.…` | captured IO (`gen_ai.input.messages` / `gen_ai.output.messages`) |
//! | `tool.name`, `tool.description`, `agent.name` | `gen_ai.tool.name`, `gen_ai.tool.description`, `gen_ai.agent.name` |
//! | `input.value` / `output.value` of a tool | captured `gen_ai.tool.call.arguments` / `gen_ai.tool.call.result` |
//! | `session.id`, `user.id` | the same names: the [association attributes](crate::span::association) every span below the one that set them carries |
//!
//! ```rust,standalone_crate
//! use trace_runtime::{record_usage, trace_llm, Usage, Config, config::{Exporter, Semconv}};
//! use trace_runtime::opentelemetry_sdk::trace::InMemorySpanExporter;
//!
//! #[trace_llm(provider = "openai", model = "gpt-4o")]
//! fn ask() { record_usage(Usage { input_tokens: 10, output_tokens: 5, ..Default::default() }); }
//!
//! let memory = InMemorySpanExporter::default();
//! let config = Config::builder().exporter(Exporter::None).semconv(Semconv::Both)
//!     .with_span_exporter(memory.clone()).build();
//! let guard = trace_runtime::init_with(config).unwrap();
//! ask();
//! guard.flush();
//! let span = &memory.get_finished_spans().unwrap()[0];
//! let get = |k: &str| span.attributes.iter().find(|kv| kv.key.as_str() == k).map(|kv| kv.value.to_string());
//! assert_eq!(get("openinference.span.kind").as_deref(), Some("LLM"));
//! assert_eq!(get("llm.token_count.total").as_deref(), Some("15"));
//! assert_eq!(get("gen_ai.usage.input_tokens").as_deref(), Some("10"));
//! ```

use opentelemetry::{Key, KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;

use crate::llm::cost::CostBreakdown;
use crate::record::Record;
use crate::record::usage::Usage;

pub(crate) fn mirror(span: &mut SpanData, record: &Record, cost: Option<CostBreakdown>) {
    mirror_with(span, record.usage().copied(), cost);
}

/// The mirror of a span already exported by the worker (the Phoenix lane, whatever
/// `TRACE_SEMCONV` says): usage from its `gen_ai.usage.*` attributes, and the cost total from
/// `gen_ai.usage.cost`. A span mirrored already is left as it is.
#[cfg(feature = "otlp")]
pub(crate) fn mirror_exported(span: &mut SpanData) {
    if span.attributes.iter().any(|kv| kv.key.as_str() == "openinference.span.kind") {
        return;
    }
    let count = |key: &str| {
        span.attributes.iter().find(|kv| kv.key.as_str() == key).and_then(|kv| match kv.value {
            Value::I64(n) => u64::try_from(n).ok(),
            _ => None,
        })
    };
    let usage = count("gen_ai.usage.input_tokens").or(count("gen_ai.usage.output_tokens")).map(|_| Usage {
        input_tokens: count("gen_ai.usage.input_tokens").unwrap_or(0),
        output_tokens: count("gen_ai.usage.output_tokens").unwrap_or(0),
        cache_read_tokens: count("gen_ai.usage.cache_read.input_tokens").unwrap_or(0),
        cache_write_tokens: count("gen_ai.usage.cache_write.input_tokens").unwrap_or(0),
        reasoning_tokens: count("gen_ai.usage.reasoning.output_tokens").unwrap_or(0),
    });
    let total =
        span.attributes.iter().find(|kv| kv.key.as_str() == "gen_ai.usage.cost").map(|kv| kv.value.clone());
    mirror_with(span, usage, None);
    if let Some(total) = total {
        span.attributes.push(KeyValue::new("llm.cost.total", total));
    }
}

fn mirror_with(span: &mut SpanData, usage: Option<Usage>, cost: Option<CostBreakdown>) {
    let get =
        |key: &str| span.attributes.iter().rev().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.clone());
    let operation = get("gen_ai.operation.name").map(|v| v.as_str().into_owned());
    let kind = match operation.as_deref() {
        None => "CHAIN",
        Some("embeddings") => "EMBEDDING",
        Some("execute_tool") => "TOOL",
        Some("invoke_agent" | "create_agent") => "AGENT",
        Some(_) => "LLM",
    };
    let mut out = vec![KeyValue::new("openinference.span.kind", kind)];
    if let Some(model) = get("gen_ai.response.model").or_else(|| get("gen_ai.request.model")) {
        out.push(KeyValue::new("llm.model_name", model));
    }
    if let Some(provider) = get("gen_ai.provider.name") {
        out.push(KeyValue::new("llm.provider", provider.clone()));
        out.push(KeyValue::new("llm.system", provider));
    }
    if let Some(u) = usage {
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        out.push(KeyValue::new("llm.token_count.prompt", n(u.input_tokens)));
        out.push(KeyValue::new("llm.token_count.completion", n(u.output_tokens)));
        out.push(KeyValue::new("llm.token_count.total", n(u.total_tokens())));
        if u.cache_read_tokens > 0 {
            out.push(KeyValue::new("llm.token_count.prompt_details.cache_read", n(u.cache_read_tokens)));
        }
        if u.cache_write_tokens > 0 {
            out.push(KeyValue::new("llm.token_count.prompt_details.cache_write", n(u.cache_write_tokens)));
        }
        if u.reasoning_tokens > 0 {
            out.push(KeyValue::new("llm.token_count.completion_details.reasoning", n(u.reasoning_tokens)));
        }
        if let Some(c) = cost {
            out.push(KeyValue::new("llm.cost.prompt", c.prompt()));
            out.push(KeyValue::new("llm.cost.completion", c.output));
            out.push(KeyValue::new("llm.cost.total", c.total()));
            out.push(KeyValue::new("llm.cost.prompt_details.input", c.input));
            out.push(KeyValue::new("llm.cost.prompt_details.cache_read", c.cache_read));
            out.push(KeyValue::new("llm.cost.prompt_details.cache_write", c.cache_write));
        }
    }
    for (side, key) in [("input", "gen_ai.input.messages"), ("output", "gen_ai.output.messages")] {
        if let Some(Value::String(json)) = get(key) {
            messages(&mut out, side, json.as_str());
            out.push(KeyValue::new(format!("{side}.value"), json));
            out.push(KeyValue::new(format!("{side}.mime_type"), "application/json"));
        }
    }
    for (from, to) in [
        ("gen_ai.tool.name", "tool.name"),
        ("gen_ai.tool.description", "tool.description"),
        ("gen_ai.agent.name", "agent.name"),
    ] {
        if let Some(value) = get(from) {
            out.push(KeyValue::new(to, value));
        }
    }
    // A tool's arguments and result are its input and output.
    for (side, key) in [("input", "gen_ai.tool.call.arguments"), ("output", "gen_ai.tool.call.result")] {
        if let Some(Value::String(text)) = get(key) {
            let json = serde_json::from_str::<serde_json::Value>(text.as_str()).is_ok();
            out.push(KeyValue::new(format!("{side}.value"), text));
            out.push(KeyValue::new(
                format!("{side}.mime_type"),
                if json { "application/json" } else { "text/plain" },
            ));
        }
    }
    span.attributes.extend(out);
}

/// `llm.{side}_messages.{i}.message.role` / `.content`, the text parts of each message joined.
fn messages(out: &mut Vec<KeyValue>, side: &str, json: &str) {
    let Ok(serde_json::Value::Array(list)) = serde_json::from_str::<serde_json::Value>(json) else {
        return;
    };
    for (i, message) in list.iter().enumerate() {
        let prefix = format!("llm.{side}_messages.{i}.message");
        if let Some(role) = message.get("role").and_then(|r| r.as_str()) {
            out.push(KeyValue::new(Key::new(format!("{prefix}.role")), role.to_string()));
        }
        let text: Vec<&str> = message
            .get("parts")
            .and_then(|p| p.as_array())
            .into_iter()
            .flatten()
            .filter_map(|part| part.get("content").and_then(|c| c.as_str()))
            .collect();
        if !text.is_empty() {
            out.push(KeyValue::new(Key::new(format!("{prefix}.content")), text.join("\n")));
        }
    }
}
