//! The tree a finished trace prints as: one line per span, attributes wrapped, values clipped.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;

const MAX_VALUE_CHARS: usize = 60;
const MAX_ATTR_CHARS: usize = 300;
const MAX_NAME_CHARS: usize = 80;
const MAX_STATUS_CHARS: usize = 120;
/// Deeper levels stop indenting, so pathological nesting cannot make output quadratic.
const MAX_INDENT_LEVELS: usize = 24;
/// Attributes wrap onto continuation lines past this many columns.
pub(super) const LINE_WIDTH: usize = 100;

pub(super) const DIM: &str = "\x1b[2m";
pub(super) const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
pub(super) const RESET: &str = "\x1b[0m";

/// Renders the spans of one trace as a tree (a forest when parents are missing), children
/// under their parent and siblings by start time. Every span appears exactly once, even
/// with duplicate or cyclic parent ids.
pub(crate) fn render_trace(spans: &[SpanData], color: bool) -> String {
    let Some(first) = spans.first() else {
        return String::new();
    };
    let tree = super::tree::SpanTree::new(spans);
    let (index, tops) = (&tree.index, &tree.tops);

    let (start, end) = spans
        .iter()
        .fold((first.start_time, first.end_time), |(s, e), x| (s.min(x.start_time), e.max(x.end_time)));
    let title = tops.first().map_or(first, |&i| &spans[i]);
    let more = if tops.len() > 1 { format!(" (+{} more roots)", tops.len() - 1) } else { String::new() };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "trace {} · {}{more} · {}",
        paint(color, DIM, &first.span_context.trace_id().to_string()),
        clip(&one_line(&title.name), MAX_NAME_CHARS),
        fmt_duration(end.duration_since(start).unwrap_or_default()),
    );

    // An association attribute equal to the parent's is shown once, where it was set.
    let associated = crate::span::association::known_keys();
    tree.walk(MAX_INDENT_LEVELS, |i, prefix, child_prefix| {
        // Keeps the vertical line down to the first child unbroken.
        let body = if tree.children(i).is_empty() {
            child_prefix.to_string()
        } else {
            format!("{child_prefix}│ ")
        };
        let head = format!("{prefix}{}", span_head(&spans[i], index, color));
        let inherited = |kv: &KeyValue| {
            associated.contains(&kv.key.as_str())
                && tree.parent(i).is_some_and(|p| spans[p].attributes.iter().any(|a| a == kv))
        };
        let own: Vec<KeyValue> = spans[i].attributes.iter().filter(|kv| !inherited(kv)).cloned().collect();
        let attrs = attr_items(&own);
        write_wrapped(&mut out, &head, "  ", &attrs, &body, color);
        for event in spans[i].events.iter() {
            let head = format!("{body}• {}", clip(&one_line(&event.name), MAX_NAME_CHARS));
            let attrs = attr_items(&event.attributes);
            write_wrapped(&mut out, &head, " ", &attrs, &format!("{body}  "), color);
        }
    });
    out
}

/// Everything about a span but its attributes, which [`write_wrapped`] lays out.
fn span_head(span: &SpanData, index: &HashMap<SpanId, usize>, color: bool) -> String {
    let mut parts = vec![clip(&one_line(&span.name), MAX_NAME_CHARS)];
    let kind = match span.span_kind {
        SpanKind::Internal => None,
        SpanKind::Client => Some("client"),
        SpanKind::Server => Some("server"),
        SpanKind::Producer => Some("producer"),
        SpanKind::Consumer => Some("consumer"),
    };
    parts.extend(kind.map(str::to_owned));
    parts.push(fmt_duration(span.end_time.duration_since(span.start_time).unwrap_or_default()));
    if let Status::Error { description } = &span.status {
        let description = clip(&one_line(description), MAX_STATUS_CHARS);
        let text =
            if description.is_empty() { "✗ error".to_owned() } else { format!("✗ error: {description}") };
        parts.push(paint(color, RED, &text));
    }
    let cancelled =
        span.attributes.iter().any(|kv| kv.key.as_str() == "span.cancelled" && kv.value == Value::Bool(true));
    if cancelled {
        parts.push(paint(color, YELLOW, "cancelled"));
    }
    let parent = span.parent_span_id;
    if span.parent_span_is_remote {
        parts.push(paint(color, DIM, &format!("(remote parent {parent})")));
    } else if parent != SpanId::INVALID && !index.contains_key(&parent) {
        parts.push(paint(color, DIM, &format!("(orphan of {parent})")));
    }
    parts.join("  ")
}

