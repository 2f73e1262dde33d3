//! The macros of [`trace-runtime`](https://docs.rs/trace-runtime): `#[trace_llm]`,
//! `#[trace_agent]`, `#[trace_tool]`, `#[trace_fn]`, `#[trace_pipeline]`, `#[trace_connection]`,
//! `trace!` and `define_keys!`.
//!
//! Depend on `trace-runtime`, which re-exports them; their documentation, with examples and
//! expansions, lives there. This crate only parses, validates and expands: generated code calls
//! `::trace_runtime::__private`.

mod args;
mod block;
#[cfg(test)]
mod doc_expansions;
mod expand;
mod fields;
mod keys;
mod suggest;

use proc_macro::TokenStream;
use quote::quote;

use args::{Args, Flavor};

/// An LLM call as an OpenTelemetry GenAI client span. See `trace_runtime::trace_llm`.
#[proc_macro_attribute]
pub fn trace_llm(args: TokenStream, item: TokenStream) -> TokenStream {
    traced(Flavor::Llm, args.into(), item.into()).into()
}

/// An agent invocation as an OpenTelemetry GenAI `invoke_agent` span. See
/// `trace_runtime::trace_agent`.
#[proc_macro_attribute]
pub fn trace_agent(args: TokenStream, item: TokenStream) -> TokenStream {
    traced(Flavor::Agent, args.into(), item.into()).into()
}

/// A tool call as an OpenTelemetry GenAI `execute_tool` span. See `trace_runtime::trace_tool`.
#[proc_macro_attribute]
pub fn trace_tool(args: TokenStream, item: TokenStream) -> TokenStream {
    traced(Flavor::Tool, args.into(), item.into()).into()
}

/// A plain span named after the function. See `trace_runtime::trace_fn`.
#[proc_macro_attribute]
pub fn trace_fn(args: TokenStream, item: TokenStream) -> TokenStream {
    traced(Flavor::Function, args.into(), item.into()).into()
}

/// A step of a realtime pipeline. See `trace_runtime::trace_pipeline`.
#[proc_macro_attribute]
pub fn trace_pipeline(args: TokenStream, item: TokenStream) -> TokenStream {
    traced(Flavor::Pipeline, args.into(), item.into()).into()
}

/// Work on a network connection. See `trace_runtime::trace_connection`.
#[proc_macro_attribute]
pub fn trace_connection(args: TokenStream, item: TokenStream) -> TokenStream {
    traced(Flavor::Connection, args.into(), item.into()).into()
}

/// A traced block. See `trace_runtime::trace!`.
#[proc_macro]
pub fn trace(input: TokenStream) -> TokenStream {
    trace_block(input.into()).into()
}

/// Typed attribute keys. See `trace_runtime::define_keys!`.
#[proc_macro]
pub fn define_keys(input: TokenStream) -> TokenStream {
    keys_of(input.into()).into()
}

// The expansions on `proc_macro2` tokens, so the unit tests (`doc_expansions`) run exactly the
// code the compiler does.

fn trace_block(input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    match syn::parse2::<block::TraceBlock>(input) {
        Ok(block) => block::expand(block),
        Err(e) => e.to_compile_error(),
    }
}

fn keys_of(input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    match syn::parse2::<keys::Keys>(input) {
        Ok(keys) => keys::expand(keys),
        Err(e) => e.to_compile_error(),
    }
}

fn traced(
    flavor: Flavor,
    args: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    let function = match syn::parse2::<syn::ItemFn>(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            // Not a function with a body: say so at the item, and hand the item back untouched so
            // one mistake does not cascade into "cannot find function" errors.
            let message = match syn::parse2::<syn::Item>(item.clone()) {
                Ok(syn::Item::Verbatim(_)) | Err(_) => {
                    format!("#[{}] can only be applied to functions with a body", flavor.name())
                }
                Ok(_) => format!("#[{}] can only be applied to functions", flavor.name()),
            };
            let error = syn::Error::new_spanned(first_tokens(&item), message).to_compile_error();
            return quote!(#error #item);
        }
    };
    match Args::parse(flavor, args) {
        Ok(args) => expand::traced_fn(args, function),
        Err(e) => {
            // The function as written: its own errors still show, and nothing cascades from it,
            // not even "unused variable" for a parameter only the arguments use.
            let error = e.to_compile_error();
            quote!(#error #[allow(unused_variables)] #function)
        }
    }
}

/// The item's tokens up to its name, so the error underlines `struct Foo`, not the whole body.
fn first_tokens(item: &proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let mut out = proc_macro2::TokenStream::new();
    for (i, token) in item.clone().into_iter().enumerate() {
        let is_group = matches!(token, proc_macro2::TokenTree::Group(_));
        if is_group && i > 0 {
            break;
        }
        out.extend([token]);
    }
    out
}
