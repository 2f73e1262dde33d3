//! A span exporter that prints each finished trace as a tree, for local development.
//!
//! Spans finish children-first and the SDK hands them over in arbitrary batches, so
//! printing span by span would scatter one trace over many unrelated lines. The exporter
//! therefore holds spans back until their trace's root has finished.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::future::ready;
use std::io::{IsTerminal, Write};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use crate::trace_buffer::TraceBuffer;

/// Spans held back while waiting for roots; beyond this the oldest trace is printed early,
/// so a root that never comes (lost, or still running) cannot grow memory without bound.
const MAX_BUFFERED: usize = 10_000;
const MAX_VALUE_CHARS: usize = 60;
const MAX_ATTR_CHARS: usize = 300;
const MAX_NAME_CHARS: usize = 80;
const MAX_STATUS_CHARS: usize = 120;
/// Deeper levels stop indenting, so pathological nesting cannot make output quadratic.
const MAX_INDENT_LEVELS: usize = 24;
/// Attributes wrap onto continuation lines past this many columns.
const LINE_WIDTH: usize = 100;

const DIM: &str = "\x1b[2m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const RESET: &str = "\x1b[0m";

/// Prints finished traces as human-readable span trees.
///
/// A trace is printed once its root span (no parent, or a remote parent) is exported.
/// Spans that show up without their root — late children, or traces whose root never
/// arrives — are printed as orphan trees on [`force_flush`](SpanExporter::force_flush),
/// on shutdown, or when more than 10 000 spans are waiting. Write errors are ignored:
/// the console is a debugging aid and must never fail the pipeline.
///
/// `TRACE_EXPORTER=stdout` (the default) installs it on standard output; to send the tree
/// elsewhere, give it a writer:
///
/// ```rust,standalone_crate
/// use trace_runtime::{Config, ConsoleExporter, config::Exporter};
///
/// let log = std::fs::File::create(std::env::temp_dir().join("trace-tree.txt")).unwrap();
/// let console = ConsoleExporter::to_writer(log).with_color(false);
/// let guard = trace_runtime::init_with(
///     Config::builder().exporter(Exporter::None).with_span_exporter(console).build(),
/// )
/// .unwrap();
/// trace_runtime::trace!("turn", { trace_runtime::trace!("stt", {}) });
/// drop(guard);
/// let tree = std::fs::read_to_string(std::env::temp_dir().join("trace-tree.txt")).unwrap();
/// assert!(tree.contains("turn") && tree.contains("└─ stt"));
/// ```
pub struct ConsoleExporter {
    state: Mutex<State>,
    color: bool,
}

struct State {
    out: Box<dyn Write + Send>,
    pending: TraceBuffer<TraceId, SpanData>,
    shut_down: bool,
}

impl ConsoleExporter {
    /// Prints to standard output, in color when stdout is a terminal and `NO_COLOR` is not
    /// set (see <https://no-color.org>).
    pub fn stdout() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = std::io::stdout().is_terminal() && !no_color;
        Self::new(Box::new(std::io::stdout()), color)
    }

    /// Prints to `writer`, without color unless [`with_color`](Self::with_color) says so.
    pub fn to_writer(writer: impl Write + Send + 'static) -> Self {
        Self::new(Box::new(writer), false)
    }

    /// Turns ANSI colors on or off: ids and attributes dim, errors red, cancellations yellow.
    #[must_use]
    pub fn with_color(mut self, color: bool) -> Self {
        self.color = color;
        self
    }

    fn new(out: Box<dyn Write + Send>, color: bool) -> Self {
        let state = State { out, pending: TraceBuffer::new(), shut_down: false };
        Self { state: Mutex::new(state), color }
    }

    /// A panic while printing must not silence the console for the rest of the process.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for ConsoleExporter {
    fn default() -> Self {
        Self::stdout()
    }
}

impl std::fmt::Debug for ConsoleExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No locking here: formatting must not wait on (or deadlock with) an export.
        f.debug_struct("ConsoleExporter").field("color", &self.color).finish_non_exhaustive()
    }
}

impl State {
    fn print(&mut self, trace_id: TraceId, color: bool) {
        if let Some(pending) = self.pending.take(&trace_id) {
            let text = render_trace(&pending.spans, color) + "\n";
            let _ = self.out.write_all(text.as_bytes());
        }
    }

    fn print_all(&mut self, color: bool) {
        for trace_id in self.pending.oldest_first() {
            self.print(trace_id, color);
        }
        let _ = self.out.flush();
    }
}

