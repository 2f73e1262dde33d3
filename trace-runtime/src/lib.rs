//! OpenTelemetry tracing for LLM agents and realtime AI pipelines: one attribute per function,
//! keys checked by the compiler, and an overhead small enough for a per-audio-frame function.
//!
//! ```rust,standalone_crate
//! use trace_runtime::{record_usage, trace, trace_llm, trace_pipeline, Usage};
//!
//! #[trace_llm(provider = "openai", model = "gpt-4o-mini")]
//! async fn complete(prompt: &str) -> Result<String, std::io::Error> {
//!     record_usage(Usage { input_tokens: 31, output_tokens: 27, ..Default::default() });
//!     Ok(prompt.to_uppercase())
//! }
//!
//! #[trace_pipeline(name = "voice", element = "resample", fields(audio.sample_rate = 16000))]
//! fn resample(samples: &[i16]) -> Vec<i16> {
//!     samples.iter().step_by(3).copied().collect()
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let _guard = trace_runtime::init().expect("tracing settings"); // TRACE_EXPORTER=stdout by default
//! let answer = trace!("turn", session.id = "s-1", async {
//!     resample(&[0; 480]);
//!     complete("hello").await
//! })
//! .await;
//! assert_eq!(answer.unwrap(), "HELLO");
//! # }
//! ```
//!
//! - Spans follow the OpenTelemetry GenAI conventions for LLM calls and the kit's
//!   [`keys`] for pipelines, connections, audio, video and speech.
//! - Parentage holds across `.await`, tasks and threads ([`spawn`], [`thread::spawn`],
//!   [`TraceFutureExt::in_current_trace`]); errors, panics and cancelled futures are recorded.
//! - [`init`] reads the environment ([`config`]); [`testing::capture`] collects spans in tests.
//! - Export runs on a worker thread behind a bounded queue: the application never waits for it.
//! - One trace across services and libraries: W3C [`propagation`] (`inject` / `extract`), the
//!   OpenTelemetry API ([`otel`], installed as the global provider) and `tracing` ([`tracing_layer`]).
//! - Tokens and cost per trace and per process ([`tokens`], [`cost`]), a summary table when a
//!   trace ends ([`summary`]), streamed responses ([`stream`]), opt-in prompt capture ([`io`])
//!   scrubbed by [`redact`] before export, and speech, media and connection helpers
//!   ([`realtime`]).

// docs.rs: each feature-gated item says which cargo feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate self as trace_runtime;

mod background;
pub mod config;
mod export;
mod init;
mod interop;
pub mod keys;
mod llm;
pub mod log;
mod metrics;
mod pipeline;
pub mod privacy;
pub mod realtime;
mod record;
pub mod span;
pub mod telemetry;
pub mod testing;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use opentelemetry;
pub use opentelemetry_sdk;

pub use config::{Config, ConfigBuilder, ConfigError};
pub use export::ConsoleExporter;
#[cfg(feature = "sinks")]
pub use export::sinks;
#[cfg(any(feature = "file-store", feature = "sqlite"))]
pub use export::store;
pub use init::{InitError, ShutdownError, TraceGuard, init, init_with};
pub use llm::stream::trace_llm_stream;
pub use llm::summary::TraceSummary;
pub use llm::{cost, io, stream, summary, tokens};
pub use metrics::{BreakerState, ExporterMetrics, Metrics, metrics};
pub use record::limits;
pub use record::usage::Usage;
#[cfg(feature = "tokio")]
pub use span::context::spawn;
pub use span::context::{Context, ContextGuard, TraceFutureExt, WithContext, current_context, thread};
pub use span::gate::capture_io_enabled;
pub use span::record_usage;
pub use span::{log_with_trace, span_id, trace_id};

// Across services and libraries: the OpenTelemetry API, `tracing`, W3C Trace Context.
pub use interop::propagation::{extract, inject};
#[cfg(feature = "tracing")]
pub use interop::tracing::{TracingLayer, tracing_layer};
pub use interop::{otel, propagation};
pub use privacy::redact;

