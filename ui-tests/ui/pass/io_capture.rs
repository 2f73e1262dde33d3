// `input = EXPR` and `output = path`: recorded as GenAI JSON messages when IO capture is on.
use trace_runtime::config::Exporter;
use trace_runtime::io::Message;
use trace_runtime::{Config, trace_llm};
use ui_tests::{Memory, attr, span};

fn reply_messages(text: &String) -> Vec<Message> {
    vec![Message::assistant(text.as_str()).finish_reason("stop")]
}

#[trace_llm(provider = "openai", model = "gpt-4o", input = history, output = String::as_str)]
fn complete(history: &[Message]) -> Result<String, String> {
    Ok(format!("{} messages", history.len()))
}

#[trace_llm(provider = "anthropic", model = "claude-sonnet-4", input = prompt, output = reply_messages)]
async fn ask(prompt: &str) -> String {
    tokio::task::yield_now().await;
    prompt.to_uppercase()
}

fn main() {
    let memory = Memory::default();
    let config = Config::builder().exporter(Exporter::None).capture_io(true).with_span_exporter(memory.clone());
    let guard = trace_runtime::init_with(config.build()).unwrap();
    complete(&[Message::user("hi")]).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(runtime.block_on(ask("yes")), "YES");
    assert!(guard.flush());
    let spans = memory.spans();
    let s = span(&spans, "chat gpt-4o");
    assert_eq!(
        attr(s, "gen_ai.input.messages").as_str(),
        r#"[{"role":"user","parts":[{"type":"text","content":"hi"}]}]"#
    );
    assert_eq!(
        attr(s, "gen_ai.output.messages").as_str(),
        r#"[{"role":"assistant","parts":[{"type":"text","content":"1 messages"}]}]"#
    );
    let s = span(&spans, "chat claude-sonnet-4");
    assert_eq!(
        attr(s, "gen_ai.input.messages").as_str(),
        r#"[{"role":"user","parts":[{"type":"text","content":"yes"}]}]"#
    );
    assert_eq!(
        attr(s, "gen_ai.output.messages").as_str(),
        r#"[{"role":"assistant","parts":[{"type":"text","content":"YES"}],"finish_reason":"stop"}]"#
    );
}