impl SpanExporter for ConsoleExporter {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let mut guard = self.lock();
        let state = &mut *guard;
        if state.shut_down {
            return ready(Err(OTelSdkError::AlreadyShutdown));
        }
        let mut complete = Vec::new();
        for span in batch {
            let trace_id = span.span_context.trace_id();
            if span.parent_span_id == SpanId::INVALID || span.parent_span_is_remote {
                complete.push(trace_id);
            }
            state.pending.push(trace_id, span);
        }
        // Printed only once the whole batch is in, so children later in the same batch
        // still land in their root's tree.
        let printed = !complete.is_empty() || state.pending.len() > MAX_BUFFERED;
        for trace_id in complete {
            state.print(trace_id, self.color);
        }
        while state.pending.len() > MAX_BUFFERED {
            let Some(&oldest) = state.pending.oldest() else { break };
            state.print(oldest, self.color);
        }
        if printed {
            let _ = state.out.flush();
        }
        ready(Ok(()))
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.lock().print_all(self.color);
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        let mut state = self.lock();
        state.print_all(self.color);
        state.shut_down = true;
        Ok(())
    }
}

/// Renders the spans of one trace as a tree (a forest when parents are missing), children
/// under their parent and siblings by start time. Every span appears exactly once, even
/// with duplicate or cyclic parent ids.
pub(crate) fn render_trace(spans: &[SpanData], color: bool) -> String {
    let Some(first) = spans.first() else {
        return String::new();
    };
    let index: HashMap<SpanId, usize> =
        spans.iter().enumerate().map(|(i, s)| (s.span_context.span_id(), i)).collect();
    let mut children = vec![Vec::new(); spans.len()];
    let mut tops = Vec::new();
    for (i, span) in spans.iter().enumerate() {
        let local_parent = !span.parent_span_is_remote;
        match index.get(&span.parent_span_id).filter(|_| local_parent) {
            Some(&p) if p != i => children[p].push(i),
            _ => tops.push(i),
        }
    }
    tops.sort_by_key(|&i| spans[i].start_time);
    for list in &mut children {
        list.sort_by_key(|&i| spans[i].start_time);
    }

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

    let mut visited = vec![false; spans.len()];
    // Spans in a parent cycle (corrupt ids) hang off no top; the pass over all indices
    // prints them instead of dropping them.
    for top in tops.iter().copied().chain(0..spans.len()) {
        // Iterative, so deep nesting cannot overflow the stack.
        let mut stack: Vec<(usize, String, Option<bool>)> = vec![(top, String::new(), None)];
        while let Some((i, prefix, last)) = stack.pop() {
            if std::mem::replace(&mut visited[i], true) {
                continue;
            }
            let (connector, extend) = match last {
                None => ("", ""),
                Some(false) => ("├─ ", "│  "),
                Some(true) => ("└─ ", "   "),
            };
            let mut child_prefix = prefix.clone();
            if prefix.chars().count() < MAX_INDENT_LEVELS * 3 {
                child_prefix.push_str(extend);
            }
            let kids = &children[i];
            // Keeps the vertical line down to the first child unbroken.
            let body = if kids.is_empty() { child_prefix.clone() } else { format!("{child_prefix}│ ") };
            let head = format!("{prefix}{connector}{}", span_head(&spans[i], &index, color));
            let attrs = attr_items(&spans[i].attributes);
            write_wrapped(&mut out, &head, "  ", &attrs, &body, color);
            for event in spans[i].events.iter() {
                let head = format!("{body}• {}", clip(&one_line(&event.name), MAX_NAME_CHARS));
                let attrs = attr_items(&event.attributes);
                write_wrapped(&mut out, &head, " ", &attrs, &format!("{body}  "), color);
            }
            for (k, &kid) in kids.iter().enumerate().rev() {
                stack.push((kid, child_prefix.clone(), Some(k + 1 == kids.len())));
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::InstrumentationScope;
    use opentelemetry::trace::{Event, SpanContext, TraceFlags, TraceState};
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
    use std::sync::Arc;
    use std::task::{Context, Poll, Waker};
    use std::time::SystemTime;

    const TRACE: u128 = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736;

    fn at(us: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000) + Duration::from_micros(us)
    }

    /// `parent` 0 means a root; `start`/`end` are microseconds past the base time.
    fn span(trace: u128, id: u64, parent: u64, name: &'static str, start: u64, end: u64) -> SpanData {
        let (flags, state) = (TraceFlags::SAMPLED, TraceState::NONE);
        SpanData {
            span_context: SpanContext::new(trace.into(), id.into(), flags, false, state),
            parent_span_id: parent.into(),
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: name.into(),
            start_time: at(start),
            end_time: at(end),
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: InstrumentationScope::default(),
        }
    }

    fn with_attrs(mut s: SpanData, attrs: Vec<KeyValue>) -> SpanData {
        s.attributes = attrs;
        s
    }

    #[derive(Clone, Default)]
    struct SharedBuf(Arc<Mutex<Vec<u8>>>);

    impl Write for SharedBuf {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl SharedBuf {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    /// `export` completes synchronously, so a single poll is enough.
    fn export(exporter: &ConsoleExporter, batch: Vec<SpanData>) -> OTelSdkResult {
        let mut fut = std::pin::pin!(exporter.export(batch));
        match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(result) => result,
            Poll::Pending => panic!("export future should be ready"),
        }
    }

    /// Arrives children first, as the SDK delivers them.
    fn sample_trace() -> Vec<SpanData> {
        let mut chat = with_attrs(
            span(TRACE, 2, 1, "chat gpt-4o-mini", 100, 3_200),
            vec![
                KeyValue::new("gen_ai.provider.name", "openai"),
                KeyValue::new("code.function.name", "agent::chat"),
                KeyValue::new("gen_ai.request.model", "gpt-4o-mini"),
                KeyValue::new("gen_ai.usage.input_tokens", 31),
            ],
        );
        chat.span_kind = SpanKind::Client;
        let mut resample = span(TRACE, 4, 1, "resample", 5_000, 5_020);
        resample.status = Status::error("connection reset");
        let message = vec![KeyValue::new("exception.message", "boom")];
        resample.events.events.push(Event::new("exception", at(5_010), message, 0));
        let session = vec![KeyValue::new("session.id", "s-1")];
        let root = with_attrs(span(TRACE, 1, 0, "turn", 0, 12_400), session);
        vec![span(TRACE, 3, 2, "tool lookup", 1_000, 2_020), resample, chat, root]
    }

    #[test]
    fn fmt_duration_picks_unit() {
        assert_eq!(fmt_duration(Duration::ZERO), "0 ns");
        assert_eq!(fmt_duration(Duration::from_nanos(850)), "850 ns");
        assert_eq!(fmt_duration(Duration::from_nanos(12_340)), "12.3 µs");
        assert_eq!(fmt_duration(Duration::from_micros(3_100)), "3.10 ms");
        assert_eq!(fmt_duration(Duration::from_millis(2_450)), "2.45 s");
        assert_eq!(fmt_duration(Duration::from_nanos(999_999)), "1.00 ms");
        assert_eq!(fmt_duration(Duration::from_nanos(999_999_999)), "1.00 s");
    }

    #[test]
    fn renders_children_under_parent_in_start_order() {
        let text = render_trace(&sample_trace(), false);
        let expected = format!(
            "trace {TRACE:032x} · turn · 12.40 ms\n\
             turn  12.40 ms  session.id=s-1\n\
             ├─ chat gpt-4o-mini  client  3.10 ms  gen_ai.provider.name=openai \
             gen_ai.request.model=gpt-4o-mini\n\
             │  │ gen_ai.usage.input_tokens=31\n\
             │  └─ tool lookup  1.02 ms\n\
             └─ resample  20.0 µs  ✗ error: connection reset\n   \
             • exception exception.message=boom\n"
        );
        assert_eq!(text, expected);
        assert!(!text.contains("code."), "code.* attributes are skipped");
    }

    #[test]
    fn events_sit_under_their_span_and_above_its_children() {
        let mut root = span(TRACE, 1, 0, "turn", 0, 100);
        root.events.events.push(Event::new("barge_in", at(5), vec![], 0));
        let text = render_trace(&[span(TRACE, 2, 1, "stt", 1, 2), root], false);
        let lines: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(lines, ["turn  100.0 µs", "│ • barge_in", "└─ stt  1.0 µs"]);
    }

    #[test]
    fn cancelled_marker_and_single_line_error() {
        let cancelled = vec![KeyValue::new("span.cancelled", true)];
        let mut s = with_attrs(span(TRACE, 1, 0, "llm", 0, 10), cancelled);
        assert!(render_trace(std::slice::from_ref(&s), false).ends_with("\nllm  10.0 µs  cancelled\n"));
        s.status = Status::error("line one\nline two");
        let text = render_trace(&[s], false);
        assert!(text.contains("✗ error: line one line two  cancelled\n"), "{text}");
    }

    #[test]
    fn long_attribute_values_and_lines_are_truncated() {
        let mut attrs = vec![KeyValue::new("prompt", "x".repeat(100)), KeyValue::new("note", "a b")];
        for i in 0..20 {
            attrs.push(KeyValue::new(format!("attr.{i:02}"), "0123456789abcdef0123456789"));
        }
        let text = render_trace(&[with_attrs(span(TRACE, 1, 0, "chat", 0, 1), attrs)], false);
        let clipped = format!("chat  1.0 µs  prompt={}… note=\"a b\"\n", "x".repeat(59));
        assert!(text.contains(&clipped), "{text}");
        assert!(text.ends_with(" … +14 more\n"), "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= LINE_WIDTH), "{text}");
    }

    #[test]
    fn orphans_and_cycles_still_print_every_span() {
        let spans = [
            span(TRACE, 5, 9, "late child", 10, 20),
            span(TRACE, 6, 7, "a", 0, 1),
            span(TRACE, 7, 6, "b", 0, 1),
        ];
        let text = render_trace(&spans, false);
        assert!(text.starts_with(&format!("trace {TRACE:032x} · late child · 20.0 µs\n")));
        assert!(text.contains("\nlate child  10.0 µs  (orphan of 0000000000000009)\n"), "{text}");
        assert!(text.ends_with("\na  1.0 µs\n└─ b  1.0 µs\n"), "{text}");
    }

    #[test]
    fn color_only_when_enabled() {
        let plain = render_trace(&sample_trace(), false);
        assert!(!plain.contains('\x1b'));
        let colored = render_trace(&sample_trace(), true);
        assert_eq!(colored.lines().count(), plain.lines().count(), "escapes take no width");
        assert!(colored.contains(&format!("{RED}✗ error: connection reset{RESET}")));
        assert!(colored.contains(&format!("{DIM}session.id=s-1{RESET}")));
        assert!(colored.contains(&format!("{DIM}{TRACE:032x}{RESET}")));
    }

    #[test]
    fn child_before_root_prints_one_tree() {
        let buf = SharedBuf::default();
        let exporter = ConsoleExporter::to_writer(buf.clone());
        let mut spans = sample_trace();
        let root = spans.pop().unwrap();
        export(&exporter, spans).unwrap();
        assert_eq!(buf.text(), "", "nothing printed before the root arrives");
        export(&exporter, vec![root]).unwrap();
        let text = buf.text();
        assert_eq!(text, render_trace(&sample_trace(), false) + "\n");
        exporter.force_flush().unwrap();
        assert_eq!(buf.text(), text, "nothing left buffered");
    }

    #[test]
    fn force_flush_prints_late_children_and_rootless_traces() {
        let buf = SharedBuf::default();
        let exporter = ConsoleExporter::to_writer(buf.clone());
        export(&exporter, vec![span(TRACE, 1, 0, "turn", 0, 10)]).unwrap();
        // Outlived its parent (a detached task), so it arrives after the tree was printed.
        let late = vec![span(TRACE, 2, 1, "cleanup", 20, 30), span(7, 3, 8, "lost", 0, 1)];
        export(&exporter, late).unwrap();
        assert!(!buf.text().contains("cleanup"));
        exporter.force_flush().unwrap();
        let text = buf.text();
        assert!(text.contains("\ncleanup  10.0 µs  (orphan of 0000000000000001)\n"), "{text}");
        assert!(text.contains("\nlost  1.0 µs  (orphan of 0000000000000008)\n"), "{text}");
        assert_eq!(text.matches("trace ").count(), 3, "{text}");
    }

    #[test]
    fn buffer_bound_prints_oldest_trace_first() {
        let buf = SharedBuf::default();
        let exporter = ConsoleExporter::to_writer(buf.clone());
        export(&exporter, vec![span(1, 1, 99, "oldest", 0, 1)]).unwrap();
        let filler = (0..MAX_BUFFERED as u64).map(|i| span(2, i + 10, 99, "filler", 0, 1));
        export(&exporter, filler.collect()).unwrap();
        let text = buf.text();
        assert!(text.contains("oldest") && !text.contains("filler"), "evicts only what it must");
    }

    #[test]
    fn shutdown_prints_buffered_spans_and_rejects_later_exports() {
        let buf = SharedBuf::default();
        let exporter = ConsoleExporter::to_writer(buf.clone());
        export(&exporter, vec![span(TRACE, 2, 1, "pending", 0, 1)]).unwrap();
        exporter.shutdown().unwrap();
        assert!(buf.text().contains("\npending  1.0 µs"));
        let late = export(&exporter, vec![span(TRACE, 1, 0, "turn", 0, 1)]);
        assert!(matches!(late, Err(OTelSdkError::AlreadyShutdown)));
    }
}
