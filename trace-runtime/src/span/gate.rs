//! The global gate: whether spans record (on while a pipeline is installed or a capture is open),
//! head sampling, and the switches the hot path reads (one relaxed load each).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::thread_state::{self, Ctx, ctx_flags};
use crate::record::flags;

/// Recording is on somewhere: a pipeline is installed or a capture is active.
pub(crate) static ENABLED: AtomicBool = AtomicBool::new(false);
/// A pipeline is installed: roots outside any capture may record.
pub(crate) static PIPELINE_ON: AtomicBool = AtomicBool::new(false);
/// Roots whose trace id has its low 63 bits below this are sampled (`1 << 63`: all of them).
pub(crate) static SAMPLE_THRESHOLD: AtomicU64 = AtomicU64::new(1 << 63);
/// A span under a remote parent follows the parent's sampled flag (`parentbased_*` samplers);
/// off, the ratio decides there as for a root (`always_on`, `always_off`, `traceidratio`).
pub(crate) static PARENT_BASED: AtomicBool = AtomicBool::new(true);
/// Adaptive sampling: roots the ratio rejects still record, marked `SAMPLED_OUT`, for the export
/// worker's tail decision.
pub(crate) static ADAPTIVE: AtomicBool = AtomicBool::new(false);

static USERS: Mutex<usize> = Mutex::new(0);

/// One more user of recording (an `init` guard or a capture).
pub(crate) fn acquire() {
    crate::pipeline::shared();
    super::panic::install_hook();
    let mut users = USERS.lock().unwrap_or_else(|p| p.into_inner());
    *users += 1;
    ENABLED.store(true, Ordering::Relaxed);
}

/// One user fewer; recording stops when none is left.
pub(crate) fn release() {
    let mut users = USERS.lock().unwrap_or_else(|p| p.into_inner());
    *users = users.saturating_sub(1);
    ENABLED.store(*users > 0, Ordering::Relaxed);
}

pub(crate) enum Decision {
    Record {
        trace_id: u128,
        span_id: u64,
        parent_id: u64,
        sink: u32,
        flags: u8,
    },
    /// A new root the sampler dropped: the trace's context, for children to see.
    Unsampled(Ctx),
    Inert,
}

/// Whether a span started under `parent` records, and its ids. Out of line: the span hot path
/// makes the common decision (a child of a sampled trace) itself.
#[cold]
#[inline(never)]
pub(crate) fn decide(l: &thread_state::Local, parent: Ctx) -> Decision {
    if parent.trace_id != 0 {
        if !parent.sampled() {
            return Decision::Inert;
        }
        return Decision::Record {
            trace_id: parent.trace_id,
            span_id: l.ids.span_id(),
            parent_id: parent.span_id,
            sink: parent.sink,
            flags: child_flags(parent),
        };
    }
    decide_root(l, parent.sink)
}

/// The record flags of a span started under `parent`, a sampled context.
#[inline(always)]
pub(crate) fn child_flags(parent: Ctx) -> u8 {
    let flags = if parent.flags & ctx_flags::REMOTE != 0 { flags::REMOTE_PARENT } else { 0 };
    flags | (parent.flags & ctx_flags::SAMPLED_OUT)
}

/// Whether spans under a remote parent of `trace_id` record, the parent's sampled flag being
/// `remote_sampled`: the flag decides for the `parentbased_*` samplers (the default), the ratio on
/// the trace id for the others. Applied where a remote context is made (`propagation::extract`,
/// a remote OpenTelemetry parent), so the span hot path checks nothing more.
pub(crate) fn remote_sampled(trace_id: u128, remote_sampled: bool) -> bool {
    if PARENT_BASED.load(Ordering::Relaxed) {
        remote_sampled
    } else {
        ((trace_id as u64) >> 1) < SAMPLE_THRESHOLD.load(Ordering::Relaxed)
    }
}

#[cold]
#[inline(never)]
fn decide_root(l: &thread_state::Local, sink: u32) -> Decision {
    let in_capture = sink != 0;
    if !in_capture && !PIPELINE_ON.load(Ordering::Relaxed) {
        return Decision::Inert;
    }
    let trace_id = l.ids.trace_id();
    let span_id = l.ids.span_id();
    if in_capture || ((trace_id as u64) >> 1) < SAMPLE_THRESHOLD.load(Ordering::Relaxed) {
        Decision::Record { trace_id, span_id, parent_id: 0, sink, flags: 0 }
    } else if ADAPTIVE.load(Ordering::Relaxed) {
        Decision::Record { trace_id, span_id, parent_id: 0, sink, flags: flags::SAMPLED_OUT }
    } else {
        Decision::Unsampled(Ctx { trace_id, span_id, ..Ctx::EMPTY })
    }
}

static CAPTURE_IO: AtomicBool = AtomicBool::new(false);

pub(crate) fn set_capture_io(on: bool) {
    CAPTURE_IO.store(on, Ordering::Relaxed);
}

/// Whether LLM prompts and completions may be recorded (`TRACE_CAPTURE_IO`); off by default.
///
/// ```
/// assert!(!trace_runtime::capture_io_enabled());
/// ```
pub fn capture_io_enabled() -> bool {
    CAPTURE_IO.load(Ordering::Relaxed)
}
