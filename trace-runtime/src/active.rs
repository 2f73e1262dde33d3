//! The span while it runs: started by a macro expansion, ended by `Drop` (sync) or by its
//! future (async).
//!
//! A [`Span`] holds its record in place. When recording is off — before `init()`, outside a
//! `testing::capture`, or in a trace the sampler dropped — `Span::new` writes one byte and the
//! rest is skipped. A sync span is pinned on the caller's stack with `core::pin::pin!`, so the
//! thread-local context may point at its record while the body runs, with no `unsafe` in the
//! expansion.

use std::cell::UnsafeCell;
use std::marker::PhantomPinned;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::clock;
use crate::local::{self, Ctx, ctx_flags};
use crate::record::{EventRecord, Record, SpanMeta, flags, status};
use crate::value::Attr;

/// Recording is on somewhere: a pipeline is installed or a capture is active.
pub(crate) static ENABLED: AtomicBool = AtomicBool::new(false);
/// A pipeline is installed: roots outside any capture may record.
pub(crate) static PIPELINE_ON: AtomicBool = AtomicBool::new(false);
/// Roots whose trace id has its low 63 bits below this are sampled (`1 << 63`: all of them).
pub(crate) static SAMPLE_THRESHOLD: AtomicU64 = AtomicU64::new(1 << 63);
/// Adaptive sampling: roots the ratio rejects still record, marked `SAMPLED_OUT`, for the export
/// worker's tail decision.
pub(crate) static ADAPTIVE: AtomicBool = AtomicBool::new(false);

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Records nothing, touches nothing.
    Inert,
    /// The root of a trace the sampler dropped: `saved` holds the trace's context, which children
    /// see so that they record nothing either.
    Unsampled,
    /// An unsampled sync root, entered: `saved` holds the parent context to restore.
    UnsampledEntered,
    /// Recording, not yet entered.
    Ready,
    /// A `trace!` future made outside any trace: the record holds its attributes, the decision
    /// waits for the first poll.
    Deferred,
    /// Recording and entered: the record is live behind the thread-local context.
    Entered,
    /// The record was handed off.
    Done,
}

/// Where a span's record lives: inside the span (async spans, owned by their future), or in a
/// slot on the caller's stack (sync spans: the slot is never moved, so building the span in place
/// costs no copy of the record, even when recording is off).
#[doc(hidden)]
pub trait Storage {
    #[allow(private_interfaces)]
    fn slot(&self) -> *mut MaybeUninit<Record>;
}

/// The record inside the span.
#[doc(hidden)]
pub struct Inline(UnsafeCell<MaybeUninit<Record>>);

impl Storage for Inline {
    #[inline(always)]
    #[allow(private_interfaces)]
    fn slot(&self) -> *mut MaybeUninit<Record> {
        self.0.get()
    }
}

/// A sync span's record slot: a local of the expansion, declared before the span and never moved.
#[doc(hidden)]
pub struct RecordSlot(UnsafeCell<MaybeUninit<Record>>);

impl RecordSlot {
    #[inline(always)]
    pub const fn new() -> Self {
        RecordSlot(UnsafeCell::new(MaybeUninit::uninit()))
    }
}

impl Default for RecordSlot {
    fn default() -> Self {
        Self::new()
    }
}

/// The record in a [`RecordSlot`], borrowed for the span's life.
#[doc(hidden)]
pub struct Borrowed<'a>(&'a RecordSlot);

impl Storage for Borrowed<'_> {
    #[inline(always)]
    #[allow(private_interfaces)]
    fn slot(&self) -> *mut MaybeUninit<Record> {
        self.0.0.get()
    }
}

/// A span being recorded. Created by macro expansions only.
#[doc(hidden)]
pub struct SpanIn<S: Storage> {
    state: State,
    saved: MaybeUninit<Ctx>,
    record: S,
    _pin: PhantomPinned,
}

/// An async span: owns its record.
#[doc(hidden)]
pub type Span = SpanIn<Inline>;

/// A sync span over a stack slot.
#[doc(hidden)]
pub type ScopedSpan<'a> = SpanIn<Borrowed<'a>>;

// SAFETY: the record is plain owned data (static metadata, owned strings); the raw pointer inside
// a saved `Ctx` is only dereferenced on the thread that set it, while the span is entered there.
unsafe impl<S: Storage + Send> Send for SpanIn<S> {}
// SAFETY: `&SpanIn` exposes nothing that reads or writes the record.
unsafe impl<S: Storage + Sync> Sync for SpanIn<S> {}
// SAFETY: a slot is only written through its span, on one thread at a time.
unsafe impl Sync for RecordSlot {}

impl Span {
    /// Starts a span under the current context: decides whether it records, assigns ids.
    #[inline(always)]
    pub fn new(meta: &'static SpanMeta) -> Span {
        SpanIn::start(meta, Inline(UnsafeCell::new(MaybeUninit::uninit())))
    }
}

