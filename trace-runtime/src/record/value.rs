//! Attribute values as the hot path stores them: a static key and a compact value, no conversion.
//!
//! Static strings (literals in macro arguments) are kept as `&'static str`; other strings are
//! copied once, truncated to [`limits::MAX_VALUE_BYTES`](crate::record::limits::MAX_VALUE_BYTES). The
//! conversion to `opentelemetry::KeyValue` happens on the export worker.

use std::borrow::Cow;
use std::sync::Arc;

use opentelemetry::{Array, KeyValue, StringValue, Value};

/// A recorded attribute value.
#[doc(hidden)]
#[derive(Clone, Debug, PartialEq)]
pub enum AttrValue {
    Bool(bool),
    I64(i64),
    F64(f64),
    Static(&'static str),
    String(Box<str>),
    Strings(Box<[Box<str>]>),
    /// The association set a span passes on (never exported as such: see `record::association`).
    Association(crate::record::association::Association),
}

/// A recorded attribute: a static key and its value.
#[doc(hidden)]
#[derive(Clone, Debug, PartialEq)]
pub struct Attr {
    pub(crate) key: &'static str,
    pub(crate) value: AttrValue,
}

impl Attr {
    #[inline(always)]
    pub const fn new(key: &'static str, value: AttrValue) -> Self {
        Attr { key, value }
    }

    /// The attribute as OpenTelemetry's, moving owned strings out (left empty) instead of
    /// copying them. Converted in place, so the export worker reads each field of the record
    /// once, where it lies.
    #[inline(always)]
    pub(crate) fn take_key_value(&mut self) -> KeyValue {
        KeyValue::new(self.key, self.value.take_otel())
    }
}

impl AttrValue {
    /// A constant value (a macro's literal argument, in its `SpanMeta`) as OpenTelemetry's:
    /// static strings, numbers and booleans, read where they lie with no copy of the attribute
    /// first (a copy's narrow stores, reloaded wider at once, stalled the export worker).
    #[inline(always)]
    pub(crate) fn const_otel(&self) -> Value {
        match self {
            AttrValue::Bool(b) => Value::Bool(*b),
            AttrValue::I64(i) => Value::I64(*i),
            AttrValue::F64(f) => Value::F64(*f),
            AttrValue::Static(s) => Value::String(StringValue::from(*s)),
            other => other.clone().take_otel(),
        }
    }

    /// The value as OpenTelemetry's, moving owned strings out (left empty).
    #[inline(always)]
    pub(crate) fn take_otel(&mut self) -> Value {
        match self {
            AttrValue::Bool(b) => Value::Bool(*b),
            AttrValue::I64(i) => Value::I64(*i),
            AttrValue::F64(f) => Value::F64(*f),
            AttrValue::Static(s) => Value::String(StringValue::from(*s)),
            AttrValue::String(s) => Value::String(StringValue::from(String::from(std::mem::take(s)))),
            AttrValue::Strings(list) => Value::Array(Array::String(
                std::mem::take(list)
                    .into_vec()
                    .into_iter()
                    .map(|s| StringValue::from(String::from(s)))
                    .collect(),
            )),
            // Expanded into the set's pairs by the converter, which never calls this for it.
            AttrValue::Association(_) => Value::String(StringValue::from("")),
        }
    }

    /// Copies a borrowed string, cutting it at [`MAX_VALUE_BYTES`] on a char boundary.
    #[inline]
    pub(crate) fn copy_str(s: &str) -> Self {
        AttrValue::String(clip(s).into())
    }
}

/// `s` if it fits the value limit ([`MAX_VALUE_BYTES`] by default); otherwise its longest prefix
/// (on a char boundary) that fits with [`TRUNCATED`](crate::record::limits::TRUNCATED) appended,
/// so a reader sees that it was cut (a limit too short for the marker cuts without it).
pub(crate) fn clip(s: &str) -> std::borrow::Cow<'_, str> {
    use crate::record::limits::TRUNCATED;
    let limit = crate::record::limits::value_bytes();
    if s.len() <= limit {
        return std::borrow::Cow::Borrowed(s);
    }
    let marker = if limit >= 2 * TRUNCATED.len() { TRUNCATED } else { "" };
    let mut end = limit - marker.len();
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    std::borrow::Cow::Owned(format!("{}{marker}", &s[..end]))
}

/// The causes below an error, `caused by: ..` a line each and clipped, for
/// `exception.stacktrace`; `None` when it has none. `first` is the error's `source()`.
pub(crate) fn cause_chain(first: Option<&(dyn std::error::Error + 'static)>) -> Option<String> {
    let mut chain = String::new();
    let mut source = first;
    while let Some(cause) = source {
        chain.push_str("caused by: ");
        chain.push_str(&cause.to_string());
        chain.push('\n');
        source = cause.source();
    }
    (!chain.is_empty()).then(|| clip(&chain).into_owned())
}

fn owned_str(s: String) -> AttrValue {
    if s.len() <= crate::record::limits::value_bytes() {
        AttrValue::String(s.into_boxed_str())
    } else {
        AttrValue::copy_str(&s)
    }
}

/// Values accepted by string keys: `&str`, `String`, `&String`, `Box<str>`, `Arc<str>`, `Cow<str>`.
#[doc(hidden)]
pub trait StrValue {
    fn into_value(self) -> AttrValue;
}

impl StrValue for &str {
    #[inline]
    fn into_value(self) -> AttrValue {
        AttrValue::copy_str(self)
    }
}
impl StrValue for String {
    #[inline]
    fn into_value(self) -> AttrValue {
        owned_str(self)
    }
}
impl StrValue for &String {
    #[inline]
    fn into_value(self) -> AttrValue {
        AttrValue::copy_str(self)
    }
}
impl StrValue for Box<str> {
    #[inline]
    fn into_value(self) -> AttrValue {
        owned_str(self.into_string())
    }
}
impl StrValue for Arc<str> {
    #[inline]
    fn into_value(self) -> AttrValue {
        AttrValue::copy_str(&self)
    }
}
impl StrValue for Cow<'_, str> {
    #[inline]
    fn into_value(self) -> AttrValue {
        match self {
            Cow::Borrowed(s) => AttrValue::copy_str(s),
            Cow::Owned(s) => owned_str(s),
        }
    }
}

