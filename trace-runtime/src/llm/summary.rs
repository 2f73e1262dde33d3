//! The summary of a finished trace: its name, span count, duration, and per model the calls,
//! tokens and cost, as a value and as an 80-column box table.
//!
//! When a root span (a span with no parent in this process: a new trace, or one continued
//! from an incoming `traceparent`) is exported and the
//! summary is on, the export worker prints the table to standard error, after the exporters got
//! the trace. It is on by default when the `stdout` exporter is configured, and set with
//! `TRACE_SUMMARY=true|false` or [`ConfigBuilder::summary`](crate::ConfigBuilder::summary). Spans
//! that end after their root (a task left running) are not in it.
//!
//! ```
//! use std::time::Duration;
//! use trace_runtime::{summary::TraceSummary, tokens::Ledger, Usage};
//!
//! let mut ledger = Ledger::default();
//! let usage = Usage { input_tokens: 31, output_tokens: 27, ..Default::default() };
//! ledger.add("openai", "gpt-4o-mini", usage, Some(0.0000209));
//! let summary = TraceSummary {
//!     name: "answer_question".into(),
//!     spans: 4,
//!     duration: Duration::from_millis(2450),
//!     ledger,
//!     llm_calls: 1,
//!     tool_calls: 2,
//!     failed_calls: 0,
//! };
//! assert_eq!(summary.to_string(), "\
//! ╭─ Trace summary: answer_question ─────────────────────────────────────────────╮
//! │ spans 4 · duration 2.45 s · 1 LLM call · 2 tool calls · cost $0.0000209      │
//! │ model                  calls    input   output   cached reasoning       cost │
//! │ gpt-4o-mini                1       31       27        0         0 $0.0000209 │
//! │ total                      1       31       27        0         0 $0.0000209 │
//! ╰──────────────────────────────────────────────────────────────────────────────╯
//! ");
//! ```

use std::fmt;
use std::time::Duration;

use opentelemetry::trace::TraceId;
use opentelemetry_sdk::trace::SpanData;

pub use crate::llm::conversation::{ConversationSummary, StageStats};
use crate::llm::tokens::{Ledger, LedgerEntry};
use crate::record::usage::Usage;

/// What a trace did: spans, time, and tokens and cost per (provider, model).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TraceSummary {
    /// Name of the root span.
    pub name: String,
    /// Spans of the trace that ended before or with the root.
    pub spans: u64,
    /// The root span's duration.
    pub duration: Duration,
    /// Tokens and cost per (provider, model).
    pub ledger: Ledger,
    /// LLM calls (GenAI spans other than tools and agents), failed ones and those that
    /// recorded no usage included.
    pub llm_calls: u64,
    /// Tool calls (`execute_tool` spans).
    pub tool_calls: u64,
    /// GenAI spans (LLM calls, tools, agents) that ended with status Error.
    pub failed_calls: u64,
}

/// What a span counts for in a summary, from its `gen_ai.operation.name` and status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Activity {
    pub(crate) llm_calls: u64,
    pub(crate) tool_calls: u64,
    pub(crate) failed_calls: u64,
}

impl Activity {
    pub(crate) fn of(span: &SpanData) -> Activity {
        let operation = span
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == "gen_ai.operation.name")
            .map(|kv| kv.value.as_str());
        let Some(operation) = operation else { return Activity::default() };
        let failed = matches!(span.status, opentelemetry::trace::Status::Error { .. });
        let (llm, tool) = match operation.as_ref() {
            "execute_tool" => (false, true),
            "invoke_agent" | "create_agent" => (false, false),
            _ => (true, false),
        };
        Activity { llm_calls: llm.into(), tool_calls: tool.into(), failed_calls: failed.into() }
    }

    pub(crate) fn add(&mut self, other: Activity) {
        self.llm_calls += other.llm_calls;
        self.tool_calls += other.tool_calls;
        self.failed_calls += other.failed_calls;
    }
}

