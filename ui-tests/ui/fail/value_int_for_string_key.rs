use trace_runtime::trace_pipeline;

#[trace_pipeline(name = "voice", element = "vad", fields(session.id = 5))]
fn detect() {}

fn main() {
    detect();
}
