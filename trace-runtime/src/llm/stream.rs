//! Streamed LLM responses: a span that lives as long as the stream of chunks.
//!
//! [`trace_llm_stream`] wraps any `futures_core::Stream` of chunks in an LLM client span (a
//! child of the current span, named `"chat {model}"`). While the stream is consumed, the span is
//! current during each poll; a usage function reads each chunk and adds what it reports to the
//! span (so per-chunk deltas and a final total chunk both add up correctly), and the first chunk
//! sets `gen_ai.response.time_to_first_chunk` (seconds). The span ends when the stream ends, or,
//! marked cancelled (`span.cancelled = true`), when the stream is dropped before its end.
//!
//! No lock and no allocation per chunk: a chunk goes through the wrapper by value.
//!
//! ```
//! use futures::{executor::block_on, stream, StreamExt};
//! use trace_runtime::{stream::trace_llm_stream, testing, Usage};
//!
//! struct Chunk { text: &'static str, usage: Option<Usage> }
//!
//! let chunks = stream::iter([
//!     Chunk { text: "Hel", usage: None },
//!     Chunk { text: "lo", usage: Some(Usage { input_tokens: 12, output_tokens: 2, ..Default::default() }) },
//! ]);
//! let (text, spans) = block_on(testing::capture_async(async {
//!     trace_llm_stream("openai", "gpt-4o-mini", chunks, |c: &Chunk| c.usage)
//!         .map(|c| c.text)
//!         .collect::<String>()
//!         .await
//! }));
//! assert_eq!(text, "Hello");
//! assert_eq!(spans[0].name, "chat gpt-4o-mini");
//! let get = |k: &str| spans[0].attributes.iter().find(|kv| kv.key.as_str() == k).map(|kv| kv.value.clone());
//! assert_eq!(get("gen_ai.usage.output_tokens").map(|v| v.to_string()).as_deref(), Some("2"));
//! assert!(get("gen_ai.response.time_to_first_chunk").is_some());
//! ```

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use futures_core::Stream;

use crate::keys;
use crate::record::usage::Usage;
use crate::record::value::{Attr, AttrValue};
use crate::record::{Kind, Naming, SpanMeta};
use crate::span::guard::Span;
use crate::span::guard::future::Instrumented;
use crate::span::record_usage;

static STREAM_META: SpanMeta = SpanMeta {
    name: "chat",
    kind: Kind::Client,
    naming: Naming::GenAi,
    function: "",
    file: file!(),
    line: line!(),
    attrs: &[],
    associated: 0,
};

pin_project_lite::pin_project! {
    /// A stream of LLM chunks traced by a span; see [`trace_llm_stream`].
    #[must_use = "streams do nothing unless polled"]
    pub struct TracedStream<S: Stream, F> {
        #[pin]
        traced: Instrumented<Driver<S, F>>,
        done: bool,
    }
}

pin_project_lite::pin_project! {
    /// Polls the stream inside the span: a chunk is stored and the span stays open (`Pending`);
    /// the end of the stream completes the future, which ends the span.
    struct Driver<S: Stream, F> {
        #[pin]
        stream: S,
        usage: F,
        started: Instant,
        first: bool,
        chunk: Option<S::Item>,
    }
}

/// Traces `stream` as an LLM call of `provider` / `model` (operation `chat`); `usage` returns
/// the usage a chunk reports, if any. See the [module docs](self).
pub fn trace_llm_stream<S, F>(provider: &str, model: &str, stream: S, usage: F) -> TracedStream<S, F>
where
    S: Stream,
    F: FnMut(&S::Item) -> Option<Usage>,
{
    let mut span = Span::new(&STREAM_META);
    if span.is_recording() {
        span.attr(Attr::new(keys::gen_ai::operation::name.name(), AttrValue::Static("chat")));
        span.attr(Attr::new(keys::gen_ai::provider::name.name(), AttrValue::copy_str(provider)));
        span.attr(Attr::new(keys::gen_ai::request::model.name(), AttrValue::copy_str(model)));
    }
    let driver = Driver { stream, usage, started: Instant::now(), first: true, chunk: None };
    TracedStream { traced: Instrumented::new(span, driver), done: false }
}

impl<S: Stream, F: FnMut(&S::Item) -> Option<Usage>> std::future::Future for Driver<S, F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if this.chunk.is_some() {
            // The wrapper has not taken the last chunk yet (it always does): keep the span open.
            return Poll::Pending;
        }
        match this.stream.poll_next(cx) {
            Poll::Ready(Some(chunk)) => {
                if std::mem::replace(this.first, false) {
                    crate::span::set(
                        keys::gen_ai::response::time_to_first_chunk,
                        this.started.elapsed().as_secs_f64(),
                    );
                }
                if let Some(usage) = (this.usage)(&chunk) {
                    record_usage(usage);
                }
                *this.chunk = Some(chunk);
                // The wrapper returns the chunk right away, so no wake-up is owed here.
                Poll::Pending
            }
            Poll::Ready(None) => Poll::Ready(()),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: Stream, F: FnMut(&S::Item) -> Option<Usage>> Stream for TracedStream<S, F> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let mut this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        if this.traced.as_mut().poll(cx).is_ready() {
            *this.done = true;
            return Poll::Ready(None);
        }
        match this.traced.inner_pin_mut().project().chunk.take() {
            Some(chunk) => Poll::Ready(Some(chunk)),
            None => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use futures::{StreamExt, executor::block_on, stream};

    fn usage(output: u64) -> Usage {
        Usage { input_tokens: 1, output_tokens: output, ..Default::default() }
    }

    #[test]
    fn usage_of_every_chunk_adds_up_and_the_span_ends_with_the_stream() {
        let (n, spans) = block_on(testing::capture_async(async {
            let chunks = stream::iter([3u64, 4, 5]);
            trace_llm_stream("anthropic", "claude-3-5-haiku", chunks, |c| Some(usage(*c))).count().await
        }));
        assert_eq!(n, 3);
        assert_eq!(spans.len(), 1);
        let get = |k: &str| {
            spans[0].attributes.iter().find(|kv| kv.key.as_str() == k).map(|kv| kv.value.to_string())
        };
        assert_eq!(get("gen_ai.usage.output_tokens").as_deref(), Some("12"));
        assert_eq!(get("gen_ai.usage.input_tokens").as_deref(), Some("3"));
        assert_eq!(get("span.cancelled"), None);
        let ttfc: f64 = get("gen_ai.response.time_to_first_chunk").unwrap().parse().unwrap();
        assert!(ttfc >= 0.0);
    }

    #[test]
    fn a_dropped_stream_ends_its_span_cancelled_with_the_usage_so_far() {
        let (first, spans) = block_on(testing::capture_async(async {
            let mut traced =
                Box::pin(trace_llm_stream("openai", "gpt-4o", stream::iter([7u64, 8, 9]), |c| {
                    Some(usage(*c))
                }));
            traced.next().await
        }));
        assert_eq!(first, Some(7));
        let get = |k: &str| {
            spans[0].attributes.iter().find(|kv| kv.key.as_str() == k).map(|kv| kv.value.to_string())
        };
        assert_eq!(get("span.cancelled").as_deref(), Some("true"));
        assert_eq!(get("gen_ai.usage.output_tokens").as_deref(), Some("7"));
    }

    #[test]
    fn outside_a_trace_the_stream_passes_through() {
        let items: Vec<u64> =
            block_on(trace_llm_stream("openai", "gpt-4o", stream::iter([1u64, 2]), |_| None).collect());
        assert_eq!(items, [1, 2]);
    }
}
