//! A span exporter that prints each finished trace as a tree, for local development.
//!
//! Spans finish children-first and the SDK hands them over in arbitrary batches, so
//! printing span by span would scatter one trace over many unrelated lines. The exporter
//! therefore holds spans back until their trace's root has finished.

use std::future::ready;
use std::io::{IsTerminal, Write};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use crate::export::trace_buffer::TraceBuffer;

mod render;
pub(crate) mod tree;

use render::render_trace;

/// Spans held back while waiting for roots; beyond this the oldest trace is printed early,
/// so a root that never comes (lost, or still running) cannot grow memory without bound.
const MAX_BUFFERED: usize = 10_000;

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
    /// Columns the tree fits in.
    width: usize,
}

struct State {
    out: Box<dyn Write + Send>,
    pending: TraceBuffer<TraceId, SpanData>,
    shut_down: bool,
}

impl ConsoleExporter {
    /// Prints to standard output, in color when stdout is a terminal and `NO_COLOR` is not
    /// set (see <https://no-color.org>), fitted to the terminal's width (`COLUMNS` when set;
    /// 80 columns when stdout is not a terminal).
    pub fn stdout() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let terminal = std::io::stdout().is_terminal();
        let columns = terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| usize::from(w.0));
        Self::new(Box::new(std::io::stdout()), terminal && !no_color, columns)
    }

    /// Prints to `writer`, without color unless [`with_color`](Self::with_color) says so, in
    /// 80 columns (`COLUMNS` when set) unless [`with_width`](Self::with_width) says otherwise.
    pub fn to_writer(writer: impl Write + Send + 'static) -> Self {
        Self::new(Box::new(writer), false, None)
    }

    /// Fits the tree in `columns` (at least 40): attributes past it wrap onto continuation
    /// lines under their span.
    ///
    /// ```
    /// let console = trace_runtime::ConsoleExporter::to_writer(std::io::sink()).with_width(120);
    /// # drop(console);
    /// ```
    #[must_use]
    pub fn with_width(mut self, columns: usize) -> Self {
        self.width = columns.max(render::MIN_WIDTH);
        self
    }

    /// Turns ANSI colors on or off: ids and attributes dim, errors red, cancellations yellow.
    #[must_use]
    pub fn with_color(mut self, color: bool) -> Self {
        self.color = color;
        self
    }

    fn new(out: Box<dyn Write + Send>, color: bool, terminal_columns: Option<usize>) -> Self {
        let state = State { out, pending: TraceBuffer::new(), shut_down: false };
        // `COLUMNS` wins, as shells and `less` use it; a value that is not a width is ignored.
        let columns =
            std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse::<usize>().ok()).filter(|&c| c > 0);
        let width = columns.or(terminal_columns).unwrap_or(render::DEFAULT_WIDTH).max(render::MIN_WIDTH);
        Self { state: Mutex::new(state), color, width }
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
        f.debug_struct("ConsoleExporter")
            .field("color", &self.color)
            .field("width", &self.width)
            .finish_non_exhaustive()
    }
}

impl State {
    fn print(&mut self, trace_id: TraceId, (color, width): (bool, usize)) {
        if let Some(pending) = self.pending.take(&trace_id) {
            let text = render_trace(&pending.spans, color, width) + "\n";
            let _ = self.out.write_all(text.as_bytes());
        }
    }

    fn print_all(&mut self, style: (bool, usize)) {
        for trace_id in self.pending.oldest_first() {
            self.print(trace_id, style);
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
            state.print(trace_id, (self.color, self.width));
        }
        while state.pending.len() > MAX_BUFFERED {
            let Some(&oldest) = state.pending.oldest() else { break };
            state.print(oldest, (self.color, self.width));
        }
        if printed {
            let _ = state.out.flush();
        }
        ready(Ok(()))
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.lock().print_all((self.color, self.width));
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        let mut state = self.lock();
        state.print_all((self.color, self.width));
        state.shut_down = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::render::{DEFAULT_WIDTH as LINE_WIDTH, DIM, RED, RESET, fmt_duration};
    use super::*;
    use opentelemetry::InstrumentationScope;
    use opentelemetry::KeyValue;
    use opentelemetry::trace::{Event, SpanContext, TraceFlags, TraceState};
    use opentelemetry::trace::{SpanKind, Status};
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
    fn repeated_siblings_print_as_one_line_with_their_p50_and_failures() {
        let mut spans = vec![span(TRACE, 1, 0, "turn", 0, 1000)];
        for i in 0..50u64 {
            let mut frame = with_attrs(
                span(TRACE, 10 + i, 1, "resample", 1 + i, 2 + i),
                vec![KeyValue::new("pipeline.element", "resample")],
            );
            if i == 7 {
                frame.status = opentelemetry::trace::Status::error("clipped");
            }
            spans.push(frame);
        }
        spans.push(span(TRACE, 2, 1, "llm", 100, 900));
        let text = render_trace(&spans, false, LINE_WIDTH);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "header, root, one group line, llm: {text}");
        assert!(lines[0].ends_with("· 1 error"), "{text}");
        assert!(
            lines[2].starts_with(
                "├─ resample ×50  p50 1.0 µs  max 1.0 µs  ✗ 1 failed  pipeline.element=resample"
            ),
            "{text}"
        );
        assert!(lines[3].starts_with("└─ llm"), "{text}");
        // Two of a kind are not a group.
        let text = render_trace(&spans[..3], false, LINE_WIDTH);
        assert_eq!(text.matches("resample  1.0 µs").count(), 2, "{text}");
    }

