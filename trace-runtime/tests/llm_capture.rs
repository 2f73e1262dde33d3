//! LLM semantics seen through `testing::capture` (no `init`): token ledgers under concurrency,
//! cost on spans, unpriced models, trace summaries, redaction of every exported string.

use std::time::Duration;

use opentelemetry::trace::{SpanId, Status};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;
use trace_runtime::summary::TraceSummary;
#[cfg(feature = "tokio")]
use trace_runtime::tokens;
use trace_runtime::tokens::Ledger;
use trace_runtime::{Usage, record_usage, span, testing, trace, trace_llm};

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| &kv.value)
}

#[trace_llm(provider = "openai", model = model)]
async fn call(model: &str, input: u64, output: u64) {
    tokio::task::yield_now().await;
    record_usage(Usage { input_tokens: input, output_tokens: output, ..Default::default() });
}

#[cfg(feature = "tokio")] // `trace_runtime::spawn`
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_traces_keep_their_own_counts() {
    // 16 traces at once, each of 10 calls on tasks of a multi-threaded runtime; trace `t` uses
    // its own token counts, so any count lost or given to the wrong trace shows.
    let traces = (0..16u64).map(|t| {
        tokio::spawn(testing::capture_async(async move {
            trace!("turn", async move {
                let mut calls = Vec::new();
                for i in 0..10u64 {
                    let model = if i % 2 == 0 { "gpt-4o-mini" } else { "unpriced-model" };
                    calls.push(trace_runtime::spawn(call(model, 100 + t, 10 + t)));
                }
                for c in calls {
                    c.await.unwrap();
                }
                tokens::current_trace()
            })
            .await
        }))
    });
    let results = futures::future::join_all(traces).await;
    for (t, result) in results.into_iter().enumerate() {
        let t = t as u64;
        let (from_worker, spans) = result.unwrap();
        assert_eq!(spans.len(), 11);
        for ledger in [from_worker, Ledger::from_spans(&spans)] {
            let priced = ledger.model("gpt-4o-mini").unwrap();
            assert_eq!(
                (priced.calls, priced.usage.input_tokens, priced.usage.output_tokens),
                (5, 5 * (100 + t), 5 * (10 + t))
            );
            let expected = 5.0 * ((100 + t) as f64 * 0.15 + (10 + t) as f64 * 0.60) / 1e6;
            assert!((priced.cost().unwrap() - expected).abs() < 1e-12);
            let unpriced = ledger.model("unpriced-model").unwrap();
            assert_eq!((unpriced.calls, unpriced.unpriced_calls, unpriced.cost()), (5, 5, None));
            assert_eq!(ledger.total_cost(), None, "an unpriced model is never $0");
        }
        let id = spans[0].span_context.trace_id();
        assert_eq!(tokens::trace(id).unwrap().calls(), 10);
    }
    assert!(tokens::global().is_empty(), "captured spans stay out of the process-wide ledger");
}

#[test]
fn priced_spans_carry_their_cost_and_unpriced_ones_none() {
    #[trace_llm(provider = "anthropic", model = "claude-sonnet-4")]
    fn priced() {
        span::set(trace_runtime::keys::gen_ai::response::model, "claude-sonnet-4-20250514");
        record_usage(Usage {
            input_tokens: 2_000,
            cache_read_tokens: 1_000,
            output_tokens: 100,
            ..Default::default()
        });
    }
    #[trace_llm(provider = "acme", model = "house-model")]
    fn unpriced() {
        record_usage(Usage { input_tokens: 5, ..Default::default() });
    }
    let (_, spans) = testing::capture(|| {
        priced();
        unpriced();
    });
    let cost = match attr(&spans[0], "gen_ai.usage.cost") {
        Some(Value::F64(c)) => *c,
        other => panic!("no cost: {other:?}"),
    };
    // 1000 uncached × $3 + 1000 cached × $0.30 + 100 × $15, per million
    assert!((cost - 0.0048).abs() < 1e-12, "{cost}");
    assert_eq!(attr(&spans[1], "gen_ai.usage.cost"), None);
    let ledger = Ledger::from_spans(&spans);
    assert_eq!(ledger.entries()[0].model, "claude-sonnet-4-20250514", "the response model keys the ledger");
    assert_eq!(ledger.entries()[1].unpriced_calls, 1);
}

