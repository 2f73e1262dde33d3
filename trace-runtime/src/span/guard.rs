//! The span while it runs: started by a macro expansion, ended by `Drop` (sync) or by its
//! future (async).
//!
//! A span owns its record: an async [`Span`] inside its future, a sync [`ScopedSpan`] in a
//! [`RecordSlot`] on the caller's stack that it borrows exclusively (so the record is built in
//! place, with no copy, and no two spans can share a slot). Only the owner writes the record;
//! the thread's current context holds the span's ids and a flag, never a pointer to it (see
//! [`crate::span::thread_state`]). When recording is off — before `init()`, outside a `testing::capture`, or
//! in a trace the sampler dropped — `Span::new` writes one byte and the rest is skipped.
//!
//! A sync span is `!Send`, as `tracing`'s `Entered` is: it is current on the thread it was
//! entered on, for as long as its scope runs.

use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::sync::atomic::Ordering;

use super::association;
use super::gate::{Decision, ENABLED, child_flags, decide};
use super::record_pool;
use super::thread_state::{self, Ctx, Local, Scope, ctx_flags};
use crate::record::clock;
use crate::record::value::Attr;
use crate::record::{EventRecord, Record, SpanMeta, flags, status};

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Records nothing, touches nothing.
    Inert,
    /// The root of a trace the sampler dropped: `saved` holds the trace's context, which children
    /// see so that they record nothing either.
    Unsampled,
    /// An unsampled sync root, entered: `saved` holds the context to restore, `scope` its claim.
    UnsampledEntered,
    /// Recording, not yet entered.
    Ready,
    /// A `trace!` future made outside any trace: the record holds its attributes, the decision
    /// waits for the first poll.
    Deferred,
    /// A sync span, recording and current: `saved` and `scope` are set.
    Entered,
    /// An async span, recording: current while its future is polled.
    Running,
    /// The record was handed off.
    Done,
}

/// Where a span's record lives: inside the span (async spans, owned by their future), or in a
/// slot on the caller's stack (sync spans: the slot is never moved, so building the span in place
/// costs no copy of the record, even when recording is off).
#[doc(hidden)]
pub trait Storage {
    /// A sync span's slot: only such a span is ever `Entered`, and ends inline.
    const SCOPED: bool;

    #[allow(private_interfaces)]
    fn slot(&mut self) -> &mut MaybeUninit<Record>;
}

/// An async span's record: boxed, from a per-thread pool of record boxes, and only once the span
/// records. The record inside the future made every traced future 272 bytes bigger, and every
/// move of it (the caller's `.await`, a spawn) copy them, recording or not.
#[doc(hidden)]
pub struct Inline(Option<Box<MaybeUninit<Record>>>);

impl Storage for Inline {
    const SCOPED: bool = false;

    #[inline(always)]
    #[allow(private_interfaces)]
    fn slot(&mut self) -> &mut MaybeUninit<Record> {
        self.0.get_or_insert_with(record_pool::take)
    }
}

impl Drop for Inline {
    #[inline]
    fn drop(&mut self) {
        // The span dropped or handed off the record first: the box holds nothing to drop.
        if let Some(record) = self.0.take() {
            record_pool::put(record);
        }
    }
}

/// A sync span's record slot: a local of the expansion, declared before the span and never moved.
#[doc(hidden)]
pub struct RecordSlot(MaybeUninit<Record>);

impl RecordSlot {
    #[inline(always)]
    pub const fn new() -> Self {
        RecordSlot(MaybeUninit::uninit())
    }
}

impl Default for RecordSlot {
    fn default() -> Self {
        Self::new()
    }
}

/// The record in a [`RecordSlot`], borrowed exclusively for the span's life. Not `Send`: a sync
/// span belongs to the thread it is current on.
#[doc(hidden)]
pub struct Borrowed<'a>(&'a mut RecordSlot, PhantomData<*const ()>);

impl Storage for Borrowed<'_> {
    const SCOPED: bool = true;

    #[inline(always)]
    #[allow(private_interfaces)]
    fn slot(&mut self) -> &mut MaybeUninit<Record> {
        &mut self.0.0
    }
}

