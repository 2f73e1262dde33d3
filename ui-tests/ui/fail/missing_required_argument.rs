use trace_runtime::trace_llm;

#[trace_llm(model = "gpt-4o")]
fn complete() {}

fn main() {
    complete();
}
