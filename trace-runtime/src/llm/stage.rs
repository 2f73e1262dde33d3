//! The LLM stage: what the export worker adds to each converted span (cost, token ledgers, the
//! OpenInference mirror, redaction and trace summaries).
//!
//! They run in that order, so redaction sees every string, mirrored ones included, and a summary
//! only the redacted name. Redaction reads the rules installed in [`redact`](crate::redact),
//! which the log drain shares.
//!
//! Settings come from `init` ([`configure`], resolved by [`config`](crate::config)); before it (or in a `testing::capture` without
//! it) the defaults apply: built-in redaction on, GenAI names only, no printed summary.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SpanData;

use crate::llm::conversation::{ConversationSummary, Turns};
use crate::llm::cost::{self, Price};
use crate::llm::summary::{Activity, TraceSummary};
use crate::llm::tokens;
use crate::pipeline::stage::Stage;
use crate::privacy::redact::Redactor;
use crate::record::{Record, flags};

/// Which attribute names LLM spans carry (`TRACE_SEMCONV`).
///
/// ```
/// use trace_runtime::config::Semconv;
///
/// assert_eq!("both".parse::<Semconv>(), Ok(Semconv::Both));
/// assert!("otel".parse::<Semconv>().is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Semconv {
    /// OpenTelemetry GenAI names only (`gen_ai.*`).
    #[default]
    GenAi,
    /// OpenInference names only (`llm.*`, `openinference.span.kind`): the `gen_ai.*` attributes
    /// are replaced.
    OpenInference,
    /// Both.
    Both,
}

impl std::str::FromStr for Semconv {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "genai" | "gen_ai" => Ok(Semconv::GenAi),
            "openinference" => Ok(Semconv::OpenInference),
            "both" => Ok(Semconv::Both),
            other => Err(format!("unknown convention `{other}`: expected genai, openinference or both")),
        }
    }
}

/// Resolved settings.
pub(crate) struct Options {
    pub(crate) summary: bool,
    pub(crate) semconv: Semconv,
    pub(crate) redactor: Redactor,
    pub(crate) prices: Option<HashMap<String, Price>>,
}

impl Default for Options {
    fn default() -> Self {
        Options { summary: false, semconv: Semconv::GenAi, redactor: Redactor::builtin(), prices: None }
    }
}

struct Active {
    summary: bool,
    semconv: Semconv,
}

fn active() -> &'static RwLock<Arc<Active>> {
    static ACTIVE: OnceLock<RwLock<Arc<Active>>> = OnceLock::new();
    ACTIVE.get_or_init(|| RwLock::new(Arc::new(Active { summary: false, semconv: Semconv::GenAi })))
}

/// Installs resolved settings (from `init`); the worker picks them up at its next drain.
pub(crate) fn configure(options: Options) {
    if let Some(prices) = options.prices {
        for (model, price) in prices {
            cost::set_price(model, price);
        }
    }
    crate::privacy::redact::install(options.redactor);
    let new = Arc::new(Active { summary: options.summary, semconv: options.semconv });
    *active().write().unwrap_or_else(|p| p.into_inner()) = new;
}

fn current() -> Arc<Active> {
    active().read().map_or_else(|p| p.into_inner().clone(), |a| a.clone())
}

/// Summaries of recently finished traces, for [`TraceSummary::of_trace`].
const KEPT_SUMMARIES: usize = 256;
/// Traces followed at once for their summary; past this the oldest is forgotten.
const OPEN_TRACES: usize = 16 * 1024;

fn summaries() -> std::sync::MutexGuard<'static, VecDeque<(u128, TraceSummary)>> {
    static SUMMARIES: OnceLock<Mutex<VecDeque<(u128, TraceSummary)>>> = OnceLock::new();
    SUMMARIES.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn finished_summary(trace_id: u128) -> Option<TraceSummary> {
    summaries().iter().rev().find(|(id, _)| *id == trace_id).map(|(_, s)| s.clone())
}

