//! Code generation for traced functions.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::visit::Visit;
use syn::{Expr, ItemFn, LitStr, ReturnType, Type};

use crate::args::{Args, Flavor};
use crate::fields::{AttrTokens, FieldKey, attr_expr};

/// The static metadata and the started span, shared by functions and `trace!` blocks.
pub(crate) struct SpanStart {
    pub(crate) name: TokenStream,
    pub(crate) kind: TokenStream,
    pub(crate) naming: TokenStream,
    pub(crate) function: String,
    pub(crate) attrs: Vec<AttrTokens>,
    pub(crate) dynamic_name: Option<Expr>,
    /// `new_deferred` for `trace!` futures, `new` otherwise.
    pub(crate) constructor: TokenStream,
}

/// Literal attributes a call site builds at compile time at most (`SpanMeta::associated` is a
/// bit mask); the rest are recorded as run-time values.
const MAX_CONST_ATTRS: usize = 64;

impl SpanStart {
    /// `static __TRACE_META` and `let mut __trace_span`, attributes set only when recording.
    pub(crate) fn tokens(&self) -> TokenStream {
        let meta = self.meta();
        let constructor = &self.constructor;
        let record = self.record_attrs(quote!(__trace_span));
        quote! {
            #meta
            let mut __trace_span = ::trace_runtime::__private::Span::#constructor(&__TRACE_META);
            #record
        }
    }

    /// For sync spans: the record built in place in a slot the guard borrows (never moved),
    /// the guard entered.
    pub(crate) fn scoped_tokens(&self) -> TokenStream {
        let meta = self.meta();
        let record = self.record_attrs(quote!(__trace_guard));
        quote! {
            #meta
            let mut __trace_slot = ::trace_runtime::__private::RecordSlot::new();
            let mut __trace_guard =
                ::trace_runtime::__private::ScopedSpan::new_in(&__TRACE_META, &mut __trace_slot);
            #record
            __trace_guard.enter();
        }
    }

