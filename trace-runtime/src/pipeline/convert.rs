//! Records to `opentelemetry_sdk::trace::SpanData`: the costly half of recording, done here on the
//! export worker instead of on the application's threads.

use std::borrow::Cow;

use opentelemetry::trace::{Event, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

use crate::clock::{self, Anchor};
use crate::record::{Kind, Naming, Record, flags, status};
use crate::value::AttrValue;

pub(crate) struct Converter {
    anchor: &'static Anchor,
    scope: InstrumentationScope,
    /// Emptied attribute vectors sent back by the lanes (see [`super::rehome`]).
    spare: Vec<Vec<KeyValue>>,
}

/// Spare attribute vectors the worker keeps at most.
const MAX_SPARE: usize = 4 * 1024;

impl Converter {
    pub(crate) fn new() -> Self {
        Converter { anchor: clock::anchor(), scope: scope(), spare: Vec::new() }
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

    /// The span of `r`; the static strings it holds are noted for redaction in `semantics`.
    pub(crate) fn span_data(
        &mut self,
        r: &mut Record,
        rate: f64,
        semantics: &mut crate::semantics::Worker,
    ) -> SpanData {
        if r.meta.naming == Naming::Static {
            semantics.note_static(r.meta.name);
        }
        let attributes = self.attributes(r, semantics);
        let extra = r.extra.as_deref();
        let name = name(r, &attributes);
        let events = extra.map_or_else(SpanEvents::default, |e| {
            let mut events = SpanEvents::default();
            events.events = e
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
            events.dropped_count = e.dropped_events;
            events
        });
        let status = match r.status {
            status::OK => Status::Ok,
            status::ERROR => {
                Status::error(extra.and_then(|e| e.status_message.clone()).unwrap_or(Cow::Borrowed("error")))
            }
            _ => Status::Unset,
        };
        let mut data = SpanData {
            span_context: SpanContext::new(
                TraceId::from(r.trace_id),
                SpanId::from(r.span_id),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::from(r.parent_id),
            parent_span_is_remote: r.flags & flags::REMOTE_PARENT != 0,
            span_kind: kind(r.meta.kind),
            name,
            start_time: self.anchor.to_system_time(r.start, rate),
            end_time: self.anchor.to_system_time(r.end.max(r.start), rate),
            attributes,
            dropped_attributes_count: extra.map_or(0, |e| e.dropped_attrs),
            events,
            links: SpanLinks::default(),
            status,
            instrumentation_scope: self.scope.clone(),
        };
        crate::interop::complete_span_data(r, &mut data);
        data
    }
}

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
    fn attributes(&mut self, r: &mut Record, semantics: &mut crate::semantics::Worker) -> Vec<KeyValue> {
        let needed = r.attr_count() + 4;
        let mut out = match self.spare.pop() {
            Some(mut v) => {
                v.reserve(needed);
                v
            }
            None => Vec::with_capacity(needed),
        };
        r.drain_attrs(|attr| {
            if let AttrValue::Static(text) = attr.value {
                semantics.note_static(text);
            }
            let key = attr.key;
            let kv = attr.take_key_value();
            match out.iter_mut().find(|a| a.key.as_str() == key) {
                Some(slot) => *slot = kv,
                None => out.push(kv),
            }
        });
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
        // Written straight into the vector's room: built first and pushed, each attribute went
        // through the stack and its reload stalled on store forwarding (40% of this function in
        // the throughput profile).
        out.reserve(3);
        let mut written = 0;
        if let [a, b, c, ..] = out.spare_capacity_mut() {
            let line = KeyValue::new("code.line.number", i64::from(meta.line));
            if meta.function.is_empty() {
                a.write(KeyValue::new("code.file.path", meta.file));
                b.write(line);
                written = 2;
            } else {
                a.write(KeyValue::new("code.function.name", meta.function));
                b.write(KeyValue::new("code.file.path", meta.file));
                c.write(line);
                written = 3;
            }
        }
        // SAFETY: the first `written` slots past the length were initialised just above.
        unsafe { out.set_len(out.len() + written) };
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
            match (get("gen_ai.operation.name"), get("gen_ai.request.model")) {
                (Some(op), Some(model)) => Cow::Owned(format!("{op} {model}")),
                (Some(op), None) => Cow::Owned(op.into_owned()),
                _ => Cow::Borrowed(r.meta.name),
            }
        }
    }
}
