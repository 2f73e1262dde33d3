//! Utilities on the current span: attributes, events, errors, ids.
//!
//! Each works on the innermost span recording on this thread and does nothing outside one, so
//! instrumented code never has to check whether tracing is on. A write is kept beside the span
//! and taken by the span itself when it ends (or at the end of its future's poll), so a write
//! reaches the span it was made in, or none: a span that ended, or one recording on another
//! thread, is never written (such writes are counted in `metrics().span_writes_dropped`).
//!
//! ```
//! use trace_runtime::{keys, span, testing, trace};
//!
//! let (_, spans) = testing::capture(|| {
//!     trace!("decode", {
//!         span::set(keys::audio::codec, "opus");
//!         span::add_event("frame.dropped", [opentelemetry::KeyValue::new("frame.index", 7)]);
//!     })
//! });
//! assert!(spans[0].attributes.iter().any(|kv| kv.key.as_str() == "audio.codec"));
//! assert_eq!(spans[0].events.events[0].name, "frame.dropped");
//! # use trace_runtime::opentelemetry;
//! ```

pub mod association;
pub(crate) mod context;
mod evaluation;
pub(crate) mod gate;
pub(crate) mod guard;
pub(crate) mod panic;
mod record_pool;
pub(crate) mod thread_state;

use std::borrow::Cow;
use std::error::Error;

use opentelemetry::KeyValue;
use opentelemetry::trace::{SpanId, TraceId};

use crate::keys::{IntoValue, Key};
use crate::record::EventRecord;
use crate::record::value::{AnyValue, Attr};
use thread_state::Write;

pub use evaluation::{Evaluation, record_evaluation, record_evaluation_on};

/// Sets a typed attribute on the current span; the compiler checks the value's type.
///
/// An association key ([`Key::is_associated`]: `session.id`, `user.id`,
/// `gen_ai.conversation.id`, your keys marked `#[associated]`) is also carried to every span
/// started below this one from now on.
///
/// ```
/// use trace_runtime::{keys, span, testing, trace};
///
/// let (_, spans) = testing::capture(|| {
///     trace!("turn", {
///         span::set(keys::session::id, "s-9");
///         trace!("llm", {});
///     })
/// });
/// let llm = spans.iter().find(|s| s.name == "llm").unwrap();
/// assert!(llm.attributes.iter().any(|kv| kv.key.as_str() == "session.id" && kv.value.as_str() == "s-9"));
/// ```
pub fn set<T>(key: Key<T>, value: impl IntoValue<T>) {
    if thread_state::writable() {
        let value = value.into_value();
        if key.is_associated() {
            association::set_current(key.name(), value.clone());
        }
        thread_state::write(Write::Attr(Attr::new(key.name(), value)));
    }
}

/// Sets a recorded attribute on the current span.
pub(crate) fn set_attr(attr: Attr) {
    if thread_state::writable() {
        thread_state::write(Write::Attr(attr));
    }
}

/// What a failed GenAI span (`#[trace_llm]`, `#[trace_agent]`, `#[trace_tool]`) records as
/// `error.type`: by default the error's type name; implement it to choose a low-cardinality class
/// instead, as the OpenTelemetry conventions ask (`rate_limited`, `timeout`, an HTTP status).
///
/// ```
/// use std::borrow::Cow;
/// use trace_runtime::{span::ErrorType, testing, trace_tool};
///
/// #[derive(Debug)]
/// enum WeatherError { RateLimited, Unknown(String) }
/// impl std::fmt::Display for WeatherError {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "{self:?}") }
/// }
/// impl ErrorType for WeatherError {
///     fn error_type(&self) -> Cow<'static, str> {
///         match self {
///             WeatherError::RateLimited => "rate_limited".into(),
///             WeatherError::Unknown(_) => "unknown".into(),
///         }
///     }
/// }
///
/// #[trace_tool(name = "weather")]
/// fn weather(city: &str) -> Result<String, WeatherError> {
///     Err(WeatherError::RateLimited)
/// }
///
/// let (_, spans) = testing::capture(|| weather("Oslo"));
/// let error_type = spans[0].attributes.iter().find(|kv| kv.key.as_str() == "error.type");
/// assert_eq!(error_type.map(|kv| kv.value.to_string()).as_deref(), Some("rate_limited"));
/// ```
pub trait ErrorType {
    /// The error's class, for `error.type`.
    fn error_type(&self) -> Cow<'static, str>;
}

/// Sets an attribute under a key the kit does not know (the unchecked escape hatch).
///
/// ```
/// trace_runtime::span::set_unchecked("app.tenant", "acme");
/// ```
pub fn set_unchecked(key: &'static str, value: impl AnyValue) {
    if thread_state::writable() {
        thread_state::write(Write::Attr(Attr::new(key, value.into_value())));
    }
}