impl TraceSummary {
    /// The summary of the spans of one trace, as exported or captured: the root is the span
    /// without a parent (or, failing that, the earliest).
    ///
    /// ```
    /// use trace_runtime::{record_usage, summary::TraceSummary, testing, trace, trace_llm, Usage};
    ///
    /// #[trace_llm(provider = "openai", model = "gpt-4o")]
    /// fn ask() { record_usage(Usage { input_tokens: 1000, output_tokens: 100, ..Default::default() }); }
    ///
    /// let (_, spans) = testing::capture(|| trace!("turn", { ask(); }));
    /// let summary = TraceSummary::from_spans(&spans);
    /// assert_eq!((summary.name.as_str(), summary.spans), ("turn", 2));
    /// assert!((summary.ledger.total_cost().unwrap() - 0.0035).abs() < 1e-12);
    /// assert!(summary.to_string().contains("│ gpt-4o "));
    /// ```
    pub fn from_spans(spans: &[SpanData]) -> TraceSummary {
        let root = spans
            .iter()
            .find(|s| s.parent_span_id == opentelemetry::trace::SpanId::INVALID)
            .or_else(|| spans.iter().min_by_key(|s| s.start_time));
        let mut activity = Activity::default();
        for span in spans {
            activity.add(Activity::of(span));
        }
        TraceSummary {
            name: root.map(|r| r.name.to_string()).unwrap_or_default(),
            spans: spans.len() as u64,
            duration: root
                .map_or(Duration::ZERO, |r| r.end_time.duration_since(r.start_time).unwrap_or_default()),
            ledger: Ledger::from_spans(spans),
            llm_calls: activity.llm_calls,
            tool_calls: activity.tool_calls,
            failed_calls: activity.failed_calls,
        }
    }

    /// The summary of a trace whose root has been exported (one of the last 256), waiting up to
    /// 5 s for the export worker to catch up with this thread.
    ///
    /// ```
    /// use trace_runtime::{span, summary::TraceSummary, testing, trace};
    ///
    /// let (id, _) = testing::capture(|| trace!("job", { span::trace_id().unwrap() }));
    /// assert_eq!(TraceSummary::of_trace(id).unwrap().name, "job");
    /// ```
    pub fn of_trace(trace_id: TraceId) -> Option<TraceSummary> {
        crate::llm::tokens::sync();
        crate::llm::stage::finished_summary(u128::from_be_bytes(trace_id.to_bytes()))
    }
}

/// Width of the box, borders included.
pub(super) const WIDTH: usize = 80;
/// Width of the model column.
const MODEL: usize = 22;

impl fmt::Display for TraceSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = WIDTH - 4;
        let title = format!("─ Trace summary: {} ", fit(&self.name, WIDTH - 20));
        writeln!(f, "╭{title}{}╮", "─".repeat((WIDTH - 2).saturating_sub(width(&title))))?;
        let llm_calls = self.llm_calls.max(self.ledger.calls());
        let mut head = format!("spans {} · duration {}", self.spans, duration(self.duration));
        let plural = |n: u64, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        if llm_calls == 0 && self.tool_calls == 0 {
            head.push_str(" · no LLM calls");
        }
        if llm_calls > 0 {
            head = format!("{head} · {}", plural(llm_calls, "LLM call"));
        }
        if self.tool_calls > 0 {
            head = format!("{head} · {}", plural(self.tool_calls, "tool call"));
        }
        if self.failed_calls > 0 {
            head = format!("{head} · {} failed", self.failed_calls);
        }
        // With the counts, the cost is the last item: `cost` is dropped when room runs short.
        let cost = match self.ledger.total_cost() {
            _ if self.ledger.is_empty() => None,
            Some(c) => Some(money(c)),
            None if self.ledger.priced_cost() > 0.0 => {
                Some(format!("{} + unpriced models", money(self.ledger.priced_cost())))
            }
            None => Some("unpriced".to_string()),
        };
        if let Some(cost) = cost {
            let long = format!("{head} · cost {cost}");
            head = if width(&long) <= inner { long } else { format!("{head} · {cost}") };
        }
        line(f, &fit(&head, inner))?;
        if self.ledger.is_empty() {
            return writeln!(f, "╰{}╯", "─".repeat(WIDTH - 2));
        }
        line(
            f,
            &format!(
                "{:<MODEL$} {:>5} {:>8} {:>8} {:>8} {:>9} {:>10}",
                "model", "calls", "input", "output", "cached", "reasoning", "cost"
            ),
        )?;
        for entry in self.ledger.entries() {
            line(f, &row(&entry.model, entry.calls, &entry.usage, &entry_cost(entry)))?;
        }
        let total_cost = match self.ledger.total_cost() {
            Some(c) => money(c),
            None if self.ledger.priced_cost() > 0.0 => format!("{}+?", money(self.ledger.priced_cost())),
            None => "unpriced".to_string(),
        };
        line(f, &row("total", self.ledger.calls(), &self.ledger.usage(), &total_cost))?;
        writeln!(f, "╰{}╯", "─".repeat(WIDTH - 2))
    }
}

fn entry_cost(entry: &LedgerEntry) -> String {
    match entry.cost() {
        Some(c) => money(c),
        None if entry.unpriced_calls < entry.calls => format!("{}+?", money(entry.cost)),
        None => "unpriced".to_string(),
    }
}

fn row(model: &str, calls: u64, u: &Usage, cost: &str) -> String {
    format!(
        "{:<MODEL$} {:>5} {:>8} {:>8} {:>8} {:>9} {:>10}",
        fit(model, MODEL),
        count(calls),
        count(u.input_tokens),
        count(u.output_tokens),
        count(u.cache_read_tokens),
        count(u.reasoning_tokens),
        cost
    )
}

