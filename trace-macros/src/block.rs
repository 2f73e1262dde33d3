//! `trace!(NAME, key = value, ..., { block })` and its `async` form.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::visit::Visit;
use syn::{Block, Expr, ExprAsync, Token};

use crate::expand::SpanStart;
use crate::fields::{Field, FieldKey, attr_expr};

pub(crate) struct TraceBlock {
    name: Expr,
    fields: Vec<Field>,
    body: Body,
}

enum Body {
    Block(Block),
    Async(ExprAsync),
}

impl Parse for TraceBlock {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(
                input.error("trace! needs a name and a block: `trace!(\"turn\", session.id = id, { ... })`")
            );
        }
        let name: Expr = input.parse()?;
        let mut fields: Vec<Field> = Vec::new();
        loop {
            if input.is_empty() || (input.peek(Token![,]) && input.peek2(syn::parse::End)) {
                // `trace!("turn", session.id = id)`: reported at the last argument, not the call.
                let message =
                    "trace! needs the traced code after this: a `{ ... }` block, or `async { ... }`";
                return Err(match fields.last() {
                    Some(field) => syn::Error::new_spanned(&field.value, message),
                    None => syn::Error::new_spanned(&name, message),
                });
            }
            input.parse::<Token![,]>()?;
            if input.peek(syn::token::Brace) {
                let body = Body::Block(input.parse()?);
                input.parse::<Option<Token![,]>>()?;
                return end(input, TraceBlock { name, fields, body });
            }
            if input.peek(Token![async]) {
                let body = Body::Async(input.parse()?);
                input.parse::<Option<Token![,]>>()?;
                return end(input, TraceBlock { name, fields, body });
            }
            if !starts_field(input) {
                // `trace!("turn", 40 + 2)`: code where a field or the block should be.
                let message = "trace! takes the traced code in a block: `{ ... }`, or `async { ... }`";
                return Err(match input.fork().parse::<Expr>() {
                    Ok(code) => syn::Error::new_spanned(code, message),
                    Err(_) => input.error(message),
                });
            }
            fields.push(input.parse()?);
        }
    }
}

/// Whether the input continues with `key = value` (or a key without its value, which `Field`
/// reports), rather than with code.
fn starts_field(input: ParseStream) -> bool {
    let fork = input.fork();
    fork.parse::<FieldKey>().is_ok()
        && ((fork.peek(Token![=]) && !fork.peek(Token![==])) || fork.peek(Token![,]) || fork.is_empty())
}

fn end(input: ParseStream, block: TraceBlock) -> syn::Result<TraceBlock> {
    if input.is_empty() {
        Ok(block)
    } else {
        Err(input.error("the traced block must be the last argument of trace!"))
    }
}

/// A non-literal name as a `Cow<'static, str>`, through a trait of the expansion's own so that
/// a name of the wrong type is one short error at the name, not a bound of the runtime.
fn dynamic_name(name: &Expr) -> Expr {
    let span = syn::spanned::Spanned::span(name);
    let bound = syn::Ident::new("__trace_name", span);
    let convert = quote_spanned!(span=> SpanName::into_span_name(#bound));
    syn::parse_quote! {
        match #name {
            #bound => {
                #[diagnostic::on_unimplemented(
                    message = "the name of a trace! span must be a string, not `{Self}`",
                    label = "expected `&'static str` or `String`",
                    note = "for a name built at run time, use `format!(..)`",
                )]
                trait SpanName {
                    fn into_span_name(self) -> ::std::borrow::Cow<'static, str>;
                }
                #[diagnostic::do_not_recommend]
                impl SpanName for &'static str {
                    fn into_span_name(self) -> ::std::borrow::Cow<'static, str> {
                        ::std::borrow::Cow::Borrowed(self)
                    }
                }
                #[diagnostic::do_not_recommend]
                impl SpanName for ::std::string::String {
                    fn into_span_name(self) -> ::std::borrow::Cow<'static, str> {
                        ::std::borrow::Cow::Owned(self)
                    }
                }
                #[diagnostic::do_not_recommend]
                impl SpanName for ::std::borrow::Cow<'static, str> {
                    fn into_span_name(self) -> ::std::borrow::Cow<'static, str> {
                        self
                    }
                }
                #convert
            }
        }
    }
}

