//! Async spans: the futures that own a [`Span`] and make it current on every poll.

use super::*;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

pin_project_lite::pin_project! {
    /// A future traced by a span: current on every poll, ended when the future completes, and
    /// ended and marked cancelled when dropped before completion (by the span's own `Drop`).
    #[doc(hidden)]
    pub struct Instrumented<F> {
        span: Span,
        #[pin]
        inner: F,
    }
}

impl<F: Future> Instrumented<F> {
    /// Wraps `inner`; the span's clock starts now.
    #[inline]
    pub fn new(mut span: Span, inner: F) -> Self {
        span.start_async();
        Instrumented { span, inner }
    }

    /// The wrapped future, pinned (the LLM stream wrapper takes the chunk its driver
    /// stored during the last poll).
    pub(crate) fn inner_pin_mut(self: Pin<&mut Self>) -> Pin<&mut F> {
        self.project().inner
    }
}

impl<S: Storage> SpanIn<S> {
    /// Starts an async span's clock: a recording span runs from here; one that records nothing
    /// and passes nothing on is inert.
    #[inline(always)]
    fn start_async(&mut self) {
        match self.state {
            State::Ready => {
                // SAFETY: `Ready`: initialised.
                unsafe { self.record() }.start = clock::now();
                self.state = State::Running;
            }
            State::Unsampled | State::Deferred => {}
            _ => self.state = State::Inert,
        }
    }
}

impl<F: Future> Future for Instrumented<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let (span, inner) = (this.span, this.inner);
        if span.state == State::Deferred {
            span.resolve();
        }
        poll_in(span, cx, |cx| inner.poll(cx))
    }
}

/// Polls with `span` current (a recording span, or an unsampled root whose trace its children
/// see); anything else polls as it is.
#[inline(always)]
fn poll_in<S: Storage, T>(
    span: &mut SpanIn<S>,
    cx: &mut Context<'_>,
    poll: impl FnOnce(&mut Context<'_>) -> Poll<T>,
) -> Poll<T> {
    let ctx = match span.state {
        State::Running => {
            span.start_association();
            span.child_ctx()
        }
        // SAFETY: `Unsampled` keeps the trace's context in `saved`.
        State::Unsampled => unsafe { span.saved.assume_init_read() },
        _ => return poll(cx),
    };
    let l = thread_state::get();
    let (scope, parent) = thread_state::enter_in(l, ctx);
    let mut polling = Polling { span, l, scope, parent, ready: false };
    let poll = poll(cx);
    polling.ready = poll.is_ready();
    drop(polling);
    poll
}

pin_project_lite::pin_project! {
    /// An instrumented async fn's traced future, made when its span may record: the body runs
    /// with the span current, and `outcome` records the body's output while it still is. A fn
    /// whose arguments are all literals makes its span at the first poll, under that poll's
    /// context ([`TracedFn::new`]); one with attributes from its arguments makes it first
    /// ([`TracedFn::started`]). The poll is out of line, so the fn's own poll — which awaits the
    /// plain body when nothing records — stays small (with the traced path inline in it, it was
    /// 2.8 KB of code and a 0.5 KB stack frame, set up on every call).
    #[doc(hidden)]
    pub struct TracedFn<B, O> {
        // The span to make at the first poll (`new`); `None` once made, or if made before.
        meta: Option<&'static SpanMeta>,
        span: Span,
        outcome: Option<O>,
        #[pin]
        body: B,
    }
}

impl<B: Future, O: FnOnce(B::Output) -> B::Output> TracedFn<B, O> {
    /// Traces `body` under a span of `meta`, made when the future is first polled.
    #[inline(always)]
    pub fn new(meta: &'static SpanMeta, body: B, outcome: O) -> Self {
        TracedFn { meta: Some(meta), span: SpanIn::inert(Inline(None)), outcome: Some(outcome), body }
    }

    /// Traces `body` under `span`, made (and given its attributes) before the body took the
    /// fn's arguments; its clock starts now.
    #[inline(always)]
    pub fn started(mut span: Span, body: B, outcome: O) -> Self {
        span.start_async();
        TracedFn { meta: None, span, outcome: Some(outcome), body }
    }
}

impl<B: Future, O: FnOnce(B::Output) -> B::Output> Future for TracedFn<B, O> {
    type Output = B::Output;

    #[inline(never)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<B::Output> {
        let this = self.project();
        let span = this.span;
        if let Some(meta) = this.meta.take() {
            if ENABLED.load(Ordering::Relaxed) {
                span.begin(meta);
            }
            span.start_async();
        }
        let body = this.body;
        // Nothing records (an unsampled parent, or recording switched off meanwhile): the plain
        // body, without its outcome recorders.
        if span.state == State::Inert {
            return body.poll(cx);
        }
        let outcome = this.outcome;
        poll_in(span, cx, |cx| match body.poll(cx) {
            Poll::Ready(output) => Poll::Ready(match outcome.take() {
                Some(record) => record(output),
                None => output,
            }),
            Poll::Pending => Poll::Pending,
        })
    }
}

/// The end of one poll, also when the inner poll panics: the span takes its side writes and
/// is marked as panicked then (executors such as tokio catch the panic and drop the future
/// later, when `std::thread::panicking()` no longer says so), the parent context comes back,
/// and a finished future ends its span.
struct Polling<'a, S: Storage> {
    span: &'a mut SpanIn<S>,
    l: &'a Local,
    scope: Scope,
    parent: Ctx,
    ready: bool,
}

impl<S: Storage> Drop for Polling<'_, S> {
    #[inline(always)]
    fn drop(&mut self) {
        let (span, l) = (&mut *self.span, self.l);
        let running = span.state == State::Running;
        let end = if self.ready && running { clock::now() } else { 0 };
        if running {
            // SAFETY: `Running`: the record is initialised.
            let record = unsafe { span.record() };
            if std::thread::panicking() {
                mark_panic(record, clock::now());
            }
            thread_state::merge_into(l, record);
        }
        thread_state::exit_in(l, self.scope, self.parent);
        let outermost = !self.parent.is_local();
        if self.ready && running {
            span.finish(l, end, outermost, false);
            return;
        }
        if self.ready && span.state == State::Unsampled {
            span.state = State::Inert;
        }
        if outermost {
            thread_state::left_outermost(l);
        }
    }
}
