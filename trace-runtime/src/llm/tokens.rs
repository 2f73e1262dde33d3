//! Token ledgers: what each trace, and the whole process, spent per (provider, model).
//!
//! Spans add nothing to a ledger on the application's threads: [`record_usage`](crate::record_usage)
//! only adds to the span's own record. The export worker reads every finished span that recorded
//! usage, prices it ([`cost`](crate::cost)) and adds it to the ledger of its trace and, for spans
//! bound for the exporters, to the process-wide ledger. Spans of a
//! [`testing::capture`](crate::testing::capture) feed their trace's ledger but never the global
//! one, so tests running side by side do not see each other's tokens.
//!
//! The provider is the span's `gen_ai.provider.name`, the model its `gen_ai.response.model` or,
//! failing that, `gen_ai.request.model` (`"unknown"` when missing).
//!
//! ```
//! use trace_runtime::{record_usage, testing, tokens, trace, trace_llm, Usage};
//!
//! #[trace_llm(provider = "openai", model = "gpt-4o-mini")]
//! fn ask() {
//!     record_usage(Usage { input_tokens: 1_000, output_tokens: 200, ..Default::default() });
//! }
//!
//! let (ledger, _spans) = testing::capture(|| trace!("turn", {
//!     ask();
//!     ask();
//!     tokens::current_trace() // waits for the worker to have seen both calls
//! }));
//! let entry = &ledger.entries()[0];
//! assert_eq!((entry.provider.as_str(), entry.model.as_str(), entry.calls), ("openai", "gpt-4o-mini", 2));
//! assert_eq!(entry.usage.input_tokens, 2_000);
//! assert!((ledger.total_cost().unwrap() - 0.00054).abs() < 1e-12);
//! ```

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use opentelemetry::trace::TraceId;
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;

use crate::record::usage::Usage;

/// What one (provider, model) pair spent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LedgerEntry {
    /// `gen_ai.provider.name` of the calls.
    pub provider: String,
    /// Model of the calls (the response's model when known).
    pub model: String,
    /// Spans that recorded usage.
    pub calls: u64,
    /// Their tokens, summed.
    pub usage: Usage,
    /// US dollars of the priced calls.
    pub cost: f64,
    /// Calls whose model has no price: their tokens are counted, their cost is unknown.
    pub unpriced_calls: u64,
}

impl LedgerEntry {
    /// The cost in US dollars, `None` if any call was unpriced (never a made-up $0).
    ///
    /// ```
    /// let entry = trace_runtime::tokens::LedgerEntry { calls: 1, unpriced_calls: 1, ..Default::default() };
    /// assert_eq!(entry.cost(), None);
    /// ```
    pub fn cost(&self) -> Option<f64> {
        (self.unpriced_calls == 0).then_some(self.cost)
    }
}

/// Token counts and costs per (provider, model), in the order models were first seen.
///
/// ```
/// use trace_runtime::{tokens::Ledger, Usage};
///
/// let mut ledger = Ledger::default();
/// let usage = Usage { input_tokens: 10, output_tokens: 5, ..Default::default() };
/// ledger.add("openai", "gpt-4o", usage, Some(0.001));
/// ledger.add("acme", "house-model", usage, None);
/// assert_eq!(ledger.calls(), 2);
/// assert_eq!(ledger.usage().input_tokens, 20);
/// assert_eq!(ledger.total_cost(), None); // one model is unpriced
/// assert_eq!(ledger.priced_cost(), 0.001);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ledger {
    entries: Vec<LedgerEntry>,
}

impl Ledger {
    /// Adds one call: its usage and its cost (`None`: the model is unpriced).
    pub fn add(&mut self, provider: &str, model: &str, usage: Usage, cost: Option<f64>) {
        let index = match self.entries.iter().position(|e| e.provider == provider && e.model == model) {
            Some(i) => i,
            None => {
                self.entries.push(LedgerEntry {
                    provider: provider.to_string(),
                    model: model.to_string(),
                    ..Default::default()
                });
                self.entries.len() - 1
            }
        };
        let entry = &mut self.entries[index];
        entry.calls += 1;
        entry.usage += usage;
        match cost {
            Some(c) => entry.cost = crate::llm::cost::add_dollars(entry.cost, c),
            None => entry.unpriced_calls += 1,
        }
    }

