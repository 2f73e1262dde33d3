use trace_runtime::trace_pipeline;

#[trace_pipeline(name = "voice", element = "vad", fields(session.id))]
fn detect() {}

fn main() {
    detect();
}
