//! The data that crosses from the application thread to the export worker: the span record, its
//! values, their limits, the clock, ids and token usage.
//!
//! [`Record`] is laid out for the hot path: ids, ticks and a static metadata pointer in the first cache line,
//! then [`INLINE_ATTRS`] attribute slots written in place. Anything rarer — more attributes,
//! events, token usage, a status message, a dynamic name — goes to a boxed [`Extra`], so the common
//! span never allocates. Every byte of the record crosses from the application's core to the export
//! worker's, so it is kept small: 272 bytes, against 352 with usage and six slots inline.

pub(crate) mod association;
pub(crate) mod clock;
pub(crate) mod ids;

pub mod limits;
pub(crate) mod trace_state;
pub(crate) mod usage;
pub(crate) mod value;

use std::borrow::Cow;
use std::mem::MaybeUninit;

use opentelemetry::KeyValue;

use crate::record::clock::Tick;
use crate::record::usage::Usage;
use crate::record::value::{Attr, AttrValue};

/// Attributes stored in the record itself; the rest spill to [`Extra`].
pub(crate) const INLINE_ATTRS: usize = 5;

/// Span kinds, as in OpenTelemetry.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Internal,
    Client,
    Server,
    Producer,
    Consumer,
}

/// How the exported span name is made.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Naming {
    /// `SpanMeta::name` as written.
    Static,
    /// GenAI convention, `"{gen_ai.operation.name} {gen_ai.request.model}"`, from the span's
    /// attributes: built on the export worker so a dynamic model name costs nothing on the hot path.
    GenAi,
}

/// Per-call-site static metadata, emitted by the macros as a `static`.
#[doc(hidden)]
#[derive(Debug)]
pub struct SpanMeta {
    pub name: &'static str,
    pub kind: Kind,
    pub naming: Naming,
    /// `code.function.name`: `module::path::function`, empty for spans that are not a function.
    pub function: &'static str,
    pub file: &'static str,
    pub line: u32,
    /// The attributes of the macro's literal arguments (`model = "gpt-4o"`,
    /// `fields(audio.channels = 1)`), built at compile time: a span records none of them, and the
    /// export worker gives each span these first, then the ones it recorded (which win a key
    /// set twice).
    pub attrs: &'static [Attr],
    /// Bit `i` set when `attrs[i]` is under an association key: the span then makes its
    /// association set when it starts (see `span::association`).
    pub associated: u64,
}

pub(crate) mod flags {
    pub(crate) const REMOTE_PARENT: u8 = 1;
    pub(crate) const CANCELLED: u8 = 2;
    pub(crate) const HAS_USAGE: u8 = 4;
    pub(crate) const PANICKED: u8 = 8;
    /// Adaptive sampling: the head ratio rejected this trace; the export worker keeps it only if
    /// it errored or ran slow. Same bit as `ctx_flags::SAMPLED_OUT`, so children copy it as is.
    pub(crate) const SAMPLED_OUT: u8 = 16;
    /// An attribute slot holds the association set the span passes to its children.
    pub(crate) const ASSOCIATED: u8 = 32;
    /// The span set association keys: it makes its set when it starts (entered, first polled).
    pub(crate) const ASSOCIATE_AT_START: u8 = 64;
    /// The span's parent has an association set, which the span takes when it starts.
    pub(crate) const INHERIT_AT_START: u8 = 128;
}

pub(crate) mod status {
    pub(crate) const UNSET: u8 = 0;
    pub(crate) const OK: u8 = 1;
    pub(crate) const ERROR: u8 = 2;
}

/// Laid out in order (`repr(C)`), the fixed part first and the attribute slots last: a span that
/// recorded `n` attributes is handed off by copying [`Record::used_bytes`] of it, not all 272.
#[repr(C)]
pub(crate) struct Record {
    pub(crate) trace_id: u128,
    pub(crate) span_id: u64,
    pub(crate) parent_id: u64,
    pub(crate) start: Tick,
    pub(crate) end: Tick,
    pub(crate) meta: &'static SpanMeta,
    pub(crate) extra: Option<Box<Extra>>,
    pub(crate) sink: u32,
    pub(crate) status: u8,
    pub(crate) flags: u8,
    n_attrs: u8,
    attrs: [MaybeUninit<Attr>; INLINE_ATTRS],
}

