use trace_runtime::trace_llm;

#[trace_llm(provider = "openai", model = "gpt-4o", model = "gpt-4o-mini")]
fn complete() {}

fn main() {
    complete();
}
