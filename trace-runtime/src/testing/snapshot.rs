//! A captured trace as text to compare with an expected string: names, kinds, status and the
//! attributes that say what a span did, with ids, times and durations left out.

use std::fmt::Write as _;

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;

use crate::export::console::tree::SpanTree;

/// The attributes a snapshot shows, when a span has them (and its parent does not have the same).
///
/// ```
/// assert!(trace_runtime::testing::SNAPSHOT_KEYS.contains(&"gen_ai.tool.name"));
/// ```
pub const SNAPSHOT_KEYS: &[&str] = &[
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.agent.name",
    "gen_ai.tool.name",
    "gen_ai.tool.call.id",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.evaluation.name",
    "gen_ai.evaluation.score.label",
    "session.id",
    "user.id",
    "gen_ai.conversation.id",
    "pipeline.name",
    "pipeline.element",
    "connection.id",
    "error.type",
    "span.cancelled",
];

/// The tree of `spans` (as [`capture`](super::capture) returns them), one line per span:
/// its name, its kind unless internal, `ERROR` with the status message for a failed span, and
/// the [`SNAPSHOT_KEYS`] it sets (an association attribute only where it was set, not on every
/// span below). Siblings are in start order; ids, times and durations are left out, so the text
/// is the same on every run of the same code.
///
/// ```
/// use trace_runtime::{testing, trace, trace_agent, trace_tool};
///
/// #[trace_tool(name = "search")]
/// fn search(q: &str) -> Result<String, String> {
///     if q.is_empty() { Err("empty query".into()) } else { Ok(q.into()) }
/// }
///
/// #[trace_agent(name = "researcher")]
/// fn research() -> Result<String, String> {
///     let _ = search("");
///     search("rust")
/// }
///
/// let (_, spans) = testing::capture(|| trace!("turn", session.id = "s-1", { research() }));
/// assert_eq!(testing::snapshot(&spans), "\
/// turn session.id=s-1
/// └─ invoke_agent researcher gen_ai.agent.name=researcher
///    ├─ execute_tool search ERROR(empty query) gen_ai.tool.name=search error.type=alloc::string::String
///    └─ execute_tool search gen_ai.tool.name=search
/// ");
/// ```
pub fn snapshot(spans: &[SpanData]) -> String {
    snapshot_with(spans, &[])
}

/// [`snapshot`], showing the attributes under `extra_keys` too.
///
/// ```
/// use trace_runtime::{testing, trace};
///
/// let (_, spans) = testing::capture(|| trace!("job", "app.tenant" = "acme", {}));
/// assert_eq!(testing::snapshot_with(&spans, &["app.tenant"]), "job app.tenant=acme\n");
/// ```
pub fn snapshot_with(spans: &[SpanData], extra_keys: &[&str]) -> String {
    let tree = SpanTree::new(spans);
    let mut out = String::new();
    tree.walk(usize::MAX / 4, |i, prefix, _| {
        let parent = tree.parent(i).map(|p| &spans[p]);
        let _ = writeln!(out, "{prefix}{}", line(&spans[i], parent, extra_keys));
    });
    out
}

fn line(span: &SpanData, parent: Option<&SpanData>, extra_keys: &[&str]) -> String {
    let mut text = span.name.to_string();
    match span.span_kind {
        SpanKind::Internal => {}
        SpanKind::Client => text.push_str(" [client]"),
        SpanKind::Server => text.push_str(" [server]"),
        SpanKind::Producer => text.push_str(" [producer]"),
        SpanKind::Consumer => text.push_str(" [consumer]"),
    }
    if let Status::Error { description } = &span.status {
        let _ = write!(text, " ERROR({description})");
    }
    let inherited = |kv: &KeyValue| parent.is_some_and(|p| p.attributes.iter().any(|a| a == kv));
    for key in SNAPSHOT_KEYS.iter().chain(extra_keys) {
        let Some(kv) = span.attributes.iter().find(|kv| kv.key.as_str() == *key) else { continue };
        if crate::span::association::BUILT_IN.contains(key) && inherited(kv) {
            continue;
        }
        let value = match &kv.value {
            Value::String(s) => s.as_str().to_string(),
            other => other.to_string(),
        };
        let _ = write!(text, " {key}={value}");
    }
    text
}
