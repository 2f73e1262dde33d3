//! `key = value` pairs whose keys the compiler checks.
//!
//! A dotted key (`audio.sample_rate`) resolves one segment at a time, each through a `use` that
//! carries the user's token span: a misspelled segment is one error, at that segment, with rustc's
//! "a similar name exists" suggestion. A `::` path names a key declared elsewhere (a user's
//! `define_keys!`), and a string literal is the unchecked escape hatch.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
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
        let mut segments = vec![input.call(Ident::parse_any)?];
        while input.peek(Token![.]) {
            input.parse::<Token![.]>()?;
            segments.push(input.call(Ident::parse_any)?);
        }
        Ok(FieldKey::Dotted(segments))
    }
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

/// The expression of type `::trace_runtime::__private::Attr` for `key = value`.
pub(crate) fn attr_expr(key: &FieldKey, value: &Expr) -> TokenStream {
    let literal = match value {
        Expr::Lit(syn::ExprLit { lit: Lit::Str(s), attrs }) if attrs.is_empty() => Some(s),
        _ => None,
    };
    match key {
        FieldKey::Literal(key) => match literal {
            Some(lit) => quote!(::trace_runtime::__private::unchecked_static_attr(#key, #lit)),
            None => {
                quote_spanned!(value_span(value)=> ::trace_runtime::__private::unchecked_attr(#key, #value))
            }
        },
        FieldKey::Path(path) => typed(quote!(#path), quote!(), value, literal),
        FieldKey::Dotted(segments) => {
            let mut uses = TokenStream::new();
            let mut previous: Option<Ident> = None;
            for (i, segment) in segments.iter().enumerate() {
                let alias = format_ident!("__trace_key_{}", i, span = segment.span());
                let span = segment.span();
                uses.extend(match &previous {
                    None => quote_spanned!(span=> use ::trace_runtime::keys::#segment as #alias;),
                    Some(prev) => quote_spanned!(span=> use #prev::#segment as #alias;),
                });
                previous = Some(alias);
            }
            let last = previous.map(|p| quote!(#p)).unwrap_or_default();
            typed(last, uses, value, literal)
        }
    }
}

/// `key::__attr(value)`, or for a string literal a copy-free static value after a dead-code check
/// that the key takes strings (so a wrong literal still gets the key's own error message).
fn typed(key: TokenStream, uses: TokenStream, value: &Expr, literal: Option<&LitStr>) -> TokenStream {
    let vspan = value_span(value);
    let call = quote_spanned!(vspan=> #key::__attr(#value));
    match literal {
        Some(lit) => quote!({
            #uses
            if false {
                let _ = #call;
            }
            ::trace_runtime::__private::static_attr(#key, #lit)
        }),
        None => quote!({
            #uses
            #call
        }),
    }
}

fn value_span(value: &Expr) -> Span {
    syn::spanned::Spanned::span(value)
}
