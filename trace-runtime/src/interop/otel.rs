//! The OpenTelemetry API, backed by the kit: a `TracerProvider` whose spans are kit spans.
//!
//! [`init`](crate::init) installs it as the global provider (as does
//! [`testing::capture`](crate::testing::capture)), so code and libraries instrumented with
//! `opentelemetry::global::tracer(..)` join the kit's traces without another line: their spans
//! are children of the current kit span (or of the span current in OpenTelemetry's `Context`),
//! take the kit's sampling decision and ids, and go through the same export pipeline. Kit spans
//! started while an OpenTelemetry span is current (inside `in_span`, under `Context::attach`)
//! nest under it.
//!
//! ```
//! use trace_runtime::opentelemetry::{global, trace::{Tracer, TraceContextExt}, KeyValue};
//! use trace_runtime::{testing, trace};
//!
//! let (_, spans) = testing::capture(|| {
//!     trace!("request", {
//!         global::tracer("db").in_span("query", |cx| {
//!             cx.span().set_attribute(KeyValue::new("db.system.name", "postgresql"));
//!             trace!("decode rows", {});
//!         });
//!     })
//! });
//! let id = |name: &str| spans.iter().find(|s| s.name == name).unwrap().span_context.span_id();
//! let query = spans.iter().find(|s| s.name == "query").unwrap();
//! assert_eq!(query.parent_span_id, id("request"));
//! assert_eq!(query.instrumentation_scope.name(), "db");
//! let decode = spans.iter().find(|s| s.name == "decode rows").unwrap();
//! assert_eq!(decode.parent_span_id, id("query"));
//! ```
//!
//! To use the kit's provider explicitly (another global provider is set, or for a library's
//! own tracer), take one from [`TracerProvider::default`]; to put it back as the global one after
//! something replaced it, `opentelemetry::global::set_tracer_provider(TracerProvider::default())`.
//!
//! Limits: inside a span made through this API, the kit's `span::set` and `record_usage` act on
//! nothing (set attributes with `cx.span().set_attribute(..)`); the OpenTelemetry context follows
//! kit spans only through `opentelemetry::Context`'s observer, which OpenTelemetry allows once per
//! process (if another was installed first, OpenTelemetry spans nest under kit spans, but kit
//! spans nest under an OpenTelemetry span only when made through this provider).

use std::borrow::Cow;
use std::time::SystemTime;

use opentelemetry::trace::{
    Link, SpanBuilder, SpanContext, SpanKind, Status, TraceContextExt, TracerProvider as _,
};
use opentelemetry::{InstrumentationScope, KeyValue};

use super::{HeapSpan, meta_for, parent_for, tick_at};
use crate::record::clock;
use crate::record::limits::{self, MAX_EVENT_ATTRIBUTES, clamp_key_value, clamp_text};
use crate::record::{EventRecord, Kind, Record, status};

/// The kit's OpenTelemetry `TracerProvider`: its tracers make kit spans.
///
/// ```
/// use trace_runtime::opentelemetry::trace::{Span as _, SpanKind, Tracer as _, TracerProvider as _};
/// use trace_runtime::{otel::TracerProvider, testing};
///
/// let tracer = TracerProvider::default().tracer("http-client");
/// let (_, spans) = testing::capture(|| {
///     let mut span = tracer.span_builder("GET /v1/chat").with_kind(SpanKind::Client).start(&tracer);
///     span.set_attribute(trace_runtime::opentelemetry::KeyValue::new("http.response.status_code", 200));
///     span.end();
/// });
/// assert_eq!(spans[0].name, "GET /v1/chat");
/// assert_eq!(spans[0].span_kind, SpanKind::Client);
/// ```
#[derive(Clone, Debug, Default)]
pub struct TracerProvider {
    _private: (),
}

impl opentelemetry::trace::TracerProvider for TracerProvider {
    type Tracer = Tracer;

