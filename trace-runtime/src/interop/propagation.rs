//! W3C Trace Context across processes: `traceparent` and `tracestate` headers.
//!
//! The calling service [`inject`]s the current span into its request headers; the called service
//! [`extract`]s a [`Context`] and attaches it, and its spans continue the caller's trace: same
//! trace id, the caller's span as parent (`parent_span_is_remote`), and the caller's sampling
//! decision (a trace the caller did not sample records nothing here; one it sampled is recorded
//! whatever the local `TRACE_SAMPLING_RATE`). Missing or malformed headers give a context with no
//! trace, so the next span starts a new one.
//!
//! ```
//! use std::collections::HashMap;
//! use trace_runtime::{propagation, testing, trace};
//!
//! // Service A, around an outgoing request:
//! let (headers, client) = testing::capture(|| {
//!     trace!("call service b", {
//!         let mut headers = HashMap::new();
//!         propagation::inject(&mut headers);
//!         headers
//!     })
//! });
//! assert!(headers["traceparent"].starts_with("00-"));
//!
//! // Service B, handling it:
//! let (_, server) = testing::capture(|| {
//!     let _remote = propagation::extract(&headers).attach();
//!     trace!("handle request", {});
//! });
//! assert_eq!(server[0].span_context.trace_id(), client[0].span_context.trace_id());
//! assert_eq!(server[0].parent_span_id, client[0].span_context.span_id());
//! assert!(server[0].parent_span_is_remote);
//! ```
//!
//! [`inject`] writes into any OpenTelemetry [`Injector`]; [`extract`] reads a
//! `HashMap<String, String>` or any [`Extractor`] passed as `&dyn Extractor` (a [`Carrier`]),
//! header names matched without regard to case (`Traceparent` in a map included);
//! [`inject_headers`] / [`extract_headers`] take an `http::HeaderMap` (feature `http`).
//! [`Propagator`] is the same as an OpenTelemetry `TextMapPropagator`, installed as the global one
//! by [`init`](crate::init).
//!
//! Association attributes (`session.id`, `user.id`, `gen_ai.conversation.id`, keys declared
//! `#[associated]`) travel as W3C `baggage`: [`inject`] writes the current span's, [`extract`]
//! carries those it knows to the spans started under the returned context. A receiving process
//! knows the kit's keys and the `#[associated]` keys it has used itself.
//!
//! ```
//! use std::collections::HashMap;
//! use trace_runtime::{propagation, testing, trace};
//!
//! let (headers, _) = testing::capture(|| {
//!     trace!("turn", session.id = "s 1", {
//!         let mut headers = HashMap::new();
//!         propagation::inject(&mut headers);
//!         headers
//!     })
//! });
//! assert_eq!(headers["baggage"], "session.id=s%201");
//! let (_, spans) = testing::capture(|| propagation::extract(&headers).in_scope(|| trace!("handle", {})));
//! assert!(spans[0].attributes.iter().any(|kv| kv.key.as_str() == "session.id" && kv.value.as_str() == "s 1"));
//! ```
//!
//! A remote `tracestate` is kept for the trace (bounded: the latest [`MAX_TRACE_STATES`] traces),
//! passed on when the trace calls further services, and set on the exported spans.

use std::sync::OnceLock;

use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

pub use crate::record::trace_state::{MAX_TRACE_STATE_BYTES, MAX_TRACE_STATES};
use crate::record::trace_state::{remember, trace_state};
use crate::span::association;
use crate::span::context::Context;
use crate::span::thread_state::{self, ctx_flags};

