//! The crate's layout, checked: import cycles between the top-level modules of `src/` (unit tests
//! aside) and no library file over 600 lines. The figures are printed for the record
//! (`cargo test -p trace-runtime --test layout -- --nocapture`).
//!
//! There is no cycle: every dependency points one way, down the data flow that DESIGN.md's
//! "Layout" section draws (record, span, pipeline, the domains, export, init, config on top). A
//! new `use crate::..` that points back up fails here, naming the modules of the cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 600;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable src") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The library's top-level modules (`src/x.rs` or `src/x/`), binaries and the crate root aside.
fn top_level_modules() -> BTreeMap<String, Vec<PathBuf>> {
    let mut modules = BTreeMap::new();
    for entry in std::fs::read_dir(src()).expect("readable src") {
        let path = entry.expect("a directory entry").path();
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        if name == "lib" || name == "bin" || name == "main" {
            continue;
        }
        let mut files = Vec::new();
        if path.is_dir() {
            rust_files(&path, &mut files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
        modules.entry(name).or_insert_with(Vec::new).extend(files);
    }
    modules
}

/// The file's code: without its unit tests (`#[cfg(test)] mod tests { .. }` at the end, by
/// convention) and without comment lines, whose links (`[x](crate::x)`) are not dependencies.
fn code_of(text: &str) -> String {
    let text = text.find("#[cfg(test)]\nmod tests").map_or(text, |at| &text[..at]);
    text.lines().filter(|line| !line.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

fn ident_at(text: &str) -> &str {
    let end = text.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(text.len());
    &text[..end]
}

/// The top-level modules named after `crate::` in `text`, grouped imports included.
fn crate_references(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue; // `$crate::` in a macro, or part of a longer name
        }
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a, b::c, d::{e, f}}`: the first segment of each top-level path.
            let (mut depth, mut start) = (0usize, true);
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && (c.is_alphanumeric() || c == '_') => {
                        found.insert(ident_at(&group[i..]).to_string());
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(ident_at(rest).to_string());
        }
    }
    found
}

/// The strongly connected components of more than one module (Tarjan's algorithm).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, node: &'a str) {
            let n = self.index.len();
            self.index.insert(node, n);
            self.low.insert(node, n);
            self.stack.push(node);
            self.on_stack.insert(node);
            for next in self.graph.get(node).into_iter().flatten() {
                let next = next.as_str();
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = Vec::new();
                while let Some(top) = self.stack.pop() {
                    self.on_stack.remove(top);
                    component.push(top.to_string());
                    if top == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !walk.index.contains_key(node.as_str()) {
            walk.visit(node);
        }
    }
    walk.found
}

#[test]
fn a_cycle_through_three_modules_is_found_and_a_chain_is_not() {
    let graph = |edges: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in edges {
            g.entry(from.to_string()).or_default().insert(to.to_string());
            g.entry(to.to_string()).or_default();
        }
        g
    };
    let found = cycles(&graph(&[("config", "log"), ("log", "sinks"), ("sinks", "config"), ("init", "log")]));
    assert_eq!(found.len(), 1, "{found:?}");
    let mut members = found[0].clone();
    members.sort();
    assert_eq!(members, ["config", "log", "sinks"]);
    assert!(cycles(&graph(&[("init", "config"), ("config", "log"), ("init", "log")])).is_empty());
}

#[test]
fn the_reference_parser_reads_grouped_and_nested_imports() {
    let text = "use crate::{a, b::c, d::{e, f}};\nuse crate::g::h;\nlet x = $crate::i::j; notcrate::k;\n\
                /// [l](crate::l)\n//! crate::m\n#[cfg(test)]\nmod tests { use crate::n; }";
    let found: Vec<String> = crate_references(&code_of(text)).into_iter().collect();
    assert_eq!(found, ["a", "b", "d", "g"]);
    let graph: BTreeMap<String, BTreeSet<String>> =
        [("a", &["b"][..]), ("b", &["c"]), ("c", &["a"]), ("d", &["a"]), ("e", &["f"]), ("f", &["e"])]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect();
    let mut found = cycles(&graph);
    found.sort();
    let origin = root_reexports("pub use a::{B, c::D as E};\npub use f::G;\n// pub use h::I;");
    let pairs: Vec<(&str, &str)> = origin.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(pairs, [("B", "a"), ("D", "a"), ("E", "a"), ("G", "f"), ("c", "a")]);
    assert_eq!(found, [vec!["a", "b", "c"], vec!["e", "f"]]);
}

/// The module each name the crate root re-exports comes from (`pub use a::{B, c::D}` maps `B` and
/// `D` to `a`), so that `crate::B` counts as a use of `a`.
fn root_reexports(lib: &str) -> BTreeMap<String, String> {
    let mut origin = BTreeMap::new();
    for item in code_of(lib).split(';') {
        let Some(path) = item.trim().strip_prefix("pub use ") else { continue };
        let module = ident_at(path.trim_start_matches("crate::")).to_string();
        let names = path.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty());
        for name in names.skip(1).filter(|&w| w != "self" && w != "as") {
            origin.entry(name.to_string()).or_insert_with(|| module.clone());
        }
    }
    origin
}

#[test]
fn top_level_modules_import_each_other_without_cycles() {
    let modules = top_level_modules();
    let lib = std::fs::read_to_string(src().join("lib.rs")).expect("readable lib.rs");
    let origin = root_reexports(&lib);
    let mut graph = BTreeMap::new();
    for (name, files) in &modules {
        let mut uses = BTreeSet::new();
        for file in files {
            let text = std::fs::read_to_string(file).expect("readable source");
            let names = crate_references(&code_of(&text));
            uses.extend(names.into_iter().map(|n| origin.get(&n).cloned().unwrap_or(n)));
        }
        uses.retain(|used| used != name && modules.contains_key(used));
        graph.insert(name.clone(), uses);
    }
    let found = cycles(&graph);
    for (name, uses) in &graph {
        eprintln!("  {name} -> {}", uses.iter().map(String::as_str).collect::<Vec<_>>().join(", "));
    }
    eprintln!("{} top-level modules, {} import cycles", modules.len(), found.len());
    for cycle in &found {
        eprintln!("  cycle of {}: {}", cycle.len(), cycle.join(" ↔ "));
    }
    assert!(
        found.is_empty(),
        "import cycles between top-level modules: {found:?}; move the shared item down to the module \
         both can import (DESIGN.md, \"Layout\"), or hand it over through a trait the lower module owns"
    );
}

#[test]
fn no_library_file_is_over_600_lines() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut sizes: Vec<(usize, String)> = files
        .iter()
        .map(|f| {
            let lines = std::fs::read_to_string(f).expect("readable source").lines().count();
            (lines, f.strip_prefix(src()).unwrap_or(f).display().to_string())
        })
        .collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    eprintln!("{} files; largest: {:?}", sizes.len(), &sizes[..sizes.len().min(5)]);
    let over: Vec<_> = sizes.iter().filter(|(n, _)| *n > MAX_LINES).collect();
    assert!(over.is_empty(), "files over {MAX_LINES} lines: {over:?}");
}

/// The public type names declared in `text`: `pub struct|enum|trait|type|union NAME`.
fn public_types(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        let Some(rest) = line.strip_prefix("pub ") else { continue };
        for kind in ["struct ", "enum ", "trait ", "type ", "union "] {
            if let Some(name) = rest.strip_prefix(kind) {
                names.push(ident_at(name).to_string());
            }
        }
    }
    names
}

#[test]
fn no_two_public_types_share_a_name() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    // Items only the macros' expansions reach (`__private`, hidden from the docs) are not the
    // user's vocabulary: `__private::Span` beside `otel::Span` misleads no one.
    let private = std::fs::read_to_string(src().join("private.rs")).expect("readable private.rs");
    let private = code_of(&private);
    let macro_only = reexported_names(&private);
    let mut declared: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &files {
        let relative = file.strip_prefix(src()).unwrap_or(file).display().to_string();
        if relative.starts_with("bin/") {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("readable source");
        for name in public_types(&code_of(&text)) {
            declared.entry(name).or_default().push(relative.clone());
        }
    }
    let twice: Vec<_> = declared
        .iter()
        .filter(|(name, files)| files.len() > 1 && !macro_only.contains(name.as_str()))
        .collect();
    assert!(
        twice.is_empty(),
        "public types declared twice under one name (rename one to say what it holds): {twice:?}"
    );
}

/// Every name a `pub use` statement of `code` mentions.
fn reexported_names(code: &str) -> BTreeSet<&str> {
    code.split(';')
        .filter(|statement| statement.trim_start().starts_with("pub use"))
        .flat_map(|statement| statement.split(|c: char| !(c.is_alphanumeric() || c == '_')))
        .filter(|word| !word.is_empty())
        .collect()
}

#[test]
fn the_public_type_scanner_finds_declarations_not_mentions() {
    let text = "pub struct A;\npub(crate) struct B;\n    pub enum C { X }\nlet pub_type = 1;\npub type D<T> = E<T>;\npub fn f() {}\n";
    assert_eq!(public_types(text), ["A", "C", "D"]);
    let names = reexported_names("pub use crate::a::{B,\n    C};\nuse crate::d::E;\n");
    assert!(names.contains("B") && names.contains("C") && !names.contains("E"), "{names:?}");
}
