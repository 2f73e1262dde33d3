//! What macro expansions call (not a public API: it changes with the macros).

use std::fmt::{Debug, Display};

pub use crate::record::value::{
    AnyValue, Attr, AttrValue, BoolValue, FloatValue, IntValue, StrListValue, StrValue,
};
pub use crate::record::{Kind, Naming, SpanMeta};
pub use crate::span::guard::future::{Instrumented, TracedFn};
pub use crate::span::guard::{RecordSlot, ScopedSpan, Span};

use crate::record::usage::Usage;

/// Whether spans may record at all (a pipeline is installed or a capture is open): one relaxed
/// load, the whole disabled path of a traced sync fn whose attributes are all literals.
#[inline(always)]
pub fn recording_on() -> bool {
    crate::span::gate::ENABLED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Runs the traced path of a sync fn out of line (see `recording_on`): the span's end is inline
/// in it, and its frame is not the caller's.
#[inline(never)]
pub fn run_traced<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// An attribute under an association key (`#[associated]` in `define_keys!`), noted for the span
/// a macro is starting.
#[inline(always)]
pub fn associated_attr(key: &'static str, value: AttrValue) -> Attr {
    crate::span::thread_state::note_associated(key);
    Attr::new(key, value)
}

/// A key as a span's constant attributes see it (`<ConstProbe as key>::__KEY`, emitted by
/// `define_keys!` for every key).
#[derive(Clone, Copy)]
pub struct ConstKey {
    pub name: &'static str,
    pub associated: bool,
    pub float: bool,
}

impl ConstKey {
    /// A string-literal key: unchecked, never associated.
    pub const fn unchecked(name: &'static str) -> Self {
        ConstKey { name, associated: false, float: false }
    }
}

/// A literal value of a macro argument, as written.
#[derive(Clone, Copy)]
pub enum ConstValue {
    Str(&'static str),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// The attribute a literal value makes under `key`, built at compile time into the call site's
/// `SpanMeta`: a span records nothing for it. The expansion checks the value against the key with
/// the same call a run-time value gets, so this conversion only has to agree with that one (an
/// integer under a float key is a float, as `FloatValue` makes it).
pub const fn const_attr(key: ConstKey, value: ConstValue) -> Attr {
    let value = match value {
        ConstValue::Str(s) => AttrValue::Static(s),
        ConstValue::Int(i) if key.float => AttrValue::F64(i as f64),
        ConstValue::Int(i) => AttrValue::I64(i),
        ConstValue::Float(f) => AttrValue::F64(f),
        ConstValue::Bool(b) => AttrValue::Bool(b),
    };
    Attr::new(key.name, value)
}

/// Bit `i` set for each of `keys` that is an association key (`SpanMeta::associated`).
pub const fn associated_mask(keys: &[ConstKey]) -> u64 {
    let mut mask = 0;
    let mut i = 0;
    while i < keys.len() && i < 64 {
        if keys[i].associated {
            mask |= 1 << i;
        }
        i += 1;
    }
    mask
}

/// A type every key accepts, so that `<ConstProbe as key>::__KEY` names a key's constant
/// without a second check of the value (the expansion's `__attr` call makes that one, and a key
/// that does not resolve fails there with the same error, reported once). Never a value: its
/// conversions are unreachable from safe code that does not name `__private`.
pub struct ConstProbe(());

macro_rules! probe_accepts {
    ($($trait:ident),*) => {$(
        impl $trait for ConstProbe {
            fn into_value(self) -> AttrValue {
                AttrValue::Bool(false)
            }
        }
    )*};
}
probe_accepts!(StrValue, IntValue, FloatValue, BoolValue, StrListValue);

/// A value under a string-literal key: the unchecked escape hatch.
#[inline(always)]
pub fn unchecked_attr(key: &'static str, value: impl AnyValue) -> Attr {
    Attr::new(key, value.into_value())
}

/// A string-literal value under a string-literal key.
#[inline(always)]
pub const fn unchecked_static_attr(key: &'static str, value: &'static str) -> Attr {
    Attr::new(key, AttrValue::Static(value))
}

/// Calls `f` once; an `FnOnce` bound lets the body move out of and return borrows of captures,
/// exactly as the function body could.
#[inline(always)]
pub fn call_once<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// The return value of a traced body, for the autoref-specialised recorders below.
pub struct Outcome<'a, T>(pub &'a T);

impl<T> Clone for Outcome<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Outcome<'_, T> {}

/// `Err(e)` with `e: Display`: status Error with `e`'s text.
pub trait RecordDisplayErr {
    fn __trace_outcome(&self);
}
impl<T, E: Display> RecordDisplayErr for &Outcome<'_, Result<T, E>> {
    #[inline(always)]
    fn __trace_outcome(&self) {
        if let Err(e) = self.0 {
            record_error_text(e);
        }
    }
}

/// `Err(e)` with `e: Debug` only: status Error with `e`'s debug text.
pub trait RecordDebugErr {
    fn __trace_outcome(&self);
}
impl<T, E: Debug> RecordDebugErr for Outcome<'_, Result<T, E>> {
    #[inline(always)]
    fn __trace_outcome(&self) {
        if let Err(e) = self.0 {
            record_error_debug(e);
        }
    }
}

