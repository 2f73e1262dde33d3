use trace_runtime::trace_pipeline;

#[trace_pipeline(name = "voice", element = "resample", fields(audio.sample_rat = 16000))]
fn resample() {}

fn main() {
    resample();
}
