//! Per-thread state: the current span context, the scope stack's generations, the id generator,
//! the side buffer of writes to the current span, and the batch of finished records.
//!
//! The current context is plain data — ids and flags — never a pointer into a guard, a future
//! or a stack frame: a span's record is written only by its owner (its guard or its future).
//! Code that does not own the current span (`span::set`, events, errors, usage, logs, the
//! `tracing` and OpenTelemetry bridges) writes into a side buffer tagged with the span's id, and
//! the owner merges what is tagged with its id when it ends and at the end of each poll (one
//! length check when nothing was written).
//!
//! Every change of the current context is a scope: entering one saves the previous context and
//! claims a depth; leaving it restores the previous context only if the scope is still live —
//! no scope below it has left since. A guard dropped out of order (a context guard returned out
//! of the span it was made in) therefore restores nothing, and never makes an ended span current.
//!
//! One `const`-initialised thread-local without `Drop`, so every access compiles to a plain
//! thread-pointer offset with no lazy-initialisation check. Finished records are written into a
//! thread-local batch and handed to the export queue whole: when the batch is full, or when the
//! thread leaves its outermost span (so a finished span never waits in an idle thread's buffer),
//! or at its first span end after a flush (so a thread inside a long-lived span, a session root,
//! delivers what it finished when the application flushes).

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::pipeline::{self, LOCAL_BATCH};
use crate::record::association::AssocId;
use crate::record::clock::Tick;
use crate::record::ids::IdGen;
use crate::record::usage::Usage;
use crate::record::value::Attr;
use crate::record::{EventRecord, Record, status};

/// Scope depths whose generation is tracked; deeper scopes are checked by depth alone.
const TRACKED_DEPTH: usize = 64;
/// Side writes a thread keeps for its live spans at most; past it they are dropped and counted.
const MAX_SIDE_WRITES: usize = 4096;

pub(crate) mod ctx_flags {
    pub(crate) const SAMPLED: u8 = 1;
    pub(crate) const REMOTE: u8 = 2;
    /// The span is recording and owned by a guard or future live on this thread: writes to the
    /// current span are buffered for it.
    pub(crate) const LOCAL: u8 = 4;
    /// The trace is recorded for adaptive sampling only (`record::flags::SAMPLED_OUT`).
    pub(crate) const SAMPLED_OUT: u8 = crate::record::flags::SAMPLED_OUT;
}

/// The current span as children see it: plain data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ctx {
    /// `0`: no current trace.
    pub(crate) trace_id: u128,
    pub(crate) span_id: u64,
    /// Where the trace's records go: `0` the export pipeline, otherwise a `testing::capture`.
    pub(crate) sink: u32,
    pub(crate) flags: u8,
    /// The association set children inherit (`span::association`).
    pub(crate) assoc: AssocId,
}

impl Ctx {
    pub(crate) const EMPTY: Ctx = Ctx { trace_id: 0, span_id: 0, sink: 0, flags: 0, assoc: AssocId::NONE };

    #[inline(always)]
    pub(crate) fn sampled(&self) -> bool {
        self.flags & ctx_flags::SAMPLED != 0
    }

    /// Whether the span is recording in a guard or future live on this thread.
    #[inline(always)]
    pub(crate) fn is_local(&self) -> bool {
        self.flags & ctx_flags::LOCAL != 0
    }

    /// The same context as seen from elsewhere (another thread, a later time): not local.
    #[inline(always)]
    pub(crate) fn detached(self) -> Ctx {
        Ctx { flags: self.flags & !ctx_flags::LOCAL, ..self }
    }
}

/// A claim on the thread's context, from [`enter`] to [`exit`]: its depth and that depth's
/// generation when it was entered.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scope {
    depth: u32,
    generation: u32,
}