/// Adds a timestamped event to the current span. Its name and string values are cut at
/// [`limits::MAX_VALUE_BYTES`](crate::record::limits::MAX_VALUE_BYTES), its attributes at
/// [`limits::MAX_EVENT_ATTRIBUTES`](crate::record::limits::MAX_EVENT_ATTRIBUTES).
pub fn add_event(name: impl Into<Cow<'static, str>>, attributes: impl IntoIterator<Item = KeyValue>) {
    if !thread_state::writable() {
        return;
    }
    let time = crate::record::clock::now();
    let attrs = attributes
        .into_iter()
        .take(crate::record::limits::MAX_EVENT_ATTRIBUTES)
        .map(crate::record::limits::clamp_key_value)
        .collect();
    let name = crate::record::limits::clamp_text(name.into());
    thread_state::write(Write::Event(EventRecord { name, time, attrs }));
}

/// Records an error on the current span: status Error with the error's text, an `exception` event
/// with its type, message and chain of causes, and `error.type`.
///
/// ```
/// use trace_runtime::{span, testing, trace};
///
/// let (_, spans) = testing::capture(|| {
///     trace!("load", {
///         let err = std::fs::read("/no/such/file").unwrap_err();
///         span::record_error(&err);
///     })
/// });
/// assert!(matches!(spans[0].status, opentelemetry::trace::Status::Error { .. }));
/// # use trace_runtime::opentelemetry;
/// ```
pub fn record_error<E: Error + ?Sized>(error: &E) {
    if !thread_state::writable() {
        return;
    }
    let time = crate::record::clock::now();
    // User code (`Display`, `source`) runs here, before anything is written: it may itself write
    // to the span.
    {
        let message = error.to_string();
        let type_name = std::any::type_name::<E>();
        let mut attrs = vec![
            KeyValue::new("exception.type", type_name),
            KeyValue::new("exception.message", crate::record::value::clip(&message).into_owned()),
        ];
        if let Some(chain) = crate::record::value::cause_chain(error.source()) {
            attrs.push(KeyValue::new("exception.stacktrace", chain));
        }
        thread_state::write(Write::Event(EventRecord { name: "exception".into(), time, attrs }));
        thread_state::write(Write::Attr(Attr::new(
            "error.type",
            crate::record::value::AttrValue::Static(type_name),
        )));
        thread_state::write(Write::Error(crate::record::limits::clamp_text(message.into())));
    }
}

/// Sets the current span's status to Error with `description`.
pub fn set_error(description: impl Into<Cow<'static, str>>) {
    if thread_state::writable() {
        thread_state::write(Write::Error(crate::record::limits::clamp_text(description.into())));
    }
}

/// Sets the current span's status to Ok (final: a later error does not override it in most
/// backends, so call it only when the operation is known to have succeeded).
pub fn set_ok() {
    if thread_state::writable() {
        thread_state::write(Write::Ok);
    }
}

/// Whether a span is recording on this thread right now.
pub fn is_recording() -> bool {
    thread_state::recording_here()
}

/// The current trace's id, if any (sampled or not).
///
/// ```
/// use trace_runtime::{span, testing, trace};
///
/// assert_eq!(span::trace_id(), None);
/// testing::capture(|| trace!("t", { assert!(span::trace_id().is_some()) }));
/// ```
pub fn trace_id() -> Option<TraceId> {
    crate::span::context::current_context().trace_id()
}

/// The current span's id, if any.
pub fn span_id() -> Option<SpanId> {
    crate::span::context::current_context().span_id()
}

/// Prefixes `message` with the current ids, for correlating plain logs with traces:
/// `[trace_id=4bf9… span_id=00f0…] message`, or the message alone outside a trace.
///
/// ```
/// use trace_runtime::{log_with_trace, testing, trace};
///
/// assert_eq!(log_with_trace("idle"), "idle");
/// testing::capture(|| trace!("t", {
///     let line = log_with_trace("processing");
///     assert!(line.starts_with("[trace_id=") && line.ends_with("] processing"));
/// }));
/// ```
pub fn log_with_trace(message: &str) -> String {
    match (trace_id(), span_id()) {
        (Some(t), Some(s)) => format!("[trace_id={t} span_id={s}] {message}"),
        _ => message.to_string(),
    }
}

/// Adds `usage` to the current span (typically one made by `#[trace_llm]`).
///
/// Calls add up, so a stream can report usage chunk by chunk. Outside a recording span this does
/// nothing. No lock, no allocation.
///
/// ```
/// use trace_runtime::{record_usage, testing, trace_llm, Usage};
///
/// #[trace_llm(provider = "openai", model = "gpt-4o-mini")]
/// fn complete(prompt: &str) -> String {
///     record_usage(Usage { input_tokens: 31, output_tokens: 27, ..Default::default() });
///     prompt.to_uppercase()
/// }
///
/// let (_, spans) = testing::capture(|| complete("hi"));
/// let input = spans[0].attributes.iter().find(|kv| kv.key.as_str() == "gen_ai.usage.input_tokens");
/// assert_eq!(input.map(|kv| kv.value.to_string()), Some("31".to_string()));
/// ```
pub fn record_usage(usage: crate::record::usage::Usage) {
    if crate::span::thread_state::writable() {
        crate::span::thread_state::write(crate::span::thread_state::Write::Usage(usage));
    }
}
