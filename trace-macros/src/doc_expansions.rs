//! The expansions that `trace-runtime`'s macro docs show are the macros' real output.
//!
//! Each one is a pair of doctests in `trace-runtime/src/macros/`: the code a user writes, after a
//! `<!-- expansion-input: NAME -->` marker, and the code the macro turns it into, after
//! `<!-- expansion-output: NAME -->`. Rustdoc compiles and runs both; this test expands the visible
//! lines of the first through the functions the macros call and compares the result, token for
//! token, with the visible lines of the second. Lines hidden with `# ` (imports, set-up, the
//! asserts that the expansion traces what the macro does) are left out of the comparison on both
//! sides. Comments are not tokens, so the shown expansion may explain itself.

use proc_macro2::{Delimiter, Group, Literal, TokenStream, TokenTree};
use quote::quote;

use crate::args::Flavor;

/// The documentation of the re-exported macros, by file.
const DOCS: &[(&str, &str)] = &[
    ("trace-runtime/src/macros/llm.rs", include_str!("../../trace-runtime/src/macros/llm.rs")),
    ("trace-runtime/src/macros/blocks.rs", include_str!("../../trace-runtime/src/macros/blocks.rs")),
    ("trace-runtime/src/macros/agents.rs", include_str!("../../trace-runtime/src/macros/agents.rs")),
    ("trace-runtime/src/macros/realtime.rs", include_str!("../../trace-runtime/src/macros/realtime.rs")),
];

/// Every expansion the docs show: one at least for each macro, and both forms where a macro has
/// a sync and an async one that differ.
const SHOWN: &[&str] = &[
    "trace_llm",
    "trace_llm-async",
    "trace_pipeline",
    "trace_pipeline-async",
    "trace_connection",
    "trace_tool",
    "trace_fn",
    "trace",
    "trace-async",
    "define_keys",
];

/// A fenced block of the docs.
struct Block {
    /// `file:line` of the fence, line 1-based.
    line: String,
    /// The lines rustdoc shows: hidden `# ` lines dropped, `##` unescaped.
    visible: String,
}

/// The doc text of `DOCS`' `///` lines, each with its `file:line`.
fn doc_lines() -> Vec<(String, &'static str)> {
    DOCS.iter()
        .flat_map(|(file, text)| {
            text.lines().enumerate().filter_map(move |(i, line)| {
                let text = line.trim_start().strip_prefix("///")?;
                Some((format!("{file}:{}", i + 1), text.strip_prefix(' ').unwrap_or(text)))
            })
        })
        .collect()
}

/// The fenced block right after each `<!-- expansion-{side}: NAME -->` marker, by name.
fn blocks(side: &str) -> Vec<(String, Block)> {
    let lines = doc_lines();
    let prefix = format!("<!-- expansion-{side}: ");
    let mut found = Vec::new();
    for (at, (line, text)) in lines.iter().enumerate() {
        let Some(name) = text.trim().strip_prefix(&prefix) else { continue };
        let name = name.strip_suffix("-->").unwrap_or_else(|| panic!("{line}: marker without `-->`"));
        let mut rest = lines[at + 1..].iter();
        let (fence_line, fence) = rest.next().unwrap_or_else(|| panic!("{line}: marker at the end"));
        // Compiled and run by rustdoc: not `text`, `ignore`, `no_run` or `compile_fail`.
        assert!(
            matches!(fence.trim(), "```" | "```rust"),
            "{fence_line}: the block after `{}` must open with ```` ``` ```` or ```` ```rust ````, \
             so rustdoc compiles and runs it",
            text.trim()
        );
        let mut visible = String::new();
        let mut closed = false;
        for (_, code) in rest.by_ref() {
            if code.trim() == "```" {
                closed = true;
                break;
            }
            if let Some(shown) = shown_line(code) {
                visible.push_str(shown);
                visible.push('\n');
            }
        }
        assert!(closed, "{fence_line}: unclosed block");
        found.push((name.trim().to_string(), Block { line: fence_line.clone(), visible }));
    }
    found
}