/// Writes the current span's `traceparent` (and the trace's `tracestate`) into `carrier`;
/// nothing outside a trace. The current span is the innermost of the kit's spans, spans made
/// through the OpenTelemetry API, and `tracing` spans.
///
/// ```
/// use std::collections::HashMap;
/// use trace_runtime::{propagation, testing, trace};
///
/// let mut headers = HashMap::new();
/// propagation::inject(&mut headers);
/// assert!(headers.is_empty(), "no trace, nothing to propagate");
///
/// testing::capture(|| trace!("outgoing", { propagation::inject(&mut headers) }));
/// let trace_id = headers["traceparent"].split('-').nth(1).unwrap();
/// assert_eq!(trace_id.len(), 32);
/// assert!(headers["traceparent"].ends_with("-01"), "sampled");
/// ```
pub fn inject(carrier: &mut dyn Injector) {
    let ctx = super::parent_for(&opentelemetry::Context::current());
    inject_context(&Context::from_ctx(ctx), carrier);
}

/// Writes `cx` (for example one taken with [`current_context`](crate::current_context) before
/// moving to another task) into `carrier`.
///
/// ```
/// use std::collections::HashMap;
/// use trace_runtime::{current_context, propagation, testing, trace};
///
/// let (cx, _) = testing::capture(|| trace!("job", { current_context() }));
/// let mut headers = HashMap::new();
/// propagation::inject_context(&cx, &mut headers);
/// assert_eq!(propagation::extract(&headers).trace_id(), cx.trace_id());
/// ```
pub fn inject_context(cx: &Context, carrier: &mut dyn Injector) {
    if cx.trace_id == 0 {
        return;
    }
    let otel_cx = opentelemetry::Context::new().with_remote_span_context(span_context_of(cx, false));
    w3c().inject_context(&otel_cx, carrier);
    let mut pairs = association::pairs_of(cx.to_ctx());
    if !pairs.is_empty() {
        // Outgoing headers leave the process: scrubbed by the redaction rules, as exports are.
        for kv in &mut pairs {
            if let opentelemetry::Value::String(s) = &kv.value {
                kv.value = crate::privacy::redact::redact_installed(s.as_str()).into();
            }
        }
        use opentelemetry::baggage::BaggageExt;
        let with_baggage = opentelemetry::Context::new().with_baggage(pairs);
        BaggagePropagator::new().inject_context(&with_baggage, carrier);
    }
}

/// The `baggage` members of `carrier`, as `(key, value)` (percent-decoded, bounded by the W3C
/// limits, malformed members skipped, by OpenTelemetry's baggage propagator).
fn baggage_pairs<C: Carrier + ?Sized>(carrier: &C) -> Vec<(String, String)> {
    use opentelemetry::baggage::BaggageExt;
    let cx = BaggagePropagator::new().extract_with_context(&opentelemetry::Context::new(), &AnyCase(carrier));
    cx.baggage().iter().map(|(k, (v, _))| (k.to_string(), v.as_str().to_string())).collect()
}

/// Reads `traceparent` and `tracestate` from `carrier`: attach the returned context and the spans
/// started under it continue the remote trace. Missing or malformed headers give a context with
/// no trace (the next span starts a new one); this never fails.
///
/// ```
/// use std::collections::HashMap;
/// use trace_runtime::{propagation, testing, trace};
///
/// let headers = HashMap::from([(
///     "traceparent".to_string(),
///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string(),
/// )]);
/// let (remote, spans) = testing::capture(|| {
///     // Extract where the work runs: a context carries the capture (or pipeline) it was made in.
///     let remote = propagation::extract(&headers);
///     remote.in_scope(|| trace!("handle", {}));
///     remote
/// });
/// assert!(remote.is_remote() && remote.is_sampled());
/// assert_eq!(spans[0].span_context.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert_eq!(spans[0].parent_span_id.to_string(), "00f067aa0ba902b7");
///
/// let garbage = HashMap::from([("traceparent".to_string(), "00-xyz".to_string())]);
/// assert_eq!(propagation::extract(&garbage).trace_id(), None);
/// ```
pub fn extract<C: Carrier + ?Sized>(carrier: &C) -> Context {
    let sink = thread_state::current().sink;
    let otel_cx = w3c().extract_with_context(&opentelemetry::Context::new(), &AnyCase(carrier));
    let sc = otel_cx.span().span_context().clone();
    if !sc.is_valid() {
        return Context { sink, ..Context::NONE };
    }
    let trace_id = u128::from_be_bytes(sc.trace_id().to_bytes());
    remember(trace_id, sc.trace_state());
    let mut flags = ctx_flags::REMOTE;
    if crate::span::gate::remote_sampled(trace_id, sc.is_sampled()) {
        flags |= ctx_flags::SAMPLED;
    }
    let span_id = u64::from_be_bytes(sc.span_id().to_bytes());
    let assoc = association::from_remote(trace_id, baggage_pairs(carrier));
    Context { trace_id, span_id, sink, flags, assoc }
}

