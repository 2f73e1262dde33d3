//! The arguments of the attribute macros (`#[trace_llm]`, `#[trace_agent]`, `#[trace_tool]`,
//! `#[trace_fn]`, `#[trace_pipeline]`, `#[trace_connection]`), parsed into one struct. Mistakes are errors at the token that is wrong, all reported at once.

use std::collections::HashSet;

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitStr, Path, Token};

use crate::fields::Field;
use crate::suggest;

/// Which attribute is being expanded, and what it accepts.
#[derive(Clone, Copy)]
pub(crate) enum Flavor {
    Llm,
    Agent,
    Tool,
    Function,
    Pipeline,
    Connection,
}

impl Flavor {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Flavor::Llm => "trace_llm",
            Flavor::Agent => "trace_agent",
            Flavor::Tool => "trace_tool",
            Flavor::Function => "trace_fn",
            Flavor::Pipeline => "trace_pipeline",
            Flavor::Connection => "trace_connection",
        }
    }

    fn valid(self) -> &'static [&'static str] {
        match self {
            Flavor::Llm => {
                &["provider", "model", "operation", "usage", "input", "output", "fields", "span_name"]
            }
            Flavor::Agent => &["name", "id", "description", "fields", "span_name"],
            Flavor::Tool => &["name", "call_id", "kind", "fields", "span_name"],
            Flavor::Function => &["fields", "span_name"],
            Flavor::Pipeline => &["name", "element", "fields", "span_name"],
            Flavor::Connection => &["id", "kind", "state", "fields", "span_name"],
        }
    }

    /// Whether the span is a GenAI operation: a failed call also gets `error.type`.
    pub(crate) fn is_gen_ai(self) -> bool {
        matches!(self, Flavor::Llm | Flavor::Agent | Flavor::Tool)
    }

    fn required(self) -> &'static [&'static str] {
        match self {
            Flavor::Llm => &["provider", "model"],
            Flavor::Agent | Flavor::Tool => &["name"],
            Flavor::Function => &[],
            Flavor::Pipeline => &["name", "element"],
            Flavor::Connection => &["id", "kind"],
        }
    }
}

/// One argument as written, before validation.
enum Raw {
    Value(Ident, Expr),
    Fields(Ident, Punctuated<Field, Token![,]>),
    Bare(Ident),
}

impl Parse for Raw {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let name: Ident = input.parse()?;
        if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            return Ok(Raw::Value(name, input.parse()?));
        }
        if input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            return Ok(Raw::Fields(name, content.parse_terminated(Field::parse, Token![,])?));
        }
        if !input.is_empty() && !input.peek(Token![,]) {
            return Err(input.error(format!("expected `=` after `{name}`: `{name} = ...`")));
        }
        Ok(Raw::Bare(name))
    }
}

/// The validated arguments.
pub(crate) struct Args {
    pub(crate) flavor: Flavor,
    /// `(argument name, its identifier as written, value)`, in the order written.
    pub(crate) values: Vec<(String, Ident, Expr)>,
    pub(crate) fields: Vec<Field>,
    pub(crate) span_name: Option<LitStr>,
    pub(crate) usage: Option<Path>,
    /// `input = EXPR`: messages recorded at the start when IO capture is on.
    pub(crate) input: Option<Expr>,
    /// `output = path`: a `fn(&T) -> impl Messages` applied to the return value.
    pub(crate) output: Option<Path>,
}

impl Args {
    pub(crate) fn get(&self, name: &str) -> Option<(&Ident, &Expr)> {
        self.values.iter().find(|(n, _, _)| n == name).map(|(_, i, e)| (i, e))
    }