    /// Adds every entry of `other`.
    pub fn merge(&mut self, other: &Ledger) {
        for e in &other.entries {
            match self.entries.iter_mut().find(|m| m.provider == e.provider && m.model == e.model) {
                Some(mine) => {
                    mine.calls += e.calls;
                    mine.usage += e.usage;
                    mine.cost = crate::llm::cost::add_dollars(mine.cost, e.cost);
                    mine.unpriced_calls += e.unpriced_calls;
                }
                None => self.entries.push(e.clone()),
            }
        }
    }

    /// One entry per (provider, model), in the order first seen.
    pub fn entries(&self) -> &[LedgerEntry] {
        &self.entries
    }

    /// The entry of `model` (any provider), if it was called.
    pub fn model(&self, model: &str) -> Option<&LedgerEntry> {
        self.entries.iter().find(|e| e.model == model)
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Calls of every model.
    pub fn calls(&self) -> u64 {
        self.entries.iter().map(|e| e.calls).sum()
    }

    /// Tokens of every model.
    pub fn usage(&self) -> Usage {
        self.entries.iter().fold(Usage::ZERO, |sum, e| sum + e.usage)
    }

    /// US dollars of every call, `None` if any call was unpriced.
    pub fn total_cost(&self) -> Option<f64> {
        (!self.has_unpriced()).then(|| self.priced_cost())
    }

    /// US dollars of the priced calls only.
    pub fn priced_cost(&self) -> f64 {
        self.entries.iter().fold(0.0, |sum, e| crate::llm::cost::add_dollars(sum, e.cost))
    }

    /// Whether some call's model has no price.
    pub fn has_unpriced(&self) -> bool {
        self.entries.iter().any(|e| e.unpriced_calls > 0)
    }

    /// The ledger of exported or captured spans, from their attributes (`gen_ai.usage.*`,
    /// `gen_ai.usage.cost`): what a [`testing::capture`](crate::testing::capture) returned adds
    /// up the same way the worker's ledgers do.
    ///
    /// ```
    /// use trace_runtime::{record_usage, testing, tokens::Ledger, trace_llm, Usage};
    ///
    /// #[trace_llm(provider = "anthropic", model = "claude-3-5-haiku-20241022")]
    /// fn ask() { record_usage(Usage { input_tokens: 100, output_tokens: 10, ..Default::default() }); }
    ///
    /// let (_, spans) = testing::capture(|| { ask(); ask(); });
    /// let ledger = Ledger::from_spans(&spans);
    /// assert_eq!(ledger.model("claude-3-5-haiku-20241022").unwrap().calls, 2);
    /// ```
    pub fn from_spans(spans: &[SpanData]) -> Ledger {
        let mut ledger = Ledger::default();
        for span in spans {
            let attrs = &span.attributes;
            let int = |key: &str| match find(attrs, key) {
                Some(Value::I64(n)) => u64::try_from(*n).unwrap_or(0),
                _ => 0,
            };
            if find(attrs, "gen_ai.usage.input_tokens").is_none() {
                continue;
            }
            let usage = Usage {
                input_tokens: int("gen_ai.usage.input_tokens"),
                output_tokens: int("gen_ai.usage.output_tokens"),
                cache_read_tokens: int("gen_ai.usage.cache_read.input_tokens"),
                cache_write_tokens: int("gen_ai.usage.cache_write.input_tokens"),
                reasoning_tokens: int("gen_ai.usage.reasoning.output_tokens"),
            };
            let cost = match find(attrs, crate::keys::gen_ai::usage::cost.name()) {
                Some(Value::F64(c)) => Some(*c),
                _ => None,
            };
            let (provider, model) = provider_model(attrs.iter().map(|kv| (kv.key.as_str(), &kv.value)));
            ledger.add(&provider, &model, usage, cost);
        }
        ledger
    }
}

fn find<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attrs.iter().rev().find(|kv| kv.key.as_str() == key).map(|kv| &kv.value)
}

