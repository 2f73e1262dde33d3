//! A macro's literal arguments are built into its call site's metadata at compile time, so a span
//! records none of them: what a user sees of them must not change. Each kind of literal keeps its
//! value and type, a value set later under the same key wins, an association key given a literal
//! still reaches the spans below, and a secret written as a literal is still redacted.

use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;
use trace_runtime::{keys, span, testing, trace, trace_fn, trace_llm, trace_pipeline};

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes.iter().rev().find(|kv| kv.key.as_str() == key).map(|kv| &kv.value)
}

fn count(span: &SpanData, key: &str) -> usize {
    span.attributes.iter().filter(|kv| kv.key.as_str() == key).count()
}

fn named<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no span {name} in {spans:#?}"))
}

#[trace_pipeline(
    name = "voice",
    element = "vad",
    fields(
        audio.sample_rate = 16000,
        audio.duration_ms = 20,
        gen_ai.request.temperature = 0.25,
        audio.channels = -1,
        "app.flag" = true,
        "app.count" = 7,
        "app.label" = "edge",
    )
)]
fn detect(frame: &[i16]) -> bool {
    frame.iter().any(|s| s.abs() > 100)
}

#[test]
fn every_kind_of_literal_keeps_its_value_and_type() {
    let (_, spans) = testing::capture(|| detect(&[1, 200]));
    let s = named(&spans, "detect");
    assert_eq!(attr(s, "pipeline.name"), Some(&Value::from("voice")));
    assert_eq!(attr(s, "pipeline.element"), Some(&Value::from("vad")));
    assert_eq!(attr(s, "audio.sample_rate"), Some(&Value::I64(16000)));
    // An integer under a float key is a float, as a run-time integer there would be.
    assert_eq!(attr(s, "audio.duration_ms"), Some(&Value::F64(20.0)));
    assert_eq!(attr(s, "gen_ai.request.temperature"), Some(&Value::F64(0.25)));
    // A negative literal is an expression: recorded at run time, with the same result.
    assert_eq!(attr(s, "audio.channels"), Some(&Value::I64(-1)));
    assert_eq!(attr(s, "app.flag"), Some(&Value::Bool(true)));
    assert_eq!(attr(s, "app.count"), Some(&Value::I64(7)));
    assert_eq!(attr(s, "app.label"), Some(&Value::from("edge")));
    for key in ["pipeline.name", "audio.sample_rate", "app.flag"] {
        assert_eq!(count(s, key), 1, "{key} exported once: {:?}", s.attributes);
    }
}

#[test]
fn a_value_set_later_under_a_literal_key_wins_and_is_exported_once() {
    #[trace_pipeline(name = "voice", element = "vad")]
    fn step() {
        span::set(keys::pipeline::element, "vad-2");
    }
    let (_, spans) = testing::capture(step);
    let s = named(&spans, "step");
    assert_eq!(attr(s, "pipeline.element"), Some(&Value::from("vad-2")));
    assert_eq!(count(s, "pipeline.element"), 1, "{:?}", s.attributes);
    assert_eq!(attr(s, "pipeline.name"), Some(&Value::from("voice")));
}

#[test]
fn literal_and_recorded_values_mix_in_one_span() {
    #[trace_llm(provider = "openai", model = model, fields(gen_ai.request.temperature = 0.5))]
    fn call(model: &str) -> usize {
        model.len()
    }
    let (_, spans) = testing::capture(|| call("gpt-4o-mini"));
    let s = &spans[0];
    assert_eq!(s.name, "chat gpt-4o-mini");
    assert_eq!(attr(s, "gen_ai.provider.name"), Some(&Value::from("openai")));
    assert_eq!(attr(s, "gen_ai.request.model"), Some(&Value::from("gpt-4o-mini")));
    assert_eq!(attr(s, "gen_ai.operation.name"), Some(&Value::from("chat")));
    assert_eq!(attr(s, "gen_ai.request.temperature"), Some(&Value::F64(0.5)));
}

#[trace_fn]
fn leaf() {}

#[test]
fn an_association_key_given_a_literal_reaches_the_spans_below() {
    let (_, spans) = testing::capture(|| {
        trace!("turn", session.id = "s-lit", user.id = "u-lit", {
            leaf();
            trace!("inner", { leaf() });
        })
    });
    assert_eq!(spans.len(), 4, "{spans:#?}");
    for s in &spans {
        assert_eq!(attr(s, "session.id"), Some(&Value::from("s-lit")), "{}: {:?}", s.name, s.attributes);
        assert_eq!(attr(s, "user.id"), Some(&Value::from("u-lit")), "{}: {:?}", s.name, s.attributes);
    }
}

#[test]
fn an_async_fn_with_literal_arguments_records_them() {
    #[trace_pipeline(name = "voice", element = "tts", fields(audio.sample_rate = 24000))]
    async fn speak(text: &str) -> usize {
        text.len()
    }
    let (n, spans) = futures::executor::block_on(testing::capture_async(speak("hello")));
    assert_eq!(n, 5);
    assert_eq!(attr(&spans[0], "pipeline.element"), Some(&Value::from("tts")));
    assert_eq!(attr(&spans[0], "audio.sample_rate"), Some(&Value::I64(24000)));
}

#[test]
fn a_secret_written_as_a_literal_is_redacted() {
    #[trace_fn(fields("app.note" = "key sk-proj-L1t3r4lL1t3r4lL1t3r4lL1t3r4l"))]
    fn leaky() {}
    let (_, spans) = testing::capture(leaky);
    let note = attr(&spans[0], "app.note").map(|v| v.as_str().into_owned()).unwrap_or_default();
    assert!(!note.contains("L1t3r4l"), "the literal secret left in clear: {note}");
    assert!(note.contains("[REDACTED:openai_key]"), "{note}");
}