impl<'a> ScopedSpan<'a> {
    /// Starts a sync span whose record is written into `slot`.
    #[inline(always)]
    pub fn new_in(meta: &'static SpanMeta, slot: &'a RecordSlot) -> Self {
        SpanIn::start(meta, Borrowed(slot))
    }
}

impl<S: Storage> SpanIn<S> {
    #[inline(always)]
    fn start(meta: &'static SpanMeta, record: S) -> Self {
        let mut span =
            SpanIn { state: State::Inert, saved: MaybeUninit::uninit(), record, _pin: PhantomPinned };
        if ENABLED.load(Ordering::Relaxed) {
            span.begin(meta);
        }
        span
    }

    /// The record's storage.
    #[inline(always)]
    fn slot(&mut self) -> &mut MaybeUninit<Record> {
        // SAFETY: the storage is this span's alone while it lives (`Inline`: a field; `Borrowed`:
        // a slot borrowed for the span's lifetime), and `&mut self` excludes other access here.
        unsafe { &mut *self.record.slot() }
    }

    #[inline(always)]
    fn record_ptr(&self) -> *mut Record {
        self.record.slot().cast::<Record>()
    }

    #[inline(always)]
    fn begin(&mut self, meta: &'static SpanMeta) {
        let l = local::get();
        match decide(l, l.ctx.get()) {
            Decision::Record { trace_id, span_id, parent_id, sink, flags } => {
                self.slot().write(Record::new(meta, trace_id, span_id, parent_id, sink, flags));
                self.state = State::Ready;
            }
            Decision::Unsampled(trace) => {
                self.saved.write(trace);
                self.state = State::Unsampled;
            }
            Decision::Inert => {}
        }
    }
}

impl Span {
    /// Starts the span of a `trace!` async block. With no current trace where the future is made
    /// (a future built before `testing::capture_async` or `init()` runs), the decision waits for
    /// the first poll; attribute values are taken now, since the future may outlive them.
    #[inline]
    pub fn new_deferred(meta: &'static SpanMeta) -> Span {
        let mut span = Span::new(meta);
        if span.state == State::Inert && local::current().trace_id == 0 {
            span.slot().write(Record::new(meta, 0, 0, 0, 0, 0));
            span.state = State::Deferred;
        }
        span
    }
}

impl<S: Storage> SpanIn<S> {
    /// Makes the deferred decision under the context of the first poll.
    #[cold]
    fn resolve(&mut self) {
        // SAFETY: `Deferred` holds an initialised record with no ids yet.
        let record = unsafe { self.slot().assume_init_mut() };
        let decision = if ENABLED.load(Ordering::Relaxed) {
            let l = local::get();
            decide(l, l.ctx.get())
        } else {
            Decision::Inert
        };
        match decision {
            Decision::Record { trace_id, span_id, parent_id, sink, flags } => {
                (record.trace_id, record.span_id, record.parent_id, record.sink) =
                    (trace_id, span_id, parent_id, sink);
                record.flags |= flags;
                record.start = clock::now();
                self.state = State::Entered;
            }
            other => {
                // SAFETY: initialised, and dropped once: the state no longer claims a record.
                unsafe { self.slot().assume_init_drop() };
                self.state = State::Inert;
                if let Decision::Unsampled(trace) = other {
                    self.saved.write(trace);
                    self.state = State::Unsampled;
                }
            }
        }
    }

    /// Whether this span records (or may, once polled); expansions evaluate attribute values
    /// only then.
    #[inline(always)]
    pub fn is_recording(&self) -> bool {
        matches!(self.state, State::Ready | State::Deferred)
    }

    /// Sets an attribute on a pinned span before it is entered (sync spans are built in place,
    /// inside `pin!`, so the record is never moved before its final copy into the batch).
    #[inline(always)]
    pub fn set(self: Pin<&mut Self>, attr: Attr) {
        // SAFETY: only the record's contents change; nothing is moved out of the pinned span.
        unsafe { self.get_unchecked_mut() }.attr(attr);
    }

    /// Sets an attribute before the span is entered.
    #[inline(always)]
    pub fn attr(&mut self, attr: Attr) {
        if self.is_recording() {
            // SAFETY: `Ready` means the record was written by `begin`.
            unsafe { self.slot().assume_init_mut() }.push_attr(attr);
        }
    }

    /// Sets the attributes of a macro's arguments on a pinned span before it is entered: one
    /// check for the lot, then writes at fixed offsets.
    #[inline(always)]
    pub fn set_all<const N: usize>(self: Pin<&mut Self>, attrs: [Attr; N]) {
        // SAFETY: as in `set`.
        unsafe { self.get_unchecked_mut() }.attrs(attrs);
    }

