use trace_runtime::trace_llm;

fn length(reply: &String) -> usize {
    reply.len()
}

#[trace_llm(provider = "openai", model = "gpt-4o", output = length)]
fn complete() -> String {
    String::new()
}

fn main() {
    complete();
}