/// The ledger key of a span: provider and (response, else request) model.
pub(crate) fn provider_model<'a>(attrs: impl Iterator<Item = (&'a str, &'a Value)>) -> (String, String) {
    let (mut provider, mut request, mut response) = (None, None, None);
    for (key, value) in attrs {
        match key {
            "gen_ai.provider.name" => provider = Some(value.as_str()),
            "gen_ai.request.model" => request = Some(value.as_str()),
            "gen_ai.response.model" => response = Some(value.as_str()),
            _ => {}
        }
    }
    let unknown = || "unknown".to_string();
    (
        provider.map_or_else(unknown, |p| p.into_owned()),
        response.or(request).map_or_else(unknown, |m| m.into_owned()),
    )
}

/// Ledgers of recent traces kept for [`trace`] and [`current_trace`].
const KEPT_TRACES: usize = 4096;

#[derive(Default)]
pub(crate) struct Store {
    pub(crate) global: Ledger,
    traces: HashMap<u128, Ledger>,
    order: VecDeque<u128>,
}

impl Store {
    pub(crate) fn trace_mut(&mut self, trace_id: u128) -> &mut Ledger {
        if !self.traces.contains_key(&trace_id) {
            if self.order.len() >= KEPT_TRACES
                && let Some(old) = self.order.pop_front()
            {
                self.traces.remove(&old);
            }
            self.order.push_back(trace_id);
        }
        self.traces.entry(trace_id).or_default()
    }

    pub(crate) fn trace(&self, trace_id: u128) -> Option<&Ledger> {
        self.traces.get(&trace_id)
    }
}

pub(crate) fn store() -> MutexGuard<'static, Store> {
    static STORE: OnceLock<Mutex<Store>> = OnceLock::new();
    STORE.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner())
}

/// How long a read waits for the export worker to catch up.
const SYNC_TIMEOUT: Duration = Duration::from_secs(5);

/// Makes the worker process everything this thread recorded so far.
pub(crate) fn sync() {
    crate::span::thread_state::flush_thread();
    crate::pipeline::flush(false, SYNC_TIMEOUT);
}

/// The ledger of the current trace so far: the LLM spans of this trace that have ended. Waits
/// (up to 5 s) for the export worker to see what this thread recorded; call it off the hot path.
/// Empty outside a trace. See the [module example](self).
pub fn current_trace() -> Ledger {
    let trace_id = crate::span::thread_state::current().trace_id;
    if trace_id == 0 {
        return Ledger::default();
    }
    sync();
    store().trace(trace_id).cloned().unwrap_or_default()
}

/// The ledger of the trace `trace_id` (one of the last 4096 traces that used tokens), waiting
/// for the worker as [`current_trace`] does.
///
/// ```
/// use trace_runtime::{record_usage, span, testing, tokens, trace, Usage};
///
/// let (id, _) = testing::capture(|| trace!("turn", {
///     trace!("llm", { record_usage(Usage { input_tokens: 5, ..Default::default() }) });
///     span::trace_id().unwrap()
/// }));
/// assert_eq!(tokens::trace(id).unwrap().usage().input_tokens, 5);
/// ```
pub fn trace(trace_id: TraceId) -> Option<Ledger> {
    sync();
    store().trace(u128::from_be_bytes(trace_id.to_bytes())).cloned()
}

/// The process-wide ledger: every exported trace since start (or [`reset`]). Spans of
/// [`testing::capture`](crate::testing::capture) are not in it.
///
/// ```rust,standalone_crate
/// use trace_runtime::{record_usage, tokens, trace, Usage, Config, config::Exporter};
///
/// let guard = trace_runtime::init_with(Config::builder().exporter(Exporter::None).build()).unwrap();
/// trace!("job", { record_usage(Usage { output_tokens: 7, ..Default::default() }) });
/// assert_eq!(tokens::global().usage().output_tokens, 7);
/// tokens::reset();
/// assert!(tokens::global().is_empty());
/// # drop(guard);
/// ```
pub fn global() -> Ledger {
    sync();
    store().global.clone()
}

/// Empties the process-wide ledger and forgets the ledgers of past traces.
pub fn reset() {
    sync();
    let mut store = store();
    store.global = Ledger::default();
    store.traces.clear();
    store.order.clear();
}