/// A line of a doctest as rustdoc shows it, `None` if hidden (rustdoc's own rule).
fn shown_line(code: &str) -> Option<&str> {
    let trimmed = code.trim();
    if trimmed.starts_with("##") {
        let at = code.find("##").unwrap_or(0);
        Some(&code[at + 1..])
    } else if trimmed.starts_with("# ") || trimmed == "#" {
        None
    } else {
        Some(code)
    }
}

/// `tokens` with every `#[trace_llm(..)] fn`, `#[trace_pipeline(..)] fn`,
/// `#[trace_connection(..)] fn`, `trace!(..)` and `define_keys! { .. }` replaced by its
/// expansion, and how many there were.
fn expand_all(tokens: TokenStream) -> (TokenStream, usize) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = TokenStream::new();
    let mut count = 0;
    let mut i = 0;
    while i < tokens.len() {
        if let Some((flavor, args)) = traced_attribute(&tokens[i..]) {
            // The item is what follows the attribute, up to the body of its `fn`.
            let mut item = TokenStream::new();
            let mut seen_fn = false;
            i += 2;
            loop {
                let token = tokens.get(i).expect("a traced fn has a body").clone();
                i += 1;
                let body =
                    matches!(&token, TokenTree::Group(g) if seen_fn && g.delimiter() == Delimiter::Brace);
                seen_fn |= matches!(&token, TokenTree::Ident(ident) if ident == "fn");
                item.extend([token]);
                if body {
                    break;
                }
            }
            out.extend(crate::traced(flavor, args, item));
            count += 1;
            continue;
        }
        if let [TokenTree::Ident(name), TokenTree::Punct(bang), TokenTree::Group(input), ..] = &tokens[i..]
            && bang.as_char() == '!'
        {
            let expanded = match name.to_string().as_str() {
                "trace" => Some(crate::trace_block(input.stream())),
                "define_keys" => Some(crate::keys_of(input.stream())),
                _ => None,
            };
            if let Some(expanded) = expanded {
                out.extend(expanded);
                count += 1;
                i += 3;
                continue;
            }
        }
        match &tokens[i] {
            TokenTree::Group(group) => {
                let (inner, n) = expand_all(group.stream());
                count += n;
                out.extend([TokenTree::Group(Group::new(group.delimiter(), inner))]);
            }
            other => out.extend([other.clone()]),
        }
        i += 1;
    }
    (out, count)
}

/// `#[trace_llm(ARGS)]` (or another attribute macro) at the start of `tokens`: its flavor and ARGS.
fn traced_attribute(tokens: &[TokenTree]) -> Option<(Flavor, TokenStream)> {
    let [TokenTree::Punct(pound), TokenTree::Group(attr), ..] = tokens else { return None };
    if pound.as_char() != '#' || attr.delimiter() != Delimiter::Bracket {
        return None;
    }
    let inner: Vec<TokenTree> = attr.stream().into_iter().collect();
    let (name, args) = match inner.as_slice() {
        [TokenTree::Ident(name), TokenTree::Group(args)] if args.delimiter() == Delimiter::Parenthesis => {
            (name, args.stream())
        }
        // `#[trace_fn]`, bare.
        [TokenTree::Ident(name)] => (name, TokenStream::new()),
        _ => return None,
    };
    let flavor = match name.to_string().as_str() {
        "trace_llm" => Flavor::Llm,
        "trace_agent" => Flavor::Agent,
        "trace_tool" => Flavor::Tool,
        "trace_fn" => Flavor::Function,
        "trace_pipeline" => Flavor::Pipeline,
        "trace_connection" => Flavor::Connection,
        _ => return None,
    };
    Some((flavor, args))
}