/// Traces an LLM call as an OpenTelemetry GenAI client span.
///
/// Arguments: `provider = EXPR` and `model = EXPR` (required), `operation = EXPR` (default
/// `"chat"`), `usage = path` (a `fn(&T) -> Usage` applied to the return value, or to the `Ok`
/// value of a `Result`), `fields(key = EXPR, ...)` and `span_name = "..."`. The span is named
/// `"{operation} {model}"`, has kind Client, and carries `gen_ai.operation.name`,
/// `gen_ai.provider.name` and `gen_ai.request.model`. Argument expressions may use `self` and the
/// function's arguments (borrow them, `model.as_str()`: the body still needs them); they are
/// evaluated only when the span records. Function arguments are never recorded unless named in
/// `fields`.
///
/// ```
/// use trace_runtime::{testing, trace_llm, Usage};
///
/// struct Client { model: String }
/// struct Reply { text: String, prompt_tokens: u64 }
///
/// fn usage_of(reply: &Reply) -> Usage {
///     Usage { input_tokens: reply.prompt_tokens, ..Default::default() }
/// }
///
/// impl Client {
///     #[trace_llm(provider = "openai", model = self.model.as_str(), usage = usage_of,
///                 fields(gen_ai.request.temperature = 0.2))]
///     fn complete(&self, prompt: &str) -> Result<Reply, String> {
///         Ok(Reply { text: prompt.to_string(), prompt_tokens: 12 })
///     }
/// }
///
/// let client = Client { model: "gpt-4o".into() };
/// let (_, spans) = testing::capture(|| client.complete("hi"));
/// assert_eq!(spans[0].name, "chat gpt-4o");
/// assert_eq!(spans[0].span_kind, trace_runtime::opentelemetry::trace::SpanKind::Client);
/// ```
///
/// The expansion of `#[trace_llm(provider = "openai", model = "gpt-4o")] fn f() -> R { body }`
/// (key checks abbreviated):
///
/// ```text
/// fn f() -> R {
///     static __TRACE_META: SpanMeta = SpanMeta { name: "chat gpt-4o", kind: Kind::Client, .. };
///     let mut __trace_span = Span::new(&__TRACE_META);   // one relaxed load when off
///     if __trace_span.is_recording() {
///         // One call for all the attributes: a single bounds check, then writes at fixed offsets.
///         __trace_span.attrs([
///             /* gen_ai.operation.name = "chat", as below */,
///             // Each key segment resolves through its own `use`, so a typo is one error at that
///             // segment; a string literal is stored without a copy, other values go through the
///             // key's trait, which rejects a wrongly typed value with a message naming the key.
///             { use ::trace_runtime::keys::gen_ai as gen_ai; use gen_ai::provider as provider;
///               use provider::name as name; <&'static str as name>::__static_attr("openai") },
///             /* gen_ai.request.model, likewise */
///         ]);
///     }
///     // (sync fns build the span in place: `let slot = RecordSlot::new();
///     //  let mut __trace_guard = pin!(ScopedSpan::new_in(&__TRACE_META, &slot));`)
///     __trace_guard.as_mut().enter();                     // start clock, make current
///     let __trace_ret = call_once(move || -> R { body });
///     (&&Outcome(&__trace_ret)).__trace_outcome();       // Err(e) -> status Error, e's text
///     __trace_ret                                         // guard drop: end clock, hand off
/// }
/// ```
///
/// An `async fn` gets the same start, in a block that ends before the await (so the moved span
/// takes no room in the fn's future), then awaits the span's future:
/// `let f = { /* start */ Instrumented::new(__trace_span, async move { let r = async move { body }.await; ...; r }) };
/// f.await`: the span is current on every poll and ends, marked cancelled, if the future is
/// dropped early.
pub use trace_macros::trace_llm;

/// Traces a step of a realtime pipeline: `pipeline.name` and `pipeline.element`.
///
/// Arguments: `name = EXPR`, `element = EXPR` (required), `fields(key = EXPR, ...)`,
/// `span_name = "..."` (default: the function's name).
///
/// ```
/// use trace_runtime::{testing, trace_pipeline};
///
/// #[trace_pipeline(name = "voice", element = "resample",
///                  fields(audio.sample_rate = 16000, audio.channels = 1))]
/// fn resample(samples: &[i16]) -> Vec<i16> {
///     samples.iter().step_by(3).copied().collect()
/// }
///
/// let (out, spans) = testing::capture(|| resample(&[1, 2, 3, 4]));
/// assert_eq!(out, vec![1, 4]);
/// assert_eq!(spans[0].name, "resample");
/// ```
///
/// Expansion: as for [`trace_llm`], with kind Internal, the function's name as span name and
/// `pipeline.name` / `pipeline.element` as the first attributes.
pub use trace_macros::trace_pipeline;

