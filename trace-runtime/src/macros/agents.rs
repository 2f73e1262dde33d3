//! The agent layer's attributes: `#[trace_agent]`, `#[trace_tool]` and `#[trace_fn]`.

/// Traces an agent invocation as an OpenTelemetry GenAI `invoke_agent` span.
///
/// Arguments: `name = EXPR` (required; `gen_ai.agent.name`), `id = EXPR` (`gen_ai.agent.id`),
/// `description = EXPR` (`gen_ai.agent.description`), `fields(key = EXPR, ...)`,
/// `span_name = "..."` (default: `"invoke_agent {name}"`, built on the export worker when the
/// name is not a literal). The span is of kind Internal with
/// `gen_ai.operation.name = "invoke_agent"`; a body that returns `Err` sets the status to Error
/// and `error.type` (the error's type name, or its [`ErrorType`](crate::span::ErrorType)).
/// It works on every fn shape the other attributes do: sync or async, methods, generics,
/// `impl Trait` returns.
///
/// ```
/// use trace_runtime::{testing, trace_agent, trace_tool};
///
/// #[trace_tool(name = "search")]
/// fn search(query: &str) -> Vec<String> {
///     vec![format!("result for {query}")]
/// }
///
/// #[trace_agent(name = "researcher", id = "agent-1", fields(session.id = "s-1"))]
/// async fn research(question: &str) -> Result<String, std::io::Error> {
///     Ok(search(question).join("\n"))
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (answer, spans) = testing::capture_async(research("rust tracing")).await;
/// assert!(answer.is_ok());
/// let agent = spans.iter().find(|s| s.name == "invoke_agent researcher").unwrap();
/// let tool = spans.iter().find(|s| s.name == "execute_tool search").unwrap();
/// assert_eq!(tool.parent_span_id, agent.span_context.span_id());
/// let get = |k: &str| agent.attributes.iter().find(|kv| kv.key.as_str() == k).map(|kv| kv.value.to_string());
/// assert_eq!(get("gen_ai.operation.name").as_deref(), Some("invoke_agent"));
/// assert_eq!(get("gen_ai.agent.id").as_deref(), Some("agent-1"));
/// // `session.id` is an association key: the tool span carries it too.
/// assert!(tool.attributes.iter().any(|kv| kv.key.as_str() == "session.id"));
/// # }
/// ```
///
/// Its expansion is `#[trace_tool]`'s (below) with these attributes and no tool IO.
pub use trace_macros::trace_agent;

