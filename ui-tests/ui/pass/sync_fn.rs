// A plain sync fn: runs, returns its value, and exports one span under the caller's.
use trace_runtime::opentelemetry::Value;
use trace_runtime::{testing, trace, trace_pipeline};
use ui_tests::{assert_child, attr, span, str_attr};

#[trace_pipeline(name = "voice", element = "resample", fields(audio.sample_rate = 16000))]
fn resample(samples: &[i16]) -> Vec<i16> {
    samples.iter().step_by(3).copied().collect()
}

fn main() {
    let (out, spans) = testing::capture(|| trace!("root", { resample(&[1, 2, 3, 4]) }));
    assert_eq!(out, vec![1, 4]);
    assert_eq!(spans.len(), 2);
    let s = span(&spans, "resample");
    assert_child(s, span(&spans, "root"));
    assert_eq!(str_attr(s, "pipeline.name"), "voice");
    assert_eq!(str_attr(s, "pipeline.element"), "resample");
    assert_eq!(attr(s, "audio.sample_rate"), &Value::I64(16000));
}
