//! The `tracing` crate, feeding the kit: see [`tracing_layer`](crate::tracing_layer).

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::Ordering;

use opentelemetry::KeyValue;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record as Values};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::Context as LayerContext;
use tracing_subscriber::registry::LookupSpan;

use super::HeapSpan;
use crate::record::clock;
use crate::record::limits;
use crate::record::value::{Attr, AttrValue};
use crate::record::{EventRecord, Kind, Naming, Record, SpanMeta, status};
use crate::span::gate::ENABLED;
use crate::span::thread_state::{self, Ctx, Scope};

/// The layer made by [`tracing_layer`], where what it records is described.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let layer = trace_runtime::tracing_layer().with_error_status(false);
/// let subscriber = tracing_subscriber::registry().with(layer);
/// let (_, spans) = tracing::subscriber::with_default(subscriber, || {
///     trace_runtime::testing::capture(|| {
///         tracing::info_span!("load").in_scope(|| tracing::error!("disk full"));
///     })
/// });
/// assert_eq!(spans[0].status, trace_runtime::opentelemetry::trace::Status::Unset);
/// assert_eq!(spans[0].events.events[0].name, "disk full");
/// ```
#[derive(Clone, Debug)]
pub struct TracingLayer {
    error_status: bool,
}

/// A `tracing_subscriber` layer that turns `tracing` spans into kit spans and `tracing` events into
/// span events (feature `tracing`, on by default).
///
/// `tracing` spans nest under the current kit span, kit spans started inside an entered `tracing`
/// span nest under it, and both take the kit's sampling decision and ids and go through its
/// export pipeline. Span fields become attributes under their field names; `otel.name`,
/// `otel.kind` (`client`, `server`, `producer`, `consumer`, `internal`), `otel.status_code`
/// (`ok`, `error`) and `otel.status_message` set the span's name, kind and status, as with
/// `tracing-opentelemetry`. An event becomes an event of the innermost span, named by its
/// message, with `level`, `target` and its fields; an `ERROR` event also sets the span's status
/// to Error with that message (turn off with [`TracingLayer::with_error_status`]).
///
/// ```
/// use trace_runtime::{testing, trace, tracing_layer};
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let subscriber = tracing_subscriber::registry().with(tracing_layer());
/// let _default = tracing::subscriber::set_default(subscriber);
/// let (_, spans) = testing::capture(|| {
///     trace!("turn", {
///         let span = tracing::info_span!("fetch", url = "https://example.com", attempt = 1);
///         let _entered = span.enter();
///         tracing::warn!(status = 503, "retrying");
///         trace!("parse", {});
///     })
/// });
/// let id = |name: &str| spans.iter().find(|s| s.name == name).unwrap().span_context.span_id();
/// let fetch = spans.iter().find(|s| s.name == "fetch").unwrap();
/// assert_eq!(fetch.parent_span_id, id("turn"));
/// assert_eq!(fetch.events.events[0].name, "retrying");
/// assert_eq!(spans.iter().find(|s| s.name == "parse").unwrap().parent_span_id, id("fetch"));
/// ```
///
/// Setting it as the global subscriber:
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
/// use tracing_subscriber::util::SubscriberInitExt;
///
/// tracing_subscriber::registry().with(trace_runtime::tracing_layer()).init();
/// let (_, spans) = trace_runtime::testing::capture(|| {
///     tracing::info_span!("job", id = 7).in_scope(|| ());
/// });
/// assert_eq!(spans[0].name, "job");
/// ```
pub fn tracing_layer() -> TracingLayer {
    TracingLayer { error_status: true }
}

impl TracingLayer {
    /// Whether an `ERROR`-level event sets its span's status to Error (default: yes).
    ///
    /// ```
    /// use tracing_subscriber::layer::SubscriberExt;
    ///
    /// let layer = trace_runtime::tracing_layer().with_error_status(false);
    /// let subscriber = tracing_subscriber::registry().with(layer);
    /// let (_, spans) = tracing::subscriber::with_default(subscriber, || {
    ///     trace_runtime::testing::capture(|| {
    ///         tracing::info_span!("retry").in_scope(|| tracing::error!("attempt 1 failed"));
    ///     })
    /// });
    /// assert_eq!(spans[0].status, trace_runtime::opentelemetry::trace::Status::Unset, "the error is only an event");
    /// ```
    pub fn with_error_status(mut self, on: bool) -> Self {
        self.error_status = on;
        self
    }
}

/// What the layer keeps in a `tracing` span's extensions.
struct Data {
    span: HeapSpan,
}

thread_local! {
    /// Entered `tracing` spans of this thread and the kit context each replaced.
    static ENTERED: RefCell<Vec<(u64, Scope, Ctx)>> = const { RefCell::new(Vec::new()) };
}

