//! The function-like macros, `trace!` and `define_keys!`, with their documentation and the
//! expansion each one shows.

// The docs link to the crate's items by their root paths (`span::set`, `keys::Key`).
#[cfg(doc)]
#[allow(unused_imports)]
use crate::*;

/// Traces a block: `trace!(NAME, key = EXPR, ..., { block })` evaluates to the block's value;
/// with `async { }` / `async move { }` last, it evaluates to a future of the traced block.
///
/// `NAME` is a string literal, or any expression giving a `String` / `&'static str`. Keys are
/// checked like `fields(...)` of the attribute macros; `"any.key" = v` is unchecked. The block's
/// value is returned untouched (its type is inferred as without the macro), so an `Err` it
/// evaluates to is not inspected: return it from a traced fn, or call
/// [`span::record_error`], to mark the span.
///
/// ```
/// use trace_runtime::{testing, trace};
///
/// let (n, spans) = testing::capture(|| trace!("turn", session.id = "s-1", { 40 + 2 }));
/// assert_eq!(n, 42);
/// assert_eq!(spans[0].name, "turn");
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let sid = String::from("s-2");
/// let (_, spans) = testing::capture_async(trace!("turn", session.id = sid.as_str(), async move {
///     tokio::task::yield_now().await;
/// }))
/// .await;
/// assert_eq!(spans.len(), 1);
/// # }
/// ```
///
/// # Expansion
///
/// The block form,
///
/// <!-- expansion-input: trace -->
/// ```
/// # use trace_runtime::{testing, trace};
/// # let (_, spans) = testing::capture(|| {
/// let n = trace!("turn", session.id = "s-1", { 40 + 2 });
/// # assert_eq!(n, 42);
/// # });
/// # assert_eq!(spans[0].name, "turn");
/// ```
///
/// expands to (the block's statements follow the span's start, so its value is the block's value):
///
/// <!-- expansion-output: trace -->
/// ```
/// # use trace_runtime::{testing, trace};
/// # let (_, spans) = testing::capture(|| {
/// let n = {
///     // Literal arguments become attributes at compile time, in the call site's metadata:
///     // a span records none of them. Each key resolves through one `use` per segment
///     // (a typo is one error there), and the closure, never called, checks the value.
///     const __TRACE_KEYS: [::trace_runtime::__private::ConstKey; 1] = [{
///         use ::trace_runtime::keys::session as session;
///         {
///             use session::id as id;
///             const _: fn() = || {
///                 let _ = <&'static str as id>::__static_attr("s-1");
///             };
///             <::trace_runtime::__private::ConstProbe as id>::__KEY
///         }
///     }];
///     static __TRACE_ATTRS: [::trace_runtime::__private::Attr; 1] =
///         [::trace_runtime::__private::const_attr(
///             __TRACE_KEYS[0],
///             ::trace_runtime::__private::ConstValue::Str("s-1"),
///         )];
///     static __TRACE_META: ::trace_runtime::__private::SpanMeta =
///         ::trace_runtime::__private::SpanMeta {
///             name: "turn",
///             kind: ::trace_runtime::__private::Kind::Internal,
///             naming: ::trace_runtime::__private::Naming::Static,
///             function: "",
///             file: ::core::file!(),
///             line: ::core::line!(),
///             attrs: &__TRACE_ATTRS,
///             associated: ::trace_runtime::__private::associated_mask(&__TRACE_KEYS),
///         };
///     let mut __trace_slot = ::trace_runtime::__private::RecordSlot::new();
///     // One relaxed load when tracing is off: then nothing below records.
///     let mut __trace_guard =
///         ::trace_runtime::__private::ScopedSpan::new_in(&__TRACE_META, &mut __trace_slot);
///     // Starts the clock and makes the span current; the guard's drop ends it.
///     __trace_guard.enter();
///     40 + 2
/// };
/// # assert_eq!(n, 42);
/// # });
/// # assert_eq!(spans[0].name, "turn");
/// ```
///
/// The async form,
///
/// <!-- expansion-input: trace-async -->
/// ```
/// # use trace_runtime::{testing, trace};
/// # futures::executor::block_on(async {
/// let sid = String::from("s-2");
/// let turn = trace!("turn", session.id = sid.as_str(), async move { sid.len() });
/// # let (n, spans) = testing::capture_async(turn).await;
/// # assert_eq!(n, 3);
/// # assert_eq!(spans[0].name, "turn");
/// # });
/// ```
///
/// expands to:
///
/// <!-- expansion-output: trace-async -->
/// ```
/// # use trace_runtime::{testing, trace};
/// # futures::executor::block_on(async {
/// let sid = String::from("s-2");
/// let turn = {
///     static __TRACE_META: ::trace_runtime::__private::SpanMeta =
///         ::trace_runtime::__private::SpanMeta {
///             name: "turn",
///             kind: ::trace_runtime::__private::Kind::Internal,
///             naming: ::trace_runtime::__private::Naming::Static,
///             function: "",
///             file: ::core::file!(),
///             line: ::core::line!(),
///             attrs: &[],
///             associated: 0,
///         };
///     let mut __trace_span = ::trace_runtime::__private::Span::new_deferred(&__TRACE_META);
///     if __trace_span.is_recording() {
///         __trace_span.attrs([match sid.as_str() {
///             __trace_value => {
///                 use ::trace_runtime::keys::session as session;
///                 {
///                     use session::id as id;
///                     <_ as id>::__attr(__trace_value)
///                 }
///             }
///         }]);
///     }
///     ::trace_runtime::__private::Instrumented::new(__trace_span, async move { sid.len() })
/// };
/// # let (n, spans) = testing::capture_async(turn).await;
/// # assert_eq!(n, 3);
/// # assert_eq!(spans[0].name, "turn");
/// # });
/// ```
pub use trace_macros::trace;