/// A span being recorded. Created by macro expansions only.
#[doc(hidden)]
pub struct SpanIn<S: Storage> {
    state: State,
    saved: MaybeUninit<Ctx>,
    scope: MaybeUninit<Scope>,
    record: S,
}

/// An async span: owns its record.
#[doc(hidden)]
pub type Span = SpanIn<Inline>;

/// A sync span over a stack slot.
#[doc(hidden)]
pub type ScopedSpan<'a> = SpanIn<Borrowed<'a>>;

impl Span {
    /// Starts a span under the current context: decides whether it records, assigns ids.
    #[inline(always)]
    pub fn new(meta: &'static SpanMeta) -> Span {
        SpanIn::start(meta, Inline(None))
    }
}

impl<'a> ScopedSpan<'a> {
    /// Starts a sync span whose record is written into `slot`, which it borrows for its life.
    #[inline(always)]
    pub fn new_in(meta: &'static SpanMeta, slot: &'a mut RecordSlot) -> Self {
        SpanIn::start(meta, Borrowed(slot, PhantomData))
    }
}

impl<S: Storage> SpanIn<S> {
    #[inline(always)]
    fn start(meta: &'static SpanMeta, record: S) -> Self {
        let mut span = SpanIn::inert(record);
        if ENABLED.load(Ordering::Relaxed) {
            span.begin(meta);
        }
        span
    }

    #[inline(always)]
    fn inert(record: S) -> Self {
        SpanIn { state: State::Inert, saved: MaybeUninit::uninit(), scope: MaybeUninit::uninit(), record }
    }

    /// The record, once a state that holds one says so.
    ///
    /// # Safety
    /// The state is `Ready`, `Deferred`, `Entered` or `Running`: the record was written and not
    /// handed off.
    #[inline(always)]
    unsafe fn record(&mut self) -> &mut Record {
        // SAFETY: forwarded from the caller.
        unsafe { self.record.slot().assume_init_mut() }
    }

    /// Decides and writes the record, all inline: code here that passed the span's or the
    /// record's address out of line kept an async span's future from being built where it ends
    /// up, and cost it two copies of itself.
    #[inline(always)]
    fn begin(&mut self, meta: &'static SpanMeta) {
        let l = thread_state::get();
        let parent = l.ctx.get();
        // The common span, a child in a sampled trace, takes its ids here, in registers; the
        // other decisions are out of line (the enum of them, made here, cost seven stores).
        let (trace_id, span_id, parent_id, sink, flags) = if parent.trace_id != 0 && parent.sampled() {
            (parent.trace_id, l.ids.span_id(), parent.span_id, parent.sink, child_flags(parent))
        } else {
            match decide(l, parent) {
                Decision::Record { trace_id, span_id, parent_id, sink, flags } => {
                    (trace_id, span_id, parent_id, sink, flags)
                }
                Decision::Unsampled(trace) => {
                    self.saved.write(trace);
                    self.state = State::Unsampled;
                    return;
                }
                Decision::Inert => return,
            }
        };
        let record = self.record.slot().write(Record::new(meta, trace_id, span_id, parent_id, sink, flags));
        if !parent.assoc.is_none() {
            // The parent's association set is taken once the span is in place (entered, or its
            // future first polled); `saved` is unused until then. Marked cold, so that the
            // write is not hoisted and made for every span.
            std::hint::cold_path();
            record.flags |= flags::INHERIT_AT_START;
            self.saved.write(parent);
        }
        self.state = State::Ready;
    }
}

impl Span {
    /// Starts the span of a `trace!` async block. With no current trace where the future is made
    /// (a future built before `testing::capture_async` or `init()` runs), the decision waits for
    /// the first poll; attribute values are taken now, since the future may outlive them.
    #[inline]
    pub fn new_deferred(meta: &'static SpanMeta) -> Span {
        let mut span = Span::new(meta);
        if span.state == State::Inert && thread_state::current().trace_id == 0 {
            span.record.slot().write(Record::new(meta, 0, 0, 0, 0, 0));
            span.state = State::Deferred;
        }
        span
    }

