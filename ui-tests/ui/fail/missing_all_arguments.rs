use trace_runtime::trace_pipeline;

#[trace_pipeline]
fn detect() {}

fn main() {
    detect();
}