    fn tracer_with_scope(&self, scope: InstrumentationScope) -> Tracer {
        Tracer { scope }
    }
}

/// A tracer of the kit's [`TracerProvider`]; its spans carry its instrumentation scope.
///
/// ```
/// use trace_runtime::opentelemetry::trace::{Tracer as _, TracerProvider as _};
///
/// let tracer: trace_runtime::otel::Tracer = trace_runtime::otel::TracerProvider::default().tracer("mylib");
/// let (_, spans) = trace_runtime::testing::capture(|| tracer.in_span("work", |_cx| ()));
/// assert_eq!(spans[0].instrumentation_scope.name(), "mylib");
/// ```
#[derive(Clone, Debug)]
pub struct Tracer {
    scope: InstrumentationScope,
}

impl Default for Tracer {
    fn default() -> Self {
        TracerProvider::default().tracer("trace-runtime")
    }
}

impl opentelemetry::trace::Tracer for Tracer {
    type Span = Span;

    fn build_with_context(&self, builder: SpanBuilder, parent_cx: &opentelemetry::Context) -> Span {
        let kind = match builder.span_kind {
            Some(SpanKind::Client) => Kind::Client,
            Some(SpanKind::Server) => Kind::Server,
            Some(SpanKind::Producer) => Kind::Producer,
            Some(SpanKind::Consumer) => Kind::Consumer,
            _ => Kind::Internal,
        };
        let mut inner = if parent_cx.is_telemetry_suppressed() {
            HeapSpan { record: None, ctx: crate::span::thread_state::Ctx::EMPTY }
        } else {
            HeapSpan::start(meta_for(kind), parent_for(parent_cx))
        };
        if let Some(record) = inner.record.as_deref_mut() {
            if let Some(start) = builder.start_time {
                record.start = tick_at(start);
            }
            let extra = record.extra();
            extra.name = Some(clamp_text(builder.name));
            extra.scope = Some(self.scope.clone());
            for kv in builder.attributes.into_iter().flatten() {
                set_attribute(record, kv);
            }
            for event in builder.events.into_iter().flatten() {
                let time = tick_at(event.timestamp);
                push_event(record, event.name, time, event.attributes);
            }
            for link in builder.links.into_iter().flatten() {
                push_link(record, link);
            }
        }
        let span_context = inner.span_context();
        Span { inner, span_context }
    }
}

/// A span made through the OpenTelemetry API; it ends when [`end`](opentelemetry::trace::Span::end)
/// is called or when it is dropped.
///
/// ```
/// use trace_runtime::opentelemetry::trace::{Span as _, Status, Tracer as _};
///
/// let tracer = trace_runtime::otel::Tracer::default();
/// let (_, spans) = trace_runtime::testing::capture(|| {
///     let mut span = tracer.start("upload");
///     span.add_event("chunk sent", vec![]);
///     span.set_status(Status::error("connection reset"));
/// }); // dropped: ended
/// assert_eq!(spans[0].status, Status::error("connection reset"));
/// assert_eq!(spans[0].events.events[0].name, "chunk sent");
/// ```
#[derive(Debug)]
pub struct Span {
    inner: HeapSpan,
    span_context: SpanContext,
}

impl std::fmt::Debug for HeapSpan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeapSpan").field("recording", &self.record.is_some()).finish()
    }
}

impl opentelemetry::trace::Span for Span {
    fn add_event_with_timestamp<T>(&mut self, name: T, timestamp: SystemTime, attributes: Vec<KeyValue>)
    where
        T: Into<Cow<'static, str>>,
    {
        if let Some(record) = self.inner.record.as_deref_mut() {
            push_event(record, name.into(), tick_at(timestamp), attributes);
        }
    }

    fn span_context(&self) -> &SpanContext {
        &self.span_context
    }

    fn is_recording(&self) -> bool {
        self.inner.record.is_some()
    }

    fn set_attribute(&mut self, attribute: KeyValue) {
        if let Some(record) = self.inner.record.as_deref_mut() {
            set_attribute(record, attribute);
        }
    }

