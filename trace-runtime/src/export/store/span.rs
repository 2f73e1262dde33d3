//! One span as the local stores keep it, and the levelled log records found in its events.

use std::time::{Duration, SystemTime};

use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry::{Array, Value};
use opentelemetry_sdk::trace::SpanData;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use super::time::rfc3339;

/// A span's status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpanStatus {
    /// Nothing said.
    #[default]
    Unset,
    /// Succeeded.
    Ok,
    /// Failed; see [`StoredSpan::status_message`].
    Error,
}

impl SpanStatus {
    /// `unset`, `ok` or `error`.
    ///
    /// ```
    /// assert_eq!(trace_runtime::store::SpanStatus::Error.as_str(), "error");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            SpanStatus::Unset => "unset",
            SpanStatus::Ok => "ok",
            SpanStatus::Error => "error",
        }
    }

    /// The status named by [`as_str`](Self::as_str); anything else is `Unset`.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) fn parse(name: &str) -> Self {
        match name {
            "ok" => SpanStatus::Ok,
            "error" => SpanStatus::Error,
            _ => SpanStatus::Unset,
        }
    }
}

/// Token usage of an LLM span, from its `gen_ai.*` attributes.
///
/// ```
/// use trace_runtime::store::SpanUsage;
///
/// let usage = SpanUsage { input_tokens: 31, output_tokens: 27, total_tokens: 58, ..Default::default() };
/// assert_eq!(usage.cost, None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SpanUsage {
    /// `gen_ai.provider.name`.
    #[serde(default)]
    pub provider: Option<String>,
    /// `gen_ai.response.model`, else `gen_ai.request.model`.
    #[serde(default)]
    pub model: Option<String>,
    /// `gen_ai.usage.input_tokens`.
    #[serde(default)]
    pub input_tokens: u64,
    /// `gen_ai.usage.output_tokens`.
    #[serde(default)]
    pub output_tokens: u64,
    /// `gen_ai.usage.cache_read.input_tokens`.
    #[serde(default)]
    pub cache_read_tokens: u64,
    /// `gen_ai.usage.cache_write.input_tokens`.
    #[serde(default)]
    pub cache_write_tokens: u64,
    /// `gen_ai.usage.reasoning.output_tokens`.
    #[serde(default)]
    pub reasoning_tokens: u64,
    /// Input plus output tokens.
    #[serde(default)]
    pub total_tokens: u64,
    /// Cost in US dollars, from `gen_ai.usage.cost`; `None` when the span was not priced.
    #[serde(default)]
    pub cost: Option<f64>,
}

/// A span event (see [`log_rows_of`](super::log_rows_of) for an example).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// Event name (`exception`, `log`, ...).
    pub name: String,
    /// When it happened, to the microsecond (RFC 3339 in the files).
    #[serde(with = "rfc3339")]
    pub time: SystemTime,
    /// Its attributes.
    #[serde(default)]
    pub attributes: Map<String, Json>,
}

/// A finished span as the local stores keep it: one entry of a trace file's `trace_spans`, one
/// span file, one row of the SQLite `spans` table.
///
/// See the [module docs](super) for an example.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredSpan {
    /// 32 lower-case hex characters.
    pub trace_id: String,
    /// 16 lower-case hex characters.
    pub span_id: String,
    /// The parent's span id; `None` for a root.
    #[serde(default)]
    pub parent_span_id: Option<String>,
    /// Whether the parent lives in another process (the span is this process's root).
    #[serde(default)]
    pub parent_is_remote: bool,
    /// Span name.
    pub name: String,
    /// `internal`, `client`, `server`, `producer` or `consumer`.
    pub kind: String,
    /// Start (RFC 3339 in the files).
    #[serde(with = "rfc3339")]
    pub start_time: SystemTime,
    /// End (RFC 3339 in the files).
    #[serde(with = "rfc3339")]
    pub end_time: SystemTime,
    /// End minus start, in seconds.
    pub duration: f64,
    /// Status.
    #[serde(default)]
    pub status: SpanStatus,
    /// The error's description when the status is `error`.
    #[serde(default)]
    pub status_message: Option<String>,
    /// Attributes, by key; arrays stay arrays.
    #[serde(default)]
    pub attributes: Map<String, Json>,
    /// Attributes dropped past the span limit.
    #[serde(default)]
    pub dropped_attributes_count: u32,
    /// Events, in order.
    #[serde(default)]
    pub events: Vec<StoredEvent>,
    /// Events dropped past the span limit.
    #[serde(default)]
    pub dropped_events_count: u32,
    /// Token usage, for spans with `gen_ai.usage.*` attributes.
    #[serde(default)]
    pub usage: Option<SpanUsage>,
}

