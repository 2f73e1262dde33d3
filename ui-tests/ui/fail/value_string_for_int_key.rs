use trace_runtime::trace_pipeline;

#[trace_pipeline(name = "voice", element = "resample", fields(audio.sample_rate = "16k"))]
fn resample() {}

fn main() {
    resample();
}