/// The rare parts of a span.
#[derive(Default)]
pub(crate) struct Extra {
    pub(crate) attrs: Vec<Attr>,
    pub(crate) dropped_attrs: u32,
    pub(crate) events: Vec<EventRecord>,
    pub(crate) dropped_events: u32,
    pub(crate) status_message: Option<Cow<'static, str>>,
    /// Token usage, summed over every `record_usage` on the span (an LLM call: rare and slow
    /// enough that one allocation does not show).
    pub(crate) usage: Usage,
    pub(crate) name: Option<Cow<'static, str>>,
    /// Spans made through the OpenTelemetry API or `tracing` (see `interop`): attributes under
    /// keys known only at run time, links, and the instrumentation scope of their tracer.
    pub(crate) otel_attrs: Vec<KeyValue>,
    pub(crate) links: Vec<opentelemetry::trace::Link>,
    pub(crate) scope: Option<opentelemetry::InstrumentationScope>,
}

pub(crate) struct EventRecord {
    pub(crate) name: Cow<'static, str>,
    pub(crate) time: Tick,
    pub(crate) attrs: Vec<KeyValue>,
}

impl Record {
    #[inline(always)]
    pub(crate) fn new(
        meta: &'static SpanMeta,
        trace_id: u128,
        span_id: u64,
        parent_id: u64,
        sink: u32,
        flags: u8,
    ) -> Self {
        Record {
            trace_id,
            span_id,
            parent_id,
            start: 0,
            end: 0,
            meta,
            sink,
            status: status::UNSET,
            // A span whose literal arguments include an association key makes its set when it
            // starts, as one that recorded such a key does.
            flags: flags | if meta.associated != 0 { flags::ASSOCIATE_AT_START } else { 0 },
            n_attrs: 0,
            attrs: [const { MaybeUninit::uninit() }; INLINE_ATTRS],
            extra: None,
        }
    }

    /// Where the attribute slots start: the bytes before them are always used.
    pub(crate) const FIXED_BYTES: usize = std::mem::offset_of!(Record, attrs);

    /// The bytes of the record that hold data: the fixed part and the attribute slots written.
    #[inline(always)]
    pub(crate) fn used_bytes(&self) -> usize {
        Self::FIXED_BYTES + self.n_attrs as usize * std::mem::size_of::<Attr>()
    }

    #[inline(always)]
    pub(crate) fn push_attr(&mut self, attr: Attr) {
        let n = self.n_attrs as usize;
        if n < INLINE_ATTRS {
            self.attrs[n].write(attr);
            self.n_attrs += 1;
        } else {
            self.spill_attr(attr);
        }
    }

    /// Pushes a macro's attributes: into the empty inline slots at fixed offsets when they fit
    /// (the common case, with no per-attribute count to load and store), one by one otherwise.
    #[inline(always)]
    pub(crate) fn push_attrs<const N: usize>(&mut self, attrs: [Attr; N]) {
        if N <= INLINE_ATTRS && self.n_attrs == 0 {
            // One move of the whole array: a loop over its elements, once the drop glue of a
            // value grew (the association set's `Arc`), stopped being unrolled and stalled on
            // reloading each element from the stack (sync span 41 -> 80 ns in `span_overhead`).
            // SAFETY: `N <= INLINE_ATTRS`, so the first `N` slots are in bounds; `MaybeUninit<Attr>`
            // has `Attr`'s layout, so they are a `[Attr; N]`; they hold nothing (`n_attrs == 0`),
            // so nothing is overwritten without a drop, and `n_attrs = N` below makes them owned.
            unsafe { self.attrs.as_mut_ptr().cast::<[Attr; N]>().write(attrs) };
            self.n_attrs = N as u8;
        } else {
            for attr in attrs {
                self.push_attr(attr);
            }
        }
    }

    /// Sets `attr`, replacing the value of one already set under its key: the last write wins,
    /// and setting a key again uses up no room under the attribute limit.
    pub(crate) fn set_attr(&mut self, attr: Attr) {
        for slot in &mut self.attrs[..self.n_attrs as usize] {
            // SAFETY: the first `n_attrs` slots were written by `push_attr`.
            let set = unsafe { slot.assume_init_mut() };
            if set.key == attr.key {
                set.value = attr.value;
                return;
            }
        }
        if let Some(set) = self.extra.as_mut().and_then(|e| e.attrs.iter_mut().find(|a| a.key == attr.key)) {
            set.value = attr.value;
            return;
        }
        self.push_attr(attr);
    }

    /// The association set this span passes on, if it has one.
    pub(crate) fn association(&self) -> Option<&std::sync::Arc<association::AssocSet>> {
        if self.flags & flags::ASSOCIATED == 0 {
            return None;
        }
        self.find_attr(|a| matches!(a.value, AttrValue::Association(_))).and_then(|a| match &a.value {
            AttrValue::Association(set) => Some(&set.0),
            _ => None,
        })
    }

