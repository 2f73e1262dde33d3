//! A trace as a tree of spans, children under their parent by start time.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use trace_runtime::store::{SpanStatus, StoredSpan};

use crate::format;

/// The spans in tree order, each with its depth. Spans whose parent is missing are roots; every
/// span appears once, even with duplicate or cyclic parent ids.
pub(crate) fn ordered(spans: &[StoredSpan]) -> Vec<(usize, &StoredSpan)> {
    let ids: HashSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
    let mut children: HashMap<&str, Vec<&StoredSpan>> = HashMap::new();
    let mut roots: Vec<&StoredSpan> = Vec::new();
    for span in spans {
        match span.parent_span_id.as_deref().filter(|p| ids.contains(p) && *p != span.span_id) {
            Some(parent) => children.entry(parent).or_default().push(span),
            None => roots.push(span),
        }
    }
    roots.sort_by_key(|s| s.start_time);
    for list in children.values_mut() {
        list.sort_by_key(|s| s.start_time);
    }
    let mut out = Vec::with_capacity(spans.len());
    let mut seen: HashSet<*const StoredSpan> = HashSet::new();
    let mut stack: Vec<(usize, &StoredSpan)> = roots.into_iter().rev().map(|s| (0, s)).collect();
    loop {
        while let Some((depth, span)) = stack.pop() {
            if !seen.insert(std::ptr::from_ref(span)) {
                continue;
            }
            out.push((depth, span));
            if let Some(kids) = children.get(span.span_id.as_str()) {
                stack.extend(kids.iter().rev().map(|k| (depth + 1, *k)));
            }
        }
        // Spans only reachable through a cycle: start again from the earliest one left.
        match spans.iter().filter(|s| !seen.contains(&std::ptr::from_ref(*s))).min_by_key(|s| s.start_time) {
            Some(span) => stack.push((0, span)),
            None => break,
        }
    }
    out
}

/// A whole trace as the headers of `show` and `html` describe it.
pub(crate) struct Overview<'a> {
    /// The spans in tree order, with their depth ([`ordered`]).
    pub(crate) order: Vec<(usize, &'a StoredSpan)>,
    /// The first root's name.
    pub(crate) name: &'a str,
    /// From the earliest start to the latest end, in seconds.
    pub(crate) total: f64,
    /// Tokens of every LLM span (saturating: the counts come from files a user may have edited).
    pub(crate) tokens: u64,
    /// Sum of the priced spans' cost; `None` if none was priced.
    pub(crate) cost: Option<f64>,
    /// Spans with status error.
    pub(crate) errors: usize,
}

pub(crate) fn overview(spans: &[StoredSpan]) -> Overview<'_> {
    let start = spans.iter().map(|s| s.start_time).min();
    let end = spans.iter().map(|s| s.end_time).max();
    let total = match (start, end) {
        (Some(s), Some(e)) => e.duration_since(s).unwrap_or(Duration::ZERO).as_secs_f64(),
        _ => 0.0,
    };
    let order = ordered(spans);
    let name = order.first().map_or("", |(_, s)| s.name.as_str());
    let usages = || spans.iter().filter_map(|s| s.usage.as_ref());
    let costs: Vec<f64> = usages().filter_map(|u| u.cost).collect();
    Overview {
        name,
        total,
        tokens: usages().map(|u| u.total_tokens).fold(0, u64::saturating_add),
        cost: (!costs.is_empty()).then(|| costs.iter().sum()),
        errors: spans.iter().filter(|s| s.status == SpanStatus::Error).count(),
        order,
    }
}

/// The `show` output.
pub(crate) fn render(trace_id: &str, spans: &[StoredSpan]) -> String {
    let Overview { order, name, total, tokens, cost, errors, .. } = overview(spans);
    let (trace_id, name) = (format::printable(trace_id), format::printable(name));
    let mut out = format!(
        "trace {trace_id} · {name} · {} · {} span(s) · {errors} error(s) · {tokens} tokens · cost {}\n",
        format::duration(total),
        spans.len(),
        format::cost(cost),
    );
    // For each depth, whether an ancestor at that depth has siblings still to come.
    let mut open: Vec<bool> = Vec::new();
    for (i, (depth, span)) in order.iter().enumerate() {
        let last_sibling = order[i + 1..].iter().take_while(|(d, _)| d >= depth).all(|(d, _)| d > depth);
        open.truncate(*depth);
        let mut prefix = String::new();
        for (d, more) in open.iter().enumerate() {
            if d > 0 {
                prefix.push_str(if *more { "│  " } else { "   " });
            }
        }
        if *depth > 0 {
            prefix.push_str(if last_sibling { "└─ " } else { "├─ " });
        }
        open.push(!last_sibling);
        out.push_str(&prefix);
        let parent = span.parent_span_id.as_deref().and_then(|p| spans.iter().find(|s| s.span_id == p));
        out.push_str(&format::printable(&line(span, parent)));
        out.push('\n');
        let indent: String = prefix.replace("├─ ", "│  ").replace("└─ ", "   ");
        let bar = if order[i + 1..].first().is_some_and(|(d, _)| d > depth) { "│  " } else { "   " };
        for event in &span.events {
            let at = event.time.duration_since(span.start_time).unwrap_or(Duration::ZERO).as_secs_f64();
            out.push_str(&format!(
                "{indent}{bar}· {} {}{}\n",
                format::duration(at),
                format::printable(&event.name),
                format::printable(&event_detail(event))
            ));
        }
    }
    out
}