impl StoredSpan {
    /// Converts an exported span.
    ///
    /// ```
    /// use trace_runtime::store::{SpanStatus, StoredSpan};
    /// use trace_runtime::{testing, trace};
    ///
    /// let (_, spans) = testing::capture(|| trace!("job", {}));
    /// let span = StoredSpan::from_span_data(&spans[0]);
    /// assert_eq!((span.name.as_str(), span.kind.as_str(), span.status), ("job", "internal", SpanStatus::Unset));
    /// assert_eq!(span.trace_id, spans[0].span_context.trace_id().to_string());
    /// ```
    pub fn from_span_data(span: &SpanData) -> Self {
        let context = &span.span_context;
        let attributes: Map<String, Json> =
            span.attributes.iter().map(|kv| (kv.key.as_str().to_string(), json_of(&kv.value))).collect();
        let (status, status_message) = match &span.status {
            Status::Unset => (SpanStatus::Unset, None),
            Status::Ok => (SpanStatus::Ok, None),
            Status::Error { description } => (SpanStatus::Error, Some(description.to_string())),
        };
        let events = span
            .events
            .iter()
            .map(|e| StoredEvent {
                name: e.name.to_string(),
                // Microseconds, as the files keep them: the same event reads back equal from
                // either store.
                time: to_micros(e.timestamp),
                attributes: e
                    .attributes
                    .iter()
                    .map(|kv| (kv.key.as_str().to_string(), json_of(&kv.value)))
                    .collect(),
            })
            .collect();
        let duration = span.end_time.duration_since(span.start_time).unwrap_or(Duration::ZERO).as_secs_f64();
        StoredSpan {
            trace_id: context.trace_id().to_string(),
            span_id: context.span_id().to_string(),
            parent_span_id: (span.parent_span_id != SpanId::INVALID).then(|| span.parent_span_id.to_string()),
            parent_is_remote: span.parent_span_is_remote,
            name: span.name.to_string(),
            kind: kind_name(&span.span_kind).to_string(),
            start_time: span.start_time,
            end_time: span.end_time.max(span.start_time),
            duration,
            status,
            status_message,
            usage: usage_of(&attributes),
            attributes,
            dropped_attributes_count: span.dropped_attributes_count,
            events,
            dropped_events_count: span.events.dropped_count,
        }
    }

    /// Whether this is its process's root: no parent, or a parent in another process.
    ///
    /// ```
    /// # use trace_runtime::{store::StoredSpan, testing, trace};
    /// let (_, spans) = testing::capture(|| trace!("root", { trace!("child", {}) }));
    /// let roots: Vec<_> = spans.iter().map(StoredSpan::from_span_data).filter(|s| s.is_local_root()).collect();
    /// assert_eq!(roots[0].name, "root");
    /// assert_eq!(roots.len(), 1);
    /// ```
    pub fn is_local_root(&self) -> bool {
        self.parent_span_id.is_none() || self.parent_is_remote
    }
}

fn to_micros(t: SystemTime) -> SystemTime {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => {
            SystemTime::UNIX_EPOCH + Duration::from_micros(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        }
        Err(_) => t,
    }
}

fn kind_name(kind: &SpanKind) -> &'static str {
    match kind {
        SpanKind::Client => "client",
        SpanKind::Server => "server",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
        SpanKind::Internal => "internal",
    }
}

