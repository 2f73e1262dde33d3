//! `define_keys!`: typed attribute keys as a trait (for the macros' value checks) and a const (for
//! `span::set`) of the same name, with diagnostics that name the key.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Ident, LitStr, Token, Type, Visibility, braced};

pub(crate) struct Keys(Vec<Item>);

enum Item {
    Module { attrs: Vec<Attribute>, vis: Visibility, name: Ident, items: Vec<Item> },
    Key { attrs: Vec<Attribute>, name: Ident, ty: Type, wire: Option<LitStr>, associated: bool },
}

impl Parse for Keys {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        parse_items(input).map(Keys)
    }
}

fn parse_items(input: ParseStream) -> syn::Result<Vec<Item>> {
    let mut items = Vec::new();
    while !input.is_empty() {
        let mut attrs = input.call(Attribute::parse_outer)?;
        if input.peek(Token![pub]) || input.peek(Token![mod]) {
            let vis: Visibility = input.parse()?;
            input.parse::<Token![mod]>()?;
            let name: Ident = input.parse()?;
            let content;
            braced!(content in input);
            items.push(Item::Module { attrs, vis, name, items: parse_items(&content)? });
        } else {
            let name = input.call(Ident::parse_any)?;
            input.parse::<Token![:]>()?;
            let ty: Type = input.parse()?;
            let wire = if input.peek(Token![=]) {
                input.parse::<Token![=]>()?;
                Some(input.parse()?)
            } else {
                None
            };
            if !input.is_empty() {
                if input.peek(Token![;]) {
                    input.parse::<Token![;]>()?;
                } else {
                    input.parse::<Token![,]>()?;
                }
            }
            // `#[associated]`: carried to every span below the one it is set on.
            let before = attrs.len();
            attrs.retain(|a| !a.path().is_ident("associated"));
            let associated = attrs.len() != before;
            items.push(Item::Key { attrs, name, ty, wire, associated });
        }
    }
    Ok(items)
}

/// The value class of a key type: the trait its values implement, the `Key<T>` parameter, and
/// the words of its error messages.
struct Class {
    value_trait: TokenStream,
    key_type: TokenStream,
    expects: &'static str,
    accepted: &'static str,
    /// Integer literals under the key are floats (`FloatValue` takes integers up to 32 bits).
    float: bool,
}