/// Values accepted by integer keys: every primitive integer (saturating at `i64::MAX`), by value
/// or by reference.
#[doc(hidden)]
pub trait IntValue {
    fn into_value(self) -> AttrValue;
}

macro_rules! int_values {
    ($($t:ty),*) => {$(
        impl IntValue for $t {
            #[inline(always)]
            fn into_value(self) -> AttrValue {
                AttrValue::I64(i64::try_from(self).unwrap_or(i64::MAX))
            }
        }
        impl IntValue for &$t {
            #[inline(always)]
            fn into_value(self) -> AttrValue {
                IntValue::into_value(*self)
            }
        }
    )*};
}
int_values!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

/// Values accepted by float keys: `f32`, `f64`, and the integers that convert to `f64` exactly.
#[doc(hidden)]
pub trait FloatValue {
    fn into_value(self) -> AttrValue;
}

macro_rules! float_values {
    ($($t:ty),*) => {$(
        impl FloatValue for $t {
            #[inline(always)]
            fn into_value(self) -> AttrValue {
                AttrValue::F64(f64::from(self))
            }
        }
        impl FloatValue for &$t {
            #[inline(always)]
            fn into_value(self) -> AttrValue {
                FloatValue::into_value(*self)
            }
        }
    )*};
}
float_values!(f32, f64, i8, i16, i32, u8, u16, u32);

/// Values accepted by boolean keys.
#[doc(hidden)]
pub trait BoolValue {
    fn into_value(self) -> AttrValue;
}
impl BoolValue for bool {
    #[inline(always)]
    fn into_value(self) -> AttrValue {
        AttrValue::Bool(self)
    }
}
impl BoolValue for &bool {
    #[inline(always)]
    fn into_value(self) -> AttrValue {
        AttrValue::Bool(*self)
    }
}

/// Values accepted by string-list keys: slices, arrays and vectors of strings.
#[doc(hidden)]
pub trait StrListValue {
    fn into_value(self) -> AttrValue;
}

fn str_list<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> AttrValue {
    AttrValue::Strings(items.into_iter().map(|s| Box::from(clip(s.as_ref()))).collect())
}

impl<S: AsRef<str>> StrListValue for &[S] {
    fn into_value(self) -> AttrValue {
        str_list(self)
    }
}
impl<S: AsRef<str>, const N: usize> StrListValue for [S; N] {
    fn into_value(self) -> AttrValue {
        str_list(self)
    }
}
impl<S: AsRef<str>, const N: usize> StrListValue for &[S; N] {
    fn into_value(self) -> AttrValue {
        str_list(self)
    }
}
impl<S: AsRef<str>> StrListValue for Vec<S> {
    fn into_value(self) -> AttrValue {
        str_list(self)
    }
}
impl<S: AsRef<str>> StrListValue for &Vec<S> {
    fn into_value(self) -> AttrValue {
        str_list(self)
    }
}

/// Values accepted by an unchecked string-literal key (`"app.tenant" = v`): anything a typed key
/// of any kind accepts.
#[doc(hidden)]
pub trait AnyValue {
    fn into_value(self) -> AttrValue;
}

macro_rules! any_values {
    ($trait:ident: $($t:ty),*) => {$(
        impl AnyValue for $t {
            #[inline(always)]
            fn into_value(self) -> AttrValue {
                $trait::into_value(self)
            }
        }
    )*};
}
any_values!(StrValue: &str, String, &String, Box<str>, Arc<str>, Cow<'_, str>);
any_values!(IntValue: i8, i16, i32, i64, isize, u8, u16, u32, u64, usize,
    &i8, &i16, &i32, &i64, &isize, &u8, &u16, &u32, &u64, &usize);
any_values!(FloatValue: f32, f64, &f32, &f64);
any_values!(BoolValue: bool, &bool);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::limits::MAX_VALUE_BYTES;

    #[test]
    fn long_strings_are_cut_on_a_char_boundary() {
        let long = "é".repeat(MAX_VALUE_BYTES);
        let AttrValue::String(cut) = StrValue::into_value(long.as_str()) else { panic!() };
        assert!(cut.len() <= MAX_VALUE_BYTES && cut.len() >= MAX_VALUE_BYTES - 1);
        let kept = cut.strip_suffix(crate::record::limits::TRUNCATED).expect("a cut value says so");
        assert!(kept.chars().all(|c| c == 'é'));
    }

    #[test]
    #[allow(clippy::needless_borrows_for_generic_args)] // the by-reference impl is under test
    fn integers_saturate() {
        assert_eq!(IntValue::into_value(u64::MAX), AttrValue::I64(i64::MAX));
        assert_eq!(IntValue::into_value(&7u8), AttrValue::I64(7));
    }
}
