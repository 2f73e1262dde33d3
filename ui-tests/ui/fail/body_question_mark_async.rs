use trace_runtime::trace_llm;

#[trace_llm(provider = "openai", model = "gpt-4o")]
async fn complete(path: &str) -> Result<String, u32> {
    let prompt = std::fs::read_to_string(path)?;
    Ok(prompt)
}

fn main() {
    drop(complete("prompt.txt"));
}
