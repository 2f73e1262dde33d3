//! An LLM agent over a fake model client: a turn plans with one model call, runs a tool, and
//! answers with a second call. Run it with `cargo run -p examples --bin llm_agent`; the default
//! `stdout` exporter prints the span tree when the turn ends.

use std::fmt;
use std::time::Duration;

use trace_runtime::{Usage, keys, span, trace, trace_llm, trace_pipeline};

/// What a real client returns: text and token counts.
struct Completion {
    text: String,
    usage: Usage,
}

#[derive(Debug)]
struct ModelError(String);

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "model error: {}", self.0)
    }
}

impl std::error::Error for ModelError {}

/// A stand-in for an OpenAI-style client: answers after a short delay, with plausible usage.
struct FakeClient {
    model: String,
}

fn usage_of(completion: &Completion) -> Usage {
    completion.usage
}

impl FakeClient {
    #[trace_llm(provider = "openai", model = self.model.as_str(), usage = usage_of,
                fields(gen_ai.request.temperature = 0.2, gen_ai.request.max_tokens = 256))]
    async fn complete(&self, prompt: &str) -> Result<Completion, ModelError> {
        tokio::time::sleep(Duration::from_millis(30)).await;
        if prompt.is_empty() {
            return Err(ModelError("empty prompt".into()));
        }
        let words = prompt.split_whitespace().count() as u64;
        span::set(keys::gen_ai::response::finish_reasons, ["stop"]);
        Ok(Completion {
            text: format!("answer to: {prompt}"),
            usage: Usage { input_tokens: 12 + words * 2, output_tokens: 27, ..Default::default() },
        })
    }
}

#[trace_pipeline(name = "agent", element = "tool", fields(gen_ai.tool.name = "weather"))]
async fn run_tool(city: &str) -> String {
    tokio::time::sleep(Duration::from_millis(10)).await;
    format!("sunny in {city}")
}

async fn answer_question(client: &FakeClient, question: &str) -> Result<String, ModelError> {
    let plan = client.complete(question).await?;
    let observation = run_tool("Lisbon").await;
    let answer = client.complete(&format!("{} given {observation}", plan.text)).await?;
    Ok(answer.text)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _guard = trace_runtime::init()?;
    let client = FakeClient { model: "gpt-4o-mini".into() };
    trace!("answer_question", session.id = "s-1", gen_ai.conversation.id = "c-7", async {
        let answer = answer_question(&client, "what should I wear today?").await?;
        // Plain logs carry the ids of the span they were written in.
        eprintln!("{}", trace_runtime::log_with_trace(&format!("agent answered: {answer}")));
        Ok::<_, ModelError>(())
    })
    .await?;
    // A failing call shows up as an error span.
    let _ = trace!("bad_turn", async { client.complete("").await }).await;
    Ok(())
}
