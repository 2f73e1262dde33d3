//! A small agent over a fake model client, two turns of one session: each turn is an
//! `invoke_agent` span that plans with one model call, runs two tools, and answers with a second
//! call; a judge then scores the answer. Run it with `cargo run -p examples --bin llm_agent`; the
//! default `stdout` exporter prints each turn's span tree, and the summary its calls and cost.
//!
//! `session.id` and `user.id`, set once on each turn, are carried to every span below it.

use std::fmt;
use std::time::Duration;

use trace_runtime::{
    Evaluation, Usage, current_context, keys, span, trace, trace_agent, trace_llm, trace_tool,
};

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
        tokio::time::sleep(Duration::from_millis(20)).await;
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

#[trace_tool(name = "weather", call_id = call_id)]
async fn weather(call_id: &str, city: &str) -> Result<String, ModelError> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    Ok(format!("sunny in {city}"))
}

#[trace_tool(name = "calendar")]
fn calendar(day: &str) -> Vec<String> {
    vec![format!("{day}: lunch at 12:30")]
}

struct Assistant {
    client: FakeClient,
}

impl Assistant {
    #[trace_agent(name = "travel_assistant", id = "agent-1", description = "plans a day out")]
    async fn answer(&self, question: &str) -> Result<String, ModelError> {
        let plan = self.client.complete(question).await?;
        let forecast = weather("call_1", "Lisbon").await?;
        let agenda = calendar("today").join("; ");
        let answer = self.client.complete(&format!("{} given {forecast} and {agenda}", plan.text)).await?;
        Ok(answer.text)
    }
}

/// A judge scoring an answer once its turn has ended: the evaluation names the span it scores.
fn judge(answer: &str) -> Evaluation {
    let relevant = answer.contains("Lisbon");
    Evaluation::new("relevance")
        .score(if relevant { 0.9 } else { 0.2 })
        .label(if relevant { "relevant" } else { "off_topic" })
        .explanation("mentions the city asked about")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _guard = trace_runtime::init()?;
    let assistant = Assistant { client: FakeClient { model: "gpt-4o-mini".into() } };
    for (turn, question) in ["what should I wear today in Lisbon?", "and tomorrow?"].into_iter().enumerate() {
        let (answer, scored) = trace!("turn", session.id = "s-1", user.id = "u-42", async {
            span::set(keys::gen_ai::conversation::id, format!("c-7/{turn}"));
            let answer = assistant.answer(question).await;
            (answer, current_context())
        })
        .await;
        let answer = answer?;
        // Plain logs carry the ids of the span they were written in.
        eprintln!(
            "{}",
            scored.in_scope(|| trace_runtime::log_with_trace(&format!("agent answered: {answer}")))
        );
        span::record_evaluation_on(scored, judge(&answer));
    }
    // A failing call shows up as an error span, with `error.type`.
    let _ = trace!("bad_turn", session.id = "s-1", async { assistant.client.complete("").await }).await;
    Ok(())
}