pub(crate) struct Local {
    pub(crate) ctx: Cell<Ctx>,
    /// Scopes entered and not yet left.
    depth: Cell<u32>,
    /// Per depth, how many scopes were entered there: a scope is live while its depth's
    /// generation is the one it was given.
    generations: [Cell<u32>; TRACKED_DEPTH],
    /// Writes waiting in [`SIDE`] (mirrored here so that owners check it without touching a
    /// thread-local that has a destructor).
    side_writes: Cell<u32>,
    pub(crate) ids: IdGen,
    buf: Cell<*mut Record>,
    len: Cell<usize>,
    cap: Cell<usize>,
    /// The [`FLUSH_EPOCH`] of the last hand-off: a newer one hands off at the next span end.
    epoch: Cell<u32>,
    /// A macro's attributes for the span it is starting include an association key (see
    /// [`note_associated`]).
    associated_noted: Cell<bool>,
    /// The association keys this thread's macros have set, which a starting span looks for
    /// among its attributes.
    associated_keys: [Cell<&'static str>; THREAD_KEYS],
    associated_len: Cell<u8>,
}

/// Distinct association keys a thread's macros set at most (the kit's own three are always
/// known); a key past them is recorded but not carried down.
const THREAD_KEYS: usize = 8;

/// Bumped by every flush and shutdown: a thread that ends a span under an open parent after it
/// hands its batch off, instead of keeping finished spans until the parent ends.
static FLUSH_EPOCH: AtomicU32 = AtomicU32::new(0);

/// Asks every thread to hand off what it finished at its next span end (the caller's own
/// batch is handed off with [`flush_thread`]).
pub(crate) fn request_flush() {
    FLUSH_EPOCH.fetch_add(1, Ordering::Relaxed);
}

thread_local! {
    pub(crate) static LOCAL: Local = const {
        Local {
            ctx: Cell::new(Ctx::EMPTY),
            depth: Cell::new(0),
            generations: [const { Cell::new(0) }; TRACKED_DEPTH],
            side_writes: Cell::new(0),
            ids: IdGen::new(),
            buf: Cell::new(ptr::null_mut()),
            len: Cell::new(0),
            epoch: Cell::new(0),
            cap: Cell::new(0),
            associated_noted: Cell::new(false),
            associated_keys: [const { Cell::new("") }; THREAD_KEYS],
            associated_len: Cell::new(0),
        }
    };
    /// Writes to spans owned on this thread, made by code that does not own them, tagged with the
    /// span's id.
    static SIDE: RefCell<Vec<(u64, Write)>> = const { RefCell::new(Vec::new()) };
}

/// Writes to the current span that were dropped: made where no span of this thread was recording
/// (a context attached from another thread), past the side buffer's bound, or left behind by a
/// span that ended without taking them.
pub(crate) static DROPPED_WRITES: AtomicU64 = AtomicU64::new(0);

/// This thread's state. A `const` thread-local without `Drop` lives as long as its thread and is
/// never destroyed, so the reference stays valid for any use on this thread.
#[inline(always)]
pub(crate) fn get() -> &'static Local {
    // SAFETY: see above; `Local` is only reached from its own thread (it is `!Sync`), and holds
    // only `Cell`s, so shared references to it cannot alias a `&mut`.
    LOCAL.with(|l| unsafe { &*(l as *const Local) })
}

/// The current context, as a value.
#[inline]
pub(crate) fn current() -> Ctx {
    get().ctx.get()
}

/// Makes `ctx` current, returning the scope to leave and the context it replaced.
#[inline(always)]
pub(crate) fn enter(ctx: Ctx) -> (Scope, Ctx) {
    enter_in(get(), ctx)
}

#[inline(always)]
pub(crate) fn enter_in(l: &Local, ctx: Ctx) -> (Scope, Ctx) {
    let depth = l.depth.get();
    let generation = match l.generations.get(depth as usize) {
        Some(g) => {
            let next = g.get().wrapping_add(1);
            g.set(next);
            next
        }
        None => 0,
    };
    l.depth.set(depth.saturating_add(1));
    (Scope { depth, generation }, l.ctx.replace(ctx))
}

/// Leaves `scope`: if it is still live, restores `previous` (the context it replaced) and ends
/// every scope entered inside it that has not left. Returns whether it was live.
#[inline(always)]
pub(crate) fn exit(scope: Scope, previous: Ctx) -> bool {
    exit_in(get(), scope, previous)
}

#[inline(always)]
pub(crate) fn exit_in(l: &Local, scope: Scope, previous: Ctx) -> bool {
    let live = l.depth.get() > scope.depth
        && l.generations.get(scope.depth as usize).is_none_or(|g| g.get() == scope.generation);
    if live {
        l.depth.set(scope.depth);
        l.ctx.set(previous);
        if scope.depth == 0 && l.side_writes.get() != 0 {
            drop_side_writes(l);
        }
    }
    live
}

/// An attribute under association key `key` is being built for the span a macro is starting:
/// the span notes it in `attrs`, and looks for `key` among its attributes when it starts (see
/// `span::association`).
#[inline]
pub(crate) fn note_associated(key: &'static str) {
    let l = get();
    l.associated_noted.set(true);
    note_key(l, key);
}

