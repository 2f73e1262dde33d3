//! Association attributes: `session.id`, `user.id`, `gen_ai.conversation.id` and keys declared
//! `#[associated]` in [`define_keys!`](crate::define_keys), set on a span, are carried to every
//! span below it — across `.await`, tasks, threads and, as W3C `baggage`, processes — as
//! Langfuse's `propagate_attributes` and OpenLLMetry's association properties do.
//!
//! A span that sets one makes an immutable set (its pairs over its parent's) and keeps it in an
//! attribute slot; its context, plain data, carries the set's 24-bit handle. A child started
//! under that context finds the set by handle (this thread's last one is cached, so a burst of
//! spans under one session takes no lock) and holds it in a slot of its own record; the export
//! worker adds the set's pairs each span does not set itself. Sets are reference-counted by the
//! records that hold them, so a set lives exactly as long as a span that can pass it on; the
//! registry keeps only weak handles, and checks the trace id, so a stale context never finds
//! another trace's set.
//!
//! ```
//! use trace_runtime::{testing, trace};
//!
//! let (_, spans) = testing::capture(|| {
//!     trace!("turn", session.id = "s-42", user.id = "u-7", {
//!         trace!("stt", {
//!             trace!("resample", {});
//!         });
//!     })
//! });
//! for span in &spans {
//!     let get = |k: &str| span.attributes.iter().find(|kv| kv.key.as_str() == k).map(|kv| kv.value.to_string());
//!     assert_eq!(get("session.id").as_deref(), Some("s-42"), "{}", span.name);
//!     assert_eq!(get("user.id").as_deref(), Some("u-7"), "{}", span.name);
//! }
//! ```

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use opentelemetry::KeyValue;

use super::thread_state::{self, Ctx, Write};
use crate::record::association::{AssocId, AssocSet};
use crate::record::value::{Attr, AttrValue};
use crate::record::{Record, flags};

/// The keys the kit itself carries down.
pub(crate) const BUILT_IN: [&str; 3] = ["session.id", "user.id", "gen_ai.conversation.id"];
/// Pairs in one set at most; more are dropped (and counted).
const MAX_PAIRS: usize = 16;
/// Sets extracted from `baggage` kept alive until a span holds them.
const REMOTE_KEPT: usize = 1024;

struct Registry {
    sets: BTreeMap<u32, Weak<AssocSet>>,
    next: u32,
    /// The map is swept of dead sets when it grows past this.
    sweep_at: usize,
    /// Keys declared `#[associated]` that this process has used, for `baggage` extraction.
    user_keys: Vec<&'static str>,
    remote: VecDeque<Arc<AssocSet>>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    sets: BTreeMap::new(),
    next: 0,
    sweep_at: 64,
    user_keys: Vec::new(),
    remote: VecDeque::new(),
});

fn registry() -> MutexGuard<'static, Registry> {
    // The lock guards plain data that every step leaves consistent: a panic elsewhere while it
    // was held (none can happen inside) does not make it unusable.
    REGISTRY.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// References taken at once into a thread's stash (see [`Last`]).
const STASHED: usize = 32;

/// The set this thread found last, with its handle and trace beside it and references to it taken
/// ahead. A span under a session takes one from the stash: checking and taking touch only this
/// thread's memory, not the set's counter, which the export worker decrements as it converts
/// (sharing that line per span made a span under a session cost 3x a plain one).
struct Last {
    id: AssocId,
    trace_id: u128,
    set: Arc<AssocSet>,
    stash: Vec<Arc<AssocSet>>,
}

impl Last {
    fn take(&mut self) -> Arc<AssocSet> {
        if self.stash.is_empty() {
            self.stash.extend(std::iter::repeat_with(|| Arc::clone(&self.set)).take(STASHED));
        }
        self.stash.pop().unwrap_or_else(|| Arc::clone(&self.set))
    }
}

thread_local! {
    static LAST: RefCell<Option<Last>> = const { RefCell::new(None) };
}

/// The set `ctx` names, if it is still held by a span of its trace.
pub(crate) fn lookup(ctx: Ctx) -> Option<Arc<AssocSet>> {
    if ctx.assoc.is_none() {
        return None;
    }
    let cached = LAST
        .try_with(|last| {
            let mut last = last.try_borrow_mut().ok()?;
            let last = last.as_mut().filter(|l| l.id == ctx.assoc && l.trace_id == ctx.trace_id)?;
            Some(last.take())
        })
        .ok()
        .flatten();
    if cached.is_some() {
        return cached;
    }
    let matches = |set: &AssocSet| set.id == ctx.assoc && set.trace_id == ctx.trace_id;
    let found = registry().sets.get(&ctx.assoc.get()).and_then(Weak::upgrade).filter(|s| matches(s));
    if let Some(set) = &found {
        let _ = LAST.try_with(|last| {
            if let Ok(mut last) = last.try_borrow_mut() {
                let set = Arc::clone(set);
                *last = Some(Last { id: set.id, trace_id: set.trace_id, set, stash: Vec::new() });
            }
        });
    }
    found
}

/// `kv` with a string value held in an `Arc<str>`: the export worker copies a set's pairs onto
/// every span below it, and a shared string makes each copy a count instead of an allocation.
fn shared(kv: KeyValue) -> KeyValue {
    match kv.value {
        opentelemetry::Value::String(s) => {
            let text: Arc<str> = Arc::from(s.as_str());
            KeyValue::new(kv.key, opentelemetry::Value::String(text.into()))
        }
        _ => kv,
    }
}

