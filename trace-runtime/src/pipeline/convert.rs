//! Records to `opentelemetry_sdk::trace::SpanData`: the costly half of recording, done here on the
//! export worker instead of on the application's threads.

use std::borrow::Cow;
use std::mem::MaybeUninit;

use opentelemetry::trace::{Event, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

use crate::record::clock::{self, Anchor};
use crate::record::value::AttrValue;
use crate::record::{Kind, Naming, Record, flags, status, trace_state};

pub(crate) struct Converter {
    anchor: &'static Anchor,
    /// Emptied attribute vectors sent back by the lanes (see [`rehome`]).
    spare: Vec<Vec<KeyValue>>,
    /// Association sets of converted spans, released [`RETIRED`] at a time: one run of
    /// decrements on a set's counter instead of one per span, each taking its cache line back
    /// from the application thread that counts it up.
    retired: Vec<std::sync::Arc<crate::record::association::AssocSet>>,
}

/// Association sets held back before they are released together.
const RETIRED: usize = 64;

/// Spare attribute vectors the worker keeps at most.
const MAX_SPARE: usize = 4 * 1024;

/// Attribute vectors larger than this are not sent back to the worker.
const KEPT_ATTRIBUTE_CAPACITY: usize = 16;

/// Asks for the lines of `record` that the converter reads first while the one before it is
/// converted. A record was written on its application thread's core, so every first touch of it
/// here missed the cache: the worker's first read of each record was a third of its time in the
/// throughput benchmark.
#[inline(always)]
pub(super) fn prefetch(record: &Record) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let p = (record as *const Record).cast::<i8>();
        // The fixed part and the first attribute slots: three lines, at any alignment.
        for line in 0..3 {
            // SAFETY: SSE is in every x86_64 target's baseline, and a prefetch is a hint: it
            // reads nothing the program sees and never faults, whatever the address.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(line * 64)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = record;
}

/// Moves the attributes of `spans` into vectors allocated by the calling thread (an exporter's
/// lane), and sends the worker's emptied vectors back to it.
///
/// An exporter frees the spans it is given on its lane's thread. Had their attribute vectors come
/// from the worker, every span would be allocated on one thread and freed on another, and the two
/// would contend for the allocator's lock of the worker's arena (a third of the worker's time, in
/// the throughput benchmark). Here each thread frees what it allocated, and the worker reuses
/// its vectors instead of allocating.
pub(crate) fn rehome(spans: &mut [SpanData]) {
    let mut emptied = Vec::with_capacity(spans.len());
    for span in spans {
        let mut here = Vec::with_capacity(span.attributes.len());
        here.append(&mut span.attributes);
        let old = std::mem::replace(&mut span.attributes, here);
        // A span with many attributes is rare: its vector is not worth keeping.
        if old.capacity() <= KEPT_ATTRIBUTE_CAPACITY {
            emptied.push(old);
        }
    }
    // A full return queue: the worker has plenty; these are freed here.
    let _ = super::shared().returned.push(emptied);
}

impl Converter {
    pub(crate) fn new() -> Self {
        Converter { anchor: clock::anchor(), spare: Vec::new(), retired: Vec::new() }
    }

    /// Takes back emptied attribute vectors until `needed` are at hand.
    pub(crate) fn refill(
        &mut self,
        returned: &crossbeam_queue::ArrayQueue<Vec<Vec<KeyValue>>>,
        needed: usize,
    ) {
        while self.spare.len() < needed.min(MAX_SPARE) {
            match returned.pop() {
                Some(mut bundle) => self.spare.append(&mut bundle),
                None => break,
            }
        }
    }

    /// The current tick rate, measured once per drained queue.
    pub(crate) fn refresh(&self) -> f64 {
        self.anchor.rate()
    }

    /// The span of `r`, written into `out`; the static strings it holds are noted for redaction
    /// by the stage. Written in place: a `SpanData` built and returned is another 400-byte copy.
    pub(crate) fn span_data_into<'a>(
        &mut self,
        r: &mut Record,
        rate: f64,
        stage: &mut dyn super::stage::Stage,
        out: &'a mut MaybeUninit<SpanData>,
    ) -> &'a mut SpanData {
        if r.meta.naming == Naming::Static {
            stage.note_static(r.meta.name);
        }
        // The code location is redacted like every attribute; noted here, it is checked once.
        stage.note_static(r.meta.file);
        if !r.meta.function.is_empty() {
            stage.note_static(r.meta.function);
        }
        // Made before the attributes: `SpanContext::new` is not inlined, and its result, moved
        // into the struct right after the call, was reloaded before its byte-wise stores
        // retired (a quarter of this function's time, stalled on store forwarding).
        let span_context = SpanContext::new(
            TraceId::from(r.trace_id),
            SpanId::from(r.span_id),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        );
        let attributes = self.attributes(r, stage);
        // The common span (static name, no events, status unset) is written field by field in
        // place; the rest is patched in after. A value computed first (a name, the events, a
        // status) and then moved into the struct went through the stack, and reloading it in
        // other widths than it was stored in stalled on store forwarding (half of this
        // function's time in the throughput profile).
        let data = out.write(SpanData {
            span_context,
            parent_span_id: SpanId::from(r.parent_id),
            parent_span_is_remote: r.flags & flags::REMOTE_PARENT != 0,
            span_kind: kind(r.meta.kind),
            name: Cow::Borrowed(r.meta.name),
            start_time: self.anchor.to_system_time(r.start, rate),
            end_time: self.anchor.to_system_time(r.end.max(r.start), rate),
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            // Built, not cloned: cloning its (empty) attribute vector returned it through the
            // stack, with the same store-forwarding stall (6% of the worker's time).
            instrumentation_scope: scope(),
        });
        // Set after: in the literal, the vector was re-packed on the stack with the dropped
        // count beside it and reloaded at once, stalling again.
        data.attributes = attributes;
        if r.extra.is_some() || r.meta.naming != Naming::Static {
            data.name = name(r, &data.attributes);
        }
        if let Some(e) = r.extra.as_deref() {
            data.dropped_attributes_count = e.dropped_attrs;
            data.events.dropped_count = e.dropped_events;
            data.events.events = e
                .events
                .iter()
                .map(|ev| {
                    Event::new(
                        ev.name.clone(),
                        self.anchor.to_system_time(ev.time, rate),
                        ev.attrs.clone(),
                        0,
                    )
                })
                .collect();
        }
        match r.status {
            status::OK => data.status = Status::Ok,
            status::ERROR => {
                let message = r.extra.as_deref().and_then(|e| e.status_message.clone());
                data.status = Status::error(message.unwrap_or(Cow::Borrowed("error")));
            }
            _ => {}
        }
        complete_span_data(r, data);
        let limit = crate::record::limits::attributes();
        if data.attributes.len() > limit {
            cut_attributes(data, limit);
        }
        data
    }
}

