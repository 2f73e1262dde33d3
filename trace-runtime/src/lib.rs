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
/// # Expansion
///
/// A sync fn,
///
/// <!-- expansion-input: trace_llm -->
/// ```
/// # use trace_runtime::{testing, trace_llm, Usage};
/// # struct Reply { prompt_tokens: u64 }
/// # fn usage_of(reply: &Reply) -> Usage {
/// #     Usage { input_tokens: reply.prompt_tokens, ..Default::default() }
/// # }
/// #[trace_llm(provider = "openai", model = "gpt-4o", usage = usage_of)]
/// fn complete(prompt: &str) -> Result<Reply, String> {
///     Ok(Reply { prompt_tokens: prompt.len() as u64 })
/// }
/// # let (reply, spans) = testing::capture(|| complete("hi"));
/// # assert_eq!(reply.unwrap().prompt_tokens, 2);
/// # assert_eq!(spans[0].name, "chat gpt-4o");
/// ```
///
/// expands to (the key checks are the `use` chains; the span lives in the fn's stack frame):
///
/// <!-- expansion-output: trace_llm -->
/// ```
/// # use trace_runtime::{testing, trace_llm, Usage};
/// # struct Reply { prompt_tokens: u64 }
/// # fn usage_of(reply: &Reply) -> Usage {
/// #     Usage { input_tokens: reply.prompt_tokens, ..Default::default() }
/// # }
/// fn complete(prompt: &str) -> Result<Reply, String> {
///     static __TRACE_META: ::trace_runtime::__private::SpanMeta = ::trace_runtime::__private::SpanMeta {
///         name: "chat gpt-4o",
///         kind: ::trace_runtime::__private::Kind::Client,
///         naming: ::trace_runtime::__private::Naming::Static,
///         function: ::core::concat!(::core::module_path!(), "::", "complete"),
///         file: ::core::file!(),
///         line: ::core::line!(),
///     };
///     let mut __trace_slot = ::trace_runtime::__private::RecordSlot::new();
///     // One relaxed load when tracing is off: then nothing below records.
///     let mut __trace_guard =
///         ::trace_runtime::__private::ScopedSpan::new_in(&__TRACE_META, &mut __trace_slot);
///     if __trace_guard.is_recording() {
///         // Each key segment resolves through its own `use`, so a typo is one error there.
///         __trace_guard.attrs([
///             {
///                 use ::trace_runtime::keys::gen_ai as gen_ai;
///                 {
///                     use gen_ai::operation as operation;
///                     {
///                         use operation::name as name;
///                         <&'static str as name>::__static_attr("chat")
///                     }
///                 }
///             },
///             {
///                 use ::trace_runtime::keys::gen_ai as gen_ai;
///                 {
///                     use gen_ai::provider as provider;
///                     {
///                         use provider::name as name;
///                         <&'static str as name>::__static_attr("openai")
///                     }
///                 }
///             },
///             {
///                 use ::trace_runtime::keys::gen_ai as gen_ai;
///                 {
///                     use gen_ai::request as request;
///                     {
///                         use request::model as model;
///                         <&'static str as model>::__static_attr("gpt-4o")
///                     }
///                 }
///             }
///         ]);
///     }
///     // Starts the clock and makes the span current; the guard's drop ends it.
///     __trace_guard.enter();
///     #[allow(clippy::redundant_closure_call)]
///     let __trace_ret = ::trace_runtime::__private::call_once(move || -> Result<Reply, String> {
///         Ok(Reply { prompt_tokens: prompt.len() as u64 })
///     });
///     #[allow(unused_imports)]
///     use ::trace_runtime::__private::{
///         OutputOfOk as _, OutputOfValue as _, RecordDebugErr as _, RecordDisplayErr as _,
///         RecordNothing as _, UsageOfOk as _, UsageOfValue as _,
///     };
///     (&&::trace_runtime::__private::Outcome(&__trace_ret)).__trace_outcome();
///     #[allow(clippy::redundant_closure)]
///     let () = (&::trace_runtime::__private::Outcome(&__trace_ret))
///         .__trace_usage(|__trace_usage_of| usage_of(__trace_usage_of));
///     __trace_ret
/// }
/// # let (reply, spans) = testing::capture(|| complete("hi"));
/// # assert_eq!(reply.unwrap().prompt_tokens, 2);
/// # assert_eq!(spans[0].name, "chat gpt-4o");
/// ```
///
/// An `async fn`,
///
/// <!-- expansion-input: trace_llm-async -->
/// ```
/// # use trace_runtime::{testing, trace_llm};
/// #[trace_llm(provider = "anthropic", model = model, operation = "text_completion")]
/// async fn complete(model: &str, prompt: &str) -> Result<String, std::io::Error> {
///     Ok(prompt.to_uppercase())
/// }
/// # futures::executor::block_on(async {
/// # let (reply, spans) = testing::capture_async(complete("claude-haiku", "hi")).await;
/// # assert_eq!(reply.unwrap(), "HI");
/// # assert_eq!(spans[0].name, "text_completion claude-haiku");
/// # });
/// ```
///
/// expands to (the span is named at run time from the operation and the model):
///
/// <!-- expansion-output: trace_llm-async -->
/// ```
/// # use trace_runtime::{testing, trace_llm};
/// async fn complete(model: &str, prompt: &str) -> Result<String, std::io::Error> {
///     let __trace_future = {
///         static __TRACE_META: ::trace_runtime::__private::SpanMeta =
///             ::trace_runtime::__private::SpanMeta {
///                 name: "complete",
///                 kind: ::trace_runtime::__private::Kind::Client,
///                 naming: ::trace_runtime::__private::Naming::GenAi,
///                 function: ::core::concat!(::core::module_path!(), "::", "complete"),
///                 file: ::core::file!(),
///                 line: ::core::line!(),
///             };
///         // One relaxed load when tracing is off: then nothing below records.
///         let mut __trace_span = ::trace_runtime::__private::Span::new(&__TRACE_META);
///         if __trace_span.is_recording() {
///             // Each key segment resolves through its own `use`, so a typo is one error there.
///             __trace_span.attrs([
///                 {
///                     use ::trace_runtime::keys::gen_ai as gen_ai;
///                     {
///                         use gen_ai::operation as operation;
///                         {
///                             use operation::name as name;
///                             <&'static str as name>::__static_attr("text_completion")
///                         }
///                     }
///                 },
///                 {
///                     use ::trace_runtime::keys::gen_ai as gen_ai;
///                     {
///                         use gen_ai::provider as provider;
///                         {
///                             use provider::name as name;
///                             <&'static str as name>::__static_attr("anthropic")
///                         }
///                     }
///                 },
///                 match model {
///                     __trace_value => {
///                         use ::trace_runtime::keys::gen_ai as gen_ai;
///                         {
///                             use gen_ai::request as request;
///                             {
///                                 use request::model as model;
///                                 <_ as model>::__attr(__trace_value)
///                             }
///                         }
///                     }
///                 }
///             ]);
///         }
///         // The span is current on every poll and ends with the future (cancelled if dropped).
///         ::trace_runtime::__private::Instrumented::new(__trace_span, async move {
///             let __trace_ret = async move {
///                 #[allow(
///                     unreachable_code,
///                     clippy::diverging_sub_expression,
///                     clippy::empty_loop,
///                     clippy::needless_return
///                 )]
///                 if false {
///                     let __trace_fake_return: Result<String, std::io::Error> = loop {};
///                     return __trace_fake_return;
///                 }
///                 Ok(prompt.to_uppercase())
///             }
///             .await;
///             #[allow(unused_imports)]
///             use ::trace_runtime::__private::{
///                 OutputOfOk as _, OutputOfValue as _, RecordDebugErr as _, RecordDisplayErr as _,
///                 RecordNothing as _, UsageOfOk as _, UsageOfValue as _,
///             };
///             (&&::trace_runtime::__private::Outcome(&__trace_ret)).__trace_outcome();
///             __trace_ret
///         })
///     };
///     __trace_future.await
/// }
/// # futures::executor::block_on(async {
/// # let (reply, spans) = testing::capture_async(complete("claude-haiku", "hi")).await;
/// # assert_eq!(reply.unwrap(), "HI");
/// # assert_eq!(spans[0].name, "text_completion claude-haiku");
/// # });
/// ```
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
/// # Expansion
///
/// <!-- expansion-input: trace_pipeline -->
/// ```
/// # use trace_runtime::{testing, trace_pipeline};
/// #[trace_pipeline(name = "voice", element = "resample", fields(audio.sample_rate = rate))]
/// fn resample(samples: &[i16], rate: i64) -> Vec<i16> {
///     samples.iter().step_by(3).copied().collect()
/// }
/// # let (out, spans) = testing::capture(|| resample(&[1, 2, 3, 4], 16000));
/// # assert_eq!(out, [1, 4]);
/// # assert_eq!(spans[0].name, "resample");
/// ```
///
/// expands to:
///
/// <!-- expansion-output: trace_pipeline -->
/// ```
/// # use trace_runtime::{testing, trace_pipeline};
/// fn resample(samples: &[i16], rate: i64) -> Vec<i16> {
///     static __TRACE_META: ::trace_runtime::__private::SpanMeta = ::trace_runtime::__private::SpanMeta {
///         name: "resample",
///         kind: ::trace_runtime::__private::Kind::Internal,
///         naming: ::trace_runtime::__private::Naming::Static,
///         function: ::core::concat!(::core::module_path!(), "::", "resample"),
///         file: ::core::file!(),
///         line: ::core::line!(),
///     };
///     let mut __trace_slot = ::trace_runtime::__private::RecordSlot::new();
///     // One relaxed load when tracing is off: then nothing below records.
///     let mut __trace_guard =
///         ::trace_runtime::__private::ScopedSpan::new_in(&__TRACE_META, &mut __trace_slot);
///     if __trace_guard.is_recording() {
///         // Each key segment resolves through its own `use`, so a typo is one error there.
///         __trace_guard.attrs([
///             {
///                 use ::trace_runtime::keys::pipeline as pipeline;
///                 {
///                     use pipeline::name as name;
///                     <&'static str as name>::__static_attr("voice")
///                 }
///             },
///             {
///                 use ::trace_runtime::keys::pipeline as pipeline;
///                 {
///                     use pipeline::element as element;
///                     <&'static str as element>::__static_attr("resample")
///                 }
///             },
///             match rate {
///                 __trace_value => {
///                     use ::trace_runtime::keys::audio as audio;
///                     {
///                         use audio::sample_rate as sample_rate;
///                         <_ as sample_rate>::__attr(__trace_value)
///                     }
///                 }
///             }
///         ]);
///     }
///     // Starts the clock and makes the span current; the guard's drop ends it.
///     __trace_guard.enter();
///     #[allow(clippy::redundant_closure_call)]
///     let __trace_ret = ::trace_runtime::__private::call_once(move || -> Vec<i16> {
///         samples.iter().step_by(3).copied().collect()
///     });
///     #[allow(unused_imports)]
///     use ::trace_runtime::__private::{
///         OutputOfOk as _, OutputOfValue as _, RecordDebugErr as _, RecordDisplayErr as _,
///         RecordNothing as _, UsageOfOk as _, UsageOfValue as _,
///     };
///     (&&::trace_runtime::__private::Outcome(&__trace_ret)).__trace_outcome();
///     __trace_ret
/// }
/// # let (out, spans) = testing::capture(|| resample(&[1, 2, 3, 4], 16000));
/// # assert_eq!(out, [1, 4]);
/// # assert_eq!(spans[0].name, "resample");
/// ```
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
/// # Expansion
///
/// <!-- expansion-input: trace_connection -->
/// ```
/// # use trace_runtime::{testing, trace_connection};
/// #[trace_connection(id = conn_id, kind = "webrtc", span_name = "serve webrtc")]
/// async fn serve(conn_id: &str) -> usize {
///     conn_id.len()
/// }
/// # futures::executor::block_on(async {
/// # let (n, spans) = testing::capture_async(serve("c-42")).await;
/// # assert_eq!(n, 4);
/// # assert_eq!(spans[0].name, "serve webrtc");
/// # });
/// ```
///
/// expands to:
///
/// <!-- expansion-output: trace_connection -->
/// ```
/// # use trace_runtime::{testing, trace_connection};
/// async fn serve(conn_id: &str) -> usize {
///     let __trace_future = {
///         static __TRACE_META: ::trace_runtime::__private::SpanMeta =
///             ::trace_runtime::__private::SpanMeta {
///                 name: "serve webrtc",
///                 kind: ::trace_runtime::__private::Kind::Internal,
///                 naming: ::trace_runtime::__private::Naming::Static,
///                 function: ::core::concat!(::core::module_path!(), "::", "serve"),
///                 file: ::core::file!(),
///                 line: ::core::line!(),
///             };
///         // One relaxed load when tracing is off: then nothing below records.
///         let mut __trace_span = ::trace_runtime::__private::Span::new(&__TRACE_META);
///         if __trace_span.is_recording() {
///             // Each key segment resolves through its own `use`, so a typo is one error there.
///             __trace_span.attrs([
///                 match conn_id {
///                     __trace_value => {
///                         use ::trace_runtime::keys::connection as connection;
///                         {
///                             use connection::id as id;
///                             <_ as id>::__attr(__trace_value)
///                         }
///                     }
///                 },
///                 {
///                     use ::trace_runtime::keys::connection as connection;
///                     {
///                         use connection::r#type as r#type;
///                         <&'static str as r#type>::__static_attr("webrtc")
///                     }
///                 }
///             ]);
///         }
///         // The span is current on every poll and ends with the future (cancelled if dropped).
///         ::trace_runtime::__private::Instrumented::new(__trace_span, async move {
///             let __trace_ret = async move {
///                 #[allow(
///                     unreachable_code,
///                     clippy::diverging_sub_expression,
///                     clippy::empty_loop,
///                     clippy::needless_return
///                 )]
///                 if false {
///                     let __trace_fake_return: usize = loop {};
///                     return __trace_fake_return;
///                 }
///                 conn_id.len()
///             }
///             .await;
///             #[allow(unused_imports)]
///             use ::trace_runtime::__private::{
///                 OutputOfOk as _, OutputOfValue as _, RecordDebugErr as _, RecordDisplayErr as _,
///                 RecordNothing as _, UsageOfOk as _, UsageOfValue as _,
///             };
///             (&&::trace_runtime::__private::Outcome(&__trace_ret)).__trace_outcome();
///             __trace_ret
///         })
///     };
///     __trace_future.await
/// }
/// # futures::executor::block_on(async {
/// # let (n, spans) = testing::capture_async(serve("c-42")).await;
/// # assert_eq!(n, 4);
/// # assert_eq!(spans[0].name, "serve webrtc");
/// # });
/// ```
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
/// # Expansion
///
/// The block form,
///
/// <!-- expansion-input: trace -->
/// ```
/// # use trace_runtime::{testing, trace};
/// # let (_, spans) = testing::capture(|| {
/// let n = trace!("turn", session.id = "s-1", { 40 + 2 });
/// # assert_eq!(n, 42);
/// # });
/// # assert_eq!(spans[0].name, "turn");
/// ```
///
/// expands to (the block's statements follow the span's start, so its value is the block's value):
///
/// <!-- expansion-output: trace -->
/// ```
/// # use trace_runtime::{testing, trace};
/// # let (_, spans) = testing::capture(|| {
/// let n = {
///     static __TRACE_META: ::trace_runtime::__private::SpanMeta = ::trace_runtime::__private::SpanMeta {
///         name: "turn",
///         kind: ::trace_runtime::__private::Kind::Internal,
///         naming: ::trace_runtime::__private::Naming::Static,
///         function: "",
///         file: ::core::file!(),
///         line: ::core::line!(),
///     };
///     let mut __trace_slot = ::trace_runtime::__private::RecordSlot::new();
///     // One relaxed load when tracing is off: then nothing below records.
///     let mut __trace_guard =
///         ::trace_runtime::__private::ScopedSpan::new_in(&__TRACE_META, &mut __trace_slot);
///     if __trace_guard.is_recording() {
///         __trace_guard.attrs([{
///             use ::trace_runtime::keys::session as session;
///             {
///                 use session::id as id;
///                 <&'static str as id>::__static_attr("s-1")
///             }
///         }]);
///     }
///     // Starts the clock and makes the span current; the guard's drop ends it.
///     __trace_guard.enter();
///     40 + 2
/// };
/// # assert_eq!(n, 42);
/// # });
/// # assert_eq!(spans[0].name, "turn");
/// ```
///
/// The async form,
///
/// <!-- expansion-input: trace-async -->
/// ```
/// # use trace_runtime::{testing, trace};
/// # futures::executor::block_on(async {
/// let sid = String::from("s-2");
/// let turn = trace!("turn", session.id = sid.as_str(), async move { sid.len() });
/// # let (n, spans) = testing::capture_async(turn).await;
/// # assert_eq!(n, 3);
/// # assert_eq!(spans[0].name, "turn");
/// # });
/// ```
///
/// expands to:
///
/// <!-- expansion-output: trace-async -->
/// ```
/// # use trace_runtime::{testing, trace};
/// # futures::executor::block_on(async {
/// let sid = String::from("s-2");
/// let turn = {
///     static __TRACE_META: ::trace_runtime::__private::SpanMeta = ::trace_runtime::__private::SpanMeta {
///         name: "turn",
///         kind: ::trace_runtime::__private::Kind::Internal,
///         naming: ::trace_runtime::__private::Naming::Static,
///         function: "",
///         file: ::core::file!(),
///         line: ::core::line!(),
///     };
///     // One relaxed load when tracing is off: then nothing below records.
///     let mut __trace_span = ::trace_runtime::__private::Span::new_deferred(&__TRACE_META);
///     if __trace_span.is_recording() {
///         __trace_span.attrs([match sid.as_str() {
///             __trace_value => {
///                 use ::trace_runtime::keys::session as session;
///                 {
///                     use session::id as id;
///                     <_ as id>::__attr(__trace_value)
///                 }
///             }
///         }]);
///     }
///     // The span is current on every poll and ends with the future (cancelled if dropped).
///     ::trace_runtime::__private::Instrumented::new(__trace_span, async move { sid.len() })
/// };
/// # let (n, spans) = testing::capture_async(turn).await;
/// # assert_eq!(n, 3);
/// # assert_eq!(spans[0].name, "turn");
/// # });
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
///
/// # Expansion
///
/// <!-- expansion-input: define_keys -->
/// ```
/// # use trace_runtime::{define_keys, testing, trace};
/// define_keys! {
///     pub mod billing {
///         /// Credits charged.
///         credits: i64 = "billing.credits_charged",
///     }
/// }
/// # let (_, spans) = testing::capture(|| trace!("charge", billing::credits = 3, {}));
/// # assert_eq!(spans[0].attributes[0].key.as_str(), "billing.credits_charged");
/// ```
///
/// expands to a constant and a trait per key (the trait checks the value's type):
///
/// <!-- expansion-output: define_keys -->
/// ```
/// # use trace_runtime::{define_keys, testing, trace};
/// #[allow(non_camel_case_types, non_upper_case_globals)]
/// pub mod billing {
///     #[doc = " Credits charged."]
///     #[doc = ""]
///     #[doc = "Wire name `billing.credits_charged`; takes an integer (`i64`)."]
///     #[allow(non_upper_case_globals)]
///     pub const credits: ::trace_runtime::keys::Key<i64> =
///         ::trace_runtime::keys::Key::new("billing.credits_charged");
///     #[doc = "Checks values given to `billing.credits_charged` in macro `fields(...)`."]
///     #[doc(hidden)]
///     #[allow(non_camel_case_types)]
///     #[diagnostic::on_unimplemented(
///         message = "`{Self}` is not a valid value for trace key `billing.credits_charged`",
///         label = "`billing.credits_charged` expects an integer (`i64`)",
///         note = "accepted: any integer type, by value or by reference"
///     )]
///     pub trait credits {
///         #[doc(hidden)]
///         fn __attr(self) -> ::trace_runtime::__private::Attr;
///         #[doc = r" A string literal under this key, stored without a copy; called as"]
///         #[doc = r" `<&'static str as key>::__static_attr(..)`, which checks that the key takes strings."]
///         #[doc(hidden)]
///         #[inline(always)]
///         fn __static_attr(value: &'static str) -> ::trace_runtime::__private::Attr
///         where
///             Self: Sized,
///         {
///             ::trace_runtime::__private::Attr::new(
///                 "billing.credits_charged",
///                 ::trace_runtime::__private::AttrValue::Static(value)
///             )
///         }
///     }
///     #[diagnostic::do_not_recommend]
///     impl<V: ::trace_runtime::__private::IntValue> credits for V {
///         #[inline(always)]
///         fn __attr(self) -> ::trace_runtime::__private::Attr {
///             ::trace_runtime::__private::Attr::new(
///                 "billing.credits_charged",
///                 <V as ::trace_runtime::__private::IntValue>::into_value(self)
///             )
///         }
///     }
/// }
/// # let (_, spans) = testing::capture(|| trace!("charge", billing::credits = 3, {}));
/// # assert_eq!(spans[0].attributes[0].key.as_str(), "billing.credits_charged");
/// ```
pub use trace_macros::define_keys;
