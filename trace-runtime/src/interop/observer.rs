//! Keeps the kit's current context in step with OpenTelemetry's: when an OpenTelemetry context
//! with a span is made current (`in_span`, `Context::attach`, `FutureExt::with_context`), the
//! kit's current context becomes that span, so kit spans started inside nest under it; when the
//! OpenTelemetry context is detached, the kit's context is put back.
//!
//! OpenTelemetry reports these changes through its (experimental) global context observer, called
//! with OpenTelemetry's thread-local stack borrowed: nothing here may call back into
//! `opentelemetry::Context`'s current-context functions.
//!
//! OpenTelemetry guards may drop out of order; it then reports a single exit from the top context
//! to the one below the removed ones. A stack per thread mirrors the attached contexts (the span
//! each made current and the kit context before it), so such an exit restores the kit context
//! from before the oldest context it removed.

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::Context;
use opentelemetry::context::{ContextObserver, GlobalContextObserver};
use opentelemetry::trace::TraceContextExt;

use crate::span::thread_state::{self, Ctx, Scope};

/// Attached contexts deeper than this are not mirrored: past it, an exit makes the span of the
/// context it returns to current.
const MAX_DEPTH: usize = 1024;

/// Set the first time OpenTelemetry calls this observer: it is the one installed.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// A span's identity in an OpenTelemetry context: `0` for none.
type SpanKey = u64;

struct Entry {
    key: SpanKey,
    /// The kit scope the attach entered, and the kit context it replaced.
    scope: Scope,
    saved: Ctx,
}

thread_local! {
    static STACK: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
    /// Contexts attached past [`MAX_DEPTH`], not mirrored: their exits are matched against this
    /// count first, so they never reach into the mirrored stack below them.
    static UNMIRRORED: Cell<usize> = const { Cell::new(0) };
}

/// Whether the kit's context follows OpenTelemetry's (another observer may have been installed
/// first: OpenTelemetry keeps only one).
pub(crate) fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}

pub(super) fn install() {
    GlobalContextObserver::set(Arc::new(Observer));
    // An attach and a detach: if this observer is the installed one, `ACTIVE` is now set.
    drop(Context::new().attach());
}

fn key(cx: &Context) -> SpanKey {
    if !cx.has_active_span() {
        return 0;
    }
    let sc = cx.span().span_context().clone();
    if sc.is_valid() { u64::from_be_bytes(sc.span_id().to_bytes()) } else { 0 }
}

struct Observer;

impl ContextObserver for Observer {
    fn on_context_enter(&self, from: &Context, to: &Context) {
        ACTIVE.store(true, Ordering::Relaxed);
        let to_key = key(to);
        let current = thread_state::current();
        let mut next = current;
        if to_key != 0 && to_key != key(from) {
            let sc = to.span().span_context().clone();
            let ctx = super::ctx_of(&sc, current.sink);
            // The kit's own current span handed to OpenTelemetry stays as it is: still local.
            if (ctx.trace_id, ctx.span_id) != (current.trace_id, current.span_id) {
                next = ctx;
            }
        }
        let _ = STACK.try_with(|stack| {
            let Ok(mut stack) = stack.try_borrow_mut() else { return };
            if stack.len() < MAX_DEPTH {
                let (scope, saved) = thread_state::enter(next);
                stack.push(Entry { key: to_key, scope, saved });
            } else {
                let _ = UNMIRRORED.try_with(|n| n.set(n.get() + 1));
                thread_state::replace_current(next);
            }
        });
    }

    fn on_context_exit(&self, _from: &Context, to: &Context) {
        let to_key = key(to);
        let unmirrored = UNMIRRORED.try_with(|n| {
            let deep = n.get() > 0;
            if deep {
                n.set(n.get() - 1);
            }
            deep
        });
        if unmirrored == Ok(true) {
            // Back to a context past the mirrored depth: its span, if it has one, is current.
            if to_key != 0 {
                let sink = thread_state::current().sink;
                thread_state::replace_current(super::ctx_of(&to.span().span_context().clone(), sink));
            }
            return;
        }
        let restore = STACK.try_with(|stack| {
            let mut stack = stack.try_borrow_mut().ok()?;
            let top = stack.len().checked_sub(1)?;
            // The entry of `to`, below the top one (which is `from`'s); none: `to` was attached
            // before everything mirrored here (the thread's base context).
            let keep = stack[..top].iter().rposition(|e| e.key == to_key).map_or(0, |i| i + 1);
            let saved = stack.get(keep).map(|e| (e.scope, e.saved));
            stack.truncate(keep);
            saved
        });
        // A scope that is no longer live (a kit span it was attached in has ended) restores
        // nothing: an ended span never becomes current again.
        if let Ok(Some((scope, saved))) = restore
            && thread_state::exit(scope, saved)
            && !saved.is_local()
        {
            thread_state::left_outermost(thread_state::get());
        }
    }
}