fn conversations() -> std::sync::MutexGuard<'static, VecDeque<(u128, ConversationSummary)>> {
    static CONVERSATIONS: Mutex<VecDeque<(u128, ConversationSummary)>> = Mutex::new(VecDeque::new());
    CONVERSATIONS.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn finished_conversation(trace_id: u128) -> Option<ConversationSummary> {
    conversations().iter().rev().find(|(id, _)| *id == trace_id).map(|(_, s)| s.clone())
}

/// Installs the LLM stage into the export pipeline; `init` and `testing` call it before any span
/// can start, so every span the worker converts goes through it.
pub(crate) fn install() {
    crate::pipeline::stage::install(|| Box::new(LlmStage::new()));
}

/// The worker's side: per-trace span counts and the summaries waiting to be printed.
struct LlmStage {
    settings: Arc<Active>,
    prices: Arc<HashMap<String, Price>>,
    /// Spans and GenAI calls per trace, for summaries: one lookup per span, so keyed without
    /// SipHash.
    spans: crate::record::ids::IdMap<u128, (u64, Activity)>,
    order: VecDeque<u128>,
    /// Turns per trace ([`crate::realtime::Turn`]), for the conversation summary.
    turns: crate::record::ids::IdMap<u128, Turns>,
    to_print: Vec<String>,
    /// The GenAI metrics' instruments, when a metric exporter is installed.
    #[cfg(feature = "metrics")]
    metrics: Option<Arc<crate::llm::metrics::Instruments>>,
    /// The redaction rules, with the strings they leave unchanged.
    scrub: crate::privacy::redact::Scrubber,
}

impl LlmStage {
    fn new() -> Self {
        LlmStage {
            settings: current(),
            prices: cost::snapshot(),
            spans: Default::default(),
            order: VecDeque::new(),
            turns: Default::default(),
            to_print: Vec::new(),
            #[cfg(feature = "metrics")]
            metrics: crate::llm::metrics::current(),
            scrub: crate::privacy::redact::Scrubber::new(),
        }
    }

    /// Counts the span in its trace; at the trace's root, builds the summary.
    fn count(&mut self, record: &Record, span: &SpanData, activity: Activity) {
        let trace = record.trace_id;
        let root = record.parent_id == 0 || record.flags & flags::REMOTE_PARENT != 0;
        let (n, activity) = match self.spans.get_mut(&trace) {
            Some((n, seen)) => {
                *n += 1;
                seen.add(activity);
                (*n, *seen)
            }
            None if root => (1, activity),
            None => {
                if self.order.len() >= OPEN_TRACES
                    && let Some(old) = self.order.pop_front()
                {
                    self.spans.remove(&old);
                    self.turns.remove(&old);
                }
                self.order.push_back(trace);
                self.spans.insert(trace, (1, activity));
                return;
            }
        };
        if !root {
            return;
        }
        self.spans.remove(&trace);
        let summary = TraceSummary {
            name: span.name.to_string(),
            spans: n,
            duration: span.end_time.duration_since(span.start_time).unwrap_or(Duration::ZERO),
            ledger: tokens::store().trace(trace).cloned().unwrap_or_default(),
            llm_calls: activity.llm_calls,
            tool_calls: activity.tool_calls,
            failed_calls: activity.failed_calls,
        };
        let print = self.settings.summary && record.sink == 0;
        if print {
            self.to_print.push(summary.to_string());
        }
        if let Some(turns) = self.turns.remove(&trace) {
            let conversation = turns.summary(summary.name.clone());
            if print {
                self.to_print.push(conversation.to_string());
            }
            let mut kept = conversations();
            if kept.len() >= KEPT_SUMMARIES {
                kept.pop_front();
            }
            kept.push_back((trace, conversation));
        }
        let mut kept = summaries();
        if kept.len() >= KEPT_SUMMARIES {
            kept.pop_front();
        }
        kept.push_back((trace, summary));
    }
}

