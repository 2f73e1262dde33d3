//! Across services and libraries: the OpenTelemetry API, the `tracing` crate and W3C Trace Context.
//!
//! One span tree, whoever made the spans:
//!
//! - [`otel`]: a `TracerProvider` whose tracers make kit spans, installed as the global provider by
//!   [`init`](crate::init) (and by [`testing::capture`](crate::testing::capture)), so
//!   `opentelemetry::global::tracer("x").in_span(..)` nests under the current kit span and kit
//!   spans started inside nest under it.
//! - [`tracing_layer`](crate::tracing_layer) (feature `tracing`): `tracing` spans become kit spans
//!   and `tracing` events become span events.
//! - [`propagation`]: `inject` / `extract` of `traceparent` and `tracestate`, so one trace crosses
//!   services.
//!
//! Spans made this way are not on the hot path: their record lives on the heap while they run.
//! They take their ids and their sampling decision exactly as the kit's own spans do.

mod observer;
pub mod otel;
pub mod propagation;
#[cfg(feature = "tracing")]
pub mod tracing;

use std::collections::HashMap;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};
use std::time::SystemTime;

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt};

use crate::record::association::AssocId;
use crate::record::clock::{self, Tick};
use crate::record::{Kind, Naming, Record, SpanMeta};
use crate::span::gate::{Decision, ENABLED, decide};
use crate::span::thread_state::{self, Ctx, ctx_flags};

/// The global text-map propagators `OTEL_PROPAGATORS` asks for (`tracecontext`, `baggage`,
/// `none`); W3C Trace Context alone by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Propagators {
    pub(crate) trace_context: bool,
    pub(crate) baggage: bool,
}

impl Default for Propagators {
    fn default() -> Self {
        Propagators { trace_context: true, baggage: false }
    }
}

/// Installs the kit as the process's OpenTelemetry tracer provider and text-map propagator, and
/// the context observer that lets OpenTelemetry contexts parent kit spans. Once per process.
pub(crate) fn install() {
    install_with(Propagators::default());
}

/// [`install`], with the propagators of `OTEL_PROPAGATORS`. A global propagator the application
/// installed before is kept: the kit never overwrites the application's choice.
pub(crate) fn install_with(propagators: Propagators) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        observer::install();
        opentelemetry::global::set_tracer_provider(otel::TracerProvider::default());
        // The default global propagator is a no-op with no fields: anything else was set by the
        // application.
        let installed = opentelemetry::global::get_text_map_propagator(|p| p.fields().next().is_some());
        if installed {
            return;
        }
        use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
        let mut chosen: Vec<Box<dyn TextMapPropagator + Send + Sync>> = Vec::new();
        if propagators.trace_context {
            chosen.push(Box::new(propagation::Propagator::new()));
        }
        if propagators.baggage {
            chosen.push(Box::new(opentelemetry_sdk::propagation::BaggagePropagator::new()));
        }
        match chosen.len() {
            0 => {}
            1 if propagators.trace_context => {
                opentelemetry::global::set_text_map_propagator(propagation::Propagator::new())
            }
            _ => opentelemetry::global::set_text_map_propagator(TextMapCompositePropagator::new(chosen)),
        }
    });
}

/// A span whose record lives on the heap: one made through the OpenTelemetry API or `tracing`.
pub(crate) struct HeapSpan {
    pub(crate) record: Option<Box<Record>>,
    /// The context children of this span see (the parent's, when this span does not record).
    pub(crate) ctx: Ctx,
}