#[test]
fn usage_recorded_in_steps_adds_up_on_one_span() {
    #[trace_llm(provider = "openai", model = "gpt-4o")]
    fn streamed() {
        for _ in 0..4 {
            record_usage(Usage { output_tokens: 1, reasoning_tokens: 1, ..Default::default() });
        }
        record_usage(Usage { input_tokens: 40, ..Default::default() });
    }
    let (_, spans) = testing::capture(streamed);
    assert_eq!(attr(&spans[0], "gen_ai.usage.output_tokens"), Some(&Value::I64(4)));
    assert_eq!(attr(&spans[0], "gen_ai.usage.reasoning.output_tokens"), Some(&Value::I64(4)));
    assert_eq!(attr(&spans[0], "gen_ai.usage.input_tokens"), Some(&Value::I64(40)));
}

#[test]
fn the_summary_of_a_known_trace() {
    #[trace_llm(provider = "openai", model = "gpt-4o-mini")]
    fn ask(input: u64, output: u64) {
        record_usage(Usage { input_tokens: input, output_tokens: output, ..Default::default() });
    }
    let (id, spans) = testing::capture(|| {
        trace!("answer_question", {
            ask(21, 20);
            ask(10, 7);
            span::trace_id().unwrap()
        })
    });
    let summary = TraceSummary::of_trace(id).unwrap();
    assert_eq!(summary, TraceSummary { duration: summary.duration, ..TraceSummary::from_spans(&spans) });
    let root = spans.iter().find(|s| s.parent_span_id == SpanId::INVALID).unwrap();
    assert_eq!(summary.duration, root.end_time.duration_since(root.start_time).unwrap());
    let known = TraceSummary { duration: Duration::from_millis(2450), ..summary };
    assert_eq!(
        known.to_string(),
        "\
╭─ Trace summary: answer_question ─────────────────────────────────────────────╮
│ spans 3 · duration 2.45 s · 2 LLM calls · cost $0.0000209                    │
│ model                  calls    input   output   cached reasoning       cost │
│ gpt-4o-mini                2       31       27        0         0 $0.0000209 │
│ total                      2       31       27        0         0 $0.0000209 │
╰──────────────────────────────────────────────────────────────────────────────╯
"
    );
}

#[test]
fn the_summary_of_a_one_span_trace_has_its_ledger_and_one_without_usage_an_empty_one() {
    // A one-span trace has no open entry on the worker: whether it has a ledger comes from the
    // span itself.
    #[trace_llm(provider = "openai", model = "gpt-4o-mini")]
    fn ask(input: u64) {
        if input > 0 {
            record_usage(Usage { input_tokens: input, output_tokens: 2, ..Default::default() });
        }
    }
    for input in [12, 0] {
        let ((), spans) = testing::capture(|| ask(input));
        assert_eq!(spans.len(), 1);
        let summary = TraceSummary::of_trace(spans[0].span_context.trace_id()).unwrap();
        assert_eq!(summary.ledger, Ledger::from_spans(&spans), "input {input}: {summary:?}");
        assert_eq!(summary.ledger.is_empty(), input == 0, "input {input}: {summary:?}");
    }
}

#[test]
fn every_exported_string_is_redacted() {
    let secret = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz012345";
    let (_, spans) = testing::capture(|| {
        trace!(
            format!("call for {}", "ada@example.com"),
            "http.request.header.authorization" = format!("Bearer {secret}"),
            {
                span::set_unchecked("user.contact", "write to ada@example.com");
                span::set(
                    trace_runtime::keys::gen_ai::request::stop_sequences,
                    ["AKIAIOSFODNN7EXAMPLE", "ok"],
                );
                span::add_event("retry", [KeyValue::new("key", format!("used {secret}"))]);
                span::add_event("dump", [KeyValue::new("body", "x".repeat(100_000))]);
                span::set_error(format!("401 for key {secret}"));
            }
        )
    });
    let s = &spans[0];
    assert_eq!(s.name, "call for [REDACTED:email]");
    assert_eq!(attr(s, "http.request.header.authorization").unwrap().as_str(), "[REDACTED:bearer]");
    assert_eq!(attr(s, "user.contact").unwrap().as_str(), "write to [REDACTED:email]");
    assert_eq!(
        attr(s, "gen_ai.request.stop_sequences").unwrap().to_string(),
        "[\"[REDACTED:aws_key]\",\"ok\"]"
    );
    assert_eq!(s.events.events[0].attributes[0].value.as_str(), "used [REDACTED:openai_key]");
    let body = s.events.events[1].attributes[0].value.as_str();
    assert_eq!(body.len(), trace_runtime::limits::MAX_VALUE_BYTES);
    assert!(body.ends_with(trace_runtime::redact::TRUNCATED));
    assert_eq!(s.status, Status::error("401 for key [REDACTED:openai_key]"));
}
