use trace_runtime::trace_llm;

#[trace_llm(provider = 5, model = "gpt-4o")]
fn complete() {}

fn main() {
    complete();
}