/// Makes `key` one that spans starting on this thread look for among their attributes.
#[inline]
pub(crate) fn note_key(l: &Local, key: &'static str) {
    if !crate::span::association::BUILT_IN.contains(&key) && !thread_keys(l).any(|k| k == key) {
        add_thread_key(l, key);
    }
}

#[cold]
fn add_thread_key(l: &Local, key: &'static str) {
    let n = l.associated_len.get() as usize;
    if n < THREAD_KEYS {
        l.associated_keys[n].set(key);
        l.associated_len.set(n as u8 + 1);
        crate::span::association::note_user_key(key);
    }
}

/// The association keys this thread's macros have set, besides the kit's.
pub(crate) fn thread_keys(l: &Local) -> impl Iterator<Item = &'static str> + '_ {
    l.associated_keys[..l.associated_len.get() as usize].iter().map(Cell::get)
}

/// Whether the attributes just built for a starting span include an association key; clears
/// the note.
#[inline(always)]
pub(crate) fn take_associated_note(l: &Local) -> bool {
    let noted = l.associated_noted.get();
    if noted {
        l.associated_noted.set(false);
    }
    noted
}

/// Replaces the current context without a scope (a context made current past the depth a
/// bridge keeps track of).
pub(crate) fn replace_current(ctx: Ctx) {
    get().ctx.set(ctx.detached());
}