/// A span past the attribute count limit (one set below the record's inline slots, or the kit's
/// own attributes on top of a full span): the first `limit` are kept, the rest counted.
#[cold]
fn cut_attributes(data: &mut SpanData, limit: usize) {
    let over = data.attributes.len() - limit;
    data.attributes.truncate(limit);
    data.dropped_attributes_count = data.dropped_attributes_count.saturating_add(over as u32);
}

/// The kit's instrumentation scope: static strings and no attributes, so building it allocates
/// nothing.
#[inline(always)]
pub(crate) fn scope() -> InstrumentationScope {
    InstrumentationScope::builder("trace-runtime")
        .with_version(env!("CARGO_PKG_VERSION"))
        .with_schema_url("https://opentelemetry.io/schemas/1.37.0")
        .build()
}

fn kind(kind: Kind) -> SpanKind {
    match kind {
        Kind::Internal => SpanKind::Internal,
        Kind::Client => SpanKind::Client,
        Kind::Server => SpanKind::Server,
        Kind::Producer => SpanKind::Producer,
        Kind::Consumer => SpanKind::Consumer,
    }
}

impl Converter {
    /// The span's attributes: the last value set for each key wins, as in OpenTelemetry; then
    /// usage, the cancelled marker and the code location.
    fn attributes(&mut self, r: &mut Record, stage: &mut dyn super::stage::Stage) -> Vec<KeyValue> {
        let needed = r.attr_count() + 4;
        let mut out = match self.spare.pop() {
            Some(mut v) => {
                v.reserve(needed);
                v
            }
            None => Vec::with_capacity(needed),
        };
        // The constant attributes come first, so none of them is set twice.
        for attr in r.meta.attrs {
            if let AttrValue::Static(text) = attr.value {
                stage.note_static(text);
            }
            super::push_in_place(&mut out, |slot| {
                slot.write(KeyValue::new(attr.key, attr.value.const_otel()))
            });
        }
        let mut association = None;
        r.drain_attrs(|attr| {
            if let AttrValue::Static(text) = attr.value {
                stage.note_static(text);
            }
            if matches!(attr.value, AttrValue::Association(_)) {
                // Moved out, not cloned: no count taken here, one given back later.
                if let AttrValue::Association(set) =
                    std::mem::replace(&mut attr.value, AttrValue::Bool(false))
                {
                    association = Some(set.0);
                }
                return;
            }
            let key = attr.key;
            match out.iter_mut().find(|a| a.key.as_str() == key) {
                Some(slot) => *slot = attr.take_key_value(),
                // Written straight into the vector's room: built first and pushed, each went
                // through the stack and its 16-byte reload stalled (70% of this closure's time).
                None => {
                    super::push_in_place(&mut out, |slot| slot.write(attr.take_key_value()));
                }
            }
        });
        if let Some(set) = association {
            // The pairs the span inherited, unless it set the key itself.
            for kv in &set.attrs {
                if !out.iter().any(|a| a.key == kv.key) {
                    out.push(kv.clone());
                }
            }
            self.retired.push(set);
            if self.retired.len() >= RETIRED {
                self.retired.clear();
            }
        }
        if let Some(u) = r.usage() {
            let mut count = |key: &'static str, n: u64, always: bool| {
                if always || n > 0 {
                    out.retain(|kv| kv.key.as_str() != key);
                    out.push(KeyValue::new(key, i64::try_from(n).unwrap_or(i64::MAX)));
                }
            };
            count("gen_ai.usage.input_tokens", u.input_tokens, true);
            count("gen_ai.usage.output_tokens", u.output_tokens, true);
            count("gen_ai.usage.cache_read.input_tokens", u.cache_read_tokens, false);
            count("gen_ai.usage.cache_write.input_tokens", u.cache_write_tokens, false);
            count("gen_ai.usage.reasoning.output_tokens", u.reasoning_tokens, false);
        }
        if r.flags & flags::CANCELLED != 0 {
            out.push(KeyValue::new("span.cancelled", true));
        }
        let meta = r.meta;
        // Written straight into the vector's room (see `push_in_place`): built first and pushed,
        // each went through the stack and its reload stalled (40% of this function).
        if !meta.function.is_empty() {
            super::push_in_place(&mut out, |slot| {
                slot.write(KeyValue::new("code.function.name", meta.function))
            });
        }
        super::push_in_place(&mut out, |slot| slot.write(KeyValue::new("code.file.path", meta.file)));
        super::push_in_place(&mut out, |slot| {
            slot.write(KeyValue::new("code.line.number", i64::from(meta.line)))
        });
        out
    }
}