/// Any other return value: nothing to record.
pub trait RecordNothing {
    fn __trace_outcome(self);
}
impl<T> RecordNothing for Outcome<'_, T> {
    #[inline(always)]
    fn __trace_outcome(self) {}
}

#[cold]
fn record_error_text(e: &dyn Display) {
    crate::span::set_error(e.to_string());
}

#[cold]
fn record_error_debug(e: &dyn Debug) {
    crate::span::set_error(format!("{e:?}"));
}

/// `usage = f` on a fn returning `Result<T, E>`: `f(&T)` on `Ok`.
pub trait UsageOfOk<T> {
    fn __trace_usage(&self, f: impl FnOnce(&T) -> Usage);
}
impl<T, E> UsageOfOk<T> for Outcome<'_, Result<T, E>> {
    #[inline(always)]
    fn __trace_usage(&self, f: impl FnOnce(&T) -> Usage) {
        if let Ok(v) = self.0 {
            crate::record_usage(f(v));
        }
    }
}

/// `usage = f` on any other fn: `f(&return_value)`.
pub trait UsageOfValue<T> {
    fn __trace_usage(&self, f: impl FnOnce(&T) -> Usage);
}
impl<T> UsageOfValue<T> for &Outcome<'_, T> {
    #[inline(always)]
    fn __trace_usage(&self, f: impl FnOnce(&T) -> Usage) {
        crate::record_usage(f(self.0));
    }
}

/// Whether IO capture is on: `input` / `output` expressions are evaluated only then.
#[inline(always)]
pub fn capture_io() -> bool {
    crate::span::gate::capture_io_enabled()
}

// The bounds below name the public path (`crate::io`, not `crate::llm::io`): rustc quotes these
// lines in the type errors users see (ui-tests `input_not_messages`, `output_not_messages`).

/// `input = EXPR` of `#[trace_llm]`.
#[cold]
pub fn record_input<M: crate::io::Messages + ?Sized>(messages: &M) {
    crate::io::record_input_messages(messages);
}

/// `input = EXPR` of an async `#[trace_llm]` fn, made before its body's future takes the fn's
/// arguments (only when the span records and IO capture is on).
#[cold]
pub fn input_messages<M: crate::io::Messages + ?Sized>(messages: &M) -> String {
    messages.to_messages_json("user")
}

/// What [`input_messages`] made, recorded once the span is current.
#[cold]
pub fn record_input_messages(json: String) {
    crate::io::record_input_json(json);
}

/// `output = path` of `#[trace_llm]`, applied to the return value.
#[cold]
pub fn record_output<M: crate::io::Messages>(messages: M) {
    crate::io::record_output_messages(messages);
}

