// Generic fns with trait bounds, in `<..>` and in `where`.
use std::fmt::Display;

use trace_runtime::{testing, trace, trace_pipeline};
use ui_tests::{assert_child, span, str_attr};

#[trace_pipeline(name = "text", element = "render")]
fn render<T: Display + ?Sized>(value: &T) -> String {
    format!("<{value}>")
}

#[trace_pipeline(name = "text", element = element)]
fn join<I, S>(element: &str, items: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    items.into_iter().map(|s| s.as_ref().to_string()).collect::<Vec<_>>().join(",")
}

fn main() {
    let (out, spans) = testing::capture(|| trace!("root", { render(&42) + &render("x") }));
    assert_eq!(out, "<42><x>");
    assert_eq!(spans.len(), 3);
    for s in spans.iter().filter(|s| s.name == "render") {
        assert_child(s, span(&spans, "root"));
    }

    let (out, spans) = testing::capture(|| trace!("root", { join("joiner", ["a", "b"]) }));
    assert_eq!(out, "a,b");
    let s = span(&spans, "join");
    assert_child(s, span(&spans, "root"));
    assert_eq!(str_attr(s, "pipeline.element"), "joiner");
}
