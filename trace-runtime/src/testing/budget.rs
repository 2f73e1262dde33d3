//! Budget assertions over captured spans: cost, tokens per model, calls, latency of a named span.
//! Each fails with a message that lists the spans over the budget, so a regression in an agent's
//! spending or speed shows in `cargo test` with what caused it.

use std::fmt::Write as _;
use std::time::Duration;

use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;

use crate::llm::summary::Activity;
use crate::llm::tokens::Ledger;

/// Assertions over the spans of a [`capture`](super::capture); made by [`budget`].
///
/// ```
/// use std::time::Duration;
/// use trace_runtime::{record_usage, testing, trace_agent, trace_llm, Usage};
///
/// #[trace_llm(provider = "openai", model = "gpt-4o-mini")]
/// fn ask() {
///     record_usage(Usage { input_tokens: 1200, output_tokens: 300, ..Default::default() });
/// }
///
/// #[trace_agent(name = "planner")]
/// fn plan() { ask(); ask(); }
///
/// let (_, spans) = testing::capture(plan);
/// testing::budget(&spans)
///     .total_cost_at_most(0.01)
///     .tokens_at_most("gpt-4o-mini", 4000)
///     .llm_calls_at_most(2)
///     .no_failed_calls()
///     .latency_at_most("invoke_agent planner", Duration::from_secs(1));
///
/// let over = std::panic::catch_unwind(|| { testing::budget(&spans).tokens_at_most("gpt-4o-mini", 2000); });
/// let message = *over.unwrap_err().downcast::<String>().unwrap();
/// assert!(message.contains("gpt-4o-mini used 3000 tokens, over the budget of 2000"), "{message}");
/// assert!(message.contains("chat gpt-4o-mini: 1200 in + 300 out"), "{message}");
/// ```
pub struct Budget<'a> {
    spans: &'a [SpanData],
}

/// Budget assertions over `spans`.
pub fn budget(spans: &[SpanData]) -> Budget<'_> {
    Budget { spans }
}