/// Traces a tool call as an OpenTelemetry GenAI `execute_tool` span.
///
/// Arguments: `name = EXPR` (required; `gen_ai.tool.name`), `call_id = EXPR`
/// (`gen_ai.tool.call.id`, the id the model gave the call), `kind = EXPR` (`gen_ai.tool.type`,
/// default `"function"`), `fields(key = EXPR, ...)`, `span_name = "..."` (default:
/// `"execute_tool {name}"`). Kind Internal, `gen_ai.operation.name = "execute_tool"`, and
/// `error.type` on `Err`, as for [`trace_agent`](macro@crate::trace_agent).
///
/// With IO capture on (`TRACE_CAPTURE_IO=true`, and only then: nothing is evaluated otherwise),
/// the fn's parameters are recorded as `gen_ai.tool.call.arguments`, a JSON object with each
/// parameter as JSON when it is `serde::Serialize`, as its `Debug` text when it is only `Debug`,
/// left out otherwise; the `Ok` value (or the return value) as `gen_ai.tool.call.result`, the
/// same way. Both go through the [redaction rules](crate::redact) on the export worker, as
/// prompts do.
///
/// ```
/// use trace_runtime::{testing, trace_tool};
///
/// #[trace_tool(name = "weather", call_id = call_id)]
/// fn weather(call_id: &str, city: &str) -> Result<f64, std::io::Error> {
///     Ok(12.5)
/// }
///
/// let (_, spans) = testing::capture(|| weather("call_7", "Oslo"));
/// assert_eq!(spans[0].name, "execute_tool weather");
/// let get = |k: &str| spans[0].attributes.iter().find(|kv| kv.key.as_str() == k).map(|kv| kv.value.to_string());
/// assert_eq!(get("gen_ai.tool.call.id").as_deref(), Some("call_7"));
/// assert_eq!(get("gen_ai.tool.type").as_deref(), Some("function"));
/// assert_eq!(get("gen_ai.tool.call.arguments"), None, "IO capture is off");
/// ```
///
/// # Expansion
///
/// <!-- expansion-input: trace_tool -->
/// ```
/// # use trace_runtime::{testing, trace_tool};
/// #[trace_tool(name = "weather")]
/// fn weather(city: &str) -> f64 {
///     12.5
/// }
/// # let (out, spans) = testing::capture(|| weather("Oslo"));
/// # assert_eq!(out, 12.5);
/// # assert_eq!(spans[0].name, "execute_tool weather");
/// ```
///
/// expands to:
///
/// <!-- expansion-output: trace_tool -->
/// ```
/// # use trace_runtime::{testing, trace_tool};
/// fn weather(city: &str) -> f64 {
///     // Literal arguments become attributes at compile time, in the call site's metadata:
///     // a span records none of them. Each key resolves through one `use` per segment
///     // (a typo is one error there), and the closure, never called, checks the value.
///     const __TRACE_KEYS: [::trace_runtime::__private::ConstKey; 3] = [
///         {
///             use ::trace_runtime::keys::gen_ai as gen_ai;
///             {
///                 use gen_ai::operation as operation;
///                 {
///                     use operation::name as name;
///                     const _: fn() = || {
///                         let _ = <&'static str as name>::__static_attr("execute_tool");
///                     };
///                     <::trace_runtime::__private::ConstProbe as name>::__KEY
///                 }
///             }
///         },
///         {
///             use ::trace_runtime::keys::gen_ai as gen_ai;
///             {
///                 use gen_ai::tool as tool;
///                 {
///                     use tool::name as name;
///                     const _: fn() = || {
///                         let _ = <&'static str as name>::__static_attr("weather");
///                     };
///                     <::trace_runtime::__private::ConstProbe as name>::__KEY
///                 }
///             }
///         },
///         {
///             use ::trace_runtime::keys::gen_ai as gen_ai;
///             {
///                 use gen_ai::tool as tool;
///                 {
///                     use tool::r#type as r#type;
///                     const _: fn() = || {
///                         let _ = <&'static str as r#type>::__static_attr("function");
///                     };
///                     <::trace_runtime::__private::ConstProbe as r#type>::__KEY
///                 }
///             }
///         },
///     ];
///     static __TRACE_ATTRS: [::trace_runtime::__private::Attr; 3] = [
///         ::trace_runtime::__private::const_attr(
///             __TRACE_KEYS[0],
///             ::trace_runtime::__private::ConstValue::Str("execute_tool"),
///         ),
///         ::trace_runtime::__private::const_attr(
///             __TRACE_KEYS[1],
///             ::trace_runtime::__private::ConstValue::Str("weather"),
///         ),
///         ::trace_runtime::__private::const_attr(
///             __TRACE_KEYS[2],
///             ::trace_runtime::__private::ConstValue::Str("function"),
///         ),
///     ];
///     static __TRACE_META: ::trace_runtime::__private::SpanMeta =
///         ::trace_runtime::__private::SpanMeta {
///             name: "execute_tool weather",
///             kind: ::trace_runtime::__private::Kind::Internal,
///             naming: ::trace_runtime::__private::Naming::Static,
///             function: ::core::concat!(::core::module_path!(), "::", "weather"),
///             file: ::core::file!(),
///             line: ::core::line!(),
///             attrs: &__TRACE_ATTRS,
///             associated: ::trace_runtime::__private::associated_mask(&__TRACE_KEYS),
///         };
///     let mut __trace_slot = ::trace_runtime::__private::RecordSlot::new();
///     // One relaxed load when tracing is off: then nothing below records.
///     let mut __trace_guard =
///         ::trace_runtime::__private::ScopedSpan::new_in(&__TRACE_META, &mut __trace_slot);
///     // Starts the clock and makes the span current; the guard's drop ends it.
///     __trace_guard.enter();
///     // The arguments: evaluated only with IO capture on.
///     if ::trace_runtime::__private::capture_io() {
///         #[allow(unused_imports)]
///         use ::trace_runtime::__private::{
///             ArgumentAsDebug as _, ArgumentAsJson as _, ArgumentSkipped as _,
///         };
///         let mut __trace_arguments = ::trace_runtime::__private::ToolArguments::new();
///         // As JSON if `Serialize`, as `Debug` text if `Debug`, left out otherwise.
///         (&&::trace_runtime::__private::Argument(&city))
///             .__trace_argument("city", &mut __trace_arguments);
///         __trace_arguments.record();
///     }
///     #[allow(clippy::redundant_closure_call)]
///     let __trace_ret = ::trace_runtime::__private::call_once(move || -> f64 { 12.5 });
///     #[allow(unused_imports)]
///     use ::trace_runtime::__private::{
///         OutputOfOk as _, OutputOfValue as _, RecordDebugErr as _, RecordDisplayErr as _,
///         RecordNothing as _, UsageOfOk as _, UsageOfValue as _,
///     };
///     (&&::trace_runtime::__private::Outcome(&__trace_ret)).__trace_outcome();
///     // A failed GenAI call also gets `error.type`: the error's type name, or its `ErrorType`.
///     {
///         #[allow(unused_imports)]
///         use ::trace_runtime::__private::{
///             ErrorTypeCustom as _, ErrorTypeName as _, ErrorTypeNone as _,
///         };
///         (&&::trace_runtime::__private::Outcome(&__trace_ret)).__trace_error_type();
///     }
///     // The result, the same way (an `Ok` value for a `Result`).
///     if ::trace_runtime::__private::capture_io() {
///         #[allow(unused_imports)]
///         use ::trace_runtime::__private::{
///             ResultAsDebug as _, ResultAsJson as _, ResultOkAsDebug as _, ResultOkAsJson as _,
///             ResultSkipped as _,
///         };
///         (&&&&&::trace_runtime::__private::Outcome(&__trace_ret)).__trace_tool_result();
///     }
///     __trace_ret
/// }
/// # let (out, spans) = testing::capture(|| weather("Oslo"));
/// # assert_eq!(out, 12.5);
/// # assert_eq!(spans[0].name, "execute_tool weather");
/// ```
pub use trace_macros::trace_tool;