    /// Makes the deferred decision under the context of the first poll.
    #[cold]
    fn resolve(&mut self) {
        let parent = thread_state::current();
        let decision = if ENABLED.load(Ordering::Relaxed) {
            decide(thread_state::get(), parent)
        } else {
            Decision::Inert
        };
        match decision {
            Decision::Record { trace_id, span_id, parent_id, sink, flags } => {
                // SAFETY: `Deferred` holds an initialised record with no ids yet.
                let record = unsafe { self.record() };
                (record.trace_id, record.span_id, record.parent_id, record.sink) =
                    (trace_id, span_id, parent_id, sink);
                record.flags |= flags;
                association::start(record, Some(parent));
                record.start = clock::now();
                self.state = State::Running;
            }
            other => {
                // SAFETY: `Deferred`: initialised, and dropped once: the state no longer claims a
                // record.
                unsafe { self.record.slot().assume_init_drop() };
                self.state = State::Inert;
                if let Decision::Unsampled(trace) = other {
                    self.saved.write(trace);
                    self.state = State::Unsampled;
                }
            }
        }
    }
}

impl<S: Storage> SpanIn<S> {
    /// Whether this span records (or may, once polled); expansions evaluate attribute values
    /// only then.
    #[inline(always)]
    pub fn is_recording(&self) -> bool {
        matches!(self.state, State::Ready | State::Deferred)
    }

    /// Whether the span records nothing and passes nothing on (recording off, or under an
    /// unsampled parent): an async fn then runs its plain body.
    #[inline(always)]
    pub fn is_inert(&self) -> bool {
        self.state == State::Inert
    }

    /// Sets an attribute before the span is entered.
    #[inline(always)]
    pub fn attr(&mut self, attr: Attr) {
        if self.is_recording() {
            // SAFETY: `Ready` / `Deferred`: the record was written by `begin` or `new_deferred`.
            unsafe { self.record() }.push_attr(attr);
            self.note_associated();
        }
    }

    /// Sets the attributes of a macro's arguments before the span is entered: one check for the
    /// lot, then writes at fixed offsets.
    #[inline(always)]
    pub fn attrs<const N: usize>(&mut self, attrs: [Attr; N]) {
        if self.is_recording() {
            // SAFETY: as in `attr`.
            unsafe { self.record() }.push_attrs(attrs);
            self.note_associated();
        }
    }

    /// Marks the span to make its association set when it starts if the attributes just set
    /// include association keys (inline stores only: see `begin`).
    #[inline(always)]
    fn note_associated(&mut self) {
        if thread_state::take_associated_note(thread_state::get()) {
            // SAFETY: called by `attr` and `attrs` in `Ready` / `Deferred`: initialised.
            unsafe { self.record() }.flags |= flags::ASSOCIATE_AT_START;
        }
    }

    /// The start of a recording span, in place: its association set, if it inherits or makes one.
    #[inline(always)]
    fn start_association(&mut self) {
        // SAFETY: called in `Ready` (sync, before entering) or `Running` (each poll): initialised.
        let pending = unsafe { self.record() }.flags & (flags::INHERIT_AT_START | flags::ASSOCIATE_AT_START);
        if pending != 0 {
            // SAFETY: `begin` wrote `saved` when it set `INHERIT_AT_START`, and nothing writes it
            // before the span is entered (sync) or at all (async).
            let parent =
                (pending & flags::INHERIT_AT_START != 0).then(|| unsafe { self.saved.assume_init_read() });
            // SAFETY: as above.
            association::start(unsafe { self.record() }, parent);
        }
    }

    /// Replaces the span's name with one computed at run time (`trace!` with a non-literal name).
    #[inline]
    pub fn set_name(&mut self, name: impl Into<std::borrow::Cow<'static, str>>) {
        if self.is_recording() {
            // SAFETY: as in `attr`.
            unsafe { self.record() }.extra().name = Some(name.into());
        }
    }

    /// The context children of this recording span see.
    #[inline(always)]
    fn child_ctx(&mut self) -> Ctx {
        // SAFETY: called in `Ready` or `Running`: the record is initialised.
        let r = unsafe { self.record() };
        let flags = ctx_flags::SAMPLED | ctx_flags::LOCAL | (r.flags & flags::SAMPLED_OUT);
        Ctx { trace_id: r.trace_id, span_id: r.span_id, sink: r.sink, flags, assoc: association::child_id(r) }
    }

