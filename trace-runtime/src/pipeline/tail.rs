//! Adaptive sampling's tail decision, on the export worker.
//!
//! With adaptive sampling on, a trace the head ratio rejected is still recorded, its spans marked
//! `SAMPLED_OUT`. Their spans wait here until the trace's local root arrives; the trace is then
//! kept whole if any of its spans errored or the root ran at least the slow threshold, and
//! dropped (counted as sampled out) otherwise. The buffer is bounded: past its capacity the
//! oldest waiting trace is dropped and counted. Spans arriving after their trace was decided
//! follow the decision, remembered for the most recent traces.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use opentelemetry::trace::{SpanId, Status, TraceId};
use opentelemetry_sdk::trace::SpanData;

/// Decisions remembered for spans that end after their trace's root (a detached task).
const REMEMBERED: usize = 16 * 1024;

/// What one call did with spans, for the pipeline's counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) kept: u64,
    pub(crate) sampled_out: u64,
    pub(crate) overflow: u64,
}

#[derive(Default)]
struct Waiting {
    spans: Vec<SpanData>,
    errored: bool,
}

pub(crate) struct Tail {
    slow: Duration,
    capacity: usize,
    held: usize,
    waiting: HashMap<TraceId, Waiting>,
    arrival: VecDeque<TraceId>,
    decided: HashMap<TraceId, bool>,
    decided_order: VecDeque<TraceId>,
}

impl Tail {
    pub(crate) fn new(slow: Duration, capacity: usize) -> Self {
        Tail {
            slow,
            capacity: capacity.max(1),
            held: 0,
            waiting: HashMap::new(),
            arrival: VecDeque::new(),
            decided: HashMap::new(),
            decided_order: VecDeque::new(),
        }
    }

    /// Takes a span of a sampled-out trace; spans of kept traces go to `out`.
    pub(crate) fn offer(&mut self, span: SpanData, out: &mut Vec<SpanData>) -> Outcome {
        let trace = span.span_context.trace_id();
        let mut outcome = Outcome::default();
        if let Some(&keep) = self.decided.get(&trace) {
            if keep {
                out.push(span);
                outcome.kept = 1;
            } else {
                outcome.sampled_out = 1;
            }
            return outcome;
        }
        let errored = matches!(span.status, Status::Error { .. });
        let root = span.parent_span_id == SpanId::INVALID;
        let slow = root && span.end_time.duration_since(span.start_time).is_ok_and(|d| d >= self.slow);
        let waiting = self.waiting.entry(trace).or_insert_with(|| {
            self.arrival.push_back(trace);
            Waiting::default()
        });
        waiting.errored |= errored;
        waiting.spans.push(span);
        self.held += 1;
        if root {
            let keep = waiting.errored || slow;
            outcome = self.decide(trace, keep, out);
        }
        while self.held > self.capacity {
            let Some(oldest) = self.arrival.pop_front() else { break };
            if let Some(w) = self.waiting.remove(&oldest) {
                self.held -= w.spans.len();
                outcome.overflow += w.spans.len() as u64;
                self.remember(oldest, false);
            }
        }
        outcome
    }

    /// Decides every waiting trace now (shutdown): kept if a span errored.
    pub(crate) fn finish(&mut self, out: &mut Vec<SpanData>) -> Outcome {
        let mut total = Outcome::default();
        let traces: Vec<TraceId> = self.arrival.drain(..).collect();
        for trace in traces {
            if !self.waiting.contains_key(&trace) {
                continue;
            }
            let keep = self.waiting.get(&trace).is_some_and(|w| w.errored);
            let o = self.decide(trace, keep, out);
            total.kept += o.kept;
            total.sampled_out += o.sampled_out;
        }
        total
    }

    fn decide(&mut self, trace: TraceId, keep: bool, out: &mut Vec<SpanData>) -> Outcome {
        let mut outcome = Outcome::default();
        if let Some(w) = self.waiting.remove(&trace) {
            self.held -= w.spans.len();
            let n = w.spans.len() as u64;
            if keep {
                out.extend(w.spans);
                outcome.kept = n;
            } else {
                outcome.sampled_out = n;
            }
        }
        // Decided traces leave `arrival` lazily; compact it once stale ids dominate.
        if self.arrival.len() > 2 * self.waiting.len() + 1024 {
            let waiting = &self.waiting;
            self.arrival.retain(|t| waiting.contains_key(t));
        }
        self.remember(trace, keep);
        outcome
    }

    fn remember(&mut self, trace: TraceId, keep: bool) {
        if self.decided.insert(trace, keep).is_none() {
            self.decided_order.push_back(trace);
            if self.decided_order.len() > REMEMBERED
                && let Some(old) = self.decided_order.pop_front()
            {
                self.decided.remove(&old);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanContext, SpanKind, TraceFlags, TraceState};
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
    use std::time::SystemTime;

    fn span(trace: u128, id: u64, parent: u64, millis: u64, error: bool) -> SpanData {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(trace),
                SpanId::from(id),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::from(parent),
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: "s".into(),
            start_time: start,
            end_time: start + Duration::from_millis(millis),
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: if error { Status::error("boom") } else { Status::Unset },
            instrumentation_scope: Default::default(),
        }
    }

    #[test]
    fn keeps_errored_and_slow_traces_and_drops_the_rest() {
        let mut tail = Tail::new(Duration::from_millis(100), 100);
        let mut out = Vec::new();
        // Errored child, fast root: kept whole.
        assert_eq!(tail.offer(span(1, 2, 1, 1, true), &mut out), Outcome::default());
        assert_eq!(tail.offer(span(1, 1, 0, 5, false), &mut out).kept, 2);
        // Slow root: kept.
        assert_eq!(tail.offer(span(2, 1, 0, 150, false), &mut out).kept, 1);
        // Fast and fine: dropped.
        tail.offer(span(3, 2, 1, 1, false), &mut out);
        assert_eq!(tail.offer(span(3, 1, 0, 5, false), &mut out).sampled_out, 2);
        assert_eq!(out.len(), 3);
        // A late child follows its trace's decision.
        assert_eq!(tail.offer(span(1, 3, 1, 1, false), &mut out).kept, 1);
        assert_eq!(tail.offer(span(3, 3, 1, 1, false), &mut out).sampled_out, 1);
    }

    #[test]
    fn overflow_drops_the_oldest_trace_and_counts_it() {
        let mut tail = Tail::new(Duration::from_secs(1), 3);
        let mut out = Vec::new();
        tail.offer(span(1, 2, 1, 1, true), &mut out);
        tail.offer(span(1, 3, 1, 1, false), &mut out);
        tail.offer(span(2, 2, 1, 1, false), &mut out);
        let o = tail.offer(span(2, 3, 1, 1, false), &mut out);
        assert_eq!(o.overflow, 2, "trace 1 was the oldest");
        assert_eq!(tail.offer(span(1, 1, 0, 1, false), &mut out).overflow + out.len() as u64, 0);
        let o = tail.finish(&mut out);
        assert_eq!((o.kept, o.sampled_out), (0, 2));
    }
}
