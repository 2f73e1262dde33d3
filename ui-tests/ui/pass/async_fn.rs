// An async fn: the span is current across `.await` and ends when the future completes.
use trace_runtime::{testing, trace, trace_llm};
use ui_tests::{assert_child, span, str_attr};

#[trace_llm(provider = "openai", model = "gpt-4o-mini")]
async fn complete(prompt: &str) -> String {
    tokio::task::yield_now().await;
    trace!("inner", { prompt.to_uppercase() })
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let (answer, spans) = testing::capture_async(trace!("root", async { complete("hi").await })).await;
    assert_eq!(answer, "HI");
    assert_eq!(spans.len(), 3);
    let s = span(&spans, "chat gpt-4o-mini");
    assert_child(s, span(&spans, "root"));
    assert_child(span(&spans, "inner"), s);
    assert_eq!(s.span_kind, trace_runtime::opentelemetry::trace::SpanKind::Client);
    assert_eq!(str_attr(s, "gen_ai.operation.name"), "chat");
    assert_eq!(str_attr(s, "gen_ai.provider.name"), "openai");
    assert_eq!(str_attr(s, "gen_ai.request.model"), "gpt-4o-mini");
}
