use trace_runtime::{testing, trace_pipeline};

#[trace_pipeline(name = "voice", element = "resample", fields(audio.sample_rate = 16000))]
fn resample(samples: &[i16]) -> Vec<i16> {
    samples.iter().step_by(3).copied().collect()
}

fn main() {
    let (out, spans) = testing::capture(|| resample(&[1, 2, 3, 4]));
    assert_eq!(out, vec![1, 4]);
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].name, "resample");
    let rate = spans[0].attributes.iter().find(|kv| kv.key.as_str() == "audio.sample_rate").unwrap();
    assert_eq!(rate.value, trace_runtime::opentelemetry::Value::I64(16000));
}