    /// Sets several attributes before the span is entered.
    #[inline(always)]
    pub fn attrs<const N: usize>(&mut self, attrs: [Attr; N]) {
        if self.is_recording() {
            // SAFETY: as in `attr`.
            unsafe { self.slot().assume_init_mut() }.push_attrs(attrs);
        }
    }

    /// Replaces the name of a pinned span (`trace!` with a non-literal name).
    #[inline]
    pub fn set_name_pinned(self: Pin<&mut Self>, name: impl Into<std::borrow::Cow<'static, str>>) {
        // SAFETY: as in `set`.
        unsafe { self.get_unchecked_mut() }.set_name(name);
    }

    /// Replaces the span's name with one computed at run time (`trace!` with a non-literal name).
    #[inline]
    pub fn set_name(&mut self, name: impl Into<std::borrow::Cow<'static, str>>) {
        if self.is_recording() {
            // SAFETY: as in `attr`.
            unsafe { self.slot().assume_init_mut() }.extra().name = Some(name.into());
        }
    }

    /// Enters a pinned sync span: takes the start time last, then makes it current.
    #[inline(always)]
    pub fn enter(self: Pin<&mut Self>) {
        // SAFETY: no field is moved out; the record stays where it is pinned.
        let this = unsafe { self.get_unchecked_mut() };
        match this.state {
            State::Ready => {
                let record = this.record_ptr();
                // SAFETY: `Ready`: the record is initialised; pinned, so the pointer stays valid
                // until `Drop` resets the context.
                unsafe { (*record).start = clock::now() };
                let ctx = this.child_ctx(record);
                this.saved.write(local::swap(ctx));
                this.state = State::Entered;
            }
            State::Unsampled => {
                // SAFETY: `Unsampled` stores the trace's context in `saved` until entered.
                let ctx = unsafe { this.saved.assume_init_read() };
                this.saved.write(local::swap(ctx));
                this.state = State::UnsampledEntered;
            }
            _ => {}
        }
    }

    #[inline(always)]
    fn child_ctx(&self, record: *mut Record) -> Ctx {
        // SAFETY: callers pass the initialised record of this span.
        let r = unsafe { &*record };
        let flags = ctx_flags::SAMPLED | (r.flags & flags::SAMPLED_OUT);
        Ctx { trace_id: r.trace_id, span_id: r.span_id, record, sink: r.sink, flags }
    }

    /// Sync end: end time first, restore the parent, hand the record off.
    #[inline(always)]
    fn exit_sync(&mut self) {
        match self.state {
            State::Entered => {
                let end = clock::now();
                // SAFETY: `Entered` saved the parent context.
                let parent = unsafe { self.saved.assume_init_read() };
                local::swap(parent);
                self.finish(end, parent.record.is_null(), false);
            }
            State::UnsampledEntered => {
                // SAFETY: `enter` saved the parent context.
                local::swap(unsafe { self.saved.assume_init_read() });
            }
            _ => {}
        }
    }

    /// Ends the record at `end` and hands it to the thread's batch.
    #[inline(always)]
    fn finish(&mut self, end: clock::Tick, local_root: bool, cancelled: bool) {
        let record = self.record_ptr();
        // SAFETY: called in `Entered` (or the async equivalent): the record is initialised.
        let r = unsafe { &mut *record };
        if std::thread::panicking() {
            mark_panic(r, end);
        } else if cancelled && r.status != status::ERROR {
            r.flags |= flags::CANCELLED;
        }
        self.state = State::Done;
        // SAFETY: the record is initialised and `Done` keeps it from being touched again.
        unsafe { local::push(record, end, local_root) };
    }
}

impl<S: Storage> Drop for SpanIn<S> {
    #[inline(always)]
    fn drop(&mut self) {
        // One compare on the disabled path; everything else is out of line.
        if self.state != State::Inert {
            self.end();
        }
    }
}

impl<S: Storage> SpanIn<S> {
    #[inline(never)]
    fn end(&mut self) {
        match self.state {
            State::Inert | State::Done | State::Unsampled => {}
            State::Entered | State::UnsampledEntered => self.exit_sync(),
            // SAFETY: `Ready` / `Deferred`: initialised, never handed off.
            State::Ready | State::Deferred => unsafe { self.slot().assume_init_drop() },
        }
    }
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

/// Whether a span started under `parent` records, and its ids.
#[inline(always)]
pub(crate) fn decide(l: &local::Local, parent: Ctx) -> Decision {
    if parent.trace_id != 0 {
        if !parent.sampled() {
            return Decision::Inert;
        }
        let flags = if parent.flags & ctx_flags::REMOTE != 0 { flags::REMOTE_PARENT } else { 0 };
        let flags = flags | (parent.flags & ctx_flags::SAMPLED_OUT);
        return Decision::Record {
            trace_id: parent.trace_id,
            span_id: l.ids.span_id(),
            parent_id: parent.span_id,
            sink: parent.sink,
            flags,
        };
    }
    decide_root(l, parent.sink)
}

#[cold]
#[inline(never)]
fn decide_root(l: &local::Local, sink: u32) -> Decision {
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
        Decision::Unsampled(Ctx { trace_id, span_id, record: std::ptr::null_mut(), sink: 0, flags: 0 })
    }
}