/// Whether `key` is one the kit carries down the tree (session, user, conversation, turn).
fn is_associated(key: &str) -> bool {
    use trace_runtime::keys;
    [
        keys::session::id.name(),
        keys::user::id.name(),
        keys::gen_ai::conversation::id.name(),
        keys::voice::turn::id.name(),
    ]
    .contains(&key)
}

/// One span's line; an association attribute its parent has with the same value (a session id
/// carried down the tree) is said once, where it was set. Other attributes always show.
fn line(span: &StoredSpan, parent: Option<&StoredSpan>) -> String {
    let mut parts = vec![span.name.clone()];
    if span.kind != "internal" {
        parts.push(span.kind.clone());
    }
    parts.push(format::duration(span.duration));
    // Only a status someone set is worth a word: most spans leave it unset.
    match (&span.status, &span.status_message) {
        (SpanStatus::Error, Some(message)) => parts.push(format!("error: {message}")),
        (SpanStatus::Error, None) => parts.push("error".into()),
        (SpanStatus::Ok, _) => parts.push("ok".into()),
        (SpanStatus::Unset, _) => {}
    }
    if span.attributes.get("span.cancelled").and_then(|v| v.as_bool()) == Some(true) {
        parts.push("cancelled".into());
    }
    if let Some(u) = &span.usage {
        let model = match (&u.provider, &u.model) {
            (Some(p), Some(m)) => format!("{p}/{m}"),
            (None, Some(m)) => m.clone(),
            (Some(p), None) => p.clone(),
            (None, None) => String::new(),
        };
        if !model.is_empty() {
            parts.push(model);
        }
        let mut tokens = format!("tokens in {} out {}", u.input_tokens, u.output_tokens);
        if u.cache_read_tokens > 0 {
            tokens.push_str(&format!(" cached {}", u.cache_read_tokens));
        }
        if u.reasoning_tokens > 0 {
            tokens.push_str(&format!(" reasoning {}", u.reasoning_tokens));
        }
        parts.push(tokens);
        parts.push(format::cost(u.cost));
    }
    // The attributes the line does not already say (source locations are noise here).
    let shown = |k: &str| {
        !k.starts_with("code.")
            && !k.starts_with("gen_ai.usage.")
            && !matches!(k, "span.cancelled" | "gen_ai.request.model" | "gen_ai.provider.name")
    };
    let mut attributes: Vec<String> = span
        .attributes
        .iter()
        .filter(|(k, v)| {
            shown(k) && !(is_associated(k) && parent.is_some_and(|p| p.attributes.get(*k) == Some(*v)))
        })
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect();
    attributes.sort();
    parts.extend(attributes);
    parts.join("  ")
}

fn event_detail(event: &trace_runtime::store::StoredEvent) -> String {
    let get = |k: &str| event.attributes.get(k).and_then(|v| v.as_str());
    match event.name.as_str() {
        "log" => format!(" [{}] {}", get("log.level").unwrap_or("info"), get("log.message").unwrap_or("")),
        "exception" => format!(" {}", get("exception.message").unwrap_or("")),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, parent: Option<&str>, total_tokens: u64) -> StoredSpan {
        serde_json::from_value(serde_json::json!({
            "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": id, "parent_span_id": parent,
            "name": format!("span {id}"), "kind": "client", "duration": 1.0,
            "start_time": "2024-12-01T00:00:00Z", "end_time": "2024-12-01T00:00:01Z",
            "usage": {"model": "m", "input_tokens": 0, "output_tokens": 0, "cache_read_tokens": 0,
                      "cache_write_tokens": 0, "reasoning_tokens": 0, "total_tokens": total_tokens},
        }))
        .unwrap()
    }

    #[test]
    fn an_edited_file_with_huge_token_counts_still_renders() {
        let spans = [span("a", None, u64::MAX), span("b", Some("a"), 7)];
        let text = render("4bf92f3577b34da6a3ce929d0e0e4736", &spans);
        assert!(text.contains(&format!("{} tokens", u64::MAX)), "{text}");
        let page = crate::html::render("4bf92f3577b34da6a3ce929d0e0e4736", &spans);
        assert!(page.contains(&u64::MAX.to_string()), "the count is inlined as it is");
        assert_eq!(overview(&spans).order.len(), 2);
    }

    #[test]
    fn only_association_attributes_are_said_once_others_show_on_every_span() {
        let mut spans = [span("a", None, 1), span("b", Some("a"), 1)];
        for s in &mut spans {
            s.attributes.insert("session.id".into(), "s-1".into());
            s.attributes.insert("pipeline.name".into(), "voice".into());
        }
        let text = render("4bf92f3577b34da6a3ce929d0e0e4736", &spans);
        let child = text.lines().nth(2).unwrap();
        assert!(child.contains("pipeline.name=voice"), "{text}");
        assert!(!child.contains("session.id"), "carried down, said once: {text}");
    }

    #[test]
    fn names_from_a_file_cannot_drive_the_terminal() {
        let mut spans = [span("a", None, 1)];
        spans[0].name = "evil\x1b[2J\nfake line".into();
        let text = render("4bf92f3577b34da6a3ce929d0e0e4736", &spans);
        assert!(!text.contains('\x1b'), "{text:?}");
        assert_eq!(text.lines().count(), 2, "the header and one span line: {text:?}");
    }
}
