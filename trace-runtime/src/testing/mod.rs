//! Collecting the spans of a piece of code, for tests: no `init()`, no exporter, no interference
//! between tests running at the same time.
//!
//! Spans started inside the closure (or future) belong to a capture of their own: traces started
//! there, including work carried into tasks and threads with the kit's helpers, are routed to it
//! and to nothing else. The spans come back as `opentelemetry_sdk::trace::SpanData`, ordered by
//! start time, once every span that ended inside has reached the export worker.
//!
//! For agent tests: [`snapshot`] turns a captured tree into text to compare with an expected
//! string, and [`budget`] asserts cost, tokens, calls and latency over the captured spans.

mod budget;
mod snapshot;

pub use budget::{Budget, budget};
pub use snapshot::{SNAPSHOT_KEYS, snapshot, snapshot_with};

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use opentelemetry_sdk::trace::SpanData;

use crate::pipeline;
use crate::span::context::{Context, TraceFutureExt};
use crate::span::{gate, thread_state};

static NEXT_SINK: AtomicU32 = AtomicU32::new(1);

/// How long a capture waits for the export worker.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

struct Session {
    sink: u32,
    finished: bool,
}

impl Session {
    fn open() -> Self {
        let sink = NEXT_SINK.fetch_add(1, Ordering::Relaxed).max(1);
        crate::llm::stage::install();
        pipeline::open_capture(sink);
        crate::interop::install();
        gate::acquire();
        Session { sink, finished: false }
    }

    fn context(&self) -> Context {
        Context { sink: self.sink, ..Context::NONE }
    }

    fn finish(mut self) -> Vec<SpanData> {
        self.finished = true;
        thread_state::flush_thread();
        pipeline::flush(false, FLUSH_TIMEOUT);
        let mut spans = pipeline::take_capture(self.sink);
        gate::release();
        spans.sort_by_key(|s| s.start_time);
        spans
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if !self.finished {
            pipeline::take_capture(self.sink);
            gate::release();
        }
    }
}

/// Runs `f` and returns its value with the spans of the traces it started.
///
/// ```
/// use trace_runtime::{testing, trace_pipeline};
///
/// #[trace_pipeline(name = "voice", element = "vad")]
/// fn detect(frame: &[i16]) -> bool {
///     frame.iter().any(|s| s.abs() > 1000)
/// }
///
/// let (speech, spans) = testing::capture(|| detect(&[0, 4000]));
/// assert!(speech);
/// assert_eq!(spans.len(), 1);
/// assert_eq!(spans[0].name, "detect");
/// ```
pub fn capture<R>(f: impl FnOnce() -> R) -> (R, Vec<SpanData>) {
    let session = Session::open();
    let value = session.context().in_scope(f);
    (value, session.finish())
}

/// Runs `future` and returns its output with the spans of the traces it started; `Send` when
/// `future` is.
///
/// ```
/// use trace_runtime::{testing, trace_llm};
///
/// #[trace_llm(provider = "openai", model = "gpt-4o-mini")]
/// async fn complete(prompt: &str) -> String {
///     prompt.to_uppercase()
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (answer, spans) = testing::capture_async(complete("hi")).await;
/// assert_eq!(answer, "HI");
/// assert_eq!(spans[0].name, "chat gpt-4o-mini");
/// # }
/// ```
pub async fn capture_async<F: Future>(future: F) -> (F::Output, Vec<SpanData>) {
    let session = Session::open();
    let output = future.in_trace(session.context()).await;
    (output, session.finish())
}