/// Traces work on a network connection: `connection.id`, `connection.type` and, optionally,
/// `connection.state`.
///
/// Arguments: `id = EXPR`, `kind = EXPR` (required), `state = EXPR`, `fields(key = EXPR, ...)`,
/// `span_name = "..."`.
///
/// ```
/// use trace_runtime::{testing, trace_connection};
///
/// #[trace_connection(id = conn_id, kind = "webrtc", state = "connected")]
/// async fn serve(conn_id: &str) -> usize {
///     conn_id.len()
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (_, spans) = testing::capture_async(serve("c-42")).await;
/// let id = spans[0].attributes.iter().find(|kv| kv.key.as_str() == "connection.id").unwrap();
/// assert_eq!(id.value.as_str(), "c-42");
/// # }
/// ```
///
/// Expansion: as for [`trace_llm`], with kind Internal and the connection attributes first.
pub use trace_macros::trace_connection;

/// Traces a block: `trace!(NAME, key = EXPR, ..., { block })` evaluates to the block's value;
/// with `async { }` / `async move { }` last, it evaluates to a future of the traced block.
///
/// `NAME` is a string literal, or any expression giving a `String` / `&'static str`. Keys are
/// checked like `fields(...)` of the attribute macros; `"any.key" = v` is unchecked. The block's
/// value is returned untouched (its type is inferred as without the macro), so an `Err` it
/// evaluates to is not inspected: return it from a traced fn, or call
/// [`span::record_error`], to mark the span.
///
/// ```
/// use trace_runtime::{testing, trace};
///
/// let (n, spans) = testing::capture(|| trace!("turn", session.id = "s-1", { 40 + 2 }));
/// assert_eq!(n, 42);
/// assert_eq!(spans[0].name, "turn");
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let sid = String::from("s-2");
/// let (_, spans) = testing::capture_async(trace!("turn", session.id = sid.as_str(), async move {
///     tokio::task::yield_now().await;
/// }))
/// .await;
/// assert_eq!(spans.len(), 1);
/// # }
/// ```
///
/// Expansion of the block form:
///
/// ```text
/// {
///     static __TRACE_META: SpanMeta = SpanMeta { name: "turn", kind: Kind::Internal, .. };
///     let mut __trace_span = Span::new(&__TRACE_META);
///     if __trace_span.is_recording() { __trace_span.attrs([/* session.id, checked */]); }
///     let mut __trace_guard = ::core::pin::pin!(__trace_span);
///     __trace_guard.as_mut().enter();
///     /* the block's statements, spliced: the last one is the value */
/// }
/// ```
///
/// and of the async form, where the span starts with the future and is current on every poll:
///
/// ```text
/// { /* static, span and attributes as above */ Instrumented::new(__trace_span, async { .. }) }
/// ```
pub use trace_macros::trace;

/// Declares typed attribute keys: a [`keys::Key`] const and a value check usable in `fields(...)`
/// and `trace!` by path.
///
/// Each key is `name: Type` with `Type` one of `String`, `i64`, `f64`, `bool`, `Vec<String>`; the
/// wire name is the module path joined by dots (`billing.customer` below), or `= "wire.name"`.
///
/// ```
/// mod my_keys {
///     trace_runtime::define_keys! {
///         pub mod billing {
///             /// Customer the call is billed to.
///             customer: String,
///             /// Credits charged.
///             credits: i64 = "billing.credits_charged",
///         }
///     }
/// }
///
/// let (_, spans) = trace_runtime::testing::capture(|| {
///     trace_runtime::trace!("charge", my_keys::billing::credits = 3, {
///         trace_runtime::span::set(my_keys::billing::customer, "acme");
///     })
/// });
/// assert_eq!(spans[0].attributes[0].key.as_str(), "billing.credits_charged");
/// assert_eq!(spans[0].attributes[1].key.as_str(), "billing.customer");
/// ```
pub use trace_macros::define_keys;
