use trace_runtime::trace_llm;

#[trace_llm(provider = "openai", model = "gpt-4o", output = |reply: &String| reply.clone())]
fn complete() -> String {
    String::new()
}

fn main() {
    complete();
}
