use trace_runtime::trace_llm;

#[trace_llm(provider = "openai", model = "gpt-4o")]
async fn complete(prompt: &str) -> Result<String, std::io::Error> {
    let tokens: u32 = prompt.len();
    Ok(format!("{tokens}"))
}

fn main() {
    drop(complete("hi"));
}