    /// Ends the record at `end` and hands it to the thread's batch; `outermost` hands the batch
    /// off.
    #[inline(always)]
    fn finish(&mut self, l: &Local, end: clock::Tick, outermost: bool, cancelled: bool) {
        // SAFETY: called in `Entered` or `Running`: the record is initialised.
        let r = unsafe { self.record() };
        if std::thread::panicking() {
            mark_panic(r, end);
        } else if cancelled && r.status != status::ERROR {
            r.flags |= flags::CANCELLED;
        }
        let r: *const Record = r;
        self.state = State::Done;
        // SAFETY: `r` is this span's own initialised record, read once, right here; `Done` keeps
        // it from being read or dropped again.
        unsafe { thread_state::push_in(l, r, end, outermost) };
    }
}

impl ScopedSpan<'_> {
    /// Enters a sync span: takes the start time last, then makes it current.
    #[inline(always)]
    pub fn enter(&mut self) {
        match self.state {
            State::Ready => {
                self.start_association();
                // SAFETY: `Ready`: the record is initialised.
                unsafe { self.record() }.start = clock::now();
                let ctx = self.child_ctx();
                let (scope, previous) = thread_state::enter(ctx);
                self.scope.write(scope);
                self.saved.write(previous);
                self.state = State::Entered;
            }
            State::Unsampled => {
                // SAFETY: `Unsampled` stores the trace's context in `saved` until entered.
                let ctx = unsafe { self.saved.assume_init_read() };
                let (scope, previous) = thread_state::enter(ctx);
                self.scope.write(scope);
                self.saved.write(previous);
                self.state = State::UnsampledEntered;
            }
            _ => {}
        }
    }
}

impl<S: Storage> Drop for SpanIn<S> {
    #[inline(always)]
    fn drop(&mut self) {
        // One compare on the disabled path. A sync span's end is inline (a call, with its
        // prologue and the span's fields reloaded, was a quarter of the span's cost); the
        // other ends are out of line.
        if S::SCOPED && self.state == State::Entered {
            self.end_entered();
        } else if self.state != State::Inert {
            self.end();
        }
    }
}

impl<S: Storage> SpanIn<S> {
    /// The end of a sync span (end time first, the side writes merged, the context restored, the
    /// record handed off), or of an async span whose future was dropped before it completed (it
    /// is not current then, and took its side writes at the end of its last poll).
    #[inline(never)]
    fn end(&mut self) {
        match self.state {
            State::Running => {
                let end = clock::now();
                // A future dropped before its first poll still carries its association set.
                self.start_association();
                let l = thread_state::get();
                let outermost = !l.ctx.get().is_local();
                self.finish(l, end, outermost, true);
            }
            State::Inert | State::Done | State::Unsampled => {}
            State::Entered => self.end_entered(),
            State::UnsampledEntered => {
                // SAFETY: `enter` set both.
                let (scope, previous) =
                    unsafe { (self.scope.assume_init_read(), self.saved.assume_init_read()) };
                thread_state::exit(scope, previous);
            }
            // SAFETY: `Ready` / `Deferred`: initialised, never handed off.
            State::Ready | State::Deferred => unsafe { self.record.slot().assume_init_drop() },
        }
    }

    /// The end of a sync span, inline in its caller: the common end, without a call.
    #[inline(always)]
    fn end_entered(&mut self) {
        let end = clock::now();
        let l = thread_state::get();
        // SAFETY: `Entered`: the record is initialised.
        thread_state::merge_into(l, unsafe { self.record() });
        // SAFETY: a sync span in `Entered` was entered by `enter`, which set both.
        let (scope, previous) = unsafe { (self.scope.assume_init_read(), self.saved.assume_init_read()) };
        thread_state::exit_in(l, scope, previous);
        self.finish(l, end, !previous.is_local(), false);
    }
}

#[cold]
fn mark_panic(r: &mut Record, time: clock::Tick) {
    if r.flags & flags::PANICKED != 0 {
        return;
    }
    r.flags |= flags::PANICKED;
    let message = crate::span::panic::take_message(r.start);
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
pub(crate) mod future;