/// `output = f` on a fn returning `Result<T, E>`: `f(&T)` on `Ok`.
pub trait OutputOfOk<T> {
    fn __trace_output(&self, f: impl FnOnce(&T));
}
impl<T, E> OutputOfOk<T> for Outcome<'_, Result<T, E>> {
    #[inline(always)]
    fn __trace_output(&self, f: impl FnOnce(&T)) {
        if let Ok(v) = self.0 {
            f(v);
        }
    }
}

/// `output = f` on any other fn: `f(&return_value)`.
pub trait OutputOfValue<T> {
    fn __trace_output(&self, f: impl FnOnce(&T));
}
impl<T> OutputOfValue<T> for &Outcome<'_, T> {
    #[inline(always)]
    fn __trace_output(&self, f: impl FnOnce(&T)) {
        f(self.0);
    }
}

/// A failed GenAI call (`#[trace_llm]`, `#[trace_agent]`, `#[trace_tool]`): `error.type` from the
/// error's [`ErrorType`](crate::ErrorType).
pub trait ErrorTypeCustom {
    fn __trace_error_type(&self);
}
impl<T, E: crate::ErrorType> ErrorTypeCustom for &Outcome<'_, Result<T, E>> {
    #[inline(always)]
    fn __trace_error_type(&self) {
        if let Err(e) = self.0 {
            record_error_type(e.error_type());
        }
    }
}

/// A failed GenAI call whose error does not name its type: `error.type` is the error's type name.
pub trait ErrorTypeName {
    fn __trace_error_type(&self);
}
impl<T, E> ErrorTypeName for Outcome<'_, Result<T, E>> {
    #[inline(always)]
    fn __trace_error_type(&self) {
        if self.0.is_err() {
            record_error_type(std::borrow::Cow::Borrowed(std::any::type_name::<E>()));
        }
    }
}

/// Any other return value: no `error.type`.
pub trait ErrorTypeNone {
    fn __trace_error_type(self);
}
impl<T> ErrorTypeNone for Outcome<'_, T> {
    #[inline(always)]
    fn __trace_error_type(self) {}
}

#[cold]
fn record_error_type(error_type: std::borrow::Cow<'static, str>) {
    let value = match error_type {
        std::borrow::Cow::Borrowed(s) => AttrValue::Static(s),
        std::borrow::Cow::Owned(s) => AttrValue::copy_str(&s),
    };
    crate::span::set_attr(Attr::new("error.type", value));
}

/// A parameter of a `#[trace_tool]` fn, for the autoref-specialised recorders below.
pub struct Argument<'a, T>(pub &'a T);

impl<T> Clone for Argument<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Argument<'_, T> {}

/// The parameters of a `#[trace_tool]` fn, as a JSON object (`gen_ai.tool.call.arguments`).
#[derive(Default)]
pub struct ToolArguments(serde_json::Map<String, serde_json::Value>);

impl ToolArguments {
    #[cold]
    pub fn new() -> Self {
        ToolArguments(serde_json::Map::new())
    }

    #[cold]
    pub fn record(self) {
        crate::io::record_tool_arguments(serde_json::Value::Object(self.0));
    }
}

/// A `Serialize` parameter: as JSON.
pub trait ArgumentAsJson {
    fn __trace_argument(&self, name: &str, out: &mut ToolArguments);
}
impl<T: serde::Serialize> ArgumentAsJson for &Argument<'_, T> {
    fn __trace_argument(&self, name: &str, out: &mut ToolArguments) {
        let value =
            serde_json::to_value(self.0).unwrap_or_else(|e| serde_json::Value::String(format!("<{e}>")));
        out.0.insert(name.to_string(), value);
    }
}

/// A `Debug` parameter: its debug text.
pub trait ArgumentAsDebug {
    fn __trace_argument(&self, name: &str, out: &mut ToolArguments);
}
impl<T: Debug> ArgumentAsDebug for Argument<'_, T> {
    fn __trace_argument(&self, name: &str, out: &mut ToolArguments) {
        out.0.insert(name.to_string(), serde_json::Value::String(format!("{:?}", self.0)));
    }
}

