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
/// Columns when the output is not a terminal and `COLUMNS` is unset.
pub(super) const DEFAULT_WIDTH: usize = 80;
/// The narrowest tree laid out; narrower asks are widened to it.
pub(super) const MIN_WIDTH: usize = 40;
/// Leaf siblings sharing a name this many times or more print as one line.
const GROUP_AT: usize = 3;

pub(super) const DIM: &str = "\x1b[2m";
pub(super) const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
pub(super) const RESET: &str = "\x1b[0m";

/// Renders the spans of one trace as a tree (a forest when parents are missing), children
/// under their parent and siblings by start time. Every span appears exactly once, even
/// with duplicate or cyclic parent ids.
/// Lines fit in `width` columns (display columns: wide characters count twice); attributes
/// that would pass it wrap onto continuation lines under their span.
pub(crate) fn render_trace(spans: &[SpanData], color: bool, width: usize) -> String {
    let Some(first) = spans.first() else {
        return String::new();
    };
    let mut tree = super::tree::SpanTree::new(spans);
    let groups = tree.group_repeated(GROUP_AT);
    let (index, tops) = (&tree.index, &tree.tops);

    let (start, end) = spans
        .iter()
        .fold((first.start_time, first.end_time), |(s, e), x| (s.min(x.start_time), e.max(x.end_time)));
    let title = tops.first().map_or(first, |&i| &spans[i]);
    let more = if tops.len() > 1 { format!(" (+{} more roots)", tops.len() - 1) } else { String::new() };
    let failed = |s: &SpanData| matches!(s.status, Status::Error { .. });
    let errors = spans.iter().filter(|s| failed(s)).count();
    // A trace whose root failed says so in its first line; one with failures below, how many.
    let verdict = match errors {
        0 => String::new(),
        _ if failed(title) => {
            format!(" · {}", paint(color, RED, &format!("✗ failed ({errors} error{})", plural(errors))))
        }
        n => format!(" · {}", paint(color, RED, &format!("{n} error{}", plural(n)))),
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "trace {} · {}{more} · {}{verdict}",
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
        let inherited = |kv: &KeyValue| {
            associated.contains(&kv.key.as_str())
                && tree.parent(i).is_some_and(|p| spans[p].attributes.iter().any(|a| a == kv))
        };
        if let Some(members) = groups.get(&i) {
            // One line for the group: how many, their p50 and max, how many failed, and the
            // attributes they all share.
            let head = format!("{prefix}{}", group_head(spans, members, color));
            let shared: Vec<KeyValue> = spans[i]
                .attributes
                .iter()
                .filter(|kv| !inherited(kv) && members.iter().all(|&m| spans[m].attributes.contains(kv)))
                .cloned()
                .collect();
            write_wrapped(&mut out, &head, "  ", &attr_items(&shared), &body, color, width);
            return;
        }
        let head = format!("{prefix}{}", span_head(&spans[i], index, color));
        let own: Vec<KeyValue> = spans[i].attributes.iter().filter(|kv| !inherited(kv)).cloned().collect();
        let attrs = attr_items(&own);
        write_wrapped(&mut out, &head, "  ", &attrs, &body, color, width);
        for event in spans[i].events.iter() {
            let head = format!("{body}• {}", clip(&one_line(&event.name), MAX_NAME_CHARS));
            let attrs = attr_items(&event.attributes);
            write_wrapped(&mut out, &head, " ", &attrs, &format!("{body}  "), color, width);
        }
    });
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `resample ×50  p50 840 ns  max 1.2 µs  2 failed`.
fn group_head(spans: &[SpanData], members: &[usize], color: bool) -> String {
    let mut durations: Vec<Duration> = members
        .iter()
        .map(|&m| spans[m].end_time.duration_since(spans[m].start_time).unwrap_or_default())
        .collect();
    durations.sort();
    let p50 = durations[(durations.len() - 1) / 2];
    let max = durations.last().copied().unwrap_or_default();
    let name = clip(&one_line(&spans[members[0]].name), MAX_NAME_CHARS);
    let mut head = format!("{name} ×{}  p50 {}  max {}", members.len(), fmt_duration(p50), fmt_duration(max));
    let failed = members.iter().filter(|&&m| matches!(spans[m].status, Status::Error { .. })).count();
    if failed > 0 {
        head.push_str(&format!("  {}", paint(color, RED, &format!("✗ {failed} failed"))));
    }
    head
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

/// Writes `head` followed by `attrs`, moving attributes that would pass `columns` to
/// continuation lines under `indent`, so long spans do not break the tree on a terminal.
fn write_wrapped(
    out: &mut String,
    head: &str,
    sep: &str,
    attrs: &[String],
    indent: &str,
    color: bool,
    columns: usize,
) {
    let (mut line, mut chunk, mut first) = (head.to_owned(), Vec::new(), true);
    let mut used = width(head) + sep.len();
    for item in attrs {
        let item_width = width(item);
        // An item wider than a whole line still gets a line of its own.
        if used + item_width > columns && (first || !chunk.is_empty()) {
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

/// Terminal columns taken by `text`: the display width of the characters outside ANSI escape
/// sequences (a CJK character or an emoji takes two).
#[cfg(test)]
pub(super) fn display_width(text: &str) -> usize {
    width(text)
}

fn width(text: &str) -> usize {
    let mut in_escape = false;
    let visible = |&c: &char| {
        let shown = !in_escape && c != '\x1b';
        in_escape = (in_escape || c == '\x1b') && c != 'm';
        shown
    };
    text.chars().filter(visible).map(|c| unicode_width::UnicodeWidthChar::width(c).unwrap_or(0)).sum()
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
        Value::F64(v) => tidy(*v),
        other => clip(&one_line(&other.to_string()), MAX_VALUE_CHARS),
    }
}

/// A float with at most 12 significant digits: the noise of binary arithmetic
/// (`0.00010400000000000001`) is not printed.
fn tidy(v: f64) -> String {
    if !v.is_finite() || v == 0.0 {
        return v.to_string();
    }
    let digits = 11 - v.abs().log10().floor() as i32;
    if !(0..=300).contains(&digits) {
        return v.to_string();
    }
    let scale = 10f64.powi(digits);
    let rounded = (v * scale).round() / scale;
    if rounded.is_finite() { rounded.to_string() } else { v.to_string() }
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

/// Names and messages may hold newlines, which would tear the tree apart, and escape sequences,
/// which would drive the terminal: control characters print escaped (`\u{1b}`).
fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

fn paint(color: bool, code: &str, text: &str) -> String {
    if color { format!("{code}{text}{RESET}") } else { text.to_owned() }
}