/// Code as one canonical string: parsed as the statements of a block and printed back, so
/// spacing, line breaks and trailing commas (rustfmt's) do not count, with string literals in one
/// form (a `///` comment is a `#[doc = r"..."]` attribute to `quote!` and a `#[doc = "..."]` one
/// when parsed from text).
fn canonical(tokens: TokenStream, what: &str) -> String {
    let block: syn::Block =
        syn::parse2(quote!({ #tokens })).unwrap_or_else(|e| panic!("{what} does not parse: {e}\n{tokens}"));
    fn literals(tokens: TokenStream) -> TokenStream {
        tokens
            .into_iter()
            .map(|token| match token {
                TokenTree::Group(g) => {
                    let mut inner: Vec<TokenTree> = literals(g.stream()).into_iter().collect();
                    if matches!(inner.last(), Some(TokenTree::Punct(p)) if p.as_char() == ',') {
                        inner.pop();
                    }
                    let mut group = Group::new(g.delimiter(), inner.into_iter().collect());
                    group.set_span(g.span());
                    TokenTree::Group(group)
                }
                TokenTree::Literal(lit) => {
                    match syn::parse2::<syn::LitStr>(TokenTree::Literal(lit.clone()).into()) {
                        Ok(s) => TokenTree::Literal(Literal::string(&s.value())),
                        Err(_) => TokenTree::Literal(lit),
                    }
                }
                other => other,
            })
            .collect()
    }
    literals(quote!(#block)).to_string()
}

fn parse(code: &str, what: &str) -> TokenStream {
    code.parse().unwrap_or_else(|e| panic!("{what} does not tokenize: {e:?}"))
}

/// Where `a` and `b` first differ, with some text around it.
fn first_difference(a: &str, b: &str) -> String {
    let at = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    let around = |s: &str| {
        let start = s.floor_char_boundary(at.saturating_sub(120));
        let end = s.ceil_char_boundary((at + 120).min(s.len()));
        s[start..end].to_string()
    };
    format!("at byte {at}:\n  shown:  ...{}...\n  real:   ...{}...", around(a), around(b))
}

#[test]
fn the_docs_show_every_macros_real_expansion() {
    let inputs = blocks("input");
    let outputs = blocks("output");
    fn names(blocks: &[(String, Block)]) -> Vec<&str> {
        let mut names: Vec<&str> = blocks.iter().map(|(n, _)| n.as_str()).collect();
        names.sort_unstable();
        names
    }
    let mut shown = SHOWN.to_vec();
    shown.sort_unstable();
    assert_eq!(names(&inputs), shown, "the `expansion-input` markers of trace-runtime/src/macros/");
    assert_eq!(names(&outputs), shown, "the `expansion-output` markers of trace-runtime/src/macros/");

    let mut failures = Vec::new();
    for (name, input) in &inputs {
        let output = &outputs.iter().find(|(n, _)| n == name).expect("checked above").1;
        let what_in = format!("the `{name}` input ({})", input.line);
        let what_out = format!("the `{name}` expansion ({})", output.line);
        let (expanded, count) = expand_all(parse(&input.visible, &what_in));
        assert!(count > 0, "{what_in} uses none of the macros");
        let real = canonical(expanded.clone(), &format!("the real expansion of {what_in}"));
        let shown = canonical(parse(&output.visible, &what_out), &what_out);
        if real != shown {
            failures.push(format!(
                "{what_out} is not what the macro emits for {what_in}; {}\n\nthe real expansion:\n{expanded}\n",
                first_difference(&shown, &real)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn hidden_lines_follow_rustdoc() {
    assert_eq!(shown_line("# use x;"), None);
    assert_eq!(shown_line("    # let y = 1;"), None);
    assert_eq!(shown_line("#"), None);
    assert_eq!(shown_line("#[allow(unused)]"), Some("#[allow(unused)]"));
    assert_eq!(shown_line("    ## not hidden"), Some("# not hidden"));
    assert_eq!(shown_line("fn f() {}"), Some("fn f() {}"));
}

#[test]
fn a_changed_token_is_a_difference() {
    let a = canonical(parse("let x = f(\"a\");\n", "a"), "a");
    let b = canonical(parse("let  x =\n    f( \"a\" ) ;", "b"), "b");
    let raw = canonical(parse("let x = f(r\"a\");", "raw"), "raw");
    assert_eq!(a, b, "layout is not a difference");
    assert_eq!(a, raw, "a raw string is the same string");
    assert_ne!(a, canonical(parse("let x = g(\"a\");", "c"), "c"));
    assert_ne!(a, canonical(parse("let x = f(\"b\");", "d"), "d"));
}
