// `usage = path`: applied to the `Ok` value of a `Result`, or to a plain return value.
use trace_runtime::opentelemetry::Value;
use trace_runtime::{Usage, testing, trace, trace_llm};
use ui_tests::{assert_child, assert_error, attr, span};

struct Reply {
    text: String,
    prompt_tokens: u64,
    completion_tokens: u64,
}

fn usage_of(reply: &Reply) -> Usage {
    Usage { input_tokens: reply.prompt_tokens, output_tokens: reply.completion_tokens, ..Default::default() }
}

mod providers {
    // Takes `&str` for a fn returning `String`: the argument is deref-coerced.
    pub fn tokens_of(text: &str) -> trace_runtime::Usage {
        trace_runtime::Usage { output_tokens: text.len() as u64, ..Default::default() }
    }
}

#[trace_llm(provider = "openai", model = "gpt-4o", usage = usage_of)]
fn complete(prompt: &str) -> Result<Reply, String> {
    if prompt.is_empty() {
        return Err("empty prompt".into());
    }
    Ok(Reply { text: prompt.to_uppercase(), prompt_tokens: 12, completion_tokens: 5 })
}

#[trace_llm(provider = "openai", model = "gpt-4o", usage = providers::tokens_of)]
async fn echo(prompt: &str) -> String {
    tokio::task::yield_now().await;
    prompt.repeat(2)
}

fn main() {
    let (out, spans) = testing::capture(|| trace!("root", { complete("hi").map(|r| r.text) }));
    assert_eq!(out.unwrap(), "HI");
    let s = span(&spans, "chat gpt-4o");
    assert_child(s, span(&spans, "root"));
    assert_eq!(attr(s, "gen_ai.usage.input_tokens"), &Value::I64(12));
    assert_eq!(attr(s, "gen_ai.usage.output_tokens"), &Value::I64(5));

    let (out, spans) = testing::capture(|| complete(""));
    assert!(out.is_err());
    let s = span(&spans, "chat gpt-4o");
    assert_error(s, "empty prompt");
    assert!(s.attributes.iter().all(|kv| kv.key.as_str() != "gen_ai.usage.input_tokens"));

    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let (out, spans) = runtime.block_on(testing::capture_async(trace!("root", async { echo("ab").await })));
    assert_eq!(out, "abab");
    let s = span(&spans, "chat gpt-4o");
    assert_child(s, span(&spans, "root"));
    assert_eq!(attr(s, "gen_ai.usage.output_tokens"), &Value::I64(4));
}