fn class(ty: &Type) -> syn::Result<Class> {
    let text = quote!(#ty).to_string().replace(' ', "");
    let private = quote!(::trace_runtime::__private);
    let class = match text.as_str() {
        "String" | "str" | "&str" => Class {
            value_trait: quote!(#private::StrValue),
            key_type: quote!(::std::string::String),
            expects: "a string",
            accepted: "accepted: `&str`, `String`, `&String`, `Box<str>`, `Arc<str>`, `Cow<str>`",
            float: false,
        },
        "i64" => Class {
            value_trait: quote!(#private::IntValue),
            key_type: quote!(i64),
            expects: "an integer (`i64`)",
            accepted: "accepted: any integer type, by value or by reference",
            float: false,
        },
        "f64" => Class {
            value_trait: quote!(#private::FloatValue),
            key_type: quote!(f64),
            expects: "a number (`f64`)",
            accepted: "accepted: `f64`, `f32`, and integers up to 32 bits",
            float: true,
        },
        "bool" => Class {
            value_trait: quote!(#private::BoolValue),
            key_type: quote!(bool),
            expects: "a `bool`",
            accepted: "accepted: `bool`",
            float: false,
        },
        "Vec<String>" | "[String]" | "[&str]" => Class {
            value_trait: quote!(#private::StrListValue),
            key_type: quote!(::std::vec::Vec<::std::string::String>),
            expects: "a list of strings",
            accepted: "accepted: slices, arrays and `Vec`s of strings",
            float: false,
        },
        _ => {
            return Err(syn::Error::new_spanned(
                ty,
                format!("unsupported key type `{text}`: use String, i64, f64, bool or Vec<String>"),
            ));
        }
    };
    Ok(class)
}

pub(crate) fn expand(keys: Keys) -> TokenStream {
    let mut errors = TokenStream::new();
    let out = items(&keys.0, &[], &mut errors);
    quote!(#out #errors)
}

fn items(list: &[Item], path: &[String], errors: &mut TokenStream) -> TokenStream {
    list.iter()
        .map(|item| match item {
            Item::Module { attrs, vis, name, items: inner } => {
                let mut path = path.to_vec();
                path.push(name.unraw().to_string());
                let body = items(inner, &path, errors);
                quote! {
                    #(#attrs)*
                    #[allow(non_camel_case_types, non_upper_case_globals)]
                    #vis mod #name {
                        #body
                    }
                }
            }
            Item::Key { attrs, name, ty, wire, associated } => match class(ty) {
                Ok(class) => key(attrs, name, &class, wire, path, *associated),
                Err(e) => {
                    errors.extend(e.to_compile_error());
                    TokenStream::new()
                }
            },
        })
        .collect()
}

fn key(
    attrs: &[Attribute],
    name: &Ident,
    class: &Class,
    wire: &Option<LitStr>,
    path: &[String],
    associated: bool,
) -> TokenStream {
    let wire = wire.as_ref().map(LitStr::value).unwrap_or_else(|| {
        let mut parts = path.to_vec();
        parts.push(name.unraw().to_string());
        parts.join(".")
    });
    let Class { value_trait, key_type, expects, accepted, float } = class;
    let message = format!("`{{Self}}` is not a valid value for trace key `{wire}`");
    let label = format!("`{wire}` expects {expects}");
    let doc = format!("Wire name `{wire}`; takes {expects}.");
    let check_doc = format!("Checks values given to `{wire}` in macro `fields(...)`.");
    let private = quote!(::trace_runtime::__private);
    // An association key's attribute notes itself for the span being started, which then
    // carries it down (`span::association`); other keys cost nothing more.
    let (constructor, make_attr) = match associated {
        true => (quote!(associated), quote!(#private::associated_attr)),
        false => (quote!(new), quote!(#private::Attr::new)),
    };
    let doc = match associated {
        true => format!("{doc} Carried to every span below the one it is set on."),
        false => doc,
    };
    quote! {
        #(#attrs)*
        #[doc = ""]
        #[doc = #doc]
        #[allow(non_upper_case_globals)]
        pub const #name: ::trace_runtime::keys::Key<#key_type> = ::trace_runtime::keys::Key::#constructor(#wire);

        #[doc = #check_doc]
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #[diagnostic::on_unimplemented(message = #message, label = #label, note = #accepted)]
        pub trait #name {
            #[doc(hidden)]
            fn __attr(self) -> ::trace_runtime::__private::Attr;

            /// The key as a literal value's constant attribute names it,
            /// `<::trace_runtime::__private::ConstProbe as key>::__KEY` (the value is checked by
            /// the `__attr` or `__static_attr` call beside it).
            #[doc(hidden)]
            const __KEY: ::trace_runtime::__private::ConstKey = ::trace_runtime::__private::ConstKey {
                name: #wire,
                associated: #associated,
                float: #float,
            };

            /// A string literal under this key, stored without a copy; called as
            /// `<&'static str as key>::__static_attr(..)`, which checks that the key takes strings.
            #[doc(hidden)]
            #[inline(always)]
            fn __static_attr(__trace_value: &'static str) -> ::trace_runtime::__private::Attr
            where
                Self: Sized,
            {
                #make_attr(#wire, ::trace_runtime::__private::AttrValue::Static(__trace_value))
            }
        }

        #[diagnostic::do_not_recommend]
        impl<V: #value_trait> #name for V {
            #[inline(always)]
            fn __attr(self) -> ::trace_runtime::__private::Attr {
                #make_attr(#wire, <V as #value_trait>::into_value(self))
            }
        }
    }
}
