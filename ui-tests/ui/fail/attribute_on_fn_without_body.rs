use trace_runtime::trace_pipeline;

trait Stage {
    #[trace_pipeline(name = "voice", element = "vad")]
    fn process(&mut self, frame: &[i16]) -> bool;
}

struct Vad;

impl Stage for Vad {
    fn process(&mut self, frame: &[i16]) -> bool {
        !frame.is_empty()
    }
}

fn main() {
    Vad.process(&[]);
}
