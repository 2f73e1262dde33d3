// Explicit lifetimes, returning a reference into an argument.
use trace_runtime::{testing, trace, trace_pipeline};
use ui_tests::{assert_child, span, str_attr};

#[trace_pipeline(name = "text", element = "longest", fields(session.id = a))]
fn longest<'a, 'b: 'a>(a: &'a str, b: &'b str) -> &'a str {
    if a.len() >= b.len() { a } else { b }
}

struct Parser<'s> {
    text: &'s str,
}

impl<'s> Parser<'s> {
    #[trace_pipeline(name = "text", element = "word")]
    fn word<'p>(&'p mut self) -> Option<&'s str> {
        let text = self.text.trim_start();
        let end = text.find(' ').unwrap_or(text.len());
        let (word, rest) = text.split_at(end);
        self.text = rest;
        if word.is_empty() { None } else { Some(word) }
    }
}

fn main() {
    let owned = String::from("hello");
    let (out, spans) = testing::capture(|| trace!("root", { longest(&owned, "hi") }));
    assert_eq!(out, "hello");
    let s = span(&spans, "longest");
    assert_child(s, span(&spans, "root"));
    assert_eq!(str_attr(s, "session.id"), "hello");

    let mut parser = Parser { text: "one two" };
    let (words, spans) = testing::capture(|| {
        trace!("root", {
            let a = parser.word();
            let b = parser.word();
            (a, b, parser.word())
        })
    });
    assert_eq!(words, (Some("one"), Some("two"), None));
    assert_eq!(spans.iter().filter(|s| s.name == "word").count(), 3);
}