    fn set_status(&mut self, new: Status) {
        let Some(record) = self.inner.record.as_deref_mut() else { return };
        // As in OpenTelemetry: Ok is final, Unset changes nothing.
        match new {
            Status::Ok => record.status = status::OK,
            Status::Error { description } if record.status != status::OK => {
                record.set_error(clamp_text(description));
            }
            _ => {}
        }
    }

    fn update_name<T>(&mut self, new_name: T)
    where
        T: Into<Cow<'static, str>>,
    {
        if let Some(record) = self.inner.record.as_deref_mut() {
            record.extra().name = Some(clamp_text(new_name.into()));
        }
    }

    fn add_link(&mut self, span_context: SpanContext, attributes: Vec<KeyValue>) {
        if let Some(record) = self.inner.record.as_deref_mut() {
            push_link(record, Link::new(span_context, attributes, 0));
        }
    }

    fn end_with_timestamp(&mut self, timestamp: SystemTime) {
        if self.inner.record.is_some() {
            self.inner.end(tick_at(timestamp));
        }
    }

    fn end(&mut self) {
        if self.inner.record.is_some() {
            self.inner.end(clock::now());
        }
    }
}

/// Sets `kv`, replacing an earlier value under the same key; past the limit, counts it dropped.
pub(crate) fn set_attribute(record: &mut Record, kv: KeyValue) {
    let kv = clamp_key_value(kv);
    let extra = record.extra();
    if let Some(slot) = extra.otel_attrs.iter_mut().find(|a| a.key == kv.key) {
        *slot = kv;
    } else if extra.otel_attrs.len() + extra.attrs.len() < limits::attributes() {
        extra.otel_attrs.push(kv);
    } else {
        extra.dropped_attrs += 1;
    }
}

/// Adds an event within the same limits as the kit's own `span::add_event`: name and string
/// values cut at `MAX_VALUE_BYTES`, at most `MAX_EVENT_ATTRIBUTES` attributes.
pub(crate) fn push_event(
    record: &mut Record,
    name: Cow<'static, str>,
    time: crate::record::clock::Tick,
    attrs: Vec<KeyValue>,
) {
    let attrs = attrs.into_iter().take(MAX_EVENT_ATTRIBUTES).map(clamp_key_value).collect();
    record.push_event(EventRecord { name: clamp_text(name), time, attrs });
}

fn push_link(record: &mut Record, link: Link) {
    let extra = record.extra();
    if extra.links.len() < limits::events() {
        extra.links.push(link);
    }
}

impl Span {
    /// Whether this span is recorded (sampled, with tracing on).
    ///
    /// ```
    /// use trace_runtime::opentelemetry::trace::Tracer as _;
    ///
    /// let tracer = trace_runtime::otel::Tracer::default();
    /// assert!(!tracer.start("before init").recording(), "nothing records before init()");
    /// ```
    pub fn recording(&self) -> bool {
        self.inner.record.is_some()
    }
}

/// The kit's span made current in OpenTelemetry's `Context` too: for handing the current kit span
/// to code that reads `opentelemetry::Context::current()` (a propagator, a library's
/// `start_with_context`).
///
/// ```
/// use trace_runtime::opentelemetry::trace::TraceContextExt;
/// use trace_runtime::{otel, testing, trace};
///
/// testing::capture(|| {
///     trace!("handler", {
///         let cx = otel::current_otel_context();
///         assert_eq!(Some(cx.span().span_context().trace_id()), trace_runtime::span::trace_id());
///     })
/// });
/// ```
pub fn current_otel_context() -> opentelemetry::Context {
    let kit = crate::span::thread_state::current();
    let current = opentelemetry::Context::current();
    if kit.trace_id == 0 {
        return current;
    }
    let cx = crate::span::context::Context::from_ctx(kit);
    current.with_remote_span_context(super::propagation::span_context_of(&cx, false))
}