/// Traces any function: a span named after it (the `#[instrument]` of this kit).
///
/// Arguments (all optional): `fields(key = EXPR, ...)`, `span_name = "..."`. Kind Internal; an
/// `Err` sets the status to Error, a panic and a dropped future are recorded, as for every
/// attribute. With `TRACE_SEMCONV=openinference|both` it is a `CHAIN` span.
///
/// ```
/// use trace_runtime::{testing, trace_fn};
///
/// #[trace_fn]
/// fn plan(steps: usize) -> Vec<usize> {
///     (0..steps).collect()
/// }
///
/// #[trace_fn(span_name = "load memory", fields(session.id = "s-1"))]
/// async fn load() -> Result<(), String> {
///     Err("no memory".into())
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (_, spans) = testing::capture(|| plan(3));
/// assert_eq!(spans[0].name, "plan");
/// let (_, spans) = testing::capture_async(load()).await;
/// assert_eq!(spans[0].name, "load memory");
/// assert!(matches!(spans[0].status, trace_runtime::opentelemetry::trace::Status::Error { .. }));
/// # }
/// ```
///
/// # Expansion
///
/// <!-- expansion-input: trace_fn -->
/// ```
/// # use trace_runtime::{testing, trace_fn};
/// #[trace_fn]
/// fn plan(steps: usize) -> Vec<usize> {
///     (0..steps).collect()
/// }
/// # let (out, spans) = testing::capture(|| plan(2));
/// # assert_eq!(out, [0, 1]);
/// # assert_eq!(spans[0].name, "plan");
/// ```
///
/// expands to:
///
/// <!-- expansion-output: trace_fn -->
/// ```
/// # use trace_runtime::{testing, trace_fn};
/// fn plan(steps: usize) -> Vec<usize> {
///     let __trace_body = move || -> Vec<usize> { (0..steps).collect() };
///     // Tracing off: the body runs as it is, and no span is made.
///     if !::trace_runtime::__private::recording_on() {
///         return ::trace_runtime::__private::call_once(__trace_body);
///     }
///     ::trace_runtime::__private::run_traced(move || -> Vec<usize> {
///         static __TRACE_META: ::trace_runtime::__private::SpanMeta =
///             ::trace_runtime::__private::SpanMeta {
///                 name: "plan",
///                 kind: ::trace_runtime::__private::Kind::Internal,
///                 naming: ::trace_runtime::__private::Naming::Static,
///                 function: ::core::concat!(::core::module_path!(), "::", "plan"),
///                 file: ::core::file!(),
///                 line: ::core::line!(),
///                 attrs: &[],
///                 associated: 0,
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
///         __trace_ret
///     })
/// }
/// # let (out, spans) = testing::capture(|| plan(2));
/// # assert_eq!(out, [0, 1]);
/// # assert_eq!(spans[0].name, "plan");
/// ```
pub use trace_macros::trace_fn;
