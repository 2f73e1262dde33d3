use trace_runtime::trace_pipeline;

#[trace_pipeline(name = "voice", element = "count")]
fn count(samples: &[i16]) -> u32 {
    samples.len()
}

fn main() {
    count(&[]);
}