/// [`inject`] into an `http::HeaderMap`: the current span's `traceparent` and `tracestate`.
///
/// ```
/// use trace_runtime::{propagation, testing, trace};
///
/// let mut headers = http::HeaderMap::new();
/// testing::capture(|| trace!("request", { propagation::inject_headers(&mut headers) }));
/// assert!(headers.contains_key("traceparent"));
/// assert!(propagation::extract_headers(&headers).trace_id().is_some());
/// ```
#[cfg(feature = "http")]
pub fn inject_headers(headers: &mut http::HeaderMap) {
    inject(&mut HeaderInjector(headers));
}

/// [`extract`] from an `http::HeaderMap`; see [`inject_headers`]. Several `tracestate` lines
/// are one list, joined in order, as W3C Trace Context says.
///
/// ```
/// use trace_runtime::{propagation, testing, trace};
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
/// headers.append("tracestate", "vendor1=a".parse().unwrap());
/// headers.append("tracestate", "vendor2=b".parse().unwrap());
/// let mut onward = http::HeaderMap::new();
/// testing::capture(|| {
///     let cx = propagation::extract_headers(&headers);
///     assert!(cx.is_remote() && cx.is_sampled());
///     cx.in_scope(|| trace!("handle", { propagation::inject_headers(&mut onward) }));
/// });
/// assert_eq!(onward["tracestate"], "vendor1=a,vendor2=b", "both lines travel on");
/// ```
#[cfg(feature = "http")]
pub fn extract_headers(headers: &http::HeaderMap) -> Context {
    let mut lines = headers.get_all("tracestate").iter().filter_map(|v| v.to_str().ok());
    let first = lines.next();
    let rest: Vec<&str> = lines.collect();
    if rest.is_empty() {
        return extract(&HeaderExtractor(headers) as &dyn Extractor);
    }
    let tracestate = first.into_iter().chain(rest).collect::<Vec<_>>().join(",");
    extract(&JoinedTraceState { headers: HeaderExtractor(headers), tracestate } as &dyn Extractor)
}

/// A header map whose `tracestate` lines were joined into one list.
#[cfg(feature = "http")]
struct JoinedTraceState<'a> {
    headers: HeaderExtractor<'a>,
    tracestate: String,
}

#[cfg(feature = "http")]
impl Extractor for JoinedTraceState<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        if key.eq_ignore_ascii_case("tracestate") {
            return Some(&self.tracestate);
        }
        self.headers.get(key)
    }

    fn keys(&self) -> Vec<&str> {
        self.headers.keys()
    }
}

#[cfg(feature = "http")]
struct HeaderInjector<'a>(&'a mut http::HeaderMap);

#[cfg(feature = "http")]
impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        // A value that is not a valid header (never for W3C fields the kit writes) is left out.
        if let (Ok(name), Ok(value)) =
            (http::header::HeaderName::from_bytes(key.as_bytes()), http::HeaderValue::from_str(&value))
        {
            self.0.insert(name, value);
        }
    }
}

#[cfg(feature = "http")]
struct HeaderExtractor<'a>(&'a http::HeaderMap);

