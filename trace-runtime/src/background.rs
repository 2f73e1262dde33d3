//! The kit's own threads (the export worker and its exporter lanes, the log, sink and telemetry
//! senders) yield to the application's.
//!
//! Each lowers its scheduling priority (a Linux `nice` increment, per thread there; nothing
//! elsewhere): [`DEFAULT_NICE`], or for the export worker `TRACE_EXPORT_NICE` /
//! [`ConfigBuilder::export_nice`](crate::config::ConfigBuilder::export_nice), which its lanes
//! inherit since the worker starts them. On a machine with idle cores nothing changes; on a
//! saturated one the application's threads run first, and the export worker falls behind
//! instead, which the bounded queue turns into counted drops. Measured on 2 cores: without it a
//! tight loop of sync spans ran at 39 to 93 ns a span, depending on whether the scheduler put an
//! export thread beside it; with it, at 39 ns, run after run. The cost is delivery when the
//! application saturates every core (the throughput bench's first row: about 1.7 M spans/s
//! delivered instead of 3.6-5.5 M, while the application records 40-65 % more).

/// Nice increment of the kit's threads unless configured.
pub(crate) const DEFAULT_NICE: u8 = 5;

/// A thread's priority, set relative to the nice value it started with (inherited from the
/// thread that spawned it), so that setting it again replaces the increment instead of adding.
pub(crate) struct Priority {
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    base: i32,
}

impl Priority {
    /// The calling thread's priority as it is now.
    pub(crate) fn of_current_thread() -> Self {
        #[cfg(target_os = "linux")]
        {
            // SAFETY: `getpriority` only reads its integer arguments; on Linux, `PRIO_PROCESS`
            // with `who = 0` is the calling thread.
            let base = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
            Priority { base }
        }
        #[cfg(not(target_os = "linux"))]
        Priority { base: 0 }
    }

    /// Makes the calling thread `nice` lower in priority than it started. A refusal (a sandbox
    /// forbidding it, or raising a priority back without `CAP_SYS_NICE`) leaves the priority as
    /// it was: callers set a thread's priority once, to its final value, so that only a second
    /// pipeline asking for a higher priority than the first can meet that refusal.
    pub(crate) fn set(&self, nice: u8) {
        #[cfg(target_os = "linux")]
        {
            let target = (self.base + i32::from(nice)).clamp(-20, 19);
            // SAFETY: as in `of_current_thread`; raising a thread's own nice needs no privilege.
            unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, target) };
        }
        #[cfg(not(target_os = "linux"))]
        let _ = nice;
    }
}

/// Starts a kit thread named `name` that lowers its priority by [`DEFAULT_NICE`] before
/// running `f` (threads the export worker starts inherit its priority instead).
pub(crate) fn spawn<T: Send + 'static>(
    name: String,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<T>> {
    std::thread::Builder::new().name(name).spawn(move || {
        mark_kit_thread();
        Priority::of_current_thread().set(DEFAULT_NICE);
        f()
    })
}

thread_local! {
    static KIT_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks the calling thread as one of the kit's: what it logs through the `log` crate (its HTTP
/// clients do) is not fed back into the kit's own logs.
pub(crate) fn mark_kit_thread() {
    KIT_THREAD.with(|kit| kit.set(true));
}

/// Whether the calling thread is one of the kit's.
#[cfg_attr(not(feature = "log"), allow(dead_code))]
pub(crate) fn is_kit_thread() -> bool {
    KIT_THREAD.with(std::cell::Cell::get)
}
