use trace_runtime::trace_pipeline;

#[trace_pipeline(name = "voice", element = "vad")]
struct Detector {
    threshold: i16,
}

fn main() {
    let d = Detector { threshold: 1000 };
    let _ = d.threshold;
}
