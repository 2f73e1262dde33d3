use trace_runtime::trace_llm;

struct Prompt {
    text: String,
}

#[trace_llm(provider = "openai", model = "gpt-4o", input = prompt)]
fn complete(prompt: &Prompt) -> String {
    prompt.text.clone()
}

fn main() {
    complete(&Prompt { text: String::new() });
}