impl Budget<'_> {
    /// The trace's total cost in US dollars (priced models: `gen_ai.usage.cost`) is at most `usd`.
    ///
    /// ```
    /// trace_runtime::testing::budget(&[]).total_cost_at_most(0.0); // no spans: within every budget
    /// ```
    #[track_caller]
    pub fn total_cost_at_most(&self, usd: f64) -> &Self {
        let ledger = Ledger::from_spans(self.spans);
        let total = ledger.priced_cost();
        if total > usd {
            let lines = self.list(|s| cost(s).map(|c| format!("${c:.7}")));
            fail(format!("the spans cost ${total:.7}, over the budget of ${usd:.7}; by span:\n{lines}"));
        }
        self
    }

    /// The calls to `model` used at most `tokens` tokens (input and output).
    ///
    /// ```
    /// trace_runtime::testing::budget(&[]).tokens_at_most("gpt-4o", 0); // no spans: within every budget
    /// ```
    #[track_caller]
    pub fn tokens_at_most(&self, model: &str, tokens: u64) -> &Self {
        let used = Ledger::from_spans(self.spans).model(model).map_or(0, |e| e.usage.total_tokens());
        if used > tokens {
            let lines = self.list(|s| {
                let model_of = |k: &str| attr(s, k).map(|v| v.as_str().into_owned());
                let matches = model_of("gen_ai.response.model").or_else(|| model_of("gen_ai.request.model"));
                let n = |k: &str| match attr(s, k) {
                    Some(Value::I64(n)) => *n,
                    _ => 0,
                };
                (matches.as_deref() == Some(model)).then(|| {
                    format!("{} in + {} out", n("gen_ai.usage.input_tokens"), n("gen_ai.usage.output_tokens"))
                })
            });
            fail(format!("{model} used {used} tokens, over the budget of {tokens}; by span:\n{lines}"));
        }
        self
    }

    /// At most `calls` LLM calls (GenAI spans other than tools and agents).
    ///
    /// ```
    /// trace_runtime::testing::budget(&[]).llm_calls_at_most(0); // no spans: within every budget
    /// ```
    #[track_caller]
    pub fn llm_calls_at_most(&self, calls: u64) -> &Self {
        self.calls_at_most(calls, "LLM calls", |a| a.llm_calls)
    }

    /// At most `calls` tool calls (`execute_tool` spans).
    ///
    /// ```
    /// trace_runtime::testing::budget(&[]).tool_calls_at_most(0); // no spans: within every budget
    /// ```
    #[track_caller]
    pub fn tool_calls_at_most(&self, calls: u64) -> &Self {
        self.calls_at_most(calls, "tool calls", |a| a.tool_calls)
    }

    #[track_caller]
    fn calls_at_most(&self, calls: u64, what: &str, count: impl Fn(&Activity) -> u64) -> &Self {
        let n = count(&self.activity());
        if n > calls {
            let lines = self.list(|s| (count(&Activity::of(s)) > 0).then(String::new));
            fail(format!("{n} {what}, over the budget of {calls}:\n{lines}"));
        }
        self
    }

    /// No LLM, tool or agent span ended with status Error.
    ///
    /// ```
    /// trace_runtime::testing::budget(&[]).no_failed_calls(); // no spans: within every budget
    /// ```
    #[track_caller]
    pub fn no_failed_calls(&self) -> &Self {
        if self.activity().failed_calls > 0 {
            let lines = self.list(|s| {
                (Activity::of(s).failed_calls > 0).then(|| match &s.status {
                    opentelemetry::trace::Status::Error { description } => format!("error: {description}"),
                    _ => String::new(),
                })
            });
            fail(format!("GenAI calls failed:\n{lines}"));
        }
        self
    }

    /// Every span named `name` took at most `limit`; there must be one at least.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (_, spans) = trace_runtime::testing::capture(|| trace_runtime::trace!("step", {}));
    /// trace_runtime::testing::budget(&spans).latency_at_most("step", Duration::from_secs(5));
    /// ```
    #[track_caller]
    pub fn latency_at_most(&self, name: &str, limit: Duration) -> &Self {
        let named: Vec<&SpanData> = self.spans.iter().filter(|s| s.name == name).collect();
        if named.is_empty() {
            let names: Vec<&str> = self.spans.iter().map(|s| s.name.as_ref()).collect();
            fail(format!("no span named {name:?} to time; the spans are {names:?}"));
        }
        let slow: Vec<String> = named
            .iter()
            .filter(|s| duration(s) > limit)
            .map(|s| format!("  {} took {:?} (span {})", s.name, duration(s), s.span_context.span_id()))
            .collect();
        if !slow.is_empty() {
            fail(format!("{name:?} over its latency budget of {limit:?}:\n{}", slow.join("\n")));
        }
        self
    }

    fn activity(&self) -> Activity {
        let mut activity = Activity::default();
        for span in self.spans {
            activity.add(Activity::of(span));
        }
        activity
    }

    /// The spans `f` says something about, one per line: name, what `f` said, span id.
    fn list(&self, f: impl Fn(&SpanData) -> Option<String>) -> String {
        let mut out = String::new();
        for span in self.spans {
            if let Some(what) = f(span) {
                let sep = if what.is_empty() { "" } else { ": " };
                let _ = writeln!(out, "  {}{sep}{what} (span {})", span.name, span.span_context.span_id());
            }
        }
        out
    }
}

#[track_caller]
fn fail(message: String) -> ! {
    panic!("{message}")
}

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| &kv.value)
}

fn cost(span: &SpanData) -> Option<f64> {
    match attr(span, crate::keys::gen_ai::usage::cost.name()) {
        Some(Value::F64(c)) => Some(*c),
        _ => None,
    }
}

fn duration(span: &SpanData) -> Duration {
    span.end_time.duration_since(span.start_time).unwrap_or_default()
}
