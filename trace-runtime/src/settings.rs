//! Settings the hot path reads after `init` (one relaxed load each).

use std::sync::atomic::{AtomicBool, Ordering};

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
