// `operation = ..` on trace_llm: the span is named "{operation} {model}".
use trace_runtime::opentelemetry::Value;
use trace_runtime::{testing, trace, trace_llm};
use ui_tests::{assert_child, attr, span, str_attr};

#[trace_llm(provider = "openai", model = "text-embedding-3-small", operation = "embeddings")]
fn embed(text: &str) -> Vec<f32> {
    vec![text.len() as f32]
}

#[trace_llm(provider = "openai", model = model.as_str(), operation = op, fields(gen_ai.request.temperature = 0.5))]
async fn dynamic(op: &str, model: String) -> usize {
    model.len() + op.len()
}

fn main() {
    let (v, spans) = testing::capture(|| trace!("root", { embed("abc") }));
    assert_eq!(v, [3.0]);
    let s = span(&spans, "embeddings text-embedding-3-small");
    assert_child(s, span(&spans, "root"));
    assert_eq!(str_attr(s, "gen_ai.operation.name"), "embeddings");
    assert_eq!(str_attr(s, "gen_ai.request.model"), "text-embedding-3-small");

    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let (n, spans) = runtime.block_on(testing::capture_async(trace!("root", async {
        dynamic("text_completion", "m1".to_string()).await
    })));
    assert_eq!(n, 17);
    let s = span(&spans, "text_completion m1");
    assert_child(s, span(&spans, "root"));
    assert_eq!(attr(s, "gen_ai.request.temperature"), &Value::F64(0.5));
}