    #[test]
    fn the_tree_fits_the_width_wide_characters_count_twice_and_a_failed_root_is_marked() {
        let attrs: Vec<KeyValue> =
            (0..12).map(|i| KeyValue::new(format!("attr.key{i}"), "値値値値値値")).collect();
        let mut root = with_attrs(span(TRACE, 1, 0, "応答 turn", 0, 10), attrs);
        root.status = opentelemetry::trace::Status::error("upstream failed");
        for columns in [60, 80, 132] {
            let text = render_trace(std::slice::from_ref(&root), false, columns);
            for line in text.lines().skip(1) {
                assert!(super::render::display_width(line) <= columns, "{columns}: {line:?}");
            }
            assert!(text.lines().next().unwrap().ends_with("✗ failed (1 error)"), "{text}");
        }
    }

    #[test]
    fn control_characters_print_escaped_and_floats_without_noise() {
        let s = with_attrs(
            span(TRACE, 1, 0, "evil\x1b[2Jname", 0, 1),
            vec![KeyValue::new("gen_ai.usage.cost", 0.000104 + 1e-20 + 0.00000000000000001)],
        );
        let text = render_trace(&[s], false, LINE_WIDTH);
        assert!(!text.contains('\x1b') && text.contains("evil\\u{1b}[2Jname"), "{text:?}");
        assert!(text.contains("gen_ai.usage.cost=0.000104"), "{text}");
        assert!(!text.contains("0.00010400000"), "{text}");
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
        let text = render_trace(&sample_trace(), false, LINE_WIDTH);
        let expected = format!(
            "trace {TRACE:032x} · turn · 12.40 ms · 1 error\n\
             turn  12.40 ms  session.id=s-1\n\
             ├─ chat gpt-4o-mini  client  3.10 ms  gen_ai.provider.name=openai\n\
             │  │ gen_ai.request.model=gpt-4o-mini gen_ai.usage.input_tokens=31\n\
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
        let text = render_trace(&[span(TRACE, 2, 1, "stt", 1, 2), root], false, LINE_WIDTH);
        let lines: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(lines, ["turn  100.0 µs", "│ • barge_in", "└─ stt  1.0 µs"]);
    }

    #[test]
    fn cancelled_marker_and_single_line_error() {
        let cancelled = vec![KeyValue::new("span.cancelled", true)];
        let mut s = with_attrs(span(TRACE, 1, 0, "llm", 0, 10), cancelled);
        assert!(
            render_trace(std::slice::from_ref(&s), false, LINE_WIDTH)
                .ends_with("\nllm  10.0 µs  cancelled\n")
        );
        s.status = Status::error("line one\nline two");
        let text = render_trace(&[s], false, LINE_WIDTH);
        assert!(
            text.contains("✗ error: line one\\u{a}line two  cancelled\n"),
            "escaped, on one line: {text}"
        );
    }

    #[test]
    fn long_attribute_values_and_lines_are_truncated() {
        let mut attrs = vec![KeyValue::new("prompt", "x".repeat(100)), KeyValue::new("note", "a b")];
        for i in 0..20 {
            attrs.push(KeyValue::new(format!("attr.{i:02}"), "0123456789abcdef0123456789"));
        }
        let text = render_trace(&[with_attrs(span(TRACE, 1, 0, "chat", 0, 1), attrs)], false, 100);
        let clipped = format!("chat  1.0 µs  prompt={}… note=\"a b\"\n", "x".repeat(59));
        assert!(text.contains(&clipped), "{text}");
        assert!(text.ends_with(" … +14 more\n"), "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
    }

    #[test]
    fn orphans_and_cycles_still_print_every_span() {
        let spans = [
            span(TRACE, 5, 9, "late child", 10, 20),
            span(TRACE, 6, 7, "a", 0, 1),
            span(TRACE, 7, 6, "b", 0, 1),
        ];
        let text = render_trace(&spans, false, LINE_WIDTH);
        assert!(text.starts_with(&format!("trace {TRACE:032x} · late child · 20.0 µs\n")));
        assert!(text.contains("\nlate child  10.0 µs  (orphan of 0000000000000009)\n"), "{text}");
        assert!(text.ends_with("\na  1.0 µs\n└─ b  1.0 µs\n"), "{text}");
    }

    #[test]
    fn color_only_when_enabled() {
        let plain = render_trace(&sample_trace(), false, LINE_WIDTH);
        assert!(!plain.contains('\x1b'));
        let colored = render_trace(&sample_trace(), true, LINE_WIDTH);
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
        assert_eq!(text, render_trace(&sample_trace(), false, LINE_WIDTH) + "\n");
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
