use trace_runtime::trace_pipeline;

#[trace_pipeline(name = "voice", element = "vad", temperature = 0.2)]
fn detect() {}

fn main() {
    detect();
}