/// Writes `head` followed by `attrs`, moving attributes that would pass [`LINE_WIDTH`] to
/// continuation lines under `indent`, so long spans do not break the tree on a terminal.
fn write_wrapped(out: &mut String, head: &str, sep: &str, attrs: &[String], indent: &str, color: bool) {
    let (mut line, mut chunk, mut first) = (head.to_owned(), Vec::new(), true);
    let mut used = width(head) + sep.len();
    for item in attrs {
        let item_width = item.chars().count();
        // An item wider than a whole line still gets a line of its own.
        if used + item_width > LINE_WIDTH && (first || !chunk.is_empty()) {
            end_line(out, &line, sep, &chunk, first, color);
            (line, first, used) = (indent.to_owned(), false, width(indent));
            chunk.clear();
        }
        chunk.push(item.as_str());
        used += item_width + 1;
    }
    end_line(out, &line, sep, &chunk, first, color);
}

fn end_line(out: &mut String, line: &str, sep: &str, attrs: &[&str], first: bool, color: bool) {
    let _ = if attrs.is_empty() {
        writeln!(out, "{line}")
    } else {
        let sep = if first { sep } else { "" };
        writeln!(out, "{line}{sep}{}", paint(color, DIM, &attrs.join(" ")))
    };
}

/// Terminal columns taken by `text`: characters outside ANSI escape sequences.
fn width(text: &str) -> usize {
    let mut in_escape = false;
    let visible = |&c: &char| {
        let shown = !in_escape && c != '\x1b';
        in_escape = (in_escape || c == '\x1b') && c != 'm';
        shown
    };
    text.chars().filter(visible).count()
}

/// `key=value` items, cut off near [`MAX_ATTR_CHARS`] in all so one chatty span cannot
/// flood the tree; the last item then says how many were left out.
fn attr_items(attrs: &[KeyValue]) -> Vec<String> {
    // `code.*` is source-location noise on a console; `span.cancelled` has its own marker.
    let shown = |kv: &&KeyValue| {
        let key = kv.key.as_str();
        !key.starts_with("code.") && key != "span.cancelled"
    };
    let total = attrs.iter().filter(shown).count();
    let (mut items, mut used) = (Vec::new(), 0);
    for kv in attrs.iter().filter(shown) {
        let item = format!("{}={}", clip(kv.key.as_str(), MAX_VALUE_CHARS), fmt_value(&kv.value));
        used += item.chars().count() + 1;
        if !items.is_empty() && used > MAX_ATTR_CHARS + 1 {
            items.push(format!("… +{} more", total - items.len()));
            break;
        }
        items.push(item);
    }
    items
}

fn fmt_value(value: &Value) -> String {
    match value {
        Value::String(s) => {
            let text = clip(s.as_str(), MAX_VALUE_CHARS);
            // Quoted (and escaped) only when needed to keep `key=value` pairs unambiguous.
            let plain = !text.is_empty() && !text.chars().any(|c| c.is_whitespace() || c.is_control());
            if plain { text } else { format!("{text:?}") }
        }
        other => clip(&one_line(&other.to_string()), MAX_VALUE_CHARS),
    }
}

/// Human-scaled duration: `850 ns`, `12.3 µs`, `3.10 ms`, `2.45 s`.
///
/// Each unit ends just below the next, so rounding never prints `1000.0 µs`.
pub(crate) fn fmt_duration(d: Duration) -> String {
    match d.as_nanos() {
        ns @ 0..1_000 => format!("{ns} ns"),
        1_000..999_950 => format!("{:.1} µs", d.as_secs_f64() * 1e6),
        999_950..999_995_000 => format!("{:.2} ms", d.as_secs_f64() * 1e3),
        _ => format!("{:.2} s", d.as_secs_f64()),
    }
}

/// At most `max` characters (`max` ≥ 1), ending in `…` when cut.
fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max - 1) {
        Some((cut, _)) if text[cut..].chars().nth(1).is_some() => format!("{}…", &text[..cut]),
        _ => text.to_owned(),
    }
}

/// Names and messages may contain newlines, which would tear the tree apart.
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

fn paint(color: bool, code: &str, text: &str) -> String {
    if color { format!("{code}{text}{RESET}") } else { text.to_owned() }
}
