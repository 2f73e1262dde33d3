//! `key = value` pairs whose keys the compiler checks.
//!
//! A dotted key (`audio.sample_rate`) resolves one segment at a time, each through a `use` that
//! carries the user's token span: a misspelled segment is one error, at that segment, with rustc's
//! "a similar name exists" suggestion. A `::` path names a key declared elsewhere (a user's
//! `define_keys!`), and a string literal is the unchecked escape hatch.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Expr, Ident, Lit, LitStr, Token};

/// A field key as written.
pub(crate) enum FieldKey {
    /// `audio.sample_rate`, resolved under `::trace_runtime::keys`.
    Dotted(Vec<Ident>),
    /// `my_keys::billing::credits`: a path to a key item.
    Path(syn::Path),
    /// `"app.tenant"`: unchecked.
    Literal(LitStr),
}

pub(crate) struct Field {
    pub(crate) key: FieldKey,
    pub(crate) value: Expr,
}

impl Parse for FieldKey {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(LitStr) {
            return Ok(FieldKey::Literal(input.parse()?));
        }
        if input.peek(Token![::]) || input.peek2(Token![::]) {
            return Ok(FieldKey::Path(input.call(syn::Path::parse_mod_style)?));
        }
        let mut segments = vec![raw_if_keyword(input.call(Ident::parse_any)?)];
        while input.peek(Token![.]) {
            input.parse::<Token![.]>()?;
            segments.push(raw_if_keyword(input.call(Ident::parse_any)?));
        }
        Ok(FieldKey::Dotted(segments))
    }
}

/// `type` in `message.type` as `r#type`, the name of the key's item; other words unchanged.
fn raw_if_keyword(ident: Ident) -> Ident {
    let name = ident.to_string();
    let keyword = syn::parse_str::<Ident>(&name).is_err();
    let can_be_raw = !matches!(name.as_str(), "self" | "Self" | "super" | "crate" | "_");
    if keyword && can_be_raw { Ident::new_raw(&name, ident.span()) } else { ident }
}

impl Parse for Field {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key: FieldKey = input.parse()?;
        if !input.peek(Token![=]) {
            return Err(syn::Error::new(
                key.span(),
                format!("field `{}` needs a value: `{} = ...`", key.display(), key.display()),
            ));
        }
        input.parse::<Token![=]>()?;
        Ok(Field { key, value: input.parse()? })
    }
}

impl FieldKey {
    pub(crate) fn span(&self) -> Span {
        match self {
            FieldKey::Dotted(segments) => segments[0].span(),
            FieldKey::Path(path) => path.segments.first().map_or_else(Span::call_site, |s| s.ident.span()),
            FieldKey::Literal(lit) => lit.span(),
        }
    }