/// Declares typed attribute keys: a [`keys::Key`] const and a value check usable in `fields(...)`
/// and `trace!` by path.
///
/// Each key is `name: Type` with `Type` one of `String`, `i64`, `f64`, `bool`, `Vec<String>`; the
/// wire name is the module path joined by dots (`billing.customer` below), or `= "wire.name"`.
///
/// ```
/// mod my_keys {
///     trace_runtime::define_keys! {
///         pub mod billing {
///             /// Customer the call is billed to.
///             customer: String,
///             /// Credits charged.
///             credits: i64 = "billing.credits_charged",
///         }
///     }
/// }
///
/// let (_, spans) = trace_runtime::testing::capture(|| {
///     trace_runtime::trace!("charge", my_keys::billing::credits = 3, {
///         trace_runtime::span::set(my_keys::billing::customer, "acme");
///     })
/// });
/// assert_eq!(spans[0].attributes[0].key.as_str(), "billing.credits_charged");
/// assert_eq!(spans[0].attributes[1].key.as_str(), "billing.customer");
/// ```
///
/// # Expansion
///
/// <!-- expansion-input: define_keys -->
/// ```
/// # use trace_runtime::{define_keys, testing, trace};
/// define_keys! {
///     pub mod billing {
///         /// Credits charged.
///         credits: i64 = "billing.credits_charged",
///     }
/// }
/// # let (_, spans) = testing::capture(|| trace!("charge", billing::credits = 3, {}));
/// # assert_eq!(spans[0].attributes[0].key.as_str(), "billing.credits_charged");
/// ```
///
/// expands to a constant and a trait per key (the trait checks the value's type):
///
/// <!-- expansion-output: define_keys -->
/// ```
/// # use trace_runtime::{define_keys, testing, trace};
/// #[allow(non_camel_case_types, non_upper_case_globals)]
/// pub mod billing {
///     #[doc = " Credits charged."]
///     #[doc = ""]
///     #[doc = "Wire name `billing.credits_charged`; takes an integer (`i64`)."]
///     #[allow(non_upper_case_globals)]
///     pub const credits: ::trace_runtime::keys::Key<i64> =
///         ::trace_runtime::keys::Key::new("billing.credits_charged");
///     #[doc = "Checks values given to `billing.credits_charged` in macro `fields(...)`."]
///     #[doc(hidden)]
///     #[allow(non_camel_case_types)]
///     #[diagnostic::on_unimplemented(
///         message = "`{Self}` is not a valid value for trace key `billing.credits_charged`",
///         label = "`billing.credits_charged` expects an integer (`i64`)",
///         note = "accepted: any integer type, by value or by reference"
///     )]
///     pub trait credits {
///         #[doc(hidden)]
///         fn __attr(self) -> ::trace_runtime::__private::Attr;
///         #[doc = r" The key as a literal value's constant attribute names it,"]
///         #[doc = r" `<::trace_runtime::__private::ConstProbe as key>::__KEY` (the value is checked by"]
///         #[doc = r" the `__attr` or `__static_attr` call beside it)."]
///         #[doc(hidden)]
///         const __KEY: ::trace_runtime::__private::ConstKey =
///             ::trace_runtime::__private::ConstKey {
///                 name: "billing.credits_charged",
///                 associated: false,
///                 float: false,
///             };
///         #[doc = r" A string literal under this key, stored without a copy; called as"]
///         #[doc = r" `<&'static str as key>::__static_attr(..)`, which checks that the key takes strings."]
///         #[doc(hidden)]
///         #[inline(always)]
///         fn __static_attr(__trace_value: &'static str) -> ::trace_runtime::__private::Attr
///         where
///             Self: Sized,
///         {
///             ::trace_runtime::__private::Attr::new(
///                 "billing.credits_charged",
///                 ::trace_runtime::__private::AttrValue::Static(__trace_value),
///             )
///         }
///     }
///     #[diagnostic::do_not_recommend]
///     impl<V: ::trace_runtime::__private::IntValue> credits for V {
///         #[inline(always)]
///         fn __attr(self) -> ::trace_runtime::__private::Attr {
///             ::trace_runtime::__private::Attr::new(
///                 "billing.credits_charged",
///                 <V as ::trace_runtime::__private::IntValue>::into_value(self),
///             )
///         }
///     }
/// }
/// # let (_, spans) = testing::capture(|| trace!("charge", billing::credits = 3, {}));
/// # assert_eq!(spans[0].attributes[0].key.as_str(), "billing.credits_charged");
/// ```
pub use trace_macros::define_keys;
