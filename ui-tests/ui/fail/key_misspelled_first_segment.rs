use trace_runtime::trace_pipeline;

#[trace_pipeline(name = "voice", element = "vad", fields(sesion.id = "s-1"))]
fn detect() {}

fn main() {
    detect();
}