fn name(r: &Record, attrs: &[KeyValue]) -> Cow<'static, str> {
    if let Some(name) = r.extra.as_ref().and_then(|e| e.name.clone()) {
        return name;
    }
    match r.meta.naming {
        Naming::Static => Cow::Borrowed(r.meta.name),
        Naming::GenAi => {
            let get = |key: &str| attrs.iter().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.as_str());
            let operation = get("gen_ai.operation.name");
            // `invoke_agent {agent}`, `execute_tool {tool}`, `chat {model}`.
            let target = match operation.as_deref() {
                Some("invoke_agent") => get("gen_ai.agent.name"),
                Some("execute_tool") => get("gen_ai.tool.name"),
                _ => get("gen_ai.request.model"),
            };
            match (operation, target) {
                (Some(op), Some(model)) => Cow::Owned(format!("{op} {model}")),
                (Some(op), None) => Cow::Owned(op.into_owned()),
                _ => Cow::Borrowed(r.meta.name),
            }
        }
    }
}

/// Adds to a converted span what spans made through the OpenTelemetry API or `tracing` carry
/// beyond kit spans; called by the export worker for every span.
fn complete_span_data(r: &Record, data: &mut SpanData) {
    if trace_state::has_trace_states() {
        let state = trace_state::trace_state(r.trace_id);
        let sc = &data.span_context;
        data.span_context = SpanContext::new(sc.trace_id(), sc.span_id(), sc.trace_flags(), false, state);
    }
    if r.meta.file.is_empty() {
        data.attributes.retain(|kv| !matches!(kv.key.as_str(), "code.file.path" | "code.line.number"));
    }
    let Some(extra) = r.extra.as_deref() else { return };
    for kv in &extra.otel_attrs {
        match data.attributes.iter_mut().find(|a| a.key == kv.key) {
            Some(slot) => *slot = kv.clone(),
            None => data.attributes.push(kv.clone()),
        }
    }
    if !extra.links.is_empty() {
        let mut links = SpanLinks::default();
        links.links = extra.links.clone();
        data.links = links;
    }
    if let Some(scope) = &extra.scope {
        data.instrumentation_scope = scope.clone();
    }
}