impl<S> tracing_subscriber::Layer<S> for TracingLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        if !ENABLED.load(Ordering::Relaxed) {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let kit = thread_state::current();
        let parent = if attrs.is_root() {
            Ctx { sink: kit.sink, ..Ctx::EMPTY }
        } else if let Some(parent) = attrs.parent() {
            ctx.span(parent).and_then(|p| p.extensions().get::<Data>().map(|d| d.span.ctx)).unwrap_or(kit)
        } else {
            kit
        };
        let mut heap = HeapSpan::start(meta_of(attrs.metadata(), Kind::Internal), parent);
        // Fields are read only for a span that records: an unsampled one costs no formatting.
        if let Some(record) = heap.record.as_deref_mut() {
            let mut fields = Fields::new();
            attrs.record(&mut fields);
            if fields.kind != Kind::Internal {
                record.meta = meta_of(attrs.metadata(), fields.kind);
            }
            fields.apply(record);
        }
        span.extensions_mut().insert(Data { span: heap });
    }

    fn on_record(&self, id: &Id, values: &Values<'_>, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        let Some(record) = extensions.get_mut::<Data>().and_then(|d| d.span.record.as_deref_mut()) else {
            return;
        };
        let mut fields = Fields::new();
        values.record(&mut fields);
        fields.apply(record);
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: LayerContext<'_, S>) {
        let Some(cause) = ctx.span(follows) else { return };
        let Some(cause) = cause.extensions().get::<Data>().map(|d| d.span.span_context()) else { return };
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(record) = extensions.get_mut::<Data>().and_then(|d| d.span.record.as_deref_mut())
            && cause.is_valid()
        {
            record.extra().links.push(opentelemetry::trace::Link::with_context(cause));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: LayerContext<'_, S>) {
        if !ENABLED.load(Ordering::Relaxed) {
            return;
        }
        // The innermost span: a kit span entered inside the `tracing` span, or the `tracing` span.
        // Found first, so that an event no recording span takes costs no formatting of its fields.
        let in_kit_span = event.is_contextual() && thread_state::recording_here();
        let span = if in_kit_span { None } else { ctx.event_span(event) };
        let recording = |s: &tracing_subscriber::registry::SpanRef<'_, S>| {
            s.extensions().get::<Data>().is_some_and(|d| d.span.record.is_some())
        };
        if !in_kit_span && !span.as_ref().is_some_and(recording) {
            return;
        }
        let mut fields = EventFields::default();
        event.record(&mut fields);
        let meta = event.metadata();
        let name: Cow<'static, str> = match fields.message.take() {
            Some(message) => message.into(),
            None => meta.name().into(),
        };
        let mut attrs =
            vec![KeyValue::new("level", meta.level().as_str()), KeyValue::new("target", meta.target())];
        attrs.append(&mut fields.attrs);
        let error = (self.error_status && *meta.level() == Level::ERROR).then(|| name.clone());
        let event_record = EventRecord { name, time: clock::now(), attrs };
        let add = |record: &mut Record| {
            record.push_event(event_record);
            if let Some(message) = error
                && record.status != status::OK
            {
                record.set_error(message);
            }
        };
        if in_kit_span {
            thread_state::defer(add);
        } else if let Some(span) = span {
            let mut extensions = span.extensions_mut();
            if let Some(record) = extensions.get_mut::<Data>().and_then(|d| d.span.record.as_deref_mut()) {
                add(record);
            }
        }
    }

    fn on_enter(&self, id: &Id, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let Some(child_ctx) = span.extensions().get::<Data>().map(|d| d.span.ctx) else { return };
        let (scope, saved) = thread_state::enter(child_ctx);
        let _ = ENTERED.try_with(|e| e.borrow_mut().push((id.into_u64(), scope, saved)));
    }

    fn on_exit(&self, id: &Id, _ctx: LayerContext<'_, S>) {
        let id = id.into_u64();
        let saved = ENTERED.try_with(|e| {
            let mut entered = e.borrow_mut();
            let at = entered.iter().rposition(|(entered_id, ..)| *entered_id == id)?;
            let (_, scope, saved) = entered[at];
            entered.truncate(at);
            Some((scope, saved))
        });
        // A scope that is no longer live (a kit span it was entered in has ended) restores nothing.
        if let Ok(Some((scope, saved))) = saved
            && thread_state::exit(scope, saved)
            && !saved.is_local()
        {
            thread_state::left_outermost(thread_state::get());
        }
    }

    fn on_close(&self, id: Id, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let data = span.extensions_mut().remove::<Data>();
        if let Some(mut data) = data {
            data.span.end(clock::now());
        }
    }
}

