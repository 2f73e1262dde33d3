//! What macro expansions call (not a public API: it changes with the macros).

use std::fmt::{Debug, Display};

pub use crate::record::value::{
    AnyValue, Attr, AttrValue, BoolValue, FloatValue, IntValue, StrListValue, StrValue,
};
pub use crate::record::{Kind, Naming, SpanMeta};
pub use crate::span::guard::future::Instrumented;
pub use crate::span::guard::{RecordSlot, ScopedSpan, Span};

use crate::record::usage::Usage;

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