    pub(crate) fn parse(flavor: Flavor, tokens: proc_macro2::TokenStream) -> syn::Result<Self> {
        let raw = syn::parse::Parser::parse2(Punctuated::<Raw, Token![,]>::parse_terminated, tokens)?;
        let mut errors: Option<syn::Error> = None;
        let mut push = |e: syn::Error| match &mut errors {
            Some(all) => all.combine(e),
            None => errors = Some(e),
        };
        let mut seen = HashSet::new();
        let mut suggested = HashSet::new();
        let mut args = Args {
            flavor,
            values: Vec::new(),
            fields: Vec::new(),
            span_name: None,
            usage: None,
            input: None,
            output: None,
        };
        let valid = flavor.valid();
        for arg in raw {
            let name = match &arg {
                Raw::Value(n, _) | Raw::Fields(n, _) | Raw::Bare(n) => n.clone(),
            };
            let key = name.to_string();
            if !valid.contains(&key.as_str()) {
                // `#[trace_fn(name = ..)]` names the span: that is `span_name`.
                let nearest = match (flavor, key.as_str()) {
                    (Flavor::Function, "name") => Some("span_name"),
                    _ => suggest::nearest(&key, valid),
                };
                let hint = match nearest {
                    Some(s) => {
                        // `modle = ..` is `model = ..` misspelled: no "needs `model`" on top.
                        suggested.insert(s);
                        format!("did you mean `{s}`? ")
                    }
                    None => String::new(),
                };
                push(syn::Error::new(
                    name.span(),
                    format!(
                        "unknown argument `{key}` for #[{}]; {hint}valid arguments: {}",
                        flavor.name(),
                        valid.join(", ")
                    ),
                ));
                continue;
            }
            if !seen.insert(key.clone()) {
                push(syn::Error::new(name.span(), format!("duplicate argument `{key}`: give it once")));
                continue;
            }
            match (key.as_str(), arg) {
                ("fields", Raw::Fields(_, fields)) => args.fields.extend(fields),
                ("fields", _) => push(syn::Error::new(
                    name.span(),
                    "`fields` takes a parenthesised list: `fields(session.id = id, audio.channels = 1)`",
                )),
                (_, Raw::Bare(_)) => push(syn::Error::new(
                    name.span(),
                    format!("argument `{key}` needs a value: `{key} = ...`"),
                )),
                (_, Raw::Fields(..)) => push(syn::Error::new(
                    name.span(),
                    format!("argument `{key}` takes a value, `{key} = ...`, not a list"),
                )),
                ("span_name", Raw::Value(_, value)) => match value {
                    Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => args.span_name = Some(s),
                    other => push(syn::Error::new_spanned(other, "`span_name` must be a string literal")),
                },
                ("usage", Raw::Value(_, value)) => match value {
                    Expr::Path(p) if p.qself.is_none() => args.usage = Some(p.path),
                    other => push(syn::Error::new_spanned(
                        other,
                        "`usage` takes the path of a function `fn(&T) -> Usage`, e.g. `usage = openai_usage`",
                    )),
                },
                ("input", Raw::Value(_, value)) => args.input = Some(value),
                ("output", Raw::Value(_, value)) => match value {
                    Expr::Path(p) if p.qself.is_none() => args.output = Some(p.path),
                    other => push(syn::Error::new_spanned(
                        other,
                        "`output` takes the path of a function `fn(&T) -> M` giving the output messages \
                         (`M`: a `&str`, `String`, `Vec<Message>`, ...), e.g. `output = String::as_str`",
                    )),
                },
                (_, Raw::Value(name, value)) => args.values.push((key, name, value)),
            }
        }
        let missing: Vec<String> = flavor
            .required()
            .iter()
            .filter(|r| !seen.contains(**r) && !suggested.contains(*r))
            .map(|r| format!("`{r} = ...`"))
            .collect();
        if !missing.is_empty() {
            push(syn::Error::new(
                Span::call_site(),
                format!("#[{}] needs {}", flavor.name(), missing.join(" and ")),
            ));
        }
        match errors {
            Some(e) => Err(e),
            None => Ok(args),
        }
    }
}
