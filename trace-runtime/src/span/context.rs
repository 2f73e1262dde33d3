//! Carrying the current span across tasks and threads.
//!
//! A [`Context`] is the current span as a value: `Copy`, `Send`, a few words. Take it with
//! [`current_context`] where the work is started and attach it where the work runs; the
//! [`spawn`](crate::spawn), [`thread::spawn`](crate::thread::spawn) and
//! [`TraceFutureExt::in_current_trace`] helpers do both in one call.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use super::thread_state::{self, Ctx, Scope};
use crate::record::association::AssocId;

/// The current span, detached from the thread it was taken on.
///
/// ```
/// use trace_runtime::{current_context, testing, trace};
///
/// let (_, spans) = testing::capture(|| {
///     trace!("parent", {
///         let cx = current_context();
///         std::thread::spawn(move || {
///             let _attached = cx.attach();
///             trace!("child", {});
///         })
///         .join()
///         .unwrap();
///     })
/// });
/// let parent = spans.iter().find(|s| s.name == "parent").unwrap();
/// let child = spans.iter().find(|s| s.name == "child").unwrap();
/// assert_eq!(child.parent_span_id, parent.span_context.span_id());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Context {
    pub(crate) trace_id: u128,
    pub(crate) span_id: u64,
    pub(crate) sink: u32,
    pub(crate) flags: u8,
    pub(crate) assoc: AssocId,
}

impl Context {
    /// No current span: spans attached to it start new traces.
    pub const NONE: Context = Context { trace_id: 0, span_id: 0, sink: 0, flags: 0, assoc: AssocId::NONE };

    /// The context as a value: its span is not owned by whoever attaches it, so writes to the
    /// current span made under it are not kept (they are counted in `metrics()`).
    pub(crate) fn from_ctx(ctx: Ctx) -> Self {
        let ctx = ctx.detached();
        Context {
            trace_id: ctx.trace_id,
            span_id: ctx.span_id,
            sink: ctx.sink,
            flags: ctx.flags,
            assoc: ctx.assoc,
        }
    }

    pub(crate) fn to_ctx(self) -> Ctx {
        let Context { trace_id, span_id, sink, flags, assoc } = self;
        Ctx { trace_id, span_id, sink, flags, assoc }.detached()
    }

    /// Makes this the current context of this thread until the guard drops.
    ///
    /// Guards may be dropped in any order: one dropped after a guard or span it was made inside
    /// ended (returned out of a `trace!` block, say) restores nothing, so an ended span never
    /// becomes current again.
    pub fn attach(self) -> ContextGuard {
        let mut ctx = self.to_ctx();
        // A context made outside any `testing::capture` (every context, in production) keeps the
        // capture this thread is in: a header extracted before a capture still lands in it.
        if ctx.sink == 0 {
            ctx.sink = thread_state::current().sink;
        }
        let (scope, previous) = thread_state::enter(ctx);
        ContextGuard { scope, previous, _not_send: std::marker::PhantomData }
    }

    /// Runs `f` with this context current.
    pub fn in_scope<R>(self, f: impl FnOnce() -> R) -> R {
        let _guard = self.attach();
        f()
    }

    /// The trace id, if there is a current trace.
    pub fn trace_id(&self) -> Option<opentelemetry::trace::TraceId> {
        (self.trace_id != 0).then(|| opentelemetry::trace::TraceId::from(self.trace_id))
    }

    /// The span id, if there is a current span.
    pub fn span_id(&self) -> Option<opentelemetry::trace::SpanId> {
        (self.span_id != 0).then(|| opentelemetry::trace::SpanId::from(self.span_id))
    }
}

/// The current span of this thread, to carry elsewhere.
pub fn current_context() -> Context {
    Context::from_ctx(thread_state::current())
}

