//! What one telemetry batch holds, and the in-memory aggregate it is taken from.
//!
//! Events are folded into counters keyed by their labels; a batch carries counts, never single
//! events. Every label is a checked `&'static str` ([`super::label`]), so the payload's types
//! themselves cannot hold a message, a path or an address.

use std::collections::HashMap;

use serde::Serialize;

use super::label::{self, REDACTED};

/// The payload's format; changes only with a new version.
///
/// ```
/// assert_eq!(trace_runtime::telemetry::Payload::example().schema, trace_runtime::telemetry::SCHEMA);
/// ```
pub const SCHEMA: &str = "trace-runtime.telemetry.v1";

/// Distinct keys kept per counter table between two batches; events with new keys past it are
/// dropped and counted, so the aggregate stays small whatever the labels.
pub(crate) const MAX_KEYS: usize = 256;

/// The Rust compiler that built the kit, read by `build.rs`.
///
/// ```
/// assert!(trace_runtime::telemetry::RUST_VERSION.starts_with("1."));
/// ```
pub const RUST_VERSION: &str = env!("TRACE_RUNTIME_RUSTC_VERSION");

/// One batch of anonymous counters, as sent (JSON) to `TRACE_TELEMETRY_ENDPOINT` or handed to a
/// [`TelemetrySink`](super::TelemetrySink). These fields are everything that is sent.
///
/// ```
/// use trace_runtime::telemetry::Payload;
///
/// let json = serde_json::to_value(Payload::example()).unwrap();
/// let fields: Vec<&str> = json.as_object().unwrap().keys().map(|k| k.as_str()).collect();
/// assert_eq!(fields, ["agent_runs", "arch", "errors", "features", "kit_version", "os",
///                     "rust_version", "schema", "sequence", "session_id"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Payload {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// 32 random hex digits drawn once per process; not derived from the machine or the user.
    pub session_id: String,
    /// Batches sent before this one in this session: lets a receiver drop a duplicate.
    pub sequence: u64,
    /// This crate's version.
    pub kit_version: &'static str,
    /// The compiler version that built it, such as `1.95.0`.
    pub rust_version: &'static str,
    /// `std::env::consts::OS`, such as `linux`.
    pub os: &'static str,
    /// `std::env::consts::ARCH`, such as `x86_64`.
    pub arch: &'static str,
    /// Agent runs, counted per agent type, framework and outcome.
    pub agent_runs: Vec<AgentRunCount>,
    /// Uses of named features.
    pub features: Vec<FeatureCount>,
    /// Errors, counted per error type and component.
    pub errors: Vec<ErrorCount>,
}

/// Agent runs with the same agent type, framework and outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AgentRunCount {
    /// The agent type label.
    pub agent_type: &'static str,
    /// The framework label.
    pub framework: &'static str,
    /// Whether these runs succeeded.
    pub success: bool,
    /// How many runs.
    pub count: u64,
    /// Their summed duration in milliseconds.
    pub total_duration_ms: u64,
    /// The longest of them in milliseconds.
    pub max_duration_ms: u64,
}

/// Uses of one feature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FeatureCount {
    /// The feature label.
    pub name: &'static str,
    /// How many uses.
    pub count: u64,
}

/// Errors of one type in one component.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ErrorCount {
    /// The error type label (a type name, never its message).
    pub error_type: &'static str,
    /// The component label.
    pub component: &'static str,
    /// How many errors.
    pub count: u64,
}

impl Payload {
    /// A payload with one entry of each kind, showing the format.
    ///
    /// ```
    /// let p = trace_runtime::telemetry::Payload::example();
    /// assert_eq!((p.agent_runs.len(), p.features.len(), p.errors.len()), (1, 1, 1));
    /// assert_eq!(p.errors[0].error_type, "TimeoutError");
    /// ```
    pub fn example() -> Payload {
        let mut aggregate = Aggregate::default();
        aggregate.add(Event::Run {
            agent_type: "simple",
            framework: "rig",
            success: true,
            duration_ms: 1234,
        });
        aggregate.add(Event::Feature("multimodal"));
        aggregate.add(Event::Error { error_type: "TimeoutError", component: "agent.simple" });
        aggregate.take("0123456789abcdef0123456789abcdef".into(), 0)
    }
}

/// One call of the telemetry API, as queued: `Copy`, no heap.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Event {
    Run { agent_type: &'static str, framework: &'static str, success: bool, duration_ms: u64 },
    Feature(&'static str),
    Error { error_type: &'static str, component: &'static str },
}

#[derive(Default, Clone, Copy)]
struct RunStats {
    count: u64,
    total_ms: u64,
    max_ms: u64,
}

/// Counters since the last batch.
#[derive(Default)]
pub(crate) struct Aggregate {
    runs: HashMap<(&'static str, &'static str, bool), RunStats>,
    features: HashMap<&'static str, u64>,
    errors: HashMap<(&'static str, &'static str), u64>,
    /// Labels replaced by [`REDACTED`] since the process started.
    pub(crate) redacted: u64,
}

