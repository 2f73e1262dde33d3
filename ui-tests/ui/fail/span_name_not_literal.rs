use trace_runtime::trace_pipeline;

const NAME: &str = "vad";

#[trace_pipeline(name = "voice", element = "vad", span_name = NAME)]
fn detect() {}

fn main() {
    detect();
}
