use trace_runtime::trace_llm;

#[trace_llm(provider = "openai", model)]
fn complete() {}

fn main() {
    complete();
}
