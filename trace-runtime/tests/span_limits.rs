//! The span limits as settings: `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`,
//! `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT` and `OTEL_SPAN_EVENT_COUNT_LIMIT` and their builder methods,
//! through `init`, seen on the exported spans (a test binary of its own: `init` sets them for the
//! process).

use opentelemetry::KeyValue;
use opentelemetry::trace::Status;
use opentelemetry_sdk::trace::InMemorySpanExporter;
use trace_runtime::config::Exporter;
use trace_runtime::{Config, keys, span, trace};

const CHILD: &str = "TRACE_SPAN_LIMITS_CHILD";

fn exported(
    config: trace_runtime::ConfigBuilder,
    body: impl FnOnce(),
) -> Vec<opentelemetry_sdk::trace::SpanData> {
    let memory = InMemorySpanExporter::default();
    let guard = trace_runtime::init_with(
        config.exporter(Exporter::None).summary(false).with_span_exporter(memory.clone()).build(),
    )
    .unwrap();
    body();
    assert!(guard.flush());
    // Read before the guard drops: an in-memory exporter forgets its spans at shutdown.
    memory.get_finished_spans().unwrap()
}

#[test]
fn the_builder_sets_the_limits_in_force() {
    let spans = exported(
        Config::builder()
            .attribute_value_length_limit(32)
            .span_attribute_count_limit(3)
            .span_event_count_limit(2),
        || {
            trace!("limited", {
                span::set(keys::audio::codec, "x".repeat(100));
                span::set_unchecked("app.short", "short");
                for i in 0..5 {
                    span::add_event(format!("event {i}"), [KeyValue::new("detail", "y".repeat(100))]);
                }
                span::set_error("e".repeat(100));
            })
        },
    );
    let span = &spans[0];
    assert_eq!(span.attributes.len(), 3, "{:?}", span.attributes);
    assert!(span.dropped_attributes_count > 0, "the rest are counted");
    let codec = span.attributes.iter().find(|kv| kv.key.as_str() == "audio.codec").unwrap();
    assert!(codec.value.as_str().len() <= 32 && codec.value.as_str().ends_with("…[truncated]"), "{codec:?}");
    assert_eq!(span.events.events.len(), 2);
    assert_eq!(span.events.dropped_count, 3);
    assert!(span.events.events[0].attributes[0].value.as_str().len() <= 32);
    let Status::Error { description } = &span.status else { panic!("an error status") };
    assert!(description.len() <= 32, "{description}");
    assert_eq!(trace_runtime::limits::value_bytes(), 32);
}

/// The traced program for the environment test; runs only as a child.
#[test]
fn child_program() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let spans = exported(Config::builder(), || {
        trace!("from env", {
            span::set(keys::audio::codec, "z".repeat(64));
            span::add_event("one", []);
            span::add_event("two", []);
        })
    });
    let span = &spans[0];
    let codec =
        span.attributes.iter().find(|kv| kv.key.as_str() == "audio.codec").map(|kv| kv.value.as_str().len());
    eprintln!("codec bytes: {codec:?}");
    eprintln!("events: {}", span.events.events.len());
    eprintln!("attributes: {}", span.attributes.len());
}

#[test]
fn the_standard_variables_set_the_limits_and_a_bad_one_is_a_warning() {
    let run = |envs: &[(&str, &str)]| {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_program", "--nocapture", "--test-threads", "1"])
            .env(CHILD, "1")
            .env("TRACE_TELEMETRY_ENABLED", "false")
            .envs(envs.iter().copied())
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let limited = run(&[
        ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "40"),
        ("OTEL_SPAN_EVENT_COUNT_LIMIT", "1"),
        ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "2"),
    ]);
    assert!(
        limited.contains("codec bytes: Some(40)") || limited.contains("codec bytes: Some(39)"),
        "{limited}"
    );
    assert!(limited.contains("events: 1") && limited.contains("attributes: 2"), "{limited}");
    let generic = run(&[("OTEL_ATTRIBUTE_COUNT_LIMIT", "1")]);
    assert!(generic.contains("attributes: 1"), "the general count limit applies to spans: {generic}");
    let bad = run(&[("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "short")]);
    assert!(bad.contains("trace-runtime: warning: `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT` is `short`"), "{bad}");
    assert!(bad.contains("codec bytes: Some(64)"), "the default stands: {bad}");
}