/// A new set in `trace_id`: `own` over `parent`'s pairs.
fn make(trace_id: u128, parent: Option<&AssocSet>, own: Vec<KeyValue>) -> Arc<AssocSet> {
    let mut attrs: Vec<KeyValue> = parent.map(|p| p.attrs.clone()).unwrap_or_default();
    for kv in own.into_iter().map(shared) {
        if let Some(slot) = attrs.iter_mut().find(|a| a.key == kv.key) {
            *slot = kv;
        } else if attrs.len() < MAX_PAIRS {
            attrs.push(kv);
        }
    }
    let mut registry = registry();
    registry.next = match registry.next {
        n if n >= AssocId::MAX => 1,
        n => n + 1,
    };
    let id = AssocId::new(registry.next);
    let set = Arc::new(AssocSet { id, trace_id, attrs });
    if registry.sets.len() >= registry.sweep_at {
        registry.sets.retain(|_, weak| weak.strong_count() > 0);
        registry.sweep_at = (registry.sets.len() * 2).max(64);
    }
    registry.sets.insert(id.get(), Arc::downgrade(&set));
    set
}

/// A span starting under `parent`: holds `parent`'s set, if any, so its pairs are exported with
/// it and its children find it.
#[inline(always)]
pub(crate) fn inherit(record: &mut Record, parent: Ctx) {
    if !parent.assoc.is_none() {
        inherit_slow(record, parent);
    }
}

#[cold]
#[inline(never)]
fn inherit_slow(record: &mut Record, parent: Ctx) {
    if let Some(set) = lookup(parent) {
        if record.flags & flags::ASSOCIATED == 0 {
            // The common case: a span taking its parent's set holds no set yet.
            record.push_attr(Attr::new(
                crate::record::association::SLOT_KEY,
                AttrValue::Association(crate::record::association::Association(set)),
            ));
            record.flags |= flags::ASSOCIATED;
        } else {
            record.set_association(set);
        }
    }
}

/// The handle children of `record` inherit.
#[inline(always)]
pub(crate) fn child_id(record: &Record) -> AssocId {
    if record.flags & flags::ASSOCIATED == 0 {
        return AssocId::NONE;
    }
    child_id_slow(record)
}

#[cold]
#[inline(never)]
fn child_id_slow(record: &Record) -> AssocId {
    record.association().map_or(AssocId::NONE, |set| set.id)
}

/// A span starting, in place: it takes its parent's set (`parent`, when that has one) and, if
/// its macro set association keys, makes its own set over it.
#[cold]
#[inline(never)]
pub(crate) fn start(record: &mut Record, parent: Option<Ctx>) {
    let associate = record.flags & flags::ASSOCIATE_AT_START != 0;
    record.flags &= !(flags::ASSOCIATE_AT_START | flags::INHERIT_AT_START);
    if let Some(parent) = parent {
        inherit(record, parent);
    }
    if !associate || record.trace_id == 0 {
        return;
    }
    let l = thread_state::get();
    // The association keys among the call site's constant attributes.
    let meta = record.meta;
    for (i, attr) in meta.attrs.iter().enumerate().take(64) {
        if meta.associated & (1 << i) != 0 {
            thread_state::note_key(l, attr.key);
        }
    }
    let own: Vec<KeyValue> = BUILT_IN
        .iter()
        .copied()
        .chain(thread_state::thread_keys(l))
        .filter_map(|key| record.find_attr(|a| a.key == key))
        .map(|a| a.clone().take_key_value())
        .collect();
    if own.is_empty() {
        return;
    }
    let set = make(record.trace_id, record.association().map(|s| s.as_ref()), own);
    record.set_association(set);
}

/// A key declared `#[associated]` that this process used, for `baggage` extraction.
#[cold]
pub(crate) fn note_user_key(key: &'static str) {
    if BUILT_IN.contains(&key) {
        return;
    }
    let mut registry = registry();
    if !registry.user_keys.contains(&key) {
        registry.user_keys.push(key);
    }
}

/// `span::set` of an association key on the current span: the span takes the pair as usual, and
/// spans started below it from now on carry it.
#[cold]
#[inline(never)]
pub(crate) fn set_current(key: &'static str, value: AttrValue) {
    let l = thread_state::get();
    let ctx = l.ctx.get();
    if !ctx.is_local() {
        return;
    }
    let kv = Attr::new(key, value).take_key_value();
    note_user_key(key);
    let set = make(ctx.trace_id, lookup(ctx).as_deref(), vec![kv]);
    l.ctx.set(Ctx { assoc: set.id, ..ctx });
    thread_state::write(Write::Association(set));
}

/// The association keys this process knows: the kit's and the `#[associated]` ones it used.
pub(crate) fn known_keys() -> Vec<&'static str> {
    let mut keys = BUILT_IN.to_vec();
    keys.extend(registry().user_keys.iter().copied());
    keys
}

/// The pairs of the set `ctx` names, for `baggage`.
pub(crate) fn pairs_of(ctx: Ctx) -> Vec<KeyValue> {
    lookup(ctx).map(|set| set.attrs.clone()).unwrap_or_default()
}

/// A set made from `baggage` pairs for a remote context of `trace_id`, if any pair is an
/// association key; kept alive until the spans started under it hold it.
pub(crate) fn from_remote(trace_id: u128, pairs: impl IntoIterator<Item = (String, String)>) -> AssocId {
    let known_keys = known_keys();
    let own: Vec<KeyValue> = pairs
        .into_iter()
        .filter_map(|(key, value)| {
            let known = known_keys.iter().find(|k| **k == key)?;
            Some(Attr::new(known, AttrValue::copy_str(&value)).take_key_value())
        })
        .collect();
    if own.is_empty() {
        return AssocId::NONE;
    }
    let set = make(trace_id, None, own);
    let id = set.id;
    let mut registry = registry();
    if registry.remote.len() >= REMOTE_KEPT {
        registry.remote.pop_front();
    }
    registry.remote.push_back(set);
    id
}
