use trace_runtime::trace_pipeline;

#[trace_pipeline(name = "voice", element = "resample")]
fn resample(samples: &[i16]) -> Vec<i16> {
    let count: u32 = samples.len();
    samples.iter().take(count as usize).copied().collect()
}

fn main() {
    resample(&[]);
}