/// Any other parameter: left out.
pub trait ArgumentSkipped {
    fn __trace_argument(self, name: &str, out: &mut ToolArguments);
}
impl<T> ArgumentSkipped for Argument<'_, T> {
    #[inline(always)]
    fn __trace_argument(self, _: &str, _: &mut ToolArguments) {}
}

/// The `Ok` value of a `#[trace_tool]` fn returning `Result<T: Serialize, E>`, as JSON
/// (`gen_ai.tool.call.result`); an `Err` is the span's error, not a result.
pub trait ResultOkAsJson {
    fn __trace_tool_result(&self);
}
impl<T: serde::Serialize, E> ResultOkAsJson for &&&&Outcome<'_, Result<T, E>> {
    fn __trace_tool_result(&self) {
        if let Ok(v) = self.0 {
            crate::io::record_tool_result(v);
        }
    }
}

/// The `Ok` value of a `Result<T: Debug, E>`: its debug text.
pub trait ResultOkAsDebug {
    fn __trace_tool_result(&self);
}
impl<T: Debug, E> ResultOkAsDebug for &&&Outcome<'_, Result<T, E>> {
    fn __trace_tool_result(&self) {
        if let Ok(v) = self.0 {
            crate::io::record_tool_result(format!("{v:?}"));
        }
    }
}

/// Any other `Serialize` return value: as JSON.
pub trait ResultAsJson {
    fn __trace_tool_result(&self);
}
impl<T: serde::Serialize> ResultAsJson for &&Outcome<'_, T> {
    fn __trace_tool_result(&self) {
        crate::io::record_tool_result(self.0);
    }
}

/// Any other `Debug` return value: its debug text.
pub trait ResultAsDebug {
    fn __trace_tool_result(&self);
}
impl<T: Debug> ResultAsDebug for &Outcome<'_, T> {
    fn __trace_tool_result(&self) {
        crate::io::record_tool_result(format!("{:?}", self.0));
    }
}

/// Anything else (`()`, say): no result.
pub trait ResultSkipped {
    fn __trace_tool_result(&self);
}
impl<T> ResultSkipped for Outcome<'_, T> {
    #[inline(always)]
    fn __trace_tool_result(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    static META: SpanMeta = SpanMeta {
        name: "outcome",
        kind: Kind::Internal,
        naming: Naming::Static,
        function: "",
        file: file!(),
        line: line!(),
        attrs: &[],
        associated: 0,
    };

    fn traced<T>(value: T, record: impl FnOnce(&T)) -> opentelemetry::trace::Status {
        let (_, spans) = testing::capture(|| {
            let mut slot = RecordSlot::new();
            let mut span = ScopedSpan::new_in(&META, &mut slot);
            span.enter();
            record(&value);
        });
        spans[0].status.clone()
    }

    #[test]
    // The borrows select the recorder (autoref specialisation), exactly as in the expansions.
    #[allow(clippy::needless_borrow)]
    fn errors_are_recorded_by_display_then_debug_then_not_at_all() {
        #[derive(Debug)]
        struct DebugOnly;
        use opentelemetry::trace::Status;
        let display: Result<(), std::fmt::Error> = Err(std::fmt::Error);
        assert_eq!(
            traced(display, |r| (&&Outcome(r)).__trace_outcome()),
            Status::error("an error occurred when formatting an argument")
        );
        let debug: Result<(), DebugOnly> = Err(DebugOnly);
        assert_eq!(traced(debug, |r| (&&Outcome(r)).__trace_outcome()), Status::error("DebugOnly"));
        assert_eq!(traced(5, |r| (&&Outcome(r)).__trace_outcome()), Status::Unset);
        let ok: Result<u8, String> = Ok(1);
        assert_eq!(traced(ok, |r| (&&Outcome(r)).__trace_outcome()), Status::Unset);
    }
}
