use trace_runtime::trace_pipeline;

#[trace_pipeline(name = "voice", element = "vad", fields(gen_ai.request = "gpt-4o"))]
fn detect() {}

fn main() {
    detect();
}