#[cfg(feature = "http")]
impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// Where [`extract`] reads `traceparent`, `tracestate` and `baggage`: a `HashMap<String, String>`
/// (names in any case: `Traceparent`, `TRACEPARENT`) or any OpenTelemetry [`Extractor`] passed
/// as `&dyn Extractor` (an `http::HeaderMap` goes to [`extract_headers`], which joins its
/// `tracestate` lines).
///
/// ```
/// use std::collections::HashMap;
/// use trace_runtime::opentelemetry::propagation::Extractor;
/// use trace_runtime::propagation;
///
/// let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string();
/// let map = HashMap::from([("Traceparent".to_string(), traceparent.clone())]);
/// assert!(propagation::extract(&map).trace_id().is_some(), "any case");
///
/// struct Metadata(Vec<(String, String)>);
/// impl Extractor for Metadata {
///     fn get(&self, key: &str) -> Option<&str> {
///         self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
///     }
///     fn keys(&self) -> Vec<&str> { self.0.iter().map(|(k, _)| k.as_str()).collect() }
/// }
/// let metadata = Metadata(vec![("traceparent".into(), traceparent)]);
/// assert!(propagation::extract(&metadata as &dyn Extractor).trace_id().is_some());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a carrier `propagation::extract` reads",
    label = "a `HashMap<String, String>`, or an OpenTelemetry `Extractor` as `&dyn Extractor`",
    note = "for a type implementing `opentelemetry::propagation::Extractor`, pass `&carrier as &dyn Extractor`"
)]
pub trait Carrier {
    /// The value under `key`, however the carrier matches names.
    fn get(&self, key: &str) -> Option<&str>;
    /// Every name in the carrier.
    fn keys(&self) -> Vec<&str>;
}

impl Carrier for dyn Extractor + '_ {
    fn get(&self, key: &str) -> Option<&str> {
        Extractor::get(self, key)
    }

    fn keys(&self) -> Vec<&str> {
        Extractor::keys(self)
    }
}

/// Names in any case: OpenTelemetry's own `Extractor` for a map looks up the lowercase name
/// only, so `Traceparent` set by hand was never found.
impl<S: std::hash::BuildHasher> Carrier for std::collections::HashMap<String, String, S> {
    fn get(&self, key: &str) -> Option<&str> {
        match std::collections::HashMap::get(self, key) {
            Some(value) => Some(value),
            None => self.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str()),
        }
    }

    fn keys(&self) -> Vec<&str> {
        std::collections::HashMap::keys(self).map(String::as_str).collect()
    }
}

/// A carrier read with header names matched regardless of case (`Traceparent` from a carrier
/// built by hand), and a `traceparent` that breaks the W3C format hidden, so it starts a new trace.
struct AnyCase<'a, C: Carrier + ?Sized>(&'a C);

impl<C: Carrier + ?Sized> Extractor for AnyCase<'_, C> {
    fn get(&self, key: &str) -> Option<&str> {
        let value = self.0.get(key).or_else(|| {
            let name = self.0.keys().into_iter().find(|k| k.eq_ignore_ascii_case(key))?;
            self.0.get(name)
        })?;
        if key == "traceparent" && !well_formed(value) {
            return None;
        }
        Some(value)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys()
    }
}

