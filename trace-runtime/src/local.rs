//! Per-thread state: the current span context, the id generator and the batch of finished records.
//!
//! One `const`-initialised thread-local without `Drop`, so every access compiles to a plain
//! thread-pointer offset with no lazy-initialisation check. Finished records are written into a
//! thread-local batch and handed to the export queue whole: when the batch is full, or when the
//! thread's outermost span ends (so a finished trace never waits in an idle thread's buffer).

use std::cell::Cell;
use std::mem::MaybeUninit;
use std::ptr;

use crate::clock::Tick;
use crate::ids::IdGen;
use crate::pipeline;
use crate::record::Record;

/// Records per thread-local batch.
pub(crate) const LOCAL_BATCH: usize = 64;

pub(crate) mod ctx_flags {
    pub(crate) const SAMPLED: u8 = 1;
    pub(crate) const REMOTE: u8 = 2;
    /// The trace is recorded for adaptive sampling only (`record::flags::SAMPLED_OUT`).
    pub(crate) const SAMPLED_OUT: u8 = crate::record::flags::SAMPLED_OUT;
}

/// The current span as children see it.
#[derive(Clone, Copy)]
pub(crate) struct Ctx {
    /// `0`: no current trace.
    pub(crate) trace_id: u128,
    pub(crate) span_id: u64,
    /// The innermost span recording on this thread, for attributes set from the body; null when
    /// the current span lives elsewhere (another thread, another process) or is not sampled.
    pub(crate) record: *mut Record,
    /// Where the trace's records go: `0` the export pipeline, otherwise a `testing::capture`.
    pub(crate) sink: u32,
    pub(crate) flags: u8,
}

impl Ctx {
    pub(crate) const EMPTY: Ctx = Ctx { trace_id: 0, span_id: 0, record: ptr::null_mut(), sink: 0, flags: 0 };

    #[inline(always)]
    pub(crate) fn sampled(&self) -> bool {
        self.flags & ctx_flags::SAMPLED != 0
    }
}

pub(crate) struct Local {
    pub(crate) ctx: Cell<Ctx>,
    pub(crate) ids: IdGen,
    buf: Cell<*mut Record>,
    len: Cell<usize>,
    cap: Cell<usize>,
}

thread_local! {
    pub(crate) static LOCAL: Local = const {
        Local {
            ctx: Cell::new(Ctx::EMPTY),
            ids: IdGen::new(),
            buf: Cell::new(ptr::null_mut()),
            len: Cell::new(0),
            cap: Cell::new(0),
        }
    };
}

/// This thread's state. A `const` thread-local without `Drop` lives as long as its thread and is
/// never destroyed, so the reference stays valid for any use on this thread.
#[inline(always)]
pub(crate) fn get() -> &'static Local {
    // SAFETY: see above; `Local` is only reached from its own thread (it is `!Sync`).
    LOCAL.with(|l| unsafe { &*(l as *const Local) })
}

/// The current context, as a value.
#[inline]
pub(crate) fn current() -> Ctx {
    get().ctx.get()
}

/// Replaces the current context, returning the previous one.
#[inline(always)]
pub(crate) fn swap(ctx: Ctx) -> Ctx {
    get().ctx.replace(ctx)
}

/// Runs `f` on the record of the innermost recording span of this thread, if any.
#[inline]
pub(crate) fn with_current_record(f: impl FnOnce(&mut Record)) {
    let record = get().ctx.get().record;
    if !record.is_null() {
        // SAFETY: a non-null `record` points into a span that is entered on this thread (a pinned
        // sync guard, or an async span being polled); the span resets the context before its
        // record moves or ends, and nothing else touches the record while its body runs.
        f(unsafe { &mut *record });
    }
}

/// Moves a finished record into this thread's batch with its end time; `local_root` hands the
/// batch off.
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
    let l = get();
    let len = l.len.get();
    if len < l.cap.get() {
        // SAFETY: `len < cap` slots of the batch's allocation; the caller gives up `record`.
        unsafe {
            let slot = l.buf.get().add(len);
            copy_record(record, slot);
            (*slot).end = end;
        }
        l.len.set(len + 1);
        if local_root || len + 1 == l.cap.get() {
            hand_off(l);
        }
    } else {
        // SAFETY: forwarded from the caller.
        unsafe { push_slow(l, record, end) };
    }
}

/// Copies a record into the batch with inline 16-byte moves.
///
/// A plain copy of the 272-byte record is a call to libc's `memcpy`, whose 64-byte loads span
/// several of the narrower stores that just built the record and wait for all of them: inline
/// 16-byte moves made the tight sync-span loop 1-2 ns faster (paired runs, 39 -> 37-38 ns). The
/// chunks are `MaybeUninit`, so the record's padding and unused slots are copied as they are.
///
/// # Safety
/// `src` is a record, `dst` room for one, not overlapping.
#[inline(always)]
unsafe fn copy_record(src: *const Record, dst: *mut Record) {
    type Chunk = MaybeUninit<u128>;
    const CHUNKS: usize = std::mem::size_of::<Record>() / std::mem::size_of::<Chunk>();
    const _: () = assert!(
        std::mem::size_of::<Record>().is_multiple_of(std::mem::size_of::<Chunk>()),
        "a record is whole 16-byte chunks"
    );
    let (src, dst) = (src.cast::<Chunk>(), dst.cast::<Chunk>());
    let mut i = 0;
    while i < CHUNKS {
        // SAFETY: both pointers cover `CHUNKS` chunks (the caller's contract and the size
        // assertion above); unaligned reads and writes need no alignment.
        unsafe { dst.add(i).write_unaligned(src.add(i).read_unaligned()) };
        i += 1;
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
/// A full batch leaves whole: the thread's buffer goes to the queue and a recycled one from the
/// pool takes its place, so no record is copied twice. A short batch (the end of a small trace)
/// is copied into a buffer of its size, so queued memory stays in proportion to queued spans.
/// When the queue has no room the records are dropped where they are, before anything is spent
/// on them: an overloaded pipeline costs the application less, not more.
#[cold]
#[inline(never)]
pub(crate) fn hand_off(l: &Local) {
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
    if len == l.cap.get() {
        let fresh = pipeline::take_buffer_for(len);
        // SAFETY: the thread's buffer is the raw parts of a `Vec` with `len` initialised records.
        let full = unsafe { Vec::from_raw_parts(l.buf.get(), len, l.cap.get()) };
        install(l, fresh);
        pipeline::push_reserved(full);
        return;
    }
    let mut batch = pipeline::take_buffer_for(len);
    // SAFETY: the first `len` slots of the thread's buffer are initialised records; they are
    // moved bitwise into `batch` (which has room for `len`) and forgotten here by `len = 0`.
    unsafe {
        batch.as_mut_ptr().copy_from_nonoverlapping(l.buf.get(), len);
        batch.set_len(len);
    }
    l.len.set(0);
    pipeline::push_reserved(batch);
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
