use trace_runtime::trace_llm;

#[trace_llm(provider = "openai", model = modl)]
fn complete(model: &str) -> usize {
    model.len()
}

fn main() {
    complete("gpt-4o");
}