impl HeapSpan {
    /// Starts a span under `parent`, with the decision and ids a kit span would get there.
    pub(crate) fn start(meta: &'static SpanMeta, parent: Ctx) -> HeapSpan {
        // Its record is on the heap, owned by the bridge: writes to the current span never reach it.
        let parent = parent.detached();
        if !ENABLED.load(Ordering::Relaxed) {
            return HeapSpan { record: None, ctx: parent };
        }
        match decide(thread_state::get(), parent) {
            Decision::Record { trace_id, span_id, parent_id, sink, flags } => {
                let mut record = Box::new(Record::new(meta, trace_id, span_id, parent_id, sink, flags));
                crate::span::association::inherit(&mut record, parent);
                record.start = clock::now();
                // Children keep the sampled-out mark, so adaptive sampling decides the whole trace.
                let flags = ctx_flags::SAMPLED | (flags & ctx_flags::SAMPLED_OUT);
                let assoc = record.association().map_or(AssocId::NONE, |set| set.id);
                if sink != 0 || flags & ctx_flags::SAMPLED_OUT != 0 || !assoc.is_none() {
                    // What its OpenTelemetry context cannot carry, for children made under it.
                    live::register(span_id, sink, flags & ctx_flags::SAMPLED_OUT, assoc);
                }
                let ctx = Ctx { trace_id, span_id, sink, flags, assoc };
                HeapSpan { record: Some(record), ctx }
            }
            Decision::Unsampled(ctx) => HeapSpan { record: None, ctx },
            Decision::Inert => HeapSpan { record: None, ctx: parent },
        }
    }

    /// Ends the span at `end` and hands its record to the export pipeline; later calls do nothing.
    pub(crate) fn end(&mut self, end: Tick) {
        let Some(record) = self.record.take() else { return };
        let record = ManuallyDrop::new(*record);
        let end = end.max(record.start);
        let registered = crate::record::flags::SAMPLED_OUT | crate::record::flags::ASSOCIATED;
        if record.sink != 0 || record.flags & registered != 0 {
            live::unregister(record.span_id);
        }
        // A kit span recording on this thread hands the batch off when its local root ends;
        // otherwise hand it off now, so this span does not wait in an idle thread's buffer.
        let local_root = !thread_state::current().is_local();
        // SAFETY: `record` is initialised and given up here: `ManuallyDrop` keeps it from being
        // dropped again after `push` copied it into the thread's batch.
        unsafe { thread_state::push(&*record, end, local_root) };
    }

    /// The span's OpenTelemetry context: its ids when it records, the trace's otherwise.
    pub(crate) fn span_context(&self) -> SpanContext {
        let ctx = self.ctx;
        if ctx.trace_id == 0 {
            return SpanContext::empty_context();
        }
        let flags = if ctx.sampled() {
            opentelemetry::trace::TraceFlags::SAMPLED
        } else {
            opentelemetry::trace::TraceFlags::default()
        };
        let remote = self.record.is_none() && ctx.flags & ctx_flags::REMOTE != 0;
        SpanContext::new(
            opentelemetry::trace::TraceId::from(ctx.trace_id),
            SpanId::from(ctx.span_id),
            flags,
            remote,
            crate::record::trace_state::trace_state(ctx.trace_id),
        )
    }
}

impl Drop for HeapSpan {
    fn drop(&mut self) {
        if self.record.is_some() {
            self.end(clock::now());
        }
    }
}

/// The tick of a wall-clock time, for timestamps given through the OpenTelemetry API.
pub(crate) fn tick_at(time: SystemTime) -> Tick {
    let (now_tick, now) = (clock::now(), SystemTime::now());
    let rate = clock::anchor().rate().max(f64::MIN_POSITIVE);
    let ticks = |d: std::time::Duration| (d.as_nanos() as f64 / rate) as u64;
    match now.duration_since(time) {
        Ok(ago) => now_tick.saturating_sub(ticks(ago)),
        Err(ahead) => now_tick.saturating_add(ticks(ahead.duration())),
    }
}

