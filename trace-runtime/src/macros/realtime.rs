//! The realtime pipeline's attribute macros, `#[trace_pipeline]` and `#[trace_connection]`, with
//! their documentation and the expansion each one shows.

// The docs link to the crate's items by their root paths (`span::set`, `keys::Key`).
#[cfg(doc)]
#[allow(unused_imports)]
use crate::*;

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
///     // Literal arguments become attributes at compile time, in the call site's metadata:
///     // a span records none of them. Each key resolves through one `use` per segment
///     // (a typo is one error there), and the closure, never called, checks the value.
///     const __TRACE_KEYS: [::trace_runtime::__private::ConstKey; 2] = [
///         {
///             use ::trace_runtime::keys::pipeline as pipeline;
///             {
///                 use pipeline::name as name;
///                 const _: fn() = || {
///                     let _ = <&'static str as name>::__static_attr("voice");
///                 };
///                 <::trace_runtime::__private::ConstProbe as name>::__KEY
///             }
///         },
///         {
///             use ::trace_runtime::keys::pipeline as pipeline;
///             {
///                 use pipeline::element as element;
///                 const _: fn() = || {
///                     let _ = <&'static str as element>::__static_attr("resample");
///                 };
///                 <::trace_runtime::__private::ConstProbe as element>::__KEY
///             }
///         },
///     ];
///     static __TRACE_ATTRS: [::trace_runtime::__private::Attr; 2] = [
///         ::trace_runtime::__private::const_attr(
///             __TRACE_KEYS[0],
///             ::trace_runtime::__private::ConstValue::Str("voice"),
///         ),
///         ::trace_runtime::__private::const_attr(
///             __TRACE_KEYS[1],
///             ::trace_runtime::__private::ConstValue::Str("resample"),
///         ),
///     ];
///     static __TRACE_META: ::trace_runtime::__private::SpanMeta =
///         ::trace_runtime::__private::SpanMeta {
///             name: "resample",
///             kind: ::trace_runtime::__private::Kind::Internal,
///             naming: ::trace_runtime::__private::Naming::Static,
///             function: ::core::concat!(::core::module_path!(), "::", "resample"),
///             file: ::core::file!(),
///             line: ::core::line!(),
///             attrs: &__TRACE_ATTRS,
///             associated: ::trace_runtime::__private::associated_mask(&__TRACE_KEYS),
///         };
///     let mut __trace_slot = ::trace_runtime::__private::RecordSlot::new();
///     // One relaxed load when tracing is off: then nothing below records.
///     let mut __trace_guard =
///         ::trace_runtime::__private::ScopedSpan::new_in(&__TRACE_META, &mut __trace_slot);
///     if __trace_guard.is_recording() {
///         __trace_guard.attrs([match rate {
///             __trace_value => {
///                 use ::trace_runtime::keys::audio as audio;
///                 {
///                     use audio::sample_rate as sample_rate;
///                     <_ as sample_rate>::__attr(__trace_value)
///                 }
///             }
///         }]);
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
///
/// An `async fn` whose attributes are all literals,
///
/// <!-- expansion-input: trace_pipeline-async -->
/// ```
/// # use trace_runtime::{testing, trace_pipeline};
/// #[trace_pipeline(name = "voice", element = "stt")]
/// async fn transcribe(frame: Vec<i16>) -> usize {
///     frame.len()
/// }
/// # futures::executor::block_on(async {
/// # let (n, spans) = testing::capture_async(transcribe(vec![1, 2])).await;
/// # assert_eq!(n, 2);
/// # assert_eq!(spans[0].name, "transcribe");
/// # });
/// ```
///
/// becomes a fn that returns the traced future itself (its arguments plain bindings, and no
/// other attribute on it that needs an `async fn`; else it stays an `async fn` that awaits it).
/// Callers see no difference but in rustdoc, which shows the signature as
/// `fn transcribe(frame: Vec<i16>) -> impl Future<Output = usize>`; the future captures the same
/// lifetimes as the `async fn`'s, and is `Send` when the body is.
///
/// <!-- expansion-output: trace_pipeline-async -->
/// ```
/// # use trace_runtime::{testing, trace_pipeline};
/// fn transcribe(frame: Vec<i16>) -> impl ::core::future::Future<Output = usize> {
///     let __trace_body = async move {
///         // The body keeps every argument until it ends, as the async fn's future does.
///         let _ = &frame;
///         #[allow(
///             unreachable_code,
///             clippy::diverging_sub_expression,
///             clippy::empty_loop,
///             clippy::needless_return
///         )]
///         if false {
///             let __trace_fake_return: usize = loop {};
///             return __trace_fake_return;
///         }
///         frame.len()
///     };
///     const __TRACE_KEYS: [::trace_runtime::__private::ConstKey; 2] = [
///         {
///             use ::trace_runtime::keys::pipeline as pipeline;
///             {
///                 use pipeline::name as name;
///                 const _: fn() = || {
///                     let _ = <&'static str as name>::__static_attr("voice");
///                 };
///                 <::trace_runtime::__private::ConstProbe as name>::__KEY
///             }
///         },
///         {
///             use ::trace_runtime::keys::pipeline as pipeline;
///             {
///                 use pipeline::element as element;
///                 const _: fn() = || {
///                     let _ = <&'static str as element>::__static_attr("stt");
///                 };
///                 <::trace_runtime::__private::ConstProbe as element>::__KEY
///             }
///         },
///     ];
///     static __TRACE_ATTRS: [::trace_runtime::__private::Attr; 2] = [
///         ::trace_runtime::__private::const_attr(
///             __TRACE_KEYS[0],
///             ::trace_runtime::__private::ConstValue::Str("voice"),
///         ),
///         ::trace_runtime::__private::const_attr(
///             __TRACE_KEYS[1],
///             ::trace_runtime::__private::ConstValue::Str("stt"),
///         ),
///     ];
///     static __TRACE_META: ::trace_runtime::__private::SpanMeta =
///         ::trace_runtime::__private::SpanMeta {
///             name: "transcribe",
///             kind: ::trace_runtime::__private::Kind::Internal,
///             naming: ::trace_runtime::__private::Naming::Static,
///             function: ::core::concat!(::core::module_path!(), "::", "transcribe"),
///             file: ::core::file!(),
///             line: ::core::line!(),
///             attrs: &__TRACE_ATTRS,
///             associated: ::trace_runtime::__private::associated_mask(&__TRACE_KEYS),
///         };
///     // The span is made at the future's first poll, under that poll's context, if recording
///     // is on then. With it off, the future is the body and two words, and its poll is the
///     // body's; the traced poll is out of line, and records the body's output while the span
///     // is current.
///     ::trace_runtime::__private::TracedFn::new(
///         &__TRACE_META,
///         __trace_body,
///         move |__trace_ret: usize| {
///             #[allow(unused_imports)]
///             use ::trace_runtime::__private::{
///                 OutputOfOk as _, OutputOfValue as _, RecordDebugErr as _,
///                 RecordDisplayErr as _, RecordNothing as _, UsageOfOk as _,
///                 UsageOfValue as _,
///             };
///             (&&::trace_runtime::__private::Outcome(&__trace_ret)).__trace_outcome();
///             __trace_ret
///         },
///     )
/// }
/// # futures::executor::block_on(async {
/// # let (n, spans) = testing::capture_async(transcribe(vec![1, 2])).await;
/// # assert_eq!(n, 2);
/// # assert_eq!(spans[0].name, "transcribe");
/// # });
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
///     let __trace_future;
///     {
///         // Literal arguments become attributes at compile time, in the call site's metadata:
///         // a span records none of them. Each key resolves through one `use` per segment
///         // (a typo is one error there), and the closure, never called, checks the value.
///         const __TRACE_KEYS: [::trace_runtime::__private::ConstKey; 1] = [{
///             use ::trace_runtime::keys::connection as connection;
///             {
///                 use connection::r#type as r#type;
///                 const _: fn() = || {
///                     let _ = <&'static str as r#type>::__static_attr("webrtc");
///                 };
///                 <::trace_runtime::__private::ConstProbe as r#type>::__KEY
///             }
///         }];
///         static __TRACE_ATTRS: [::trace_runtime::__private::Attr; 1] =
///             [::trace_runtime::__private::const_attr(
///                 __TRACE_KEYS[0],
///                 ::trace_runtime::__private::ConstValue::Str("webrtc"),
///             )];
///         static __TRACE_META: ::trace_runtime::__private::SpanMeta =
///             ::trace_runtime::__private::SpanMeta {
///                 name: "serve webrtc",
///                 kind: ::trace_runtime::__private::Kind::Internal,
///                 naming: ::trace_runtime::__private::Naming::Static,
///                 function: ::core::concat!(::core::module_path!(), "::", "serve"),
///                 file: ::core::file!(),
///                 line: ::core::line!(),
///                 attrs: &__TRACE_ATTRS,
///                 associated: ::trace_runtime::__private::associated_mask(&__TRACE_KEYS),
///             };
///         let mut __trace_span = ::trace_runtime::__private::Span::new(&__TRACE_META);
///         if __trace_span.is_recording() {
///             __trace_span.attrs([match conn_id {
///                 __trace_value => {
///                     use ::trace_runtime::keys::connection as connection;
///                     {
///                         use connection::id as id;
///                         <_ as id>::__attr(__trace_value)
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
///                 let __trace_fake_return: usize = loop {};
///                 return __trace_fake_return;
///             }
///             conn_id.len()
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
///             move |__trace_ret: usize| {
///                 #[allow(unused_imports)]
///                 use ::trace_runtime::__private::{
///                     OutputOfOk as _, OutputOfValue as _, RecordDebugErr as _,
///                     RecordDisplayErr as _, RecordNothing as _, UsageOfOk as _,
///                     UsageOfValue as _,
///                 };
///                 (&&::trace_runtime::__private::Outcome(&__trace_ret)).__trace_outcome();
///                 __trace_ret
///             },
///         );
///     }
///     __trace_future.await
/// }
/// # futures::executor::block_on(async {
/// # let (n, spans) = testing::capture_async(serve("c-42")).await;
/// # assert_eq!(n, 4);
/// # assert_eq!(spans[0].name, "serve webrtc");
/// # });
/// ```
pub use trace_macros::trace_connection;
