use trace_runtime::trace_llm;

#[trace_llm(provider = "openai", modle = "gpt-4o")]
fn complete() {}

fn main() {
    complete();
}