/// An attribute value as JSON; a non-finite float becomes its text (`"NaN"`), which JSON cannot
/// hold as a number.
pub(crate) fn json_of(value: &Value) -> Json {
    fn float(f: f64) -> Json {
        serde_json::Number::from_f64(f).map_or_else(|| Json::String(f.to_string()), Json::Number)
    }
    match value {
        Value::Bool(b) => Json::Bool(*b),
        Value::I64(i) => Json::from(*i),
        Value::F64(f) => float(*f),
        Value::String(s) => Json::String(s.as_str().to_string()),
        Value::Array(Array::Bool(v)) => Json::Array(v.iter().map(|b| Json::Bool(*b)).collect()),
        Value::Array(Array::I64(v)) => Json::Array(v.iter().map(|i| Json::from(*i)).collect()),
        Value::Array(Array::F64(v)) => Json::Array(v.iter().map(|f| float(*f)).collect()),
        Value::Array(Array::String(v)) => {
            Json::Array(v.iter().map(|s| Json::String(s.to_string())).collect())
        }
        other => Json::String(other.to_string()),
    }
}

fn usage_of(attributes: &Map<String, Json>) -> Option<SpanUsage> {
    let has_usage = attributes.keys().any(|k| k.starts_with("gen_ai.usage."));
    if !has_usage {
        return None;
    }
    let count = |key: &str| attributes.get(key).and_then(as_u64).unwrap_or(0);
    let text = |key: &str| attributes.get(key).and_then(Json::as_str).map(str::to_string);
    let (input_tokens, output_tokens) =
        (count("gen_ai.usage.input_tokens"), count("gen_ai.usage.output_tokens"));
    Some(SpanUsage {
        provider: text("gen_ai.provider.name").or_else(|| text("gen_ai.system")),
        model: text("gen_ai.response.model").or_else(|| text("gen_ai.request.model")),
        input_tokens,
        output_tokens,
        cache_read_tokens: count("gen_ai.usage.cache_read.input_tokens"),
        cache_write_tokens: count("gen_ai.usage.cache_write.input_tokens"),
        reasoning_tokens: count("gen_ai.usage.reasoning.output_tokens"),
        total_tokens: input_tokens.saturating_add(output_tokens),
        cost: attributes.get("gen_ai.usage.cost").and_then(Json::as_f64).filter(|c| c.is_finite()),
    })
}

/// A count stored as an integer, a float or a numeric string; negative counts are none.
pub(crate) fn as_u64(v: &Json) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_f64().filter(|f| *f >= 0.0 && f.is_finite()).map(|f| f as u64))
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// Totals of one (provider, model) over a time range, from `SqliteStore::model_totals` or
/// [`LocalStore::model_totals`](super::LocalStore::model_totals).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelTotals {
    /// `gen_ai.provider.name`.
    pub provider: Option<String>,
    /// The model.
    pub model: String,
    /// LLM spans.
    pub calls: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cached input tokens read.
    pub cache_read_tokens: u64,
    /// Cached input tokens written.
    pub cache_write_tokens: u64,
    /// Reasoning tokens.
    pub reasoning_tokens: u64,
    /// Cost of the priced calls; `None` if none was priced (never a made-up $0).
    pub cost: Option<f64>,
    /// Calls without a price.
    pub unpriced_calls: u64,
}

