//! `#[trace_llm]`, with its documentation and the expansions it shows (sync and async).

// The docs link to the crate's items by their root paths (`span::set`, `keys::Key`).
#[cfg(doc)]
#[allow(unused_imports)]
use crate::*;

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
///     let __trace_body =
///         move || -> Result<Reply, String> { Ok(Reply { prompt_tokens: prompt.len() as u64 }) };
///     // Tracing off: the body runs as it is, and no span is made.
///     if !::trace_runtime::__private::recording_on() {
///         return ::trace_runtime::__private::call_once(__trace_body);
///     }
///     ::trace_runtime::__private::run_traced(move || -> Result<Reply, String> {
///         // Literal arguments become attributes at compile time, in the call site's metadata:
///         // a span records none of them. Each key resolves through one `use` per segment
///         // (a typo is one error there), and the closure, never called, checks the value.
///         const __TRACE_KEYS: [::trace_runtime::__private::ConstKey; 3] = [
///             {
///                 use ::trace_runtime::keys::gen_ai as gen_ai;
///                 {
///                     use gen_ai::operation as operation;
///                     {
///                         use operation::name as name;
///                         const _: fn() = || {
///                             let _ = <&'static str as name>::__static_attr("chat");
///                         };
///                         <::trace_runtime::__private::ConstProbe as name>::__KEY
///                     }
///                 }
///             },
///             {
///                 use ::trace_runtime::keys::gen_ai as gen_ai;
///                 {
///                     use gen_ai::provider as provider;
///                     {
///                         use provider::name as name;
///                         const _: fn() = || {
///                             let _ = <&'static str as name>::__static_attr("openai");
///                         };
///                         <::trace_runtime::__private::ConstProbe as name>::__KEY
///                     }
///                 }
///             },
///             {
///                 use ::trace_runtime::keys::gen_ai as gen_ai;
///                 {
///                     use gen_ai::request as request;
///                     {
///                         use request::model as model;
///                         const _: fn() = || {
///                             let _ = <&'static str as model>::__static_attr("gpt-4o");
///                         };
///                         <::trace_runtime::__private::ConstProbe as model>::__KEY
///                     }
///                 }
///             },
///         ];
///         static __TRACE_ATTRS: [::trace_runtime::__private::Attr; 3] = [
///             ::trace_runtime::__private::const_attr(
///                 __TRACE_KEYS[0],
///                 ::trace_runtime::__private::ConstValue::Str("chat"),
///             ),
///             ::trace_runtime::__private::const_attr(
///                 __TRACE_KEYS[1],
///                 ::trace_runtime::__private::ConstValue::Str("openai"),
///             ),
///             ::trace_runtime::__private::const_attr(
///                 __TRACE_KEYS[2],
///                 ::trace_runtime::__private::ConstValue::Str("gpt-4o"),
///             ),
///         ];
///         static __TRACE_META: ::trace_runtime::__private::SpanMeta =
///             ::trace_runtime::__private::SpanMeta {
///                 name: "chat gpt-4o",
///                 kind: ::trace_runtime::__private::Kind::Client,
///                 naming: ::trace_runtime::__private::Naming::Static,
///                 function: ::core::concat!(::core::module_path!(), "::", "complete"),
///                 file: ::core::file!(),
///                 line: ::core::line!(),
///                 attrs: &__TRACE_ATTRS,
///                 associated: ::trace_runtime::__private::associated_mask(&__TRACE_KEYS),
///             };
///         let mut __trace_slot = ::trace_runtime::__private::RecordSlot::new();
///         // Decides whether the span records (under an unsampled parent it does not).
///         let mut __trace_guard =
///             ::trace_runtime::__private::ScopedSpan::new_in(&__TRACE_META, &mut __trace_slot);
///         // Starts the clock and makes the span current; the guard's drop ends it.
///         __trace_guard.enter();
///         #[allow(clippy::redundant_closure_call)]
///         let __trace_ret = ::trace_runtime::__private::call_once(__trace_body);
///         #[allow(unused_imports)]
///         use ::trace_runtime::__private::{
///             OutputOfOk as _, OutputOfValue as _, RecordDebugErr as _, RecordDisplayErr as _,
///             RecordNothing as _, UsageOfOk as _, UsageOfValue as _,
///         };
///         (&&::trace_runtime::__private::Outcome(&__trace_ret)).__trace_outcome();
///         // A failed GenAI call also gets `error.type`: the error's type name, or its `ErrorType`.
///         {
///             #[allow(unused_imports)]
///             use ::trace_runtime::__private::{
///                 ErrorTypeCustom as _, ErrorTypeName as _, ErrorTypeNone as _,
///             };
///             (&&::trace_runtime::__private::Outcome(&__trace_ret)).__trace_error_type();
///         }
///         #[allow(clippy::redundant_closure)]
///         let () = (&::trace_runtime::__private::Outcome(&__trace_ret))
///             .__trace_usage(|__trace_usage_of| usage_of(__trace_usage_of));
///         __trace_ret
///     })
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
///     let __trace_future;
///     {
///         // Literal arguments become attributes at compile time, in the call site's metadata:
///         // a span records none of them. Each key resolves through one `use` per segment
///         // (a typo is one error there), and the closure, never called, checks the value.
///         const __TRACE_KEYS: [::trace_runtime::__private::ConstKey; 2] = [
///             {
///                 use ::trace_runtime::keys::gen_ai as gen_ai;
///                 {
///                     use gen_ai::operation as operation;
///                     {
///                         use operation::name as name;
///                         const _: fn() = || {
///                             let _ = <&'static str as name>::__static_attr("text_completion");
///                         };
///                         <::trace_runtime::__private::ConstProbe as name>::__KEY
///                     }
///                 }
///             },
///             {
///                 use ::trace_runtime::keys::gen_ai as gen_ai;
///                 {
///                     use gen_ai::provider as provider;
///                     {
///                         use provider::name as name;
///                         const _: fn() = || {
///                             let _ = <&'static str as name>::__static_attr("anthropic");
///                         };
///                         <::trace_runtime::__private::ConstProbe as name>::__KEY
///                     }
///                 }
///             },
///         ];
///         static __TRACE_ATTRS: [::trace_runtime::__private::Attr; 2] = [
///             ::trace_runtime::__private::const_attr(
///                 __TRACE_KEYS[0],
///                 ::trace_runtime::__private::ConstValue::Str("text_completion"),
///             ),
///             ::trace_runtime::__private::const_attr(
///                 __TRACE_KEYS[1],
///                 ::trace_runtime::__private::ConstValue::Str("anthropic"),
///             ),
///         ];
///         static __TRACE_META: ::trace_runtime::__private::SpanMeta =
///             ::trace_runtime::__private::SpanMeta {
///                 name: "complete",
///                 kind: ::trace_runtime::__private::Kind::Client,
///                 naming: ::trace_runtime::__private::Naming::GenAi,
///                 function: ::core::concat!(::core::module_path!(), "::", "complete"),
///                 file: ::core::file!(),
///                 line: ::core::line!(),
///                 attrs: &__TRACE_ATTRS,
///                 associated: ::trace_runtime::__private::associated_mask(&__TRACE_KEYS),
///             };
///         let mut __trace_span = ::trace_runtime::__private::Span::new(&__TRACE_META);
///         if __trace_span.is_recording() {
///             __trace_span.attrs([match model {
///                 __trace_value => {
///                     use ::trace_runtime::keys::gen_ai as gen_ai;
///                     {
///                         use gen_ai::request as request;
///                         {
///                             use request::model as model;
///                             <_ as model>::__attr(__trace_value)
///                         }
///                     }
///                 }
///             }]);
///         }
///         let __trace_body = async move {
///             #[allow(
///                 unreachable_code,
///                 clippy::diverging_sub_expression,
///                 clippy::empty_loop,
///                 clippy::needless_return
///             )]
///             if false {
///                 let __trace_fake_return: Result<String, std::io::Error> = loop {};
///                 return __trace_fake_return;
///             }
///             Ok(prompt.to_uppercase())
///         };
///         // Nothing records (recording off, or an unsampled parent): the plain body runs.
///         if __trace_span.is_inert() {
///             ::core::mem::drop(__trace_span);
///             return __trace_body.await;
///         }
///         // The traced future: the body with the span current (its poll is out of line),
///         // and what records the body's output before the span ends.
///         __trace_future = ::trace_runtime::__private::TracedFn::started(
///             __trace_span,
///             async move { __trace_body.await },
///             move |__trace_ret: Result<String, std::io::Error>| {
///                 #[allow(unused_imports)]
///                 use ::trace_runtime::__private::{
///                     OutputOfOk as _, OutputOfValue as _, RecordDebugErr as _,
///                     RecordDisplayErr as _, RecordNothing as _, UsageOfOk as _,
///                     UsageOfValue as _,
///                 };
///                 (&&::trace_runtime::__private::Outcome(&__trace_ret)).__trace_outcome();
///                 // A failed GenAI call also gets `error.type`: the error's type
///                 // name, or its `ErrorType`.
///                 {
///                     #[allow(unused_imports)]
///                     use ::trace_runtime::__private::{
///                         ErrorTypeCustom as _, ErrorTypeName as _, ErrorTypeNone as _,
///                     };
///                     (&&::trace_runtime::__private::Outcome(&__trace_ret))
///                         .__trace_error_type();
///                 }
///                 __trace_ret
///             },
///         );
///     }
///     __trace_future.await
/// }
/// # futures::executor::block_on(async {
/// # let (reply, spans) = testing::capture_async(complete("claude-haiku", "hi")).await;
/// # assert_eq!(reply.unwrap(), "HI");
/// # assert_eq!(spans[0].name, "text_completion claude-haiku");
/// # });
/// ```
pub use trace_macros::trace_llm;
