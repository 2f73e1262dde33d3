//! Async spans: the futures that own a [`Span`] and make it current on every poll.

use super::*;
use crate::span::record_pool::BoxPool;
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
    /// An instrumented async fn's future: its body, and a pointer to the span's state once the
    /// span records. Nothing recording, the future is the body and two words, and its poll is
    /// the body's, inline: a future that carried the span inline was 112 bytes instead of 32
    /// for the span_overhead bench's fn, every copy of it paid that, and its poll was a call.
    /// The traced poll is out of line.
    ///
    /// A fn whose attributes are all literals makes its span at the first poll, under that
    /// poll's context, if recording is on then ([`TracedFn::new`]); one with attributes from
    /// its arguments makes it before the body takes them ([`TracedFn::started`]). The body's
    /// output is recorded by `outcome` while the span is still current.
    #[doc(hidden)]
    pub struct TracedFn<B, O> {
        // The span to make at the first poll (`new`); `None` once polled, or if made before.
        meta: Option<&'static SpanMeta>,
        traced: Traced,
        outcome: O,
        #[pin]
        body: B,
    }
}

/// A traced future's span, boxed while it records (see [`TracedFn`]). The boxes come from a
/// pool each thread keeps, with the record box of the span they last held: a traced call
/// allocates nothing in the steady state. Its drop is inline, a test of the pointer (the whole
/// drop out of line was a call at every disabled future's end).
struct Traced(Option<Box<Span>>);

impl Drop for Traced {
    #[inline(always)]
    fn drop(&mut self) {
        if let Some(span) = self.0.take() {
            put(span);
        }
    }
}

thread_local! {
    static POOL: BoxPool<Span> = const { BoxPool::new() };
}

/// A box from this thread's pool, or a new one, holding an inert span.
fn take() -> Box<Span> {
    BoxPool::pop(&POOL).unwrap_or_else(|| Box::new(SpanIn::inert(Inline(None))))
}

/// Ends `span` as its drop would (cancelled, if it still runs), then gives its box, with the
/// span's record box, back to this thread's pool, or frees it.
#[inline(never)]
fn put(mut span: Box<Span>) {
    if span.state != State::Inert {
        span.end();
        span.state = State::Inert;
    }
    BoxPool::push(&POOL, span);
}

impl Traced {
    /// `span`, started, in a pooled box; none if it records nothing and passes nothing on.
    #[inline(never)]
    fn started(mut span: Span) -> Traced {
        span.start_async();
        let mut boxed = take();
        *boxed = span;
        Traced::unless_inert(boxed)
    }

    #[inline(always)]
    fn unless_inert(span: Box<Span>) -> Traced {
        match span.state {
            State::Inert => {
                put(span);
                Traced(None)
            }
            _ => Traced(Some(span)),
        }
    }
}

impl<B: Future, O: FnOnce(B::Output) -> B::Output + Copy> TracedFn<B, O> {
    /// Traces `body` under a span of `meta`, made when the future is first polled, if
    /// recording is on then; else `body` runs as it is.
    #[inline(always)]
    pub fn new(meta: &'static SpanMeta, body: B, outcome: O) -> Self {
        TracedFn { meta: Some(meta), traced: Traced(None), outcome, body }
    }

    /// Traces `body` under `span`, made (and given its attributes) before the body took the
    /// fn's arguments; its clock starts now. A span that records nothing (recording off, or
    /// an unsampled parent) leaves the plain body.
    #[inline(always)]
    pub fn started(span: Span, body: B, outcome: O) -> Self {
        let traced = match span.is_inert() {
            true => Traced(None),
            false => Traced::started(span),
        };
        TracedFn { meta: None, traced, outcome, body }
    }
}

impl<B: Future, O: FnOnce(B::Output) -> B::Output + Copy> Future for TracedFn<B, O> {
    type Output = B::Output;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<B::Output> {
        let this = self.project();
        let mut begin = None;
        if let Some(meta) = *this.meta {
            *this.meta = None;
            begin = ENABLED.load(Ordering::Relaxed).then_some(meta);
        }
        match (begin, &this.traced.0) {
            (None, None) => this.body.poll(cx),
            _ => poll_traced(this.traced, begin, this.body, *this.outcome, cx),
        }
    }
}

/// The traced poll: the span of `begin` made in a pooled box (at a `new` future's first poll),
/// then the body polled with the span current, and its output recorded while it still is. The
/// span's box goes back to the pool once the span has ended.
#[inline(never)]
fn poll_traced<B: Future, O: FnOnce(B::Output) -> B::Output>(
    traced: &mut Traced,
    begin: Option<&'static SpanMeta>,
    body: Pin<&mut B>,
    outcome: O,
    cx: &mut Context<'_>,
) -> Poll<B::Output> {
    if let Some(meta) = begin {
        let mut span = take();
        span.begin(meta);
        span.start_async();
        *traced = Traced::unless_inert(span);
    }
    let Some(span) = traced.0.as_deref_mut() else { return body.poll(cx) };
    let poll = poll_in(span, cx, |cx| match body.poll(cx) {
        Poll::Ready(output) => Poll::Ready(outcome(output)),
        Poll::Pending => Poll::Pending,
    });
    if poll.is_ready() {
        *traced = Traced(None);
    }
    poll
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
