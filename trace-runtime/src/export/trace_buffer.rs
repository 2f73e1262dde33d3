//! Spans waiting, per trace, for their trace's root to end: the buffer of the exporters that
//! emit whole traces (the console tree, the JSON trace files).
//!
//! Traces are kept in order of their first span's arrival, so the oldest is found cheaply when the
//! total passes the exporter's bound.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

/// The waiting spans of each trace, `K` the trace id, `S` the span.
pub(crate) struct TraceBuffer<K, S> {
    traces: HashMap<K, Waiting<S>>,
    /// Traces by arrival of their first span.
    order: BTreeMap<u64, K>,
    spans: usize,
    next_seq: u64,
}

/// A trace's spans, taken out of the buffer; [`TraceBuffer::put_back`] returns them to their
/// place.
pub(crate) struct Waiting<S> {
    seq: u64,
    pub(crate) spans: Vec<S>,
}

impl<K: Clone + Eq + Hash, S> Default for TraceBuffer<K, S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Clone + Eq + Hash, S> TraceBuffer<K, S> {
    pub(crate) fn new() -> Self {
        TraceBuffer { traces: HashMap::new(), order: BTreeMap::new(), spans: 0, next_seq: 0 }
    }

    /// Spans waiting, in all traces.
    pub(crate) fn len(&self) -> usize {
        self.spans
    }

    pub(crate) fn push(&mut self, trace: K, span: S) {
        let waiting = self.traces.entry(trace).or_insert_with_key(|trace| {
            self.order.insert(self.next_seq, trace.clone());
            self.next_seq += 1;
            Waiting { seq: self.next_seq - 1, spans: Vec::new() }
        });
        waiting.spans.push(span);
        self.spans += 1;
    }

    /// Takes a trace's spans out, if it has any waiting.
    pub(crate) fn take<Q>(&mut self, trace: &Q) -> Option<Waiting<S>>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let waiting = self.traces.remove(trace)?;
        self.order.remove(&waiting.seq);
        self.spans -= waiting.spans.len();
        Some(waiting)
    }

    /// Returns taken spans to the trace's old place in the order (a write that failed).
    #[cfg_attr(not(feature = "file-store"), allow(dead_code))] // only files keep a failed trace
    pub(crate) fn put_back(&mut self, trace: K, waiting: Waiting<S>) {
        self.spans += waiting.spans.len();
        self.order.insert(waiting.seq, trace.clone());
        self.traces.insert(trace, waiting);
    }

    /// The trace whose first span arrived first.
    pub(crate) fn oldest(&self) -> Option<&K> {
        self.order.values().next()
    }

    /// Every waiting trace, oldest first.
    pub(crate) fn oldest_first(&self) -> Vec<K> {
        self.order.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_wait_in_arrival_order_and_are_counted() {
        let mut buffer = TraceBuffer::new();
        buffer.push("b", 1);
        buffer.push("a", 2);
        buffer.push("b", 3);
        assert_eq!((buffer.len(), buffer.oldest()), (3, Some(&"b")));
        assert_eq!(buffer.oldest_first(), ["b", "a"]);
        let b = buffer.take("b").unwrap();
        assert_eq!((b.spans.as_slice(), buffer.len(), buffer.oldest()), (&[1, 3][..], 1, Some(&"a")));
        assert!(buffer.take("b").is_none());
        buffer.put_back("b", b);
        assert_eq!((buffer.len(), buffer.oldest_first()), (3, vec!["b", "a"]), "back in its old place");
        buffer.push("c", 4);
        assert_eq!(buffer.oldest_first(), ["b", "a", "c"]);
    }
}