    pub(crate) fn display(&self) -> String {
        match self {
            FieldKey::Dotted(segments) => {
                segments.iter().map(|s| s.unraw().to_string()).collect::<Vec<_>>().join(".")
            }
            FieldKey::Path(path) => quote!(#path).to_string().replace(' ', ""),
            FieldKey::Literal(lit) => lit.value(),
        }
    }

    /// A dotted key made by the macros themselves (`gen_ai.request.model` for `model = ..`),
    /// reported at `span` (the argument the user wrote).
    pub(crate) fn builtin(dotted: &str, span: Span) -> Self {
        FieldKey::Dotted(
            dotted
                .split('.')
                .map(|s| if s == "type" { Ident::new_raw(s, span) } else { Ident::new(s, span) })
                .collect(),
        )
    }
}

/// The attribute of one `key = value`.
pub(crate) struct AttrTokens {
    /// An expression of type `::trace_runtime::__private::Attr`, evaluated when the span records.
    pub(crate) runtime: TokenStream,
    /// For a literal value, the attribute built at compile time instead: a `ConstKey` expression
    /// (which also checks the value against the key, as `runtime` would) and a `ConstValue` one.
    pub(crate) constant: Option<(TokenStream, TokenStream)>,
}

/// The attribute for `key = value`.
pub(crate) fn attr_expr(key: &FieldKey, value: &Expr) -> AttrTokens {
    let literal = match value {
        Expr::Lit(syn::ExprLit { lit: Lit::Str(s), attrs }) if attrs.is_empty() => Some(s),
        _ => None,
    };
    match key {
        FieldKey::Literal(key) => AttrTokens {
            runtime: match literal {
                Some(lit) => quote!(::trace_runtime::__private::unchecked_static_attr(#key, #lit)),
                None => {
                    quote_spanned!(value_span(value)=> ::trace_runtime::__private::unchecked_attr(#key, #value))
                }
            },
            constant: const_value(value)
                .map(|v| (quote!(::trace_runtime::__private::ConstKey::unchecked(#key)), v)),
        },
        FieldKey::Path(path) => typed(path_uses(path), value, literal),
        FieldKey::Dotted(segments) => typed(dotted_uses(segments), value, literal),
    }
}

/// `value` as a `ConstValue` expression, if it is a literal whose attribute can be built at
/// compile time exactly as the run-time conversion would build it: a string, an integer that
/// fits an `i64`, an `f64` (an `f32` literal widens with rounding, so it stays a run-time value)
/// or a `bool`.
fn const_value(value: &Expr) -> Option<TokenStream> {
    let Expr::Lit(syn::ExprLit { lit, attrs }) = value else { return None };
    if !attrs.is_empty() {
        return None;
    }
    let span = value_span(value);
    let private = quote_spanned!(span=> ::trace_runtime::__private);
    Some(match lit {
        Lit::Str(s) => quote_spanned!(span=> #private::ConstValue::Str(#s)),
        Lit::Int(i) => {
            let n = proc_macro2::Literal::i64_unsuffixed(i.base10_parse::<i64>().ok()?);
            quote_spanned!(span=> #private::ConstValue::Int(#n))
        }
        Lit::Float(f) if matches!(f.suffix(), "" | "f64") => {
            let x = proc_macro2::Literal::f64_unsuffixed(f.base10_parse::<f64>().ok()?);
            quote_spanned!(span=> #private::ConstValue::Float(#x))
        }
        Lit::Bool(b) => quote_spanned!(span=> #private::ConstValue::Bool(#b)),
        _ => return None,
    })
}

/// A key resolved by `use` items: the items, and the name they give the key.
struct Uses {
    items: Vec<TokenStream>,
    key: Ident,
}

/// The `use` items resolving `audio.sample_rate` one segment at a time, each spanned at its
/// segment: `use ::trace_runtime::keys::audio as audio;`, `use audio::sample_rate as sample_rate;`.
/// A misspelled segment is one error at that segment, "unresolved import `audio::sample_rat`",
/// with rustc's "a similar name exists" (which it gives for the last segment of a `use` only);
/// the `use`s after it go through the failed alias silently. The aliases are named after the
/// segments so that messages read like the key; they are in scope around the key check only,
/// not around the user's value (see `typed`).
fn dotted_uses(segments: &[Ident]) -> Uses {
    let root = segments.first().map_or_else(Span::call_site, |s| start_of(s.span()));
    chain(segments, quote_spanned!(root=> ::trace_runtime::keys))
}

/// As `dotted_uses`, for a path to a user's key: `use my_keys::app as app;`,
/// `use app::tenant as tenant;`.
fn path_uses(path: &syn::Path) -> Uses {
    let segments: Vec<Ident> = path.segments.iter().map(|s| s.ident.clone()).collect();
    let leading = path.leading_colon;
    match segments.split_first() {
        Some((first, rest)) if !rest.is_empty() => chain(rest, quote!(#leading #first)),
        Some((first, _)) => {
            let span = first.span();
            Uses { items: vec![quote_spanned!(span=> use #path as #first;)], key: first.clone() }
        }
        None => Uses { items: Vec::new(), key: Ident::new("__trace_no_key", Span::call_site()) },
    }
}

/// `use PREFIX::segment as segment;` for each segment, every token at the segment but the
/// prefix aliases, which are at its start. A failed `use` is reported at the span of its path
/// (from the first token of the prefix to the alias) and named by rustc up to the first segment
/// whose span is that span: the segment's own span and the distinct, zero-width start make the
/// error underline just the segment and name the whole path (`audio::sample_rat`, not `audio`).
fn chain(segments: &[Ident], mut prefix: TokenStream) -> Uses {
    let mut items = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        let span = segment.span();
        items.push(quote_spanned!(span=> use #prefix::#segment as #segment;));
        let mut next = segment.clone();
        if let Some(following) = segments.get(i + 1) {
            next.set_span(start_of(following.span()));
        }
        prefix = quote!(#next);
    }
    let key = segments.last().cloned().unwrap_or_else(|| Ident::new("__trace_no_key", Span::call_site()));
    Uses { items, key }
}

/// The zero-width span at the start of `span`, with its hygiene; `span` itself outside a
/// procedural macro (unit tests).
fn start_of(span: Span) -> Span {
    if proc_macro::is_available() { span.unwrap().start().into() } else { span }
}

/// `<_ as key>::__attr(value)` under the key's `use`s, or for a string literal the copy-free
/// `<&'static str as key>::__static_attr(lit)`. Both name the key as a trait, so a wrong value
/// type is the key's own error message at the value, and a group of keys (`gen_ai.request`) is
/// one "expected trait, found module `request`" at the key.
///
/// A non-literal value is evaluated outside the `use`s, as a `match` scrutinee (which keeps its
/// temporaries alive, as a call argument would): the aliases cannot shadow the user's names.
/// Each `use` gets a block of its own, so a key repeating a segment name does not define it twice.
///
/// A literal value's attribute is built at compile time (see [`AttrTokens::constant`]): its key
/// is `<ConstProbe as key>::__KEY` under the same `use`s, beside a never-called closure making
/// the same check call, so a wrong value or key is the same error at the same token.
fn typed(uses: Uses, value: &Expr, literal: Option<&LitStr>) -> AttrTokens {
    let Uses { items, key } = uses;
    let vspan = value_span(value);
    let nest = |inner: TokenStream| items.iter().rev().fold(inner, |inner, u| quote!({ #u #inner }));
    let constant = const_value(value).map(|constant_value| {
        let check = match literal {
            Some(lit) => quote_spanned!(vspan=> <&'static str as #key>::__static_attr(#lit)),
            None => quote_spanned!(vspan=> <_ as #key>::__attr(#value)),
        };
        let key = nest(quote_spanned! {vspan=>
            const _: fn() = || {
                let _ = #check;
            };
            <::trace_runtime::__private::ConstProbe as #key>::__KEY
        });
        (key, constant_value)
    });
    let runtime = match literal {
        Some(lit) => nest(quote_spanned!(vspan=> <&'static str as #key>::__static_attr(#lit))),
        None => {
            let bound = Ident::new("__trace_value", vspan);
            let body = nest(quote_spanned!(vspan=> <_ as #key>::__attr(#bound)));
            quote!(match #value {
                #bound => #body
            })
        }
    };
    AttrTokens { runtime, constant }
}

fn value_span(value: &Expr) -> Span {
    syn::spanned::Spanned::span(value)
}
