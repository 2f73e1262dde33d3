use trace_runtime::trace_pipeline;

#[trace_pipeline(name = "voice", element = "vad", temperature = 0.2, fields(session.id = session))]
fn detect(session: &str) {}

fn main() {
    detect("s-1");
}
