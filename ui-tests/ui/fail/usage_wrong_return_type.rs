use trace_runtime::trace_llm;

fn tokens_of(text: &String) -> u64 {
    text.len() as u64
}

#[trace_llm(provider = "openai", model = "gpt-4o", usage = tokens_of)]
fn complete() -> String {
    "hi".to_string()
}

fn main() {
    complete();
}