/// What [`Aggregate::add`] did with an event.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Added {
    Counted,
    /// A table already held [`MAX_KEYS`] other keys.
    Full,
}

impl Aggregate {
    pub(crate) fn add(&mut self, event: Event) -> Added {
        match event {
            Event::Run { agent_type, framework, success, duration_ms } => {
                let key = (self.label(agent_type), self.label(framework), success);
                if !self.runs.contains_key(&key) && self.runs.len() >= MAX_KEYS {
                    return Added::Full;
                }
                let stats = self.runs.entry(key).or_default();
                stats.count += 1;
                stats.total_ms = stats.total_ms.saturating_add(duration_ms);
                stats.max_ms = stats.max_ms.max(duration_ms);
            }
            Event::Feature(name) => {
                let key = self.label(name);
                if !self.features.contains_key(key) && self.features.len() >= MAX_KEYS {
                    return Added::Full;
                }
                *self.features.entry(key).or_default() += 1;
            }
            Event::Error { error_type, component } => {
                let key = (self.label(error_type), self.label(component));
                if !self.errors.contains_key(&key) && self.errors.len() >= MAX_KEYS {
                    return Added::Full;
                }
                *self.errors.entry(key).or_default() += 1;
            }
        }
        Added::Counted
    }

    fn label(&mut self, label: &'static str) -> &'static str {
        label::check(label).unwrap_or_else(|| {
            self.redacted += 1;
            REDACTED
        })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.runs.is_empty() && self.features.is_empty() && self.errors.is_empty()
    }

    /// Events counted since the last batch.
    pub(crate) fn events(&self) -> u64 {
        self.runs.values().map(|s| s.count).sum::<u64>()
            + self.features.values().sum::<u64>()
            + self.errors.values().sum::<u64>()
    }

    /// The counters as a batch (sorted, so equal counts give equal payloads); the aggregate is
    /// left empty.
    pub(crate) fn take(&mut self, session_id: String, sequence: u64) -> Payload {
        let mut agent_runs: Vec<AgentRunCount> = self
            .runs
            .drain()
            .map(|((agent_type, framework, success), s)| AgentRunCount {
                agent_type,
                framework,
                success,
                count: s.count,
                total_duration_ms: s.total_ms,
                max_duration_ms: s.max_ms,
            })
            .collect();
        agent_runs.sort_by_key(|r| (r.agent_type, r.framework, r.success));
        let mut features: Vec<FeatureCount> =
            self.features.drain().map(|(name, count)| FeatureCount { name, count }).collect();
        features.sort_by_key(|f| f.name);
        let mut errors: Vec<ErrorCount> = self
            .errors
            .drain()
            .map(|((error_type, component), count)| ErrorCount { error_type, component, count })
            .collect();
        errors.sort_by_key(|e| (e.error_type, e.component));
        Payload {
            schema: SCHEMA,
            session_id,
            sequence,
            kit_version: env!("CARGO_PKG_VERSION"),
            rust_version: RUST_VERSION,
            os: std::env::consts::OS,
            arch: std::env::consts::ARCH,
            agent_runs,
            features,
            errors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_counted_per_key() {
        let mut a = Aggregate::default();
        for ms in [100, 300] {
            a.add(Event::Run { agent_type: "simple", framework: "rig", success: true, duration_ms: ms });
        }
        a.add(Event::Run { agent_type: "simple", framework: "rig", success: false, duration_ms: 50 });
        a.add(Event::Feature("voice"));
        a.add(Event::Feature("voice"));
        a.add(Event::Error { error_type: "/etc/passwd", component: "agent" });
        assert_eq!(a.events(), 6);
        let p = a.take("s".into(), 7);
        assert!(a.is_empty());
        assert_eq!(p.sequence, 7);
        assert_eq!(p.agent_runs.len(), 2);
        let ok = &p.agent_runs[1];
        assert_eq!((ok.success, ok.count, ok.total_duration_ms, ok.max_duration_ms), (true, 2, 400, 300));
        assert_eq!(p.features, vec![FeatureCount { name: "voice", count: 2 }]);
        assert_eq!(p.errors[0].error_type, REDACTED);
        assert_eq!(a.redacted, 1);
    }

    #[test]
    fn the_aggregate_is_bounded() {
        let mut a = Aggregate::default();
        let names: Vec<&'static str> =
            (0..MAX_KEYS + 1).map(|i| &*Box::leak(format!("f{i}").into_boxed_str())).collect();
        for name in &names[..MAX_KEYS] {
            assert_eq!(a.add(Event::Feature(name)), Added::Counted);
        }
        assert_eq!(a.add(Event::Feature(names[MAX_KEYS])), Added::Full);
        assert_eq!(a.add(Event::Feature(names[0])), Added::Counted, "known keys still count");
    }
}
