use trace_runtime::trace_llm;

#[trace_llm(provider = "openai", model = "gpt-4o")]
async fn complete(prompt: &str) -> String {
    prompt.len()
}

fn main() {
    drop(complete("hi"));
}