/// Whether `traceparent` follows the W3C format: `version-trace_id-parent_id-flags`, lowercase hex
/// of 2, 32, 16 and 2 digits, a version other than `ff`, ids not all zero, and for version `00`
/// nothing after the flags (later versions may append fields). The OpenTelemetry SDK's parser is
/// more lenient (it takes a short trace id), so the format is checked here first.
fn well_formed(traceparent: &str) -> bool {
    let hex = |s: &str, len: usize| {
        s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let nonzero = |s: &str| s.bytes().any(|b| b != b'0');
    let mut parts = traceparent.trim().split('-');
    let (Some(version), Some(trace_id), Some(parent_id), Some(flags)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let rest_ok = if version == "00" { parts.next().is_none() } else { true };
    hex(version, 2)
        && version != "ff"
        && hex(trace_id, 32)
        && nonzero(trace_id)
        && hex(parent_id, 16)
        && nonzero(parent_id)
        && hex(flags, 2)
        && rest_ok
}

impl Context {
    /// Whether this context's trace is recorded (sampled). An unsampled context records nothing in
    /// its trace.
    ///
    /// ```
    /// let cx = trace_runtime::propagation::extract(&std::collections::HashMap::from([(
    ///     "traceparent".to_string(),
    ///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00".to_string(),
    /// )]));
    /// assert!(cx.trace_id().is_some() && !cx.is_sampled());
    /// ```
    pub fn is_sampled(&self) -> bool {
        self.flags & ctx_flags::SAMPLED != 0
    }

    /// Whether this context came from another process ([`extract`]).
    ///
    /// ```
    /// assert!(!trace_runtime::current_context().is_remote());
    /// ```
    pub fn is_remote(&self) -> bool {
        self.flags & ctx_flags::REMOTE != 0
    }
}

/// The kit as an OpenTelemetry `TextMapPropagator` (W3C Trace Context), for code that propagates
/// through `opentelemetry::global::get_text_map_propagator`; [`init`](crate::init) installs it as
/// the global one. Injecting from the current OpenTelemetry context writes the innermost current
/// span, kit or OpenTelemetry.
///
/// ```
/// use std::collections::HashMap;
/// use trace_runtime::opentelemetry::propagation::TextMapPropagator;
/// use trace_runtime::opentelemetry::trace::TraceContextExt;
/// use trace_runtime::{propagation::Propagator, testing, trace};
///
/// let propagator = Propagator::new();
/// let mut headers = HashMap::new();
/// testing::capture(|| trace!("call", { propagator.inject(&mut headers) }));
/// let cx = propagator.extract(&headers);
/// assert!(cx.span().span_context().is_remote());
/// assert_eq!(propagator.fields().collect::<Vec<_>>(), ["traceparent", "tracestate"]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Propagator {
    _private: (),
}

impl Propagator {
    /// The W3C Trace Context propagator backed by the kit.
    ///
    /// ```
    /// use trace_runtime::opentelemetry::propagation::TextMapPropagator;
    ///
    /// let propagator = trace_runtime::propagation::Propagator::new();
    /// assert_eq!(propagator.fields().count(), 2, "traceparent and tracestate");
    /// ```
    pub fn new() -> Self {
        Propagator::default()
    }
}

impl TextMapPropagator for Propagator {
    fn inject_context(&self, cx: &opentelemetry::Context, injector: &mut dyn Injector) {
        inject_context(&Context::from_ctx(super::parent_for(cx)), injector);
    }

    fn extract_with_context(
        &self,
        cx: &opentelemetry::Context,
        extractor: &dyn Extractor,
    ) -> opentelemetry::Context {
        let extracted = w3c().extract_with_context(cx, &AnyCase(extractor));
        let sc = extracted.span().span_context().clone();
        if sc.is_valid() {
            remember(u128::from_be_bytes(sc.trace_id().to_bytes()), sc.trace_state());
        }
        extracted
    }

    fn fields(&self) -> FieldIter<'_> {
        w3c().fields()
    }
}

fn w3c() -> &'static TraceContextPropagator {
    static W3C: OnceLock<TraceContextPropagator> = OnceLock::new();
    W3C.get_or_init(TraceContextPropagator::new)
}

/// `cx` as an OpenTelemetry span context, with its trace's remembered `tracestate`.
pub(crate) fn span_context_of(cx: &Context, remote: bool) -> SpanContext {
    let flags = if cx.is_sampled() { TraceFlags::SAMPLED } else { TraceFlags::default() };
    SpanContext::new(
        TraceId::from(cx.trace_id),
        SpanId::from(cx.span_id),
        flags,
        remote,
        trace_state(cx.trace_id),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_format_is_checked_strictly() {
        let ok = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert!(well_formed(ok));
        assert!(well_formed("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later"));
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert!(!well_formed(bad), "{bad:?}");
        }
    }
}