impl Stage for LlmStage {
    /// Picks up settings and prices changed since the last drain.
    fn refresh(&mut self) {
        self.settings = current();
        self.scrub.refresh();
        self.prices = cost::snapshot();
        #[cfg(feature = "metrics")]
        {
            self.metrics = crate::llm::metrics::current();
        }
    }

    /// Notes a static string of the span being converted: redaction then knows it by address.
    #[inline]
    fn note_static(&mut self, text: &'static str) {
        self.scrub.note_static(text);
    }

    /// Adds cost, ledgers, the summary, the mirror and redaction to `span`, converted from
    /// `record`.
    fn process(&mut self, record: &Record, span: &mut SpanData) {
        // Before the OpenInference mirror, which may drop the GenAI names it reads.
        let activity = Activity::of(span);
        let mut breakdown = None;
        if let Some(&usage) = record.usage() {
            let (provider, model) =
                tokens::provider_model(span.attributes.iter().map(|kv| (kv.key.as_str(), &kv.value)));
            let price = cost::lookup(&self.prices, &model);
            let b = price.map(|p| p.breakdown(&usage));
            // A cost the application set itself (a provider that bills per call, say) is the
            // truth: the ledger takes it and the table's estimate is not added beside it.
            let cost_key = crate::keys::gen_ai::usage::cost.name();
            let set =
                span.attributes.iter().find(|kv| kv.key.as_str() == cost_key).and_then(|kv| match kv.value {
                    opentelemetry::Value::F64(v) => Some(v),
                    opentelemetry::Value::I64(v) => Some(v as f64),
                    _ => None,
                });
            let total = set.or(b.map(|b| b.total()));
            if let (None, Some(b)) = (set, b) {
                span.attributes.push(KeyValue::new(cost_key, b.total()));
            }
            let mut store = tokens::store();
            store.trace_mut(record.trace_id).add(&provider, &model, usage, total);
            if record.sink == 0 {
                store.global.add(&provider, &model, usage, total);
            }
            breakdown = b;
        }
        // Before the metrics (which read the interruption) and the mirror (which may drop the
        // GenAI names they read).
        let usage = record.usage();
        let cancelled = record.flags & flags::CANCELLED != 0;
        let turn = crate::realtime::turn::on_span(span, usage.map_or(0, |u| u.output_tokens), cancelled);
        #[cfg(feature = "metrics")]
        let call = match &self.metrics {
            Some(metrics) if record.sink == 0 => {
                if let Some(turn) = &turn {
                    metrics.record_turn(turn);
                }
                metrics.call(span, usage, cancelled)
            }
            _ => None,
        };
        if let Some(turn) = turn {
            self.turns.entry(record.trace_id).or_default().add(&turn);
        }
        match self.settings.semconv {
            Semconv::GenAi => {}
            Semconv::OpenInference => {
                crate::llm::openinference::mirror(span, record, breakdown);
                span.attributes.retain(|kv| !kv.key.as_str().starts_with("gen_ai."));
            }
            Semconv::Both => crate::llm::openinference::mirror(span, record, breakdown),
        }
        self.scrub.span(span);
        #[cfg(feature = "metrics")]
        if let (Some(metrics), Some(mut call)) = (&self.metrics, call) {
            // A metric point leaves the process like a span: scrubbed by the same rules.
            self.scrub.attributes(&mut call.attributes);
            metrics.record_call(call);
        }
        // After redaction: the summary keeps (and may print) the root's name.
        self.count(record, span, activity);
    }

    /// Prints the summaries of traces whose spans the exporters have just been given.
    fn after_export(&mut self) {
        if self.to_print.is_empty() {
            return;
        }
        let text: String = self.to_print.drain(..).collect();
        use std::io::Write;
        // The summary is a documented console output; a closed stderr is not worth a panic.
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }
}