    /// The attributes with run-time values (and a run-time name), set when `span` records.
    fn record_attrs(&self, span: TokenStream) -> TokenStream {
        let set_name = self.dynamic_name.as_ref().map(|n| quote!(#span.set_name(#n);));
        let runtime: Vec<&TokenStream> = self.runtime_attrs().collect();
        let set_attrs = (!runtime.is_empty()).then(|| quote!(#span.attrs([#(#runtime),*]);));
        if set_name.is_none() && set_attrs.is_none() {
            return TokenStream::new();
        }
        quote! {
            if #span.is_recording() {
                #set_name
                #set_attrs
            }
        }
    }

    /// The attributes built at compile time: the first `MAX_CONST_ATTRS` literal ones.
    fn const_attrs(&self) -> impl Iterator<Item = &(TokenStream, TokenStream)> {
        self.attrs.iter().filter_map(|a| a.constant.as_ref()).take(MAX_CONST_ATTRS)
    }

    pub(crate) fn runtime_attrs(&self) -> impl Iterator<Item = &TokenStream> {
        let mut constants = 0;
        self.attrs.iter().filter_map(move |a| match &a.constant {
            Some(_) if constants < MAX_CONST_ATTRS => {
                constants += 1;
                None
            }
            _ => Some(&a.runtime),
        })
    }

    pub(crate) fn meta(&self) -> TokenStream {
        let SpanStart { name, kind, naming, function, .. } = self;
        // `code.function.name` is built here, as one static string, so exporting it costs no
        // formatting nor allocation.
        let function = match function.is_empty() {
            true => quote!(""),
            false => quote!(::core::concat!(::core::module_path!(), "::", #function)),
        };
        let private = quote!(::trace_runtime::__private);
        let (keys, values): (Vec<_>, Vec<_>) = self.const_attrs().cloned().unzip();
        // Literal arguments become attributes here, once: a span records none of them.
        let (consts, attrs, associated) = match keys.len() {
            0 => (quote!(), quote!(&[]), quote!(0)),
            n => {
                let index = (0..n).map(proc_macro2::Literal::usize_unsuffixed);
                let n = proc_macro2::Literal::usize_unsuffixed(n);
                (
                    quote! {
                        const __TRACE_KEYS: [#private::ConstKey; #n] = [#(#keys),*];
                        static __TRACE_ATTRS: [#private::Attr; #n] =
                            [#(#private::const_attr(__TRACE_KEYS[#index], #values)),*];
                    },
                    quote!(&__TRACE_ATTRS),
                    quote!(#private::associated_mask(&__TRACE_KEYS)),
                )
            }
        };
        quote! {
            #consts
            static __TRACE_META: #private::SpanMeta = #private::SpanMeta {
                name: #name,
                kind: #private::Kind::#kind,
                naming: #private::Naming::#naming,
                function: #function,
                file: ::core::file!(),
                line: ::core::line!(),
                attrs: #attrs,
                associated: #associated,
            };
        }
    }
}

/// Brings the outcome and usage recorders into scope (autoref specialisation needs the traits).
pub(crate) fn recorder_traits() -> TokenStream {
    quote! {
        #[allow(unused_imports)]
        use ::trace_runtime::__private::{
            OutputOfOk as _, OutputOfValue as _, RecordDebugErr as _, RecordDisplayErr as _, RecordNothing as _,
            UsageOfOk as _, UsageOfValue as _,
        };
    }
}

pub(crate) fn traced_fn(args: Args, mut item: ItemFn) -> TokenStream {
    let fn_name = item.sig.ident.to_string();
    let span_start = span_start(&args, &fn_name);
    let recorders = recorder_traits();
    let usage = args.usage.as_ref().map(|path| {
        // Called through a closure: a function of the wrong type is then "expected `u64`, found
        // `&Reply`" at the path, not a signature mismatch against a bound of `__private`.
        let span = path_span(path);
        let value = proc_macro2::Ident::new("__trace_usage_of", span);
        quote_spanned! {span=>
            #[allow(clippy::redundant_closure)]
            let () = (&::trace_runtime::__private::Outcome(&__trace_ret)).__trace_usage(|#value| #path(#value));
        }
    });
    // A failed GenAI call also gets `error.type`.
    let error_type = args.flavor.is_gen_ai().then(|| {
        quote! {
            {
                #[allow(unused_imports)]
                use ::trace_runtime::__private::{ErrorTypeCustom as _, ErrorTypeName as _, ErrorTypeNone as _};
                (&&::trace_runtime::__private::Outcome(&__trace_ret)).__trace_error_type();
            }
        }
    });
    // IO capture: nothing is evaluated unless `TRACE_CAPTURE_IO` is on.
    let tool_io = matches!(args.flavor, Flavor::Tool);
    let tool_arguments = tool_io.then(|| tool_arguments(&item.sig));
    let tool_arguments_made = tool_io.then(|| tool_arguments_made(&item.sig));
    let tool_arguments_recorded = tool_io.then(|| {
        quote! {
            if let ::core::option::Option::Some(__trace_arguments) = __trace_arguments {
                __trace_arguments.record();
            }
        }
    });
    let tool_result = tool_io.then(|| {
        quote! {
            if ::trace_runtime::__private::capture_io() {
                #[allow(unused_imports)]
                use ::trace_runtime::__private::{
                    ResultAsDebug as _, ResultAsJson as _, ResultOkAsDebug as _, ResultOkAsJson as _, ResultSkipped as _,
                };
                (&&&&&::trace_runtime::__private::Outcome(&__trace_ret)).__trace_tool_result();
            }
        }
    });
    // `input = EXPR`: written by the sync body where it runs; an async body moves the fn's
    // arguments into its future, so the value is made before (only when the span records and
    // IO capture is on) and recorded once the span is current.
    let io_input = args.input.as_ref().map(|expr| {
        let span = syn::spanned::Spanned::span(expr);
        quote_spanned! {span=>
            if ::trace_runtime::__private::capture_io() {
                ::trace_runtime::__private::record_input(&(#expr));
            }
        }
    });
    let io_input_made = args.input.as_ref().map(|expr| {
        let span = syn::spanned::Spanned::span(expr);
        quote_spanned! {span=>
            let __trace_input = (__trace_span.is_recording() && ::trace_runtime::__private::capture_io())
                .then(|| ::trace_runtime::__private::input_messages(&(#expr)));
        }
    });
    let io_input_recorded = args.input.is_some().then(|| {
        quote! {
            if let ::core::option::Option::Some(__trace_input) = __trace_input {
                ::trace_runtime::__private::record_input_messages(__trace_input);
            }
        }
    });
    let io_output = args.output.as_ref().map(|path| {
        let span = path_span(path);
        let value = proc_macro2::Ident::new("__trace_output_of", span);
        quote_spanned! {span=>
            if ::trace_runtime::__private::capture_io() {
                (&::trace_runtime::__private::Outcome(&__trace_ret))
                    .__trace_output(|#value| ::trace_runtime::__private::record_output(#path(#value)));
            }
        }
    });
    // What the traced body's return value records (its outcome, usage, IO), then the value.
    let outcome = quote! {
        #recorders
        (&&::trace_runtime::__private::Outcome(&__trace_ret)).__trace_outcome();
        #error_type
        #usage
        #io_output
        #tool_result
        __trace_ret
    };
    // With nothing to evaluate from the arguments before the body takes them (every attribute
    // a literal, no IO capture), the body can be made first, and the span only when tracing is on.
    let plain_first = span_start.runtime_attrs().next().is_none() && io_input.is_none() && !tool_io;
    let stmts = &item.block.stmts;
    let output = match &item.sig.output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => Some(ty.as_ref().clone()),
    };
    let opaque = output.as_ref().is_some_and(contains_impl_trait);
    let body = if item.sig.asyncness.is_some() {
        // A fake return edge types the inner block as the fn's return type, so `?` infers and
        // type errors in the body stay at the user's line.
        let fake_return = match (&output, opaque) {
            (Some(ty), false) => quote_spanned! {ty_span(ty)=>
                #[allow(unreachable_code, clippy::diverging_sub_expression, clippy::empty_loop, clippy::needless_return)]
                if false {
                    let __trace_fake_return: #ty = loop {};
                    return __trace_fake_return;
                }
            },
            _ => quote!(),
        };
        let ret = match (&output, opaque) {
            (Some(ty), false) => quote!(: #ty),
            _ => quote!(),
        };
        let outcome = quote!(move |__trace_ret #ret| { #outcome });
        let fast = plain_first && returns_future_plainly(&item);
        // As a `fn -> impl Future`, the body keeps every argument until it ends, as an async fn's
        // future does (an async fn kept as one holds them in its own future).
        let keep = item.sig.inputs.iter().filter(|_| fast).filter_map(|input| match input {
            syn::FnArg::Receiver(_) => Some(quote!(let _ = &self;)),
            syn::FnArg::Typed(typed) => match &*typed.pat {
                syn::Pat::Ident(binding) => {
                    let ident = &binding.ident;
                    Some(quote!(let _ = &#ident;))
                }
                _ => None,
            },
        });
        let body = quote! {
            let __trace_body = async move {
                #(#keep)*
                #fake_return
                #(#stmts)*
            };
        };
        if fast {
            // The future is the traced one itself, made and returned by the call, its poll
            // inline (see `TracedFn`).
            let meta = span_start.meta();
            let output = output.map_or_else(|| quote!(()), |ty| quote!(#ty));
            item.sig.asyncness = None;
            item.sig.output = syn::parse_quote!(-> impl ::core::future::Future<Output = #output>);
            *item.block = syn::parse_quote!({
                #body
                #meta
                ::trace_runtime::__private::TracedFn::new(&__TRACE_META, __trace_body, #outcome)
            });
            return quote!(#item);
        }
        let start = span_start.tokens();
        // The span is made in a block that ends before the `.await`: a local of the fn's own
        // body would keep its room in the future across the await even once moved, doubling
        // the future's size (720 bytes instead of 384 in the span_overhead bench) and every copy.
        // An async fn kept as one: its future awaits the traced one.
        let make = match plain_first {
            // The span is made at the traced future's first poll, if recording is on then.
            true => {
                let meta = span_start.meta();
                quote! {
                    let __trace_future;
                    {
                        #body
                        #meta
                        __trace_future = ::trace_runtime::__private::TracedFn::new(
                            &__TRACE_META,
                            __trace_body,
                            #outcome,
                        );
                    }
                }
            }
            // The span is made first, from the arguments the body then takes. A span that
            // records nothing (recording off, or an unsampled parent) leaves the plain body: it
            // pays neither the traced future's work nor its outcome recorders.
            false => quote! {
                let __trace_future;
                {
                    #start
                    #io_input_made
                    #tool_arguments_made
                    #body
                    if __trace_span.is_inert() {
                        ::core::mem::drop(__trace_span);
                        return __trace_body.await;
                    }
                    __trace_future = ::trace_runtime::__private::TracedFn::started(
                        __trace_span,
                        async move {
                            #io_input_recorded
                            #tool_arguments_recorded
                            __trace_body.await
                        },
                        #outcome,
                    );
                }
            },
        };
        quote! {
            #make
            __trace_future.await
        }
    } else {
        let ret = match (&output, opaque) {
            (Some(ty), false) => quote!(-> #ty),
            _ => quote!(),
        };
        let start = span_start.scoped_tokens();
        // The body is made first (see `plain_first`) and runs at once when tracing is off; the
        // traced path is out of line, so the disabled one is a load, a branch and the body,
        // with none of the span's stack frame.
        let traced = |call: TokenStream| {
            quote! {
                #start
                #io_input
                #tool_arguments
                #[allow(clippy::redundant_closure_call)]
                let __trace_ret = #call;
                #outcome
            }
        };
        match plain_first {
            true => {
                let traced = traced(quote!(::trace_runtime::__private::call_once(__trace_body)));
                quote! {
                    let __trace_body = move || #ret { #(#stmts)* };
                    if !::trace_runtime::__private::recording_on() {
                        return ::trace_runtime::__private::call_once(__trace_body);
                    }
                    ::trace_runtime::__private::run_traced(move || #ret { #traced })
                }
            }
            false => traced(quote!(::trace_runtime::__private::call_once(move || #ret { #(#stmts)* }))),
        }
    };
    *item.block = syn::parse_quote!({ #body });
    quote!(#item)
}

/// Whether an async fn can become a `fn -> impl Future` with the same meaning: every argument
/// a plain binding (kept whole by the body, as the async fn's future keeps it), and no other
/// attribute that needs to see an `async fn` (`#[tokio::main]`, `#[async_trait]`'s methods).
/// The `impl Future` is written by this crate, so it captures every lifetime in scope (the
/// 2024 edition's rule, whatever the caller's edition), as the async fn's future does.
fn returns_future_plainly(item: &ItemFn) -> bool {
    const INERT: [&str; 8] = ["inline", "doc", "allow", "warn", "deny", "expect", "must_use", "cold"];
    let plain_args = item.sig.inputs.iter().all(|input| match input {
        syn::FnArg::Receiver(_) => true,
        syn::FnArg::Typed(typed) => {
            matches!(&*typed.pat, syn::Pat::Ident(ident) if ident.by_ref.is_none() && ident.subpat.is_none())
        }
    });
    plain_args && item.attrs.iter().all(|attr| INERT.iter().any(|name| attr.path().is_ident(name)))
}

fn span_start(args: &Args, fn_name: &str) -> SpanStart {
    let mut attrs = Vec::new();
    let builtin = |attrs: &mut Vec<AttrTokens>, dotted: &str, arg: &str| {
        if let Some((ident, value)) = args.get(arg) {
            attrs.push(attr_expr(&FieldKey::builtin(dotted, ident.span()), value));
        }
    };
    let (kind, naming, name) = match args.flavor {
        Flavor::Llm => {
            let operation = args.get("operation").map(|(_, e)| e.clone());
            match &operation {
                Some(_) => builtin(&mut attrs, "gen_ai.operation.name", "operation"),
                None => attrs.push(attr_expr(
                    &FieldKey::builtin("gen_ai.operation.name", Span::call_site()),
                    &syn::parse_quote!("chat"),
                )),
            }
            builtin(&mut attrs, "gen_ai.provider.name", "provider");
            builtin(&mut attrs, "gen_ai.request.model", "model");
            let literal = |e: Option<&Expr>| match e {
                Some(Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. })) => Some(s.value()),
                _ => None,
            };
            let op = match &operation {
                None => Some("chat".to_string()),
                Some(e) => literal(Some(e)),
            };
            match (op, literal(args.get("model").map(|(_, e)| e))) {
                (Some(op), Some(model)) => (quote!(Client), quote!(Static), format!("{op} {model}")),
                _ => (quote!(Client), quote!(GenAi), fn_name.to_string()),
            }
        }
        Flavor::Agent => {
            attrs.push(operation_attr("invoke_agent"));
            builtin(&mut attrs, "gen_ai.agent.name", "name");
            builtin(&mut attrs, "gen_ai.agent.id", "id");
            builtin(&mut attrs, "gen_ai.agent.description", "description");
            gen_ai_name("invoke_agent", args.get("name").map(|(_, e)| e), fn_name)
        }
        Flavor::Tool => {
            attrs.push(operation_attr("execute_tool"));
            builtin(&mut attrs, "gen_ai.tool.name", "name");
            builtin(&mut attrs, "gen_ai.tool.call.id", "call_id");
            match args.get("kind") {
                Some(_) => builtin(&mut attrs, "gen_ai.tool.type", "kind"),
                None => attrs.push(attr_expr(
                    &FieldKey::builtin("gen_ai.tool.type", Span::call_site()),
                    &syn::parse_quote!("function"),
                )),
            }
            gen_ai_name("execute_tool", args.get("name").map(|(_, e)| e), fn_name)
        }
        Flavor::Function => (quote!(Internal), quote!(Static), fn_name.to_string()),
        Flavor::Pipeline => {
            builtin(&mut attrs, "pipeline.name", "name");
            builtin(&mut attrs, "pipeline.element", "element");
            (quote!(Internal), quote!(Static), fn_name.to_string())
        }
        Flavor::Connection => {
            builtin(&mut attrs, "connection.id", "id");
            builtin(&mut attrs, "connection.type", "kind");
            builtin(&mut attrs, "connection.state", "state");
            (quote!(Internal), quote!(Static), fn_name.to_string())
        }
    };
    attrs.extend(args.fields.iter().map(|f| attr_expr(&f.key, &f.value)));
    let (naming, name) = match &args.span_name {
        Some(lit) => (quote!(Static), lit.value()),
        None => (naming, name),
    };
    SpanStart {
        name: {
            let name = LitStr::new(&name, Span::call_site());
            quote!(#name)
        },
        kind,
        naming,
        function: fn_name.to_string(),
        attrs,
        dynamic_name: None,
        constructor: quote!(new),
    }
}

/// `gen_ai.operation.name = "{operation}"`.
fn operation_attr(operation: &str) -> AttrTokens {
    let value = LitStr::new(operation, Span::call_site());
    attr_expr(&FieldKey::builtin("gen_ai.operation.name", Span::call_site()), &syn::parse_quote!(#value))
}

/// An agent's or a tool's span name, `"{operation} {name}"`: written out for a literal name, built
/// on the export worker from the span's attributes otherwise.
fn gen_ai_name(operation: &str, name: Option<&Expr>, fn_name: &str) -> (TokenStream, TokenStream, String) {
    match name {
        Some(Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. })) => {
            (quote!(Internal), quote!(Static), format!("{operation} {}", s.value()))
        }
        _ => (quote!(Internal), quote!(GenAi), fn_name.to_string()),
    }
}

/// `gen_ai.tool.call.arguments` of a `#[trace_tool]` fn: its named parameters, each as JSON when
/// it is `Serialize`, as its `Debug` text otherwise, left out when it is neither; recorded only
/// with IO capture on.
fn tool_arguments(sig: &syn::Signature) -> TokenStream {
    let collect = tool_argument_calls(sig);
    quote! {
        if ::trace_runtime::__private::capture_io() {
            #[allow(unused_imports)]
            use ::trace_runtime::__private::{ArgumentAsDebug as _, ArgumentAsJson as _, ArgumentSkipped as _};
            let mut __trace_arguments = ::trace_runtime::__private::ToolArguments::new();
            #(#collect)*
            __trace_arguments.record();
        }
    }
}

/// One `__trace_argument` call per named parameter, into `__trace_arguments`.
fn tool_argument_calls(sig: &syn::Signature) -> Vec<TokenStream> {
    sig.inputs
        .iter()
        .filter_map(|input| match input {
            syn::FnArg::Typed(typed) => match typed.pat.as_ref() {
                syn::Pat::Ident(p) if p.subpat.is_none() => {
                    let ident = &p.ident;
                    let name = LitStr::new(&syn::ext::IdentExt::unraw(ident).to_string(), ident.span());
                    Some(quote! {
                        (&&::trace_runtime::__private::Argument(&#ident)).__trace_argument(#name, &mut __trace_arguments);
                    })
                }
                _ => None,
            },
            syn::FnArg::Receiver(_) => None,
        })
        .collect()
}

/// [`tool_arguments`] for an async fn: made before its body's future takes the parameters, when
/// the span records and IO capture is on; recorded once the span is current.
fn tool_arguments_made(sig: &syn::Signature) -> TokenStream {
    let collect = tool_argument_calls(sig);
    quote! {
        let __trace_arguments = (__trace_span.is_recording() && ::trace_runtime::__private::capture_io()).then(|| {
            #[allow(unused_imports)]
            use ::trace_runtime::__private::{ArgumentAsDebug as _, ArgumentAsJson as _, ArgumentSkipped as _};
            let mut __trace_arguments = ::trace_runtime::__private::ToolArguments::new();
            #(#collect)*
            __trace_arguments
        });
    }
}

fn contains_impl_trait(ty: &Type) -> bool {
    struct Finder(bool);
    impl Visit<'_> for Finder {
        fn visit_type_impl_trait(&mut self, _: &syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut finder = Finder(false);
    finder.visit_type(ty);
    finder.0
}

fn ty_span(ty: &Type) -> Span {
    syn::spanned::Spanned::span(ty)
}

fn path_span(path: &syn::Path) -> Span {
    syn::spanned::Spanned::span(path)
}