/// Span metadata per `tracing` call site and kind, made once and kept for the process (call sites
/// are static, so this is bounded by the program's code).
///
/// Each thread keeps the metadata it used in a cache of its own, so that starting a `tracing`
/// span takes the process-wide lock only the first time a thread meets a call site.
fn meta_of(meta: &'static Metadata<'static>, kind: Kind) -> &'static SpanMeta {
    type Metas = HashMap<(usize, u8), &'static SpanMeta>;
    static METAS: Mutex<Option<Metas>> = Mutex::new(None);
    thread_local! {
        static CACHE: RefCell<Metas> = RefCell::new(HashMap::new());
    }
    let key = (std::ptr::from_ref(meta) as usize, kind as u8);
    let cached = CACHE.try_with(|c| c.try_borrow().ok().and_then(|c| c.get(&key).copied())).ok().flatten();
    if let Some(found) = cached {
        return found;
    }
    let mut metas = METAS.lock().unwrap_or_else(|p| p.into_inner());
    let found: &'static SpanMeta = metas.get_or_insert_with(HashMap::new).entry(key).or_insert_with(|| {
        Box::leak(Box::new(SpanMeta {
            name: meta.name(),
            kind,
            naming: Naming::Static,
            function: "",
            file: meta.file().unwrap_or(""),
            line: meta.line().unwrap_or(0),
            attrs: &[],
            associated: 0,
        }))
    });
    drop(metas);
    let _ = CACHE.try_with(|c| c.try_borrow_mut().map(|mut c| c.insert(key, found)));
    found
}

/// A span's fields: attributes, and the `otel.*` fields that set name, kind and status.
struct Fields {
    attrs: Vec<Attr>,
    kind: Kind,
    name: Option<String>,
    status: Option<bool>,
    status_message: Option<String>,
}

impl Fields {
    fn new() -> Self {
        Fields { attrs: Vec::new(), kind: Kind::Internal, name: None, status: None, status_message: None }
    }

    fn apply(self, record: &mut Record) {
        for attr in self.attrs {
            record.push_attr(attr);
        }
        if let Some(name) = self.name {
            record.extra().name = Some(name.into());
        }
        match self.status {
            Some(true) => record.status = status::OK,
            Some(false) => {
                let message = self.status_message.unwrap_or_else(|| "error".to_string());
                record.set_error(message.into());
            }
            None => {}
        }
    }

    fn string(&mut self, field: &Field, value: &str) {
        match field.name() {
            "otel.name" => self.name = Some(crate::record::value::clip(value).into_owned()),
            "otel.kind" => {
                self.kind = match value.to_ascii_lowercase().as_str() {
                    "client" => Kind::Client,
                    "server" => Kind::Server,
                    "producer" => Kind::Producer,
                    "consumer" => Kind::Consumer,
                    _ => Kind::Internal,
                }
            }
            "otel.status_code" => self.status = Some(!value.eq_ignore_ascii_case("error")),
            "otel.status_message" => {
                self.status_message = Some(crate::record::value::clip(value).into_owned())
            }
            name => self.attrs.push(Attr::new(name, AttrValue::copy_str(value))),
        }
    }
}

impl Visit for Fields {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.attrs.push(Attr::new(field.name(), AttrValue::I64(value)));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        let value = match i64::try_from(value) {
            Ok(v) => AttrValue::I64(v),
            Err(_) => AttrValue::String(value.to_string().into()),
        };
        self.attrs.push(Attr::new(field.name(), value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.attrs.push(Attr::new(field.name(), AttrValue::F64(value)));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.attrs.push(Attr::new(field.name(), AttrValue::Bool(value)));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.string(field, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.string(field, &debug_text(value));
    }
}

/// An event's fields: its message and the rest as attributes.
#[derive(Default)]
struct EventFields {
    message: Option<String>,
    attrs: Vec<KeyValue>,
}

impl EventFields {
    fn push(&mut self, field: &Field, value: opentelemetry::Value) {
        self.attrs.push(KeyValue::new(field.name(), value));
    }
}

impl Visit for EventFields {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match i64::try_from(value) {
            Ok(v) => self.push(field, v.into()),
            Err(_) => self.push(field, value.to_string().into()),
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, value.into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let value = crate::record::value::clip(value).into_owned();
        if field.name() == "message" {
            self.message = Some(value);
        } else {
            self.push(field, value.into());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, &debug_text(value));
    }
}

/// `value`'s `Debug` text, stopped at the value limit while it is written: a huge value (a
/// whole request body, a large collection) is never formatted in full only to be cut.
fn debug_text(value: &dyn std::fmt::Debug) -> String {
    struct Bounded(String);
    impl std::fmt::Write for Bounded {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            let room = limits::value_bytes().saturating_sub(self.0.len());
            if s.len() <= room {
                self.0.push_str(s);
                return Ok(());
            }
            let mut end = room;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            self.0.push_str(&s[..end]);
            // An error stops the `Debug` implementation: the rest is never produced.
            Err(std::fmt::Error)
        }
    }
    let mut out = Bounded(String::new());
    let _ = std::fmt::write(&mut out, format_args!("{value:?}"));
    out.0
}