pub(super) fn line(f: &mut fmt::Formatter<'_>, content: &str) -> fmt::Result {
    let pad = (WIDTH - 4).saturating_sub(width(content));
    writeln!(f, "│ {content}{} │", " ".repeat(pad))
}

pub(super) fn width(s: &str) -> usize {
    s.chars().count()
}

/// `s` cut to `max` characters, an ellipsis marking the cut.
pub(super) fn fit(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A token count in at most 8 columns.
fn count(n: u64) -> String {
    match n {
        0..=99_999_999 => n.to_string(),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

/// US dollars: four decimals from a cent up, three significant digits below.
fn money(c: f64) -> String {
    let decimals = if c >= 0.01 || c <= 0.0 { 4 } else { (-c.log10()).floor() as usize + 3 };
    // Rounded half up from the exact decimal the cost is (see `cost`), not from its binary
    // neighbour: $0.00002085 shows as $0.0000209.
    if c > 0.0 && decimals <= 12 {
        let step = 10u128.pow(12 - decimals as u32);
        let rounded = (crate::llm::cost::units(c) + step / 2) / step;
        let scale = 10u128.pow(decimals as u32);
        return format!("${}.{:0decimals$}", rounded / scale, rounded % scale);
    }
    format!("${c:.decimals$}")
}

pub(super) fn duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 1.0 {
        format!("{secs:.2} s")
    } else if secs >= 0.001 {
        format!("{:.1} ms", secs * 1e3)
    } else {
        format!("{} µs", d.as_micros())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, output: u64, cached: u64, reasoning: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            cache_read_tokens: cached,
            reasoning_tokens: reasoning,
            ..Default::default()
        }
    }

    #[test]
    fn several_models_an_unpriced_one_and_a_long_name_fit_80_columns() {
        let mut ledger = Ledger::default();
        ledger.add("openai", "gpt-4o", usage(1200, 300, 1000, 0), Some(0.00425));
        ledger.add("openai", "gpt-4o", usage(800, 100, 0, 0), Some(0.003));
        ledger.add(
            "anthropic",
            "claude-sonnet-4-20250514-extended-context",
            usage(5000, 2000, 0, 512),
            Some(0.045),
        );
        ledger.add("acme", "house-model", usage(10, 20, 0, 0), None);
        let summary = TraceSummary {
            name: "a very long trace name that goes on and on and on past the edge of the box".into(),
            spans: 12,
            duration: Duration::from_micros(1500),
            ledger,
            ..Default::default()
        };
        let text = summary.to_string();
        assert_eq!(
            text,
            "\
╭─ Trace summary: a very long trace name that goes on and on and on past the … ╮
│ spans 12 · duration 1.5 ms · 4 LLM calls · cost $0.0523 + unpriced models    │
│ model                  calls    input   output   cached reasoning       cost │
│ gpt-4o                     2     2000      400     1000         0   $0.00725 │
│ claude-sonnet-4-20250…     1     5000     2000        0       512    $0.0450 │
│ house-model                1       10       20        0         0   unpriced │
│ total                      4     7010     2420     1000       512  $0.0523+? │
╰──────────────────────────────────────────────────────────────────────────────╯
"
        );
        assert!(text.lines().all(|l| width(l) <= 80), "{text}");
    }

    #[test]
    fn a_trace_without_llm_calls_says_so() {
        let summary = TraceSummary {
            name: "idle".into(),
            spans: 1,
            duration: Duration::from_secs(3),
            ..Default::default()
        };
        assert_eq!(
            summary.to_string(),
            "\
╭─ Trace summary: idle ────────────────────────────────────────────────────────╮
│ spans 1 · duration 3.00 s · no LLM calls                                     │
╰──────────────────────────────────────────────────────────────────────────────╯
"
        );
    }

    #[test]
    fn a_trace_whose_only_llm_call_failed_counts_it() {
        let summary = TraceSummary {
            name: "turn".into(),
            spans: 3,
            duration: Duration::from_millis(20),
            llm_calls: 1,
            tool_calls: 1,
            failed_calls: 1,
            ..Default::default()
        };
        assert_eq!(
            summary.to_string().lines().nth(1),
            Some("│ spans 3 · duration 20.0 ms · 1 LLM call · 1 tool call · 1 failed             │")
        );
    }

    #[test]
    fn money_keeps_three_significant_digits_below_a_cent() {
        assert_eq!(money(0.0000209), "$0.0000209");
        assert_eq!(money(0.00425), "$0.00425");
        assert_eq!(money(1.5), "$1.5000");
        assert_eq!(money(0.0), "$0.0000");
        assert_eq!(count(123_456_789), "123.5M");
    }
}