/// A write to the current span by code that does not own it, applied by the owner.
pub(crate) enum Write {
    /// An attribute; a later one under the same key replaces it.
    Attr(Attr),
    Event(EventRecord),
    Error(Cow<'static, str>),
    Ok,
    Usage(Usage),
    /// The association set the span passes on from now on.
    Association(std::sync::Arc<crate::record::association::AssocSet>),
    /// Anything else, on the record itself (the closure runs no user code).
    #[cfg(feature = "tracing")]
    With(Box<dyn FnOnce(&mut Record)>),
}

impl Write {
    fn apply(self, record: &mut Record) {
        match self {
            Write::Attr(attr) => record.set_attr(attr),
            Write::Event(event) => record.push_event(event),
            Write::Error(message) => record.set_error(message),
            Write::Ok => record.status = status::OK,
            Write::Usage(usage) => record.add_usage(usage),
            Write::Association(set) => record.set_association(set),
            #[cfg(feature = "tracing")]
            Write::With(f) => f(record),
        }
    }
}

/// Whether a span recording on this thread is current: writes to it would be kept. Callers check
/// it before building what they would write.
#[inline]
pub(crate) fn recording_here() -> bool {
    current().is_local()
}

/// Whether a write to the current span would be kept: [`recording_here`], counting the write as
/// dropped when a sampled span is current but records elsewhere (a context attached from another
/// thread). Callers check it before building what they would write.
#[inline]
pub(crate) fn writable() -> bool {
    let ctx = current();
    if ctx.is_local() {
        return true;
    }
    if ctx.trace_id != 0 && ctx.sampled() {
        DROPPED_WRITES.fetch_add(1, Ordering::Relaxed);
    }
    false
}

/// Writes to the current span, through its owner; returns whether a span was there to take it.
#[inline]
pub(crate) fn write(write: Write) -> bool {
    let l = get();
    let ctx = l.ctx.get();
    if !ctx.is_local() {
        return false;
    }
    push_side(l, ctx.span_id, write)
}

/// [`write`] of a change made by a closure (for the `tracing` layer's fields).
#[cfg(feature = "tracing")]
#[inline]
pub(crate) fn defer(f: impl FnOnce(&mut Record) + 'static) -> bool {
    writable() && write(Write::With(Box::new(f)))
}

#[inline(never)]
fn push_side(l: &Local, span_id: u64, write: Write) -> bool {
    let pushed = SIDE.try_with(|side| {
        // Building a write runs no user code once it is here, so the buffer is never borrowed
        // twice; a failed borrow is counted like a full buffer, never a panic.
        let Ok(mut side) = side.try_borrow_mut() else { return false };
        if side.len() >= MAX_SIDE_WRITES {
            return false;
        }
        side.push((span_id, write));
        l.side_writes.set(side.len() as u32);
        true
    });
    if pushed != Ok(true) {
        DROPPED_WRITES.fetch_add(1, Ordering::Relaxed);
        return false;
    }
    true
}

/// The owner of `record` takes the writes tagged with its id, in the order they were made.
#[inline(always)]
pub(crate) fn merge_into(l: &Local, record: &mut Record) {
    if l.side_writes.get() != 0 {
        merge_slow(l, record);
    }
}

#[cold]
#[inline(never)]
fn merge_slow(l: &Local, record: &mut Record) {
    let id = record.span_id;
    let _ = SIDE.try_with(|side| {
        let Ok(mut side) = side.try_borrow_mut() else { return };
        for (_, write) in side.extract_if(.., |(span, _)| *span == id) {
            write.apply(record);
        }
        l.side_writes.set(side.len() as u32);
    });
}

/// The thread left its last scope: writes no owner took are dropped and counted.
#[cold]
#[inline(never)]
fn drop_side_writes(l: &Local) {
    let _ = SIDE.try_with(|side| {
        let Ok(mut side) = side.try_borrow_mut() else { return };
        DROPPED_WRITES.fetch_add(side.len() as u64, Ordering::Relaxed);
        side.clear();
        l.side_writes.set(0);
    });
}

/// Moves a finished record into this thread's batch with its end time; `local_root` (the thread
/// leaves its outermost span) hands the batch off.
///
/// The end time is written into the batch's copy, not into `record` before the copy: the copy's
/// wide loads over a field stored an instant earlier stalled on store forwarding (a third of
/// the copy's time).
///
/// # Safety
/// `record` points to an initialised record that the caller gives up: it must not be used or
/// dropped again.
#[inline(always)]
pub(crate) unsafe fn push(record: *const Record, end: Tick, local_root: bool) {
    // SAFETY: forwarded from the caller.
    unsafe { push_in(get(), record, end, local_root) }
}

/// [`push`] with the thread's state already at hand.
///
/// # Safety
/// As for [`push`].
#[inline(always)]
pub(crate) unsafe fn push_in(l: &Local, record: *const Record, end: Tick, local_root: bool) {
    let len = l.len.get();
    if len < l.cap.get() {
        // SAFETY: `len < cap` slots of the batch's allocation; the caller gives up `record`.
        unsafe {
            let slot = l.buf.get().add(len);
            copy_record(record, slot);
            (*slot).end = end;
        }
        l.len.set(len + 1);
        // The epoch is one load of a line written only by flushes.
        if local_root || len + 1 == l.cap.get() || l.epoch.get() != FLUSH_EPOCH.load(Ordering::Relaxed) {
            hand_off(l);
        }
    } else {
        // SAFETY: forwarded from the caller.
        unsafe { push_slow(l, record, end) };
    }
}

/// Copies the used part of a record into the batch with inline 16-byte moves.
///
/// A plain copy of the 272-byte record is a call to libc's `memcpy`, whose 64-byte loads span
/// several of the narrower stores that just built the record and wait for all of them: inline
/// 16-byte moves made the tight sync-span loop 1-2 ns faster (paired runs, 39 -> 37-38 ns). Only
/// [`Record::used_bytes`] are copied, rounded up to whole chunks: every byte written here crosses
/// to the export worker's core, and a span whose attributes are all constants (kept in its
/// `SpanMeta`) is 80 bytes of it instead of 272. The chunks are `MaybeUninit`, so padding and the
/// start of an unused slot are copied as they are.
///
/// # Safety
/// `src` is a record, `dst` room for one, not overlapping.
#[inline(always)]
unsafe fn copy_record(src: *const Record, dst: *mut Record) {
    type Chunk = MaybeUninit<u128>;
    const CHUNK: usize = std::mem::size_of::<Chunk>();
    const CHUNKS: usize = std::mem::size_of::<Record>() / CHUNK;
    /// The fixed part, always copied.
    const HEAD: usize = Record::FIXED_BYTES.div_ceil(CHUNK);
    const _: () = assert!(
        std::mem::size_of::<Record>().is_multiple_of(CHUNK) && HEAD <= CHUNKS,
        "a record is whole 16-byte chunks"
    );
    // SAFETY: `src` is an initialised record (the caller's contract).
    let used = unsafe { (*src).used_bytes() }.div_ceil(CHUNK).min(CHUNKS);
    let (src, dst) = (src.cast::<Chunk>(), dst.cast::<Chunk>());
    // SAFETY: both pointers cover `CHUNKS` chunks (the caller's contract and the size assertion
    // above) and `HEAD <= used <= CHUNKS`; unaligned reads and writes need no alignment.
    unsafe {
        for i in 0..HEAD {
            dst.add(i).write_unaligned(src.add(i).read_unaligned());
        }
        for i in HEAD..used {
            dst.add(i).write_unaligned(src.add(i).read_unaligned());
        }
    }
}

#[cold]
unsafe fn push_slow(l: &Local, record: *const Record, end: Tick) {
    // SAFETY: forwarded from `push`.
    let mut record = unsafe { record.read() };
    record.end = end;
    if l.buf.get().is_null() && EXIT.try_with(|_| ()).is_ok() {
        install(l, Vec::with_capacity(LOCAL_BATCH));
    }
    if l.len.get() < l.cap.get() {
        // SAFETY: a slot within capacity.
        unsafe { l.buf.get().add(l.len.get()).write(record) };
        l.len.set(l.len.get() + 1);
        hand_off(l);
    } else {
        // The thread is exiting and its batch is gone: send this record on its own.
        pipeline::submit(vec![record]);
    }
}

fn install(l: &Local, mut buf: Vec<Record>) {
    buf.clear();
    let cap = buf.capacity();
    let ptr = buf.as_mut_ptr();
    std::mem::forget(buf);
    l.buf.set(ptr);
    l.len.set(0);
    l.cap.set(cap);
}

/// Sends the thread's batch to the export queue.
///
/// A batch at least a quarter full leaves whole: the thread's buffer goes to the queue and a
/// recycled one from the pool takes its place, so no record is copied twice. A shorter batch (the
/// end of a small trace) is copied into a buffer of its size, so queued memory stays within four
/// records' room per queued span.
/// When the queue has no room the records are dropped where they are, before anything is spent
/// on them: an overloaded pipeline costs the application less, not more.
#[cold]
#[inline(never)]
pub(crate) fn hand_off(l: &Local) {
    l.epoch.set(FLUSH_EPOCH.load(Ordering::Relaxed));
    let len = l.len.get();
    if len == 0 {
        return;
    }
    if !pipeline::reserve(len) {
        l.len.set(0);
        for i in 0..len {
            // SAFETY: the first `len` slots are initialised records, forgotten above by `len = 0`
            // and dropped once, here (a record that owns nothing needs no drop).
            unsafe {
                let record = l.buf.get().add(i);
                if !(*record).owns_nothing() {
                    ptr::drop_in_place(record);
                }
            }
        }
        return;
    }
    if len * 4 >= l.cap.get() {
        let fresh = pipeline::take_buffer_for(l.cap.get());
        // SAFETY: the thread's buffer is the raw parts of a `Vec` with `len` initialised records.
        let full = unsafe { Vec::from_raw_parts(l.buf.get(), len, l.cap.get()) };
        install(l, fresh);
        pipeline::push_reserved(full);
        return;
    }
    let mut batch = pipeline::take_buffer_for(len);
    // SAFETY: the first `len` slots of the thread's buffer are initialised records; they are
    // moved bitwise (their used bytes) into `batch`, which has room for `len`, and forgotten here
    // by `len = 0`.
    unsafe {
        for i in 0..len {
            copy_record(l.buf.get().add(i), batch.as_mut_ptr().add(i));
        }
        batch.set_len(len);
    }
    l.len.set(0);
    pipeline::push_reserved(batch);
}

/// The thread left its outermost span (a sync root ended, or the outermost instrumented future
/// returned from a poll): what it finished leaves now, so no span waits for the thread's next one.
#[inline(always)]
pub(crate) fn left_outermost(l: &Local) {
    if l.len.get() != 0 {
        hand_off(l);
    }
}

/// Hands off whatever this thread has buffered (tests, shutdown from this thread).
pub(crate) fn flush_thread() {
    hand_off(get());
}

/// Returns the thread's batch when the thread exits.
struct ExitGuard;

impl Drop for ExitGuard {
    fn drop(&mut self) {
        let l = get();
        hand_off(l);
        let buf = l.buf.replace(ptr::null_mut());
        if !buf.is_null() {
            // SAFETY: raw parts of an empty `Vec` (just handed off); dropped once, here.
            drop(unsafe { Vec::from_raw_parts(buf, 0, l.cap.get()) });
        }
        l.cap.set(0);
        l.len.set(0);
    }
}

thread_local! {
    static EXIT: ExitGuard = const { ExitGuard };
}