impl ModelTotals {
    /// Totals per (provider, model) of the LLM spans (those with a model) among `spans`,
    /// most expensive first, then by tokens.
    ///
    /// ```
    /// use trace_runtime::store::{ModelTotals, StoredSpan};
    /// use trace_runtime::{record_usage, testing, trace_llm, Usage};
    ///
    /// #[trace_llm(provider = "acme", model = "in-house-llm")] // not in the price table
    /// fn complete() {
    ///     record_usage(Usage { input_tokens: 31, output_tokens: 27, ..Default::default() });
    /// }
    ///
    /// let (_, spans) = testing::capture(|| { complete(); complete() });
    /// let spans: Vec<StoredSpan> = spans.iter().map(StoredSpan::from_span_data).collect();
    /// let totals = ModelTotals::of(&spans);
    /// assert_eq!((totals[0].calls, totals[0].input_tokens, totals[0].unpriced_calls), (2, 62, 2));
    /// ```
    pub fn of<'a>(spans: impl IntoIterator<Item = &'a StoredSpan>) -> Vec<ModelTotals> {
        let mut out: Vec<ModelTotals> = Vec::new();
        for usage in spans.into_iter().filter_map(|s| s.usage.as_ref()) {
            let Some(model) = &usage.model else { continue };
            let i = match out.iter().position(|t| &t.model == model && t.provider == usage.provider) {
                Some(i) => i,
                None => {
                    out.push(ModelTotals {
                        provider: usage.provider.clone(),
                        model: model.clone(),
                        ..Default::default()
                    });
                    out.len() - 1
                }
            };
            let t = &mut out[i];
            t.calls += 1;
            t.input_tokens = t.input_tokens.saturating_add(usage.input_tokens);
            t.output_tokens = t.output_tokens.saturating_add(usage.output_tokens);
            t.cache_read_tokens = t.cache_read_tokens.saturating_add(usage.cache_read_tokens);
            t.cache_write_tokens = t.cache_write_tokens.saturating_add(usage.cache_write_tokens);
            t.reasoning_tokens = t.reasoning_tokens.saturating_add(usage.reasoning_tokens);
            match usage.cost {
                Some(cost) => t.cost = Some(t.cost.unwrap_or(0.0) + cost),
                None => t.unpriced_calls += 1,
            }
        }
        out.sort_by(|a, b| {
            let cost = |t: &ModelTotals| t.cost.unwrap_or(-1.0);
            // Counts come from files and databases a user may have edited: never overflow.
            let tokens = |t: &ModelTotals| t.input_tokens.saturating_add(t.output_tokens);
            cost(b).total_cmp(&cost(a)).then_with(|| tokens(b).cmp(&tokens(a)))
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::StringValue;

    #[test]
    fn values_become_json_of_the_same_shape() {
        assert_eq!(json_of(&Value::I64(-3)), serde_json::json!(-3));
        assert_eq!(json_of(&Value::F64(f64::NAN)), serde_json::json!("NaN"));
        assert_eq!(json_of(&Value::from(true)), serde_json::json!(true));
        let list = Value::Array(Array::String(vec![StringValue::from("stop"), StringValue::from("len")]));
        assert_eq!(json_of(&list), serde_json::json!(["stop", "len"]));
    }

    #[test]
    fn usage_reads_gen_ai_attributes_and_cost() {
        let attrs: Map<String, Json> = serde_json::from_value(serde_json::json!({
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024-08-06",
            "gen_ai.usage.input_tokens": 10,
            "gen_ai.usage.output_tokens": 5,
            "gen_ai.usage.cache_read.input_tokens": 4,
            "gen_ai.usage.reasoning.output_tokens": 2,
            "gen_ai.usage.cost": 0.25,
        }))
        .unwrap();
        let usage = usage_of(&attrs).unwrap();
        assert_eq!(usage.provider.as_deref(), Some("openai"));
        assert_eq!(usage.model.as_deref(), Some("gpt-4o-2024-08-06"));
        assert_eq!((usage.input_tokens, usage.output_tokens, usage.total_tokens), (10, 5, 15));
        assert_eq!((usage.cache_read_tokens, usage.cache_write_tokens, usage.reasoning_tokens), (4, 0, 2));
        assert_eq!(usage.cost, Some(0.25));
        assert_eq!(usage_of(&Map::new()), None);
    }

    #[test]
    fn totals_of_edited_files_with_huge_counts_saturate_instead_of_panicking() {
        let span = |model: &str, input: u64| -> StoredSpan {
            serde_json::from_value(serde_json::json!({
                "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7",
                "name": "chat", "kind": "client", "duration": 0.0,
                "start_time": "2024-12-01T00:00:00Z", "end_time": "2024-12-01T00:00:01Z",
                "usage": {"model": model, "input_tokens": input, "output_tokens": 1,
                          "cache_read_tokens": 0, "cache_write_tokens": 0, "reasoning_tokens": 0,
                          "total_tokens": 0},
            }))
            .unwrap()
        };
        let spans = [span("a", u64::MAX), span("b", u64::MAX - 1), span("a", 5)];
        let totals = ModelTotals::of(&spans);
        assert_eq!(totals.len(), 2);
        assert_eq!(totals.iter().find(|t| t.model == "a").unwrap().input_tokens, u64::MAX);
    }
}