#[cold]
fn mark_panic(r: &mut Record, time: clock::Tick) {
    if r.flags & flags::PANICKED != 0 {
        return;
    }
    r.flags |= flags::PANICKED;
    let message = crate::panic::take_message();
    let description = match &message {
        Some(m) => format!("panic: {m}"),
        None => "panic".to_string(),
    };
    let mut attrs = vec![opentelemetry::KeyValue::new("exception.type", "panic")];
    if let Some(m) = message {
        attrs.push(opentelemetry::KeyValue::new("exception.message", m));
    }
    r.push_event(EventRecord { name: "exception".into(), time, attrs });
    r.set_error(description.into());
}

/// Async spans: the future that owns a [`Span`] and makes it current on every poll.
pub(crate) mod future {
    use super::*;
    use std::future::Future;
    use std::task::{Context, Poll};

    pin_project_lite::pin_project! {
        /// A future traced by a span: current on every poll, ended when the future completes, and
        /// ended and marked cancelled when dropped before completion.
        #[doc(hidden)]
        pub struct Instrumented<F> {
            #[pin]
            span: Span,
            #[pin]
            inner: F,
        }

        impl<F> PinnedDrop for Instrumented<F> {
            fn drop(this: Pin<&mut Self>) {
                let this = this.project();
                // SAFETY: the span is not moved, only ended in place.
                let span = unsafe { this.span.get_unchecked_mut() };
                match span.state {
                    State::Entered => {
                        let end = clock::now();
                        let local_root = local::current().record.is_null();
                        span.finish(end, local_root, true);
                    }
                    // Its `saved` is the trace's context, not a parent to restore.
                    State::Unsampled => span.state = State::Inert,
                    _ => {}
                }
            }
        }
    }

    impl<F: Future> Instrumented<F> {
        /// Wraps `inner`; the span's clock starts now.
        #[inline]
        pub fn new(mut span: Span, inner: F) -> Self {
            match span.state {
                State::Ready => {
                    // SAFETY: `Ready`: initialised.
                    unsafe { span.slot().assume_init_mut() }.start = clock::now();
                    span.state = State::Entered;
                }
                State::Unsampled | State::Deferred => {}
                _ => span.state = State::Inert,
            }
            Instrumented { span, inner }
        }

        /// The wrapped future, pinned (the LLM stream wrapper takes the chunk its driver
        /// stored during the last poll).
        pub(crate) fn inner_pin_mut(self: Pin<&mut Self>) -> Pin<&mut F> {
            self.project().inner
        }
    }

    impl<F: Future> Future for Instrumented<F> {
        type Output = F::Output;

        #[inline]
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
            let this = self.project();
            // SAFETY: the span is pinned inside this future; its record does not move while
            // the context points at it, which lasts only for this poll.
            let span = unsafe { this.span.get_unchecked_mut() };
            if span.state == State::Deferred {
                span.resolve();
            }
            let ctx = match span.state {
                State::Entered => span.child_ctx(span.record_ptr()),
                // SAFETY: `Unsampled` keeps the trace's context in `saved`.
                State::Unsampled => unsafe { span.saved.assume_init_read() },
                _ => return this.inner.poll(cx),
            };
            let record = if span.state == State::Entered { span.record_ptr() } else { std::ptr::null_mut() };
            let parent = local::swap(ctx);
            let restore = Restore { parent, record };
            let poll = this.inner.poll(cx);
            drop(restore);
            if poll.is_ready() && span.state == State::Entered {
                let end = clock::now();
                span.finish(end, parent.record.is_null(), false);
            }
            if poll.is_ready() && span.state == State::Unsampled {
                span.state = State::Inert;
            }
            poll
        }
    }

    /// Puts the parent context back even if the inner poll panics, and marks the span as
    /// panicked then: executors such as tokio catch the panic and drop the future later, when
    /// `std::thread::panicking()` no longer says so.
    struct Restore {
        parent: Ctx,
        record: *mut Record,
    }

    impl Drop for Restore {
        #[inline(always)]
        fn drop(&mut self) {
            local::swap(self.parent);
            if !self.record.is_null() && std::thread::panicking() {
                // SAFETY: the record of the span being polled, pinned in its future.
                mark_panic(unsafe { &mut *self.record }, clock::now());
            }
        }
    }
}