/// Restores the previous context when dropped. Not `Send`: it belongs to the thread it attached on.
///
/// ```
/// use trace_runtime::{current_context, span, testing, trace, Context};
///
/// testing::capture(|| {
///     let cx = trace!("parent", { current_context() });
///     assert_eq!(span::trace_id(), None);
///     {
///         let _guard = cx.attach();
///         assert_eq!(span::trace_id(), cx.trace_id());
///     }
///     assert_eq!(span::trace_id(), None, "detached when the guard dropped");
///     assert_eq!(Context::NONE.in_scope(span::trace_id), None);
/// });
/// ```
#[must_use = "the context is detached again when the guard drops"]
pub struct ContextGuard {
    scope: Scope,
    previous: Ctx,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        if thread_state::exit(self.scope, self.previous) && !self.previous.is_local() {
            // The thread left its outermost span: what it finished under this context leaves now.
            thread_state::left_outermost(thread_state::get());
        }
    }
}

pin_project_lite::pin_project! {
    /// A future that runs with a [`Context`] current on every poll; made by
    /// [`TraceFutureExt::in_trace`] and [`TraceFutureExt::in_current_trace`], where the example is.
    pub struct WithContext<F> {
        cx: Context,
        #[pin]
        inner: F,
    }
}

impl<F: Future> Future for WithContext<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _guard = this.cx.attach();
        this.inner.poll(task)
    }
}

/// Attaching a kit [`Context`] to a future.
///
/// Its names are its own (not `with_context`, `in_current_span`), so it sits in scope beside
/// `opentelemetry::context::FutureExt` and `tracing::Instrument` without an ambiguous call.
pub trait TraceFutureExt: Future + Sized {
    /// Runs this future under `cx`.
    fn in_trace(self, cx: Context) -> WithContext<Self> {
        WithContext { cx, inner: self }
    }

    /// Runs this future under the span current here, wherever it is polled.
    ///
    /// ```
    /// use trace_runtime::{testing, trace, TraceFutureExt};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let (_, spans) = testing::capture_async(async {
    ///     trace!("parent", async {
    ///         let child = async { trace!("child", {}) }.in_current_trace();
    ///         tokio::spawn(child).await.unwrap();
    ///     })
    ///     .await
    /// })
    /// .await;
    /// assert_eq!(spans.len(), 2);
    /// assert_eq!(spans[1].parent_span_id, spans[0].span_context.span_id());
    /// # }
    /// ```
    fn in_current_trace(self) -> WithContext<Self> {
        self.in_trace(current_context())
    }
}

impl<F: Future> TraceFutureExt for F {}

/// `tokio::spawn`, with the current span carried into the task.
///
/// ```
/// use trace_runtime::{testing, trace};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (_, spans) = testing::capture_async(trace!("parent", async {
///     trace_runtime::spawn(async { trace!("in task", {}) }).await.unwrap();
/// }))
/// .await;
/// assert_eq!(spans[1].parent_span_id, spans[0].span_context.span_id());
/// # }
/// ```
#[cfg(feature = "tokio")]
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(future.in_current_trace())
}

/// `std::thread` helpers that carry the current span into the new thread.
pub mod thread {
    use super::current_context;

    /// `std::thread::spawn`, with the current span carried into the thread.
    ///
    /// ```
    /// use trace_runtime::{testing, trace};
    ///
    /// let (_, spans) = testing::capture(|| {
    ///     trace!("parent", {
    ///         trace_runtime::thread::spawn(|| trace!("in thread", {})).join().unwrap();
    ///     })
    /// });
    /// assert_eq!(spans[1].parent_span_id, spans[0].span_context.span_id());
    /// ```
    pub fn spawn<F, T>(f: F) -> std::thread::JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let cx = current_context();
        std::thread::spawn(move || cx.in_scope(f))
    }

    /// `std::thread::Scope::spawn`, with the current span carried into the scoped thread.
    pub fn spawn_scoped<'scope, F, T>(
        scope: &'scope std::thread::Scope<'scope, '_>,
        f: F,
    ) -> std::thread::ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        let cx = current_context();
        scope.spawn(move || cx.in_scope(f))
    }
}
