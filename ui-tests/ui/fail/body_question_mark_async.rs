use trace_runtime::trace_llm;

#[derive(Debug)]
struct PromptError;

#[trace_llm(provider = "openai", model = "gpt-4o")]
async fn complete(path: &str) -> Result<String, PromptError> {
    let prompt = std::fs::read_to_string(path)?;
    Ok(prompt)
}

fn main() {
    drop(complete("prompt.txt"));
}