    /// The attribute for which `f` holds that the span exports: the last one set, the recorded
    /// ones after the constant ones of its call site.
    pub(crate) fn find_attr(&self, mut f: impl FnMut(&Attr) -> bool) -> Option<&Attr> {
        let inline = self.attrs[..self.n_attrs as usize].iter().map(|slot| {
            // SAFETY: the first `n_attrs` slots were written by `push_attr`.
            unsafe { slot.assume_init_ref() }
        });
        let spilled = self.extra.iter().flat_map(|e| e.attrs.iter());
        let recorded = inline.chain(spilled).filter(|a| f(a)).last();
        recorded.or_else(|| self.meta.attrs.iter().rfind(|a| f(a)))
    }

    /// Makes `set` the association set this span passes on (replacing an inherited one).
    pub(crate) fn set_association(&mut self, set: std::sync::Arc<association::AssocSet>) {
        self.set_attr(Attr::new(
            association::SLOT_KEY,
            AttrValue::Association(association::Association(set)),
        ));
        self.flags |= flags::ASSOCIATED;
    }

    #[cold]
    fn spill_attr(&mut self, attr: Attr) {
        let extra = self.extra();
        if INLINE_ATTRS + extra.attrs.len() < limits::attributes() {
            extra.attrs.push(attr);
        } else {
            extra.dropped_attrs += 1;
        }
    }

    /// How many attributes were set (the call site's constant ones, inline and spilled).
    pub(crate) fn attr_count(&self) -> usize {
        self.meta.attrs.len() + self.n_attrs as usize + self.extra.as_ref().map_or(0, |e| e.attrs.len())
    }

    /// Hands each recorded attribute to `f`, in the order they were set, and drops them (the
    /// export worker, converting: `f` moves owned values out, leaving nothing to free). The call
    /// site's constant attributes, which come before them, are `meta.attrs`.
    #[inline(always)]
    pub(crate) fn drain_attrs(&mut self, mut f: impl FnMut(&mut Attr)) {
        let n = std::mem::take(&mut self.n_attrs) as usize;
        for slot in &mut self.attrs[..n] {
            // SAFETY: the first `n` slots were written by `push_attr`; `n_attrs = 0` above makes
            // this the only place that reads them, and drops them, once.
            unsafe {
                f(slot.assume_init_mut());
                slot.assume_init_drop();
            }
        }
        if let Some(extra) = self.extra.as_mut() {
            for attr in &mut extra.attrs {
                f(attr);
            }
            extra.attrs.clear();
        }
    }

    /// Whether dropping the record frees nothing: no spilled parts and no owned attribute value
    /// (the common span of static names, literals and numbers). Inlined, so a thread dropping a
    /// whole batch on a full queue checks a few tags per record instead of calling its drop.
    #[inline(always)]
    pub(crate) fn owns_nothing(&self) -> bool {
        self.extra.is_none()
            && self.attrs[..self.n_attrs as usize].iter().all(|slot| {
                // SAFETY: the first `n_attrs` slots were written by `push_attr`.
                let attr = unsafe { slot.assume_init_ref() };
                !matches!(
                    attr.value,
                    AttrValue::String(_) | AttrValue::Strings(_) | AttrValue::Association(_)
                )
            })
    }

    pub(crate) fn extra(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    /// The token usage recorded on this span, if any.
    pub(crate) fn usage(&self) -> Option<&Usage> {
        if self.flags & flags::HAS_USAGE == 0 {
            return None;
        }
        self.extra.as_deref().map(|e| &e.usage)
    }

    /// Adds `usage` to the span's total.
    pub(crate) fn add_usage(&mut self, usage: Usage) {
        self.extra().usage += usage;
        self.flags |= flags::HAS_USAGE;
    }

    pub(crate) fn push_event(&mut self, event: EventRecord) {
        let extra = self.extra();
        if extra.events.len() < limits::events() {
            extra.events.push(event);
        } else {
            extra.dropped_events += 1;
        }
    }

    pub(crate) fn set_error(&mut self, message: Cow<'static, str>) {
        self.status = status::ERROR;
        self.extra().status_message = Some(message);
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        for slot in &mut self.attrs[..self.n_attrs as usize] {
            // SAFETY: initialised by `push_attr`; dropped exactly once, here.
            unsafe { slot.assume_init_drop() };
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_record_stays_small() {
        // Every byte crosses cores on its way to the export worker; a bigger record costs every span.
        assert!(std::mem::size_of::<super::Record>() <= 272, "{}", std::mem::size_of::<super::Record>());
    }
}