/// The kit context of an OpenTelemetry span context: what kit children of that span see.
pub(crate) fn ctx_of(sc: &SpanContext, sink: u32) -> Ctx {
    if !sc.is_valid() {
        return Ctx { sink, ..Ctx::EMPTY };
    }
    let (found, mut flags, assoc) = live::of(sc).unwrap_or_default();
    let sink = if found != 0 { found } else { sink };
    let trace_id = u128::from_be_bytes(sc.trace_id().to_bytes());
    let sampled = match sc.is_remote() {
        true => crate::span::gate::remote_sampled(trace_id, sc.is_sampled()),
        false => sc.is_sampled(),
    };
    if sampled {
        flags |= ctx_flags::SAMPLED;
    }
    if sc.is_remote() {
        flags |= ctx_flags::REMOTE;
    }
    Ctx { trace_id, span_id: u64::from_be_bytes(sc.span_id().to_bytes()), sink, flags, assoc }
}

/// The parent of a span started through the OpenTelemetry API with `parent_cx` as its context.
///
/// With the context observer installed, the kit's current context follows every OpenTelemetry
/// context made current, and kit spans entered inside it replace it: when `parent_cx` is the
/// current OpenTelemetry context, the kit's current context is the innermost span of both.
pub(crate) fn parent_for(parent_cx: &opentelemetry::Context) -> Ctx {
    let kit = thread_state::current();
    let valid = |cx: &opentelemetry::Context| cx.has_active_span() && cx.span().span_context().is_valid();
    let current =
        opentelemetry::Context::map_current(|cx| valid(cx).then(|| cx.span().span_context().span_id()));
    if !valid(parent_cx) {
        // No span in `parent_cx`: the kit's current span, unless the caller passed a span-less
        // context while an OpenTelemetry span is current, which asks for a new trace.
        return if current.is_some() { Ctx { sink: kit.sink, ..Ctx::EMPTY } } else { kit };
    }
    let sc = parent_cx.span().span_context().clone();
    if current == Some(sc.span_id()) && observer::active() {
        return kit;
    }
    ctx_of(&sc, kit.sink)
}

/// Static metadata of spans made through the OpenTelemetry API (the name is set per span).
pub(crate) fn meta_for(kind: Kind) -> &'static SpanMeta {
    macro_rules! meta {
        ($kind:ident) => {{
            static META: SpanMeta = SpanMeta {
                name: "span",
                kind: Kind::$kind,
                naming: Naming::Static,
                function: "",
                file: "",
                line: 0,
                attrs: &[],
                associated: 0,
            };
            &META
        }};
    }
    match kind {
        Kind::Internal => meta!(Internal),
        Kind::Client => meta!(Client),
        Kind::Server => meta!(Server),
        Kind::Producer => meta!(Producer),
        Kind::Consumer => meta!(Consumer),
    }
}

/// What an OpenTelemetry span context cannot carry for a running heap span: its
/// `testing::capture` sink, so that kit spans parented by it on another thread reach the same
/// capture, and the sampled-out mark of adaptive sampling, so that they are kept or dropped with
/// their trace. Empty (and never locked) outside captures and adaptive sampling.
mod live {
    use super::*;

    static LIVE: AtomicUsize = AtomicUsize::new(0);
    /// Span id to (sink, sampled-out flag, association set).
    static SPANS: Mutex<Option<HashMap<u64, Live>>> = Mutex::new(None);

    type Live = (u32, u8, AssocId);

    fn lock() -> std::sync::MutexGuard<'static, Option<HashMap<u64, Live>>> {
        SPANS.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn register(span_id: u64, sink: u32, sampled_out: u8, assoc: AssocId) {
        lock().get_or_insert_with(HashMap::new).insert(span_id, (sink, sampled_out, assoc));
        LIVE.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn unregister(span_id: u64) {
        if lock().as_mut().and_then(|m| m.remove(&span_id)).is_some() {
            LIVE.fetch_sub(1, Ordering::Relaxed);
        }
    }

    pub(super) fn of(sc: &SpanContext) -> Option<Live> {
        if LIVE.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let id = u64::from_be_bytes(sc.span_id().to_bytes());
        lock().as_ref().and_then(|m| m.get(&id).copied())
    }
}