pub(crate) fn expand(block: TraceBlock) -> TokenStream {
    let (name, dynamic_name) = match &block.name {
        Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => (quote!(#s), None),
        other => (quote!(""), Some(dynamic_name(other))),
    };
    let constructor = match block.body {
        Body::Block(_) => quote!(new),
        Body::Async(_) => quote!(new_deferred),
    };
    let span_start = SpanStart {
        name,
        kind: quote!(Internal),
        naming: quote!(Static),
        function: String::new(),
        attrs: block.fields.iter().map(|f| attr_expr(&f.key, &f.value)).collect(),
        dynamic_name,
        constructor,
    };
    match block.body {
        // The statements are the tail of the expansion: the block's type is inferred from its
        // context exactly as without the macro (`let v: Vec<_> = trace!(.., { it.collect() })`),
        // and a diverging block stays diverging without "unreachable" warnings.
        Body::Block(body) => {
            let stmts = &body.stmts;
            let start = span_start.scoped_tokens();
            // The code is still expanded, so the block's type is known and nothing cascades.
            let await_error = first_await(stmts).map(|at| {
                syn::Error::new(
                    at,
                    "`.await` inside a sync `trace!` block: the span would stay current on this \
                     thread while the task is suspended; trace the future instead: \
                     `trace!(NAME, .., async { .. }).await`",
                )
                .to_compile_error()
            });
            quote! {{
                #await_error
                #start
                #(#stmts)*
            }}
        }
        Body::Async(fut) => {
            let start = span_start.tokens();
            quote! {{
                #start
                ::trace_runtime::__private::Instrumented::new(__trace_span, #fut)
            }}
        }
    }
}

/// Where the block's own code awaits: an `.await` outside any `async` block, closure or item
/// nested in it, including inside macro calls (`.await` tokens not in an `async { .. }` group).
fn first_await(stmts: &[syn::Stmt]) -> Option<Span> {
    struct Finder(Option<Span>);
    impl Visit<'_> for Finder {
        fn visit_expr_await(&mut self, e: &syn::ExprAwait) {
            self.0.get_or_insert(e.await_token.span);
        }
        fn visit_expr_async(&mut self, _: &syn::ExprAsync) {}
        fn visit_expr_closure(&mut self, _: &syn::ExprClosure) {}
        fn visit_item(&mut self, _: &syn::Item) {}
        fn visit_macro(&mut self, m: &syn::Macro) {
            if self.0.is_none() {
                self.0 = await_in_tokens(m.tokens.clone());
            }
        }
    }
    let mut finder = Finder(None);
    for stmt in stmts {
        finder.visit_stmt(stmt);
    }
    finder.0
}

fn await_in_tokens(tokens: TokenStream) -> Option<Span> {
    let mut previous: Option<TokenTree> = None;
    let mut after_async = false;
    for token in tokens {
        match &token {
            TokenTree::Ident(ident) if ident == "await" => {
                if matches!(&previous, Some(TokenTree::Punct(p)) if p.as_char() == '.') {
                    return Some(ident.span());
                }
            }
            TokenTree::Group(group) if !after_async => {
                if let Some(at) = await_in_tokens(group.stream()) {
                    return Some(at);
                }
            }
            _ => {}
        }
        // `async { .. }` and `async move { .. }` are futures of their own.
        after_async = match &token {
            TokenTree::Ident(ident) => ident == "async" || (ident == "move" && after_async),
            _ => false,
        };
        previous = Some(token);
    }
    None
}
