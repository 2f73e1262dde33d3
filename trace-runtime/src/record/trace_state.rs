//! The remote `tracestate` of each trace, kept by propagation and read by the export worker.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::TraceState;

/// Traces whose remote `tracestate` is remembered at once; older ones are forgotten first.
///
/// ```
/// assert_eq!(trace_runtime::propagation::MAX_TRACE_STATES, 4096);
/// ```
pub const MAX_TRACE_STATES: usize = 4096;

/// Longest `tracestate` kept for a trace, in bytes: the 512 characters W3C Trace Context asks
/// every platform to pass on. A longer one is cut as the specification says (list members longer
/// than 128 characters go first, then members from the end), so that [`MAX_TRACE_STATES`]
/// remembered states stay small (32 members of up to 512 bytes each would be 16 KiB a trace).
///
/// ```
/// use std::collections::HashMap;
/// use trace_runtime::propagation::{self, MAX_TRACE_STATE_BYTES};
/// use trace_runtime::{testing, trace};
///
/// let long: Vec<String> = (0..30).map(|i| format!("vendor{i}={}", "v".repeat(40))).collect();
/// let incoming = HashMap::from([
///     ("traceparent".to_string(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string()),
///     ("tracestate".to_string(), long.join(",")),
/// ]);
/// let mut outgoing = HashMap::new();
/// testing::capture(|| {
///     propagation::extract(&incoming).in_scope(|| trace!("call", { propagation::inject(&mut outgoing) }))
/// });
/// assert!(outgoing["tracestate"].len() <= MAX_TRACE_STATE_BYTES);
/// assert!(outgoing["tracestate"].starts_with("vendor0="), "the first members are kept");
/// ```
pub const MAX_TRACE_STATE_BYTES: usize = 512;

/// List members longer than this are the first dropped from a long `tracestate` (W3C).
const MAX_LONG_MEMBER_BYTES: usize = 128;

/// Remembered `tracestate`s by trace id, oldest first out.
struct States {
    by_trace: HashMap<u128, TraceState>,
    order: VecDeque<u128>,
}

static STATES: Mutex<Option<States>> = Mutex::new(None);
static ANY_STATE: AtomicBool = AtomicBool::new(false);

fn states() -> std::sync::MutexGuard<'static, Option<States>> {
    STATES.lock().unwrap_or_else(|p| p.into_inner())
}

/// `state` cut to [`MAX_TRACE_STATE_BYTES`] the way W3C Trace Context describes; `None` if empty.
fn bounded(state: &TraceState) -> Option<TraceState> {
    let header = state.header();
    if header.is_empty() {
        return None;
    }
    if header.len() <= MAX_TRACE_STATE_BYTES {
        return Some(state.clone());
    }
    let member_len = |(k, v): &(&str, &str)| k.len() + 1 + v.len();
    let mut kept: Vec<(&str, &str)> =
        state.into_iter().filter(|m| member_len(m) <= MAX_LONG_MEMBER_BYTES).collect();
    let mut len = kept.iter().map(member_len).sum::<usize>() + kept.len().saturating_sub(1);
    while len > MAX_TRACE_STATE_BYTES {
        let Some(last) = kept.pop() else { break };
        len -= member_len(&last) + usize::from(!kept.is_empty());
    }
    // The members were valid in `state`, so this cannot fail; an empty list keeps nothing.
    TraceState::from_key_value(kept).ok().filter(|s| !s.header().is_empty())
}

pub(crate) fn remember(trace_id: u128, state: &TraceState) {
    let Some(state) = bounded(state) else { return };
    let mut guard = states();
    let states = guard.get_or_insert_with(|| States { by_trace: HashMap::new(), order: VecDeque::new() });
    if states.by_trace.insert(trace_id, state).is_none() {
        states.order.push_back(trace_id);
        if states.order.len() > MAX_TRACE_STATES
            && let Some(oldest) = states.order.pop_front()
        {
            states.by_trace.remove(&oldest);
        }
    }
    ANY_STATE.store(true, Ordering::Relaxed);
}

/// Whether any `tracestate` was ever received (the export worker skips the lookup otherwise).
pub(crate) fn has_trace_states() -> bool {
    ANY_STATE.load(Ordering::Relaxed)
}

/// The remembered `tracestate` of a trace; empty if none.
pub(crate) fn trace_state(trace_id: u128) -> TraceState {
    if !has_trace_states() {
        return TraceState::default();
    }
    states().as_ref().and_then(|s| s.by_trace.get(&trace_id).cloned()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_tracestate_is_cut_as_w3c_says() {
        let state = |text: &str| -> TraceState { text.parse().unwrap() };
        let short = state("a=1,b=2");
        assert_eq!(bounded(&short).unwrap().header(), "a=1,b=2");
        assert!(bounded(&TraceState::default()).is_none());

        // 32 members of 256-byte values: 16 KiB the SDK accepts, far past what is passed on.
        let big: Vec<String> = (0..32).map(|i| format!("k{i:02}={}", "x".repeat(256))).collect();
        assert!(bounded(&state(&big.join(","))).is_none(), "every member is over 128 bytes");

        // Long members go first, then members from the end, until 512 bytes remain.
        let mut mixed: Vec<String> = vec![format!("long={}", "y".repeat(200))];
        mixed.extend((0..20).map(|i| format!("v{i:02}={}", "z".repeat(40))));
        let cut = bounded(&state(&mixed.join(","))).unwrap().header();
        assert!(cut.len() <= MAX_TRACE_STATE_BYTES, "{}", cut.len());
        assert!(cut.starts_with("v00=") && !cut.contains("long="), "{cut}");
        assert_eq!(cut.split(',').count(), 11, "11 members of 44 bytes fit in 512: {cut}");
    }
}
